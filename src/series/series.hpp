// The series interface: the partial result of a range of terms, an associative combine of adjacent partial
// results, and a rigorous estimate of pi from the partial result of a prefix. Pure math: no MPI, no I/O.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "series/bigint.hpp"
#include "series/bound.hpp"
#include "series/fingerprint.hpp"

namespace pi {

// Half-open range of term indices [begin, end).
struct Range {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
  friend bool operator==(const Range&, const Range&) = default;
};

enum class SeriesKind { slow, fast };

// The exact partial result of a range. Its integers mean whatever the series says; the coordinator only
// moves, stores and combines them through the series.
struct PartialResult {
  Range range;
  std::vector<BigInt> values;
  friend bool operator==(const PartialResult&, const PartialResult&) = default;
};

// An enclosure of pi: |pi - value| <= error_bound, proven.
struct Estimate {
  Real value;
  UpperBound error_bound;
  std::string method;  // "partial sum", "accelerated (Euler transform tail)", "binary splitting", ...
};

// A prefix estimate of a slow series may come in two flavours; fast series give only the first.
struct PrefixEstimates {
  Estimate partial_sum;
  std::optional<Estimate> accelerated;
  const Estimate& best() const { return accelerated ? *accelerated : partial_sum; }
};

class SeriesError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Series {
 public:
  virtual ~Series() = default;
  virtual std::string_view name() const = 0;
  virtual SeriesKind kind() const = 0;
  // Largest prefix this series supports (slow series index their terms in doubles).
  virtual std::uint64_t max_terms() const = 0;
  // Terms that make the (best) estimate's proven bound reach `digits` correct decimals after the point, or
  // nullopt when this series can't get there (e.g. a slow series asked for 40 digits).
  virtual std::optional<std::uint64_t> terms_for_digits(std::uint64_t digits) const = 0;
  // Decimal digits after the point one term adds, roughly; for planning and for ETAs.
  virtual double digits_per_term() const = 0;

  // `is_suffix` says the range ends the job: such results never become a left operand, so fast series skip
  // the product that only a left operand needs.
  virtual PartialResult evaluate(Range range, bool is_suffix) const = 0;
  virtual PartialResult combine(const PartialResult& left, const PartialResult& right) const = 0;
  // combine(*left, *right), the same integers, taking the operands: when the call holds the only reference
  // to both, a series may free each of their integers once the last product that reads it is made, so that
  // the merge's peak is its first product's rather than its last's (at 1e8 digits of chudnovsky, the root
  // merge's: about 100 MB less). Pieces are made as PartialResult objects, not const ones, for this.
  // Taken by value, so that the caller holds them no longer:
  // NOLINTBEGIN(performance-unnecessary-value-param)
  virtual PartialResult combine_releasing(std::shared_ptr<const PartialResult> left,
                                          std::shared_ptr<const PartialResult> right) const {
    return combine(*left, *right);
  }
  // NOLINTEND(performance-unnecessary-value-param)
  // A big merge can be cut into its products, computed apart (on different workers) and put together again.
  // The products a merge of `left` and `right` needs, each as {index of a value of left, index of a value of
  // right}; empty when this series does not cut its merges.
  virtual std::vector<std::pair<std::size_t, std::size_t>> merge_products(
      const PartialResult& /*left*/, const PartialResult& /*right*/) const {
    return {};
  }
  // combine(left, right) from those products, given in the same order: the same integers.
  virtual PartialResult merge_from_products(const PartialResult& left, const PartialResult& right,
                                            std::vector<BigInt> products) const;
  // Computes ahead what estimate() at `precision_bits` needs that does not depend on the partial result (a
  // square root), so that it can run while the series does. Safe to call from another thread than the one
  // that evaluates ranges; estimate() waits for nothing and recomputes if it was not called.
  virtual void prepare(std::uint64_t /*precision_bits*/) const {}
  // Whether the final steps have a constant that constant_piece() gives.
  virtual bool has_constant() const { return false; }
  // What prepare() computes, as a piece that can travel to another process: the constant at
  // `precision_bits` (correctly rounded) as {mantissa, exponent} with value mantissa * 2^exponent, the
  // mantissa at most `precision_bits` bits (Range{0, 0}); nullopt for a series without one. On workers it
  // is a task of its own, run by a worker that would otherwise idle near the series' end, so that the
  // worker doing the final steps does not compute it beside its division.
  virtual std::optional<PartialResult> constant_piece(std::uint64_t /*precision_bits*/) const {
    return std::nullopt;
  }
  // constant_piece()'s piece, bit for bit, with its square root's products (Newton's) made through
  // `product`: on a job's workers, spread over the others.
  virtual std::optional<PartialResult> constant_piece_with(std::uint64_t precision_bits,
                                                           const ProductFn& /*product*/) const {
    return constant_piece(precision_bits);
  }
  // Takes a constant_piece() of `precision_bits` computed elsewhere as prepare() would have computed it here
  // (the same correctly rounded value). Throws SeriesError when it is not one: the wrong number of values,
  // or a mantissa wider than the precision.
  virtual void adopt_constant(std::uint64_t /*precision_bits*/, const PartialResult& /*piece*/) const {}
  // `precision_bits` is the working precision of the final steps (0: the series' own choice for the prefix).
  virtual PrefixEstimates estimate(const PartialResult& prefix, std::uint64_t precision_bits) const = 0;
  // estimate(*prefix, precision_bits), letting go of `prefix` as soon as what follows no longer needs its
  // integers: when the caller holds no other reference, the series' exact result (about 2.5 times the size of
  // the final division's operands) is freed before the division instead of after it. The pointer is taken by
  // value to hand the reference over; this default keeps it to the end, as estimate() would.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual PrefixEstimates estimate_releasing(std::shared_ptr<const PartialResult> prefix,
                                             std::uint64_t precision_bits) const {
    return estimate(*prefix, precision_bits);
  }
  // estimate()'s estimate, bit for bit, with the final steps' large products (the division's, by Newton's
  // iteration, and the constant's) made through `product`: on a job's workers, spread over the others. This
  // default (slow series: no such products) is estimate().
  virtual PrefixEstimates estimate_with(const PartialResult& prefix, std::uint64_t precision_bits,
                                        const ProductFn& /*product*/) const {
    return estimate(prefix, precision_bits);
  }

  // Fingerprints (fast series): the residues (residues_of) that evaluate(range, is_suffix)'s values have
  // modulo each prime, from the term formulas in word arithmetic, in time proportional to the range's size;
  // and those of combine(left, right)'s values from its operands' residues, in constant time. Slow series
  // have none (fingerprinted() is false; both throw SeriesError).
  virtual bool fingerprinted() const { return false; }
  virtual Residues fingerprint(Range range, bool is_suffix, const std::vector<std::uint64_t>& primes) const;
  virtual Residues combine_fingerprints(const Residues& left, const Residues& right,
                                        const std::vector<std::uint64_t>& primes) const;
};

std::unique_ptr<Series> make_series(std::string_view name);  // throws SeriesError for an unknown name
const std::vector<std::string>& series_names();

}  // namespace pi
