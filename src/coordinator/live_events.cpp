#include "coordinator/live_events.hpp"

#include <algorithm>
#include <cmath>

#include "series/decimal.hpp"

namespace pi {

nlohmann::json estimate_json(const Series& series, const Estimate& e, std::uint64_t prefix_terms,
                             std::uint64_t cap) {
  const std::uint64_t correct = correct_digits(e.value, e.error_bound, cap);
  return {{"terms", prefix_terms},
          {"digits", truncated_decimal(e.value, std::min(correct + 3, kLiveDigits))},
          {"correct_digits", correct},
          {"error_bound", e.error_bound.to_string()},
          {"method", e.method},
          {"about_digits_of_terms",
           series.kind() == SeriesKind::fast
               ? static_cast<std::uint64_t>(static_cast<double>(prefix_terms) * series.digits_per_term())
               : correct}};
}

void publish_notices(EventFeed* events, Scheduler& scheduler, std::string_view level) {
  if (!events) return;
  for (std::string& n : scheduler.take_notices())
    events->publish(event_kind::notice, {{"level", level}, {"text", n}});
}

void publish_final_estimate(EventFeed& events, const RunResult& result) {
  // From the result's own fields: the value itself may be with a worker, and its certified digits are
  // counted already.
  const Estimate& best = result.estimates.best();
  nlohmann::json j = {
      {"terms", result.terms},
      {"digits", leading_decimals(result.estimate_text, std::min(result.correct_digits + 3, kLiveDigits))},
      {"correct_digits", result.correct_digits},
      {"error_bound", best.error_bound.to_string()},
      {"method", best.method},
      {"about_digits_of_terms", result.correct_digits},
      {"ranges_done", result.ranges},
      {"ranges", result.ranges},
      {"fraction", 1.0},
      {"final", true}};
  if (result.estimates.accelerated) {
    j["partial_sum_error_bound"] = result.estimates.partial_sum.error_bound.to_string();
  }
  events.publish(event_kind::estimate, j);
}

void LiveEvents::tick(Scheduler& scheduler, const ProgressReporter& progress, std::uint64_t ranges) {
  if (!events_) return;
  publish_notices(events_, scheduler, "retry");
  const auto now = std::chrono::steady_clock::now();
  if (now - last_estimate_ >= std::chrono::duration<double>(kEstimateEventSeconds)) {
    // A piece a worker holds comes with that worker's estimate of it; one here is estimated here.
    if (auto lead = scheduler.leading_piece();
        lead && lead->range.end > published_terms_ && (lead->here() || lead->lead)) {
      last_estimate_ = now;
      published_terms_ = lead->range.end;
      const bool fast = series_.kind() == SeriesKind::fast;
      const PrefixEstimates both = lead->here() ? series_.estimate(*lead->data, fast ? kLiveEstimateBits : 0)
                                                : PrefixEstimates{*lead->lead, std::nullopt};
      nlohmann::json j = estimate_json(series_, both.best(), lead->range.end, fast ? 300 : kLiveDigits);
      // The plain partial sum's bound is the series' own convergence (the accelerated one is dominated by
      // rounding once it is good): the viewer plots it.
      if (both.accelerated) j["partial_sum_error_bound"] = both.partial_sum.error_bound.to_string();
      const ProgressReporter::Figures f = progress.figures();
      j["ranges_done"] = scheduler.ranges_done();
      j["ranges"] = ranges;
      j["fraction"] = f.fraction;
      j["rate"] = f.rate;
      j["unit"] = progress.unit();
      j["elapsed_s"] = f.elapsed_s;
      j["eta_s"] = std::isfinite(f.eta_s) ? nlohmann::json(f.eta_s) : nlohmann::json(nullptr);
      events_->publish(event_kind::estimate, j);
    }
  }
  if (now - last_workers_ >= std::chrono::duration<double>(kWorkersEventSeconds)) {
    last_workers_ = now;
    nlohmann::json list = nlohmann::json::array();
    for (const WorkerStats& w : scheduler.workers()) list.push_back(worker_json(w));
    events_->publish(event_kind::workers, {{"alive", scheduler.active_workers()},
                                           {"busy", scheduler.busy_workers()},
                                           {"retries", scheduler.retries()},
                                           {"workers", list}});
  }
}

}  // namespace pi
