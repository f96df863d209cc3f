#include <gtest/gtest.h>

#include <cmath>

#include "../support/reference.hpp"
#include "series/series.hpp"
#include "series/slow_kernels.hpp"

namespace pi {
namespace {

class SlowSeriesTest : public ::testing::TestWithParam<std::string> {};

// Every published bound, plain and accelerated, contains pi, at many prefix lengths, odd and even.
TEST_P(SlowSeriesTest, EveryErrorBoundBoundsTheError) {
  const auto s = make_series(GetParam());
  for (std::uint64_t n : {1ull, 2ull, 3ull, 17ull, 1000ull, 12345ull, 1000001ull, 33554433ull}) {
    const PrefixEstimates e = s->estimate(s->evaluate({0, n}, true), 0);
    for (const Estimate* est : {&e.partial_sum, &*e.accelerated}) {
      const double dist = test::distance_to_pi(raw(est->value));
      const double bound = std::pow(10.0, est->error_bound.log10());
      EXPECT_LE(dist, bound) << GetParam() << " n=" << n << " " << est->method;
    }
  }
}

// The bounds are not vacuous: the partial sum's bound shrinks like the series, and the accelerated one is
// never worse and reaches near double precision.
TEST_P(SlowSeriesTest, BoundsAreTight) {
  const auto s = make_series(GetParam());
  const PrefixEstimates e = s->estimate(s->evaluate({0, 1000000}, true), 0);
  EXPECT_LT(e.partial_sum.error_bound.log10(), -5.9);
  EXPECT_LE(e.accelerated->error_bound.log10(), e.partial_sum.error_bound.log10() + 1e-9);
  EXPECT_LT(e.accelerated->error_bound.log10(), -13.0);
}

// Combining partial results is exact integer addition, so associative; a different split of the same prefix
// rounds differently, but never by more than the published bound allows (hence the fixed range grid).
TEST_P(SlowSeriesTest, CombineIsExactAndOtherSplitsStayWithinTheBound) {
  const auto s = make_series(GetParam());
  const PartialResult x = s->evaluate({0, 1000}, false), y = s->evaluate({1000, 1017}, false),
                      z = s->evaluate({1017, 100003}, true);
  EXPECT_EQ(s->combine(s->combine(x, y), z), s->combine(x, s->combine(y, z)));
  EXPECT_EQ(s->evaluate({0, 100003}, true), s->evaluate({0, 100003}, true));

  const PartialResult whole = s->evaluate({0, 100003}, true);
  const Estimate reference = s->estimate(whole, 0).partial_sum;
  for (std::uint64_t cut : {1ull, 15ull, 16ull, 17ull, 50000ull, 100002ull}) {
    const PartialResult split = s->combine(s->evaluate({0, cut}, false), s->evaluate({cut, 100003}, true));
    BigInt diff = split.values.at(0) - whole.values.at(0);
    mpfr_t d;
    mpfr_init2(d, 64);
    mpfr_set_z_2exp(d, raw(diff), -kFixedPointBits, MPFR_RNDU);
    EXPECT_LE(std::abs(mpfr_get_d(d, MPFR_RNDU)), 1e-15) << cut;
    mpfr_clear(d);
  }
  EXPECT_LT(reference.error_bound.log10(), 0);
}

INSTANTIATE_TEST_SUITE_P(Series, SlowSeriesTest, ::testing::Values("leibniz", "basel", "nilakantha"));

// The vectorised compensated sum is far closer to the exact sum than plain summation.
TEST(SlowKernel, CompensatedSumBeatsNaiveAgainstExactSum) {
  const Range r{0, 2000000};
  mpfr_t exact, term, fixed;
  mpfr_inits2(512, exact, term, fixed, nullptr);
  mpfr_set_zero(exact, 1);
  for (std::uint64_t k = r.begin; k < r.end; ++k) {
    mpfr_set_ui(term, 1, MPFR_RNDN);
    mpfr_div_ui(term, term, 2 * k + 1, MPFR_RNDN);
    if (k % 2) mpfr_neg(term, term, MPFR_RNDN);
    mpfr_add(exact, exact, term, MPFR_RNDN);
  }
  const BigInt sum = sum_range_fixed(SlowTerm::leibniz, r);
  mpfr_set_z_2exp(fixed, raw(sum), -kFixedPointBits, MPFR_RNDN);
  mpfr_sub(fixed, fixed, exact, MPFR_RNDN);
  const double compensated_err = std::abs(mpfr_get_d(fixed, MPFR_RNDN));
  const double naive_err = std::abs(sum_range_naive(SlowTerm::leibniz, r) - mpfr_get_d(exact, MPFR_RNDN));
  EXPECT_LT(compensated_err, 4e-16);
  EXPECT_LT(compensated_err, naive_err);
  mpfr_clears(exact, term, fixed, nullptr);
}

// The vector kernel does, lane by lane, exactly the IEEE operations of this scalar loop (lane l sums the
// terms k = begin + l, begin + l + 16, ... in order, with Kahan's compensation), whatever the vector width
// it was compiled for: the sums agree bit for bit, partial last rounds included.
TEST(SlowKernel, EqualsTheScalarLanesBitForBit) {
  auto term_value = [](SlowTerm t, std::uint64_t k) {
    const double sign = (t != SlowTerm::basel && k % 2 == 1) ? -1.0 : 1.0;
    switch (t) {
      case SlowTerm::leibniz:
        return sign / (2.0 * static_cast<double>(k) + 1.0);
      case SlowTerm::basel: {
        const double n = static_cast<double>(k) + 1.0;
        return 1.0 / (n * n);
      }
      case SlowTerm::nilakantha: {
        const double m = 2.0 * static_cast<double>(k) + 2.0;
        return sign / ((m * (m + 1.0)) * (m + 2.0));
      }
    }
    return 0.0;
  };
  for (SlowTerm t : {SlowTerm::leibniz, SlowTerm::basel, SlowTerm::nilakantha}) {
    for (Range r : {Range{0, 5}, Range{0, 16}, Range{7, 1000}, Range{1000003, 1250017},
                    Range{(std::uint64_t{1} << 40) + 3, (std::uint64_t{1} << 40) + 100000}}) {
      BigInt expected = 0;
      for (std::uint64_t lane = 0; lane < static_cast<std::uint64_t>(kLanes); ++lane) {
        double sum = 0.0, carry = 0.0;
        for (std::uint64_t k = r.begin + lane; k < r.end; k += kLanes) {
          const double y = term_value(t, k) - carry;
          const double next = sum + y;
          carry = (next - sum) - y;
          sum = next;
        }
        BigInt s_fixed, c_fixed;
        mpz_set_d(raw(s_fixed), std::ldexp(sum, kFixedPointBits));
        mpz_set_d(raw(c_fixed), std::ldexp(carry, kFixedPointBits));
        expected += s_fixed - c_fixed;
      }
      const BigInt got = sum_range_fixed(t, r);
      EXPECT_EQ(got, expected) << static_cast<int>(t) << " [" << r.begin << ", " << r.end << ")";
    }
  }
}

}  // namespace
}  // namespace pi
