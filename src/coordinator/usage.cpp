#include "coordinator/usage.hpp"

#include <sys/resource.h>

#include <atomic>

namespace pi {
namespace {

std::atomic<std::uint64_t> g_sent{0};
std::atomic<std::uint64_t> g_received{0};

}  // namespace

void count_sent(std::uint64_t bytes) { g_sent += bytes; }
void count_received(std::uint64_t bytes) { g_received += bytes; }

RankUsage own_usage() {
  RankUsage u;
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) == 0)
    u.peak_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // KiB on Linux
  u.bytes_sent = g_sent;
  u.bytes_received = g_received;
  return u;
}

}  // namespace pi
