#include "mpi/transport.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "coordinator/usage.hpp"
#include "mpi/error.hpp"

namespace pi {

MpiRuntime::MpiRuntime(int& argc, char**& argv, std::chrono::duration<double> start_timeout,
                       std::optional<int> rank_hint) {
  std::mutex mutex;
  std::condition_variable cv;
  bool started = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (cv.wait_for(lock, start_timeout, [&] { return started; })) return;
    std::fprintf(stderr,
                 "[pi-job] rank %s: MPI_Init did not return within %.3g s: a rank of the job died or never "
                 "started (see --start-timeout); exiting with code 1\n",
                 rank_hint ? std::to_string(*rank_hint).c_str() : "?", start_timeout.count());
    std::fflush(stderr);
    ::_exit(1);
  });
  int provided = 0;
  const int init = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  {
    const std::lock_guard lock(mutex);
    started = true;
  }
  cv.notify_one();
  watchdog.join();
  check_mpi(init, "MPI_Init_thread");
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  check_mpi(MPI_Type_contiguous(static_cast<int>(kBlock), MPI_BYTE, &block_), "MPI_Type_contiguous");
  check_mpi(MPI_Type_commit(&block_), "MPI_Type_commit");
}

MpiRuntime::~MpiRuntime() {
  if (!finalized_) finalize(std::chrono::seconds(10), 1, "a rank was lost");
}

void MpiRuntime::finalize(std::chrono::duration<double> timeout, int exit_code, const char* why) {
  if (finalized_) return;
  finalized_ = true;
  const int rank = rank_;
  std::thread([timeout, exit_code, rank, why] {
    std::this_thread::sleep_for(timeout);
    std::fprintf(stderr,
                 "[pi-job] rank %d: MPI_Finalize did not return within %.2g s (%s); exiting with code %d\n",
                 rank, timeout.count(), why, exit_code);
    std::fflush(stderr);
    ::_exit(exit_code);
  }).detach();
  MPI_Type_free(&block_);
  MPI_Finalize();
  released_.clear();
}

Outbox::~Outbox() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;  // MPI reads no buffer any more
  for (Pending& p : pending_) {
    int done = 0;
    if (MPI_Test(&p.request, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && done) continue;
    if (p.request != MPI_REQUEST_NULL) MPI_Request_free(&p.request);
    mpi_.keep_until_finalize(std::move(p.buffer));
  }
}

void Outbox::send(int dest, Tag tag, Bytes message) {
  pending_.push_back(Pending{std::move(message), MPI_REQUEST_NULL});
  Pending& p = pending_.back();
  check_mpi(MPI_Isend(p.buffer.data(), static_cast<int>(p.buffer.size() / kBlock), mpi_.block(), dest,
                      static_cast<int>(tag), MPI_COMM_WORLD, &p.request),
            "MPI_Isend");
  count_sent(p.buffer.size());
  progress();
}

std::size_t Outbox::progress() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    int done = 0;
    check_mpi(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    it = done ? pending_.erase(it) : std::next(it);
  }
  return pending_.size();
}

std::size_t Outbox::drain(std::chrono::steady_clock::time_point deadline) {
  Backoff backoff;
  while (progress() > 0 && std::chrono::steady_clock::now() < deadline) backoff.wait();
  return pending_.size();
}

bool Inbox::may_receive(std::size_t bytes) const {
  return bytes <= kSmallMessageBytes || receiving_bytes_ == 0 ||
         receiving_bytes_ + bytes <= kReceiveBudgetBytes;
}

void Inbox::receive(Receiving& r) {
  r.message.body = Bytes(r.bytes());
  r.deadline =
      std::chrono::steady_clock::now() + transfer_allowance(5, static_cast<double>(r.message.body.size()));
  check_mpi(MPI_Imrecv(r.message.body.data(), r.blocks, mpi_.block(), &r.matched, &r.request), "MPI_Imrecv");
  r.state = Receiving::State::receiving;
  if (r.bytes() > kSmallMessageBytes) receiving_bytes_ += r.bytes();
}

void Inbox::finish(Receiving& r) {
  if (r.bytes() > kSmallMessageBytes) receiving_bytes_ -= r.bytes();
}

void Inbox::progress() {
  const auto now = std::chrono::steady_clock::now();
  waiting_.clear();
  for (auto it = receiving_.begin(); it != receiving_.end();) {
    Receiving& r = *it;
    if (r.state == Receiving::State::matched && may_receive(r.bytes())) receive(r);
    if (r.state == Receiving::State::receiving) {
      int done = 0;
      check_mpi(MPI_Test(&r.request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) {
        r.state = Receiving::State::done;
        finish(r);
        count_received(r.message.body.size());
        arrived_at_[r.message.source] = now;
      } else if (now > r.deadline) {
        std::fprintf(
            stderr,
            "[pi-job] rank %d: a message of %zu bytes from rank %d did not arrive in time (its sender "
            "was lost?); left behind\n",
            mpi_.rank(), r.message.body.size(), r.message.source);
        finish(r);
        MPI_Request_free(&r.request);
        mpi_.keep_until_finalize(std::move(r.message.body));
        it = receiving_.erase(it);
        continue;
      }
    }
    if (r.state != Receiving::State::done ||
        std::ranges::find(waiting_, r.message.source) != waiting_.end()) {
      waiting_.push_back(r.message.source);
      ++it;
      continue;
    }
    arrived_.push_back(std::move(r.message));
    it = receiving_.erase(it);
  }
}

std::optional<std::chrono::steady_clock::time_point> Inbox::arrived_from(int source) const {
  const auto it = arrived_at_.find(source);
  if (it == arrived_at_.end()) return std::nullopt;
  return it->second;
}

void Inbox::match(int source, std::optional<Tag> tag) {
  int flag = 0;
  MPI_Status status;
  MPI_Message matched = MPI_MESSAGE_NULL;
  check_mpi(MPI_Improbe(source, tag ? static_cast<int>(*tag) : MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &matched,
                        &status),
            "MPI_Improbe");
  if (!flag) return;
  int blocks = 0;
  check_mpi(MPI_Get_count(&status, mpi_.block(), &blocks), "MPI_Get_count");
  if (blocks == MPI_UNDEFINED)
    throw MpiError("message from rank " + std::to_string(status.MPI_SOURCE) +
                   " is not a whole number of blocks");
  Receiving& r = receiving_.emplace_back();
  r.message.source = status.MPI_SOURCE;
  r.message.tag = static_cast<Tag>(status.MPI_TAG);
  r.blocks = blocks;
  r.matched = matched;
  // A matched message waits in its sender until it is received: a big one waits while others are.
  if (may_receive(r.bytes())) receive(r);
}

std::optional<Incoming> Inbox::poll(int source, std::optional<Tag> tag) {
  const auto wanted = [&](const Incoming& m) {
    return (source == MPI_ANY_SOURCE || m.source == source) && (!tag || m.tag == *tag);
  };
  for (int round = 0; round < 2; ++round) {
    progress();
    for (auto it = arrived_.begin(); it != arrived_.end(); ++it) {
      if (wanted(*it)) {
        Incoming m = std::move(*it);
        arrived_.erase(it);
        return m;
      }
    }
    if (round == 0) match(source, tag);
  }
  return std::nullopt;
}

void Backoff::wait() {
  constexpr auto kSpin = std::chrono::milliseconds(1);
  const auto now = std::chrono::steady_clock::now();
  if (idle_rounds_++ == 0) {
    idle_since_ = now;
    sleeps_ = 0;
  }
  if (now - idle_since_ < kSpin) return;
  const int doublings = std::min(++sleeps_, 7);
  std::this_thread::sleep_for(std::chrono::microseconds(10 << doublings));
}

}  // namespace pi
