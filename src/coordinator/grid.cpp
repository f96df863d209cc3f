#include "coordinator/grid.hpp"

#include <algorithm>
#include <bit>

namespace pi {

Grid::Grid(const Series& series, std::uint64_t terms) : terms_(terms) {
  if (series.kind() == SeriesKind::slow) {
    step_ = kSlowRangeTerms;
    count_ = (terms + step_ - 1) / step_;
  } else {
    step_ = 0;
    count_ = std::bit_floor(std::clamp<std::uint64_t>(terms / kFastMinRangeTerms, 1, kFastMaxRanges));
  }
}

std::uint64_t Grid::edge(std::uint64_t i) const {
  if (step_ != 0) return std::min(terms_, i * step_);
  return static_cast<std::uint64_t>(static_cast<Uint128>(terms_) * i / count_);
}

}  // namespace pi
