#include "series/bigint.hpp"

#include <malloc.h>

#include <cmath>

namespace pi {

Real make_real(std::uint64_t bits) {
  Real x;
  mpfr_set_prec(raw(x), static_cast<mpfr_prec_t>(bits < MPFR_PREC_MIN ? MPFR_PREC_MIN : bits));
  mpfr_set_zero(raw(x), 1);
  return x;
}

std::uint64_t bits_for_digits(std::uint64_t digits) {
  return static_cast<std::uint64_t>(std::ceil(static_cast<double>(digits) * 3.3219280948873623)) + 1;
}

void widen_exponent_range() {
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}

void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace pi
