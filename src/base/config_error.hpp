// The one error every layer may raise for a job that can't be run as asked (a flag, a job file, a checkpoint
// that belongs to another job): the user's mistake, which the programs report in one line with exit code 2.
#pragma once

#include <stdexcept>

namespace pi {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pi
