#include "series/interval.hpp"

namespace pi {

Interval make_interval(std::uint64_t bits) { return Interval{make_real(bits), make_real(bits)}; }

Interval interval_of(const Rational& x, std::uint64_t bits) {
  Interval r = make_interval(bits);
  mpfr_set_q(raw(r.lo), x.backend().data(), MPFR_RNDD);
  mpfr_set_q(raw(r.hi), x.backend().data(), MPFR_RNDU);
  return r;
}

Interval interval_of(const BigInt& numerator, long exp2, std::uint64_t bits) {
  Interval r = make_interval(bits);
  mpfr_set_z_2exp(raw(r.lo), raw(numerator), exp2, MPFR_RNDD);
  mpfr_set_z_2exp(raw(r.hi), raw(numerator), exp2, MPFR_RNDU);
  return r;
}

Interval operator+(const Interval& a, const Interval& b) {
  Interval r = make_interval(static_cast<std::uint64_t>(mpfr_get_prec(raw(a.lo))));
  mpfr_add(raw(r.lo), raw(a.lo), raw(b.lo), MPFR_RNDD);
  mpfr_add(raw(r.hi), raw(a.hi), raw(b.hi), MPFR_RNDU);
  return r;
}

Interval widen(const Interval& x, const UpperBound& radius) {
  Interval r = make_interval(static_cast<std::uint64_t>(mpfr_get_prec(raw(x.lo))));
  mpfr_sub(raw(r.lo), raw(x.lo), raw(radius.value()), MPFR_RNDD);
  mpfr_add(raw(r.hi), raw(x.hi), raw(radius.value()), MPFR_RNDU);
  return r;
}

Interval scale_shift(const Interval& x, long factor, long offset) {
  Interval r = make_interval(static_cast<std::uint64_t>(mpfr_get_prec(raw(x.lo))));
  mpfr_mul_si(raw(r.lo), raw(x.lo), factor, MPFR_RNDD);
  mpfr_add_si(raw(r.lo), raw(r.lo), offset, MPFR_RNDD);
  mpfr_mul_si(raw(r.hi), raw(x.hi), factor, MPFR_RNDU);
  mpfr_add_si(raw(r.hi), raw(r.hi), offset, MPFR_RNDU);
  return r;
}

Midpoint midpoint(const Interval& x) {
  Midpoint m{make_real(static_cast<std::uint64_t>(mpfr_get_prec(raw(x.lo)))), UpperBound()};
  mpfr_add(raw(m.value), raw(x.lo), raw(x.hi), MPFR_RNDN);
  mpfr_div_2ui(raw(m.value), raw(m.value), 1, MPFR_RNDN);
  Real below = make_real(64), above = make_real(64);
  mpfr_sub(raw(below), raw(m.value), raw(x.lo), MPFR_RNDU);
  mpfr_sub(raw(above), raw(x.hi), raw(m.value), MPFR_RNDU);
  m.radius = UpperBound::from_real(mpfr_cmp(raw(below), raw(above)) > 0 ? below : above);
  return m;
}

}  // namespace pi
