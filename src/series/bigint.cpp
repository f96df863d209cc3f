#include "series/bigint.hpp"

#include <flint/fft.h>
#include <malloc.h>

#include <algorithm>
#include <cmath>

namespace pi {

Real make_real(std::uint64_t bits) {
  Real x;
  mpfr_set_prec(raw(x), static_cast<mpfr_prec_t>(bits < MPFR_PREC_MIN ? MPFR_PREC_MIN : bits));
  mpfr_set_zero(raw(x), 1);
  return x;
}

namespace {

// Whole zero limbs at the low end of x (none for zero).
std::size_t zero_limbs(mpz_srcptr x) {
  return mpz_sgn(x) == 0 ? 0 : static_cast<std::size_t>(mpz_scan1(x, 0) / GMP_NUMB_BITS);
}

bool fft_sizes(std::size_t nx, std::size_t ny) {
  return ny >= kFftMinLimbs && nx >= kFftLargeLimbs && nx + ny <= kFftMaxLimbs;
}

}  // namespace

bool multiply(BigInt& out, const BigInt& a, const BigInt& b) {
  const std::size_t za = zero_limbs(raw(a)), zb = zero_limbs(raw(b));
  const std::size_t na = mpz_size(raw(a)) - za, nb = mpz_size(raw(b)) - zb;  // the limbs that are multiplied
  // The larger first, as flint_mpn_mul_fft_main and mpn_mul take them.
  const bool a_first = na >= nb;
  const mp_srcptr up = mpz_limbs_read(raw(a_first ? a : b)) + (a_first ? za : zb);
  const mp_srcptr vp = mpz_limbs_read(raw(a_first ? b : a)) + (a_first ? zb : za);
  const std::size_t un = a_first ? na : nb, vn = a_first ? nb : na;
  const bool fft = fft_sizes(un, vn);
  if (vn == 0 || (!fft && za + zb == 0)) {
    mpz_mul(raw(out), raw(a), raw(b));
    return false;
  }
  // The operands' zero limbs are left out and put back below the product. Into a fresh integer when out is
  // an operand: the product is written while both are read.
  BigInt fresh;
  const bool alias = &out == &a || &out == &b;
  BigInt& target = alias ? fresh : out;
  const std::size_t low = za + zb;
  const auto n = static_cast<mp_size_t>(low + un + vn);
  mp_ptr r = mpz_limbs_write(raw(target), n);
  std::fill(r, r + low, mp_limb_t{0});
  if (fft) {
    flint_mpn_mul_fft_main(r + low, up, static_cast<mp_size_t>(un), vp, static_cast<mp_size_t>(vn));
  } else if (&a == &b) {
    mpn_sqr(r + low, up, static_cast<mp_size_t>(un));
  } else {
    mpn_mul(r + low, up, static_cast<mp_size_t>(un), vp, static_cast<mp_size_t>(vn));
  }
  const mp_size_t used = r[n - 1] == 0 ? n - 1 : n;  // both operands are normalised: at most one zero limb
  mpz_limbs_finish(raw(target), mpz_sgn(raw(a)) == mpz_sgn(raw(b)) ? used : -used);
  if (alias) out.swap(fresh);
  return fft;
}

std::string flint_library_version() { return flint_version; }

std::uint64_t bits_for_digits(std::uint64_t digits) {
  return static_cast<std::uint64_t>(std::ceil(static_cast<double>(digits) * 3.3219280948873623)) + 1;
}

void widen_exponent_range() {
  mpfr_set_emin(mpfr_get_emin_min());
  mpfr_set_emax(mpfr_get_emax_max());
}

void keep_freed_memory() {
  // One arena for every thread: tasks run on threads of their own (run_interruptible), and each thread's
  // arena would keep its own free memory. Measured at 1e7 digits of Chudnovsky, one process: peak 175 MB ->
  // 121 MB, 7.00 s -> 6.77 s; with --threads 2, 4.18-4.48 s -> 4.34 s.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void return_freed_memory() { malloc_trim(0); }

void return_freed_memory_after(double seconds) {
  constexpr double kLongTaskSeconds = 1.0;
  if (seconds >= kLongTaskSeconds) return_freed_memory();
}

}  // namespace pi
