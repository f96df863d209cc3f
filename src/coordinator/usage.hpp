// What a rank used: its peak resident memory, the bytes it sent and received over MPI, and the finished
// pieces it holds. Workers report theirs with every result; summary.json has every rank's.
#pragma once

#include <chrono>
#include <cstdint>

namespace pi {

struct RankUsage {
  std::uint64_t peak_rss_bytes = 0;  // the process's peak resident set (getrusage)
  std::uint64_t bytes_sent = 0;      // message bytes this rank sent to other ranks
  std::uint64_t bytes_received = 0;  // and received from them
  std::uint64_t pieces_held = 0;     // finished partial results it keeps
};

// This process's usage (pieces_held is the caller's to fill), with its peak memory read from the kernel at
// most `max_age` ago: a worker asks with every result, up to hundreds of thousands a second for slow series,
// and a clock read costs a fraction of getrusage's system call.
RankUsage own_usage(std::chrono::milliseconds max_age = std::chrono::milliseconds(0));
// The transport counts every message it sends and receives.
void count_sent(std::uint64_t bytes);
void count_received(std::uint64_t bytes);

}  // namespace pi
