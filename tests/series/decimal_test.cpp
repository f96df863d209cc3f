#include <gtest/gtest.h>

#include "series/decimal.hpp"

namespace pi {
namespace {

Real real_of(const char* s) {
  Real x = make_real(200);
  mpfr_set_str(raw(x), s, 10, MPFR_RNDN);
  return x;
}

TEST(Decimal, CertifiesDigitsWhenTheEnclosureFitsInOneCell) {
  EXPECT_EQ(certified_digits(real_of("3.14159"), UpperBound(1e-9), 4), "3.1415");
  EXPECT_EQ(truncated_decimal(real_of("0.00125"), 6), "0.001250");
}

TEST(Decimal, RefusesDigitsWhenTheEnclosureStraddlesABoundary) {
  // 0.19999999 +- 1e-7 reaches 0.2: the first decimal could be 1 or 2.
  EXPECT_FALSE(certified_digits(real_of("0.19999999"), UpperBound(1e-7), 1).has_value());
  EXPECT_EQ(certified_digits(real_of("0.19999999"), UpperBound(1e-9), 1), "0.1");
}

TEST(Decimal, CorrectDigitsCountsWhatTheBoundGuarantees) {
  EXPECT_EQ(correct_digits(real_of("3.14159265"), UpperBound(1e-6), 60), 5u);
  EXPECT_EQ(correct_digits(real_of("3.1999999"), UpperBound(1e-6), 60), 0u);
}

}  // namespace
}  // namespace pi
