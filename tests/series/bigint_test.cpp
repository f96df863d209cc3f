#include <gtest/gtest.h>

#include <gmp.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
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

// A real whose value is `m` times 2^scale, at a precision between m's bits (2 at least) and `most`.
Real real_of(gmp_randstate_t state, const BigInt& m, long scale, mpfr_prec_t most) {
  const auto bits = static_cast<mpfr_prec_t>(std::max<std::size_t>(mpz_sizeinbase(raw(m), 2), 2));
  const mpfr_prec_t prec =
      bits + static_cast<mpfr_prec_t>(gmp_urandomm_ui(state, static_cast<unsigned long>(most - bits + 1)));
  Real x = make_real(static_cast<std::uint64_t>(prec));
  EXPECT_EQ(mpfr_set_z_2exp(raw(x), raw(m), scale, MPFR_RNDN), 0);
  return x;
}

// An odd integer of exactly `bits` bits (1 at least), with the given sign.
BigInt odd_int(gmp_randstate_t state, mp_bitcnt_t bits, int sign) {
  BigInt m;
  mpz_urandomb(raw(m), state, bits);
  mpz_setbit(raw(m), bits - 1);
  mpz_setbit(raw(m), 0);
  if (sign < 0) mpz_neg(raw(m), raw(m));
  return m;
}

// divide_nearest and multiply_nearest against mpfr_div and mpfr_mul (MPFR_RNDN), bit for bit. Precisions
// from 2 bits to the FFT's sizes; operands of any length and precision up to the result's, both signs,
// exponents apart. A third of the rounds are products of odd integers whose exact product has one bit more
// than the precision (a tie: to even), a third quotients that are exact.
TEST(CorrectlyRounded, EqualsMpfrBitForBit) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 20261205);
  const auto large = static_cast<mpfr_prec_t>(2 * kFftLargeLimbs * GMP_NUMB_BITS);
  int ties = 0, exact_quotients = 0;
  for (const mpfr_prec_t prec : {2L, 3L, 17L, 63L, 64L, 65L, 128L, 1000L, 4099L, 100003L, large}) {
    const int rounds = prec >= large ? 6 : 60;
    const auto length = [&](long lo, long hi) {  // in [lo, hi] within [1, prec]
      lo = std::clamp(lo, 1L, prec);
      hi = std::clamp(hi, lo, prec);
      return static_cast<mp_bitcnt_t>(
          lo + static_cast<long>(gmp_urandomm_ui(state, static_cast<unsigned long>(hi - lo + 1))));
    };
    for (int i = 0; i < rounds; ++i) {
      const int sa = i % 2 ? 1 : -1, sb = (i / 2) % 2 ? 1 : -1;
      const long ea = static_cast<long>(gmp_urandomm_ui(state, 2001)) - 1000;
      const long eb = static_cast<long>(gmp_urandomm_ui(state, 2001)) - 1000;
      BigInt ma, mb;
      if (i % 3 == 0) {  // any lengths
        ma = odd_int(state, length(1, prec), sa);
        mb = odd_int(state, length(1, prec), sb);
      } else if (i % 3 == 1) {  // the exact product has prec + 1 or prec + 2 bits
        const mp_bitcnt_t la = length(1, prec);
        ma = odd_int(state, la, sa);
        mb = odd_int(state, length(prec + 1 - static_cast<long>(la) + (i / 3) % 2, prec), sb);
      } else {  // a = b c exactly
        mb = odd_int(state, length(1, prec / 2), sb);
        const BigInt c = odd_int(state, length(1, prec - static_cast<long>(mpz_sizeinbase(raw(mb), 2))), sa);
        ma = mb * c;
      }
      const Real a = real_of(state, ma, ea, prec), b = real_of(state, mb, eb, prec);
      Real ours = make_real(static_cast<std::uint64_t>(prec)),
           theirs = make_real(static_cast<std::uint64_t>(prec));
      multiply_nearest(ours, a, b);
      mpfr_mul(raw(theirs), raw(a), raw(b), MPFR_RNDN);
      ASSERT_TRUE(mpfr_equal_p(raw(ours), raw(theirs))) << "product at " << prec << " bits, round " << i;
      ties += mpz_sizeinbase(raw(BigInt(ma * mb)), 2) == static_cast<std::size_t>(prec) + 1;  // odd: a tie
      divide_nearest(ours, a, b);
      exact_quotients += mpfr_div(raw(theirs), raw(a), raw(b), MPFR_RNDN) == 0;
      ASSERT_TRUE(mpfr_equal_p(raw(ours), raw(theirs))) << "quotient at " << prec << " bits, round " << i;
    }
  }
  // The rounds above did meet the cases they were made for.
  EXPECT_GE(ties, 15);
  EXPECT_GE(exact_quotients, 150);
  gmp_randclear(state);
}

// Zero, infinities, NaN and operands wider than the result are refused.
TEST(CorrectlyRounded, RefusesWhatItDoesNotRound) {
  Real out = make_real(64), one = make_real(64), zero = make_real(64), wide = make_real(65),
       inf = make_real(64);
  mpfr_set_ui(raw(one), 1, MPFR_RNDN);
  mpfr_set_ui(raw(wide), 3, MPFR_RNDN);
  mpfr_set_inf(raw(inf), 1);
  EXPECT_THROW(divide_nearest(out, one, zero), std::invalid_argument);
  EXPECT_THROW(multiply_nearest(out, zero, one), std::invalid_argument);
  EXPECT_THROW(divide_nearest(out, inf, one), std::invalid_argument);
  EXPECT_THROW(multiply_nearest(out, one, wide), std::invalid_argument);
  divide_nearest(out, one, one);
  EXPECT_EQ(mpfr_cmp_ui(raw(out), 1), 0);
}

// Big blocks mapped apart (map_big_blocks_apart): every way GMP asks for memory, across the size where blocks
// leave malloc, gives the same integers, and every mapping made is unmapped once its integer goes.
TEST(MappedBlocks, IntegersAcrossTheSizeAreKeptAndEveryMappingIsUnmapped) {
  gmp_randstate_t state;
  gmp_randinit_default(state);
  gmp_randseed_ui(state, 20261205);
  const BigInt small = random_int(state, 2048, true, 1);  // 16 KB: malloc's
  map_big_blocks_apart();
  const std::size_t mapped_at_start = mapped_blocks_now(), ever_at_start = mapped_blocks_ever();
  const std::size_t big_limbs = kMappedBlockBytes / sizeof(mp_limb_t);
  const mp_bitcnt_t big_bits = big_limbs * GMP_NUMB_BITS;
  {
    // Allocated big: a product of 20 MB, checked against its factors modulo a prime.
    const BigInt a = random_int(state, big_limbs / 2 + 1000, true, 1);
    const BigInt b = random_int(state, big_limbs / 2 + 1000, true, -1);
    BigInt p;
    mpz_mul(raw(p), raw(a), raw(b));
    EXPECT_GE(mpz_size(raw(p)) * sizeof(mp_limb_t), kMappedBlockBytes);
    EXPECT_GT(mapped_blocks_ever(), ever_at_start);
    const unsigned long m = 4294967291UL;  // a prime
    const unsigned long expected = (mpz_fdiv_ui(raw(a), m) * mpz_fdiv_ui(raw(b), m)) % m;
    EXPECT_EQ(mpz_fdiv_ui(raw(p), m), expected);

    // Grown from malloc's block into a mapping, then within mappings, then shrunk back: the bits stay.
    BigInt grown = small;
    mpz_mul_2exp(raw(grown), raw(grown), big_bits);  // small -> mapped
    const BigInt& expect_low = small;
    EXPECT_EQ(mpz_scan1(raw(grown), 0), mpz_scan1(raw(small), 0) + big_bits);
    mpz_realloc2(raw(grown), 2 * big_bits + 4096 * GMP_NUMB_BITS);  // mapped -> larger mapping (mremap)
    mpz_tdiv_q_2exp(raw(grown), raw(grown), big_bits);
    EXPECT_EQ(grown, expect_low);
    mpz_realloc2(raw(grown), 4096 * GMP_NUMB_BITS);  // mapped -> malloc
    EXPECT_EQ(grown, expect_low);
    EXPECT_GT(mapped_blocks_now(), mapped_at_start);  // p (and a, b) still here
  }
  EXPECT_EQ(mapped_blocks_now(), mapped_at_start) << "a mapping outlived its integer";
  gmp_randclear(state);
}

}  // namespace
}  // namespace pi
