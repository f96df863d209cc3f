#include "series/fingerprint.hpp"

#include <bit>
#include <random>
#include <stdexcept>

namespace pi {

Montgomery::Montgomery(std::uint64_t m) : m_(m) {
  if (m % 2 == 0 || m >> 63 != 0)
    throw std::invalid_argument("Montgomery: the modulus must be odd and < 2^63");
  inv_ = inverse_mod_2_64(m);
  neg_inv_ = 0 - inv_;
  one_ = (0 - m) % m;  // 2^64 mod m
  r2_ = static_cast<std::uint64_t>(static_cast<Uint128>(one_) * one_ % m);
}

std::uint64_t Montgomery::pow2(std::uint64_t e) const {
  if (m_ == 1) return 0;
  std::uint64_t y = one_;
  for (int bit = static_cast<int>(std::bit_width(e)); bit-- > 0;) {
    y = mul(y, y);
    if ((e >> bit) & 1) y = add(y, y);
  }
  return y;
}

namespace {

std::vector<std::uint64_t> primes_from(std::mt19937_64& rng, std::size_t count) {
  std::vector<std::uint64_t> out;
  BigInt x;
  while (out.size() < count) {
    const std::uint64_t start = (std::uint64_t{1} << 61) | (rng() >> 3);
    mpz_set_ui(raw(x), start);
    mpz_nextprime(raw(x), raw(x));
    const std::uint64_t p = mpz_get_ui(raw(x));
    if (p >> 62 != 0) continue;  // past the top of the interval
    bool fresh = true;
    for (std::uint64_t q : out) fresh = fresh && q != p;
    if (fresh) out.push_back(p);
  }
  return out;
}

}  // namespace

std::vector<std::uint64_t> draw_primes(std::size_t count) {
  std::random_device device;
  std::mt19937_64 rng((static_cast<std::uint64_t>(device()) << 32) ^ device());
  return primes_from(rng, count);
}

std::vector<std::uint64_t> primes_from_seed(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return primes_from(rng, count);
}

std::uint64_t residue_of(const BigInt& value, std::uint64_t prime) {
  static_assert(sizeof(unsigned long) == 8, "GMP's unsigned long must hold a 62-bit prime");
  return mpz_fdiv_ui(raw(value), prime);  // floor division: in [0, prime) for negative values too
}

std::uint64_t pow_mod(std::uint64_t base, std::uint64_t e, std::uint64_t p) {
  std::uint64_t out = 1 % p;
  for (base %= p; e > 0; e >>= 1, base = mul_mod(base, base, p))
    if (e & 1) out = mul_mod(out, base, p);
  return out;
}

Residues residues_of(const std::vector<BigInt>& values, const std::vector<std::uint64_t>& primes) {
  Residues out;
  out.reserve(values.size() * primes.size());
  for (const BigInt& v : values)
    for (std::uint64_t p : primes) out.push_back(residue_of(v, p));
  return out;
}

std::uint64_t decimal_residue(std::string_view digits, std::uint64_t prime) {
  // Horner's rule 18 digits at a time: r = r 10^18 + chunk (mod p).
  std::uint64_t r = 0;
  std::size_t i = 0;
  while (i < digits.size()) {
    const std::size_t n = std::min<std::size_t>(18, digits.size() - i);
    std::uint64_t chunk = 0, scale = 1;
    for (std::size_t k = 0; k < n; ++k) {
      const char c = digits[i + k];
      if (c < '0' || c > '9') throw std::invalid_argument("decimal_residue: not a decimal digit");
      chunk = chunk * 10 + static_cast<std::uint64_t>(c - '0');
      scale *= 10;
    }
    r = static_cast<std::uint64_t>((static_cast<Uint128>(r) * scale + chunk) % prime);
    i += n;
  }
  return r;
}

int first_mismatch(const Residues& got, const Residues& expected, std::size_t primes) {
  if (got.size() != expected.size()) return 0;
  for (std::size_t i = 0; i < got.size(); ++i)
    if (got[i] != expected[i]) return static_cast<int>(i / std::max<std::size_t>(1, primes));
  return -1;
}

}  // namespace pi
