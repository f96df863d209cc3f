#include "gateway/publisher.hpp"

#include <utility>  // before Asio (see gateway.cpp)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/gateway.hpp"

namespace pi {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kBatch = 512;
constexpr std::size_t kQueueLimit = 20000;
constexpr auto kTimeout = std::chrono::seconds(5);

}  // namespace

PublishTarget parse_publish_url(const std::string& url) {
  const std::string scheme = "http://";
  const auto bad = [&url] {
    return GatewayError("--publish '" + url +
                        "' is not accepted: give http://HOST:PORT, e.g. http://login1:8080");
  };
  if (url.rfind(scheme, 0) != 0) throw bad();
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || rest.find('/') != std::string::npos) throw bad();
  PublishTarget t{rest.substr(0, colon), rest.substr(colon + 1)};
  if (t.host.size() >= 2 && t.host.front() == '[') t.host = t.host.substr(1, t.host.size() - 2);
  if (t.port.empty() || t.port.size() > 5 || t.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(t.port) > 65535) {
    throw bad();
  }
  return t;
}

HttpPublisher::HttpPublisher(PublishTarget target, std::string token, std::ostream& log)
    : target_(std::move(target)), token_(std::move(token)), log_(log), thread_([this] { loop(); }) {}

HttpPublisher::~HttpPublisher() {
  flush(std::chrono::seconds(2));
  abort_ = true;  // an exchange still in flight gives up now: the job's end never waits on the page
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void HttpPublisher::send(const Event& event) {
  {
    std::lock_guard lock(mutex_);
    latest_[event.kind] = event;
    if (queue_.size() >= kQueueLimit) {
      // The gateway has been away for long: keep every event but the live ones, whose newest is kept anyway.
      const auto it =
          std::find_if(queue_.begin(), queue_.end(), [](const Event& e) { return coalescable(e.kind); });
      if (it != queue_.end()) queue_.erase(it);
    }
    queue_.push_back(event);
  }
  wake_.notify_one();
}

bool HttpPublisher::flush(std::chrono::duration<double> timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !in_flight_; });
}

void HttpPublisher::loop() {
  auto backoff = std::chrono::milliseconds(250);
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::deque<Event> batch;
    if (resend_state_) {
      // A gateway that came back (maybe restarted) gets the current state first; it ignores what it has.
      for (const std::string_view kind : kStateKinds) {
        if (kind == event_kind::notice) continue;  // a log line, not state
        if (auto it = latest_.find(std::string(kind)); it != latest_.end()) batch.push_back(it->second);
      }
    }
    while (!queue_.empty() && batch.size() < kBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    in_flight_ = true;
    lock.unlock();
    const bool ok = post(batch);
    lock.lock();
    in_flight_ = false;
    if (ok) {
      resend_state_ = false;
      backoff = std::chrono::milliseconds(250);
      if (queue_.empty()) idle_.notify_all();
      continue;
    }
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
    resend_state_ = true;
    wake_.wait_for(lock, backoff, [this] { return stop_; });
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(10));
  }
}

bool HttpPublisher::post(const std::deque<Event>& batch) {
  std::string body;
  for (const Event& e : batch) {
    body += "{\"id\":" + std::to_string(e.id) + ",\"kind\":\"" + e.kind + "\",\"data\":" + e.data + "}\n";
  }
  std::string problem;
  try {
    // Every step is asynchronous under one deadline for the whole exchange (Beast's synchronous calls have
    // none): a gateway that is stopped, accepts and never answers, or sends half a response costs at most
    // kTimeout, and a publisher being destroyed gives up at once.
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    http::request<http::string_body> req{http::verb::post, "/publish", 11};
    req.set(http::field::host, target_.host + ":" + target_.port);
    req.set(http::field::authorization, "Bearer " + token_);
    req.set(http::field::content_type, "application/x-ndjson");
    req.body() = std::move(body);
    req.prepare_payload();
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    beast::error_code failure;
    bool answered = false;
    const auto fail = [&](beast::error_code ec) { failure = ec; };
    resolver.async_resolve(target_.host, target_.port, [&](beast::error_code ec, const auto& endpoints) {
      if (ec) return fail(ec);
      stream.expires_after(kTimeout);
      stream.async_connect(endpoints, [&](beast::error_code ec2, const auto&) {
        if (ec2) return fail(ec2);
        http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
          if (ec3) return fail(ec3);
          http::async_read(stream, buffer, res, [&](beast::error_code ec4, std::size_t) {
            if (ec4) return fail(ec4);
            answered = true;
          });
        });
      });
    });
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!io.stopped() && !abort_.load()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        failure = asio::error::timed_out;
        break;
      }
      io.run_for(std::chrono::milliseconds(50));
    }
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream.close();
    if (abort_.load() && !answered) return false;
    if (!answered) throw beast::system_error(failure ? failure : asio::error::timed_out);
    if (res.result() == http::status::ok) {
      if (!reachable_)
        log_ << "[pi-job] the gateway at " << target_.host << ":" << target_.port << " is back" << std::endl;
      reachable_ = true;
      return true;
    }
    problem = "it answered " + std::to_string(res.result_int()) + " " + res.body();
    if (!problem.empty() && problem.back() == '\n') problem.pop_back();
  } catch (const std::exception& e) {
    problem = e.what();
  }
  if (reachable_) {
    log_ << "[pi-job] cannot publish to the gateway at " << target_.host << ":" << target_.port << " ("
         << problem << "); the job goes on and retries with backoff" << std::endl;
  }
  reachable_ = false;
  return false;
}

}  // namespace pi
