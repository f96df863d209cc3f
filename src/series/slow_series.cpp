#include "series/slow_series.hpp"

#include <cmath>
#include <string>

#include "series/interval.hpp"
#include "series/slow_kernels.hpp"

namespace pi {
namespace {

constexpr std::uint64_t kSlowBits = 256;
constexpr double kUnitRoundoff = 0x1p-53;
// Orders of the Euler transform used for the accelerated tail of alternating series.
constexpr int kEulerOrder = 3;

class SlowSeries : public Series {
 public:
  SlowSeries(std::string name, SlowTerm term, double term_error_ulps)
      : name_(std::move(name)), term_(term), term_error_ulps_(term_error_ulps) {}

  std::string_view name() const override { return name_; }
  SeriesKind kind() const override { return SeriesKind::slow; }
  std::uint64_t max_terms() const override { return std::uint64_t{1} << 52; }
  double digits_per_term() const override { return 0.0; }

  PartialResult evaluate(Range range, bool /*is_suffix*/) const override {
    return PartialResult{range, {sum_range_fixed(term_, range)}};
  }

  PartialResult combine(const PartialResult& left, const PartialResult& right) const override {
    if (left.range.end != right.range.begin) throw SeriesError(name_ + ": combine of non-adjacent ranges");
    return PartialResult{Range{left.range.begin, right.range.end}, {left.values.at(0) + right.values.at(0)}};
  }

  PrefixEstimates estimate(const PartialResult& prefix, std::uint64_t /*precision_bits*/) const override {
    if (prefix.range.begin != 0) throw SeriesError(name_ + ": estimate needs a prefix [0, n)");
    const std::uint64_t n = prefix.range.end;
    const Interval sum =
        widen(interval_of(prefix.values.at(0), -kFixedPointBits, kSlowBits), rounding_bound(n));
    PrefixEstimates out{to_estimate(to_pi(sum + tail(n, false)), "partial sum"), std::nullopt};
    out.accelerated = to_estimate(to_pi(sum + tail(n, true)), accelerated_method());
    return out;
  }

  std::optional<std::uint64_t> terms_for_digits(std::uint64_t digits) const override {
    // Two spare digits so that the enclosure rarely straddles a digit boundary.
    if (digits > 30) return std::nullopt;
    const double target = std::pow(10.0, -static_cast<double>(digits) - 2.0);
    constexpr std::uint64_t kSearchLimit = std::uint64_t{1} << 40;
    std::uint64_t n = 1;
    while (n < kSearchLimit && accelerated_width(n) > target) n *= 2;
    if (accelerated_width(n) > target) return std::nullopt;
    std::uint64_t lo = n / 2, hi = n;  // width(hi) <= target
    while (hi - lo > 1) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      (accelerated_width(mid) <= target ? hi : lo) = mid;
    }
    return hi;
  }

 protected:
  // An upper bound on sum_{k<n} |x_k|.
  virtual double abs_sum_bound(std::uint64_t n) const = 0;
  // An enclosure of sum_{k>=n} x_k.
  virtual Interval tail(std::uint64_t n, bool accelerated) const = 0;
  virtual Interval to_pi(const Interval& sum) const = 0;
  virtual std::string accelerated_method() const = 0;

 private:
  // Kahan summation per lane errs by at most (2u + O(m u^2)) sum|x| (Higham, Accuracy and Stability, 4.3);
  // each term is itself computed with `term_error_ulps` roundings. The lane fold into fixed point is exact.
  UpperBound rounding_bound(std::uint64_t n) const {
    const double nd = static_cast<double>(n);
    UpperBound factor((term_error_ulps_ + 3.0 + 4.0 * nd * kUnitRoundoff) * kUnitRoundoff);
    return factor * UpperBound(abs_sum_bound(n) * (1.0 + 1e-12));
  }

  double accelerated_width(std::uint64_t n) const {
    const Interval t = tail(n, true);
    Real w = make_real(64);
    mpfr_sub(raw(w), raw(t.hi), raw(t.lo), MPFR_RNDU);
    // d(pi)/d(sum) is at most 4 for these series (Basel: 3/pi < 1).
    return 4.0 *
           (mpfr_get_d(raw(w), MPFR_RNDU) + 2.0 * mpfr_get_d(raw(rounding_bound(n).value()), MPFR_RNDU));
  }

  static Estimate to_estimate(const Interval& pi_enclosure, std::string method) {
    Midpoint m = midpoint(pi_enclosure);
    return Estimate{std::move(m.value), std::move(m.radius), std::move(method)};
  }

  std::string name_;
  SlowTerm term_;
  double term_error_ulps_;
};

// Alternating series sum (-1)^k a_k with a_k = integral of y^k against a positive measure on [0, 1]. Then the
// remainder after n terms is (-1)^n E with E = sum_m D_m / 2^(m+1), D_m = (-1)^m Delta^m a_n >= 0, and D_m is
// non-increasing in m, so truncating after M terms leaves 0 <= rest <= D_M / 2^M (Euler's transform).
class AlternatingSeries : public SlowSeries {
 public:
  using SlowSeries::SlowSeries;

 protected:
  virtual Rational magnitude(std::uint64_t k) const = 0;  // a_k, exactly

  Interval tail(std::uint64_t n, bool accelerated) const override {
    const int order = accelerated ? kEulerOrder : 0;
    // Forward differences of a_n..a_{n+order}, exactly.
    std::vector<Rational> diffs;
    for (int j = 0; j <= order; ++j) diffs.push_back(magnitude(n + static_cast<std::uint64_t>(j)));
    std::vector<Rational> d_m;  // D_m = (-1)^m Delta^m a_n
    for (int m = 0; m <= order; ++m) {
      d_m.push_back(m % 2 == 0 ? diffs[0] : Rational(-diffs[0]));
      for (std::size_t j = 0; j + 1 < diffs.size(); ++j) diffs[j] = diffs[j + 1] - diffs[j];
      diffs.pop_back();
    }
    Rational low = 0;
    Rational weight = Rational(1, 2);
    for (int m = 0; m < order; ++m) {
      low += d_m[static_cast<std::size_t>(m)] * weight;
      weight /= 2;
    }
    const Rational high = low + d_m[static_cast<std::size_t>(order)] * weight * 2;
    Interval e{interval_of(low, kSlowBits).lo, interval_of(high, kSlowBits).hi};
    if (n % 2 == 1) {
      Interval neg = make_interval(kSlowBits);
      mpfr_neg(raw(neg.lo), raw(e.hi), MPFR_RNDD);
      mpfr_neg(raw(neg.hi), raw(e.lo), MPFR_RNDU);
      return neg;
    }
    return e;
  }

  std::string accelerated_method() const override { return "accelerated (Euler transform of the tail)"; }
};

class Leibniz final : public AlternatingSeries {
 public:
  Leibniz() : AlternatingSeries("leibniz", SlowTerm::leibniz, 1.0) {}

 protected:
  Rational magnitude(std::uint64_t k) const override { return Rational(1, BigInt(2) * k + 1); }
  double abs_sum_bound(std::uint64_t n) const override {
    return 1.0 + 0.5 * std::log(2.0 * static_cast<double>(n) + 1.0);
  }
  Interval to_pi(const Interval& sum) const override { return scale_shift(sum, 4, 0); }
};

class Nilakantha final : public AlternatingSeries {
 public:
  // Two products and a division per term.
  Nilakantha() : AlternatingSeries("nilakantha", SlowTerm::nilakantha, 3.0) {}

 protected:
  Rational magnitude(std::uint64_t k) const override {
    const BigInt m = BigInt(2) * k + 2;
    return Rational(1, m * (m + 1) * (m + 2));
  }
  double abs_sum_bound(std::uint64_t /*n*/) const override { return 0.0625; }  // sum is below 0.054
  Interval to_pi(const Interval& sum) const override { return scale_shift(sum, 4, 3); }
};

// pi = sqrt(6 * sum_{j>=1} 1/j^2). The tail sum_{j>=N} 1/j^2 is enclosed by the integral test, or,
// accelerated, by Euler-Maclaurin: for a completely monotone f the remainder after each correction term lies
// between zero and the first omitted term, here 1/(42 N^7).
class Basel final : public SlowSeries {
 public:
  // The square n*n and the division.
  Basel() : SlowSeries("basel", SlowTerm::basel, 2.0) {}

 protected:
  double abs_sum_bound(std::uint64_t /*n*/) const override { return 1.6449340668482264 * (1 + 1e-15); }

  Interval tail(std::uint64_t n, bool accelerated) const override {
    const BigInt big_n = BigInt(n) + 1;  // first omitted j
    const Rational inv(1, big_n);
    if (!accelerated) {
      const Rational upper = n >= 1 ? Rational(1, BigInt(n)) : Rational(2);
      return Interval{interval_of(inv, kSlowBits).lo, interval_of(upper, kSlowBits).hi};
    }
    const Rational inv2 = inv * inv, inv3 = inv2 * inv, inv5 = inv3 * inv2, inv7 = inv5 * inv2;
    const Rational low = inv + inv2 / 2 + inv3 / 6 - inv5 / 30;
    return Interval{interval_of(low, kSlowBits).lo, interval_of(Rational(low + inv7 / 42), kSlowBits).hi};
  }

  Interval to_pi(const Interval& sum) const override {
    Interval r = make_interval(kSlowBits);
    mpfr_mul_ui(raw(r.lo), raw(sum.lo), 6, MPFR_RNDD);
    mpfr_sqrt(raw(r.lo), raw(r.lo), MPFR_RNDD);
    mpfr_mul_ui(raw(r.hi), raw(sum.hi), 6, MPFR_RNDU);
    mpfr_sqrt(raw(r.hi), raw(r.hi), MPFR_RNDU);
    return r;
  }

  std::string accelerated_method() const override { return "accelerated (Euler-Maclaurin tail)"; }
};

}  // namespace

std::unique_ptr<Series> make_leibniz() { return std::make_unique<Leibniz>(); }
std::unique_ptr<Series> make_basel() { return std::make_unique<Basel>(); }
std::unique_ptr<Series> make_nilakantha() { return std::make_unique<Nilakantha>(); }

}  // namespace pi
