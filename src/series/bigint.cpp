#include "series/bigint.hpp"

#include <flint/fft.h>
#include <malloc.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "series/newton_division.hpp"

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

bool multiply(BigInt& out, const BigInt& a, const BigInt& b) { return multiply(out, raw(a), raw(b)); }

bool multiply(BigInt& out, mpz_srcptr a, mpz_srcptr b) {
  const std::size_t za = zero_limbs(a), zb = zero_limbs(b);
  const std::size_t na = mpz_size(a) - za, nb = mpz_size(b) - zb;  // the limbs that are multiplied
  // The larger first, as flint_mpn_mul_fft_main and mpn_mul take them.
  const bool a_first = na >= nb;
  const mp_srcptr up = mpz_limbs_read(a_first ? a : b) + (a_first ? za : zb);
  const mp_srcptr vp = mpz_limbs_read(a_first ? b : a) + (a_first ? zb : za);
  const std::size_t un = a_first ? na : nb, vn = a_first ? nb : na;
  const bool fft = fft_sizes(un, vn);
  if (vn == 0 || (!fft && za + zb == 0)) {
    mpz_mul(raw(out), a, b);
    return false;
  }
  // The operands' zero limbs are left out and put back below the product. Into a fresh integer when out is
  // an operand: the product is written while both are read.
  BigInt fresh;
  const bool alias = raw(out) == a || raw(out) == b;
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
  mpz_limbs_finish(raw(target), mpz_sgn(a) == mpz_sgn(b) ? used : -used);
  if (alias) out.swap(fresh);
  return fft;
}

namespace {

// A regular real as an integer read in place (no copy: at 1e8 digits a significand is 41 MB): |x| =
// significand * 2^exponent, the significand all of x's limbs, its top bit set.
struct Significand {
  mpz_t view;
  mpfr_exp_t exponent;
  int sign;

  explicit Significand(const Real& x, mpfr_prec_t at_most) {
    if (!mpfr_regular_p(raw(x)) || mpfr_get_prec(raw(x)) > at_most)
      throw std::invalid_argument(
          "correctly rounded operation: an operand is not a regular real of at most " +
          std::to_string(at_most) + " bits");
    const auto limbs = static_cast<mp_size_t>((mpfr_get_prec(raw(x)) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS);
    mpz_roinit_n(view, static_cast<const mp_limb_t*>(mpfr_custom_get_significand(raw(x))), limbs);
    exponent = mpfr_get_exp(raw(x)) - static_cast<mpfr_exp_t>(limbs * GMP_NUMB_BITS);
    sign = mpfr_sgn(raw(x));
  }
};

// out = sign * m * 2^exponent rounded to nearest at out's precision, where m > 0 is exact below bit
// `exact_below` (no bits of m are missing, `inexact` false) or is the floor of a value that is not an
// integer (inexact true: m's value lies strictly between m and m + 1). Ties to even; a tie needs an exact m.
void round_into(Real& out, BigInt& m, mpfr_exp_t exponent, int sign, bool inexact) {
  const auto prec = static_cast<mp_bitcnt_t>(mpfr_get_prec(raw(out)));
  const mp_bitcnt_t length = mpz_sizeinbase(raw(m), 2);
  if (length > prec) {
    const mp_bitcnt_t cut = length - prec;
    const bool half = mpz_tstbit(raw(m), cut - 1) != 0;
    const bool below_half = inexact || mpz_scan1(raw(m), 0) < cut - 1;
    mpz_tdiv_q_2exp(raw(m), raw(m), cut);
    if (half && (below_half || mpz_odd_p(raw(m)))) mpz_add_ui(raw(m), raw(m), 1);  // 2^prec at most: exact
    exponent += static_cast<mpfr_exp_t>(cut);
  }
  if (sign < 0) mpz_neg(raw(m), raw(m));
  if (mpfr_set_z_2exp(raw(out), raw(m), exponent, MPFR_RNDN) != 0)
    throw std::logic_error("correctly rounded operation: the rounded value did not fit");
}

}  // namespace

void divide_nearest(Real& out, const Real& a, const Real& b) {
  const mpfr_prec_t prec = mpfr_get_prec(raw(out));
  const Significand x(a, prec), y(b, prec);
  if (static_cast<std::uint64_t>(prec) >= kMpfrDivisionBits) {
    mpfr_div(raw(out), raw(a), raw(b), MPFR_RNDN);
    return;
  }
  // floor(x * 2^shift / y) with at least prec + 2 bits: x / y > 2^(bits(x) - bits(y) - 1). The shift is
  // positive: bits(x) < prec + 64 <= prec + bits(y) (whole limbs, at most prec significant bits each).
  const mp_bitcnt_t shift =
      static_cast<mp_bitcnt_t>(prec) + 3 + mpz_sizeinbase(y.view, 2) - mpz_sizeinbase(x.view, 2);
  BigInt q;
  mpz_mul_2exp(raw(q), x.view, shift);
  mpz_tdiv_q(raw(q), raw(q), y.view);
  // The bits of q cut off below the rounding bit tell the rest apart from a tie but for q * y == x * 2^shift
  // exactly. An exact quotient needing prec + 1 bits (a tie) cannot happen: it would be odd m * 2^e with m of
  // prec + 1 bits, and then a's odd part, m times b's, would have more than prec bits. So a rounding bit of 1
  // always means above the midpoint, and the quotient may be taken as inexact.
  round_into(out, q, x.exponent - y.exponent - static_cast<mpfr_exp_t>(shift), x.sign * y.sign, true);
}

void multiply_nearest(Real& out, const Real& a, const Real& b) {
  const mpfr_prec_t prec = mpfr_get_prec(raw(out));
  const Significand x(a, prec), y(b, prec);
  BigInt p;
  multiply(p, x.view, y.view);
  round_into(out, p, x.exponent + y.exponent, x.sign * y.sign, false);
}

void divide_nearest(Real& out, const Real& a, const Real& b, const ProductFn& product) {
  const mpfr_prec_t prec = mpfr_get_prec(raw(out));
  const Significand x(a, prec), y(b, prec);
  // As divide_nearest's integer quotient above, at any precision (the rounding argument is the same).
  const mp_bitcnt_t shift =
      static_cast<mp_bitcnt_t>(prec) + 3 + mpz_sizeinbase(y.view, 2) - mpz_sizeinbase(x.view, 2);
  BigInt numerator, divisor, q;
  mpz_mul_2exp(raw(numerator), x.view, shift);
  mpz_set(raw(divisor), y.view);
  divide_floor_newton(q, numerator, divisor, product);
  round_into(out, q, x.exponent - y.exponent - static_cast<mpfr_exp_t>(shift), x.sign * y.sign, true);
}

void sqrt_nearest(Real& out, unsigned long n, const ProductFn& product) {
  BigInt radicand(n), s;  // n, then n 4^k
  if (n == 0 || mpz_perfect_square_p(raw(radicand)) != 0)
    throw std::invalid_argument("sqrt_nearest: " + std::to_string(n) + " is not a positive non-square");
  const auto prec = static_cast<std::uint64_t>(mpfr_get_prec(raw(out)));
  // s = floor(sqrt(n 4^k)) with one bit more than the precision; sqrt(n) 2^k is irrational, so it lies
  // strictly inside (s, s + 1), and its nearest value of prec bits is (s + 1) / 2 rounded down, times 2: no
  // tie.
  const std::uint64_t root_bits = (static_cast<std::uint64_t>(mpz_sizeinbase(raw(radicand), 2)) + 1) / 2;
  const std::uint64_t k = prec + 1 > root_bits ? prec + 1 - root_bits : 0;
  mpz_mul_2exp(raw(radicand), raw(radicand), 2 * k);
  sqrt_floor_newton(s, radicand, product);
  mpz_add_ui(raw(s), raw(s), 1);
  mpz_tdiv_q_2exp(raw(s), raw(s), 1);
  if (mpfr_set_z_2exp(raw(out), raw(s), 1 - static_cast<mpfr_exp_t>(k), MPFR_RNDN) != 0)
    throw std::logic_error("sqrt_nearest: the rounded root did not fit");
}

void multiply_nearest(Real& out, const Real& a, const Real& b, const ProductFn& product) {
  const mpfr_prec_t prec = mpfr_get_prec(raw(out));
  const Significand x(a, prec), y(b, prec);
  BigInt p;
  product(p, x.view, y.view);
  round_into(out, p, x.exponent + y.exponent, x.sign * y.sign, false);
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

namespace {

// The blocks map_big_blocks_apart's functions mapped and have not unmapped: a block is unmapped only when
// it is one of these, so a block malloc gave (before the functions were installed) is never unmapped.
struct Mappings {
  std::mutex mutex;
  std::unordered_set<void*> blocks;
  std::size_t ever = 0;
};
Mappings& mappings() {
  static auto* const m = new Mappings;  // never destroyed: blocks may be freed during static destruction
  return *m;
}

// Records a block these functions mapped; forget() takes it out again and says whether it was there.
void remember(void* p) {
  std::lock_guard lock(mappings().mutex);
  mappings().blocks.insert(p);
}
bool forget(void* p) {
  std::lock_guard lock(mappings().mutex);
  return mappings().blocks.erase(p) != 0;
}

void* map_block(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);  // advice: without huge pages the block still works
  remember(p);
  std::lock_guard lock(mappings().mutex);
  ++mappings().ever;
  return p;
}

void* allocate_block(std::size_t bytes) {
  if (bytes >= kMappedBlockBytes) return map_block(bytes);
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  return p;
}

// Frees a block already taken out of the record (`mapped`: it was in it).
void release_block(void* p, std::size_t bytes, bool mapped) {
  if (mapped) {
    munmap(p, bytes);
  } else {
    std::free(p);
  }
}

void free_block(void* p, std::size_t bytes) {
  release_block(p, bytes, bytes >= kMappedBlockBytes && forget(p));
}

void* reallocate_block(void* p, std::size_t old_bytes, std::size_t new_bytes) {
  const bool mapped = old_bytes >= kMappedBlockBytes && forget(p);
  if (!mapped && new_bytes < kMappedBlockBytes) {
    void* q = std::realloc(p, new_bytes);
    if (!q) throw std::bad_alloc();
    return q;
  }
  if (mapped && new_bytes >= kMappedBlockBytes) {
    void* q = mremap(p, old_bytes, new_bytes, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
      remember(p);  // still there, as it was
      throw std::bad_alloc();
    }
    madvise(q, new_bytes, MADV_HUGEPAGE);
    remember(q);
    return q;
  }
  // Across the size: a new block, the kept bytes copied, the old one freed as it was made.
  void* q = allocate_block(new_bytes);
  std::memcpy(q, p, std::min(old_bytes, new_bytes));
  release_block(p, old_bytes, mapped);
  return q;
}

}  // namespace

void map_big_blocks_apart() { mp_set_memory_functions(allocate_block, reallocate_block, free_block); }

std::size_t mapped_blocks_now() {
  std::lock_guard lock(mappings().mutex);
  return mappings().blocks.size();
}

std::size_t mapped_blocks_ever() {
  std::lock_guard lock(mappings().mutex);
  return mappings().ever;
}

void return_freed_memory() {
  // Only when there is enough to hand back: a trim gives the kernel every free page of the heap, and the next
  // phase takes a page fault for each page it uses again. Trims with less free than this were most of a
  // small job's faults for no memory worth the name: 1e6 digits (a 30 MB peak) 6,200-6,800 faults with
  // them, 3,400-3,600 without, 10% of the run; 1e7 (two trims, of 76 and 87 MB) 53,000-61,000 against
  // 27,000-28,000, 8% of the run, the same peak (117-132 MB). At 1e8 most trims free 130-380 MB and still
  // run.
  constexpr std::size_t kTrimAtLeastBytes = std::size_t{128} << 20;
  if (mallinfo2().fordblks >= kTrimAtLeastBytes) malloc_trim(0);
}

void return_all_freed_memory() { malloc_trim(0); }

void return_freed_memory_after(double seconds) {
  constexpr double kLongTaskSeconds = 1.0;
  if (seconds >= kLongTaskSeconds) return_freed_memory();
}

}  // namespace pi
