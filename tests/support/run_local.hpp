// A job run in this process, as pi-job runs it without mpirun.
#pragma once

#include <iostream>
#include <optional>
#include <string>

#include "coordinator/job.hpp"

namespace pi::test {

inline RunResult run_local(const std::string& series, std::optional<std::uint64_t> digits,
                           std::optional<std::uint64_t> terms = std::nullopt, int threads = 1,
                           SchedulerConfig scheduler = {}) {
  const auto s = make_series(series);
  LocalExecutor local(*s, threads);
  JobSpec spec;
  spec.scheduler = scheduler;
  spec.series = series;
  spec.digits = digits;
  spec.terms = terms;
  spec.progress_interval_s = 0.0;
  return run_job(spec, local, std::cerr);
}

}  // namespace pi::test
