// Fingerprints: residues of big integers modulo a few random primes of about 62 bits. Two different
// integers agree modulo a random such prime with probability about (bits of their difference) / 2^56, so
// a piece whose residues match those predicted from the term formulas is, with overwhelming probability,
// the right piece. Word arithmetic only (Montgomery multiplication); pure math, no I/O.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "series/bigint.hpp"

namespace pi {

__extension__ using Uint128 = unsigned __int128;

// m^-1 mod 2^64 for odd m: 3m xor 2 is right to 5 bits, and each Newton step doubles them.
constexpr std::uint64_t inverse_mod_2_64(std::uint64_t m) {
  std::uint64_t x = (3 * m) ^ 2;
  for (int i = 0; i < 4; ++i) x *= 2 - m * x;
  return x;
}

// Arithmetic modulo an odd m < 2^63 in Montgomery form (x stands for x 2^64 mod m).
class Montgomery {
 public:
  explicit Montgomery(std::uint64_t m);
  std::uint64_t modulus() const { return m_; }
  std::uint64_t inverse() const { return inv_; }  // m^-1 mod 2^64
  std::uint64_t one() const { return one_; }      // 1 in Montgomery form
  std::uint64_t mul(std::uint64_t a, std::uint64_t b) const { return reduce(static_cast<Uint128>(a) * b); }
  std::uint64_t add(std::uint64_t a, std::uint64_t b) const {
    const std::uint64_t s = a + b;  // < 2^64 as a, b < m < 2^63
    return s >= m_ ? s - m_ : s;
  }
  std::uint64_t sub(std::uint64_t a, std::uint64_t b) const { return a >= b ? a - b : a + (m_ - b); }
  std::uint64_t neg(std::uint64_t a) const { return a == 0 ? 0 : m_ - a; }
  // x (any 64-bit value) into Montgomery form, and back.
  std::uint64_t to(std::uint64_t x) const { return mul(x % m_, r2_); }
  std::uint64_t from(std::uint64_t x) const { return reduce(x); }
  // 2^e in Montgomery form.
  std::uint64_t pow2(std::uint64_t e) const;

 private:
  std::uint64_t reduce(Uint128 t) const {
    const std::uint64_t q = static_cast<std::uint64_t>(t) * neg_inv_;
    const auto u = static_cast<std::uint64_t>((t + static_cast<Uint128>(q) * m_) >> 64);
    return u >= m_ ? u - m_ : u;
  }
  std::uint64_t m_, inv_, neg_inv_, one_, r2_;
};

// (a b) mod p and base^e mod p, for any p < 2^64 (plain residues, not Montgomery form).
inline std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, std::uint64_t p) {
  return static_cast<std::uint64_t>(static_cast<Uint128>(a) * b % p);
}
std::uint64_t pow_mod(std::uint64_t base, std::uint64_t e, std::uint64_t p);

// Residues modulo each prime, value-major: residue of value v modulo primes[j] at v * primes.size() + j.
using Residues = std::vector<std::uint64_t>;

// `count` random primes in [2^61, 2^62), distinct, from the operating system's random source.
std::vector<std::uint64_t> draw_primes(std::size_t count);
// The same, from a seed (tests).
std::vector<std::uint64_t> primes_from_seed(std::size_t count, std::uint64_t seed);

// The residues of integers (negative ones included: the residue is in [0, p)).
Residues residues_of(const std::vector<BigInt>& values, const std::vector<std::uint64_t>& primes);
std::uint64_t residue_of(const BigInt& value, std::uint64_t prime);
// The residue of a decimal digit string read as an integer (leading zeros allowed).
std::uint64_t decimal_residue(std::string_view digits, std::uint64_t prime);

// The first value whose residue differs, or -1.
int first_mismatch(const Residues& got, const Residues& expected, std::size_t primes);

}  // namespace pi
