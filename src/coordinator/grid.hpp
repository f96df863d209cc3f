// The range grid: how a job's terms are cut into fine ranges. It is a function of the series and the term
// count only, never of timing or rank count, which is what keeps every result reproducible.
#pragma once

#include <cstdint>
#include <vector>

#include "series/series.hpp"

namespace pi {

struct Grid {
  std::vector<Range> leaves;
  // Slow series: every leaf but the last has exactly `step` terms, and a run of leaves is summed leaf by
  // leaf. Fast series: 0, and a run of leaves is evaluated as one range.
  std::uint64_t step = 0;
  // Fast series merge in the fixed balanced tree over the leaves (their count is a power of two); slow series
  // add results onto the finished prefix.
  bool tree = false;

  std::uint64_t terms() const { return leaves.back().end; }
  std::uint64_t size() const { return leaves.size(); }
  Range span(std::uint64_t first_leaf, std::uint64_t last_leaf) const {
    return Range{leaves[first_leaf].begin, leaves[last_leaf - 1].end};
  }
};

inline constexpr std::uint64_t kSlowLeafTerms = std::uint64_t{1} << 24;
inline constexpr std::uint64_t kFastMinLeafTerms = 64;
inline constexpr std::uint64_t kFastMaxLeaves = 4096;

Grid make_grid(const Series& series, std::uint64_t terms);

}  // namespace pi
