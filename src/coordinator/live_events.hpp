// What the job publishes for the live page while it runs: estimates as the finished prefix grows, the
// workers, notices, and the final estimate.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string_view>

#include <nlohmann/json.hpp>

#include "coordinator/job.hpp"
#include "coordinator/progress.hpp"
#include "coordinator/scheduler.hpp"

namespace pi {

// Precision of the live estimates of fast series: enough for the leading digits a viewer shows.
constexpr std::uint64_t kLiveEstimateBits = 1024;
constexpr std::uint64_t kLiveDigits = 60;
constexpr double kEstimateEventSeconds = 0.25;
constexpr double kWorkersEventSeconds = 1.0;
constexpr double kQuietSeconds = 3.0;         // a worker not heard for this long is shown "quiet"
constexpr std::size_t kSpansPerEvent = 4000;  // the rest of a second's tasks are counted, not listed

// An estimate event's fields for `e`, the estimate of the prefix of `prefix_terms` terms; its correct digits
// are counted up to `cap`.
nlohmann::json estimate_json(const Series& series, const Estimate& e, std::uint64_t prefix_terms,
                             std::uint64_t cap);

// The scheduler's notices (retries, failures, pieces computed again) as notice events of `level`, and each
// as a line of `log` ("[pi-job] ..."): a batch job's log says what went wrong without a browser.
void publish_notices(EventFeed* events, Scheduler& scheduler, std::string_view level, std::ostream* log);

// The last estimate event: the certified result.
void publish_final_estimate(EventFeed& events, const RunResult& result);

// Publishes what a viewer follows while the series runs: an estimate each time the finished prefix has
// grown (at most a few a second), the workers every second, and every notice.
// Each second also the tasks that ended (a `tasks` event: the page's timeline), with times counted from
// `epoch` (the job's pulse's start).
class LiveEvents {
 public:
  LiveEvents(EventFeed* events, const Series& series, std::chrono::steady_clock::time_point epoch,
             std::ostream* log)
      : events_(events), series_(series), epoch_(epoch), log_(log) {}
  void tick(Scheduler& scheduler, const ProgressReporter& progress, std::uint64_t ranges);
  // The workers and tasks only, each second (the decimal conversion).
  void tick_workers(Scheduler& scheduler);
  // The workers and tasks now (the end of a phase).
  void flush_workers(Scheduler& scheduler);

 private:
  EventFeed* events_;
  const Series& series_;
  std::chrono::steady_clock::time_point epoch_;
  std::ostream* log_;
  std::chrono::steady_clock::time_point last_estimate_{};
  std::chrono::steady_clock::time_point last_workers_{};
  std::uint64_t published_terms_ = 0;
};

}  // namespace pi
