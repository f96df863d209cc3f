// A product function (pi::ProductFn) that times its products, made whole or spread in parts as workers
// would share them (spread_product.hpp): for the benchmarks of chains of products (bench_newton,
// bench_conversion), whose critical path on as many workers as parts is the work between the products plus,
// for each product, the longest part of each of its phases. Transfers are not in these figures.
#pragma once

#include <gmp.h>

#include <algorithm>
#include <cstdint>

#include "series/bigint.hpp"
#include "series/spread_product.hpp"
#include "timing.hpp"

namespace bench {

// A chain's products: their seconds made whole or spread, the longest part of each phase summed
// (spread), and the compute of every part summed.
struct ProductTimes {
  double products_s = 0;  // wall seconds inside the product function
  double critical_s = 0;  // longest parts (spread) or whole products, summed
  double summed_s = 0;    // every part's compute
  double largest_part_bytes = 0;
  std::size_t spread = 0;
};

inline pi::ProductFn timed_product(ProductTimes& times, std::uint32_t parts, std::uint64_t min_spread_bits) {
  return [&times, parts, min_spread_bits](pi::BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    const auto t0 = Clock::now();
    const std::uint64_t smaller = std::min(mpz_sizeinbase(a, 2), mpz_sizeinbase(b, 2));
    if (parts == 0 || smaller < min_spread_bits) {
      pi::multiply(out, a, b);
      const double s = seconds_since(t0);
      times.critical_s += s;
      times.summed_s += s;
    } else {
      pi::BigInt wa, wb;  // the spread product takes BigInts; the copies are not timed as parts
      mpz_set(pi::raw(wa), a);
      mpz_set(pi::raw(wb), b);
      double longest[4] = {0, 0, 0, 0};
      pi::SpreadObserver observe;
      observe.part_done = [&](int phase, double seconds, double bytes) {
        const auto k = static_cast<std::size_t>(phase);
        longest[k] = std::max(longest[k], seconds);
        times.summed_s += seconds;
        times.largest_part_bytes = std::max(times.largest_part_bytes, bytes);
      };
      pi::multiply_spread(out, wa, wb, parts, observe);
      times.critical_s += longest[0] + longest[1] + longest[2] + longest[3];
      ++times.spread;
    }
    times.products_s += seconds_since(t0);
  };
}

}  // namespace bench
