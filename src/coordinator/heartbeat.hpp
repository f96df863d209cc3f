// The job's pulse for the live page: a `progress` event every second from a thread of its own, whatever
// the run loop is doing (a long merge, the final division, writing pi.txt), so that a gateway or a page
// that hears nothing for a few seconds knows the job is gone rather than busy. It carries the job's id,
// its state, the phase and the times of the phases so far, and the progress figures; the last one says
// how the job ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "coordinator/progress.hpp"
#include "events/event.hpp"

namespace pi {

inline constexpr double kPulseSeconds = 1.0;

class Heartbeat {
 public:
  // `job` holds the fields every pulse repeats (the job_id).
  Heartbeat(EventFeed& events, nlohmann::json job);
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  // The figures and phases come from `progress` while it lives; between two (after the series, while the
  // results are written) the last ones stand, with `phase` as the phase.
  void watch(const ProgressReporter& progress);
  void unwatch(const std::string& phase);

  // The last pulse: `state` is complete, stopped (resumable: a checkpoint holds the work) or failed. Stops
  // the thread.
  void finish(const std::string& state);
  // What the pulse's times (elapsed_s, phases) count from.
  std::chrono::steady_clock::time_point start() const { return start_; }

 private:
  void loop();
  void refresh_locked();  // the figures from the watched reporter, if any
  void publish_locked(const std::string& state);
  nlohmann::json phases_locked() const;  // those before the watched reporter's, then its own

  EventFeed& events_;
  nlohmann::json job_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  const ProgressReporter* progress_ = nullptr;
  double progress_offset_s_ = 0;  // when the watched reporter started, from start_
  nlohmann::json figures_ = nlohmann::json::object();
  nlohmann::json phases_ = nlohmann::json::array();  // {name, start_s}, start_s from start_
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pi
