#include <gtest/gtest.h>

#include <gmp.h>

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
  int fft = 0;
  for (const Sizes& s : sizes) {
    for (const bool full : {true, false}) {
      for (const int sign : {1, -1}) {
        const BigInt a = random_int(state, s.a, full, sign);
        const BigInt b = random_int(state, s.b, !full, 1);
        BigInt p;
        multiply(p, a, b);
        EXPECT_EQ(p, gmp_product(a, b)) << s.a << " x " << s.b << " limbs, sign " << sign;
        if (std::min(mpz_size(raw(a)), mpz_size(raw(b))) >= min &&
            std::max(mpz_size(raw(a)), mpz_size(raw(b))) >= large)
          ++fft;
      }
    }
  }
  EXPECT_GE(fft, 20);  // most of the cases above take the FFT path
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
  multiply(a, a, b);
  EXPECT_EQ(a, expected);
  a = a0;
  multiply(b, a, b);
  EXPECT_EQ(b, expected);
  a = a0;
  multiply(a, a, a);
  EXPECT_EQ(a, gmp_product(a0, a0));
  BigInt zero;
  multiply(b, a0, zero);
  EXPECT_EQ(b, 0);
  gmp_randclear(state);
}

}  // namespace
}  // namespace pi
