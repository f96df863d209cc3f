// Independent references for the tests: pi from MPFR's AGM (mpfr_const_pi), which shares no code with src/.
#pragma once

#include <mpfr.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace pi::test {

// "3." and the first `digits` decimals of pi, truncated.
inline std::string mpfr_pi_digits(std::uint64_t digits) {
  mpfr_t x;
  mpfr_init2(x, static_cast<mpfr_prec_t>(static_cast<double>(digits) * 3.33) + 128);
  mpfr_const_pi(x, MPFR_RNDN);
  mpz_t power, z;
  mpz_inits(power, z, nullptr);
  mpz_ui_pow_ui(power, 10, digits);
  mpfr_mul_z(x, x, power, MPFR_RNDN);
  mpfr_get_z(z, x, MPFR_RNDD);
  char* s = mpz_get_str(nullptr, 10, z);
  std::string out = std::string("3.") + (s + 1);
  void (*free_fn)(void*, size_t);
  mp_get_memory_functions(nullptr, nullptr, &free_fn);
  free_fn(s, std::char_traits<char>::length(s) + 1);
  mpz_clears(power, z, nullptr);
  mpfr_clear(x);
  return out;
}

// |a - pi| as a double, from MPFR's pi at 4096 bits.
inline double distance_to_pi(mpfr_srcptr a) {
  mpfr_t p, d;
  mpfr_init2(p, 4096);
  mpfr_init2(d, 4096);
  mpfr_const_pi(p, MPFR_RNDN);
  mpfr_sub(d, a, p, MPFR_RNDN);
  const double out = std::abs(mpfr_get_d(d, MPFR_RNDU));
  mpfr_clears(p, d, nullptr);
  return out;
}

}  // namespace pi::test
