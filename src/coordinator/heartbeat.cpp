#include "coordinator/heartbeat.hpp"

#include <cmath>

#include "coordinator/interrupt.hpp"

namespace pi {

Heartbeat::Heartbeat(EventFeed& events, nlohmann::json job) : events_(events), job_(std::move(job)) {
  thread_ = std::thread([this] { loop(); });
}

Heartbeat::~Heartbeat() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::watch(const ProgressReporter& progress) {
  std::lock_guard lock(mutex_);
  progress_ = &progress;
  progress_offset_s_ = seconds_since(start_) - progress.figures().elapsed_s;
}

void Heartbeat::unwatch(const std::string& phase) {
  std::lock_guard lock(mutex_);
  if (progress_) {
    refresh_locked();  // the reporter's last figures stand
    phases_ = phases_locked();
  }
  progress_ = nullptr;
  // The figures of the reporter's last phase are not this one's.
  figures_.erase("phase_count");
  figures_["phase_expected_s"] = nullptr;
  phases_.push_back({{"name", phase}, {"start_s", seconds_since(start_)}});
}

nlohmann::json Heartbeat::phases_locked() const {
  nlohmann::json all = phases_;
  if (progress_) {
    for (const ProgressReporter::Phase& p : progress_->phases())
      all.push_back(
          {{"name", p.name.empty() ? "series" : p.name}, {"start_s", progress_offset_s_ + p.start_s}});
  }
  return all;
}

void Heartbeat::finish(const std::string& state) {
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
    publish_locked(state);
    progress_ = nullptr;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Heartbeat::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    publish_locked(stop_signal() != 0 ? "stopping" : "running");
    wake_.wait_for(lock, std::chrono::duration<double>(kPulseSeconds), [this] { return stop_; });
  }
}

void Heartbeat::refresh_locked() {
  if (progress_) {
    const ProgressReporter::Figures f = progress_->figures();
    figures_ = {{"ranges_done", f.ranges_done},
                {"ranges", f.ranges},
                {"fraction", f.fraction},
                {"rate", f.rate},
                {"alive", f.alive},
                {"busy", f.busy},
                {"retries", f.retries},
                {"eta_s", finite_or_null(f.eta_s)},
                {"series_s", finite_or_null(f.series_s)},
                {"phase_expected_s", finite_or_null(f.phase_expected_s)}};
    if (f.phase_total > 0 || (f.phase_done > 0 && !f.phase_what.empty()))
      figures_["phase_count"] = {{"done", f.phase_done}, {"total", f.phase_total}, {"what", f.phase_what}};
  }
}

void Heartbeat::publish_locked(const std::string& state) {
  refresh_locked();
  nlohmann::json j = job_;
  j.update(figures_);
  const nlohmann::json phases = phases_locked();
  j["state"] = state;
  j["elapsed_s"] = seconds_since(start_);
  j["interval_s"] = kPulseSeconds;
  j["phase"] = phases.empty() ? nlohmann::json("series") : phases.back()["name"];
  j["phases"] = phases;
  events_.publish(event_kind::progress, j);
}

}  // namespace pi
