#include "series/bbp.hpp"

#include <algorithm>
#include <bit>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <thread>
#include <vector>

namespace pi {
namespace {

// frac(2^e / m) as a 128-bit fraction from r = 2^e mod m (odd m): floor(2^128 r / m) = (2^128 r - s2) / m
// with s2 = 2^128 r mod m is an exact division, so its words come from multiplications by m^-1 mod 2^64,
// with no division: the high word is -s1 m^-1 and the low word -s2 m^-1 (mod 2^64), s1 = 2^64 r mod m.
Uint128 exact_fraction(std::uint64_t m, std::uint64_t inv, std::uint64_t s1, std::uint64_t s2) {
  if (m == 1) return 0;
  return (static_cast<Uint128>((0 - s1) * inv) << 64) | ((0 - s2) * inv);
}

// frac(2^e / m) for odd m from the Montgomery form s1 of 2^e (s1 = 2^(e+64) mod m), as exact_fraction
// needs it: s2 = s1 R mod m.
Uint128 fraction_of(const Montgomery& m, std::uint64_t s1) {
  return exact_fraction(m.modulus(), m.inverse(), s1, m.mul(s1, m.to(m.one())));
}

// frac(2^e / m) for odd m, as a 128-bit fraction: the Montgomery form of 2^e is 2^(e+64) mod m = s1.
Uint128 frac_pow2_over(std::uint64_t m, std::uint64_t e) {
  if (m == 1) return 0;
  const Montgomery mont(m);
  return fraction_of(mont, mont.pow2(e));
}

// floor(2^128 / m) for m >= 2.
Uint128 inverse_fraction(std::uint64_t m) { return ~Uint128{0} / m; }

// Sixteen lanes (the four terms of four consecutive k) when every modulus is below 2^31, in Montgomery form
// with R = 2^32 and written without branches, so that the compiler runs the lanes in vector registers
// (32 x 32 -> 64-bit products only).
constexpr int kLanes = 16;
constexpr std::uint64_t kLaneModulusLimit = std::uint64_t{1} << 31;
struct Lanes {
  std::uint64_t m[kLanes], e[kLanes], inv[kLanes], neg_inv[kLanes], y[kLanes], s1[kLanes];
};

// a b / 2^32 mod m, for a, b < m < 2^31; neg_inv = -m^-1 mod 2^32.
inline std::uint64_t mont32(std::uint64_t a, std::uint64_t b, std::uint64_t m, std::uint64_t neg_inv) {
  const std::uint64_t t = a * b;                                        // < 2^62
  const std::uint64_t q = ((t & 0xffffffffu) * neg_inv) & 0xffffffffu;  // t + q m = 0 mod 2^32
  const std::uint64_t u = (t + q * m) >> 32;                            // < 2m
  return std::min(u, u - m);  // u - m wraps round to a huge value when u < m
}

// Per lane, with e the lane's exponent: y = 2^(e + 96) in Montgomery form, which is 2^(e + 128) mod m
// (s2 of exact_fraction), and s1 = 2^(e + 64) mod m from it by two Montgomery reductions (each divides by
// 2^32).
#if defined(__AVX512F__)
// GCC 12 warns of an uninitialised variable inside its own AVX-512 headers (_mm512_undefined_epi32).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
void powers_of_two(Lanes& l, int top_bit) {
#if defined(__AVX512F__)
  // The compiler does not vectorise this loop by itself (GCC 12): 64-bit lanes by hand, two vectors of
  // eight whose chains of dependent operations overlap.
  static_assert(kLanes == 16);
  const __m512i low32 = _mm512_set1_epi64(0xffffffff), one = _mm512_set1_epi64(1);
  __m512i m[2], neg_inv[2], e[2], y[2];
  for (int h = 0; h < 2; ++h) {
    m[h] = _mm512_loadu_si512(l.m + 8 * h);
    neg_inv[h] = _mm512_loadu_si512(l.neg_inv + 8 * h);
    e[h] = _mm512_loadu_si512(l.e + 8 * h);
    y[h] = _mm512_loadu_si512(l.y + 8 * h);
  }
  for (int bit = top_bit; bit >= 0; --bit) {
    const __m512i shift = _mm512_set1_epi64(bit);
    for (int h = 0; h < 2; ++h) {
      const __m512i t = _mm512_mul_epu32(y[h], y[h]);
      const __m512i q = _mm512_and_si512(_mm512_mul_epu32(t, neg_inv[h]), low32);
      __m512i u = _mm512_srli_epi64(_mm512_add_epi64(t, _mm512_mul_epu32(q, m[h])), 32);
      u = _mm512_min_epu64(u, _mm512_sub_epi64(u, m[h]));
      u = _mm512_sllv_epi64(u, _mm512_and_si512(_mm512_srlv_epi64(e[h], shift), one));
      y[h] = _mm512_min_epu64(u, _mm512_sub_epi64(u, m[h]));
    }
  }
  for (int h = 0; h < 2; ++h) _mm512_storeu_si512(l.y + 8 * h, y[h]);
#else
  for (int bit = top_bit; bit >= 0; --bit) {
    for (int i = 0; i < kLanes; ++i) {
      std::uint64_t v = mont32(l.y[i], l.y[i], l.m[i], l.neg_inv[i]);
      v <<= (l.e[i] >> bit) & 1;
      l.y[i] = std::min(v, v - l.m[i]);
    }
  }
#endif
  for (int i = 0; i < kLanes; ++i)
    l.s1[i] = mont32(mont32(l.y[i], 1, l.m[i], l.neg_inv[i]), 1, l.m[i], l.neg_inv[i]);
}
#if defined(__AVX512F__)
#pragma GCC diagnostic pop
#endif

// A lane's set-up: m, the exponent the ladder runs (e + 96), m's inverses, and 1 in Montgomery form.
void set_lane(Lanes& l, int i, std::uint64_t m, std::uint64_t e) {
  l.m[i] = m;
  l.e[i] = e + 96;
  l.inv[i] = inverse_mod_2_64(m);
  l.neg_inv[i] = (0 - l.inv[i]) & 0xffffffffu;
  // 1 in Montgomery form, 2^32 mod m, without a division instruction: the quotient from a double is
  // right to within one.
  const auto q = static_cast<std::uint64_t>(4294967296.0 / static_cast<double>(m));
  auto r = static_cast<std::int64_t>((std::uint64_t{1} << 32) - q * m);
  r += r < 0 ? static_cast<std::int64_t>(m) : 0;
  r -= r >= static_cast<std::int64_t>(m) ? static_cast<std::int64_t>(m) : 0;
  l.y[i] = m == 1 ? 0 : static_cast<std::uint64_t>(r);
}

// 4 S1 - 2 S4 - S5 - S6 over k in [first, last), k < position, mod 2^128, where Sj's term is
// frac(16^(position - k) / (8k + j)). The even denominators become odd ones:
// 16^e / (8k + 4) = 2^(4e - 2) / (2k + 1) and 16^e / (8k + 6) = 2^(4e - 1) / (4k + 3) for e >= 1.
Uint128 head_sum(std::uint64_t position, std::uint64_t first, std::uint64_t last) {
  Uint128 acc = 0;
  std::uint64_t k = first;
  Lanes l{};
  const auto small = [](std::uint64_t k2) { return 8 * k2 + 5 < kLaneModulusLimit; };
  constexpr std::uint64_t kPerRound = kLanes / 4;
  for (; k + kPerRound <= last && small(k + kPerRound - 1); k += kPerRound) {
    for (int h = 0; h < static_cast<int>(kPerRound); ++h) {
      const std::uint64_t kk = k + static_cast<std::uint64_t>(h);
      const std::uint64_t e = 4 * (position - kk);
      set_lane(l, 4 * h, 8 * kk + 1, e);
      set_lane(l, 4 * h + 1, 2 * kk + 1, e - 2);
      set_lane(l, 4 * h + 2, 8 * kk + 5, e);
      set_lane(l, 4 * h + 3, 4 * kk + 3, e - 1);
    }
    powers_of_two(l, static_cast<int>(std::bit_width(4 * (position - k) + 96)) - 1);
    for (int b = 0; b < kLanes; b += 4) {
      const auto frac = [&l](int i) { return exact_fraction(l.m[i], l.inv[i], l.s1[i], l.y[i]); };
      acc += 4 * frac(b);
      acc -= 2 * frac(b + 1);
      acc -= frac(b + 2);
      acc -= frac(b + 3);
    }
  }
  // The last few terms, and larger moduli (positions past about 2.7 10^8): Montgomery arithmetic on 64-bit
  // words.
  for (; k < last; ++k) {
    const std::uint64_t e = 4 * (position - k);
    acc += 4 * frac_pow2_over(8 * k + 1, e);
    acc -= 2 * frac_pow2_over(2 * k + 1, e - 2);
    acc -= frac_pow2_over(8 * k + 5, e);
    acc -= frac_pow2_over(4 * k + 3, e - 1);
  }
  return acc;
}

}  // namespace

HexFraction pi_hex_fraction(std::uint64_t position, int threads) {
  HexFraction out;
  // k < position: the modular terms, shared among threads in interleaved blocks (later terms cost more).
  const auto n_threads = static_cast<std::uint64_t>(std::max(1, threads));
  if (n_threads == 1 || position < 100000) {
    out.value = head_sum(position, 0, position);
  } else {
    std::vector<Uint128> partial(n_threads, 0);
    std::vector<std::thread> pool;
    const std::uint64_t block = 1 << 16;
    for (std::uint64_t t = 0; t < n_threads; ++t) {
      pool.emplace_back([&, t] {
        for (std::uint64_t b = t * block; b < position; b += n_threads * block)
          partial[t] += head_sum(position, b, std::min(position, b + block));
      });
    }
    for (auto& th : pool) th.join();
    for (Uint128 p : partial) out.value += p;
  }
  // k >= position: 16^(position - k) / (8k + j), each below 1, until they vanish below 2^-128.
  for (std::uint64_t k = position; k < position + 32; ++k) {  // shifts up to 124 bits
    const unsigned shift = static_cast<unsigned>(4 * (k - position));
    const auto term = [&](std::uint64_t j) { return inverse_fraction(8 * k + j) >> shift; };
    out.value += 4 * term(1);
    out.value -= 2 * term(4);
    out.value -= term(5);
    out.value -= term(6);
  }
  // Every term was rounded down by less than 2^-128 and enters with weight at most 4: 8 units per k,
  // and the terms past the last one kept add less than one unit each.
  out.error = static_cast<Uint128>(position + 32) * 8 + 8;
  return out;
}

std::string hex_digits(Uint128 fraction, int count) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (int i = 0; i < std::min(count, 32); ++i)
    out.push_back(kHex[static_cast<unsigned>(fraction >> (124 - 4 * i)) & 15]);
  return out;
}

Uint128 low_128_bits(const BigInt& z) {
  BigInt high, low;
  mpz_fdiv_q_2exp(raw(high), raw(z), 64);
  mpz_fdiv_r_2exp(raw(high), raw(high), 64);
  mpz_fdiv_r_2exp(raw(low), raw(z), 64);
  return (static_cast<Uint128>(mpz_get_ui(raw(high))) << 64) | mpz_get_ui(raw(low));
}

Uint128 value_hex_fraction(const Real& x, std::uint64_t position) {
  BigInt f;
  const mpfr_exp_t e = mpfr_get_z_2exp(raw(f), raw(x));
  const std::int64_t shift = static_cast<std::int64_t>(e) + static_cast<std::int64_t>(4 * position + 128);
  if (shift >= 0)
    mpz_mul_2exp(raw(f), raw(f), static_cast<mp_bitcnt_t>(shift));
  else
    mpz_fdiv_q_2exp(raw(f), raw(f), static_cast<mp_bitcnt_t>(-shift));
  return low_128_bits(f);
}

}  // namespace pi
