#include "gateway/sse_session.hpp"

#include <array>
#include <boost/beast/core.hpp>
#include <deque>
#include <string>

namespace pi {

namespace beast = boost::beast;

namespace {

// One SSE stream. Frames wait in a bounded queue; one write is in flight at a time; a stream that falls
// behind has its queued estimates replaced by newer ones, and is dropped when the queue still overflows.
class SseSession final : public Subscriber, public std::enable_shared_from_this<SseSession> {
 public:
  SseSession(tcp::socket socket, SharedState& gw) : socket_(std::move(socket)), gw_(gw) {
    beast::error_code ignored;
    socket_.non_blocking(true, ignored);
  }

  void start(std::optional<std::uint64_t> last_id, bool over_cap) {
    const int retry_ms = std::uniform_int_distribution<int>(2000, 5000)(gw_.rng);
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: pi-gateway\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: keep-alive\r\n\r\n";
    if (over_cap) {
      // Answered in-stream: a bare 503 would make a browser's EventSource give up for good.
      ++gw_.hub.metrics().connections_refused;
      head += "retry: " + std::to_string(retry_ms * 10) + "\n\n";
      head += sse_frame(
          gw_.hub.last_id(), "overload",
          nlohmann::json{{"reason", "too many streams"}, {"max_streams", gw_.config.max_streams}}.dump());
      enqueue(std::make_shared<const std::string>(std::move(head)), "head");
      close_after_flush_ = true;
      return;
    }
    ++gw_.hub.metrics().connections_total;
    head += "retry: " + std::to_string(retry_ms) + "\n\n";
    enqueue(std::make_shared<const std::string>(std::move(head)), "head");
    if (!last_id) {
      enqueue(gw_.hub.state_frame(event_kind::snapshot), std::string(event_kind::snapshot));
    } else if (auto frames = gw_.hub.replay_after(*last_id)) {
      for (const Frame& f : *frames) enqueue(f, "replay");
    } else {
      ++gw_.hub.metrics().resets;
      gw_.hub.raise_ids_to(*last_id + 1);  // an id from an earlier gateway run: number above it
      enqueue(gw_.hub.state_frame(event_kind::reset), std::string(event_kind::reset));
    }
    gw_.hub.subscribe(shared_from_this());
    watch();
  }

  bool push(const Frame& frame, const std::string& kind) override {
    if (closed_) return false;
    const bool behind = queue_.size() >= gw_.config.queue_limit / 2;
    if (kind == event_kind::heartbeat || (behind && coalescable(kind))) {
      // Behind: the latest wins, replacing a queued frame of the same kind that is not being written.
      for (std::size_t i = writing_ ? 1 : 0; i < queue_.size(); ++i) {
        if (queue_[i].kind == kind) {
          queue_[i].frame = frame;
          ++gw_.hub.metrics().events_coalesced;
          return true;
        }
      }
    }
    if (queue_.size() >= gw_.config.queue_limit) {
      ++gw_.hub.metrics().streams_dropped;
      close();
      return false;
    }
    enqueue(frame, kind);
    return true;
  }

 private:
  struct Queued {
    Frame frame;
    std::string kind;
  };

  // A read that never expects data: it keeps the session alive (the hub holds streams weakly) and ends when
  // the viewer goes away.
  void watch() {
    socket_.async_read_some(asio::buffer(sink_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->close();
                              } else {
                                self->watch();
                              }
                            });
  }

  void enqueue(Frame frame, std::string kind) {
    if (!writing_ && queue_.empty()) {
      // Nothing queued: try the socket at once. Most of the time the kernel takes the whole frame and no
      // asynchronous operation (with its handler and allocation) is needed: that is what keeps fan-out to
      // thousands of streams fast on one thread.
      beast::error_code ec;
      const std::size_t n = socket_.write_some(asio::buffer(*frame), ec);
      if (!ec && n == frame->size()) {
        count_delivery(kind);
        return;
      }
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        close();
        return;
      }
      sent_ = ec ? 0 : n;
    }
    queue_.push_back({std::move(frame), std::move(kind)});
    if (!writing_) write_next();
  }

  void count_delivery(const std::string& kind) {
    if (kind != "head" && kind != event_kind::heartbeat) ++gw_.hub.metrics().events_delivered;
  }

  void write_next() {
    writing_ = true;
    const Frame& f = queue_.front().frame;
    asio::async_write(socket_, asio::buffer(*f) + sent_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec) {
      close();
      return;
    }
    count_delivery(queue_.front().kind);
    sent_ = 0;
    queue_.pop_front();
    if (!queue_.empty()) {
      write_next();
      return;
    }
    writing_ = false;
    if (close_after_flush_) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  SharedState& gw_;
  std::deque<Queued> queue_;
  std::size_t sent_ = 0;  // bytes of the front frame already written
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  std::array<char, 64> sink_{};
};

}  // namespace

void start_sse_session(tcp::socket socket, SharedState& gw, std::optional<std::uint64_t> last_id,
                       bool over_cap) {
  std::make_shared<SseSession>(std::move(socket), gw)->start(last_id, over_cap);
}

}  // namespace pi
