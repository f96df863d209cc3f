#include <gtest/gtest.h>

#include <gmp.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "series/bigint.hpp"

namespace pi {
namespace {

// A random integer of `limbs` limbs (top bit set when `full`, so that a product may fill every limb), with
// the given sign.
BigInt random_int(gmp_randstate_t state, std::size_t limbs, bool full, int sign) {
  BigInt x;
  const auto bits = static_cast<mp_bitcnt_t>(limbs * GMP_NUMB_BITS);
  mpz_urandomb(raw(x), state, bits);
  if (full) mpz_setbit(raw(x), bits - 1);
  mpz_setbit(raw(x), bits - (full ? 2 : 3));  // never shorter than the size asked for, less a limb at most
  if (sign < 0) mpz_neg(raw(x), raw(x));
  return x;
}

BigInt gmp_product(const BigInt& a, const BigInt& b) {
  BigInt p;
  mpz_mul(raw(p), raw(a), raw(b));
  return p;
}

struct Sizes {
  std::size_t a, b;
};

// Below, at and above the sizes where multiply() leaves GMP for FLINT's FFT, balanced and not, either operand
// the larger: the same integer as mpz_mul's, sign included.
TEST(Multiply, EqualsGmpAcrossTheFftThreshold) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 20261204);
  const std::size_t min = kFftMinLimbs, large = kFftLargeLimbs;
  const std::vector<Sizes> sizes = {{3, 5},
                                    {large - 1, large - 1},
                                    {large, min - 1},
                                    {large, min},
                                    {min, large},
                                    {large, large},
                                    {large + 7, min + 3},
                                    {4 * large, min},
                                    {2 * large + 1, 2 * large}};
  for (const Sizes& s : sizes) {
    for (const bool full : {true, false}) {
      for (const int sign : {1, -1}) {
        const BigInt a = random_int(state, s.a, full, sign);
        const BigInt b = random_int(state, s.b, !full, 1);
        ASSERT_EQ(mpz_size(raw(a)), s.a);
        ASSERT_EQ(mpz_size(raw(b)), s.b);
        BigInt p;
        const bool fft = multiply(p, a, b);
        EXPECT_EQ(p, gmp_product(a, b)) << s.a << " x " << s.b << " limbs, sign " << sign;
        // The path the header documents, from the sizes asked for.
        EXPECT_EQ(fft, std::min(s.a, s.b) >= min && std::max(s.a, s.b) >= large)
            << s.a << " x " << s.b << " limbs";
      }
    }
  }
  gmp_randclear(state);
}

// A product over kFftMaxLimbs stays with GMP, and is still exact.
TEST(Multiply, AboveTheCapGmpMakesTheProduct) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 3);
  const std::size_t half = kFftMaxLimbs / 2;
  const BigInt a = random_int(state, half + 1, true, 1);
  const BigInt b = random_int(state, half, true, -1);
  BigInt p;
  EXPECT_FALSE(multiply(p, a, b));
  EXPECT_EQ(p, gmp_product(a, b));
  const BigInt c = random_int(state, half - 1, true, 1);
  EXPECT_TRUE(multiply(p, c, b));  // just under the cap
  EXPECT_EQ(p, gmp_product(c, b));
  gmp_randclear(state);
}

// The product may go into one of its own operands, or square an integer.
TEST(Multiply, IntoAnOperandAndSquares) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 7);
  const std::size_t n = kFftLargeLimbs + 11;
  const BigInt a0 = random_int(state, n, true, -1);
  const BigInt b0 = random_int(state, n / 2, true, -1);
  const BigInt expected = gmp_product(a0, b0);
  BigInt a = a0, b = b0;
  EXPECT_TRUE(multiply(a, a, b));  // these go to the FFT, which must not write over what it reads
  EXPECT_EQ(a, expected);
  a = a0;
  EXPECT_TRUE(multiply(b, a, b));
  EXPECT_EQ(b, expected);
  a = a0;
  EXPECT_TRUE(multiply(a, a, a));
  EXPECT_EQ(a, gmp_product(a0, a0));
  BigInt zero;
  multiply(b, a0, zero);
  EXPECT_EQ(b, 0);
  gmp_randclear(state);
}

// x with its low `clear` bits cleared, times 2^(64 zeros): `zeros` whole zero limbs at the low end, and a few
// zero bits more in the limb above them (x's size in limbs unchanged).
BigInt shifted(const BigInt& x, std::size_t zeros, unsigned clear) {
  BigInt out;
  mpz_tdiv_q_2exp(raw(out), raw(x), clear);
  mpz_mul_2exp(raw(out), raw(out), static_cast<mp_bitcnt_t>(zeros * GMP_NUMB_BITS + clear));
  return out;
}

// Operands with zero limbs at the low end (as Chudnovsky's Q has): the same integer as mpz_mul's, by the path
// the header documents for the sizes without those limbs; in one operand, both, or one that becomes the
// smaller without them; into an operand, and squared.
TEST(Multiply, ZeroLimbsAtTheLowEndAreLeftOutAndPutBack) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 11);
  const std::size_t min = kFftMinLimbs, large = kFftLargeLimbs;
  struct Case {
    std::size_t a, za, b, zb;  // limbs multiplied, zero limbs below them
  };
  const std::vector<Case> cases = {{2, 1, 3, 0},
                                   {3, 0, 2, 4},
                                   {40, 7, 40, 9},
                                   {large, 5, min, 0},
                                   {large, 0, min, 100},
                                   {min - 1, large, large, 0},
                                   {large, min, min - 1, 3},
                                   {large + 3, 2, min + 1, large}};
  for (const Case& c : cases) {
    for (const int sign : {1, -1}) {
      const BigInt a = shifted(random_int(state, c.a, true, sign), c.za, 17);
      const BigInt b = shifted(random_int(state, c.b, true, 1), c.zb, 3);
      ASSERT_EQ(mpz_size(raw(a)), c.a + c.za);
      ASSERT_EQ(mpz_size(raw(b)), c.b + c.zb);
      BigInt p;
      const bool fft = multiply(p, a, b);
      EXPECT_EQ(p, gmp_product(a, b)) << c.a << "+" << c.za << " x " << c.b << "+" << c.zb << " limbs";
      EXPECT_EQ(fft, std::min(c.a, c.b) >= min && std::max(c.a, c.b) >= large)
          << c.a << "+" << c.za << " x " << c.b << "+" << c.zb << " limbs";
      BigInt into = a;
      multiply(into, into, b);
      EXPECT_EQ(into, gmp_product(a, b));
      into = b;
      multiply(into, a, into);
      EXPECT_EQ(into, gmp_product(a, b));
      into = a;
      multiply(into, into, into);
      EXPECT_EQ(into, gmp_product(a, a));
      BigInt zero;
      multiply(into, a, zero);
      EXPECT_EQ(into, 0);
    }
  }
  gmp_randclear(state);
}

}  // namespace
}  // namespace pi
