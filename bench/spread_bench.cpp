// The spread product (src/series/spread_product.hpp) against the product the job makes today (multiply():
// FLINT's FFT or GMP), in this process, at the sizes of a big job's top merges. Per phase: the compute
// seconds summed over its parts and the longest part, what a phase would take on `parts` workers with nothing
// else to do, and the bytes a part fetches. Rounds alternate the two products; medians are printed.
//
//   bench_spread [--bits 415000000] [--parts 1,16,64] [--rounds 3]
#include <gmp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "series/bigint.hpp"
#include "series/spread_product.hpp"
#include "timing.hpp"

namespace {

using pi::raw;

using bench::Clock;
using bench::median;
using bench::seconds_since;

struct Phases {
  double sum[4] = {0, 0, 0, 0};      // compute seconds summed over the parts
  double longest[4] = {0, 0, 0, 0};  // the longest part
  double bytes[4] = {0, 0, 0, 0};    // bytes one part reads from other parts (or the operands' owners)
};

Phases spread_timed(pi::BigInt& out, const pi::BigInt& a, const pi::BigInt& b, std::uint32_t parts) {
  Phases ph;
  pi::SpreadObserver observe;
  observe.part_done = [&ph](int phase, double seconds, double bytes) {
    const auto k = static_cast<std::size_t>(phase);
    ph.sum[k] += seconds;
    ph.longest[k] = std::max(ph.longest[k], seconds);
    ph.bytes[k] = std::max(ph.bytes[k], bytes);
  };
  pi::multiply_spread(out, a, b, parts, observe);
  return ph;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"bench_spread: the spread product against multiply()"};
  std::uint64_t bits = 415000000;
  std::vector<std::uint32_t> parts_list{1, 16, 64};
  int rounds = 3;
  app.add_option("--bits", bits, "bits of each factor");
  app.add_option("--parts", parts_list, "parts per phase (powers of two)")->delimiter(',');
  app.add_option("--rounds", rounds, "rounds, alternating the products");
  CLI11_PARSE(app, argc, argv);
  for (const std::uint32_t parts : parts_list) {
    if (parts == 0 || (parts & (parts - 1)) != 0) {
      std::fprintf(stderr, "bench_spread: --parts %u: each must be a power of two\n", parts);
      return 2;
    }
  }
  // As pi-job sets up its memory (src/app/pi_job.cpp).
  pi::keep_freed_memory();
  pi::map_big_blocks_apart();

  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 1);
  pi::BigInt a, b;
  mpz_urandomb(raw(a), state, bits);
  mpz_urandomb(raw(b), state, bits);
  mpz_setbit(raw(a), bits - 1);
  mpz_setbit(raw(b), bits - 1);
  gmp_randclear(state);
  pi::BigInt expected;
  pi::multiply(expected, a, b);

  std::printf("factors of %llu bits each\n", static_cast<unsigned long long>(bits));
  for (const std::uint32_t parts : parts_list) {
    const pi::SpreadPlan plan = pi::SpreadPlan::choose(mpz_size(raw(a)), mpz_size(raw(b)), parts);
    std::vector<double> today, whole, critical;
    std::vector<Phases> all;
    for (int r = 0; r < rounds; ++r) {
      pi::BigInt p;
      auto t0 = Clock::now();
      pi::multiply(p, a, b);
      today.push_back(seconds_since(t0));
      p = 0;
      t0 = Clock::now();
      Phases ph = spread_timed(p, a, b, parts);
      whole.push_back(seconds_since(t0));
      if (p != expected) {
        std::fprintf(stderr, "bench_spread: the spread product differs from multiply()'s\n");
        return 1;
      }
      critical.push_back(ph.longest[0] + ph.longest[1] + ph.longest[2] + ph.longest[3]);
      all.push_back(ph);
    }
    std::printf(
        "\n%u parts: transform %llu x %llu points, pieces of %llu bits, ring 2^%llu + 1\n"
        "  multiply() (today's product): %.3f s; spread, all parts in this process: %.3f s (ratio %.2f)\n"
        "  longest part of each phase, summed (the product on %u workers, transfers aside): %.3f s "
        "(%.3f of today's)\n",
        parts, static_cast<unsigned long long>(plan.rows()), static_cast<unsigned long long>(plan.cols()),
        static_cast<unsigned long long>(plan.piece_limbs) * 64ULL,
        static_cast<unsigned long long>(plan.ring_limbs) * 64ULL, median(today), median(whole),
        median(whole) / median(today), parts, median(critical), median(critical) / median(today));
    const char* names[4] = {"columns", "rows and products", "inverse columns", "assembly"};
    for (int k = 0; k < 4; ++k) {
      std::vector<double> sum, longest;
      for (const Phases& ph : all) {
        sum.push_back(ph.sum[k]);
        longest.push_back(ph.longest[k]);
      }
      std::printf("  %-18s summed %.3f s, longest part %.3f s, a part reads %.1f MB\n", names[k], median(sum),
                  median(longest), all.front().bytes[k] / 1e6);
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_spread: %s\n", e.what());
    return 1;
  }
}
