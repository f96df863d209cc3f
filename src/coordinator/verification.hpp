// The final value's own checks, independent of the proven bound: it is plausible, and its hexadecimal digits
// just past the certified ones are those of the BBP formula (computed beside the series in digits mode,
// after it otherwise). The fingerprints of the pieces are the scheduler's (scheduler.cpp).
#pragma once

#include <future>
#include <memory>
#include <optional>

#include "coordinator/interrupt.hpp"
#include "coordinator/job.hpp"
#include "series/bbp.hpp"

namespace pi {

class FinalVerification {
 public:
  // In digits mode with verification on, starts the BBP sum at once, on a thread of its own.
  explicit FinalVerification(const JobSpec& spec);
  FinalVerification(const FinalVerification&) = delete;
  FinalVerification& operator=(const FinalVerification&) = delete;
  // Fills result.verification (its failure when a check disagrees); waits for the BBP sum, answering stops.
  // `found`: the value's hexadecimal digits at position_for_digits() when a worker holds the value
  // (FinalSummary); else they are read from result.estimates.
  void verify(RunResult& result, std::optional<Uint128> found = std::nullopt) const;
  // Digits mode: where the BBP digits are compared.
  std::uint64_t position_for_digits() const;

 private:
  const JobSpec& spec_;
  std::shared_ptr<HexFraction> bbp_ = std::make_shared<HexFraction>();
  std::shared_ptr<double> bbp_seconds_ = std::make_shared<double>(0);
  std::shared_future<void> bbp_done_;
  AbandonIfUnfinished abandon_{bbp_done_};  // a stop leaves the BBP sum running
};

// x (1 + 2^-64): a final value wrong from its 64th bit on, as an error in the division or a damaged
// operand would leave it (tests: PI_FAULT corrupt:0:final).
void make_wrong(Real& x);

}  // namespace pi
