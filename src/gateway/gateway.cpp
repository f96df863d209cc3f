#include "gateway/gateway.hpp"

#include <utility>  // before Asio: its 1.74 headers use std::exchange without including it

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "gateway/assets.hpp"
#include "gateway/hub.hpp"

namespace pi {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* kServer = "pi-gateway";

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// The value of `name` in a query string ("a=1&lastEventId=7"), if present.
std::optional<std::string> query_value(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

// The deepest nesting of arrays and objects in a JSON text (outside its strings), without parsing it:
// a line nested 100,000 deep must be refused before a recursive parser or destructor sees it.
std::size_t json_depth(const std::string& text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// One line of POST /publish, checked: every field that goes into an SSE frame is validated, so a publisher
// can't break the framing of every stream (a newline in `kind` would forge a frame).
Event parse_published_event(const std::string& line) {
  constexpr std::size_t kMaxDepth = 32;
  constexpr std::uint64_t kMaxId = std::uint64_t{1} << 53;  // exact in a browser, as raise_ids_to
  if (json_depth(line) > kMaxDepth)
    throw std::invalid_argument("nested deeper than " + std::to_string(kMaxDepth) + " levels");
  const nlohmann::json j = nlohmann::json::parse(line);
  const auto id = j.at("id").get<std::uint64_t>();
  if (id >= kMaxId) throw std::invalid_argument("id " + std::to_string(id) + " is not below 2^53");
  const auto kind = j.at("kind").get<std::string>();
  const bool word = !kind.empty() && kind.size() <= 32 && std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!word) throw std::invalid_argument("kind must be 1-32 of a-z, 0-9, '_' and '-'");
  if (!j.at("data").is_object()) throw std::invalid_argument("data must be a JSON object");
  return Event{id, kind, j.at("data").dump()};  // dump() escapes every control character
}

std::optional<std::uint64_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(text);
}

}  // namespace

struct Gateway::Impl : std::enable_shared_from_this<Gateway::Impl> {
  explicit Impl(GatewayConfig c)
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
  Hub hub;
  std::mt19937 rng{std::random_device{}()};
  Frame heartbeat_frame = std::make_shared<const std::string>(": heartbeat\n\n");

  void listen();
  void accept();
  void schedule_heartbeat();
  std::string metrics_text();
};

namespace {

// One SSE stream. Frames wait in a bounded queue; one write is in flight at a time; a stream that falls
// behind has its queued estimates replaced by newer ones, and is dropped when the queue still overflows.
class SseSession final : public Subscriber, public std::enable_shared_from_this<SseSession> {
 public:
  SseSession(tcp::socket socket, Gateway::Impl& gw) : socket_(std::move(socket)), gw_(gw) {
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
      enqueue(gw_.hub.state_frame("snapshot"), "snapshot");
    } else if (auto frames = gw_.hub.replay_after(*last_id)) {
      for (const Frame& f : *frames) enqueue(f, "replay");
    } else {
      ++gw_.hub.metrics().resets;
      gw_.hub.raise_ids_to(*last_id + 1);  // an id from an earlier gateway run: number above it
      enqueue(gw_.hub.state_frame("reset"), "reset");
    }
    gw_.hub.subscribe(shared_from_this());
    watch();
  }

  bool push(const Frame& frame, const std::string& kind) override {
    if (closed_) return false;
    const bool behind = queue_.size() >= gw_.config.queue_limit / 2;
    if (kind == "heartbeat" || (behind && (kind == "estimate" || kind == "workers"))) {
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
    if (kind != "head" && kind != "heartbeat") ++gw_.hub.metrics().events_delivered;
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
  Gateway::Impl& gw_;
  std::deque<Queued> queue_;
  std::size_t sent_ = 0;  // bytes of the front frame already written
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_flush_ = false;
  std::array<char, 64> sink_{};
};

// A connection's HTTP requests, until it becomes an SSE stream or closes. Idle connections time out.
class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, Gateway::Impl& gw) : stream_(std::move(socket)), gw_(gw) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(gw_.config.header_limit));
    parser_->body_limit(gw_.config.body_limit);
    stream_.expires_after(seconds(gw_.config.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  using Response = http::response<http::string_body>;

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof) {
      close();
      return;
    }
    if (ec == http::error::body_limit) {
      reply(http::status::payload_too_large, "text/plain", "request body too large\n", false);
      return;
    }
    if (ec == http::error::header_limit) {
      reply(http::status::request_header_fields_too_large, "text/plain", "request headers too large\n",
            false);
      return;
    }
    if (ec) {
      if (ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
        reply(http::status::bad_request, "text/plain", "bad request\n", false);
      } else {
        close();
      }
      return;
    }
    http::request<http::string_body> req = parser_->release();
    route(req);
  }

  void route(const http::request<http::string_body>& req) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    const bool keep = req.keep_alive();
    if (path == "/publish") {
      if (req.method() != http::verb::post)
        return reply(http::status::method_not_allowed, "text/plain", "POST only\n", keep);
      return publish(req, keep);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return reply(http::status::method_not_allowed, "text/plain", "GET only\n", keep);
    }
    head_ = req.method() == http::verb::head;
    if (path == "/events") {
      // HEAD gets the stream's headers and no body: a stream never ends, so its body can't be left out later.
      if (head_) return reply(http::status::ok, "text/event-stream", "", false);
      return start_stream(req, target);
    }
    if (path == "/status")
      return reply(http::status::ok, "application/json", gw_.hub.status().dump() + "\n", keep);
    if (path == "/metrics")
      return reply(http::status::ok, "text/plain; version=0.0.4", gw_.metrics_text(), keep);
    if (path == "/healthz") return reply(http::status::ok, "text/plain", "ok\n", keep);
    if (const Asset* a = find_asset(path == "/" ? "/index.html" : path)) {
      return reply(http::status::ok, std::string(a->content_type), std::string(a->content), keep);
    }
    reply(http::status::not_found, "text/plain", "not found\n", keep);
  }

  void publish(const http::request<http::string_body>& req, bool keep) {
    const auto auth = req.find(http::field::authorization);
    const std::string_view prefix = "Bearer ";
    const std::string_view value =
        auth == req.end() ? std::string_view() : std::string_view(auth->value().data(), auth->value().size());
    if (!value.starts_with(prefix)) {
      ++gw_.hub.metrics().publish_refused;
      return reply(http::status::unauthorized, "text/plain", "a bearer token is required\n", keep,
                   "Bearer realm=\"pi-gateway\"");
    }
    const std::string given(value.substr(prefix.size()));
    if (!gw_.config.token || !constant_time_equal(given, *gw_.config.token)) {
      ++gw_.hub.metrics().publish_refused;
      return reply(http::status::forbidden, "text/plain", "wrong token\n", keep);
    }
    std::istringstream lines(req.body());
    std::string line;
    std::uint64_t accepted = 0;
    try {
      std::vector<Event> events;
      while (std::getline(lines, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        events.push_back(parse_published_event(line));
      }
      for (const Event& e : events) accepted += gw_.hub.publish(e) ? 1u : 0u;
    } catch (const std::exception& e) {
      return reply(
          http::status::bad_request, "text/plain",
          std::string("each line must be {\"id\":N,\"kind\":\"...\",\"data\":{...}}: ") + e.what() + "\n",
          keep);
    }
    reply(http::status::ok, "application/json",
          nlohmann::json{{"accepted", accepted}, {"last_id", gw_.hub.last_id()}}.dump() + "\n", keep);
  }

  void start_stream(const http::request<http::string_body>& req, std::string_view target) {
    std::optional<std::uint64_t> last_id;
    if (const auto h = req.find("Last-Event-ID"); h != req.end()) last_id = parse_id(std::string(h->value()));
    if (!last_id) {
      if (auto q = query_value(target, "lastEventId")) last_id = parse_id(*q);
    }
    const bool over_cap = gw_.hub.streams() >= gw_.config.max_streams;
    stream_.expires_never();  // a stream lives as long as its viewer
    auto sse = std::make_shared<SseSession>(stream_.release_socket(), gw_);
    sse->start(last_id, over_cap);
  }

  void reply(http::status status, const std::string& type, std::string body, bool keep,
             const std::string& authenticate = "") {
    auto res = std::make_shared<Response>(status, 11);
    res->set(http::field::server, kServer);
    res->set(http::field::content_type, type);
    res->set(http::field::cache_control, "no-cache");
    if (!authenticate.empty()) res->set(http::field::www_authenticate, authenticate);
    res->keep_alive(keep);
    res->body() = std::move(body);
    res->prepare_payload();
    if (head_) res->body().clear();  // the headers (Content-Length included) as a GET would have them
    stream_.expires_after(seconds(gw_.config.request_timeout_s));
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        self->close();
      } else {
        self->read();
      }
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool head_ = false;  // the request being answered is a HEAD
  Gateway::Impl& gw_;
};

}  // namespace

void Gateway::Impl::listen() {
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

void Gateway::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(std::move(socket), *self)->read();
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

void Gateway::Impl::schedule_heartbeat() {
  heartbeat.expires_at(heartbeat.expiry() + seconds(config.heartbeat_s));  // no drift
  heartbeat.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    self->schedule_heartbeat();
    self->hub.broadcast(self->heartbeat_frame, "heartbeat");
  });
}

std::string Gateway::Impl::metrics_text() {
  const HubMetrics& m = hub.metrics();
  const nlohmann::json status = hub.status();
  std::ostringstream out;
  const auto metric = [&out](const char* name, const char* type, const char* help, double value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << ' ' << value << '\n';
  };
  metric("pi_gateway_streams", "gauge", "SSE streams connected", static_cast<double>(hub.streams()));
  metric("pi_gateway_connections_total", "counter", "SSE streams accepted",
         static_cast<double>(m.connections_total));
  metric("pi_gateway_connections_refused_total", "counter", "SSE streams refused over the cap",
         static_cast<double>(m.connections_refused));
  metric("pi_gateway_events_published_total", "counter", "events taken from the job",
         static_cast<double>(m.events_published));
  metric("pi_gateway_events_delivered_total", "counter", "events written to streams",
         static_cast<double>(m.events_delivered));
  metric("pi_gateway_events_coalesced_total", "counter", "queued events replaced by a newer one",
         static_cast<double>(m.events_coalesced));
  metric("pi_gateway_streams_dropped_total", "counter", "streams dropped as too slow",
         static_cast<double>(m.streams_dropped));
  metric("pi_gateway_accept_errors_total", "counter", "accepts that failed (out of descriptors or memory)",
         static_cast<double>(m.accept_errors));
  metric("pi_gateway_publish_refused_total", "counter", "publish requests with a missing or wrong token",
         static_cast<double>(m.publish_refused));
  metric("pi_gateway_resets_total", "counter", "streams whose asked-for history was gone",
         static_cast<double>(m.resets));
  metric("pi_gateway_last_event_id", "gauge", "id of the last event", static_cast<double>(hub.last_id()));
  metric("pi_gateway_fanout_last_seconds", "gauge", "time to hand the last event to every stream",
         m.fanout_last_s);
  metric("pi_gateway_fanout_max_seconds", "gauge", "longest time to hand an event to every stream",
         m.fanout_max_s);
  const nlohmann::json& est = status["estimate"];
  if (est.is_object()) {
    metric("pi_job_fraction_done", "gauge", "fraction of the job's work done", est.value("fraction", 0.0));
    metric("pi_job_ranges_done", "gauge", "grid ranges done", est.value("ranges_done", 0.0));
    metric("pi_job_correct_digits", "gauge", "digits the latest estimate certifies",
           est.value("correct_digits", 0.0));
  }
  metric("pi_job_done", "gauge", "1 once the job is complete", status["done"].is_null() ? 0.0 : 1.0);
  return out.str();
}

void parse_listen(const std::string& flag, const std::string& text, GatewayConfig& config) {
  const auto colon = text.rfind(':');
  const auto bad = [&] {
    return GatewayError(flag + " '" + text +
                        "' is not accepted: give HOST:PORT, e.g. 127.0.0.1:8080 (PORT 0-65535)");
  };
  if (colon == std::string::npos) throw bad();
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  const unsigned long p = std::stoul(port);
  if (p > 65535) throw bad();
  config.host = host.empty() ? "127.0.0.1" : (host == "localhost" ? "127.0.0.1" : host);
  config.port = static_cast<unsigned short>(p);
}

std::string read_token_file(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
    throw GatewayError("--token-file '" + path + "' is not a regular file: give a file holding the token");
  if (std::filesystem::is_regular_file(status) && std::filesystem::file_size(path, ec) > 4096)
    throw GatewayError("--token-file '" + path + "' is over 4 KiB: give a file holding only the token");
  std::ifstream in(path);
  if (!in) throw GatewayError("--token-file '" + path + "' cannot be read");
  std::string token;
  try {
    token.assign(std::istreambuf_iterator<char>(in), {});
  } catch (const std::exception&) {
    throw GatewayError("--token-file '" + path + "' cannot be read");
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) throw GatewayError("--token-file '" + path + "' is empty: put a secret token in it");
  return token;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

Gateway::Gateway(GatewayConfig config) : impl_(std::make_shared<Impl>(std::move(config))) {
  impl_->listen();
  impl_->accept();
  impl_->heartbeat.expires_after(std::chrono::seconds(0));
  impl_->schedule_heartbeat();
}

Gateway::~Gateway() {
  stop();
  if (thread_.joinable()) thread_.join();
  // The pending accept and heartbeat hold the Impl that holds them: cancel them and let their handlers
  // return, or neither would ever be freed.
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->heartbeat.cancel();
  impl_->accept_pause.cancel();
  impl_->io.restart();
  impl_->io.poll();
}

unsigned short Gateway::port() const { return impl_->acceptor.local_endpoint().port(); }

void Gateway::run() { impl_->io.run(); }

void Gateway::start() {
  thread_ = std::thread([impl = impl_] { impl->io.run(); });
}

void Gateway::stop() { impl_->io.stop(); }

void Gateway::send(const Event& event) {
  asio::post(impl_->io, [impl = impl_, event] {
    try {
      impl->hub.publish(event);
    } catch (const std::exception&) {
      // A malformed event from this process is a bug; the gateway keeps serving.
    }
  });
}

}  // namespace pi
