// pi-gateway: a small HTTP server (Boost.Beast, one I/O thread) that takes the job's events and fans them
// out to any number of browsers over Server-Sent Events, and serves the live viewer. Runs as its own process
// (pi-gateway) or inside rank 0 of pi-job (--serve).
//   GET /events   SSE (Last-Event-ID header or ?lastEventId=N to resume)   GET /          the viewer
//   GET /status   JSON snapshot of the job                                 GET /metrics   Prometheus text
//   GET /healthz  liveness                                                 POST /publish  events (bearer
//   token)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "events/event.hpp"

namespace pi {

class GatewayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GatewayConfig {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;        // 0: any free port
  std::optional<std::string> token;  // POST /publish needs it; without one, publishing over HTTP is refused
  std::size_t max_streams = 20000;
  double heartbeat_s = 15;
  std::size_t history = 4096;     // events kept for replay
  std::size_t queue_limit = 64;   // frames queued on one stream before it is dropped as too slow
  double request_timeout_s = 10;  // idle limit of a non-SSE connection
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 1 << 20;
};

// "HOST:PORT" (HOST may be empty, or [v6]) given to `flag`; throws GatewayError naming the bad value.
void parse_listen(const std::string& flag, const std::string& text, GatewayConfig& config);
// The token in a file (trailing whitespace dropped); throws GatewayError when unreadable or empty.
std::string read_token_file(const std::string& path);
// Compares in time that depends on the lengths only, not on where the strings differ.
bool constant_time_equal(const std::string& a, const std::string& b);

struct SharedState;  // gateway/shared_state.hpp, internal

class Gateway final : public EventOutput {
 public:
  // Binds at once; throws GatewayError (e.g. the port is taken).
  explicit Gateway(GatewayConfig config);
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  unsigned short port() const;
  // Serves on the calling thread until stop(), or on a thread of its own.
  void run();
  // From now on SIGINT and SIGTERM stop the gateway (an Asio signal_set on its I/O context): call it before
  // saying where the gateway serves, so that no signal finds the default action.
  void stop_on_signals();
  void start();
  void stop();
  // Thread-safe: the event is handed to the I/O thread.
  void send(const Event& event) override;

 private:
  std::shared_ptr<SharedState> state_;
  std::thread thread_;
};

}  // namespace pi
