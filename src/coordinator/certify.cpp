#include "coordinator/certify.hpp"

#include "series/decimal.hpp"

namespace pi {

bool certify(RunResult& result, const Series& series, std::optional<std::uint64_t> digits,
             std::optional<std::string> block_text, bool whole_value) {
  const Estimate& best = result.estimates.best();
  if (!digits) {
    const auto cap =
        series.kind() == SeriesKind::slow
            ? std::uint64_t{60}
            : static_cast<std::uint64_t>(static_cast<double>(result.terms) * series.digits_per_term()) + 40;
    result.correct_digits = correct_digits(best.value, best.error_bound, cap);
    return true;
  }
  if (block_text) result.pi_text = certified_from_blocks(std::move(*block_text), *digits, best.error_bound);
  // The guard decimals could not decide (a long run of 0s or 9s after the last digit): look at all of x.
  if (!result.pi_text && whole_value)
    result.pi_text = certified_digits(best.value, best.error_bound, *digits);
  if (!result.pi_text) return false;
  result.correct_digits = *digits;
  return true;
}

}  // namespace pi
