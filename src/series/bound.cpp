#include "series/bound.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace pi {
namespace {
constexpr mpfr_prec_t kBoundBits = 64;
}

UpperBound::UpperBound() : value_(make_real(kBoundBits)) {}

UpperBound::UpperBound(double value) : UpperBound() { mpfr_set_d(raw(value_), std::fabs(value), MPFR_RNDU); }

UpperBound UpperBound::from_real(const Real& x) {
  UpperBound b;
  mpfr_abs(raw(b.value_), raw(x), MPFR_RNDU);
  return b;
}

UpperBound UpperBound::power(const UpperBound& base, std::uint64_t exponent) {
  UpperBound b;
  mpfr_pow_ui(raw(b.value_), raw(base.value_), exponent, MPFR_RNDU);
  return b;
}

UpperBound UpperBound::pow2(std::int64_t exponent) {
  UpperBound b;
  mpfr_set_ui_2exp(raw(b.value_), 1, static_cast<mpfr_exp_t>(exponent), MPFR_RNDU);
  return b;
}

UpperBound& UpperBound::operator+=(const UpperBound& other) {
  mpfr_add(raw(value_), raw(value_), raw(other.value_), MPFR_RNDU);
  return *this;
}

UpperBound& UpperBound::operator*=(const UpperBound& other) {
  mpfr_mul(raw(value_), raw(value_), raw(other.value_), MPFR_RNDU);
  return *this;
}

UpperBound& UpperBound::operator/=(double divisor_lower_bound) {
  mpfr_div_d(raw(value_), raw(value_), divisor_lower_bound, MPFR_RNDU);
  return *this;
}

bool UpperBound::is_zero() const { return mpfr_zero_p(raw(value_)) != 0; }

double UpperBound::log10() const {
  if (is_zero()) return -std::numeric_limits<double>::infinity();
  Real l = make_real(kBoundBits);
  mpfr_log10(raw(l), raw(value_), MPFR_RNDU);
  return mpfr_get_d(raw(l), MPFR_RNDU);
}

std::string UpperBound::to_string(int significant) const {
  if (is_zero()) return "0";
  // mpfr_get_str with RNDU gives a mantissa that is never below the bound.
  mpfr_exp_t exp10 = 0;
  char* s = mpfr_get_str(nullptr, &exp10, 10, static_cast<size_t>(significant), raw(value_), MPFR_RNDU);
  std::string digits(s);
  mpfr_free_str(s);
  std::string out;
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  out += 'e';
  out += std::to_string(static_cast<long long>(exp10) - 1);
  return out;
}

}  // namespace pi
