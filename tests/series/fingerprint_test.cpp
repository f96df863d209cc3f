#include "series/fingerprint.hpp"

#include <gtest/gtest.h>

#include <random>

#include "series/series.hpp"

namespace pi {
namespace {

const std::vector<std::uint64_t>& test_primes() {
  static const std::vector<std::uint64_t> primes = primes_from_seed(2, 20261202);
  return primes;
}

TEST(Montgomery, MultipliesLikeWideArithmetic) {
  std::mt19937_64 rng(7);
  for (std::uint64_t m : test_primes()) {
    const Montgomery mont(m);
    EXPECT_EQ(mont.modulus() * mont.inverse(), 1u);
    for (int i = 0; i < 1000; ++i) {
      const std::uint64_t a = rng() % m, b = rng() % m;
      const auto want = static_cast<std::uint64_t>(static_cast<Uint128>(a) * b % m);
      EXPECT_EQ(mont.from(mont.mul(mont.to(a), mont.to(b))), want);
      EXPECT_EQ(mont.from(mont.add(mont.to(a), mont.to(b))), (a + b) % m);
      EXPECT_EQ(mont.from(mont.sub(mont.to(a), mont.to(b))), (a + m - b) % m);
    }
    BigInt two_e;
    for (std::uint64_t e : {0u, 1u, 63u, 64u, 65u, 1000u, 123457u}) {
      mpz_ui_pow_ui(raw(two_e), 2, e);
      EXPECT_EQ(mont.from(mont.pow2(e)), residue_of(two_e, m)) << "2^" << e;
    }
  }
}

TEST(Primes, AreDistinctPrimesOf62Bits) {
  const auto primes = draw_primes(3);
  ASSERT_EQ(primes.size(), 3u);
  for (std::uint64_t p : primes) {
    EXPECT_GE(p, std::uint64_t{1} << 61);
    EXPECT_LT(p, std::uint64_t{1} << 62);
    BigInt x = p;
    EXPECT_GT(mpz_probab_prime_p(raw(x), 30), 0) << p;
  }
  EXPECT_NE(primes[0], primes[1]);
  EXPECT_NE(primes[1], primes[2]);
  EXPECT_NE(draw_primes(2), draw_primes(2));  // drawn afresh: a clash has probability about 2^-56
}

TEST(Residues, OfNegativeIntegersAndDecimalStrings) {
  const std::uint64_t p = test_primes()[0];
  BigInt x("-123456789012345678901234567890123456789");
  BigInt want;
  mpz_fdiv_r_ui(raw(want), raw(x), p);
  EXPECT_EQ(residue_of(x, p), want.convert_to<std::uint64_t>());
  const std::string digits = "000314159265358979323846264338327950288419716939937510582097494459230781640628";
  BigInt from_text(digits.substr(3));
  EXPECT_EQ(decimal_residue(digits, p), residue_of(from_text, p));
  EXPECT_EQ(decimal_residue("", p), 0u);
  EXPECT_THROW(decimal_residue("12a4", p), std::invalid_argument);
}

struct RangeCase {
  std::uint64_t begin, end;
};

class Fingerprints : public ::testing::TestWithParam<std::string> {};

// The residues predicted from the term formulas are those of the integers the series computes, for every
// kind of range: empty, one term, starting at 0 or not, ending the job or not.
TEST_P(Fingerprints, PredictTheResiduesOfEvaluate) {
  const auto series = make_series(GetParam());
  ASSERT_TRUE(series->fingerprinted());
  for (const RangeCase r :
       {RangeCase{0, 0}, RangeCase{0, 1}, RangeCase{0, 2}, RangeCase{5, 6}, RangeCase{7, 9}, RangeCase{0, 64},
        RangeCase{64, 128}, RangeCase{1000, 1777}, RangeCase{3, 4000}}) {
    for (bool suffix : {false, true}) {
      const Range range{r.begin, r.end};
      const PartialResult exact = series->evaluate(range, suffix);
      EXPECT_EQ(series->fingerprint(range, suffix, test_primes()), residues_of(exact.values, test_primes()))
          << GetParam() << " [" << r.begin << ", " << r.end << ") suffix " << suffix;
    }
  }
}

// A merge's residues follow from its operands' (a suffix on the right included), and one flipped bit in
// any value of a piece changes its residues.
TEST_P(Fingerprints, CombineAndCatchAFlippedBit) {
  const auto series = make_series(GetParam());
  const auto& primes = test_primes();
  for (bool suffix : {false, true}) {
    const PartialResult left = series->evaluate(Range{100, 612}, false);
    const PartialResult right = series->evaluate(Range{612, 1124}, suffix);
    const PartialResult merged = series->combine(left, right);
    const Residues predicted =
        series->combine_fingerprints(series->fingerprint(left.range, false, primes),
                                     series->fingerprint(right.range, suffix, primes), primes);
    EXPECT_EQ(predicted, residues_of(merged.values, primes));
    EXPECT_EQ(predicted, series->fingerprint(Range{100, 1124}, suffix, primes));
    for (std::size_t v = 0; v < merged.values.size(); ++v) {
      if (merged.values[v] == 0) continue;
      PartialResult damaged = merged;
      mpz_combit(raw(damaged.values[v]), mpz_sizeinbase(raw(damaged.values[v]), 2) / 2);
      EXPECT_EQ(first_mismatch(residues_of(damaged.values, primes), predicted, primes.size()),
                static_cast<int>(v));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(FastSeries, Fingerprints, ::testing::Values("chudnovsky", "ramanujan", "machin"));

TEST(Fingerprints, SlowSeriesHaveNone) {
  const auto series = make_series("leibniz");
  EXPECT_FALSE(series->fingerprinted());
  EXPECT_THROW(series->fingerprint(Range{0, 10}, false, test_primes()), SeriesError);
}

}  // namespace
}  // namespace pi
