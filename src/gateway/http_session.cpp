#include "gateway/http_session.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gateway/assets.hpp"
#include "gateway/request.hpp"
#include "gateway/sse_session.hpp"

namespace pi {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// A connection's HTTP requests, until it becomes an SSE stream or closes. Idle connections time out.
class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, SharedState& gw) : stream_(std::move(socket)), gw_(gw) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(gw_.config.header_limit));
    parser_->body_limit(gw_.config.body_limit);
    stream_.expires_after(to_duration(gw_.config.request_timeout_s));
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
    start_sse_session(stream_.release_socket(), gw_, last_id, over_cap);
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
    stream_.expires_after(to_duration(gw_.config.request_timeout_s));
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
  SharedState& gw_;
};

}  // namespace

void start_http_session(tcp::socket socket, SharedState& gw) {
  std::make_shared<HttpSession>(std::move(socket), gw)->read();
}

}  // namespace pi
