// Chudnovsky digits, end to end (series, final steps, certified conversion, pi.txt written), against Arb's
// arb_const_pi + arb_get_str and MPFR's mpfr_const_pi, all timed in this process, one thread each; and the
// whole machine: ours with --threads 2 against Arb with flint_set_num_threads(2).
#include <arb.h>
#include <benchmark/benchmark.h>
#include <flint/flint.h>
#include <mpfr.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include "app/output.hpp"
#include "coordinator/job.hpp"
#include "series/bigint.hpp"
#include "series/decimal.hpp"
#include "series/fingerprint.hpp"
#include "timing.hpp"

namespace {

using bench::seconds_since;

double time_ours(std::uint64_t digits, int threads = 1) {
  const auto dir = std::filesystem::temp_directory_path() / "pi-bench";
  std::filesystem::create_directories(dir);
  std::ostringstream log;
  const auto t0 = std::chrono::steady_clock::now();
  const auto series = pi::make_series("chudnovsky");
  pi::LocalExecutor local(*series, threads);
  pi::JobSpec spec;
  spec.series = "chudnovsky";
  spec.digits = digits;
  spec.progress_interval_s = 0.0;
  const pi::RunResult r = pi::run_job(spec, local, log);
  pi::write_outputs(dir, r, pi::summary_json(r).dump(2) + "\n");
  return seconds_since(t0);
}

double time_arb(std::uint64_t digits, int threads = 1) {
  flint_set_num_threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  arb_t x;
  arb_init(x);
  arb_const_pi(x, static_cast<slong>(pi::bits_for_digits(digits) + 64));
  char* s = arb_get_str(x, static_cast<slong>(digits + 1), ARB_STR_NO_RADIUS);
  benchmark::DoNotOptimize(s[0]);
  flint_free(s);
  arb_clear(x);
  flint_cleanup();  // Arb caches pi; without this every later run would be free
  const double elapsed = seconds_since(t0);
  flint_set_num_threads(1);
  return elapsed;
}

double time_mpfr(std::uint64_t digits) {
  const auto t0 = std::chrono::steady_clock::now();
  mpfr_t x;
  mpfr_init2(x, static_cast<mpfr_prec_t>(pi::bits_for_digits(digits) + 64));
  mpfr_const_pi(x, MPFR_RNDN);
  benchmark::DoNotOptimize(mpfr_get_exp(x));
  mpfr_clear(x);
  mpfr_free_cache();
  return seconds_since(t0);
}

void BM_Chudnovsky(benchmark::State& state) {
  const auto digits = static_cast<std::uint64_t>(state.range(0));
  double ours = 0, arb = 0, mpfr = 0;
  // One untimed run of each first: whichever ran first in this process would otherwise pay alone for the
  // heap's first growth (page faults; the process keeps freed memory), which the later ones reuse. At 1e6,
  // 8 runs of each order without it: ours over Arb 1.16 (median) with ours first, 1.08 with Arb first.
  time_ours(digits);
  time_arb(digits);
  time_mpfr(digits);
  for (auto _ : state) {
    ours = time_ours(digits);
    arb = time_arb(digits);
    mpfr = time_mpfr(digits);
    state.SetIterationTime(ours);
  }
  state.counters["ours_s"] = ours;
  state.counters["arb_s"] = arb;
  state.counters["mpfr_s"] = mpfr;
  state.counters["ours_over_arb"] = ours / arb;
  state.counters["mpfr_over_ours"] = mpfr / ours;
}

// Both on two threads: ours as two task threads in one process (--threads 2), Arb with FLINT's threads.
void BM_ChudnovskyTwoThreads(benchmark::State& state) {
  const auto digits = static_cast<std::uint64_t>(state.range(0));
  double ours = 0, arb = 0;
  for (auto _ : state) {
    ours = time_ours(digits, 2);
    arb = time_arb(digits, 2);
    state.SetIterationTime(ours);
  }
  state.counters["ours_s"] = ours;
  state.counters["arb_s"] = arb;
  state.counters["ours_over_arb"] = ours / arb;
}

// Decimal conversion of a random fraction of `digits` decimals' bits (plus 128): the scaled remainder tree
// (tree_decimals, with its checks and the residues of the text, as a conversion block runs it) against what
// the block did before it, GMP alone: the product by 5^digits and mpz_get_str. Both in this process, one
// after the other each round.
void BM_DecimalConversion(benchmark::State& state) {
  const auto digits = static_cast<std::uint64_t>(state.range(0));
  const std::uint64_t scale = pi::bits_for_digits(digits) + 128;  // as a job's fraction: guard bits to spare
  gmp_randstate_t random;
  gmp_randinit_default(random);
  gmp_randseed_ui(random, digits);
  pi::BigInt f;
  mpz_urandomb(pi::raw(f), random, scale);
  gmp_randclear(random);
  const std::vector<std::uint64_t> primes = pi::primes_from_seed(2, 1);
  double tree = 0, gmp = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::uint64_t> residues;
    const std::optional<std::string> text = pi::tree_decimals(f, scale, digits, false, primes, &residues);
    tree = seconds_since(t0);
    if (!text) {
      state.SkipWithError("the tree could not decide this fraction's decimals");
      break;
    }
    t0 = std::chrono::steady_clock::now();
    pi::BigInt n;
    mpz_ui_pow_ui(pi::raw(n), 5, digits);
    pi::multiply(n, n, f);
    mpz_tdiv_q_2exp(pi::raw(n), pi::raw(n), scale - digits);
    std::string s(mpz_sizeinbase(pi::raw(n), 10) + 2, '\0');
    mpz_get_str(s.data(), 10, pi::raw(n));
    gmp = seconds_since(t0);
    benchmark::DoNotOptimize(text->data());
    benchmark::DoNotOptimize(s.data());
    state.SetIterationTime(tree);
  }
  state.counters["tree_s"] = tree;
  state.counters["gmp_s"] = gmp;
  state.counters["tree_over_gmp"] = tree / gmp;
}

// The final steps' two operations at the precision of `digits` decimals: Q / T and the quotient times the
// constant (sqrt(10005) here), correctly rounded to nearest, by divide_nearest and multiply_nearest against
// mpfr_div and mpfr_mul, one after the other each round in this process; Q and T random, as wide as the
// precision. The results must be the same reals.
void BM_FinalDivision(benchmark::State& state) {
  const auto digits = static_cast<std::uint64_t>(state.range(0));
  const std::uint64_t bits = pi::bits_for_digits(digits) + 64;
  gmp_randstate_t random;
  gmp_randinit_default(random);
  gmp_randseed_ui(random, digits);
  pi::Real q = pi::make_real(bits), t = pi::make_real(bits), c = pi::make_real(bits);
  mpfr_urandomb(pi::raw(q), random);
  mpfr_urandomb(pi::raw(t), random);
  gmp_randclear(random);
  mpfr_mul_2ui(pi::raw(q), pi::raw(q), static_cast<unsigned long>(bits), MPFR_RNDN);
  mpfr_sqrt_ui(pi::raw(c), 10005, MPFR_RNDN);
  double ours = 0, theirs = 0;
  for (auto _ : state) {
    pi::Real a = pi::make_real(bits), b = pi::make_real(bits), x = pi::make_real(bits),
             y = pi::make_real(bits);
    auto t0 = std::chrono::steady_clock::now();
    pi::divide_nearest(a, q, t);
    pi::multiply_nearest(b, a, c);
    ours = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    mpfr_div(pi::raw(x), pi::raw(q), pi::raw(t), MPFR_RNDN);
    mpfr_mul(pi::raw(y), pi::raw(x), pi::raw(c), MPFR_RNDN);
    theirs = seconds_since(t0);
    if (!mpfr_equal_p(pi::raw(b), pi::raw(y))) {
      state.SkipWithError("divide_nearest and multiply_nearest did not give MPFR's value");
      break;
    }
    state.SetIterationTime(ours);
  }
  state.counters["ours_s"] = ours;
  state.counters["mpfr_s"] = theirs;
  state.counters["ours_over_mpfr"] = ours / theirs;
}

}  // namespace

BENCHMARK(BM_ChudnovskyTwoThreads)
    ->Arg(1000000)
    ->Arg(10000000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// 1e6, 1e7 and 1e8 digits, five rounds of one iteration each, timed by the benchmark itself.
void FiveRoundsAtThreeSizes(benchmark::internal::Benchmark* b) {
  b->Arg(1000000)->Arg(10000000)->Arg(100000000);
  b->UseManualTime()->Iterations(1)->Repetitions(5)->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_DecimalConversion)->Apply(FiveRoundsAtThreeSizes);
BENCHMARK(BM_FinalDivision)->Apply(FiveRoundsAtThreeSizes);

BENCHMARK(BM_Chudnovsky)
    ->Arg(100000)
    ->Arg(1000000)
    ->Arg(10000000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  pi::widen_exponent_range();
  pi::keep_freed_memory();
  pi::map_big_blocks_apart();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
