#include "coordinator/conversion.hpp"

#include <algorithm>

#include "series/decimal.hpp"

namespace pi {
namespace {

// Conversion blocks below this size are not worth a worker's round trip.
constexpr std::uint64_t kMinBlockDecimals = 10000;

// The decimals of fraction / 2^scale_bits, in blocks.
std::string convert_fraction(Scheduler& scheduler, Executor& executor, const PieceRef& fraction,
                             std::uint64_t scale_bits, std::uint64_t digits,
                             const std::function<void()>& tick) {
  const std::uint64_t decimals = digits + kGuardDecimals;
  const auto blocks = std::clamp<std::uint64_t>(decimals / kMinBlockDecimals, 1,
                                                static_cast<std::uint64_t>(std::max(1, executor.workers())));
  scheduler.convert(fraction, scale_bits, decimals, blocks);
  executor.run(scheduler, tick);
  return scheduler.take_digits();
}

}  // namespace

std::optional<std::string> convert_in_blocks(Scheduler& scheduler, Executor& executor, const Estimate& best,
                                             std::uint64_t digits, const std::function<void()>& tick) {
  BigInt f;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(raw(f), raw(best.value));  // x = f 2^exponent, exactly
  if (exponent > 0 || mpz_sgn(raw(f)) < 0) return std::nullopt;
  const PieceRef fraction =
      PieceRef::held_here(std::make_shared<const PartialResult>(PartialResult{Range{}, {std::move(f)}}));
  return convert_fraction(scheduler, executor, fraction, static_cast<std::uint64_t>(-exponent), digits, tick);
}

std::optional<std::string> convert_held(Scheduler& scheduler, Executor& executor, std::uint64_t digits,
                                        const std::function<void()>& tick) {
  const FinalSummary& summary = *scheduler.final_summary();
  if (!summary.convertible) return std::nullopt;
  return convert_fraction(scheduler, executor, *scheduler.final_fraction(), summary.scale_bits, digits, tick);
}

}  // namespace pi
