// The job run in one process: the range grid, evaluation of every range, reduction in range order, and the
// certified result. The MPI coordinator hands the same ranges to workers; the grid is a function of the job's
// parameters only, which is what makes the result independent of how it was computed.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "series/series.hpp"

namespace pi {

struct JobSpec {
  std::string series;
  std::optional<std::uint64_t> digits;
  std::optional<std::uint64_t> terms;
  double progress_interval_s = 2.0;
};

struct RunResult {
  std::string series;
  std::optional<std::uint64_t> digits;
  std::uint64_t terms = 0;
  std::uint64_t ranges = 0;
  PrefixEstimates estimates;
  std::optional<std::string> pi_text;  // "3." and exactly `digits` decimals, in digits mode
  std::uint64_t correct_digits = 0;
  std::string estimate_text;  // the best estimate, truncated a few decimals past its correct ones
  double elapsed_s = 0;
};

// A job that can't be run as asked: the user's mistake, reported with exit code 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<Range> make_grid(const Series& series, std::uint64_t terms);

// Terms for a digits-mode job; throws ConfigError when the series can't certify that many digits.
std::uint64_t plan_terms(const Series& series, std::uint64_t digits);

// Bytes a digits-mode run of a fast series needs at its peak (measured, with a margin).
std::uint64_t estimated_peak_bytes(const Series& series, std::uint64_t digits);

RunResult run_serial(const JobSpec& spec, std::ostream& log);

}  // namespace pi
