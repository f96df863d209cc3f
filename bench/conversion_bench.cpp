// The decimal conversion's critical path on P workers, today's blocks against the scaled remainder tree's
// top levels apart (split_decimals, decimal.hpp), at a job's size, in this process.
//
// Today the conversion is P blocks that run at once (Scheduler::block_edges: the first block larger),
// and every block but the first multiplies the fraction's low bits by 5^first: the last block's product,
// of two integers of about 0.7 of the fraction, is on the critical path whatever P. With the top levels
// apart, the fraction's owner makes P - 1 products (one of the whole fraction by 5^(D/2), two of half of
// it, ...), each spread in P parts as workers would share them, and each block then converts its part
// alone. The split's critical path: its work between the products plus each product's longest part per
// phase (product_timing.hpp), then the slowest of the parts timed (the first, a middle and the last).
// Transfers are not in these figures. Rounds alternate; medians are printed.
//
//   bench_conversion [--digits 100000000] [--parts 16,64] [--spread 0] [--rounds 3]
#include <gmp.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "coordinator/scheduler.hpp"
#include "product_timing.hpp"
#include "series/bigint.hpp"
#include "series/decimal.hpp"
#include "timing.hpp"

namespace {

using bench::Clock;
using bench::median;
using bench::seconds_since;
using pi::raw;

struct Round {
  double first_block = 0, last_block = 0;  // today's
  double split_whole = 0;                  // the split with its products whole, one core
  double split_linear = 0, split_critical = 0, split_summed = 0;
  double slowest_part = 0;
};

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"bench_conversion: the conversion's critical path, today's blocks against the split tree"};
  std::uint64_t digits = 100000000;
  std::vector<std::uint32_t> parts_list{16, 64};
  std::uint64_t min_spread_bits = std::uint64_t{1} << 22;  // SchedulerConfig::final_spread_bits
  std::uint32_t spread_parts = 0;
  int rounds = 3;
  app.add_option("--digits", digits, "decimals of the conversion")->check(CLI::Range(100000, 2000000000));
  app.add_option("--parts", parts_list, "blocks, and parts of each spread product (powers of two)")
      ->delimiter(',');
  app.add_option("--spread", spread_parts,
                 "parts of each spread product (a power of two; 0: as many as the blocks)");
  app.add_option("--min-spread-bits", min_spread_bits, "products with a smaller factor are made whole");
  app.add_option("--rounds", rounds, "rounds, alternating")->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  if (spread_parts != 0 && (spread_parts < 2 || (spread_parts & (spread_parts - 1)) != 0)) {
    std::fprintf(stderr, "bench_conversion: --spread %u: a power of two, 2 or more, or 0\n", spread_parts);
    return 2;
  }
  for (const std::uint32_t parts : parts_list) {
    if (parts < 2 || (parts & (parts - 1)) != 0) {
      std::fprintf(stderr, "bench_conversion: --parts %u: each must be a power of two, 2 or more\n", parts);
      return 2;
    }
  }
  pi::keep_freed_memory();
  pi::map_big_blocks_apart();

  // A fraction of the job's size (digits and guard decimals, 64 bits more) with an integer part: only its
  // size matters.
  const std::uint64_t decimals = digits + pi::kGuardDecimals;
  const std::uint64_t scale = pi::bits_for_digits(decimals) + 64;
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 1);
  pi::BigInt f;
  mpz_urandomb(raw(f), state, scale);
  mpz_setbit(raw(f), scale + 1);
  gmp_randclear(state);
  std::printf("a fraction of %llu bits, %llu decimals\n", static_cast<unsigned long long>(scale),
              static_cast<unsigned long long>(decimals));

  for (const std::uint32_t parts : parts_list) {
    const std::uint32_t spread_in = spread_parts == 0 ? parts : spread_parts;
    std::vector<Round> all;
    for (int r = 0; r < rounds; ++r) {
      Round round;
      const std::vector<std::uint64_t> edges = pi::Scheduler::block_edges(decimals, parts);
      auto t0 = Clock::now();
      (void)pi::fraction_digits(f, scale, 0, edges[1]);
      round.first_block = seconds_since(t0);
      t0 = Clock::now();
      (void)pi::fraction_digits(f, scale, edges[parts - 1], decimals - edges[parts - 1]);
      round.last_block = seconds_since(t0);

      bench::ProductTimes whole;
      t0 = Clock::now();
      (void)pi::split_decimals(f, scale, decimals, parts, bench::timed_product(whole, 0, min_spread_bits));
      round.split_whole = seconds_since(t0);

      bench::ProductTimes spread;
      t0 = Clock::now();
      const auto split = pi::split_decimals(f, scale, decimals, parts,
                                            bench::timed_product(spread, spread_in, min_spread_bits));
      const double split_all = seconds_since(t0);
      if (!split) {
        std::fprintf(stderr, "bench_conversion: the split's enclosures straddled a decimal boundary\n");
        return 1;
      }
      round.split_linear = split_all - spread.products_s;
      round.split_critical = round.split_linear + spread.critical_s;
      round.split_summed = round.split_linear + spread.summed_s;
      // The first part, a middle one and the last, each checked against fraction_digits' same block.
      for (const std::size_t k : {std::size_t{0}, std::size_t{parts / 2}, std::size_t{parts - 1}}) {
        const pi::DecimalPart& part = (*split)[k];
        t0 = Clock::now();
        const auto text = pi::part_decimals(part);
        round.slowest_part = std::max(round.slowest_part, seconds_since(t0));
        if (!text) {
          std::fprintf(stderr, "bench_conversion: part %zu's enclosure straddled a decimal boundary\n", k);
          return 1;
        }
        if (*text != pi::fraction_digits(f, scale, part.first, part.count)) {
          std::fprintf(stderr, "bench_conversion: part %zu's decimals differ from fraction_digits'\n", k);
          return 1;
        }
      }
      all.push_back(round);
    }
    const auto med = [&](double Round::*field) {
      std::vector<double> v;
      v.reserve(all.size());
      for (const Round& r : all) v.push_back(r.*field);
      return median(v);
    };
    const double today = std::max(med(&Round::first_block), med(&Round::last_block));
    const double split = med(&Round::split_critical) + med(&Round::slowest_part);
    std::printf("\n%u blocks (medians of %d rounds):\n", parts, rounds);
    std::printf("today: first block %.3f s, last block %.3f s: critical path %.3f s\n",
                med(&Round::first_block), med(&Round::last_block), today);
    std::printf(
        "split: %u - 1 products and the powers' squares; whole on one core %.3f s; spread in %u parts: "
        "critical path %.3f s (work between the products %.3f s), compute summed %.3f s; slowest part timed "
        "%.3f s\n",
        parts, med(&Round::split_whole), spread_in, med(&Round::split_critical), med(&Round::split_linear),
        med(&Round::split_summed), med(&Round::slowest_part));
    std::printf("split's critical path (split, then the slowest part) %.3f s: %.2f of today's\n", split,
                split / today);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_conversion: %s\n", e.what());
    return 1;
  }
}
