// The exact integer quotient floor(x / y) by Newton's iteration, as a chain of products and linear work
// between them: the division of the final steps in a form whose large products may each be shared by many
// workers (the serial-tail issue), where GMP's division (mpz_tdiv_q) runs on one core from end to end.
//
// Every product goes through a function the caller gives (`ProductFn`): pi::multiply() in this process, or
// a product spread over workers (spread_product.hpp). The linear work (shifts, additions, truncations)
// is a small share of the time. The steps, for y of n bits and a quotient of k bits, h about k/2:
//   1. V, about 2^(2h-1) / (y's top h bits), by Newton's iteration from a short division (GMP's) up: each
//      step doubles the bits and takes two products, of h x h/2 and h/2 x h/2 bits at the top one.
//   2. q0: x's top h bits times V, cut to the bits it gets right (one product, h x h).
//   3. r = x - q0 y, exactly (one product, n x h/2).
//   4. d: r's top bits times V, r / y to within a few units (one product).
//   5. q = q0 + d and r - d y, exactly (one product, n x h/2); then q is mended by a few units until
//      0 <= r < y, which makes it floor(x / y) exactly: the quotient is proven by its remainder, not by an
//      analysis of the rounding in steps 1-4. A q off by more than kMostCorrections throws (a bug).
// The square root (sqrt_floor_newton, below) is proven the same way.
// So the quotient is the same integer as mpz_tdiv_q's, whichever way the products were made, and whatever
// the number of workers: the determinism of pi.txt does not depend on how the division was shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "series/bigint.hpp"

namespace pi {

struct NewtonStats {
  std::size_t products = 0;       // products handed to the ProductFn
  double product_bits = 0;        // their operands' bits, summed
  std::uint64_t largest = 0;      // the largest operand's bits
  std::uint64_t corrections = 0;  // units step 5 mended q by
  bool by_newton = false;         // false: the quotient was short, and GMP's division made it
};

// Quotients of fewer bits, and reciprocals at this precision or less, are GMP's divisions.
inline constexpr std::uint64_t kNewtonBaseBits = std::uint64_t{1} << 17;
inline constexpr std::uint64_t kMostCorrections = 64;

// q = floor(x / y) for x >= 0 and y > 0 (throws std::invalid_argument else); q may not be x or y.
void divide_floor_newton(BigInt& q, const BigInt& x, const BigInt& y, const ProductFn& product,
                         NewtonStats* stats = nullptr);

// s = floor(sqrt(x)) for x >= 0 (throws std::invalid_argument else), the square root of the final steps
// (the constants' sqrt(10005) and sqrt(8) at the job's precision) in the same form, without a division:
// v, about 1/sqrt of x's top half, by Newton's iteration for the reciprocal square root (three products a
// step: v0^2, times the radicand's top bits, and v0 times the error; from GMP's mpz_sqrt of a short
// reciprocal under kNewtonBaseBits bits); then s0 = sqrt(top) from v, and one step on the root itself,
// s = s0 + (x - s0^2) v / 2 (Karp and Markstein's); then the square s^2 exactly (one product), and s mended
// by units until s^2 <= x < (s + 1)^2. So s is mpz_sqrt's integer. s may not be x.
void sqrt_floor_newton(BigInt& s, const BigInt& x, const ProductFn& product, NewtonStats* stats = nullptr);

}  // namespace pi
