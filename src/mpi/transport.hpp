// MPI underneath the protocol: the runtime's lifetime (with a watchdog on MPI_Finalize, which can hang after
// a rank was lost), sends that never block the caller, polling receives, and a backoff that keeps a waiting
// rank from spinning on a core the workers need.
#pragma once

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <vector>

#include "mpi/wire.hpp"

namespace pi {

class MpiRuntime {
 public:
  // MPI_Init under a watchdog: a rank that dies while the job starts (before or inside MPI_Init) leaves the
  // others waiting in MPI_Init for good under `mpirun --enable-recovery` (docs/mpi.md). If MPI_Init has not
  // returned after `start_timeout`, this process says so on stderr (as rank `rank_hint`, the launcher's
  // number for it) and exits with code 1.
  MpiRuntime(int& argc, char**& argv,
             std::chrono::duration<double> start_timeout = std::chrono::duration<double>(300),
             std::optional<int> rank_hint = std::nullopt);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Datatype block() const { return block_; }
  // MPI_Finalize under a watchdog: if it has not returned after `timeout`, says so on stderr (with `why`, the
  // likely cause) and ends the process with `exit_code` (the job's outcome is already in its files by then).
  void finalize(std::chrono::duration<double> timeout, int exit_code, const char* why);
  // Keeps the buffer of a send that was released unfinished (MPI_Request_free) until after MPI_Finalize:
  // MPI may still read it until then.
  void keep_until_finalize(Bytes buffer) const { released_.push_back(std::move(buffer)); }

 private:
  int rank_ = 0;
  int size_ = 1;
  MPI_Datatype block_ = MPI_DATATYPE_NULL;
  bool finalized_ = false;
  mutable std::list<Bytes> released_;
};

// Posted sends, each buffer kept alive until its send completes. A send to a rank that died never completes;
// it is left behind rather than waited for.
class Outbox {
 public:
  explicit Outbox(const MpiRuntime& mpi) : mpi_(mpi) {}
  // Sends still pending (a worker told to stop while its late result was unreceived, a rank that died) are
  // released to MPI and their buffers handed to the runtime: MPI may read an unfinished send's buffer until
  // MPI_Finalize, so freeing it here would be undefined.
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  void send(int dest, Tag tag, Bytes message);
  // Completes what can be completed without waiting; returns how many sends are still pending.
  std::size_t progress();
  // Waits for the pending sends until `deadline`; returns those still pending.
  std::size_t drain(std::chrono::steady_clock::time_point deadline);

 private:
  struct Pending {
    Bytes buffer;
    MPI_Request request;
  };
  const MpiRuntime& mpi_;
  std::list<Pending> pending_;
};

struct Incoming {
  int source;
  Tag tag;
  Bytes body;
};

// Time allowed for `bytes` to arrive from a live rank: `base` seconds, plus the bytes at a slow network's
// 50 MB/s.
inline std::chrono::steady_clock::duration transfer_allowance(double base_s, double bytes) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(base_s + bytes / 50e6));
}

// Receives that never block: a message is received while the caller goes on, several at once, and those of
// one sender are handed out in the order they were matched. A sender that dies while its message is on the
// way (Open MPI's shared memory reads a large one from the sender's memory) leaves its receive unfinished for
// ever: past a generous time for its size it is left behind, its buffer kept until MPI_Finalize, and the
// deadlines of the protocol take it from there. Meanwhile the other senders' messages arrive as usual (with
// one receive at a time, such a receive kept rank 0 from hearing anyone for 5 s, and every worker was once
// taken for lost so). Small messages are received at once; a big one (over kSmallMessageBytes) starts when
// no other big one is under way or both fit in kReceiveBudgetBytes, and waits in its sender until then, so
// that rank 0 does not hold every worker's conversion block at once.
class Inbox {
 public:
  static constexpr std::size_t kSmallMessageBytes = std::size_t{1} << 20;
  static constexpr std::size_t kReceiveBudgetBytes = std::size_t{32} << 20;

  explicit Inbox(const MpiRuntime& mpi) : mpi_(mpi) {}
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;
  // The next message that has arrived whole from `source` (MPI_ANY_SOURCE for any), with `tag` when given.
  std::optional<Incoming> poll(int source, std::optional<Tag> tag = std::nullopt);
  // When the last message from `source` arrived whole (handed out or not yet), or nullopt before one.
  std::optional<std::chrono::steady_clock::time_point> arrived_from(int source) const;

 private:
  struct Receiving {
    enum class State : std::uint8_t { matched, receiving, done };
    Incoming message{};
    int blocks = 0;
    std::size_t bytes() const { return static_cast<std::size_t>(blocks) * kBlock; }
    MPI_Message matched = MPI_MESSAGE_NULL;
    MPI_Request request = MPI_REQUEST_NULL;
    std::chrono::steady_clock::time_point deadline{};
    State state = State::matched;
  };
  void progress();
  // Matches the next message from `source` with `tag` that has been sent, if any, and receives it if it may.
  void match(int source, std::optional<Tag> tag);
  bool may_receive(std::size_t bytes) const;
  void receive(Receiving& r);
  void finish(Receiving& r);  // its bytes no longer count against the budget
  const MpiRuntime& mpi_;
  std::list<Receiving> receiving_;   // in the order they were matched
  std::size_t receiving_bytes_ = 0;  // big messages under way
  std::list<Incoming> arrived_;
  std::map<int, std::chrono::steady_clock::time_point> arrived_at_;
  std::vector<int> waiting_;  // progress(): senders with an earlier message still on its way (kept: no
                              // allocation per call)
};

// Spins for a short while (1 ms), then sleeps with growing pauses (20 us to 1.3 ms) until reset by activity.
// The spin is measured in time, not rounds: a request and its reply (one worker, one coordinator) must both
// fall inside it, or each side starts sleeping while waiting for the other and their pauses grow in step
// (measured: 240 round trips a second with a 64-round spin). 200 us was not enough either: a rank that loses
// its core for a moment pushes the other past it, and every sleep lasts at least the kernel's timer slack
// (50 us); with 1 ms, one worker's throughput went from a median of 41,000 to 259,000 assignments a second.
class Backoff {
 public:
  void reset() { idle_rounds_ = 0; }
  void wait();

 private:
  int idle_rounds_ = 0;
  int sleeps_ = 0;
  std::chrono::steady_clock::time_point idle_since_;
};

}  // namespace pi
