// The job's event feed: what it publishes while it runs (started, estimates as the finished prefix grows,
// workers, checkpoints, retries and failures, done). Every event has an id that increases over the whole
// life of the job, resumes included: the checkpoint carries the last one.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace pi {

struct Event {
  std::uint64_t id = 0;
  std::string kind;  // job, estimate, workers, checkpoint, notice, done
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
  std::uint64_t publish(const std::string& kind, const nlohmann::json& data);
  std::uint64_t last_id() const;

 private:
  EventOutput& output_;
  mutable std::mutex mutex_;
  std::uint64_t last_id_;
};

}  // namespace pi
