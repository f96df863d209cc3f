#include "coordinator/checkpointing.hpp"

#include <algorithm>

#include "coordinator/interrupt.hpp"

namespace pi {

Checkpointing::Checkpointing(StateSink* sink, EventFeed* events, double interval_s, std::ostream& log)
    : sink_(sink), events_(events), interval_s_(interval_s), log_(log), next_(Clock::now() + period()) {}

bool Checkpointing::due() const {
  return sink_ && interval_s_ > 0 && Clock::now() >= next_ &&
         (!writing_.valid() || writing_.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
}

void Checkpointing::save_in_background(JobState state, std::string reason) {
  wait();
  next_ = Clock::now() + period();
  // The state is let go as soon as it is written, not when the next checkpoint waits for this one: the
  // future keeps its task, and with it the pieces (at 1e8 digits 208 MB through the final division).
  writing_ = std::async(std::launch::async, [this, s = std::move(state), r = std::move(reason)]() mutable {
    const JobState written = std::move(s);
    write(written, r);
  });
}

bool Checkpointing::save(const JobState& state, const std::string& reason) {
  wait();
  next_ = Clock::now() + period();
  return write(state, reason);
}

void Checkpointing::starting_from(const JobState& resumed) {
  std::lock_guard lock(saved_mutex_);
  saved_ = Saved{resumed.terms, resumed.ranges_done};
}

void Checkpointing::save_when_stopping(const JobState& state, const std::exception& why) {
  if (!sink_) return;
  wait();
  const auto* stop = dynamic_cast<const Interrupted*>(&why);
  const Saved last = [this] {
    std::lock_guard lock(saved_mutex_);
    return saved_;
  }();
  if (last.terms == state.terms && state.ranges_done <= last.ranges_done) {
    log_ << "[pi-job] nothing was finished since the last checkpoint (" << last.ranges_done << "/"
         << state.grid_ranges << " ranges): it stays as it is" << std::endl;
    return;
  }
  if (!save(state, stop ? stop->what() : "the run stopped") && stop) throw InterruptedUnsaved(stop->signal());
}

void Checkpointing::wait() {
  if (writing_.valid()) writing_.get();
}

Checkpointing::Clock::duration Checkpointing::period() const {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s_));
}

bool Checkpointing::write(const JobState& state, const std::string& reason) {
  try {
    sink_->save(state, reason);
    {
      std::lock_guard lock(saved_mutex_);
      saved_ = Saved{state.terms, state.ranges_done};
    }
    if (events_) {
      events_->publish(event_kind::checkpoint, {{"number", state.checkpoints},
                                                {"ranges_done", state.ranges_done},
                                                {"ranges", state.grid_ranges},
                                                {"reason", reason}});
    }
    return true;
  } catch (const std::exception& e) {
    failed(reason, e.what());
    return false;
  }
}

void Checkpointing::skip(const std::string& reason, const std::string& why) {
  next_ = Clock::now() + period();
  failed(reason, why);
}

void Checkpointing::failed(const std::string& reason, std::string why) {
  std::replace(why.begin(), why.end(), '\n', ' ');  // one line in the log, whatever the cause's text
  log_ << "[pi-job] checkpoint failed (" << reason << "): " << why << "; the previous checkpoint is kept"
       << std::endl;
  if (events_) events_->publish(event_kind::notice, {{"level", "checkpoint"}, {"text", why}});
}

}  // namespace pi
