#include <string>

#include "series/fast_series.hpp"
#include "series/series.hpp"
#include "series/slow_series.hpp"

namespace pi {

const std::vector<std::string>& series_names() {
  static const std::vector<std::string> names{"leibniz", "basel",     "nilakantha",
                                              "machin",  "ramanujan", "chudnovsky"};
  return names;
}

// The overrides take the products over, hence by value.
// NOLINTBEGIN(performance-unnecessary-value-param)
PartialResult Series::merge_from_products(const PartialResult& /*left*/, const PartialResult& /*right*/,
                                          std::vector<BigInt> /*products*/) const {
  throw SeriesError(std::string(name()) + " does not cut its merges into products");
}
// NOLINTEND(performance-unnecessary-value-param)

Residues Series::fingerprint(Range /*range*/, bool /*is_suffix*/,
                             const std::vector<std::uint64_t>& /*primes*/) const {
  throw SeriesError(std::string(name()) + " has no fingerprints");
}

Residues Series::combine_fingerprints(const Residues& /*left*/, const Residues& /*right*/,
                                      const std::vector<std::uint64_t>& /*primes*/) const {
  throw SeriesError(std::string(name()) + " has no fingerprints");
}

std::unique_ptr<Series> make_series(std::string_view name) {
  if (name == "leibniz") return make_leibniz();
  if (name == "basel" || name == "euler") return make_basel();
  if (name == "nilakantha") return make_nilakantha();
  if (name == "machin") return make_machin();
  if (name == "ramanujan") return make_ramanujan();
  if (name == "chudnovsky") return make_chudnovsky();
  std::string accepted;
  for (const auto& n : series_names()) accepted += (accepted.empty() ? "" : ", ") + n;
  throw SeriesError("unknown series '" + std::string(name) + "' (accepted: " + accepted + ")");
}

}  // namespace pi
