// SSE fan-out under load: a C++ client holds N streams to a pi-gateway on loopback while a publisher posts
// an estimate-sized event R times a second; each event carries the steady-clock time it was published, so
// every delivery's latency is measured. Reports delivered/expected, p50/p99/max latency, and the gateway's
// memory per stream (VmRSS with the streams minus VmRSS before, over N).
//   bench/bench_sse_load PI_GATEWAY [streams=10000] [events_per_s=5] [seconds=20]
// With PI_BENCH_CLIENT_SPIN=1 the client polls instead of sleeping in epoll_wait. On loopback the gateway's
// send() does the receiving side's TCP work too, including waking the client; a client that never sleeps
// takes that wake-up out of the gateway's time, as remote browsers would.
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Asio (see src/gateway/gateway.cpp)

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  long value = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> value;
      return value;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;
}

struct Stats {
  std::vector<std::int64_t> latencies_ns;
  std::atomic<std::size_t> connected{0};
  std::atomic<std::size_t> answered{0};  // the gateway's first bytes arrived: it serves the stream
  std::atomic<std::size_t> closed{0};    // ended before the run did
  std::atomic<std::size_t> failed{0};
};

// One stream: sends the request, then scans what arrives for the publish time of each event.
class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(asio::io_context& io, Stats& stats) : socket_(io), stats_(stats) {}
  void start(const tcp::endpoint& ep) {
    socket_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        ++self->stats_.failed;
        return;
      }
      static const std::string req =
          "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
      asio::async_write(self->socket_, asio::buffer(req), [self](boost::system::error_code e, std::size_t) {
        if (e) {
          ++self->stats_.failed;
          return;
        }
        ++self->stats_.connected;
        self->read();
      });
    });
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              if (ec) {
                                ++self->stats_.closed;
                                return;
                              }
                              if (!self->answered_) {
                                self->answered_ = true;
                                ++self->stats_.answered;
                              }
                              const std::int64_t t = now_ns();
                              self->scan(std::string_view(self->buf_.data(), n), t);
                              self->read();
                            });
  }
  // Events carry "published_ns":<digits>; a marker may straddle two reads, so keep a short tail.
  void scan(std::string_view chunk, std::int64_t t) {
    carry_.append(chunk);
    static constexpr std::string_view key = "\"published_ns\":";
    std::size_t pos = 0;
    std::size_t done = 0;
    while ((pos = carry_.find(key, pos)) != std::string::npos) {
      std::size_t end = pos + key.size();
      while (end < carry_.size() && carry_[end] >= '0' && carry_[end] <= '9') ++end;
      if (end == carry_.size()) break;  // the number may go on in the next read
      stats_.latencies_ns.push_back(t - std::stoll(carry_.substr(pos + key.size(), end - pos - key.size())));
      pos = done = end;
    }
    carry_.erase(0, std::max(done, carry_.size() > 64 ? carry_.size() - 64 : 0));
  }

  tcp::socket socket_;
  Stats& stats_;
  std::array<char, 2048> buf_{};
  std::string carry_;
  bool answered_ = false;
};

bool post(unsigned short port, const std::string& token, const std::string& body) {
  try {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    const std::string req = "POST /publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                            "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body;
    asio::write(s, asio::buffer(req));
    std::string reply;
    boost::system::error_code ec;
    std::array<char, 512> b{};
    for (std::size_t n; (n = s.read_some(asio::buffer(b), ec)) > 0 && !ec;) reply.append(b.data(), n);
    return reply.rfind("HTTP/1.1 200", 0) == 0;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: [PI_BENCH_CLIENT_SPIN=1] bench_sse_load PI_GATEWAY [streams] [events_per_s] [seconds]\n");
    return 2;
  }
  const std::string gateway = argv[1];
  const std::size_t asked = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10000;
  const double rate = argc > 3 ? std::atof(argv[3]) : 5;
  const double seconds = argc > 4 ? std::atof(argv[4]) : 20;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  // Each stream is a descriptor here and one in the gateway: both processes stop at the same limit, and this
  // one needs a few more for the publisher's and the metrics' connections.
  constexpr std::size_t kReserve = 64;
  const std::size_t streams =
      lim.rlim_cur == RLIM_INFINITY ? asked : std::min<std::size_t>(asked, lim.rlim_cur - kReserve);
  if (streams < asked) {
    std::printf("streams: %zu asked, %zu opened: the descriptor limit (ulimit -n) is %llu\n", asked, streams,
                static_cast<unsigned long long>(lim.rlim_cur));
  }

  const std::string token = "bench-token";
  const std::string token_file = "/tmp/pi-bench-sse-token";
  std::ofstream(token_file) << token << "\n";
  const unsigned short port = 18000 + static_cast<unsigned short>(getpid() % 2000);
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    const std::string max = std::to_string(streams + 100);
    execl(gateway.c_str(), gateway.c_str(), "--listen", listen.c_str(), "--token-file", token_file.c_str(),
          "--max-streams", max.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_before = rss_kb(pid);

  asio::io_context io(1);
  Stats stats;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  for (std::size_t i = 0; i < streams; ++i) std::make_shared<Stream>(io, stats)->start(ep);
  const bool spin = std::getenv("PI_BENCH_CLIENT_SPIN") != nullptr;
  std::thread client([&io, spin] {
    auto guard = asio::make_work_guard(io);
    if (spin) {
      while (!io.stopped()) io.poll();
    } else {
      io.run();
    }
  });
  const auto t_connect = std::chrono::steady_clock::now();
  while (stats.connected + stats.failed < streams &&
         std::chrono::steady_clock::now() - t_connect < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Publishing starts once the gateway has answered every stream (its snapshot arrived).
  while (stats.answered < stats.connected &&
         std::chrono::steady_clock::now() - t_connect < std::chrono::seconds(120)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_connect).count();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long rss_with = rss_kb(pid);

  // The publisher: an estimate-sized event every 1/rate seconds, on a fixed schedule.
  const std::string pad(300, 'x');
  const auto period = std::chrono::duration<double>(1.0 / rate);
  auto next = std::chrono::steady_clock::now();
  const std::size_t events = static_cast<std::size_t>(seconds * rate);
  std::size_t posted = 0;
  for (std::size_t k = 1; k <= events; ++k) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
    std::this_thread::sleep_until(next);
    const std::string body = "{\"id\":" + std::to_string(k) +
                             ",\"kind\":\"estimate\",\"data\":{\"published_ns\":" + std::to_string(now_ns()) +
                             ",\"terms\":" + std::to_string(k) + ",\"pad\":\"" + pad + "\"}}\n";
    posted += post(port, token, body) ? 1u : 0u;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // The gateway's own view: how long handing one event to every stream took (no client in it), and what it
  // did with streams that fell behind.
  std::string text;
  try {
    asio::io_context mio;
    tcp::socket s(mio);
    s.connect(ep);
    asio::write(s,
                asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    boost::system::error_code ec;
    std::array<char, 4096> b{};
    for (std::size_t n; (n = s.read_some(asio::buffer(b), ec)) > 0 && !ec;) text.append(b.data(), n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sse_load: reading /metrics: %s\n", e.what());
  }
  const auto metric = [&text](const std::string& name) {
    const std::string key = "\n" + name + " ";
    const auto at = text.find(key);
    if (at == std::string::npos) return std::string("?");
    const std::size_t from = at + key.size();
    return text.substr(from, text.find('\n', from) - from);
  };
  io.stop();
  client.join();
  kill(pid, SIGTERM);

  std::vector<std::int64_t>& l = stats.latencies_ns;
  std::sort(l.begin(), l.end());
  const auto pct = [&l](double p) {
    return l.empty()
               ? 0.0
               : static_cast<double>(l[static_cast<std::size_t>(p * static_cast<double>(l.size() - 1))]) /
                     1e6;
  };
  const double expected = static_cast<double>(stats.answered) * static_cast<double>(posted);
  char cpu[256] = "?";
  if (FILE* f = popen("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2", "r")) {
    if (!std::fgets(cpu, sizeof cpu, f)) cpu[0] = 0;
    pclose(f);
  }
  std::printf("machine:%s", cpu);
  std::printf(
      "streams: %zu connected, %zu failed, %zu answered in %.1f s, %zu closed early; events: %zu posted at "
      "%.1f/s for %.0f s\n",
      stats.connected.load(), stats.failed.load(), stats.answered.load(), setup_s, stats.closed.load(),
      posted, rate, seconds);
  std::printf("deliveries: %zu of %.0f (%.2f%%)\n", l.size(), expected,
              expected > 0 ? 100.0 * static_cast<double>(l.size()) / expected : 0);
  std::printf("latency ms: p50 %.1f, p99 %.1f, max %.1f\n", pct(0.5), pct(0.99), pct(1.0));
  std::printf("gateway fan-out, seconds to hand one event to every stream: last %s max %s\n",
              metric("pi_gateway_fanout_last_seconds").c_str(),
              metric("pi_gateway_fanout_max_seconds").c_str());
  std::printf(
      "gateway: %s events coalesced (a stream behind gets the latest), %s streams dropped, %s accept "
      "errors\n",
      metric("pi_gateway_events_coalesced_total").c_str(), metric("pi_gateway_streams_dropped_total").c_str(),
      metric("pi_gateway_accept_errors_total").c_str());
  std::printf("gateway memory: %ld KB before, %ld KB with the streams: %.2f KB per stream\n", rss_before,
              rss_with,
              static_cast<double>(rss_with - rss_before) /
                  static_cast<double>(std::max<std::size_t>(1, stats.connected)));
  return 0;
}
