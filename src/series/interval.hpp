// Closed intervals of reals with outward rounding, for the enclosures behind every published error bound.
#pragma once

#include <boost/multiprecision/gmp.hpp>

#include "series/bigint.hpp"
#include "series/bound.hpp"

namespace pi {

using Rational = boost::multiprecision::mpq_rational;

struct Interval {
  Real lo;
  Real hi;
};

Interval make_interval(std::uint64_t bits);
// [x, x] rounded outward to `bits`.
Interval interval_of(const Rational& x, std::uint64_t bits);
Interval interval_of(const BigInt& numerator, long exp2, std::uint64_t bits);  // numerator * 2^exp2
Interval operator+(const Interval& a, const Interval& b);
Interval widen(const Interval& x, const UpperBound& radius);
Interval scale_shift(const Interval& x, long factor, long offset);  // factor * x + offset, factor > 0

// The midpoint as the estimate, and the largest distance to an end as its (rigorous) error bound.
struct Midpoint {
  Real value;
  UpperBound radius;
};
Midpoint midpoint(const Interval& x);

}  // namespace pi
