#include "mpi/transport.hpp"

#include <unistd.h>

#include <cstdio>
#include <thread>

#include "coordinator/usage.hpp"
#include "mpi/error.hpp"

namespace pi {

MpiRuntime::MpiRuntime(int& argc, char**& argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  check_mpi(MPI_Type_contiguous(static_cast<int>(kBlock), MPI_BYTE, &block_), "MPI_Type_contiguous");
  check_mpi(MPI_Type_commit(&block_), "MPI_Type_commit");
}

MpiRuntime::~MpiRuntime() {
  if (!finalized_) finalize(std::chrono::seconds(10), 1);
}

void MpiRuntime::finalize(std::chrono::duration<double> timeout, int exit_code) {
  if (finalized_) return;
  finalized_ = true;
  const int rank = rank_;
  std::thread([timeout, exit_code, rank] {
    std::this_thread::sleep_for(timeout);
    std::fprintf(stderr,
                 "[pi-job] rank %d: MPI_Finalize did not return within %.0f s (a rank was lost); exiting "
                 "with code %d\n",
                 rank, timeout.count(), exit_code);
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

std::optional<Incoming> poll(const MpiRuntime& mpi, int source) {
  int flag = 0;
  MPI_Status status;
  check_mpi(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status), "MPI_Iprobe");
  if (!flag) return std::nullopt;
  int blocks = 0;
  check_mpi(MPI_Get_count(&status, mpi.block(), &blocks), "MPI_Get_count");
  if (blocks == MPI_UNDEFINED)
    throw MpiError("message from rank " + std::to_string(status.MPI_SOURCE) +
                   " is not a whole number of blocks");
  Incoming in{status.MPI_SOURCE, static_cast<Tag>(status.MPI_TAG),
              Bytes(static_cast<std::size_t>(blocks) * kBlock)};
  check_mpi(MPI_Recv(in.body.data(), blocks, mpi.block(), status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
  count_received(in.body.size());
  return in;
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
