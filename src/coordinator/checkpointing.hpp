// The job's checkpoints while it runs: when one is due, written on a thread of its own; and when the run
// stops early, what is finished, unless the last checkpoint holds as much.
#pragma once

#include <chrono>
#include <exception>
#include <future>
#include <mutex>
#include <ostream>
#include <string>

#include "coordinator/job.hpp"

namespace pi {

// Saves the job's state when a checkpoint is due, on a thread of its own so that the coordinator keeps
// serving workers while the pieces (hundreds of MB at 1e8 digits) go to disk; and when the run stops early,
// after the write in flight. The pieces are immutable and shared, so a snapshot costs no copy of them.
class Checkpointing {
 public:
  Checkpointing(StateSink* sink, EventFeed* events, double interval_s, std::ostream& log);
  ~Checkpointing() { wait(); }
  Checkpointing(const Checkpointing&) = delete;
  Checkpointing& operator=(const Checkpointing&) = delete;

  // A checkpoint is due, and the one before is written.
  bool due() const;
  void save_in_background(JobState state, std::string reason);
  // A due checkpoint that could not be made (`why`: its pieces could not be written): said like a failed
  // write, and the next one is due an interval from now.
  void skip(const std::string& reason, const std::string& why);
  // Returns false when the state could not be saved; the job goes on, and the last good checkpoint stays.
  bool save(const JobState& state, const std::string& reason);
  // The progress of the checkpoint the run started from: a run that stops before it has more never
  // replaces (and so never rotates away) a checkpoint that holds as much.
  void starting_from(const JobState& resumed);
  // When the run stops early (a signal or a failure): saves what is finished if it is more than the last
  // checkpoint holds. A stop whose checkpoint can't be written becomes InterruptedUnsaved.
  void save_when_stopping(const JobState& state, const std::exception& why);
  void wait();

 private:
  using Clock = std::chrono::steady_clock;
  Clock::duration period() const;
  bool write(const JobState& state, const std::string& reason);
  void failed(const std::string& reason, std::string why);

  StateSink* sink_;
  EventFeed* events_;
  double interval_s_;
  std::ostream& log_;
  Clock::time_point next_;
  std::future<void> writing_;
  struct Saved {
    std::uint64_t terms = 0;
    std::uint64_t ranges_done = 0;
  };
  std::mutex saved_mutex_;                          // the background writer updates saved_
  Saved saved_{0, static_cast<std::uint64_t>(-1)};  // nothing saved yet
};

}  // namespace pi
