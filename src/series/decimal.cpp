#include "series/decimal.hpp"

#include <algorithm>
#include <cmath>

namespace pi {
namespace {

struct Scaled {
  BigInt integer;  // floor(x * 10^digits)
  bool certified;
};

// floor(x * 10^d), and whether [x - err, x + err] * 10^d stays inside [floor, floor + 1).
Scaled scale(const Real& x, const UpperBound& err, std::uint64_t digits) {
  BigInt power;
  mpz_ui_pow_ui(raw(power), 10, digits);
  const auto bits =
      std::max<std::uint64_t>(static_cast<std::uint64_t>(mpfr_get_prec(raw(x))), bits_for_digits(digits)) +
      64;
  Real y = make_real(bits);
  mpfr_mul_z(raw(y), raw(x), raw(power), MPFR_RNDN);
  Scaled out{BigInt(), false};
  mpfr_get_z(raw(out.integer), raw(y), MPFR_RNDD);

  // Distance to the cell's edges, less the rounding of y (one ulp) and the scaled error.
  Real frac = make_real(bits);
  mpfr_frac(raw(frac), raw(y), MPFR_RNDN);
  if (mpfr_sgn(raw(frac)) < 0) mpfr_add_ui(raw(frac), raw(frac), 1, MPFR_RNDN);
  Real slack = make_real(64), scaled_err = make_real(64);
  mpfr_set_ui_2exp(raw(slack), 1, mpfr_get_exp(raw(y)) - static_cast<mpfr_exp_t>(bits) + 1, MPFR_RNDU);
  mpfr_mul_z(raw(scaled_err), raw(err.value()), raw(power), MPFR_RNDU);
  mpfr_add(raw(slack), raw(slack), raw(scaled_err), MPFR_RNDU);
  Real room_below = make_real(64), room_above = make_real(64);
  mpfr_set(raw(room_below), raw(frac), MPFR_RNDD);
  mpfr_ui_sub(raw(room_above), 1, raw(frac), MPFR_RNDD);
  out.certified = mpfr_cmp(raw(room_below), raw(slack)) >= 0 && mpfr_cmp(raw(room_above), raw(slack)) > 0;
  return out;
}

std::string with_point(const BigInt& scaled, std::uint64_t digits) {
  std::string s(mpz_sizeinbase(raw(scaled), 10) + 2, '\0');
  mpz_get_str(s.data(), 10, raw(scaled));
  s.resize(std::char_traits<char>::length(s.c_str()));
  const std::string padded = s.size() <= digits ? std::string(digits + 1 - s.size(), '0') + s : s;
  const std::size_t int_len = padded.size() - digits;
  std::string out;
  out.reserve(padded.size() + 1);
  out.append(padded, 0, int_len);
  if (digits > 0) {
    out.push_back('.');
    out.append(padded, int_len, std::string::npos);
  }
  return out;
}

}  // namespace

std::optional<std::string> certified_digits(const Real& x, const UpperBound& err, std::uint64_t digits) {
  Scaled s = scale(x, err, digits);
  if (!s.certified) return std::nullopt;
  return with_point(s.integer, digits);
}

std::uint64_t correct_digits(const Real& x, const UpperBound& err, std::uint64_t cap) {
  if (err.is_zero()) return cap;
  // An interval of width 2 err fits in a cell of width 10^-d only if d < -log10(2 err).
  const double limit = std::floor(-(err.log10() + std::log10(2.0)));
  if (limit < 0) return 0;
  for (auto d = std::min<std::uint64_t>(cap, static_cast<std::uint64_t>(limit)) + 1; d-- > 0;) {
    if (scale(x, err, d).certified) return d;
  }
  return 0;
}

std::string fraction_digits(const BigInt& f, std::uint64_t scale_bits, std::uint64_t first,
                            std::uint64_t count) {
  BigInt n, power;
  if (first == 0) {
    n = f;
  } else {
    mpz_ui_pow_ui(raw(power), 10, first);
    mpz_mul(raw(n), raw(f), raw(power));
    mpz_tdiv_r_2exp(raw(n), raw(n), scale_bits);  // frac(x 10^first), scaled by 2^scale_bits
  }
  mpz_ui_pow_ui(raw(power), 10, count);
  mpz_mul(raw(n), raw(n), raw(power));
  mpz_tdiv_q_2exp(raw(n), raw(n), scale_bits);
  power = 0;
  std::string s(mpz_sizeinbase(raw(n), 10) + 2, '\0');
  mpz_get_str(s.data(), 10, raw(n));
  s.resize(std::char_traits<char>::length(s.c_str()));
  if (first > 0 && s.size() < count) s.insert(0, count - s.size(), '0');
  if (first == 0 && s.size() < count + 1) s.insert(0, count + 1 - s.size(), '0');
  return s;
}

std::optional<std::string> certified_from_blocks(std::string text, std::uint64_t digits,
                                                 const UpperBound& err) {
  if (text.size() < digits + kGuardDecimals + 1) return std::nullopt;
  // x 10^digits = N + frac with frac in [G, G + 1) / 10^g, where G is the g guard decimals. Every number
  // within err of x shares N when frac >= E and frac + E < 1, E = err 10^digits: that holds when G >= E 10^g
  // and G + 1 + E 10^g <= 10^g.
  const std::size_t int_len = text.size() - digits - kGuardDecimals;
  const std::uint64_t guard = std::stoull(text.substr(text.size() - kGuardDecimals));
  constexpr std::uint64_t kCells = 1000000000000000000ULL;  // 10^kGuardDecimals
  std::uint64_t need = 0;                                   // ceil(E 10^g), at least 1 when err > 0
  if (!err.is_zero()) {
    const double log_e = err.log10() + static_cast<double>(digits + kGuardDecimals) + 1e-6;
    if (log_e > 15) return std::nullopt;
    need =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(std::pow(10.0, log_e) * (1 + 1e-9))));
  }
  if (guard < need || guard + 1 + need > kCells) return std::nullopt;
  text.resize(text.size() - kGuardDecimals);
  if (digits > 0) text.insert(text.begin() + static_cast<std::ptrdiff_t>(int_len), '.');
  return text;
}

std::string truncated_decimal(const Real& x, std::uint64_t digits) {
  return with_point(scale(x, UpperBound(), digits).integer, digits);
}

}  // namespace pi
