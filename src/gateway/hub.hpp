// The gateway's shared state, free of networking: the bounded history of events for replay, the latest state
// of the job for new viewers and /status, the streams to fan events out to, and the counters /metrics shows.
// Lives on the gateway's one I/O thread; nothing here locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/event.hpp"

namespace pi {

using Frame = std::shared_ptr<const std::string>;

// A connected SSE stream, as the hub sees it.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Queues a frame; `coalescable` frames (estimates, workers) may replace an older one of the same kind still
  // queued. Returns false when the stream fell too far behind and is being dropped.
  virtual bool push(const Frame& frame, const std::string& kind) = 0;
};

struct HubMetrics {
  std::uint64_t connections_total = 0;
  std::uint64_t connections_refused = 0;  // over the connection cap
  std::uint64_t events_published = 0;
  std::uint64_t events_delivered = 0;  // frames handed to a socket
  std::uint64_t events_coalesced = 0;  // replaced by a newer one before they were sent
  std::uint64_t streams_dropped = 0;   // too slow: dropped
  std::uint64_t publish_refused = 0;   // bad token
  std::uint64_t resets = 0;            // asked-for history was gone
  std::uint64_t accept_errors = 0;     // accepts that failed (descriptors or memory ran out)
  double fanout_last_s = 0;            // time to hand the last event to every stream
  double fanout_max_s = 0;
};

// The job's state as the gateway sees it: what the job's last pulse (progress event) said, or "stale" when
// a running job has not been heard of for kStalePulses pulse intervals; "waiting" before any pulse.
inline constexpr double kStalePulses = 2.0;

// Bounded history of the convergence for viewers that come late: one point per estimate event, thinned
// to every other point whenever it reaches kConvergencePoints (the first and the newest always stay).
inline constexpr std::size_t kConvergencePoints = 400;

// The timeline: the tasks that ended (`tasks` events), the newest kTimelineSpans of them.
inline constexpr std::size_t kTimelineSpans = 5000;

class Hub {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Hub(std::size_t history_limit) : history_limit_(history_limit) {}

  // Takes an event from the job and fans it out; returns false when it was a resend of the current state
  // (what a publisher sends again after reconnecting), which is ignored. The gateway numbers the events it
  // serves: the job's id, or one more than the last when that is larger, so ids only increase whatever
  // restarts (a job resumed from an older checkpoint, a gateway restarted).
  // A job with another id (in its job or progress events) replaces the one before: its state and
  // convergence history are dropped.
  bool publish(const Event& e, Clock::time_point now = Clock::now());

  // What a stream that saw `last_id` gets next: the events after it, or nullopt when the history no longer
  // holds them (the caller then sends a reset with the current state).
  std::optional<std::vector<Frame>> replay_after(std::uint64_t last_id) const;
  // The current state as one event: kind "snapshot" for a new stream, "reset" when replay was impossible.
  Frame state_frame(std::string_view kind) const;
  // A viewer holds an id this gateway has not reached (it served the viewer before a restart): later
  // events are numbered above it, so the viewer's ids keep increasing. Ids past 2^53 are ignored.
  void raise_ids_to(std::uint64_t id) {
    if (id > last_id_ && id < (std::uint64_t{1} << 53)) last_id_ = id;
  }
  // The latest event of each kind, the derived job state ("job_state": state, heard_s_ago), the
  // convergence history ("history") and the timeline ("timeline": spans, dropped).
  nlohmann::json status(Clock::time_point now = Clock::now()) const;
  nlohmann::json job_state(Clock::time_point now) const;
  std::uint64_t last_id() const { return last_id_; }

  void subscribe(const std::shared_ptr<Subscriber>& s) { subscribers_.push_back(s); }
  // Hands a frame to every stream (events, heartbeats).
  void broadcast(const Frame& frame, const std::string& kind);
  std::size_t streams();
  HubMetrics& metrics() { return metrics_; }

 private:
  struct Stored {
    std::uint64_t id;
    Frame frame;
  };
  std::size_t history_limit_;
  std::deque<Stored> history_;
  std::uint64_t last_id_ = 0;
  void start_job(const std::string& job_id);
  void add_point(const nlohmann::json& estimate);
  void add_spans(const nlohmann::json& tasks);

  std::map<std::string, nlohmann::json> latest_;  // by kind
  std::string job_id_;                            // of the events in latest_ and convergence_
  std::optional<Clock::time_point> heard_;        // the job's last event
  std::vector<nlohmann::json> convergence_;
  std::deque<nlohmann::json> timeline_;
  std::uint64_t timeline_dropped_ = 0;  // spans left out: older than the newest kTimelineSpans, or unlisted
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
  HubMetrics metrics_;
};

}  // namespace pi
