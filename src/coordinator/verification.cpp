#include "coordinator/verification.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "series/decimal.hpp"

namespace pi {
namespace {

// err 2^(4h + 128) rounded up, or nullopt when that is 2^100 or more: at position h the value's own error
// would leave fewer than 28 bits to compare.
std::optional<Uint128> scaled_error(const UpperBound& err, std::uint64_t h) {
  Real t = make_real(64);
  mpfr_mul_2ui(raw(t), raw(err.value()), 4 * h + 128, MPFR_RNDU);
  if (mpfr_cmp_ui_2exp(raw(t), 1, 100) >= 0) return std::nullopt;
  mpfr_ceil(raw(t), raw(t));
  BigInt z;
  mpfr_get_z(raw(z), raw(t), MPFR_RNDU);
  return low_128_bits(z);
}

// Where to compare hex digits with BBP: just past the certified ones, so that every certified bit is
// covered. In digits mode this is known before the series starts (D decimals are D log2(10) bits; the
// value carries 20 guard decimals more, which keeps its error at that position far below 2^-96), so the
// BBP sum runs beside the series.
std::uint64_t bbp_position_for_digits(std::uint64_t digits) {
  const double bits = static_cast<double>(digits) * std::log2(10.0);
  return bits <= 32 ? 0 : static_cast<std::uint64_t>((bits - 32) / 4);
}
// From the value's error bound otherwise: nullopt when it has fewer than 100 proven bits.
std::optional<std::uint64_t> bbp_position_for_error(const UpperBound& err) {
  if (err.is_zero()) return std::nullopt;
  const double bits = -err.log10() * std::log2(10.0);
  if (bits < 100) return std::nullopt;
  return static_cast<std::uint64_t>((bits - 64) / 4);
}

// The hex digits of `best` at `h` against BBP's; fills the report, and its failure on a disagreement.
void compare_with_bbp(const Estimate& best, std::uint64_t h, const HexFraction& bbp,
                      const std::optional<Uint128>& held_found, VerificationReport& v) {
  v.bbp.position = h;
  const std::optional<Uint128> own_error = scaled_error(best.error_bound, h);
  if (!own_error) {
    v.bbp.skipped = "the value's error bound is too wide at hex position " + std::to_string(h);
    return;
  }
  const Uint128 found = held_found ? *held_found : value_hex_fraction(best.value, h);
  const Uint128 d = found - bbp.value;
  const Uint128 distance = std::min(d, Uint128{0} - d);
  v.bbp.checked = true;
  v.bbp.expected = hex_digits(bbp.value, 16);
  v.bbp.found = hex_digits(found, 16);
  v.bbp.agree = distance <= *own_error + bbp.error + 2;
  if (!v.bbp.agree && v.failure.empty()) {
    v.failure = "its hexadecimal digits after position " + std::to_string(h) + " are " + v.bbp.found +
                ", the BBP formula gives " + v.bbp.expected;
  }
}

}  // namespace

FinalVerification::FinalVerification(const JobSpec& spec) : spec_(spec) {
  if (spec.digits && spec.verify) {
    bbp_done_ = run_detached([bbp = bbp_, seconds = bbp_seconds_, h = bbp_position_for_digits(*spec.digits)] {
      const auto t0 = std::chrono::steady_clock::now();
      *bbp = pi_hex_fraction(h, 1);
      *seconds = seconds_since(t0);
    });
  }
}

std::uint64_t FinalVerification::position_for_digits() const {
  return spec_.digits ? bbp_position_for_digits(*spec_.digits) : 0;
}

void FinalVerification::verify(RunResult& result, std::optional<Uint128> found) const {
  VerificationReport& v = result.verification;
  const Estimate& best = result.estimates.best();
  v.range_checked = best.error_bound.is_zero() || best.error_bound.log10() < -6;
  if (v.range_checked) {
    v.in_range = mpfr_cmp_d(raw(best.value), 3.14159) >= 0 && mpfr_cmp_d(raw(best.value), 3.1416) <= 0;
    if (!v.in_range) {
      v.failure = "its value " + truncated_decimal(best.value, 12) + " is not in [3.14159, 3.1416]";
    }
  }
  if (!spec_.verify) {
    v.bbp.skipped = "--verify off";
    return;
  }
  std::optional<std::uint64_t> h;
  if (bbp_done_.valid()) {
    while (bbp_done_.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
      throw_if_interrupted();
    bbp_done_.get();
    h = bbp_position_for_digits(*spec_.digits);
  } else if ((h = bbp_position_for_error(best.error_bound))) {
    const auto t0 = std::chrono::steady_clock::now();
    *bbp_ = run_interruptible([p = *h, threads = usable_cpus()] { return pi_hex_fraction(p, threads); });
    *bbp_seconds_ = seconds_since(t0);
  }
  if (!h) {
    v.bbp.skipped = "fewer than 100 proven bits";
    return;
  }
  v.bbp.seconds = *bbp_seconds_;
  compare_with_bbp(best, *h, *bbp_, found, v);
}

void make_wrong(Real& x) {
  Real d = make_real(static_cast<std::uint64_t>(mpfr_get_prec(raw(x))));
  mpfr_div_2ui(raw(d), raw(x), 64, MPFR_RNDN);
  mpfr_add(raw(x), raw(x), raw(d), MPFR_RNDN);
}

}  // namespace pi
