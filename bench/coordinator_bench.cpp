// Coordinator throughput: assignments per second through the real MPI protocol (pull, assign, result,
// merge into the prefix), with a trivial series so that only the coordination is measured. One grid range per
// assignment. Run under mpirun at several rank counts:
//   mpirun -n 3 bench/bench_coordinator [assignments] [repetitions]
// An MPI program rather than a Google Benchmark one: every rank takes part in each repetition.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "coordinator/job.hpp"
#include "mpi/distributed.hpp"

namespace {

// Each term counts one: the partial result of [a, b) is b - a. Cheap to the point of being free.
class CountingSeries final : public pi::Series {
 public:
  std::string_view name() const override { return "counting"; }
  pi::SeriesKind kind() const override { return pi::SeriesKind::slow; }
  std::uint64_t max_terms() const override { return std::uint64_t{1} << 60; }
  std::optional<std::uint64_t> terms_for_digits(std::uint64_t) const override { return std::nullopt; }
  double digits_per_term() const override { return 0; }
  pi::PartialResult evaluate(pi::Range r, bool) const override { return {r, {pi::BigInt(r.size())}}; }
  pi::PartialResult combine(const pi::PartialResult& a, const pi::PartialResult& b) const override {
    return {pi::Range{a.range.begin, b.range.end}, {a.values[0] + b.values[0]}};
  }
  pi::PrefixEstimates estimate(const pi::PartialResult&, std::uint64_t) const override { return {}; }
};

}  // namespace

int main(int argc, char** argv) {
  pi::MpiRuntime mpi(argc, argv);
  const std::uint64_t assignments = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
  CountingSeries series;
  if (mpi.rank() != 0) {
    for (int i = 0; i < repetitions; ++i) pi::run_worker(mpi, series, pi::FaultPlan{});
    mpi.finalize(std::chrono::seconds(10), 0, "a rank was lost");
    return 0;
  }
  const pi::Grid grid(series, assignments * pi::kSlowRangeTerms);
  pi::SchedulerConfig config;
  config.max_assignment_ranges = 1;
  std::vector<double> rates;
  for (int i = 0; i < repetitions; ++i) {
    pi::MpiExecutor executor(mpi, std::cerr);
    pi::Scheduler scheduler(series, grid, config, mpi.size() - 1);
    const auto t0 = std::chrono::steady_clock::now();
    executor.run(scheduler, [] {});
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (scheduler.take_result().values.at(0) != grid.terms()) {
      std::fprintf(stderr, "bench_coordinator: wrong total\n");
      return 1;
    }
    executor.stop_workers();
    rates.push_back(static_cast<double>(grid.size()) / s);
  }
  std::sort(rates.begin(), rates.end());
  std::printf(
      "ranks %d (workers %d): %llu assignments, median %.0f assignments/s (min %.0f, max %.0f, %d runs)\n",
      mpi.size(), mpi.size() - 1, static_cast<unsigned long long>(assignments), rates[rates.size() / 2],
      rates.front(), rates.back(), repetitions);
  mpi.finalize(std::chrono::seconds(10), 0, "a rank was lost");
  return 0;
}
