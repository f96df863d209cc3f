// A job run in this process, as pi-job runs it without mpirun.
#pragma once

#include <iostream>
#include <optional>
#include <string>

#include "coordinator/job.hpp"

namespace pi::test {

inline RunResult run_local(const std::string& series, std::optional<std::uint64_t> digits,
                           std::optional<std::uint64_t> terms = std::nullopt) {
  const auto s = make_series(series);
  LocalExecutor local(*s);
  return run_job(JobSpec{series, digits, terms, 0.0, {}}, local, std::cerr);
}

}  // namespace pi::test
