#include "coordinator/job.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "coordinator/certify.hpp"
#include "coordinator/checkpointing.hpp"
#include "coordinator/conversion.hpp"
#include "coordinator/heartbeat.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/live_events.hpp"
#include "coordinator/verification.hpp"
#include "series/decimal.hpp"

namespace pi {
nlohmann::json worker_json(const WorkerStats& w) {
  nlohmann::json j = {{"rank", w.rank},
                      {"host", w.host},
                      {"evaluations", w.evaluations},
                      {"merges", w.merges},
                      {"digit_blocks", w.digit_blocks},
                      {"terms", w.terms},
                      {"busy_s", w.busy_s},
                      {"failures", w.failures},
                      {"timeouts", w.timeouts},
                      {"discarded", w.discarded},
                      {"mismatches", w.mismatches},
                      {"retired", w.retired}};
  j.update(usage_json(w.usage));
  return j;
}

std::string new_job_id() {
  std::random_device random;
  const std::uint64_t id = (std::uint64_t{random()} << 32) ^ random();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

nlohmann::json usage_json(const RankUsage& u) {
  return {{"peak_rss_bytes", u.peak_rss_bytes},
          {"bytes_sent", u.bytes_sent},
          {"bytes_received", u.bytes_received},
          {"pieces_held", u.pieces_held}};
}

namespace {

constexpr std::uint64_t kMaxEstimateDigits = 100;
static_assert(kMaxEstimateDigits <= FinalSummary::kSummaryDecimals,
              "a worker's summary holds the estimate's decimals");

// The primes of a job's fingerprints: two, so that a wrong integer passes only with probability about
// 2^-112 (fast series; none for slow ones).
constexpr std::size_t kFingerprintPrimes = 2;

}  // namespace

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

void LocalExecutor::run(Scheduler& scheduler, const std::function<void()>& tick) {
  if (threads_ > 1) {
    run_threads(scheduler, tick);
    return;
  }
  while (!scheduler.finished()) {
    throw_if_interrupted();
    std::optional<Task> task = scheduler.assign(0, Scheduler::Clock::now());
    if (!task) throw std::logic_error("local run: the scheduler has no task but is not finished");
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t id = task->id;
    // A big merge is its operands' only holder: it frees each once it is read for the last time.
    if (scheduler.lend_operands(id)) return_all_freed_memory();
    // On a thread of its own, so that a stop signal is answered during a long merge or conversion block. The
    // task is moved there: this copy would keep the operands.
    TaskOutput out = run_interruptible(
        [&series = series_, t = std::move(*task)]() mutable { return carry_out(series, std::move(t)); });
    task.reset();
    const double seconds = seconds_since(t0);
    scheduler.complete(0, id, std::move(out), seconds);
    return_freed_memory_after(seconds);
    tick();
  }
}

void LocalExecutor::run_threads(Scheduler& scheduler, const std::function<void()>& tick) {
  // What the threads share with this one. The scheduler is touched only under `mutex` and only while
  // `stop` is false: a stop signal leaves the threads computing (abandoned, like run_interruptible's), and
  // a thread that then finishes its task leaves without touching the scheduler, which may be gone.
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    bool stop = false;
    int running = 0;
    std::exception_ptr error;
  };
  const auto shared = std::make_shared<Shared>();
  const auto lane = [shared, &scheduler, &series = series_](int w) {
    std::unique_lock lock(shared->mutex);
    while (!shared->stop && !scheduler.finished()) {
      std::optional<Task> task = scheduler.assign(w, Scheduler::Clock::now());
      if (!task) {  // what is left waits for tasks on other threads
        shared->changed.wait(lock);
        continue;
      }
      lock.unlock();
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<TaskOutput> out;
      std::exception_ptr error;
      try {
        out = carry_out(series, *task);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      if (shared->stop) break;
      if (error) {
        shared->error = error;
        shared->stop = true;
      } else {
        scheduler.complete(w, task->id, std::move(*out), seconds_since(t0));
      }
      shared->changed.notify_all();
    }
    --shared->running;
    shared->changed.notify_all();
  };
  {
    std::lock_guard lock(shared->mutex);
    shared->running = threads_;
  }
  for (int w = 0; w < threads_; ++w) std::thread(lane, w).detach();
  std::unique_lock lock(shared->mutex);
  for (;;) {
    shared->changed.wait_for(lock, std::chrono::milliseconds(20));
    if (shared->error) {
      shared->stop = true;
      shared->changed.notify_all();
      shared->changed.wait(lock, [&] { return shared->running == 0; });
      std::rethrow_exception(shared->error);
    }
    if (const int sig = stop_signal()) {
      shared->stop = true;
      shared->changed.notify_all();
      if (shared->running > 0) mark_work_abandoned();
      throw Interrupted(sig);
    }
    if (scheduler.finished()) {
      shared->changed.wait(lock, [&] { return shared->running == 0; });
      return;
    }
    tick();
    shared->changed.notify_all();  // what tick() changed (a checkpoint) may free a task
  }
}

std::uint64_t plan_terms(const Series& series, std::uint64_t digits) {
  if (auto n = series.terms_for_digits(digits); n && *n <= series.max_terms()) return *n;
  std::uint64_t best = 0;
  for (std::uint64_t d = digits; d-- > 1;) {
    if (series.terms_for_digits(d)) {
      best = d;
      break;
    }
  }
  throw ConfigError(
      "--digits " + std::to_string(digits) + ": series '" + std::string(series.name()) +
      "' can certify at most " + std::to_string(best) +
      " digits (its sums are in double precision); use machin, ramanujan or chudnovsky for more");
}

std::uint64_t peak_bytes_per_digit(int threads) {
  // Measured peak RSS of pi-job, chudnovsky (2 vCPU AMD EPYC). At 1e8 digits with GMP's big blocks mapped
  // apart (map_big_blocks_apart) and the last merges freeing their operands (Scheduler::lend_operands),
  // 2026-12-05: one thread 0.712-0.749 GB (three runs, one of them without the heap handed back before the
  // lent merges; 6.5-6.9 bytes a digit over the 64 MB below), --threads 2 1.196 GB (11.3, one run; its
  // merges are not lent). At 1e7 (few blocks reach 16 MB, no merge is lent): one thread 124-129 MB (6.5),
  // --threads 2 146-155 MB (9.1); on 2026-12-06, --threads 2 169-189 MB (five runs, up to 12.2 a digit over
  // the 64 MB). 10 bytes a digit and 6 more per extra thread (up to 4) keep a margin of at least a fifth
  // over those runs (the peak has varied by 0.05-0.1 GB between runs at 1e8, 0.02 GB at 1e7).
  return 10 + 6 * static_cast<std::uint64_t>(std::clamp(threads, 1, 4) - 1);
}

std::uint64_t estimated_peak_bytes(const Series& series, std::uint64_t digits, int threads) {
  if (series.kind() == SeriesKind::slow) return std::uint64_t{64} << 20;
  return (std::uint64_t{64} << 20) + peak_bytes_per_digit(threads) * digits;
}

namespace {

// The state a run starts with: the job's parameters, and what continues across runs when it resumes. The
// fingerprint primes are drawn once per job and kept in its checkpoints.
JobState initial_state(const JobSpec& spec, const Series& series, const JobIo& io) {
  const JobState* resume = io.resume;
  JobState state;
  state.job_id = io.job_id.empty() ? new_job_id() : io.job_id;
  state.series = std::string(series.name());
  state.digits = spec.digits;
  state.requested_terms = spec.terms;
  state.settings = spec.settings;
  if (resume) {
    state.retries = resume->retries;
    state.elapsed_s = resume->elapsed_s;
    state.resumes = resume->resumes + 1;
    state.checkpoints = resume->checkpoints;
    state.last_event_id = resume->last_event_id;
  }
  if (series.fingerprinted() && spec.verify) {
    state.fingerprint_primes = resume && !resume->fingerprint_primes.empty()
                                   ? resume->fingerprint_primes
                                   : draw_primes(kFingerprintPrimes);
  }
  return state;
}

// The terms a run sums: the checkpoint's, the user's, or enough for the digits; refused past the series'
// limit before anything starts.
std::uint64_t checked_terms(const JobSpec& spec, const Series& series, const JobState* resume) {
  const std::uint64_t terms = resume       ? resume->terms
                              : spec.terms ? *spec.terms
                                           : plan_terms(series, *spec.digits);
  if (terms > series.max_terms()) {
    throw ConfigError("--terms " + std::to_string(terms) + ": series '" + std::string(series.name()) +
                      "' accepts at most " + std::to_string(series.max_terms()) + " terms");
  }
  return terms;
}

// The constant of the final step (a square root) does not depend on the series, so it runs on a thread of
// its own: from the start, during the series, when the series leaves a core free (one thread on two cores)
// or there is only one; when the series keeps every core busy (--threads as many as cores), beside the final
// division instead, where a core would otherwise wait. Beside the division costs memory, both working at
// once (at 1e7 digits 19 MB of the square root's on top of the division's 25 MB), so it is the exception.
class FinalConstant {
 public:
  // `lanes`: the threads computing the series in this process.
  FinalConstant(std::shared_ptr<const Series> series, std::uint64_t bits, int lanes)
      : series_(std::move(series)),
        bits_(bits),
        beside_division_(lanes >= usable_cpus() && usable_cpus() >= 2) {
    if (!beside_division_) start();
  }
  // Whether the constant is computed already (during the series).
  bool ready() const {
    return prepared_.valid() && prepared_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  void division_starts() {
    if (beside_division_) start();
  }
  // Waits for the constant, throwing Interrupted on a stop signal.
  void wait() {
    while (prepared_.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
      throw_if_interrupted();
    prepared_.get();
  }

 private:
  void start() {
    prepared_ = run_detached([series = series_, bits = bits_] { series->prepare(bits); });
  }
  std::shared_ptr<const Series> series_;
  std::uint64_t bits_;
  bool beside_division_;
  std::shared_future<void> prepared_;
  AbandonIfUnfinished abandon_{prepared_};
};

// The final division (and square root) take about as long as the compute of the series' last merge:
// 0.78-0.85 times it on a worker and 0.94-1.36 times in one process at 1e6-3e7 digits (chudnovsky,
// summary.json's timing, 2 vCPU AMD EPYC). What the progress line and the live page show as the time the
// phase is expected to take; NaN when no merge was timed (a resumed series' result).
double expected_final_steps_s(const Scheduler& scheduler) {
  const auto& levels = scheduler.times().merges_by_level_s;
  return levels.empty() ? NAN : levels.rbegin()->second;
}

// A series' result this big (bits of its values; 16 MiB, a little under that of 1e7 digits of chudnovsky)
// is written to a file of its own before the final steps (set_aside_series_result).
constexpr double kSetAsideBits = 8.0 * (1 << 24);

// One run of a job, phase by phase: the plan (the constructor); then, for each attempt at certified
// digits, the series, the final steps, verification, conversion and certification; then the result.
class JobRun {
 public:
  JobRun(const JobSpec& spec, Executor& executor, std::ostream& log, const JobIo& io)
      : spec_(spec),
        executor_(executor),
        log_(log),
        io_(io),
        series_(make_series(spec.series)),
        terms_(checked_terms(spec, *series_, io.resume)),
        state_(initial_state(spec, *series_, io)),
        elapsed_before_(state_.elapsed_s),
        retries_before_(state_.retries),
        final_check_(spec),
        checkpoints_(io.checkpoints, io.events, spec.checkpoint_interval_s, log),
        live_(io.events, *series_, io.heartbeat ? io.heartbeat->start() : std::chrono::steady_clock::now(),
              &log_),
        unit_(series_->kind() == SeriesKind::slow ? "terms" : "digits") {
    result_.series = std::string(series_->name());
    result_.digits = spec.digits;
    result_.ranks = executor.ranks();
    result_.resumes = state_.resumes;
    result_.job_id = state_.job_id;
    if (io.resume) checkpoints_.starting_from(*io.resume);
  }

  RunResult run() {
    for (int attempt = 0;; ++attempt) {
      if (run_attempt(attempt == 0)) break;
      more_terms(attempt);
    }
    return finish();
  }

 private:
  // One attempt with terms_ terms: true when its digits are certified.
  bool run_attempt(bool first) {
    const Grid grid(*series_, terms_);
    const std::uint64_t bits = spec_.digits ? bits_for_digits(*spec_.digits + 20) + 64 : 0;
    // Fast series in digits mode on workers: the final steps too run on the worker holding the series'
    // result, and the conversion blocks fetch the fraction from it; this process never holds either.
    const bool on_workers = spec_.digits && series_->kind() == SeriesKind::fast && executor_.workers() > 0;
    FinalConstant constant(series_, on_workers ? 0 : bits, executor_.lanes());
    std::optional<std::string> block_text;  // fast series: the digits, converted by the workers
    double block_conversion_s = 0;
    Scheduler scheduler(*series_, grid, spec_.scheduler, executor_.lanes());
    if (!state_.fingerprint_primes.empty()) scheduler.verify_with(state_.fingerprint_primes);
    if (io_.resume && first) restore(scheduler);
    if (on_workers) {
      FinalSteps steps{PieceRef{}, bits, final_check_.position_for_digits(), io_.corrupt_final_value,
                       std::nullopt};
      steps.decimals = *spec_.digits + kGuardDecimals;  // what the conversion converts (convert_held)
      scheduler.finish_on_workers(std::move(steps), io_.checkpoints != nullptr);
    }
    state_.terms = terms_;
    state_.grid_ranges = grid.size();
    state_.grid_step = grid.step();
    {
      ProgressReporter progress(log_, unit_, grid.size(), scheduler.total_work(), executor_.workers(),
                                std::chrono::duration<double>(spec_.progress_interval_s));
      progress.resume_from(scheduler.ranges_done(), scheduler.work_done());
      // The pulse reads the reporter until it goes, whichever way the attempt ends.
      struct Watch {
        Heartbeat* heartbeat;
        ~Watch() {
          if (heartbeat) heartbeat->unwatch("writing results");
        }
      } watch{io_.heartbeat};
      if (io_.heartbeat) io_.heartbeat->watch(progress);
      announce(grid, scheduler);
      run_series(scheduler, grid, progress);
      return_freed_memory();
      if (scheduler.final_on_workers()) {
        final_steps_held(scheduler, grid);
      } else {
        final_steps(scheduler, grid, bits, constant, progress);
      }
      return_freed_memory();
      progress.tail_phase("verification");
      verify(scheduler, grid);
      result_.timing.tasks = scheduler.times();
      result_.retries += scheduler.retries();
      result_.workers = scheduler.workers();
      result_.pieces = scheduler.piece_stats();
      progress.tail_phase("decimal conversion");
      if (spec_.digits && series_->kind() == SeriesKind::fast) {
        const auto conversion_start = std::chrono::steady_clock::now();
        block_text = convert(scheduler, progress);
        block_conversion_s = seconds_since(conversion_start);
      }
      if (held_ && io_.checkpoints) {
        keep_series_result(scheduler, grid);
        result_.pieces = scheduler.piece_stats();
      }
    }
    result_.terms = terms_;
    result_.ranges = grid.size();
    const auto certify_start = std::chrono::steady_clock::now();
    bool certified = written_ ? certify_written()
                              : certify(result_, *series_, spec_.digits, std::move(block_text), !held_);
    if (held_ && !certified && !result_.pi_text) certified = certify_from_fraction(scheduler);
    result_.timing.conversion_s = block_conversion_s + seconds_since(certify_start);
    return certified;
  }

  void restore(Scheduler& scheduler) {
    try {
      scheduler.restore_ledger(io_.resume->ledger);
      scheduler.restore(io_.resume->pieces);
    } catch (const std::invalid_argument& e) {
      throw SeriesError(std::string("the saved state does not fit the job: ") + e.what());
    }
  }

  // The log line and the job event that open a run.
  void announce(const Grid& grid, const Scheduler& scheduler) {
    log_ << "[pi-job] " << result_.series << ": " << terms_ << " terms in " << grid.size() << " ranges on "
         << executor_.ranks() << (executor_.ranks() == 1 ? " rank" : " ranks");
    if (scheduler.ranges_done() > 0) log_ << ", resumed with " << scheduler.ranges_done() << " ranges done";
    log_ << std::endl;
    if (!io_.events) return;
    nlohmann::json resumed = nullptr;
    if (io_.resume) {
      resumed = {{"checkpoint", io_.resume->checkpoints},
                 {"ranges_done", io_.resume->ranges_done},
                 {"elapsed_s", io_.resume->elapsed_s}};
    }
    io_.events->publish(event_kind::job,
                        {{"job_id", state_.job_id},
                         {"resumed_from", resumed},
                         {"series", result_.series},
                         {"digits", spec_.digits ? nlohmann::json(*spec_.digits) : nlohmann::json(nullptr)},
                         {"terms", terms_},
                         {"ranges", grid.size()},
                         {"ranges_done", scheduler.ranges_done()},
                         {"ranks", executor_.ranks()},
                         {"workers", executor_.workers()},
                         {"resumes", state_.resumes},
                         {"unit", unit_}});
  }

  // The series on the executor's workers, with progress, live events and checkpoints on the way.
  void run_series(Scheduler& scheduler, const Grid& grid, ProgressReporter& progress) {
    const auto series_start = std::chrono::steady_clock::now();
    bool merging = false;           // every range evaluated, the merge tree still going (fast series)
    int final_owner = -2;           // the worker the final steps phase was named with (-2: not yet)
    std::uint64_t final_parts = 0;  // and the parts it named (Scheduler::final_split_parts)
    std::uint64_t spread_before = 0, spread_shown = 0;  // the final steps' products spread over the workers
    const auto tick = [&] {
      if (scheduler.final_steps_running()) {
        if (const int owner = scheduler.root_owner();
            owner != final_owner || scheduler.final_split_parts() != final_parts) {
          spread_before = spread_shown = scheduler.piece_stats().final_products;
          final_owner = owner;
          final_parts = scheduler.final_split_parts();
          // The square root comes from the worker that computed it during the series, if one did.
          const int constant_owner = scheduler.constant_owner();
          const auto rank = [&](int w) {
            return std::to_string(scheduler.workers().at(static_cast<std::size_t>(w)).rank);
          };
          std::string name = constant_owner >= -1 ? "final division" : "final division and square root";
          if (final_parts > 0)
            name += ", then the decimals split into " + std::to_string(final_parts) + " parts";
          if (owner >= 0) {
            name += " (on rank " + rank(owner);
            if (constant_owner >= 0) name += "; square root from rank " + rank(constant_owner);
            name += ")";
          }
          progress.tail_phase(std::move(name), expected_final_steps_s(scheduler));
        }
        // From 6 workers the division's and the constant's large products are spread: how many so far.
        if (const std::uint64_t spread = scheduler.piece_stats().final_products; spread != spread_shown) {
          spread_shown = spread;
          const std::uint64_t count = spread - spread_before;
          progress.set_phase_count(
              count, 0, count == 1 ? "product spread over the workers" : "products spread over the workers");
        }
      } else if (final_owner != -2 && !scheduler.final_fraction()) {
        // The series' result was lost with its worker during the final steps (without a copy): it is
        // computed again, and the final steps are named again once they run again.
        final_owner = -2;
        progress.tail_phase("the series' result again (lost with its worker)");
      } else if (!merging && series_->kind() == SeriesKind::fast && scheduler.ranges_done() == grid.size()) {
        merging = true;
        progress.set_phase("merges");
      }
      progress.update(scheduler.ranges_done(), scheduler.work_done());
      progress.set_workers(scheduler.active_workers(), scheduler.busy_workers(), scheduler.retries());
      live_.tick(scheduler, progress, grid.size());
      checkpoint_when_due(scheduler);
    };
    try {
      executor_.run(scheduler, tick);
      live_.flush_workers(scheduler);
    } catch (const std::exception& e) {
      // The finished pieces are exact whatever stopped the run: keep them for a resume.
      publish_notices(io_.events, scheduler, "failure", &log_);
      if (scheduler.loading()) {
        // Workers are still reading pieces of the checkpoint this run resumed from: a checkpoint now would
        // leave those out, and that one is still the last and whole.
        if (io_.checkpoints)
          log_ << "[pi-job] the pieces of the checkpoint resumed from are still being read: it stays as it is"
               << std::endl;
      } else {
        checkpoints_.save_when_stopping(snapshot(scheduler), e);
      }
      throw;
    }
    result_.timing.series_wall_s = seconds_since(series_start);
  }

  // The final division and square root, from the series' result.
  void final_steps(Scheduler& scheduler, const Grid& grid, std::uint64_t bits, FinalConstant& constant,
                   ProgressReporter& progress) {
    if (series_->kind() == SeriesKind::slow) {
      progress.tail_phase("final estimate");
    } else {
      progress.tail_phase(constant.ready() ? "final division" : "final division and square root",
                          expected_final_steps_s(scheduler));
    }
    std::shared_ptr<const PartialResult> root = scheduler.take_root();
    state_.pieces = {FinishedPiece{0, grid.size(), root}};
    state_.ledger = scheduler.ledger();
    state_.ranges_done = grid.size();
    // A big result goes to its file first: the division then runs with only its rounded operands in memory
    // (at 1e8 digits 84 MB instead of the exact 208 MB besides them).
    set_aside_series_result();
    const auto final_start = std::chrono::steady_clock::now();
    constant.division_starts();
    try {
      result_.estimates = run_interruptible([series = series_, root = std::move(root), bits]() mutable {
        return series->estimate_releasing(std::move(root), bits);
      });
      constant.wait();
    } catch (const Interrupted& stop) {
      // The series is done: a resume starts from its result.
      save_series_result(result_.retries + scheduler.retries(), stop);
      throw;
    }
    result_.timing.final_steps_s = seconds_since(final_start);
    if (io_.corrupt_final_value) {
      make_wrong(result_.estimates.partial_sum.value);
      if (result_.estimates.accelerated) make_wrong(result_.estimates.accelerated->value);
    }
  }

  // A big series' result is not held through the final steps, verification and conversion: it goes to a
  // file of the next checkpoint, which names it (a stop's, or the complete one), as a worker's piece would;
  // it stays here when the file cannot be written.
  void set_aside_series_result() {
    if (!io_.checkpoints || state_.pieces.size() != 1 || !state_.pieces[0].result) return;
    const FinishedPiece& piece = state_.pieces[0];
    if (shape_bits(shape_of(*piece.result)) < kSetAsideBits) return;
    try {
      std::optional<StoredPiece> stored = io_.checkpoints->store_piece(
          state_.checkpoints + 1, piece.first_range, piece.end_range, *piece.result);
      if (stored)
        state_.pieces[0] = FinishedPiece{piece.first_range, piece.end_range, nullptr, std::move(stored)};
    } catch (const std::exception& e) {
      log_ << "[pi-job] the series' result stays in memory: " << e.what() << std::endl;
    }
  }

  // The final steps ran on the worker holding the series' result (Scheduler::finish_on_workers): what this
  // process needs of the value is its summary.
  void final_steps_held(Scheduler& scheduler, const Grid& grid) {
    held_ = scheduler.final_summary();
    result_.estimates = PrefixEstimates{held_->estimate, std::nullopt};
    result_.timing.final_steps_s = scheduler.times().final_steps_s;
    result_.timing.series_wall_s = std::max(0.0, result_.timing.series_wall_s - result_.timing.final_steps_s);
    state_.pieces.clear();
    state_.ledger = scheduler.ledger();
    state_.ranges_done = grid.size();
  }

  // The complete checkpoint holds the series' result: written to a file by its worker, or fetched from it
  // (computed again if it was lost with it).
  void keep_series_result(Scheduler& scheduler, const Grid& grid) {
    for (;;) {
      if (const auto dir = capture_directory(scheduler)) {
        scheduler.begin_capture(state_.checkpoints + 1, *dir, Scheduler::Clock::now());
        executor_.run(scheduler, [] {});  // until its worker has written it
        if (auto outcome = scheduler.take_capture(Scheduler::Clock::now());
            outcome && outcome->error.empty()) {
          state_.pieces = std::move(outcome->pieces);
        } else {
          if (outcome) log_ << "[pi-job] " << outcome->error << "; rank 0 fetches it instead" << std::endl;
          state_.pieces = scheduler.finished_pieces();
        }
      } else {
        state_.pieces = scheduler.finished_pieces();
      }
      if (state_.pieces.size() == 1 && state_.pieces[0].end_range == grid.size()) return;
      executor_.run(scheduler, [] {});
    }
  }

  // Where the workers write their pieces for a checkpoint (pieces on workers and a checkpoint directory),
  // or nullopt: this process writes them.
  std::optional<std::filesystem::path> capture_directory(const Scheduler& scheduler) const {
    if (!io_.checkpoints || !scheduler.holds_on_workers()) return std::nullopt;
    return io_.checkpoints->piece_directory();
  }

  // A checkpoint when one is due. With pieces on workers, their owners write them to files first
  // (Scheduler::begin_capture) and this process then writes the checkpoint that names those files; else
  // it writes the pieces itself.
  void checkpoint_when_due(Scheduler& scheduler) {
    const auto dir = capture_directory(scheduler);
    if (!dir) {
      if (checkpoints_.due()) checkpoints_.save_in_background(snapshot(scheduler), "interval");
      return;
    }
    const auto now = Scheduler::Clock::now();
    if (auto outcome = scheduler.take_capture(now)) {
      if (!outcome->error.empty()) {
        checkpoints_.skip("interval", outcome->error);
      } else {
        checkpoints_.save_in_background(snapshot_of(scheduler, std::move(outcome->pieces)), "interval");
      }
    } else if (!scheduler.capturing() && !scheduler.loading() && checkpoints_.due()) {
      scheduler.begin_capture(state_.checkpoints + 1, *dir, now);
    }
  }

  // The decimals the workers converted are in io_.digits_file (convert_held_to_file): pi.txt's text once
  // the guard decimals decide the last digit; else the file goes, and certify_from_fraction looks at all
  // of the value.
  bool certify_written() {
    const WrittenDecimals written = *std::exchange(written_, std::nullopt);
    if (!guard_decides(written.guard, *spec_.digits, result_.estimates.best().error_bound)) {
      std::error_code gone;  // a file left behind is overwritten by the next conversion
      std::filesystem::remove(*io_.digits_file, gone);
      return false;
    }
    finish_decimals_file(*io_.digits_file, written, *spec_.digits);
    result_.pi_file = io_.digits_file;
    result_.correct_digits = *spec_.digits;
    return true;
  }

  // The conversion blocks' guard decimals could not decide (a long run of 0s or 9s after the last digit):
  // certify() looks at all of the value then, which a worker holds. Fetched here for this rare case.
  bool certify_from_fraction(Scheduler& scheduler) {
    const std::optional<PieceRef>& fraction = scheduler.final_fraction();
    std::shared_ptr<const PartialResult> data = fraction ? scheduler.fetch_piece(*fraction) : nullptr;
    if (!data || !held_->convertible) {
      throw std::runtime_error(
          "the final value's fraction could not be fetched from its worker to certify the "
          "last digits; resume the job from its checkpoint");
    }
    const auto scale = static_cast<mpfr_exp_t>(held_->scale_bits);
    Real value = make_real(std::max<std::uint64_t>(mpz_sizeinbase(raw(data->values.at(0)), 2), 64));
    mpfr_set_z_2exp(raw(value), raw(data->values.at(0)), -scale, MPFR_RNDN);  // exact: precision fits
    result_.estimates.partial_sum.value = std::move(value);
    return certify(result_, *series_, spec_.digits, std::nullopt);
  }

  // The first `decimals` decimals of the final value, as truncated_decimal gives them.
  std::string estimate_text(std::uint64_t decimals) const {
    return held_ ? leading_decimals(held_->head, decimals)
                 : truncated_decimal(result_.estimates.best().value, decimals);
  }

  // BBP and the fingerprints: a value that fails them is no result (VerificationFailed).
  void verify(Scheduler& scheduler, const Grid& grid) {
    final_check_.verify(result_, held_ ? std::optional<Uint128>(held_->bbp()) : std::nullopt);
    result_.verification.fingerprints = scheduler.verification();
    if (result_.verification.failure.empty()) return;
    result_.terms = terms_;
    result_.ranges = grid.size();
    result_.workers = scheduler.workers();
    result_.pieces = scheduler.piece_stats();
    result_.retries += retries_before_ + scheduler.retries();
    result_.elapsed_s = elapsed_before_ + seconds_since(start_);
    result_.estimate_text = estimate_text(20);
    throw VerificationFailed(std::move(result_));
  }

  // Fast series in digits mode: the decimals, converted in blocks by the workers (not certified yet).
  std::optional<std::string> convert(Scheduler& scheduler, ProgressReporter& progress) {
    const std::uint64_t retries_before_conversion = scheduler.retries();
    std::optional<std::string> text;
    try {
      const auto tick = [&] {
        progress.set_workers(scheduler.active_workers(), scheduler.busy_workers(), scheduler.retries());
        progress.set_phase_count(scheduler.blocks_done(), scheduler.blocks(), "blocks");
        publish_notices(io_.events, scheduler, "retry", &log_);
        live_.tick_workers(scheduler);
      };
      if (held_ && io_.digits_file && *spec_.digits > 0) {
        written_ = convert_held_to_file(scheduler, executor_, *spec_.digits, *io_.digits_file, tick);
      } else {
        text = held_ ? convert_held(scheduler, executor_, *spec_.digits, tick)
                     : convert_in_blocks(scheduler, executor_, result_.estimates.best(), *spec_.digits, tick);
      }
    } catch (const std::exception& e) {
      // The series is done: a resume starts from its result and only converts again.
      std::error_code gone;  // the stop's own error is the one to report
      if (io_.digits_file) std::filesystem::remove(*io_.digits_file, gone);
      if (held_) state_.pieces = scheduler.finished_pieces();
      save_series_result(result_.retries + (scheduler.retries() - retries_before_conversion), e);
      throw;
    }
    live_.flush_workers(scheduler);
    result_.retries += scheduler.retries() - retries_before_conversion;
    result_.workers = scheduler.workers();
    result_.pieces = scheduler.piece_stats();
    result_.verification.fingerprints = scheduler.verification();
    result_.timing.tasks = scheduler.times();
    return text;
  }

  // The enclosure straddles a digit boundary: rare, and cured by more terms (Ziv's strategy).
  void more_terms(int attempt) {
    if (attempt == 3 || terms_ > series_->max_terms() / 4) {
      throw SeriesError("could not certify " + std::to_string(*spec_.digits) + " digits with " +
                        std::to_string(terms_) + " terms of " + result_.series);
    }
    log_ << "[pi-job] enclosure straddles a digit boundary; retrying with more terms" << std::endl;
    terms_ = series_->kind() == SeriesKind::slow ? terms_ * 4 : terms_ + terms_ / 8 + 4;
  }

  RunResult finish() {
    result_.estimate_text = estimate_text(std::min(result_.correct_digits + 3, kMaxEstimateDigits));
    if (io_.events) {
      publish_final_estimate(*io_.events, result_);
      state_.last_event_id = io_.events->last_id();
    }
    result_.retries += retries_before_;
    result_.elapsed_s = elapsed_before_ + seconds_since(start_);
    state_.complete = true;
    state_.retries = result_.retries;
    state_.elapsed_s = result_.elapsed_s;
    ++state_.checkpoints;
    result_.final_state = std::move(state_);
    return std::move(result_);
  }

  // The state a checkpoint during the series holds.
  JobState snapshot(Scheduler& scheduler) { return snapshot_of(scheduler, scheduler.finished_pieces()); }
  JobState snapshot_of(Scheduler& scheduler, std::vector<FinishedPiece> pieces) {
    state_.pieces = std::move(pieces);
    state_.ledger = scheduler.ledger();
    // What the pieces cover: a piece lost with its worker (and being computed again) is not in them.
    state_.ranges_done = 0;
    for (const FinishedPiece& p : state_.pieces) state_.ranges_done += p.end_range - p.first_range;
    stamp_checkpoint(result_.retries + scheduler.retries());
    // Pieces fetched from workers for this checkpoint are not kept here after it is written.
    JobState out = state_;
    state_.pieces.clear();
    return out;
  }

  // When a stop comes after the series: the checkpoint holds its result (state_.pieces), and a resume starts
  // from there. `retries`: this run's so far.
  void save_series_result(std::uint64_t retries, const std::exception& why) {
    stamp_checkpoint(retries);
    checkpoints_.save_when_stopping(state_, why);
  }

  // The counters of the checkpoint about to be written, with `retries` of this run so far.
  void stamp_checkpoint(std::uint64_t retries) {
    state_.retries = retries_before_ + retries;
    state_.elapsed_s = elapsed_before_ + seconds_since(start_);
    ++state_.checkpoints;
    if (io_.events) state_.last_event_id = io_.events->last_id() + 1;  // the checkpoint's own event
  }

  const JobSpec& spec_;
  Executor& executor_;
  std::ostream& log_;
  JobIo io_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  // Shared, so that a computation abandoned on a stop signal (run_interruptible) keeps it alive.
  const std::shared_ptr<const Series> series_;
  std::uint64_t terms_;
  RunResult result_;
  JobState state_;
  const double elapsed_before_;
  const std::uint64_t retries_before_;
  // The BBP digits the final value will be compared with: in digits mode their position is known now, and
  // they are computed on a thread of their own while the series runs.
  const FinalVerification final_check_;
  Checkpointing checkpoints_;
  LiveEvents live_;
  const std::string unit_;
  // The final value's summary when a worker holds the value (final_steps_held).
  std::shared_ptr<const FinalSummary> held_;
  std::optional<WrittenDecimals> written_;  // the decimals in io_.digits_file, not yet certified
};

}  // namespace

RunResult run_job(const JobSpec& spec, Executor& executor, std::ostream& log, const JobIo& io) {
  return JobRun(spec, executor, log, io).run();
}

}  // namespace pi
