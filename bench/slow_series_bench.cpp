// Slow-series throughput per core: the project's kernel (range evaluation, exact fold included) against a
// plain 16-lane Kahan loop written here with x86 intrinsics, so that its divides are packed whatever the
// compiler's vectoriser decides (bench/check_baseline.sh checks the disassembly). Both run in this process on
// the same terms; the ratio is the figure that counts.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

#include "series/series.hpp"
#include "series/slow_kernels.hpp"

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {

constexpr std::uint64_t kTerms = std::uint64_t{1} << 28;

enum Kind { kLeibniz, kBasel, kNilakantha };

#if defined(__AVX__)
using Packed = __m256d;
constexpr int kPackedWidth = 4;
inline Packed splat(double x) { return _mm256_set1_pd(x); }
inline Packed load(const double* p) { return _mm256_loadu_pd(p); }
inline void store(double* p, Packed x) { _mm256_storeu_pd(p, x); }
inline Packed add(Packed a, Packed b) { return _mm256_add_pd(a, b); }
inline Packed sub(Packed a, Packed b) { return _mm256_sub_pd(a, b); }
inline Packed mul(Packed a, Packed b) { return _mm256_mul_pd(a, b); }
inline Packed div(Packed a, Packed b) { return _mm256_div_pd(a, b); }
#elif defined(__SSE2__)
using Packed = __m128d;
constexpr int kPackedWidth = 2;
inline Packed splat(double x) { return _mm_set1_pd(x); }
inline Packed load(const double* p) { return _mm_loadu_pd(p); }
inline void store(double* p, Packed x) { _mm_storeu_pd(p, x); }
inline Packed add(Packed a, Packed b) { return _mm_add_pd(a, b); }
inline Packed sub(Packed a, Packed b) { return _mm_sub_pd(a, b); }
inline Packed mul(Packed a, Packed b) { return _mm_mul_pd(a, b); }
inline Packed div(Packed a, Packed b) { return _mm_div_pd(a, b); }
#endif

#if defined(__SSE2__)
constexpr int kGroups = 16 / kPackedWidth;

// The baseline: 16 Kahan lanes, one packed divide per register of terms, nothing around it. The signs and
// starting points come in through memory so the compiler cannot fold them into per-lane constants.
template <Kind K>
[[gnu::noinline]] double plain_lanes(const double* first, const double* sign, std::uint64_t iterations) {
  Packed s[kGroups], c[kGroups], x[kGroups], sg[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    s[g] = splat(0.0);
    c[g] = splat(0.0);
    x[g] = load(first + g * kPackedWidth);
    sg[g] = load(sign + g * kPackedWidth);
  }
  const Packed one = splat(1.0), two = splat(2.0), step = splat(K == kBasel ? 16.0 : 32.0);
  for (std::uint64_t i = 0; i < iterations; ++i) {
    for (int g = 0; g < kGroups; ++g) {
      Packed term;
      if constexpr (K == kLeibniz) {
        term = div(sg[g], x[g]);
      } else if constexpr (K == kBasel) {
        term = div(one, mul(x[g], x[g]));
      } else {
        term = div(sg[g], mul(mul(x[g], add(x[g], one)), add(x[g], two)));
      }
      const Packed y = sub(term, c[g]);
      const Packed t = add(s[g], y);
      c[g] = sub(sub(t, s[g]), y);
      s[g] = t;
      x[g] = add(x[g], step);
    }
  }
  double out[16], carry[16];
  for (int g = 0; g < kGroups; ++g) {
    store(out + g * kPackedWidth, s[g]);
    store(carry + g * kPackedWidth, c[g]);
  }
  double total = 0;
  for (int l = 0; l < 16; ++l) total += out[l] - carry[l];
  return total;
}
#endif

template <Kind K>
void BM_SlowSeries(benchmark::State& state) {
#if !defined(__SSE2__)
  state.SkipWithError("the baseline needs x86 SSE2 or AVX");
  return;
#else
  const pi::SlowTerm term = K == kLeibniz ? pi::SlowTerm::leibniz
                            : K == kBasel ? pi::SlowTerm::basel
                                          : pi::SlowTerm::nilakantha;
  double first[16], sign[16];
  for (int l = 0; l < 16; ++l) {
    first[l] = K == kLeibniz ? 2.0 * l + 1.0 : K == kBasel ? l + 1.0 : 2.0 * l + 2.0;
    sign[l] = (K != kBasel && l % 2 == 1) ? -1.0 : 1.0;
  }
  double ours_rate = 0, plain_rate = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(plain_lanes<K>(first, sign, kTerms / 16));
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
#endif
}

}  // namespace

BENCHMARK(BM_SlowSeries<kLeibniz>)
    ->Name("leibniz")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SlowSeries<kNilakantha>)
    ->Name("nilakantha")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SlowSeries<kBasel>)
    ->Name("basel")
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
