#include "series/decimal.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "series/fingerprint.hpp"
#include "series/series.hpp"

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

// n >= 0 in decimal, by GMP.
std::string decimal_text(const BigInt& n) {
  std::string s(mpz_sizeinbase(raw(n), 10) + 2, '\0');
  mpz_get_str(s.data(), 10, raw(n));
  s.resize(std::char_traits<char>::length(s.c_str()));
  return s;
}

std::string with_point(const BigInt& scaled, std::uint64_t digits) {
  const std::string s = decimal_text(scaled);
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

// floor(n 10^count / 2^scale_bits) for 0 <= n, as n 5^count shifted by count - scale_bits.
//
// When n has many more bits than the answer needs, the product uses only its top bits: with n = h 2^d + l,
// 0 <= l < 2^d and s = scale_bits - count - d >= 0, the answer lies between floor(h 5^count / 2^s) and
// floor((h + 1) 5^count / 2^s). Keeping 64 bits beyond the answer's makes those two agree except within
// 2^-64 of a carry into the last decimal; there the whole product decides.
BigInt scaled_floor(const BigInt& n, std::uint64_t scale_bits, std::uint64_t count) {
  BigInt power, out;
  mpz_ui_pow_ui(raw(power), 5, count);
  const std::uint64_t keep = bits_for_digits(count) + 64;
  if (scale_bits > count && scale_bits - count > keep) {
    const std::uint64_t drop = scale_bits - count - keep;  // d, so that s = keep
    BigInt high, upper;
    mpz_tdiv_q_2exp(raw(high), raw(n), drop);
    multiply(high, high, power);
    mpz_add(raw(upper), raw(high), raw(power));
    mpz_tdiv_q_2exp(raw(high), raw(high), keep);
    mpz_tdiv_q_2exp(raw(upper), raw(upper), keep);
    if (high == upper) return high;
  }
  multiply(out, n, power);
  if (scale_bits >= count)
    mpz_tdiv_q_2exp(raw(out), raw(out), scale_bits - count);
  else
    mpz_mul_2exp(raw(out), raw(out), count - scale_bits);
  return out;
}

// The scaled remainder tree (see tree_decimals). A node holds an enclosure [Y, Y + E] / 2^S of the exact
// value y in [0, 1) whose first m decimals it writes, with S at least m decimals' bits plus the guard bits.
// Its top part's decimals are those of y itself, truncated to what they need; its bottom part's are those of
// frac(y 10^hi), one product Y 5^hi away (10^hi = 5^hi 2^hi, and the 2^hi only moves the point).
class DecimalTree {
 public:
  DecimalTree(const std::vector<std::uint64_t>& primes, TreeOptions options,
              const ProductFn* product_fn = nullptr)
      : primes_(primes), options_(options), product_fn_(product_fn), residues_(primes.size(), 0) {}

  // The integer part (a plain integer) is written first, when there is one.
  void integer_part(const BigInt& n, std::string& out) {
    out += decimal_text(n);
    for (std::size_t j = 0; j < primes_.size(); ++j) residues_[j] = residue_of(n, primes_[j]);
  }
  // Writes y's first m decimals at out; false when an enclosure straddles a decimal boundary.
  bool decimals(BigInt y, std::uint64_t s, BigInt e, std::uint64_t m, char* out) {
    if (m == 0) return true;
    truncate(y, s, e, m);
    if (m <= options_.leaf_digits) return leaf(y, s, e, m, out);
    std::uint64_t lo = options_.leaf_digits;  // a leaf size times a power of two: its powers repeat below
    while (2 * lo < m) lo *= 2;
    const std::uint64_t hi = m - lo;
    BigInt bottom, bottom_err;
    cut(y, s, e, hi, bottom, bottom_err);
    const std::uint64_t shift = s - hi;
    if (!below_one(bottom, bottom_err, shift)) return false;
    if (!decimals(std::move(y), s, std::move(e), hi, out)) return false;
    return decimals(std::move(bottom), shift, std::move(bottom_err), lo, out + hi);
  }
  const Residues& residues() const { return residues_; }

  // The top levels alone: [y, y + e] / 2^s, y's decimals [first, first + m), cut into `parts` (a power of
  // two, at most m) enclosures of consecutive decimals, appended to `out` in order; false as decimals().
  bool split(BigInt y, std::uint64_t s, BigInt e, std::uint64_t first, std::uint64_t m, std::uint64_t parts,
             std::vector<DecimalPart>& out) {
    truncate(y, s, e, m);
    if (parts == 1) {
      out.push_back(DecimalPart{std::move(y), std::move(e), s, first, m, std::nullopt});
      return true;
    }
    // The top half of the parts takes its share of the decimals: half of them for an even count (5^hi's half
    // is then the next level's 5^hi), else in proportion (parts <= m, so each side has a decimal a part).
    const std::uint64_t top = parts / 2;
    const std::uint64_t hi = parts % 2 == 0 ? m / 2 : m * top / parts, lo = m - hi;
    BigInt bottom, bottom_err;
    cut(y, s, e, hi, bottom, bottom_err);
    const std::uint64_t shift = s - hi;
    if (!below_one(bottom, bottom_err, shift)) return false;
    if (!split(std::move(y), s, std::move(e), first, hi, top, out)) return false;
    return split(std::move(bottom), shift, std::move(bottom_err), first + hi, lo, parts - top, out);
  }

 private:
  std::uint64_t keep_bits(std::uint64_t m) const { return bits_for_digits(m) + options_.guard_bits; }

  // [Y, Y + E] / 2^S to keep_bits(m) bits after the point, still enclosing y: Y/2^d lies in
  // [Y', Y' + 1), and E/2^d below (E >> d) + 1.
  void truncate(BigInt& y, std::uint64_t& s, BigInt& e, std::uint64_t m) const {
    const std::uint64_t keep = keep_bits(m);
    if (s <= keep) return;
    const std::uint64_t d = s - keep;
    mpz_tdiv_q_2exp(raw(y), raw(y), d);
    mpz_tdiv_q_2exp(raw(e), raw(e), d);
    mpz_add_ui(raw(e), raw(e), 2);
    s = keep;
  }

  // The bottom part of a node whose top part has hi decimals: [bottom, bottom + bottom_err] / 2^(s - hi)
  // encloses frac(y 10^hi) (10^hi = 5^hi 2^hi: the 2^hi only moves the point), unless it reaches 1.
  void cut(const BigInt& y, std::uint64_t s, const BigInt& e, std::uint64_t hi, BigInt& bottom,
           BigInt& bottom_err) {
    const BigInt& power = power5(hi);
    product(bottom, y, power, hi);
    mpz_mul(raw(bottom_err), raw(e), raw(power));
    mpz_tdiv_r_2exp(raw(bottom), raw(bottom), s - hi);
  }

  // Whether [low, low + err] / 2^shift stays below 1: then frac() is continuous on the enclosure.
  static bool below_one(const BigInt& low, const BigInt& err, std::uint64_t shift) {
    BigInt top;
    mpz_add(raw(top), raw(low), raw(err));
    return mpz_sizeinbase(raw(top), 2) <= shift || mpz_sgn(raw(top)) == 0;
  }

  bool leaf(const BigInt& y, std::uint64_t s, const BigInt& e, std::uint64_t m, char* out) {
    const BigInt& power = power5(m);
    BigInt n, upper;
    product(n, y, power, m);
    mpz_addmul(raw(upper), raw(e), raw(power));
    mpz_add(raw(upper), raw(upper), raw(n));
    mpz_tdiv_q_2exp(raw(n), raw(n), s - m);
    mpz_tdiv_q_2exp(raw(upper), raw(upper), s - m);
    if (n != upper) return false;  // the enclosure holds two different decimal strings
    const std::string text = decimal_text(n);
    const std::size_t used = text.size();
    if (used > m)
      throw SeriesError("decimal conversion: a leaf of " + std::to_string(m) + " decimals spelled " +
                        std::to_string(used));
    std::fill(out, out + (m - used), '0');
    std::copy(text.data(), text.data() + used, out + (m - used));
    // The residues of the text so far, from the leaves' integers: r 10^m + n.
    for (std::size_t j = 0; j < primes_.size(); ++j) {
      const std::uint64_t p = primes_[j];
      residues_[j] = (mul_mod(residues_[j], pow_mod(10, m, p), p) + residue_of(n, p)) % p;
    }
    return true;
  }

  // out = y 5^e, checked modulo each prime: a damaged product must not turn into wrong decimals.
  void product(BigInt& out, const BigInt& y, const BigInt& power, std::uint64_t e) const {
    if (product_fn_)
      (*product_fn_)(out, raw(y), raw(power));
    else
      multiply(out, y, power);
    for (std::uint64_t p : primes_) {
      if (residue_of(out, p) != mul_mod(residue_of(y, p), pow_mod(5, e, p), p))
        throw SeriesError("decimal conversion: a product modulo " + std::to_string(p) +
                          " is not the product of its factors' residues (damaged memory?)");
    }
  }

  // 5^e, kept for the nodes that need it again. With a product function (the split's top levels), a large
  // one is the square of 5^(e/2) (times 5 when e is odd) through that function, so that workers share its
  // squarings too: 5^(count/2) at 1e8 decimals took GMP 0.46-0.70 s on one core here (2026-12-06). The
  // nodes' exponents halve level by level, so most of the halves are nodes' powers already. Checked modulo
  // `primes` like the products.
  const BigInt& power5(std::uint64_t e) {
    if (const auto it = powers_.find(e); it != powers_.end()) return it->second;
    BigInt power;
    if (product_fn_ && e >= kSquaredPowerFrom) {
      const BigInt& half = power5(e / 2);
      (*product_fn_)(power, raw(half), raw(half));
      if (e % 2 != 0) mpz_mul_ui(raw(power), raw(power), 5);
      for (std::uint64_t p : primes_) {
        if (residue_of(power, p) != pow_mod(5, e, p))
          throw SeriesError("decimal conversion: a power of 5 modulo " + std::to_string(p) + " is not 5^" +
                            std::to_string(e) + "'s (damaged memory?)");
      }
    } else {
      mpz_ui_pow_ui(raw(power), 5, e);
    }
    return powers_.emplace(e, std::move(power)).first->second;
  }
  // Exponents from which power5 squares through the product function: 5^e of about 1 Mbit.
  static constexpr std::uint64_t kSquaredPowerFrom = 450000;

  const std::vector<std::uint64_t>& primes_;
  TreeOptions options_;
  const ProductFn* product_fn_;  // the products' function, when not multiply()
  Residues residues_;
  std::map<std::uint64_t, BigInt> powers_;
};

}  // namespace

bool tree_takes(std::uint64_t scale_bits, std::uint64_t count, TreeOptions options) {
  return scale_bits >= bits_for_digits(count) + options.guard_bits;
}

std::optional<std::string> tree_decimals(const BigInt& f, std::uint64_t scale_bits, std::uint64_t count,
                                         bool with_integer_part, const std::vector<std::uint64_t>& primes,
                                         std::vector<std::uint64_t>* residues, TreeOptions options) {
  if (mpz_sgn(raw(f)) < 0) throw SeriesError("decimal conversion of a negative fraction");
  if (!tree_takes(scale_bits, count, options))
    throw SeriesError("decimal conversion: a fraction of " + std::to_string(scale_bits) + " bits for " +
                      std::to_string(count) + " decimals (the tree needs their bits and its guard bits)");
  DecimalTree tree(primes, options);
  std::string out;
  BigInt y;
  if (with_integer_part) {
    BigInt integer;
    mpz_tdiv_q_2exp(raw(integer), raw(f), scale_bits);
    tree.integer_part(integer, out);
    mpz_tdiv_r_2exp(raw(y), raw(f), scale_bits);
  } else {
    if (mpz_sizeinbase(raw(f), 2) > scale_bits && mpz_sgn(raw(f)) != 0)
      throw SeriesError("decimal conversion: the fraction is not below 1");
    y = f;
  }
  const std::size_t start = out.size();
  out.resize(start + count);
  if (!tree.decimals(std::move(y), scale_bits, BigInt(0), count, out.data() + start)) return std::nullopt;
  if (residues) *residues = tree.residues();
  return out;
}

std::optional<std::vector<DecimalPart>> split_decimals(const BigInt& f, std::uint64_t scale_bits,
                                                       std::uint64_t count, std::uint64_t parts,
                                                       const ProductFn& product,
                                                       const std::vector<std::uint64_t>& primes,
                                                       TreeOptions options) {
  if (mpz_sgn(raw(f)) < 0) throw SeriesError("decimal conversion of a negative fraction");
  if (parts == 0 || parts > count)
    throw SeriesError("decimal conversion: " + std::to_string(count) + " decimals cannot be cut into " +
                      std::to_string(parts) + " parts (from 1 to the decimals)");
  if (!tree_takes(scale_bits, count, options))
    throw SeriesError("decimal conversion: a fraction of " + std::to_string(scale_bits) + " bits for " +
                      std::to_string(count) + " decimals (the tree needs their bits and its guard bits)");
  DecimalTree tree(primes, options, &product);
  BigInt integer, y;
  mpz_tdiv_q_2exp(raw(integer), raw(f), scale_bits);
  mpz_tdiv_r_2exp(raw(y), raw(f), scale_bits);
  std::vector<DecimalPart> out;
  out.reserve(parts);
  if (!tree.split(std::move(y), scale_bits, BigInt(0), 0, count, parts, out)) return std::nullopt;
  out.front().integer = std::move(integer);
  return out;
}

std::optional<std::string> part_decimals(const DecimalPart& part, const std::vector<std::uint64_t>& primes,
                                         std::vector<std::uint64_t>* residues, TreeOptions options) {
  DecimalTree tree(primes, options);
  std::string out;
  if (part.integer) tree.integer_part(*part.integer, out);
  const std::size_t start = out.size();
  out.resize(start + part.count);
  if (!tree.decimals(part.y, part.scale_bits, part.err, part.count, out.data() + start)) return std::nullopt;
  if (part.integer && out.size() < part.count + 1) out.insert(0, part.count + 1 - out.size(), '0');
  if (residues) *residues = tree.residues();
  return out;
}

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
                            std::uint64_t count, const std::vector<std::uint64_t>& primes,
                            std::vector<std::uint64_t>* residues) {
  // frac(x 10^first) = (f 5^first 2^first mod 2^scale_bits) / 2^scale_bits = m / 2^(scale_bits - first)
  // with m = (f mod 2^(scale_bits - first)) 5^first mod 2^(scale_bits - first): the factor 2^first only
  // moves the point, and the bits of f above scale_bits - first leave the fraction.
  BigInt n;
  const BigInt* source = &n;  // f itself for the first block: not a copy of the whole fraction
  std::uint64_t scale = scale_bits;
  if (first == 0) {
    source = &f;
  } else if (first < scale_bits) {
    scale = scale_bits - first;
    BigInt power;
    mpz_ui_pow_ui(raw(power), 5, first);
    mpz_tdiv_r_2exp(raw(n), raw(f), scale);
    multiply(n, n, power);
    mpz_tdiv_r_2exp(raw(n), raw(n), scale);
  } else {
    scale = 0;  // x 10^first is an integer: every later decimal is 0
  }
  // Long blocks go through the scaled remainder tree (products only), unless an enclosure in it straddles a
  // decimal boundary (a run of about 19 nines or zeros at a cut): then, as short ones, the whole product
  // and GMP's conversion.
  if (count >= kTreeMinDigits && tree_takes(scale, count)) {
    if (auto text = tree_decimals(*source, scale, count, first == 0, primes, residues)) {
      if (first == 0 && text->size() < count + 1) text->insert(0, count + 1 - text->size(), '0');
      return std::move(*text);
    }
  }
  n = scaled_floor(*source, scale, count);
  if (residues) *residues = residues_of({n}, primes);
  std::string s = decimal_text(n);
  if (first > 0 && s.size() < count) s.insert(0, count - s.size(), '0');
  if (first == 0 && s.size() < count + 1) s.insert(0, count + 1 - s.size(), '0');
  return s;
}

bool guard_decides(std::uint64_t guard, std::uint64_t digits, const UpperBound& err) {
  // x 10^digits = N + frac with frac in [G, G + 1) / 10^g, where G is the g guard decimals. Every number
  // within err of x shares N when frac >= E and frac + E < 1, E = err 10^digits: that holds when G >= E 10^g
  // and G + 1 + E 10^g <= 10^g.
  constexpr std::uint64_t kCells = 1000000000000000000ULL;  // 10^kGuardDecimals
  std::uint64_t need = 0;                                   // ceil(E 10^g), at least 1 when err > 0
  if (!err.is_zero()) {
    const double log_e = err.log10() + static_cast<double>(digits + kGuardDecimals) + 1e-6;
    if (log_e > 15) return false;
    need =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(std::pow(10.0, log_e) * (1 + 1e-9))));
  }
  return guard >= need && guard + 1 + need <= kCells;
}

std::optional<std::string> certified_from_blocks(std::string text, std::uint64_t digits,
                                                 const UpperBound& err) {
  if (text.size() < digits + kGuardDecimals + 1) return std::nullopt;
  const std::size_t int_len = text.size() - digits - kGuardDecimals;
  if (!guard_decides(std::stoull(text.substr(text.size() - kGuardDecimals)), digits, err))
    return std::nullopt;
  text.resize(text.size() - kGuardDecimals);
  if (digits > 0) text.insert(text.begin() + static_cast<std::ptrdiff_t>(int_len), '.');
  return text;
}

std::string leading_decimals(const std::string& text, std::uint64_t decimals) {
  const std::size_t point = text.find('.');
  return point == std::string::npos ? text : text.substr(0, point + 1 + decimals);
}

std::string truncated_decimal(const Real& x, std::uint64_t digits) {
  return with_point(scale(x, UpperBound(), digits).integer, digits);
}

}  // namespace pi
