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

void publish_notices(EventFeed* events, Scheduler& scheduler, std::string_view level, std::ostream* log) {
  for (std::string& n : scheduler.take_notices()) {
    if (log) *log << "[pi-job] " << n << std::endl;
    if (events) events->publish(event_kind::notice, {{"level", level}, {"text", n}});
  }
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
  publish_notices(events_, scheduler, "retry", log_);
  if (!events_) return;
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
      j["eta_s"] = finite_or_null(f.eta_s);
      events_->publish(event_kind::estimate, j);
    }
  }
  tick_workers(scheduler);
}

void LiveEvents::tick_workers(Scheduler& scheduler) {
  if (!events_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_workers_ >= std::chrono::duration<double>(kWorkersEventSeconds)) flush_workers(scheduler);
}

void LiveEvents::flush_workers(Scheduler& scheduler) {
  if (!events_) return;
  last_workers_ = std::chrono::steady_clock::now();
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t wi = 0; wi < scheduler.workers().size(); ++wi) {
    nlohmann::json w = worker_json(scheduler.workers()[wi]);
    // Workers send a heartbeat every second: three missed ones are worth showing before any deadline.
    w["state"] = scheduler.worker_state(wi, kQuietSeconds);
    w["quiet_s"] = scheduler.workers()[wi].quiet_s;
    list.push_back(std::move(w));
  }
  events_->publish(event_kind::workers, {{"alive", scheduler.active_workers()},
                                         {"busy", scheduler.busy_workers()},
                                         {"retries", scheduler.retries()},
                                         {"workers", list}});
  const std::vector<Scheduler::TaskSpan> spans = scheduler.take_spans();
  if (spans.empty()) return;
  const auto seconds = [this](std::chrono::steady_clock::time_point t) {
    return std::round(std::chrono::duration<double>(t - epoch_).count() * 1e4) / 1e4;
  };
  // [rank, kind, start_s, end_s, ok, first range, end range]: compact, as a second can hold thousands.
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t i = 0; i < spans.size() && i < kSpansPerEvent; ++i) {
    const Scheduler::TaskSpan& t = spans[i];
    rows.push_back({scheduler.workers()[static_cast<std::size_t>(t.worker)].rank, task_kind_name(t.kind),
                    seconds(t.start), seconds(t.end), t.ok ? 1 : 0, t.first_range, t.end_range});
  }
  events_->publish(event_kind::tasks,
                   {{"spans", rows}, {"not_listed", spans.size() - std::min(spans.size(), kSpansPerEvent)}});
}

}  // namespace pi
