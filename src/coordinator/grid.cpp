#include "coordinator/grid.hpp"

#include <algorithm>
#include <bit>

namespace pi {

Grid make_grid(const Series& series, std::uint64_t terms) {
  Grid grid;
  if (series.kind() == SeriesKind::slow) {
    grid.step = kSlowLeafTerms;
    for (std::uint64_t b = 0; b < terms; b += kSlowLeafTerms)
      grid.leaves.push_back({b, std::min(terms, b + kSlowLeafTerms)});
    return grid;
  }
  __extension__ using Uint128 = unsigned __int128;
  grid.tree = true;
  const std::uint64_t count =
      std::bit_floor(std::clamp<std::uint64_t>(terms / kFastMinLeafTerms, 1, kFastMaxLeaves));
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto edge = [&](std::uint64_t j) {
      return static_cast<std::uint64_t>(static_cast<Uint128>(terms) * j / count);
    };
    grid.leaves.push_back({edge(i), edge(i + 1)});
  }
  return grid;
}

}  // namespace pi
