#include "series/newton_division.hpp"

#include <gtest/gtest.h>

#include <gmp.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "series/series.hpp"
#include "series/spread_product.hpp"

namespace pi {
namespace {

BigInt random_bits(gmp_randstate_t state, mp_bitcnt_t bits) {
  BigInt x;
  mpz_urandomb(raw(x), state, bits);
  mpz_setbit(raw(x), bits - 1);
  return x;
}

BigInt gmp_quotient(const BigInt& x, const BigInt& y) {
  BigInt q;
  mpz_tdiv_q(raw(q), raw(x), raw(y));
  return q;
}

const ProductFn kMultiply = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) { multiply(out, a, b); };

// Quotients from the base size up, y longer and shorter than the reciprocal's precision, and one short
// quotient (GMP's division): the integer mpz_tdiv_q gives, and the products that made it.
TEST(NewtonDivision, EqualsGmpForRandomOperands) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 20261206);
  const std::vector<std::pair<mp_bitcnt_t, mp_bitcnt_t>> sizes = {{300001, 150000},  {1000000, 500000},
                                                                  {2000017, 999983}, {600000, 100000},
                                                                  {900000, 64},      {600000, 590000}};
  for (const auto& [xbits, ybits] : sizes) {
    const BigInt x = random_bits(state, xbits), y = random_bits(state, ybits);
    BigInt q;
    NewtonStats stats;
    divide_floor_newton(q, x, y, kMultiply, &stats);
    EXPECT_EQ(q, gmp_quotient(x, y)) << xbits << " / " << ybits << " bits";
    const bool newton = xbits - ybits + 1 > kNewtonBaseBits;
    EXPECT_EQ(stats.by_newton, newton) << xbits << " / " << ybits << " bits";
    if (newton) {
      // Four products, and two for each step of the reciprocal above GMP's division.
      EXPECT_GE(stats.products, 4U) << xbits << " / " << ybits << " bits";
      EXPECT_GT(stats.largest, (xbits - ybits) / 2) << xbits << " / " << ybits << " bits";
      EXPECT_LE(stats.corrections, 2U) << "the approximation is a unit or two off at most, as designed";
    } else {
      EXPECT_EQ(stats.products, 0U);
    }
  }
  gmp_randclear(state);
}

// Where a quotient a unit off shows: remainders 0, 1 and y - 1, and divisors that are a power of two or all
// ones.
TEST(NewtonDivision, ExactAtTheEdgesOfTheRemainder) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 6);
  std::vector<BigInt> divisors = {random_bits(state, 400000)};
  BigInt power, ones;
  mpz_setbit(raw(power), 399999);
  mpz_setbit(raw(ones), 400000);
  mpz_sub_ui(raw(ones), raw(ones), 1);
  divisors.push_back(power);
  divisors.push_back(ones);
  for (const BigInt& y : divisors) {
    const BigInt quotient = random_bits(state, 500000);
    BigInt exact;
    mpz_mul(raw(exact), raw(quotient), raw(y));
    BigInt below = exact, above = exact, last = exact;
    mpz_sub_ui(raw(below), raw(below), 1);  // floor: quotient - 1
    mpz_add_ui(raw(above), raw(above), 1);
    mpz_add(raw(last), raw(last), raw(y));
    mpz_sub_ui(raw(last), raw(last), 1);  // remainder y - 1
    for (const BigInt* x : {&exact, &below, &above, &last}) {
      BigInt q;
      divide_floor_newton(q, *x, y, kMultiply);
      EXPECT_EQ(q, gmp_quotient(*x, y))
          << "divisor of " << mpz_sizeinbase(raw(y), 2) << " bits, popcount " << mpz_popcount(raw(y));
    }
  }
  gmp_randclear(state);
}

// Products made in parts (the spread product, as workers would share them) give the same quotient.
TEST(NewtonDivision, SpreadProductsGiveTheSameQuotient) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 2026);
  const BigInt x = random_bits(state, 1400003), y = random_bits(state, 700001);
  gmp_randclear(state);
  std::size_t spread = 0;
  const ProductFn in_parts = [&spread](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    BigInt wa, wb;
    mpz_set(raw(wa), a);
    mpz_set(raw(wb), b);
    multiply_spread(out, wa, wb, 4);
    ++spread;
  };
  BigInt q;
  NewtonStats stats;
  divide_floor_newton(q, x, y, in_parts, &stats);
  EXPECT_EQ(q, gmp_quotient(x, y));
  EXPECT_EQ(spread, stats.products);
  EXPECT_GE(spread, 6U);
}

// The quotient is proven by its remainder: approximations made wrong (here the one of r / y, 2^-40 off)
// end in an error, never in a wrong quotient.
TEST(NewtonDivision, AWrongApproximationFailsLoudly) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 40);
  const BigInt x = random_bits(state, 1000000), y = random_bits(state, 500000);
  gmp_randclear(state);
  bool remainder_seen = false;
  std::size_t spoilt = 0;
  // The products with y are the remainders' (exact); the one after the first of them approximates r / y.
  const ProductFn spoil = [&](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    multiply(out, a, b);
    const bool with_y = mpz_cmp(a, raw(y)) == 0 || mpz_cmp(b, raw(y)) == 0;
    if (!with_y && remainder_seen && spoilt == 0) {
      BigInt off;
      mpz_fdiv_q_2exp(raw(off), raw(out), 40);
      mpz_add(raw(out), raw(out), raw(off));
      ++spoilt;
    }
    remainder_seen = remainder_seen || with_y;
  };
  BigInt q;
  EXPECT_THROW(divide_floor_newton(q, x, y, spoil), std::logic_error);
  EXPECT_EQ(spoilt, 1U);
}

BigInt gmp_root(const BigInt& x) {
  BigInt s;
  mpz_sqrt(raw(s), raw(x));
  return s;
}

// Roots from the base size up (odd and even lengths), and the constants' radicands at a job's precisions:
// mpz_sqrt's integer.
TEST(NewtonSqrt, EqualsGmpForRandomAndConstantRadicands) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 10005);
  std::vector<BigInt> radicands;
  for (const mp_bitcnt_t bits : {200000UL, 300001UL, 1000000UL, 2000003UL})
    radicands.push_back(random_bits(state, bits));
  gmp_randclear(state);
  for (const unsigned long c : {10005UL, 8UL}) {
    BigInt x = c;
    mpz_mul_2exp(raw(x), raw(x), 2 * 700001);  // sqrt(c) to 700001 bits after the point
    radicands.push_back(x);
  }
  for (const BigInt& x : radicands) {
    BigInt s;
    NewtonStats stats;
    sqrt_floor_newton(s, x, kMultiply, &stats);
    EXPECT_EQ(s, gmp_root(x)) << mpz_sizeinbase(raw(x), 2) << " bits";
    EXPECT_EQ(stats.by_newton, (mpz_sizeinbase(raw(x), 2) + 1) / 2 > kNewtonBaseBits);
    EXPECT_LE(stats.corrections, 2U) << "the approximations are a unit or two off at most, as designed";
  }
}

// Where a root a unit off shows: x = s^2, s^2 - 1 (root s - 1) and s^2 + 2 s (the largest with root s); and
// products spread in 4 parts.
TEST(NewtonSqrt, ExactAtTheEdgesOfTheRemainder) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 8);
  const BigInt root = random_bits(state, 400001);
  gmp_randclear(state);
  BigInt square;
  mpz_mul(raw(square), raw(root), raw(root));
  BigInt below = square, largest = square;
  mpz_sub_ui(raw(below), raw(below), 1);
  mpz_addmul_ui(raw(largest), raw(root), 2);
  for (const BigInt* x : {&square, &below, &largest}) {
    BigInt s;
    sqrt_floor_newton(s, *x, kMultiply);
    EXPECT_EQ(s, gmp_root(*x));
  }
  const ProductFn in_parts = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    BigInt wa, wb;
    mpz_set(raw(wa), a);
    mpz_set(raw(wb), b);
    multiply_spread(out, wa, wb, 4);
  };
  BigInt s;
  sqrt_floor_newton(s, largest, in_parts);
  EXPECT_EQ(s, root);
}

TEST(NewtonDivision, RefusesNegativeOrZeroOperands) {
  BigInt q, x = 5, y = 0, minus = -5;
  EXPECT_THROW(divide_floor_newton(q, x, y, kMultiply), std::invalid_argument);
  EXPECT_THROW(divide_floor_newton(q, minus, x, kMultiply), std::invalid_argument);
  EXPECT_THROW(divide_floor_newton(x, x, x, kMultiply), std::invalid_argument);
  divide_floor_newton(q, y, x, kMultiply);  // 0 / 5
  EXPECT_EQ(q, 0);
  EXPECT_THROW(sqrt_floor_newton(q, minus, kMultiply), std::invalid_argument);
  EXPECT_THROW(sqrt_floor_newton(x, x, kMultiply), std::invalid_argument);
  sqrt_floor_newton(q, y, kMultiply);
  EXPECT_EQ(q, 0);
}

// The final steps' correctly rounded division and product with their products made elsewhere: mpfr_div's
// and mpfr_mul's reals, bit for bit, at odd precisions and on both sides of the reciprocal's base size.
TEST(NewtonDivision, CorrectlyRoundedOperationsGiveMpfrsReals) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 1206);
  for (const std::uint64_t bits : {std::uint64_t{1000}, std::uint64_t{200003}, std::uint64_t{1048577}}) {
    for (int round = 0; round < 3; ++round) {
      Real a = make_real(bits), b = make_real(round == 2 ? bits / 2 + 1 : bits);
      mpfr_urandomb(raw(a), state);
      mpfr_urandomb(raw(b), state);
      if (round == 1) mpfr_neg(raw(b), raw(b), MPFR_RNDN);
      mpfr_mul_2si(raw(a), raw(a), 77, MPFR_RNDN);
      std::size_t products = 0;
      const ProductFn counted = [&products](BigInt& out, mpz_srcptr x, mpz_srcptr y) {
        ++products;
        multiply(out, x, y);
      };
      Real want = make_real(bits), got = make_real(bits);
      mpfr_div(raw(want), raw(a), raw(b), MPFR_RNDN);
      divide_nearest(got, a, b, counted);
      EXPECT_TRUE(mpfr_equal_p(raw(want), raw(got))) << bits << " bits, round " << round;
      if (bits > 2 * kNewtonBaseBits) {
        EXPECT_GT(products, 4u) << "by Newton's iteration";
      }
      mpfr_mul(raw(want), raw(a), raw(b), MPFR_RNDN);
      multiply_nearest(got, a, b, counted);
      EXPECT_TRUE(mpfr_equal_p(raw(want), raw(got))) << bits << " bits, round " << round;
    }
  }
  gmp_randclear(state);
}

// A fast series' final steps with their products through a function: estimate()'s value and bound exactly.
TEST(NewtonDivision, FinalStepsWithProductsElsewhereGiveTheSameEstimate) {
  for (const char* name : {"chudnovsky", "ramanujan"}) {
    const auto series = make_series(name);
    const std::uint64_t terms = 30000;
    const PartialResult prefix = series->evaluate(Range{0, terms}, false);
    const std::uint64_t bits = 1 << 19;
    std::size_t products = 0;
    const ProductFn counted = [&products](BigInt& out, mpz_srcptr x, mpz_srcptr y) {
      ++products;
      multiply(out, x, y);
    };
    const Estimate want = series->estimate(prefix, bits).best();
    const Estimate got = series->estimate_with(prefix, bits, counted).best();
    EXPECT_TRUE(mpfr_equal_p(raw(want.value), raw(got.value))) << name;
    EXPECT_TRUE(mpfr_equal_p(raw(want.error_bound.value()), raw(got.error_bound.value()))) << name;
    EXPECT_GT(products, 5u) << name;
  }
}

// The constants' square roots by Newton's iteration, their products through a function: mpfr_sqrt_ui's
// reals and the series' constant pieces, bit for bit.
TEST(NewtonSqrt, CorrectlyRoundedRootsAndConstantsGiveMpfrsReals) {
  for (const std::uint64_t bits : {std::uint64_t{64}, std::uint64_t{100003}, std::uint64_t{1 << 20}}) {
    for (const unsigned long n : {2ul, 8ul, 10005ul, 4294967291ul}) {
      Real want = make_real(bits), got = make_real(bits);
      mpfr_sqrt_ui(raw(want), n, MPFR_RNDN);
      sqrt_nearest(got, n, kMultiply);
      EXPECT_TRUE(mpfr_equal_p(raw(want), raw(got))) << "sqrt(" << n << ") at " << bits << " bits";
    }
  }
  Real r = make_real(100);
  EXPECT_THROW(sqrt_nearest(r, 10000, kMultiply), std::invalid_argument);
  for (const char* name : {"chudnovsky", "ramanujan"}) {
    const auto series = make_series(name);
    for (const std::uint64_t bits : {std::uint64_t{5000}, std::uint64_t{(1 << 20) + 7}}) {
      std::size_t products = 0;
      const ProductFn counted = [&products](BigInt& out, mpz_srcptr x, mpz_srcptr y) {
        ++products;
        multiply(out, x, y);
      };
      EXPECT_EQ(series->constant_piece_with(bits, counted), series->constant_piece(bits))
          << name << " " << bits;
      if (bits > 4 * kNewtonBaseBits) {
        EXPECT_GT(products, 4u) << name;
      }
    }
  }
}

}  // namespace
}  // namespace pi
