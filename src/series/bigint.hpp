// Big integers and high-precision reals: Boost.Multiprecision's GMP and MPFR backends, with direct access to
// the underlying mpz_t/mpfr_t where the rounding direction or in-place arithmetic matters.
#pragma once

#include <boost/multiprecision/gmp.hpp>
#include <boost/multiprecision/mpfr.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace pi {

using BigInt = boost::multiprecision::mpz_int;
using Real = boost::multiprecision::mpfr_float;

inline mpz_ptr raw(BigInt& x) { return x.backend().data(); }
inline mpz_srcptr raw(const BigInt& x) { return x.backend().data(); }
inline mpfr_ptr raw(Real& x) { return x.backend().data(); }
inline mpfr_srcptr raw(const Real& x) { return x.backend().data(); }

// A real number of exactly `bits` bits of precision, set to zero.
Real make_real(std::uint64_t bits);

// out = a * b, exactly; out may be a or b. Products whose operands both have at least kFftMinLimbs limbs, one
// of them kFftLargeLimbs, and which have at most kFftMaxLimbs go to FLINT's FFT (flint_mpn_mul_fft_main), the
// rest to GMP's mpz_mul: the same integer either way. Above kFftMaxLimbs FLINT's buffers would raise the peak
// memory of a big job (the top merges at 1e8 digits: 1.24 GB against 1.11-1.13 GB), so GMP keeps those.
// Whole zero limbs at the low end of an operand are left out of the product and put back below it (the sizes
// above are those without them): Chudnovsky's Q carries 15 + 3 v2(k) zero bits per term, about a sixth of its
// limbs. Returns true when FLINT's FFT made the product.
bool multiply(BigInt& out, const BigInt& a, const BigInt& b);
bool multiply(BigInt& out, mpz_srcptr a, mpz_srcptr b);
inline constexpr std::size_t kFftMinLimbs = std::size_t{1} << 13;    // 512 Kbit
inline constexpr std::size_t kFftLargeLimbs = std::size_t{1} << 16;  // 4 Mbit
inline constexpr std::size_t kFftMaxLimbs = std::size_t{1} << 21;    // 128 Mbit, the product
// The FLINT library that multiply() runs with ("2.9.0").
std::string flint_library_version();

// out = a / b and out = a * b rounded to nearest (ties to even) at out's precision: the same reals as
// mpfr_div and mpfr_mul with MPFR_RNDN give (correct rounding has one answer), by integer arithmetic on the
// significands. The division is GMP's (mpz_tdiv_q), the product multiply()'s. Measured here (2 vCPU AMD
// EPYC, GMP 6.2.1, MPFR 4.2.0) at 33 Mbit, the final steps' size at 1e7 digits: mpfr_div 0.69-0.86 s against
// mpz_tdiv_q 0.42-0.49 s, mpfr_mul 0.34-0.35 s against mpz_mul 0.25 s. a and b are regular (not zero, NaN or
// infinite) and have at most out's precision; out is neither of them. Throws std::invalid_argument else.
// From kMpfrDivisionBits on, the quotient is mpfr_div's: GMP's division of twice the precision by the
// precision takes 6.5 times the numerator's size besides its operands, MPFR 4 times. Measured here at 332
// Mbit (1e8 digits), in a program of its own: GMP 6.25-6.98 s (four runs) and 538 MB, MPFR 7.21-8.86 s (three
// runs) and 337 MB; at 200 Mbit (two runs each) GMP 3.56-3.67 s and 326 MB, MPFR 5.49-5.97 s and 199 MB. The
// division was a job's peak near 1e8 digits, where a second or two more is worth 200 MB less.
inline constexpr std::uint64_t kMpfrDivisionBits = std::uint64_t{1} << 28;  // 268 Mbit, 81 million digits
void divide_nearest(Real& out, const Real& a, const Real& b);
void multiply_nearest(Real& out, const Real& a, const Real& b);

// out = a * b exactly, for a >= 0 and b >= 0 (out is neither of them): a product made wherever the caller
// makes it (multiply() here, or spread over workers).
using ProductFn = std::function<void(BigInt& out, mpz_srcptr a, mpz_srcptr b)>;
// The same reals as the two above, bit for bit, with every product of significands through `product`: the
// division by Newton's iteration (divide_floor_newton, series/newton_division.hpp) at any precision. So the
// final steps' large products may be shared by many workers and still give the reals one process gives.
void divide_nearest(Real& out, const Real& a, const Real& b, const ProductFn& product);
void multiply_nearest(Real& out, const Real& a, const Real& b, const ProductFn& product);
// out = sqrt(n) rounded to nearest at out's precision, for n > 0 not a square: mpfr_sqrt_ui's real, bit for
// bit, by Newton's iteration (sqrt_floor_newton) with every product through `product`.
void sqrt_nearest(Real& out, unsigned long n, const ProductFn& product);

// A vector of the integers moved into it. A braced list would copy them (an initializer_list's elements are
// const): a merge at the top of a 1e8-digit job would hold its 208 MB result twice.
template <class... Values>
std::vector<BigInt> moved_values(Values&&... values) {
  std::vector<BigInt> out;
  out.reserve(sizeof...(values));
  (out.push_back(std::forward<Values>(values)), ...);
  return out;
}

// Bits needed to hold `digits` decimal digits.
std::uint64_t bits_for_digits(std::uint64_t digits);

// Widens MPFR's exponent range so error bounds like 1e-100000000 neither underflow nor flush to zero.
void widen_exponent_range();

// Keeps the memory of freed big integers in the process for the next ones, instead of handing every block
// over 128 KB back to the kernel and taking page faults to get it again: blocks under 64 MB come from the
// heap (GMP's of 16 MB or more are mapped apart instead once map_big_blocks_apart runs), and up to 256 MB of
// free heap stays. Measured at 1e7 digits of Chudnovsky on 2 cores: 3 ranks 6.4 s
// -> 6.2 s, 2 ranks 9.55 s -> 9.35 s; peak memory of one process 133 MB -> 169 MB.
void keep_freed_memory();

// GMP's (and so MPFR's) blocks of kMappedBlockBytes or more each get a mapping of their own, asked for
// transparent huge pages (madvise MADV_HUGEPAGE; the kernel's setting here is "madvise"), and are unmapped
// when freed: a freed block leaves no hole in the heap for the process's resident memory to keep, and a
// fault maps 2 MB where the kernel gives them. Measured at 1e8 digits of Chudnovsky, one process, two runs
// each alternating: peak 0.983 and 1.038 GB -> 0.826 and 0.826 GB; 1.32 million page faults -> 0.35-0.36
// million; 102.0 and 103.4 s -> 102.9 and 93.6 s. Smaller blocks stay with malloc. Call before the first
// big integer; a block malloc gave before that is still freed by free (the mappings are recorded).
void map_big_blocks_apart();
inline constexpr std::size_t kMappedBlockBytes = std::size_t{16} << 20;
// How many blocks map_big_blocks_apart's functions hold mapped now, and have mapped in all (tests).
std::size_t mapped_blocks_now();
std::size_t mapped_blocks_ever();

// Hands the free memory that keep_freed_memory keeps back to the kernel: between phases, when the integers of
// the one before are gone and the next phase's sizes differ; when the free heap holds 128 MB or more (less
// is not worth the page faults of taking it again).
void return_freed_memory();
// The same after a task of `seconds` when it was long (the top merges of a big job, the final steps): the
// next one needs blocks of other sizes, and beside such a task the trim costs nothing measurable.
void return_freed_memory_after(double seconds);
// All of it, however little: before a merge that is the job's peak (a lent one, Scheduler::lend_operands),
// whose blocks are mapped apart and would not reuse the heap's.
void return_all_freed_memory();

}  // namespace pi
