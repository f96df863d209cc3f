// The division and square root of the final steps by Newton's iteration (src/series/newton_division.hpp)
// against GMP's (mpz_tdiv_q, what divide_nearest runs today; mpz_sqrt, the integer MPFR's square root
// takes), in this process, at the sizes of a job's final steps at B bits: a numerator of 2B bits over a
// divisor of B bits, and the root of 10005 x 4^B (sqrt(10005) to B bits after the point). With its products
// made whole (multiply()), and spread in `parts` parts (spread_product.hpp) as workers would share them: then
// the critical path is the linear work between the products plus, for each product, the longest part of each
// of its phases (products whose smaller factor is under --min-spread-bits are made whole, and count whole).
// Transfers are not in these figures. Rounds alternate the divisions; medians are printed.
//
//   bench_newton [--bits 33300000] [--parts 1,2,16,64] [--rounds 3]
#include <gmp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "product_timing.hpp"
#include "series/bigint.hpp"
#include "series/newton_division.hpp"
#include "timing.hpp"

namespace {

using bench::Clock;
using bench::median;
using bench::ProductTimes;
using bench::seconds_since;
using bench::timed_product;
using pi::raw;

// An operation GMP does in one call, and its Newton form whose products go through a ProductFn.
struct Operation {
  const char* what;
  const char* baseline;
  std::function<void(pi::BigInt&)> gmp;
  std::function<void(pi::BigInt&, const pi::ProductFn&, pi::NewtonStats*)> newton;
};

// Rounds of GMP's operation, Newton's with whole products and Newton's spread in each of `parts_list`,
// alternating; prints the medians. False (and a message) when an integer differs from GMP's.
bool compare(const Operation& op, std::uint64_t bits, const std::vector<std::uint32_t>& parts_list,
             std::uint64_t min_spread_bits, int rounds) {
  std::vector<double> gmp, whole, whole_products;
  std::vector<std::vector<double>> critical(parts_list.size()), summed(parts_list.size());
  pi::NewtonStats stats;
  double part_bytes = 0;
  for (int r = 0; r < rounds; ++r) {
    pi::BigInt expected;
    auto t0 = Clock::now();
    op.gmp(expected);
    gmp.push_back(seconds_since(t0));
    ProductTimes times;
    pi::BigInt q;
    stats = {};
    t0 = Clock::now();
    op.newton(q, timed_product(times, 0, min_spread_bits), &stats);
    const double all = seconds_since(t0);
    whole.push_back(all);
    whole_products.push_back(times.products_s);
    if (q != expected) {
      std::fprintf(stderr, "bench_newton: %s: Newton's integer differs from GMP's\n", op.what);
      return false;
    }
    const double linear = all - times.products_s;
    for (std::size_t i = 0; i < parts_list.size(); ++i) {
      ProductTimes spread;
      pi::BigInt qs;
      op.newton(qs, timed_product(spread, parts_list[i], min_spread_bits), nullptr);
      if (qs != expected) {
        std::fprintf(stderr, "bench_newton: %s: Newton's integer with spread products differs from GMP's\n",
                     op.what);
        return false;
      }
      critical[i].push_back(linear + spread.critical_s);
      summed[i].push_back(linear + spread.summed_s);
      part_bytes = std::max(part_bytes, spread.largest_part_bytes);
    }
  }
  const double g = median(gmp);
  std::printf(
      "\n%s, %llu bits: %zu products (%.0f Mbit of operands, the largest %.1f Mbit), %llu units mended\n",
      op.what, static_cast<unsigned long long>(bits), stats.products, stats.product_bits / 1e6,
      static_cast<double>(stats.largest) / 1e6, static_cast<unsigned long long>(stats.corrections));
  std::printf("%s: %.3f s\n", op.baseline, g);
  std::printf(
      "Newton, products whole (multiply()): %.3f s (%.2f of GMP's), of it products %.3f s, linear "
      "work %.3f s\n",
      median(whole), median(whole) / g, median(whole_products), median(whole) - median(whole_products));
  for (std::size_t i = 0; i < parts_list.size(); ++i)
    std::printf(
        "Newton, products spread in %2u parts: critical path %.3f s (%.3f of GMP's), compute summed "
        "%.3f s\n",
        parts_list[i], median(critical[i]), median(critical[i]) / g, median(summed[i]));
  std::printf(
      "(critical path: the linear work, and each product's longest part per phase, on as many "
      "workers as parts, transfers aside; a part reads at most %.1f MB)\n",
      part_bytes / 1e6);
  return true;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"bench_newton: the division by Newton's iteration against GMP's"};
  std::uint64_t bits = 33300000;
  std::vector<std::uint32_t> parts_list{1, 2, 16, 64};
  std::uint64_t min_spread_bits = std::uint64_t{1} << 20;
  int rounds = 3;
  app.add_option("--bits", bits, "bits of the divisor and the quotient")
      ->check(CLI::Range(1000000, 2000000000));
  app.add_option("--parts", parts_list, "parts each product is spread in (powers of two)")->delimiter(',');
  app.add_option("--min-spread-bits", min_spread_bits, "products with a smaller factor are made whole");
  app.add_option("--rounds", rounds, "rounds, alternating the divisions")->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  for (const std::uint32_t parts : parts_list) {
    if (parts == 0 || (parts & (parts - 1)) != 0) {
      std::fprintf(stderr, "bench_newton: --parts %u: each must be a power of two\n", parts);
      return 2;
    }
  }
  pi::keep_freed_memory();
  pi::map_big_blocks_apart();

  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 1);
  pi::BigInt x, y;
  mpz_urandomb(raw(x), state, 2 * bits);
  mpz_urandomb(raw(y), state, bits);
  mpz_setbit(raw(x), 2 * bits - 1);
  mpz_setbit(raw(y), bits - 1);
  gmp_randclear(state);

  pi::BigInt radicand = 10005;  // the constant sqrt(10005) to `bits` bits after the point
  mpz_mul_2exp(raw(radicand), raw(radicand), 2 * bits);
  const Operation division{"a quotient", "GMP's division (mpz_tdiv_q)",
                           [&](pi::BigInt& out) { mpz_tdiv_q(raw(out), raw(x), raw(y)); },
                           [&](pi::BigInt& out, const pi::ProductFn& product, pi::NewtonStats* stats) {
                             pi::divide_floor_newton(out, x, y, product, stats);
                           }};
  const Operation root{"the root of 10005 x 4^B", "GMP's square root (mpz_sqrt)",
                       [&](pi::BigInt& out) { mpz_sqrt(raw(out), raw(radicand)); },
                       [&](pi::BigInt& out, const pi::ProductFn& product, pi::NewtonStats* stats) {
                         pi::sqrt_floor_newton(out, radicand, product, stats);
                       }};
  for (const Operation* op : {&division, &root})
    if (!compare(*op, bits, parts_list, min_spread_bits, rounds)) return 1;
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_newton: %s\n", e.what());
    return 1;
  }
}
