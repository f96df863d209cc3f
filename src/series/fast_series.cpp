#include "series/fast_series.hpp"

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "series/binary_splitting.hpp"
#include "series/fingerprint.hpp"

namespace pi {
namespace {

// Guard digits carried beyond the digits asked for, so the enclosure almost never straddles a digit boundary.
constexpr std::uint64_t kGuardDigits = 20;

// Terms of Chudnovsky's series: 1/pi = 12/640320^(3/2) * sum_k (-1)^k (6k)! (13591409 + 545140134 k)
// / ((3k)! (k!)^3 640320^(3k)).
struct ChudnovskyTerms {
  static constexpr unsigned long kQFactor = 10939058860032000UL;  // 640320^3 / 24
  void leaf(std::uint64_t k, SplitTriple& out) const {
    if (k == 0) {
      out.p = 1;
      out.q = 1;
      out.t = 13591409;
      return;
    }
    mpz_set_ui(raw(out.p), 6 * k - 5);
    mpz_mul_ui(raw(out.p), raw(out.p), 2 * k - 1);
    mpz_mul_ui(raw(out.p), raw(out.p), 6 * k - 1);
    mpz_neg(raw(out.p), raw(out.p));
    mpz_set_ui(raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), kQFactor);
    mpz_set_ui(raw(out.t), 545140134);
    mpz_mul_ui(raw(out.t), raw(out.t), k);
    mpz_add_ui(raw(out.t), raw(out.t), 13591409);
    mpz_mul(raw(out.t), raw(out.t), raw(out.p));
  }
};

// Ramanujan (1914): 1/pi = 2 sqrt(2)/9801 * sum_k (4k)! (1103 + 26390 k) / ((k!)^4 396^(4k)).
struct RamanujanTerms {
  static constexpr unsigned long kQFactor = 24591257856UL;  // 396^4
  void leaf(std::uint64_t k, SplitTriple& out) const {
    if (k == 0) {
      out.p = 1;
      out.q = 1;
      out.t = 1103;
      return;
    }
    mpz_set_ui(raw(out.p), 8 * (4 * k - 1));
    mpz_mul_ui(raw(out.p), raw(out.p), 2 * k - 1);
    mpz_mul_ui(raw(out.p), raw(out.p), 4 * k - 3);
    mpz_set_ui(raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), k);
    mpz_mul_ui(raw(out.q), raw(out.q), kQFactor);
    mpz_set_ui(raw(out.t), 26390);
    mpz_mul_ui(raw(out.t), raw(out.t), k);
    mpz_add_ui(raw(out.t), raw(out.t), 1103);
    mpz_mul(raw(out.t), raw(out.t), raw(out.p));
  }
};

// x * arctan(1/x) = sum_k (-1)^k / ((2k+1) x^(2k)).
struct ArctanTerms {
  unsigned long x_squared;
  void leaf(std::uint64_t k, SplitTriple& out) const {
    if (k == 0) {
      out.p = 1;
      out.q = 1;
      out.t = 1;
      return;
    }
    mpz_set_si(raw(out.p), -static_cast<long>(2 * k - 1));
    mpz_set_ui(raw(out.q), 2 * k + 1);
    mpz_mul_ui(raw(out.q), raw(out.q), x_squared);
    out.t = out.p;
  }
};

// The same term families modulo a prime, in Montgomery form: p(k), q(k) and a(k) p(k) for k >= 1.
struct TermMod {
  std::uint64_t p, q, t;
};

// x R^e mod m, a plain number (Montgomery::to multiplies by R once).
std::uint64_t times_r(const Montgomery& m, std::uint64_t x, int e) {
  for (int i = 0; i < e; ++i) x = m.to(x);
  return x;
}

// Chudnovsky and Ramanujan: p(k) = sign c (x1 k - y1)(x2 k - y2)(x3 k - y3), q(k) = k^3 qf,
// a(k) = a0 + a1 k. Each product of plain factors is arranged to come out in Montgomery form directly:
// mul(a, b) is a b / R, so mul(mul(f1, f2), mul(f3, c R^4)) = c f1 f2 f3 R.
struct HyperMod {
  bool negative;
  std::uint64_t c, x1, y1, x2, y2, x3, y3, qf, a0, a1;
  struct Prepared {
    const Montgomery& m;
    std::uint64_t c_r4, qf_r4, a0_m, a1_r2;
  };
  Prepared prepare(const Montgomery& m) const {
    return Prepared{m, times_r(m, c, 4), times_r(m, qf, 4), m.to(a0), times_r(m, a1, 2)};
  }
  static TermMod at(const Prepared& pr, std::uint64_t k, const HyperMod& h) {
    const Montgomery& m = pr.m;
    std::uint64_t p = m.mul(m.mul(h.x1 * k - h.y1, h.x2 * k - h.y2), m.mul(h.x3 * k - h.y3, pr.c_r4));
    if (h.negative) p = m.neg(p);
    const std::uint64_t q = m.mul(m.mul(k, k), m.mul(k, pr.qf_r4));
    const std::uint64_t a = m.add(pr.a0_m, m.mul(pr.a1_r2, k));
    return TermMod{p, q, m.mul(a, p)};
  }
  std::uint64_t t0() const { return a0; }
};

// arctan(1/x): p(k) = -(2k - 1), q(k) = (2k + 1) x^2, a(k) = 1.
struct ArctanMod {
  std::uint64_t x_squared;
  struct Prepared {
    const Montgomery& m;
    std::uint64_t r2, x2_r2;
  };
  Prepared prepare(const Montgomery& m) const {
    return Prepared{m, times_r(m, 1, 2), times_r(m, x_squared, 2)};
  }
  static TermMod at(const Prepared& pr, std::uint64_t k, const ArctanMod&) {
    const Montgomery& m = pr.m;
    const std::uint64_t p = m.neg(m.mul(2 * k - 1, pr.r2));  // -(2k - 1) R
    return TermMod{p, m.mul(2 * k + 1, pr.x2_r2), p};
  }
  std::uint64_t t0() const { return 1; }
};

// The residues of split_range(terms, range, is_suffix) modulo each prime, appended to `out` as P, Q, T
// (value-major, as residues_of gives them): a left-to-right fold of the terms, which gives the same
// integers as the balanced split, the merge being associative; P is zero exactly when the split skips it.
template <class Mod>
void fold_residues(const Mod& family, Range range, bool is_suffix, const std::vector<std::uint64_t>& primes,
                   Residues& out) {
  const std::size_t base = out.size();
  out.resize(base + 3 * primes.size());
  for (std::size_t j = 0; j < primes.size(); ++j) {
    const Montgomery m(primes[j]);
    std::uint64_t p = 1, q = 1, t = 0;  // the empty range
    if (range.size() > 0) {
      const auto prepared = family.prepare(m);
      std::uint64_t P = m.one(), Q = m.one(), T = m.to(family.t0());
      std::uint64_t k = range.begin;
      if (k > 0) {
        const TermMod first = Mod::at(prepared, k, family);
        P = first.p;
        Q = first.q;
        T = first.t;
      }
      for (++k; k < range.end; ++k) {
        const TermMod r = Mod::at(prepared, k, family);
        T = m.add(m.mul(T, r.q), m.mul(P, r.t));  // T = T_l Q_r + P_l T_r
        P = m.mul(P, r.p);
        Q = m.mul(Q, r.q);
      }
      p = is_suffix && range.size() >= 2 ? 0 : m.from(P);
      q = m.from(Q);
      t = m.from(T);
    }
    out[base + j] = p;
    out[base + primes.size() + j] = q;
    out[base + 2 * primes.size() + j] = t;
  }
}

std::vector<BigInt> to_values(SplitTriple&& t) {
  return moved_values(std::move(t.p), std::move(t.q), std::move(t.t));
}
// The merge of the triples at `offset` of two adjacent partial results, as P, Q, T (P zero when the right one
// has none: a suffix).
std::vector<BigInt> merged_values(const PartialResult& left, const PartialResult& right, std::size_t offset,
                                  const ReadForTheLastTime& read = {}) {
  if (left.values.size() < offset + 3 || right.values.size() < offset + 3)
    throw SeriesError("a merge of partial results without their values");
  const auto at = [offset](const PartialResult& r) {
    return TripleRef{r.values[offset], r.values[offset + 1], r.values[offset + 2]};
  };
  return to_values(merged(at(left), at(right), right.values[offset] != 0, read));
}

// The products merge_into needs for the triples at `offset` of two partial results: T_l Q_r, P_l T_r,
// Q_l Q_r, and P_l P_r when the right one has a P.
using ProductList = std::vector<std::pair<std::size_t, std::size_t>>;
void triple_products(const PartialResult& right, std::size_t offset, ProductList& out) {
  out.emplace_back(offset + 2, offset + 1);
  out.emplace_back(offset, offset + 2);
  out.emplace_back(offset + 1, offset + 1);
  if (right.values.at(offset) != 0) out.emplace_back(offset, offset);
}

// The merged triple from its products (as triple_products lists them, starting at `next`), appended to
// `out` as P, Q, T: what merge_into gives.
void triple_from_products(const PartialResult& right, std::size_t offset, std::vector<BigInt>& products,
                          std::size_t& next, std::vector<BigInt>& out) {
  BigInt t = std::move(products.at(next));
  mpz_add(raw(t), raw(t), raw(products.at(next + 1)));
  BigInt q = std::move(products.at(next + 2));
  next += 3;
  BigInt p = 0;
  if (right.values.at(offset) != 0) p = std::move(products.at(next++));
  out.push_back(std::move(p));
  out.push_back(std::move(q));
  out.push_back(std::move(t));
}

template <class Terms>
SplitTriple split_range(const Terms& terms, Range range, bool is_suffix) {
  SplitTriple out;
  if (range.size() == 0) {  // the identity: P = Q = 1, T = 0
    out.p = 1;
    out.q = 1;
    out.t = 0;
    return out;
  }
  split(terms, range.begin, range.end, !is_suffix, out);
  return out;
}

std::uint64_t default_bits(std::uint64_t terms, double digits_per_term) {
  return bits_for_digits(static_cast<std::uint64_t>(static_cast<double>(terms) * digits_per_term)) + 64;
}

// out = num / den at out's precision: three correctly rounded operations (two conversions, one division).
void set_ratio(Real& out, const BigInt& num, const BigInt& den) {
  Real d = make_real(static_cast<std::uint64_t>(mpfr_get_prec(raw(out))));
  mpfr_set_z(raw(out), raw(num), MPFR_RNDN);
  mpfr_set_z(raw(d), raw(den), MPFR_RNDN);
  mpfr_div(raw(out), raw(out), raw(d), MPFR_RNDN);
}

// S = T/Q to 64 bits, rounded down (these sums are positive).
double sum_lower_bound(const BigInt& t, const BigInt& q) {
  Real tt = make_real(64), qq = make_real(64);
  mpfr_set_z(raw(tt), raw(t), MPFR_RNDD);
  mpfr_set_z(raw(qq), raw(q), MPFR_RNDU);
  mpfr_div(raw(tt), raw(tt), raw(qq), MPFR_RNDD);
  return mpfr_get_d(raw(tt), MPFR_RNDD);
}

class FastSeries : public Series {
 public:
  SeriesKind kind() const override { return SeriesKind::fast; }
  bool fingerprinted() const override { return true; }

  // Values come in triples (P, Q, T), each merging as merge_into does: P = P_l P_r, Q = Q_l Q_r,
  // T = T_l Q_r + P_l T_r (P_r = 0, a suffix, gives P = 0 as merge_into does).
  Residues combine_fingerprints(const Residues& left, const Residues& right,
                                const std::vector<std::uint64_t>& primes) const override {
    const std::size_t n = primes.size();
    if (n == 0 || left.size() != right.size() || left.size() % (3 * n) != 0)
      throw SeriesError(std::string(name()) + ": fingerprints of different shapes");
    Residues out(left.size());
    for (std::size_t base = 0; base < left.size(); base += 3 * n) {
      for (std::size_t j = 0; j < n; ++j) {
        const std::uint64_t p = primes[j];
        const std::uint64_t pl = left[base + j], ql = left[base + n + j], tl = left[base + 2 * n + j];
        const std::uint64_t pr = right[base + j], qr = right[base + n + j], tr = right[base + 2 * n + j];
        out[base + j] = mul_mod(pl, pr, p);
        out[base + n + j] = mul_mod(ql, qr, p);
        out[base + 2 * n + j] = (mul_mod(tl, qr, p) + mul_mod(pl, tr, p)) % p;
      }
    }
    return out;
  }
  std::uint64_t max_terms() const override { return std::uint64_t{1} << 40; }
  std::optional<std::uint64_t> terms_for_digits(std::uint64_t digits) const override {
    return static_cast<std::uint64_t>(
               std::ceil(static_cast<double>(digits + kGuardDigits) / digits_per_term())) +
           1;
  }

 protected:
  static void check_prefix(const PartialResult& prefix, std::string_view name) {
    if (prefix.range.begin != 0 || prefix.range.end == 0) {
      throw SeriesError(std::string(name) + ": estimate needs a non-empty prefix [0, n)");
    }
  }
  static void check_adjacent(const PartialResult& left, const PartialResult& right, std::string_view name) {
    if (left.range.end != right.range.begin)
      throw SeriesError(std::string(name) + ": combine of non-adjacent ranges");
  }
};

// Chudnovsky and Ramanujan share their shape: pi = constant * Q / T.
template <class Terms>
class HypergeometricSeries final : public FastSeries {
 public:
  struct Spec {
    std::string name;
    double digits_per_term;  // -log10 of the term-ratio bound rho
    double rho;              // |p(k)/q(k)| < rho for every k >= 1
    unsigned long a0, a1;    // a(k) = a0 + a1 k
  };

  HypergeometricSeries(Spec spec, Terms terms, HyperMod mod)
      : spec_(std::move(spec)), terms_(terms), mod_(mod) {}

  Residues fingerprint(Range range, bool is_suffix, const std::vector<std::uint64_t>& primes) const override {
    Residues out;
    fold_residues(mod_, range, is_suffix, primes, out);
    return out;
  }

  std::string_view name() const override { return spec_.name; }
  double digits_per_term() const override { return spec_.digits_per_term; }

  PartialResult evaluate(Range range, bool is_suffix) const override {
    return PartialResult{range, to_values(split_range(terms_, range, is_suffix))};
  }

  PartialResult combine(const PartialResult& left, const PartialResult& right) const override {
    check_adjacent(left, right, spec_.name);
    return PartialResult{Range{left.range.begin, right.range.end}, merged_values(left, right, 0)};
  }

  PartialResult combine_releasing(std::shared_ptr<const PartialResult> left,
                                  std::shared_ptr<const PartialResult> right) const override {
    check_adjacent(*left, *right, spec_.name);
    // An integer goes when this call is by then its piece's only holder: a checkpoint written in the
    // background may hold the pieces for a moment after the merge began, and nobody takes them again.
    // (The acquire fence orders the frees after the other holder's last reads, whose release was the count
    // this saw drop to one.) The pieces were made as PartialResult objects (Series::combine_releasing).
    const auto read = [&left, &right](Side side, Part part) {
      const std::shared_ptr<const PartialResult>& piece = side == Side::left ? left : right;
      if (piece.use_count() != 1) return;
      std::atomic_thread_fence(std::memory_order_acquire);
      BigInt& x = std::const_pointer_cast<PartialResult>(piece)->values[static_cast<std::size_t>(part)];
      BigInt gone(std::move(x));
    };
    return PartialResult{Range{left->range.begin, right->range.end}, merged_values(*left, *right, 0, read)};
  }

  std::vector<std::pair<std::size_t, std::size_t>> merge_products(const PartialResult& left,
                                                                  const PartialResult& right) const override {
    check_adjacent(left, right, spec_.name);
    ProductList out;
    triple_products(right, 0, out);
    return out;
  }

  PartialResult merge_from_products(const PartialResult& left, const PartialResult& right,
                                    std::vector<BigInt> products) const override {
    check_adjacent(left, right, spec_.name);
    std::vector<BigInt> v;
    std::size_t next = 0;
    triple_from_products(right, 0, products, next, v);
    if (next != products.size()) throw SeriesError(spec_.name + ": wrong number of merge products");
    return PartialResult{Range{left.range.begin, right.range.end}, std::move(v)};
  }

  void prepare(std::uint64_t precision_bits) const override {
    if (precision_bits == 0) return;
    {
      std::lock_guard lock(mutex_);
      if (preparing_ != 0 || constants_.contains(precision_bits)) return;
      preparing_ = precision_bits;
    }
    Real root = make_real(precision_bits);
    constant(root);
    {
      std::lock_guard lock(mutex_);
      remember_constant(precision_bits, std::move(root));
      preparing_ = 0;
    }
    prepared_.notify_all();
  }

  bool has_constant() const override { return true; }

  std::optional<PartialResult> constant_piece(std::uint64_t precision_bits) const override {
    if (precision_bits == 0) throw SeriesError(spec_.name + ": a constant needs a precision");
    prepare(precision_bits);
    std::unique_lock lock(mutex_);
    return constant_as_piece(cached_constant(lock, precision_bits));
  }

  void adopt_constant(std::uint64_t precision_bits, const PartialResult& piece) const override {
    if (piece.values.size() != 2 || !mpz_fits_slong_p(raw(piece.values[1])) ||
        mpz_sizeinbase(raw(piece.values[0]), 2) > precision_bits || precision_bits == 0)
      throw SeriesError(spec_.name + ": not a constant of " + std::to_string(precision_bits) + " bits");
    Real c = make_real(precision_bits);
    mpfr_set_z_2exp(raw(c), raw(piece.values[0]), mpz_get_si(raw(piece.values[1])), MPFR_RNDN);  // exactly
    std::lock_guard lock(mutex_);
    if (!constants_.contains(precision_bits)) remember_constant(precision_bits, std::move(c));
  }

  PrefixEstimates estimate(const PartialResult& prefix, std::uint64_t precision_bits) const override {
    return estimate_rounded(round_prefix(prefix, precision_bits));
  }

  PrefixEstimates estimate_releasing(std::shared_ptr<const PartialResult> prefix,
                                     std::uint64_t precision_bits) const override {
    Rounded rounded = round_prefix(*prefix, precision_bits);
    prefix.reset();  // the exact Q and T: 2.5 times the rounded ones, no longer needed here
    return estimate_rounded(std::move(rounded));
  }

  PrefixEstimates estimate_with(const PartialResult& prefix, std::uint64_t precision_bits,
                                const ProductFn& product) const override {
    return estimate_rounded(round_prefix(prefix, precision_bits), &product);
  }

 private:
  // What the final steps need of a prefix's exact integers: T and Q rounded to the working precision (two
  // correctly rounded conversions) and a lower bound of the sum T/Q.
  struct Rounded {
    std::uint64_t terms;
    std::uint64_t bits;
    Real t, q;
    double s_low;
  };

  Rounded round_prefix(const PartialResult& prefix, std::uint64_t precision_bits) const {
    check_prefix(prefix, spec_.name);
    const std::uint64_t n = prefix.range.end;
    const std::uint64_t bits = precision_bits ? precision_bits : default_bits(n, spec_.digits_per_term);
    const BigInt& q = prefix.values.at(1);
    const BigInt& t = prefix.values.at(2);
    Rounded r{n, bits, make_real(bits), make_real(bits), sum_lower_bound(t, q)};
    mpfr_set_z(raw(r.q), raw(q), MPFR_RNDN);
    mpfr_set_z(raw(r.t), raw(t), MPFR_RNDN);
    return r;
  }

  // `product`: the products of the division and of the constant's multiplication go through it (the same
  // reals either way).
  PrefixEstimates estimate_rounded(Rounded r, const ProductFn* product = nullptr) const {
    const std::uint64_t n = r.terms;
    const std::uint64_t bits = r.bits;
    Real value = make_real(bits);
    {
      const Real q = std::move(r.q), t = std::move(r.t);  // go with this scope
      // Q / T: the third correctly rounded operation
      if (product) {
        divide_nearest(value, q, t, *product);
      } else {
        divide_nearest(value, q, t);
      }
    }
    {
      Real times = make_real(bits);
      std::unique_lock lock(mutex_);
      if (product) {
        // Not under the lock, as the product may wait for other workers: a copy, which a later precision
        // can't push out of the cache meanwhile.
        const Real c = cached_constant(lock, bits);
        lock.unlock();
        multiply_nearest(times, value, c, *product);
      } else {
        multiply_nearest(times, value, cached_constant(lock, bits));
      }
      value.swap(times);
    }

    // Truncation: every omitted term shrinks by rho times a(k+1)/a(k) <= 2 (k >= 1), so the tail of S is at
    // most a(n) rho^n / (1 - 2 rho); then |pi - pi_n| <= pi_n * tail / S <= 2.1 pi~ tail / S_n when tail <=
    // S_n / 2.
    UpperBound tail =
        UpperBound(static_cast<double>(spec_.a0) + static_cast<double>(spec_.a1) * static_cast<double>(n)) *
        UpperBound::power(UpperBound(spec_.rho), n);
    tail /= 1.0 - 2.0 * spec_.rho;
    UpperBound relative = UpperBound::pow2(3 - static_cast<std::int64_t>(bits));  // 6 correctly rounded ops
    tail /= r.s_low / 2.1;
    relative += tail;
    UpperBound err = UpperBound::from_real(value) * relative;
    return PrefixEstimates{Estimate{std::move(value), std::move(err), "binary splitting"}, std::nullopt};
  }

  // The constant c with pi = c Q / T, at out's precision.
  // `product`: the square root's products (and Ramanujan's division's) through it, the same real.
  void constant(Real& out, const ProductFn* product = nullptr) const;

 public:
  std::optional<PartialResult> constant_piece_with(std::uint64_t precision_bits,
                                                   const ProductFn& product) const override {
    if (precision_bits == 0) throw SeriesError(spec_.name + ": a constant needs a precision");
    Real c = make_real(precision_bits);
    constant(c, &product);
    return constant_as_piece(c);
  }

 private:
  // A constant as a piece: its mantissa and exponent, exactly (what adopt_constant takes back).
  static PartialResult constant_as_piece(const Real& c) {
    BigInt mantissa;
    const long exponent = mpfr_get_z_2exp(raw(mantissa), raw(c));
    return PartialResult{Range{0, 0}, moved_values(std::move(mantissa), BigInt(exponent))};
  }

  // The constant at `bits` from the cache (`lock` holds mutex_), computed here if it is not there. A
  // prepare() of this precision under way (the square root while a division ran) is waited for.
  const Real& cached_constant(std::unique_lock<std::mutex>& lock, std::uint64_t bits) const {
    prepared_.wait(lock, [&] { return preparing_ != bits; });
    auto it = constants_.find(bits);
    if (it == constants_.end()) {
      Real c = make_real(bits);
      constant(c);
      it = remember_constant(bits, std::move(c));
    }
    return it->second;
  }

  // Live estimates use a low precision, the final one the job's: both stay cached (the biggest few).
  std::map<std::uint64_t, Real>::iterator remember_constant(std::uint64_t bits, Real value) const {
    auto it = constants_.insert_or_assign(bits, std::move(value)).first;
    if (constants_.size() > 3)
      constants_.erase(constants_.begin() == it ? std::next(it) : constants_.begin());
    return it;
  }

  Spec spec_;
  Terms terms_;
  HyperMod mod_;
  mutable std::mutex mutex_;
  mutable std::map<std::uint64_t, Real> constants_;  // c with pi = c Q / T, by precision
  mutable std::uint64_t preparing_ = 0;              // the precision prepare() is computing (0: none)
  mutable std::condition_variable prepared_;
};

template <>
void HypergeometricSeries<ChudnovskyTerms>::constant(Real& out, const ProductFn* product) const {
  // pi = 426880 sqrt(10005) Q / T: two correctly rounded operations.
  if (product) {
    sqrt_nearest(out, 10005, *product);
  } else {
    mpfr_sqrt_ui(raw(out), 10005, MPFR_RNDN);
  }
  mpfr_mul_ui(raw(out), raw(out), 426880, MPFR_RNDN);
}

template <>
void HypergeometricSeries<RamanujanTerms>::constant(Real& out, const ProductFn* product) const {
  // pi = 9801 Q / (sqrt(8) T) = (9801 / sqrt(8)) Q / T: three correctly rounded operations.
  const auto bits = static_cast<std::uint64_t>(mpfr_get_prec(raw(out)));
  Real root = make_real(bits);
  if (product) {
    sqrt_nearest(root, 8, *product);
    Real numerator = make_real(bits);
    mpfr_set_ui(raw(numerator), 9801, MPFR_RNDN);  // exactly
    divide_nearest(out, numerator, root, *product);
    return;
  }
  mpfr_sqrt_ui(raw(root), 8, MPFR_RNDN);
  mpfr_ui_div(raw(out), 9801, raw(root), MPFR_RNDN);
}

// Machin (1706): pi = 16 arctan(1/5) - 4 arctan(1/239). Term k of this series is term k of the 1/5 arctan;
// the 1/239 arctan, which converges 3.4 times faster, takes its terms [f(a), f(b)) with f(k) = ceil(k *
// 0.2938) so that both tails stay of the same size and ranges still partition exactly.
class Machin final : public FastSeries {
 public:
  std::string_view name() const override { return "machin"; }
  double digits_per_term() const override { return 2.0 * std::log10(5.0); }

  static std::uint64_t slow_to_fast(std::uint64_t k) {
    const Uint128 scaled = static_cast<Uint128>(k) * 2938u;
    return static_cast<std::uint64_t>((scaled + 9999u) / 10000u);
  }

  Residues fingerprint(Range range, bool is_suffix, const std::vector<std::uint64_t>& primes) const override {
    Residues out;
    fold_residues(ArctanMod{25}, range, is_suffix, primes, out);
    fold_residues(ArctanMod{57121}, Range{slow_to_fast(range.begin), slow_to_fast(range.end)}, is_suffix,
                  primes, out);
    return out;
  }

  PartialResult evaluate(Range range, bool is_suffix) const override {
    std::vector<BigInt> v = to_values(split_range(ArctanTerms{25}, range, is_suffix));
    const Range fast{slow_to_fast(range.begin), slow_to_fast(range.end)};
    for (BigInt& x : to_values(split_range(ArctanTerms{57121}, fast, is_suffix))) v.push_back(std::move(x));
    return PartialResult{range, std::move(v)};
  }

  PartialResult combine(const PartialResult& left, const PartialResult& right) const override {
    check_adjacent(left, right, "machin");
    std::vector<BigInt> v;
    for (std::size_t offset : {std::size_t{0}, std::size_t{3}}) {
      for (BigInt& x : merged_values(left, right, offset)) v.push_back(std::move(x));
    }
    return PartialResult{Range{left.range.begin, right.range.end}, std::move(v)};
  }

  std::vector<std::pair<std::size_t, std::size_t>> merge_products(const PartialResult& left,
                                                                  const PartialResult& right) const override {
    check_adjacent(left, right, "machin");
    ProductList out;
    triple_products(right, 0, out);
    triple_products(right, 3, out);
    return out;
  }

  PartialResult merge_from_products(const PartialResult& left, const PartialResult& right,
                                    std::vector<BigInt> products) const override {
    check_adjacent(left, right, "machin");
    std::vector<BigInt> v;
    std::size_t next = 0;
    triple_from_products(right, 0, products, next, v);
    triple_from_products(right, 3, products, next, v);
    if (next != products.size()) throw SeriesError("machin: wrong number of merge products");
    return PartialResult{Range{left.range.begin, right.range.end}, std::move(v)};
  }

  PrefixEstimates estimate(const PartialResult& prefix, std::uint64_t precision_bits) const override {
    check_prefix(prefix, "machin");
    const std::uint64_t n = prefix.range.end;
    const std::uint64_t bits = precision_bits ? precision_bits : default_bits(n, digits_per_term());
    Real a5 = arctan_part(prefix.values, 0, 16, 5, bits);
    Real a239 = arctan_part(prefix.values, 3, 4, 239, bits);
    Real value = make_real(bits);
    mpfr_sub(raw(value), raw(a5), raw(a239), MPFR_RNDN);

    // Each part has 5 correctly rounded operations, the difference one more.
    UpperBound err =
        (UpperBound::from_real(a5) + UpperBound::from_real(a239) + UpperBound::from_real(value)) *
        UpperBound::pow2(3 - static_cast<std::int64_t>(bits));
    // Alternating with decreasing terms: arctan(1/x) after m terms errs by at most 1/((2m+1) x^(2m+1)).
    err += arctan_tail(16, 5, n) + arctan_tail(4, 239, slow_to_fast(n));
    return PrefixEstimates{Estimate{std::move(value), std::move(err), "binary splitting"}, std::nullopt};
  }

 private:
  // factor * T / (x * Q)
  static Real arctan_part(const std::vector<BigInt>& v, std::size_t offset, unsigned long factor,
                          unsigned long x, std::uint64_t bits) {
    Real num = make_real(bits);
    set_ratio(num, v.at(offset + 2), v.at(offset + 1));
    mpfr_mul_ui(raw(num), raw(num), factor, MPFR_RNDN);
    mpfr_div_ui(raw(num), raw(num), x, MPFR_RNDN);
    return num;
  }

  static UpperBound arctan_tail(unsigned long factor, unsigned long x, std::uint64_t m) {
    UpperBound b = UpperBound::power(UpperBound(1.0 / static_cast<double>(x)), 2 * m + 1);
    b *= UpperBound(static_cast<double>(factor));
    b /= static_cast<double>(2 * m + 1);
    // 1/x as a double is not exact for x = 239: allow for its rounding.
    return b * UpperBound(1.0 + 1e-12 * static_cast<double>(2 * m + 2));
  }
};

}  // namespace

std::unique_ptr<Series> make_chudnovsky() {
  using S = HypergeometricSeries<ChudnovskyTerms>;
  // rho = 1728 / 640320^3 = 1 / 151931373056000
  return std::make_unique<S>(
      S::Spec{"chudnovsky", std::log10(151931373056000.0), 1.0 / 151931373056000.0 * (1 + 1e-12), 13591409,
              545140134},
      ChudnovskyTerms{}, HyperMod{true, 1, 6, 5, 2, 1, 6, 1, ChudnovskyTerms::kQFactor, 13591409, 545140134});
}

std::unique_ptr<Series> make_ramanujan() {
  using S = HypergeometricSeries<RamanujanTerms>;
  // rho = 256 / 396^4
  return std::make_unique<S>(S::Spec{"ramanujan", std::log10(24591257856.0 / 256.0),
                                     256.0 / 24591257856.0 * (1 + 1e-12), 1103, 26390},
                             RamanujanTerms{},
                             HyperMod{false, 8, 4, 1, 2, 1, 4, 3, RamanujanTerms::kQFactor, 1103, 26390});
}

std::unique_ptr<Series> make_machin() { return std::make_unique<Machin>(); }

}  // namespace pi
