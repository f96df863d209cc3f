// The gateway's shared state, free of networking: the bounded history of events for replay, the latest state
// of the job for new viewers and /status, the streams to fan events out to, and the counters /metrics shows.
// Lives on the gateway's one I/O thread; nothing here locks.
#pragma once

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

class Hub {
 public:
  explicit Hub(std::size_t history_limit) : history_limit_(history_limit) {}

  // Takes an event from the job and fans it out; returns false when it was a resend of the current state
  // (what a publisher sends again after reconnecting), which is ignored. The gateway numbers the events it
  // serves: the job's id, or one more than the last when that is larger, so ids only increase whatever
  // restarts (a job resumed from an older checkpoint, a gateway restarted).
  bool publish(const Event& e);

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
  nlohmann::json status() const;
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
  std::map<std::string, nlohmann::json> latest_;  // by kind
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
  HubMetrics metrics_;
};

}  // namespace pi
