// MPI return codes are checked in one place and become an MpiError that carries MPI_Error_string.
#pragma once

#include <mpi.h>

#include <stdexcept>
#include <string>

namespace pi {

class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check_mpi(int rc, const char* call);

}  // namespace pi
