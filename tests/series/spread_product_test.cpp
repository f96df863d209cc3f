#include "series/spread_product.hpp"

#include <gtest/gtest.h>

#include <gmp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace pi {
namespace {

BigInt random_bits(gmp_randstate_t state, mp_bitcnt_t bits, int sign) {
  BigInt x;
  mpz_urandomb(raw(x), state, bits);
  mpz_setbit(raw(x), bits - 1);
  if (sign < 0) mpz_neg(raw(x), raw(x));
  return x;
}

// All ones: every coefficient of the convolution at its largest, where a ring too small would wrap.
BigInt all_ones(mp_bitcnt_t bits) {
  BigInt x;
  mpz_setbit(raw(x), bits);
  mpz_sub_ui(raw(x), raw(x), 1);
  return x;
}

BigInt gmp_product(const BigInt& a, const BigInt& b) {
  BigInt p;
  mpz_mul(raw(p), raw(a), raw(b));
  return p;
}

// Balanced and not, odd sizes, both signs, in 1 to 8 parts: the integer mpz_mul gives.
TEST(SpreadProduct, EqualsGmpForEverySplit) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 20261205);
  const std::vector<std::pair<mp_bitcnt_t, mp_bitcnt_t>> sizes = {
      {64, 64}, {1000, 77}, {12345, 12345}, {100003, 99991}, {300000, 7001}, {2000017, 1999993}};
  for (const auto& [abits, bbits] : sizes) {
    for (const std::uint32_t parts : {1U, 2U, 4U, 8U}) {
      for (const int sign : {1, -1}) {
        const BigInt a = random_bits(state, abits, sign), b = random_bits(state, bbits, 1);
        BigInt p;
        multiply_spread(p, a, b, parts);
        EXPECT_EQ(p, gmp_product(a, b)) << abits << " x " << bbits << " bits in " << parts << " parts";
      }
    }
  }
  gmp_randclear(state);
}

TEST(SpreadProduct, LargestCoefficientsDoNotWrap) {
  for (const mp_bitcnt_t bits : {640UL, 64000UL, 1048576UL}) {
    const BigInt a = all_ones(bits);
    BigInt p;
    multiply_spread(p, a, a, 4);
    EXPECT_EQ(p, gmp_product(a, a)) << bits << " bits";
  }
}

TEST(SpreadProduct, ZeroAndOne) {
  BigInt p, zero, one(1), big = all_ones(100000);
  multiply_spread(p, zero, big, 2);
  EXPECT_EQ(p, zero);
  multiply_spread(p, one, big, 2);
  EXPECT_EQ(p, big);
}

// The plan: the convolution fits the transform, the ring holds its coefficients, and the root exists.
TEST(SpreadProduct, PlanHoldsTheConvolution) {
  for (const std::uint64_t limbs : {1ULL, 100ULL, 6500000ULL}) {
    for (const std::uint32_t parts : {1U, 16U, 64U}) {
      const SpreadPlan plan = SpreadPlan::choose(limbs, limbs / 2 + 1, parts);
      const std::uint64_t pieces_a = (plan.a_limbs + plan.piece_limbs - 1) / plan.piece_limbs;
      const std::uint64_t pieces_b = (plan.b_limbs + plan.piece_limbs - 1) / plan.piece_limbs;
      EXPECT_LE(pieces_a + pieces_b - 1, plan.length());
      EXPECT_GE(plan.ring_limbs, 2 * plan.piece_limbs + 1);
      EXPECT_EQ(2 * plan.ring_limbs * GMP_NUMB_BITS % plan.length(), 0U);
      EXPECT_GE(plan.rows(), parts);
      EXPECT_GE(plan.cols(), parts);
    }
  }
  EXPECT_THROW(SpreadPlan::choose(10, 10, 3), std::invalid_argument);
  EXPECT_THROW(SpreadPlan::choose(0, 10, 2), std::invalid_argument);
}

// The product modulo 2^N + 1 at every ring size the plan gives, for operands from 64 Kbit to 4 Gbit: the
// residue of mpz_mul's (FLINT's product needs N/64 to be a multiple of a large enough power of two).
TEST(SpreadProduct, PointProductsAtEveryPlannedRing) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 11);
  std::vector<std::uint64_t> rings;
  for (std::uint64_t limbs = 1000; limbs <= 64000000; limbs = limbs * 5 / 4 + 1)
    for (const std::uint32_t parts : {1U, 8U, 64U})
      rings.push_back(SpreadPlan::choose(limbs, limbs, parts).ring_limbs);
  std::sort(rings.begin(), rings.end());
  rings.erase(std::unique(rings.begin(), rings.end()), rings.end());
  ASSERT_GE(rings.back(), 512U) << "no ring of FLINT's sizes was tried";
  for (const std::uint64_t limbs : rings) {
    const mp_bitcnt_t n_bits = limbs * GMP_NUMB_BITS;
    BigInt modulus;
    mpz_setbit(raw(modulus), n_bits);
    mpz_add_ui(raw(modulus), raw(modulus), 1);
    std::vector<mp_limb_t> x(limbs + 1), y(limbs + 1), scratch(3 * limbs + 3);
    for (int trial = 0; trial < 3; ++trial) {
      BigInt a, b, want, got;
      mpz_urandomb(raw(a), state, n_bits);
      mpz_urandomb(raw(b), state, n_bits);
      if (trial == 2) mpz_sub_ui(raw(b), raw(modulus), 1);  // 2^N, which is -1
      std::fill(x.begin(), x.end(), 0);
      std::fill(y.begin(), y.end(), 0);
      mpz_export(x.data(), nullptr, -1, sizeof(mp_limb_t), 0, 0, raw(a));
      mpz_export(y.data(), nullptr, -1, sizeof(mp_limb_t), 0, 0, raw(b));
      multiply_mod_fermat(x.data(), y.data(), limbs, scratch.data());
      mpz_import(raw(got), limbs + 1, -1, sizeof(mp_limb_t), 0, 0, x.data());
      mpz_mul(raw(want), raw(a), raw(b));
      mpz_mod(raw(want), raw(want), raw(modulus));
      EXPECT_EQ(got, want) << "ring of " << limbs << " limbs, trial " << trial;
    }
  }
  gmp_randclear(state);
}

// A damaged point in one part's output changes the product: the phases do not mask their inputs (a job
// finds the damage by the product's fingerprint).
TEST(SpreadProduct, APartsDamagedOutputShowsInTheProduct) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 7);
  const BigInt a = random_bits(state, 50000, 1), b = random_bits(state, 40000, 1);
  gmp_randclear(state);
  BigInt p;
  int damaged = 0;
  SpreadObserver damage;
  damage.after_columns = [&damaged](std::vector<SpreadColumns>& columns) {
    columns.at(1).a.limbs.at(3) ^= 1;
    ++damaged;
  };
  EXPECT_ANY_THROW({
    multiply_spread(p, a, b, 2, damage);
    if (p != gmp_product(a, b)) throw std::runtime_error("differs");
  });
  EXPECT_EQ(damaged, 1);
  multiply_spread(p, a, b, 2);
  EXPECT_EQ(p, gmp_product(a, b));
}

// The observer sees every part of every phase once, timed, with the bytes a part reads from the others.
TEST(SpreadProduct, ObserverSeesEveryPart) {
  const BigInt a = all_ones(200000), b = all_ones(150000);
  std::vector<int> parts_seen(4, 0);
  std::vector<double> bytes(4, 0);
  SpreadObserver count;
  count.part_done = [&](int phase, double seconds, double read) {
    EXPECT_GT(seconds, 0) << "phase " << phase;
    ++parts_seen.at(static_cast<std::size_t>(phase));
    bytes.at(static_cast<std::size_t>(phase)) += read;
  };
  BigInt p;
  multiply_spread(p, a, b, 4, count);
  EXPECT_EQ(p, gmp_product(a, b));
  EXPECT_EQ(parts_seen, (std::vector<int>{4, 4, 4, 1}));
  // Phase 1 reads the operands once in all (their limbs padded to whole pieces).
  EXPECT_GE(bytes[0], static_cast<double>((mpz_size(raw(a)) + mpz_size(raw(b))) * sizeof(mp_limb_t)));
  for (const double b_read : bytes) EXPECT_GT(b_read, 0);
}

// The phases as a job runs them (each part's output the values of a piece, read in part by the next
// phase's parts), with the runs read in place by the assembly: the integer mpz_mul gives.
TEST(SpreadProduct, PhasesAsPiecesGiveTheProduct) {
  gmp_randstate_t state;
  gmp_randinit_mt(state);
  gmp_randseed_ui(state, 20261206);
  for (const std::uint32_t parts : {1U, 2U, 4U, 8U}) {
    const BigInt a = random_bits(state, 700001, -1), b = random_bits(state, 333333, 1);
    BigInt ma, mb;
    mpz_abs(raw(ma), raw(a));
    mpz_abs(raw(mb), raw(b));
    const SpreadPlan plan = SpreadPlan::choose(mpz_size(raw(a)), mpz_size(raw(b)), parts);
    std::vector<std::vector<BigInt>> columns, rows, runs;
    for (std::uint32_t j = 0; j < parts; ++j) columns.push_back(spread_columns_part(plan, j, raw(a), raw(b)));
    const auto pointers = [](const std::vector<std::vector<BigInt>>& v) {
      std::vector<const std::vector<BigInt>*> p;
      p.reserve(v.size());
      for (const auto& x : v) p.push_back(&x);
      return p;
    };
    for (std::uint32_t i = 0; i < parts; ++i) rows.push_back(spread_rows_part(plan, i, pointers(columns)));
    for (std::uint32_t j = 0; j < parts; ++j) runs.push_back(spread_inverse_part(plan, j, pointers(rows)));
    EXPECT_EQ(columns.front().size(), 2 * plan.rows());
    EXPECT_EQ(rows.front().size(), parts);
    EXPECT_EQ(runs.front().size(), plan.rows());
    BigInt p;
    assemble_spread(p, plan, pointers(runs));
    EXPECT_EQ(p, gmp_product(ma, mb)) << parts << " parts";
  }
  gmp_randclear(state);
}

}  // namespace
}  // namespace pi
