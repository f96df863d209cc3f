// Slow-series throughput per core: the project's kernel (range evaluation, exact fold included) against a
// plain 16-lane Kahan loop compiled here, both timed in this process on the same terms.
#include <benchmark/benchmark.h>

#include <chrono>

#include "series/series.hpp"
#include "series/slow_kernels.hpp"

namespace {

constexpr std::uint64_t kTerms = std::uint64_t{1} << 28;

// The baseline: what a careful hand-written loop does, with nothing around it.
template <int Kind>
double plain_lanes(std::uint64_t terms) {
  double s[16] = {}, c[16] = {}, d[16], sg[16];
  for (int l = 0; l < 16; ++l) {
    d[l] = Kind == 0 ? 2.0 * l + 1.0 : l + 1.0;
    sg[l] = (Kind == 0 && l % 2) ? -1.0 : 1.0;
  }
  for (std::uint64_t i = 0; i < terms / 16; ++i) {
    for (int l = 0; l < 16; ++l) {
      const double x = Kind == 0 ? sg[l] / d[l] : 1.0 / (d[l] * d[l]);
      const double y = x - c[l];
      const double t = s[l] + y;
      c[l] = (t - s[l]) - y;
      s[l] = t;
      d[l] += Kind == 0 ? 32.0 : 16.0;
    }
  }
  double total = 0;
  for (int l = 0; l < 16; ++l) total += s[l] - c[l];
  return total;
}

template <int Kind>
void BM_SlowSeries(benchmark::State& state) {
  const pi::SlowTerm term = Kind == 0 ? pi::SlowTerm::leibniz : pi::SlowTerm::basel;
  double ours_rate = 0, plain_rate = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(plain_lanes<Kind>(kTerms));
    const double plain = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    auto sum = pi::sum_range_fixed(term, pi::Range{0, kTerms});
    benchmark::DoNotOptimize(sum);
    const double ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(ours);
    ours_rate = static_cast<double>(kTerms) / ours;
    plain_rate = static_cast<double>(kTerms) / plain;
  }
  state.counters["ours_Gterms_s"] = ours_rate / 1e9;
  state.counters["plain_Gterms_s"] = plain_rate / 1e9;
  state.counters["ours_over_plain"] = ours_rate / plain_rate;
}

}  // namespace

BENCHMARK(BM_SlowSeries<0>)->Name("leibniz")->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SlowSeries<1>)->Name("basel")->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
