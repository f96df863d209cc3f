// Rigorous upper bounds on magnitudes: a small MPFR number whose every operation rounds upward, so that a
// chain of operations never understates the error it describes.
#pragma once

#include <cstdint>
#include <string>

#include "series/bigint.hpp"

namespace pi {

class UpperBound {
 public:
  UpperBound();  // zero
  explicit UpperBound(double value);
  static UpperBound from_real(const Real& x);  // |x|, rounded up
  static UpperBound power(const UpperBound& base, std::uint64_t exponent);
  static UpperBound pow2(std::int64_t exponent);

  UpperBound& operator+=(const UpperBound& other);
  UpperBound& operator*=(const UpperBound& other);
  UpperBound& operator/=(
      double divisor_lower_bound);  // divides by a positive number known to be <= the true one
  friend UpperBound operator+(UpperBound a, const UpperBound& b) { return a += b; }
  friend UpperBound operator*(UpperBound a, const UpperBound& b) { return a *= b; }

  bool is_zero() const;
  // log10 of the bound (rounded up); -inf for zero.
  double log10() const;
  // Scientific notation, the mantissa rounded up: "2.5e-1000017".
  std::string to_string(int significant = 3) const;
  const Real& value() const { return value_; }

 private:
  Real value_;
};

}  // namespace pi
