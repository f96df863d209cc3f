// What every connection of one gateway shares: its configuration, the I/O context and acceptor, the hub
// (history, latest state, streams, counters) and the heartbeat. Internal to the gateway; everything here
// lives on the gateway's one I/O thread (Boost.Beast's chat-multi example has the same layout: listener,
// http_session, sse_session and this shared state, a file each).
#pragma once

#include <utility>  // before Asio: its 1.74 headers use std::exchange without including it

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "gateway/gateway.hpp"
#include "gateway/hub.hpp"
#include "gateway/sse_frame.hpp"

namespace pi {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline constexpr const char* kServer = "pi-gateway";

inline std::chrono::steady_clock::duration to_duration(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

struct SharedState : std::enable_shared_from_this<SharedState> {
  explicit SharedState(GatewayConfig c)
      : config(std::move(c)), acceptor(io), accept_pause(io), heartbeat(io), hub(config.history) {}

  GatewayConfig config;
  asio::io_context io{1};
  tcp::acceptor acceptor;
  asio::steady_timer accept_pause;  // after an accept that failed for want of descriptors or memory
  // Failed accepts are said at most once a minute: when descriptors free up, successes and failures
  // interleave for a while, and one report per failure (or per run of failures) would flood the log.
  std::optional<std::chrono::steady_clock::time_point> accept_reported;
  std::uint64_t accept_unreported = 0;  // failures since the last report
  asio::steady_timer heartbeat;
  std::optional<asio::signal_set> signals;  // Gateway::stop_on_signals
  Hub hub;
  std::mt19937 rng{std::random_device{}()};
  Frame heartbeat_frame = std::make_shared<const std::string>(sse_comment(event_kind::heartbeat));

  void listen();               // listener.cpp
  void accept();               // listener.cpp: each connection becomes an HttpSession
  void schedule_heartbeat();   // listener.cpp
  std::string metrics_text();  // metrics.cpp: /metrics in Prometheus' text format
};

}  // namespace pi
