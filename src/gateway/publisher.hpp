// The job's side of publishing to a pi-gateway over HTTP: events queue up and a thread of its own POSTs them
// in batches with the bearer token. The job never waits on the gateway: when it is down, the publisher
// retries with backoff (keeping the newest estimate rather than every one), and when it comes back it gets
// the current state first.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include "events/event.hpp"

namespace pi {

struct PublishTarget {
  std::string host;
  std::string port;
};

// "http://HOST:PORT" (no path); throws GatewayError naming the bad value.
PublishTarget parse_publish_url(const std::string& url);

class HttpPublisher final : public EventOutput {
 public:
  HttpPublisher(PublishTarget target, std::string token, std::ostream& log);
  ~HttpPublisher() override;
  HttpPublisher(const HttpPublisher&) = delete;
  HttpPublisher& operator=(const HttpPublisher&) = delete;

  void send(const Event& event) override;
  // Waits until every queued event is delivered, or the time is up; returns whether all were.
  bool flush(std::chrono::duration<double> timeout);

 private:
  void loop();
  bool post(const std::deque<Event>& batch);  // true: the gateway took them

  PublishTarget target_;
  std::string token_;
  std::ostream& log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Event> queue_;
  std::map<std::string, Event> latest_;  // by kind: the state a gateway gets after a reconnect
  bool resend_state_ = false;
  bool in_flight_ = false;
  bool stop_ = false;
  bool reachable_ = true;
  std::atomic<bool> abort_{false};
  std::thread thread_;
};

}  // namespace pi
