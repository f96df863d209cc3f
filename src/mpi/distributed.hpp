// The job across MPI ranks: rank 0 runs MpiExecutor (the coordinator's side of the protocol), every other
// rank runs run_worker. Workers pull: a worker's first message says it is ready, and each result or failure
// it sends asks for the next task; the coordinator answers idle workers in the order they became ready. A
// worker whose tasks are very short is sent its next ones before it asks (Scheduler::wants_another_task), and
// finds them waiting when it looks for work.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "coordinator/job.hpp"
#include "mpi/fault_injection.hpp"
#include "mpi/transport.hpp"

namespace pi {

class MpiExecutor final : public Executor {
 public:
  MpiExecutor(const MpiRuntime& mpi, std::ostream& log);
  int workers() const override { return mpi_.size() - 1; }
  int ranks() const override { return mpi_.size(); }
  void run(Scheduler& scheduler, const std::function<void()>& tick) override;
  // Ranks that missed a deadline and never answered since, over every attempt of the job.
  const std::vector<int>& lost_ranks() const { return lost_; }
  // Tells every worker to stop and waits a little for the messages to leave; returns the workers that could
  // not be reached (lost).
  int stop_workers();
  // After stop_workers: waits until `until` for the lost ranks that may still live (any but a watched
  // process that has ended, see watch_process) to answer. A slow rank's late result or failure is received
  // and dropped, and it reads its stop next and ends normally, so the job can end without MPI_Abort. Returns
  // the ranks that are still lost.
  const std::vector<int>& await_lost_ranks(std::chrono::steady_clock::time_point until);
  // Ends (SIGKILL) the lost ranks whose processes it watches (on this host, the start time unchanged): a
  // stopped or hung rank would keep mpirun --enable-recovery waiting for ever after the job is done. Returns
  // the lost ranks it can't reach (other hosts, or processes it never saw).
  std::vector<int> end_lost_ranks();

 private:
  void handle(Scheduler& scheduler, Incoming message);
  // A piece a worker holds, brought here (the scheduler's Fetcher), or nullptr when its owner does not give
  // it in time.
  std::shared_ptr<const PartialResult> fetch(const PieceRef& piece);
  // The scheduler's word to the pieces' owners: pieces they may drop, then pieces to write for a checkpoint.
  void send_to_owners(Scheduler& scheduler);
  // Workers taken for lost since the last call: every other worker is told, and gives up at once a fetch
  // from them that would otherwise wait out its deadline (0.4 of its task's allowed time).
  void tell_lost(Scheduler& scheduler);
  // Rank 0's heartbeat to every worker it neither stopped nor takes for lost: a worker that hears nothing
  // from rank 0 for its --coordinator-timeout takes rank 0 for lost and ends.
  void beat();
  void make_idle(Scheduler& scheduler, int rank);
  // A worker on this host whose process rank 0 sees is watched: once that process has ended (gone, a
  // zombie, or its pid taken by a later process), the worker is taken for lost at the next look for
  // silence, not 30 s later. Workers elsewhere, or in another pid namespace, are judged by silence alone.
  void watch_process(int rank);
  bool process_ended(int rank) const;
  // Tests (PI_FAULT kill:RANK:copiedN): SIGKILL to a watched worker, `copied` of whose pieces have copies.
  void kill_for_test(int rank, std::uint64_t copied);
  void dispatch(Scheduler& scheduler);

  const MpiRuntime& mpi_;
  std::ostream& log_;
  FaultPlan faults_;  // tests: rank 0's own (PI_FAULT kill)
  Outbox outbox_;
  Inbox inbox_;
  std::deque<int> idle_;            // ranks waiting for work, least recently ready first
  std::deque<int> topping_up_;      // ranks holding short tasks that may take more (see dispatch)
  std::vector<std::string> hosts_;  // by rank
  std::vector<long> pids_;          // by rank, from the worker's ready message
  // By rank: the start time of a worker process on this host that rank 0 can see (process_ended).
  std::vector<std::optional<std::uint64_t>> starts_;
  std::vector<bool> seen_ended_;  // by rank: its process was seen to have ended (and it was taken for lost)
  std::vector<bool> stopped_;     // by rank
  std::vector<bool> told_lost_;   // by rank: the workers were told it is lost (tell_lost)
  std::vector<int> lost_;
  std::uint64_t next_request_ = 1;
  std::vector<std::chrono::steady_clock::time_point> heard_;  // by rank: its last message
};

// A worker rank's life: asks for work, carries out tasks, answers with results or failures, until told to
// stop. It sends a heartbeat every kHeartbeatSeconds; rank 0 takes a worker with a task from which no
// message has arrived for kSilentSeconds for lost, whatever the task's deadline. Rank 0 beats as often while
// the job runs; a worker that hears nothing from it for `coordinator_timeout_s` takes it for lost and ends
// the process (exit 1).
inline constexpr double kHeartbeatSeconds = 1.0;
inline constexpr double kSilentSeconds = 30.0;
// A task that runs past twice its allowed time plus kWorkerGraceSeconds ends the process: the coordinator
// gave the task to another worker long ago, and a hung rank would otherwise keep mpirun (with
// --enable-recovery) from ever ending.
inline constexpr double kWorkerGraceSeconds = 10.0;
// How long rank 0, its job done, waits for lost ranks to answer: well within the grace above, so that a
// hung rank's watchdog has not ended it yet (a rank that exits on its own makes mpirun fail the job).
inline constexpr double kLostRankWaitSeconds = kWorkerGraceSeconds / 2;
// `writer` writes the pieces the worker holds to files for checkpoints (empty: it answers that it can't);
// `reader` reads a resumed job's pieces from their files (Load; empty: such a task fails, and its piece is
// computed again).
void run_worker(const MpiRuntime& mpi, const Series& series, FaultPlan faults, PieceWriter writer = {},
                PieceReader reader = {}, double coordinator_timeout_s = 300);

// Before the run: rank 0 tells every worker the series of the job it decided on (from the options or from a
// checkpoint), or an empty name when there is no job to run and the workers should end. A worker that has
// not heard it after `coordinator_timeout_s` takes rank 0 for lost, says so, and exits 1 (as run_worker does
// once the job runs).
void announce_job(const MpiRuntime& mpi, const std::string& series);
std::string await_job(const MpiRuntime& mpi, double coordinator_timeout_s);

}  // namespace pi
