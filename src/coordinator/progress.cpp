#include "coordinator/progress.hpp"

#include <cmath>
#include <cstdio>

namespace pi {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(std::llround(seconds));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  }
  return buf;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

ProgressReporter::ProgressReporter(std::ostream& out, std::string unit, std::uint64_t total_ranges,
                                   double total_work, int workers, std::chrono::duration<double> interval)
    : out_(out),
      unit_(std::move(unit)),
      total_ranges_(total_ranges),
      total_work_(total_work),
      workers_(workers),
      interval_(interval),
      start_(std::chrono::steady_clock::now()) {
  if (interval_.count() > 0) thread_ = std::thread([this] { loop(); });
}

ProgressReporter::~ProgressReporter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressReporter::update(std::uint64_t ranges_done, double work_done) {
  ranges_done_.store(ranges_done);
  work_done_.store(work_done);
}

void ProgressReporter::resume_from(std::uint64_t ranges_done, double work_done) {
  update(ranges_done, work_done);
  work_before_.store(work_done);
}

void ProgressReporter::set_workers(int alive, int busy, std::uint64_t retries) {
  alive_.store(alive);
  busy_.store(busy);
  retries_.store(retries);
}

void ProgressReporter::enter_locked(std::string phase, double at, double expected_s) {
  if (phase == phases_.back().name) return;
  phases_.push_back(Phase{std::move(phase), at});
  phase_expected_s_ = expected_s;
  phase_done_ = phase_total_ = 0;
  phase_what_.clear();
}

void ProgressReporter::set_phase(std::string phase) {
  const double at = seconds_since(start_);
  std::lock_guard lock(mutex_);
  enter_locked(std::move(phase), at, NAN);
}

void ProgressReporter::tail_phase(std::string phase, double expected_s) {
  const double at = seconds_since(start_);
  std::lock_guard lock(mutex_);
  if (std::isnan(series_s_)) series_s_ = at;
  enter_locked(std::move(phase), at, expected_s);
}

void ProgressReporter::set_phase_count(std::uint64_t done, std::uint64_t total, std::string what) {
  std::lock_guard lock(mutex_);
  phase_done_ = done;
  phase_total_ = total;
  phase_what_ = std::move(what);
}

std::vector<ProgressReporter::Phase> ProgressReporter::phases() const {
  std::lock_guard lock(mutex_);
  return phases_;
}

ProgressReporter::Figures ProgressReporter::figures() const {
  Figures f;
  f.elapsed_s = seconds_since(start_);
  {
    std::lock_guard lock(mutex_);
    f.series_s = series_s_;
    f.phase = phases_.back().name;
    f.phase_s = f.elapsed_s - phases_.back().start_s;
    f.phase_expected_s = phase_expected_s_;
    f.phase_done = phase_done_;
    f.phase_total = phase_total_;
    f.phase_what = phase_what_;
  }
  const double done = work_done_.load();
  const bool tail = std::isfinite(f.series_s);
  const double over = tail ? f.series_s : f.elapsed_s;  // the rate is the series' own
  f.fraction = total_work_ > 0 ? std::min(1.0, done / total_work_) : 0.0;
  f.rate = over > 0 ? (done - work_before_.load()) / over : 0.0;
  f.eta_s = !tail && f.rate > 0 ? std::max(0.0, total_work_ - done) / f.rate : NAN;
  f.ranges_done = ranges_done_.load();
  f.ranges = total_ranges_;
  f.alive = alive_.load();
  f.busy = busy_.load();
  f.retries = retries_.load();
  return f;
}

std::string ProgressReporter::line() const {
  const Figures f = figures();
  const std::string& phase = f.phase;
  char workers[96] = "";
  if (workers_ > 0) {
    std::snprintf(workers, sizeof workers, ", workers %d/%d alive %d busy, %llu retries", f.alive, workers_,
                  f.busy, static_cast<unsigned long long>(f.retries));
  }
  const auto ranges_done = static_cast<unsigned long long>(f.ranges_done);
  const auto ranges = static_cast<unsigned long long>(total_ranges_);
  char buf[512];
  if (!std::isfinite(f.series_s)) {
    std::snprintf(buf, sizeof buf, "progress: %llu/%llu ranges, %5.1f%%, %.3g %s/s, elapsed %s, ETA %s%s%s%s",
                  ranges_done, ranges, 100.0 * f.fraction, f.rate, unit_.c_str(),
                  format_duration(f.elapsed_s).c_str(), format_duration(f.eta_s).c_str(), workers,
                  phase.empty() ? "" : ", ", phase.c_str());
    return buf;
  }
  // After the series: its figures stand, and the phase says how far it is.
  std::string step = phase + ": ";
  if (f.phase_total > 0) {
    step += std::to_string(f.phase_done) + "/" + std::to_string(f.phase_total) + " " + f.phase_what + ", ";
  } else if (f.phase_done > 0 && !f.phase_what.empty()) {
    step += std::to_string(f.phase_done) + " " + f.phase_what + ", ";  // a count with no total
  }
  step += format_duration(f.phase_s);
  if (std::isfinite(f.phase_expected_s)) step += " of about " + format_duration(f.phase_expected_s);
  std::snprintf(buf, sizeof buf,
                "progress: series done in %s (%llu/%llu ranges, %.3g %s/s), elapsed %s%s, %s",
                format_duration(f.series_s).c_str(), ranges_done, ranges, f.rate, unit_.c_str(),
                format_duration(f.elapsed_s).c_str(), workers, step.c_str());
  return buf;
}

void ProgressReporter::loop() {
  std::unique_lock lock(mutex_);
  while (!stop_cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    out_ << "[pi-job] " << line() << std::endl;
    lock.lock();
  }
}

}  // namespace pi
