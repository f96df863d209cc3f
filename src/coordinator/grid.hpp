// The range grid: how a job's terms are cut into fine ranges (grid ranges; `Range` is an interval of terms).
// It is a function of the series and the term count only, never of timing or rank count, which is what keeps
// every result reproducible. Grid ranges are computed on demand, so a grid of 2^28 of them costs nothing to
// hold.
#pragma once

#include <cstdint>

#include "series/series.hpp"

namespace pi {

inline constexpr std::uint64_t kSlowRangeTerms = std::uint64_t{1} << 24;
inline constexpr std::uint64_t kFastMinRangeTerms = 64;
inline constexpr std::uint64_t kFastMaxRanges = 4096;

class Grid {
 public:
  Grid(const Series& series, std::uint64_t terms);

  std::uint64_t terms() const { return terms_; }
  std::uint64_t size() const { return count_; }
  // Slow series: every grid range but the last has exactly `step()` terms, and a run of grid ranges is summed
  // range by range. Fast series: 0, and a run of grid ranges is evaluated as one range.
  std::uint64_t step() const { return step_; }
  // Fast series merge in the fixed balanced tree over the grid ranges (their count is a power of two); slow
  // series add results onto the finished prefix.
  bool tree() const { return step_ == 0; }
  Range range(std::uint64_t i) const { return Range{edge(i), edge(i + 1)}; }
  Range span(std::uint64_t first_range, std::uint64_t end_range) const {
    return Range{edge(first_range), edge(end_range)};
  }

 private:
  std::uint64_t edge(std::uint64_t i) const;

  std::uint64_t terms_;
  std::uint64_t count_;
  std::uint64_t step_;
};

}  // namespace pi
