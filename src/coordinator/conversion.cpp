#include "coordinator/conversion.hpp"

#include <algorithm>

#include "series/decimal.hpp"

namespace pi {
namespace {

// Conversion blocks below this size are not worth a worker's round trip.
constexpr std::uint64_t kMinBlockDecimals = 10000;

}  // namespace

std::optional<std::string> convert_in_blocks(Scheduler& scheduler, Executor& executor, const Estimate& best,
                                             std::uint64_t digits, const std::function<void()>& tick) {
  BigInt f;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(raw(f), raw(best.value));  // x = f 2^exponent, exactly
  if (exponent > 0 || mpz_sgn(raw(f)) < 0) return std::nullopt;
  const std::uint64_t decimals = digits + kGuardDecimals;
  const auto blocks = std::clamp<std::uint64_t>(decimals / kMinBlockDecimals, 1,
                                                static_cast<std::uint64_t>(std::max(1, executor.workers())));
  scheduler.convert(std::make_shared<const PartialResult>(PartialResult{Range{}, {std::move(f)}}),
                    static_cast<std::uint64_t>(-exponent), decimals, blocks);
  executor.run(scheduler, tick);
  return scheduler.take_digits();
}

}  // namespace pi
