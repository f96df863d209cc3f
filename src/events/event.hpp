// The job's event feed: what it publishes while it runs (started, estimates as the finished prefix grows,
// workers, checkpoints, retries and failures, done). Every event has an id that increases over the whole
// life of the job, resumes included: the checkpoint carries the last one.
//
// The kinds are listed here once; the job, the publisher, the gateway and its tests use these names. (The
// page, viewer.js, names them again in its listeners: it is JavaScript, served as a file.)
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pi {

// A figure of an event: the number, or null when it is not finite (not known, as an ETA after the series).
inline nlohmann::json finite_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

namespace event_kind {
// What the job publishes. The latest event of each kind is the job's current state.
inline constexpr std::string_view job = "job";                // a run (re)starts: series, plan, ranks
inline constexpr std::string_view estimate = "estimate";      // the finished prefix grew
inline constexpr std::string_view workers = "workers";        // each rank's state and counts
inline constexpr std::string_view checkpoint = "checkpoint";  // a checkpoint was committed
inline constexpr std::string_view notice = "notice";          // a retry, a failure, a stop
inline constexpr std::string_view done = "done";              // the summary of a finished job
inline constexpr std::string_view progress = "progress";      // every second: state, phase, figures
inline constexpr std::string_view tasks = "tasks";            // the tasks that ended (not a state)
// What only the gateway writes into a stream.
inline constexpr std::string_view snapshot = "snapshot";    // the current state, to a new stream
inline constexpr std::string_view reset = "reset";          // the current state, when replay was impossible
inline constexpr std::string_view heartbeat = "heartbeat";  // a comment-like keep-alive
}  // namespace event_kind

// The job's kinds, in the order /status lists them.
inline constexpr std::array<std::string_view, 7> kStateKinds = {
    event_kind::job,        event_kind::progress, event_kind::estimate, event_kind::workers,
    event_kind::checkpoint, event_kind::done,     event_kind::notice};

// Kinds whose newer event makes an older one worthless: a consumer that fell behind may skip to the newest.
constexpr bool coalescable(std::string_view kind) {
  return kind == event_kind::estimate || kind == event_kind::workers || kind == event_kind::progress;
}

struct Event {
  std::uint64_t id = 0;
  std::string kind;  // one of kStateKinds
  std::string data;  // one line of JSON
};

// Where events go: the gateway in this process, or an HTTP publisher. `send` is called from any thread.
class EventOutput {
 public:
  virtual ~EventOutput() = default;
  virtual void send(const Event& event) = 0;
};

// Numbers events and hands them to an output; thread-safe.
class EventFeed {
 public:
  EventFeed(EventOutput& output, std::uint64_t last_id) : output_(output), last_id_(last_id) {}
  std::uint64_t publish(std::string_view kind, const nlohmann::json& data);
  std::uint64_t last_id() const;

 private:
  EventOutput& output_;
  mutable std::mutex mutex_;
  std::uint64_t last_id_;
};

}  // namespace pi
