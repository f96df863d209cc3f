#include "coordinator/usage.hpp"

#include <sys/resource.h>

#include <atomic>
#include <chrono>

namespace pi {
namespace {

std::atomic<std::uint64_t> g_sent{0};
std::atomic<std::uint64_t> g_received{0};

}  // namespace

void count_sent(std::uint64_t bytes) { g_sent += bytes; }
void count_received(std::uint64_t bytes) { g_received += bytes; }

RankUsage own_usage(std::chrono::milliseconds max_age) {
  static std::atomic<std::uint64_t> peak{0};
  static std::atomic<std::int64_t> next_look_ns{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  if (now >= next_look_ns) {
    next_look_ns = now + std::chrono::duration_cast<std::chrono::nanoseconds>(max_age).count();
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) peak = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // KiB
  }
  RankUsage u;
  u.peak_rss_bytes = peak;
  u.bytes_sent = g_sent;
  u.bytes_received = g_received;
  return u;
}

}  // namespace pi
