#include "gateway/gateway.hpp"

#include <csignal>
#include <iostream>

#include "gateway/shared_state.hpp"

namespace pi {

using error_code = boost::system::error_code;

Gateway::Gateway(GatewayConfig config) : state_(std::make_shared<SharedState>(std::move(config))) {
  state_->listen();
  state_->accept();
  state_->heartbeat.expires_after(std::chrono::seconds(0));
  state_->schedule_heartbeat();
}

Gateway::~Gateway() {
  try {
    stop();
    if (thread_.joinable()) thread_.join();
    // The pending accept and heartbeat hold the shared state that holds them: cancel them and let their
    // handlers return, or neither would ever be freed.
    error_code ignored;
    state_->acceptor.close(ignored);
    state_->heartbeat.cancel();
    state_->accept_pause.cancel();
    if (state_->signals) state_->signals->cancel(ignored);
    state_->io.restart();
    state_->io.poll();
  } catch (const std::exception& e) {
    std::cerr << "[pi-gateway] while stopping: " << e.what() << std::endl;  // a destructor must not throw
  }
}

unsigned short Gateway::port() const { return state_->acceptor.local_endpoint().port(); }

void Gateway::run() { state_->io.run(); }

void Gateway::stop_on_signals() {
  state_->signals.emplace(state_->io, SIGINT, SIGTERM);
  state_->signals->async_wait([state = state_.get()](const error_code& ec, int) {
    if (!ec) state->io.stop();
  });
}

void Gateway::start() {
  thread_ = std::thread([state = state_] { state->io.run(); });
}

void Gateway::stop() { state_->io.stop(); }

void Gateway::send(const Event& event) {
  asio::post(state_->io, [state = state_, event] {
    try {
      state->hub.publish(event);
    } catch (const std::exception&) {
      // A malformed event from this process is a bug; the gateway keeps serving.
    }
  });
}

}  // namespace pi
