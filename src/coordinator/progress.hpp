// Progress of a long run, printed on a steady cadence from its own thread: ranges done out of the total, the
// rate, the ETA, and for a distributed run the workers alive and busy and the retries so far. The run loop
// only stores counters.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

namespace pi {

class ProgressReporter {
 public:
  // `unit` names what work counts (terms, digits); `interval` 0 disables printing; `workers` 0 for a run
  // without separate workers.
  ProgressReporter(std::ostream& out, std::string unit, std::uint64_t total_ranges, double total_work,
                   int workers, std::chrono::duration<double> interval);
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  void update(std::uint64_t ranges_done, double work_done);
  // A resumed run starts with work done already; rate and ETA count only the work of this run.
  void resume_from(std::uint64_t ranges_done, double work_done);
  void set_workers(int alive, int busy, std::uint64_t retries);
  // A phase of the series (the series itself is "", a fast series' merges "merges"): its work counts in
  // the fraction, the rate and the ETA.
  void set_phase(std::string phase);
  // A phase after the series (the final steps, verification, the decimal conversion): from the first one
  // on, the series' figures stand (its rate over its own time, no ETA), and the line shows the phase's
  // time so far, the time expected of it when known (`expected_s`, NaN: unknown) and its count when it has
  // one (set_phase_count).
  void tail_phase(std::string phase, double expected_s = NAN);
  // How far the current tail phase is: `done` of `total` `what` (blocks); total 0: a count with no total
  // (the final steps' products spread over the workers so far).
  void set_phase_count(std::uint64_t done, std::uint64_t total, std::string what);
  std::string line() const;

  struct Figures {
    double elapsed_s = 0;
    double fraction = 0;  // of the work done
    double rate = 0;      // work per second in this run
    double eta_s = 0;     // NaN while unknown
    std::uint64_t ranges_done = 0;
    std::uint64_t ranges = 0;
    int alive = 0;
    int busy = 0;
    std::uint64_t retries = 0;
    // How long the series took (NaN until the first tail_phase), and the current phase: its name, time so
    // far, expected time (NaN: unknown) and count (total 0: none).
    double series_s = NAN;
    std::string phase;  // its name ("": the series itself)
    double phase_s = 0;
    double phase_expected_s = NAN;
    std::uint64_t phase_done = 0;
    std::uint64_t phase_total = 0;
    std::string phase_what;
  };
  Figures figures() const;
  // The phases so far, in order: the series first (named ""), then each set_phase; `start_s` counts from
  // the reporter's start.
  struct Phase {
    std::string name;
    double start_s = 0;
  };
  std::vector<Phase> phases() const;
  const std::string& unit() const { return unit_; }

 private:
  void loop();
  // Makes `phase` the current one from `at` (nothing when it is already), expected to take `expected_s`.
  void enter_locked(std::string phase, double at, double expected_s);

  std::ostream& out_;
  std::string unit_;
  std::uint64_t total_ranges_;
  double total_work_;
  int workers_;
  std::chrono::duration<double> interval_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> ranges_done_{0};
  std::atomic<double> work_done_{0.0};
  std::atomic<double> work_before_{0.0};
  std::atomic<int> alive_{0};
  std::atomic<int> busy_{0};
  std::atomic<std::uint64_t> retries_{0};
  mutable std::mutex mutex_;
  std::vector<Phase> phases_{Phase{}};  // never empty: the current phase is the last
  double series_s_ = NAN;               // set by the first tail_phase
  double phase_expected_s_ = NAN;
  std::uint64_t phase_done_ = 0;
  std::uint64_t phase_total_ = 0;
  std::string phase_what_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

std::string format_duration(double seconds);

// Seconds of steady clock since t0.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace pi
