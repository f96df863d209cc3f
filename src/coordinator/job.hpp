// A job from parameters to certified result: the term count, the grid, the scheduler driven by an executor
// (in this process, or MPI workers), the final steps overlapped where they can be, and the digits. The grid
// is a function of the parameters only and every partial result is exact, so the result does not depend on
// how, where or in what order the work was done.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/config_error.hpp"
#include "coordinator/progress.hpp"
#include "coordinator/scheduler.hpp"
#include "coordinator/usage.hpp"
#include "events/event.hpp"
#include "series/series.hpp"

namespace pi {

struct JobSpec {
  std::string series;
  std::optional<std::uint64_t> digits;
  std::optional<std::uint64_t> terms;
  double progress_interval_s = 2.0;
  SchedulerConfig scheduler;
  double checkpoint_interval_s = 60.0;  // 0: only when stopped and at the end
  int keep_checkpoints = 2;
  bool verify = true;  // fingerprints and the BBP check (the plausibility range is always checked)
  // The run settings above as the user gave them (JSON text, from the app), kept in the checkpoint so that
  // a resume goes on with them unless told otherwise.
  std::string settings;
};

// Everything a job needs to carry on where it stopped: its parameters, the grid, the finished pieces, and
// the counters that continue across runs. A checkpoint is this, written down.
struct JobState {
  std::string series;
  std::optional<std::uint64_t> digits;
  std::optional<std::uint64_t> requested_terms;  // terms mode
  std::uint64_t terms = 0;                       // of the current attempt (digits mode may add terms)
  std::uint64_t grid_ranges = 0;
  std::uint64_t grid_step = 0;
  std::vector<FinishedPiece> pieces;
  std::uint64_t ranges_done = 0;
  bool complete = false;
  std::uint64_t retries = 0;      // over all runs of the job
  double elapsed_s = 0;           // wall seconds over all runs of the job
  std::uint64_t resumes = 0;      // runs that started from a checkpoint
  std::uint64_t checkpoints = 0;  // checkpoints written, this one included
  std::uint64_t last_event_id = 0;
  std::string job_id;    // drawn when the job first started, kept by its resumes ("" in older checkpoints)
  std::string settings;  // JobSpec::settings of the run that wrote it ("" in older checkpoints)
  // The primes of the job's fingerprints (fast series), drawn when it started ("" in older checkpoints).
  std::vector<std::uint64_t> fingerprint_primes;
  // Slow series: the finished results as their workers returned them (Scheduler::ledger); the pieces are
  // their sums.
  std::vector<FinishedPiece> ledger;
};

// Where a job's state goes: a checkpoint file (src/checkpoint). `save` throws std::runtime_error when the
// state could not be stored; what was stored before must then be intact.
class StateSink {
 public:
  virtual ~StateSink() = default;
  virtual void save(const JobState& state, const std::string& reason) = 0;
  // Where workers write the pieces they hold for a checkpoint (PieceCapture), the checkpoint naming their
  // files; nullopt: this sink takes the pieces' integers only.
  virtual std::optional<std::filesystem::path> piece_directory() const { return std::nullopt; }
  // Writes `piece` (grid ranges [first_range, end_range)) to a file of its own for checkpoint `number` and
  // later ones to name, so that the job need not hold it; nullopt: this sink does not. Throws on failure.
  virtual std::optional<StoredPiece> store_piece(std::uint64_t /*number*/, std::uint64_t /*first_range*/,
                                                 std::uint64_t /*end_range*/,
                                                 const PartialResult& /*piece*/) {
    return std::nullopt;
  }
};

// Where the time went, in seconds of compute (summed over workers for the series) and of wall time.
struct Timing {
  TaskTimes tasks;
  double series_wall_s = 0;  // from the first assignment to the finished prefix
  double final_steps_s = 0;  // division and square root (the part not overlapped)
  double conversion_s = 0;   // certification and decimal conversion
};

// What was checked besides the error bound, and how it went: the fingerprints of every piece (fast
// series), the final value's hexadecimal digits against the BBP formula, its plausibility.
struct VerificationReport {
  VerificationStats fingerprints;
  struct Bbp {
    bool checked = false;
    std::string skipped;         // why not, when not checked
    std::uint64_t position = 0;  // hex digits after the point skipped: the digits compared follow
    std::string expected;        // BBP's hex digits there
    std::string found;           // the result's
    bool agree = false;
    double seconds = 0;  // compute time of the BBP sum
  } bbp;
  bool range_checked = false;  // the result claims 5 correct digits or more
  bool in_range = true;        // its value lies in [3.14159, 3.1416]
  std::string failure;         // "" when every check passed
};

struct RunResult {
  std::string series;
  std::optional<std::uint64_t> digits;
  std::uint64_t terms = 0;
  std::uint64_t ranges = 0;
  PrefixEstimates estimates;
  std::optional<std::string> pi_text;  // "3." and exactly `digits` decimals, in digits mode
  // Instead of pi_text (fast series on workers, JobIo::digits_file): the file that holds pi.txt's bytes,
  // its newline included, fsynced; write_outputs moves it into place.
  std::optional<std::filesystem::path> pi_file;
  std::uint64_t correct_digits = 0;
  std::string estimate_text;  // the best estimate, truncated a few decimals past its correct ones
  double elapsed_s = 0;
  int ranks = 1;
  std::uint64_t retries = 0;
  std::vector<WorkerStats> workers;
  PieceStats pieces;
  Timing timing;
  std::uint64_t resumes = 0;
  std::string job_id;
  VerificationReport verification;
  // The job as done: complete, with the partial result of all its terms as the one piece.
  JobState final_state;
};

// The result failed a check (verification.failure): it is not a result, and nothing of it is written but
// the report (summary.json). Exit code 1.
class VerificationFailed : public std::runtime_error {
 public:
  explicit VerificationFailed(RunResult r)
      : std::runtime_error("the result failed its verification: " + r.verification.failure),
        result(std::move(r)) {}
  RunResult result;
};

// Carries out the scheduler's tasks until the prefix is finished: in this process, or on MPI workers.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual int workers() const = 0;  // 0: this process does the work
  virtual int ranks() const = 0;
  // The scheduler's workers: one per worker rank, or this process's threads.
  virtual int lanes() const { return workers() > 0 ? workers() : 1; }
  // Runs until the scheduler is finished; calls `tick` often (progress, checkpoints when due).
  virtual void run(Scheduler& scheduler, const std::function<void()>& tick) = 0;
};

// Runs every task in this process: one after another, or on `threads` threads at once (each a scheduler
// worker, like a worker rank: independent leaves and merges run side by side, the result is the same).
class LocalExecutor final : public Executor {
 public:
  explicit LocalExecutor(const Series& series, int threads = 1) : series_(series), threads_(threads) {}
  int workers() const override { return 0; }
  int ranks() const override { return 1; }
  int lanes() const override { return threads_; }
  void run(Scheduler& scheduler, const std::function<void()>& tick) override;

 private:
  void run_threads(Scheduler& scheduler, const std::function<void()>& tick);
  const Series& series_;
  int threads_;
};

// A worker's statistics as summary.json and the workers event give them.
nlohmann::json worker_json(const WorkerStats& w);
// A rank's usage as summary.json has it (a worker's entry, and rank 0's own).
nlohmann::json usage_json(const RankUsage& u);

// CPUs this process may run on (its affinity mask).
int usable_cpus();

// Terms for a digits-mode job; throws ConfigError when the series can't certify that many digits.
std::uint64_t plan_terms(const Series& series, std::uint64_t digits);

// Bytes a digits-mode run of a fast series needs at its peak (measured, with a margin), with `threads`
// threads in the process (--threads: merges side by side hold more at once).
std::uint64_t peak_bytes_per_digit(int threads);
std::uint64_t estimated_peak_bytes(const Series& series, std::uint64_t digits, int threads = 1);

// What a run reads and writes besides its result; each is optional.
class Heartbeat;

// A new job's id: 16 hexadecimal digits, drawn at random.
std::string new_job_id();

struct JobIo {
  const JobState* resume = nullptr;  // a state of the same job to start from
  StateSink* checkpoints = nullptr;  // saved every spec.checkpoint_interval_s, and when the run stops early
  EventFeed* events = nullptr;       // job, estimate, workers, checkpoint and notice events
  bool corrupt_final_value = false;  // tests (PI_FAULT corrupt:0:final): one bit of the final value flipped
  // Where the decimals go as the workers' blocks arrive (fast series on workers): RunResult::pi_file. Unset:
  // they are held here (RunResult::pi_text).
  std::optional<std::filesystem::path> digits_file = std::nullopt;
  std::string job_id = std::string();  // the job's id (a new one when empty)
  Heartbeat* heartbeat = nullptr;      // the live pulse, fed with each attempt's progress
};

RunResult run_job(const JobSpec& spec, Executor& executor, std::ostream& log, const JobIo& io = {});

}  // namespace pi
