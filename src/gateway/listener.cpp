// The gateway's listening socket and its heartbeat: accepting connections (and pausing when descriptors
// run out), and the comment every stream gets every --heartbeat seconds.
#include <boost/beast/core.hpp>
#include <iostream>

#include "gateway/http_session.hpp"
#include "gateway/shared_state.hpp"

namespace pi {

namespace beast = boost::beast;

void SharedState::listen() {
  beast::error_code ec;
  const auto address = asio::ip::make_address(config.host, ec);
  if (ec)
    throw GatewayError("'" + config.host + "' is not an IP address (give one, e.g. 127.0.0.1 or 0.0.0.0)");
  const tcp::endpoint endpoint(address, config.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw GatewayError("cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " +
                       ec.message());
  }
}

void SharedState::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      start_http_session(std::move(socket), *self);
      self->accept();
      return;
    }
    // Out of descriptors (or memory): the connection stays in the listen queue and accepting again at once
    // would fail again at once, a loop that takes the core the streams need. Pause, then try again.
    ++self->hub.metrics().accept_errors;
    const auto now = std::chrono::steady_clock::now();
    if (!self->accept_reported || now - *self->accept_reported >= std::chrono::minutes(1)) {
      std::cerr << "[pi-gateway] cannot accept connections: " << ec.message()
                << " (each stream holds a descriptor: raise the limit, ulimit -n, or lower --max-streams);"
                   " trying again every 100 ms";
      if (self->accept_unreported > 0)
        std::cerr << "; " << self->accept_unreported << " more failed since the last report";
      std::cerr << std::endl;
      self->accept_reported = now;
      self->accept_unreported = 0;
    } else {
      ++self->accept_unreported;
    }
    self->accept_pause.expires_after(std::chrono::milliseconds(100));
    self->accept_pause.async_wait([self](beast::error_code wait_ec) {
      if (!wait_ec) self->accept();
    });
  });
}

void SharedState::schedule_heartbeat() {
  heartbeat.expires_at(heartbeat.expiry() + to_duration(config.heartbeat_s));  // no drift
  heartbeat.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    self->schedule_heartbeat();
    self->hub.broadcast(self->heartbeat_frame, std::string(event_kind::heartbeat));
  });
}

}  // namespace pi
