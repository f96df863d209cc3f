#include "coordinator/job.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>

#include "coordinator/certify.hpp"
#include "coordinator/checkpointing.hpp"
#include "coordinator/conversion.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/live_events.hpp"
#include "coordinator/verification.hpp"
#include "series/decimal.hpp"

namespace pi {
nlohmann::json worker_json(const WorkerStats& w) {
  return {{"rank", w.rank},
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
}

namespace {

constexpr std::uint64_t kMaxEstimateDigits = 100;

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
  while (!scheduler.finished()) {
    throw_if_interrupted();
    std::optional<Task> task = scheduler.assign(0, Scheduler::Clock::now());
    if (!task) throw std::logic_error("local run: the scheduler has no task but is not finished");
    const auto t0 = std::chrono::steady_clock::now();
    // On a thread of its own, so that a stop signal is answered during a long merge or conversion block.
    TaskOutput out = run_interruptible([&series = series_, t = *task] { return carry_out(series, t); });
    scheduler.complete(0, task->id, std::move(out), seconds_since(t0));
    tick();
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

std::uint64_t estimated_peak_bytes(const Series& series, std::uint64_t digits) {
  if (series.kind() == SeriesKind::slow) return std::uint64_t{64} << 20;
  // Measured peak RSS of pi-job, chudnovsky: 16 MB at 1e6 digits, 118 MB at 1e7 (about 12 bytes per digit);
  // 16 leaves room.
  return (std::uint64_t{64} << 20) + 16 * digits;
}

namespace {

// The state a run starts with: the job's parameters, and what continues across runs when it resumes. The
// fingerprint primes are drawn once per job and kept in its checkpoints.
JobState initial_state(const JobSpec& spec, const Series& series, const JobState* resume) {
  JobState state;
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

}  // namespace

RunResult run_job(const JobSpec& spec, Executor& executor, std::ostream& log, JobIo io) {
  const JobState* resume = io.resume;
  const auto start = std::chrono::steady_clock::now();
  // Shared, so that a computation abandoned on a stop signal (run_interruptible) keeps it alive.
  const std::shared_ptr<const Series> series = make_series(spec.series);
  RunResult result;
  result.series = std::string(series->name());
  result.digits = spec.digits;
  result.ranks = executor.ranks();
  std::uint64_t terms = resume ? resume->terms : spec.terms ? *spec.terms : plan_terms(*series, *spec.digits);
  if (terms > series->max_terms()) {
    throw ConfigError("--terms " + std::to_string(terms) + ": series '" + result.series +
                      "' accepts at most " + std::to_string(series->max_terms()) + " terms");
  }
  JobState state = initial_state(spec, *series, resume);
  result.resumes = state.resumes;
  // The BBP digits the final value will be compared with: in digits mode their position is known now, and
  // they are computed on a thread of their own while the series runs.
  const FinalVerification final_check(spec);
  const double elapsed_before = state.elapsed_s;
  const std::uint64_t retries_before = state.retries;
  Checkpointing checkpoints(io.checkpoints, io.events, spec.checkpoint_interval_s, log);
  if (resume) checkpoints.starting_from(*resume);
  LiveEvents live(io.events, *series);
  // When a stop comes after the series: the checkpoint holds its result (state.pieces), and a resume starts
  // from there. `retries`: this run's so far.
  const auto save_series_result = [&](std::uint64_t retries, const std::exception& why) {
    state.retries = retries_before + retries;
    state.elapsed_s = elapsed_before + seconds_since(start);
    ++state.checkpoints;
    if (io.events) state.last_event_id = io.events->last_id() + 1;
    checkpoints.save_when_stopping(state, why);
  };

  const std::string unit = series->kind() == SeriesKind::slow ? "terms" : "digits";
  for (int attempt = 0;; ++attempt) {
    const Grid grid(*series, terms);
    const std::uint64_t bits = spec.digits ? bits_for_digits(*spec.digits + 20) + 64 : 0;
    // The constant of the final step (a square root) does not depend on the series, so it runs on a thread
    // of its own. Bound to one core (mpirun's default for a rank), this process mostly waits during the
    // series: the square root runs then. With two cores or more it runs beside the final division instead,
    // when workers sharing this node have nothing to do, rather than take a core from them during the series.
    const auto start_prepare = [&series, bits] {
      return run_detached([series, bits] { series->prepare(bits); });
    };
    const bool prepare_beside_division = usable_cpus() >= 2;
    std::shared_future<void> prepared;
    const AbandonIfUnfinished abandon_prepare{prepared};
    if (!prepare_beside_division) prepared = start_prepare();
    std::optional<std::string> block_text;  // fast series: the digits, converted by the workers
    double block_conversion_s = 0;
    Scheduler scheduler(*series, grid, spec.scheduler, std::max(1, executor.workers()));
    if (!state.fingerprint_primes.empty()) scheduler.verify_with(state.fingerprint_primes);
    if (resume && attempt == 0) {
      try {
        scheduler.restore_ledger(resume->ledger);
        scheduler.restore(resume->pieces);
      } catch (const std::invalid_argument& e) {
        throw SeriesError(std::string("the saved state does not fit the job: ") + e.what());
      }
    }
    state.terms = terms;
    state.grid_ranges = grid.size();
    state.grid_step = grid.step();
    const auto snapshot = [&] {
      state.pieces = scheduler.finished_pieces();
      state.ledger = scheduler.ledger();
      state.ranges_done = scheduler.ranges_done();
      state.retries = retries_before + result.retries + scheduler.retries();
      state.elapsed_s = elapsed_before + seconds_since(start);
      ++state.checkpoints;
      if (io.events) state.last_event_id = io.events->last_id() + 1;  // the checkpoint's own event
      return state;
    };
    {
      ProgressReporter progress(log, unit, grid.size(), scheduler.total_work(), executor.workers(),
                                std::chrono::duration<double>(spec.progress_interval_s));
      progress.resume_from(scheduler.ranges_done(), scheduler.work_done());
      log << "[pi-job] " << result.series << ": " << terms << " terms in " << grid.size() << " ranges on "
          << executor.ranks() << (executor.ranks() == 1 ? " rank" : " ranks");
      if (scheduler.ranges_done() > 0) log << ", resumed with " << scheduler.ranges_done() << " ranges done";
      log << std::endl;
      if (io.events) {
        io.events->publish(event_kind::job,
                           {{"series", result.series},
                            {"digits", spec.digits ? nlohmann::json(*spec.digits) : nlohmann::json(nullptr)},
                            {"terms", terms},
                            {"ranges", grid.size()},
                            {"ranges_done", scheduler.ranges_done()},
                            {"ranks", executor.ranks()},
                            {"workers", executor.workers()},
                            {"resumes", state.resumes},
                            {"unit", unit}});
      }
      const auto series_start = std::chrono::steady_clock::now();
      const auto tick = [&] {
        progress.update(scheduler.ranges_done(), scheduler.work_done());
        progress.set_workers(scheduler.active_workers(), scheduler.busy_workers(), scheduler.retries());
        live.tick(scheduler, progress, grid.size());
        if (checkpoints.due()) checkpoints.save_in_background(snapshot(), "interval");
      };
      try {
        executor.run(scheduler, tick);
      } catch (const std::exception& e) {
        // The finished pieces are exact whatever stopped the run: keep them for a resume.
        publish_notices(io.events, scheduler, "failure");
        checkpoints.save_when_stopping(snapshot(), e);
        throw;
      }
      result.timing.series_wall_s = seconds_since(series_start);
      progress.set_phase("final division and square root");
      const auto final_start = std::chrono::steady_clock::now();
      if (prepare_beside_division) prepared = start_prepare();
      auto root = std::make_shared<const PartialResult>(scheduler.take_result());
      state.pieces = {FinishedPiece{0, grid.size(), root}};
      state.ledger = scheduler.ledger();
      state.ranges_done = grid.size();
      try {
        result.estimates = run_interruptible([series, root, bits] { return series->estimate(*root, bits); });
        while (prepared.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
          throw_if_interrupted();
        prepared.get();
      } catch (const Interrupted& stop) {
        // The series is done: a resume starts from its result.
        save_series_result(result.retries + scheduler.retries(), stop);
        throw;
      }
      result.timing.final_steps_s = seconds_since(final_start);
      if (io.corrupt_final_value) {
        make_wrong(result.estimates.partial_sum.value);
        if (result.estimates.accelerated) make_wrong(result.estimates.accelerated->value);
      }
      progress.set_phase("verification");
      final_check.verify(result);
      result.verification.fingerprints = scheduler.verification();
      if (!result.verification.failure.empty()) {
        result.terms = terms;
        result.ranges = grid.size();
        result.workers = scheduler.workers();
        result.retries += retries_before + scheduler.retries();
        result.elapsed_s = elapsed_before + seconds_since(start);
        result.estimate_text = truncated_decimal(result.estimates.best().value, 20);
        throw VerificationFailed(std::move(result));
      }
      result.timing.tasks = scheduler.times();
      const std::uint64_t retries_in_series = scheduler.retries();
      result.retries += retries_in_series;
      result.workers = scheduler.workers();
      progress.set_phase("decimal conversion");
      if (spec.digits && series->kind() == SeriesKind::fast) {
        const auto conversion_start = std::chrono::steady_clock::now();
        try {
          block_text = convert_in_blocks(scheduler, executor, result.estimates.best(), *spec.digits, [&] {
            progress.set_workers(scheduler.active_workers(), scheduler.busy_workers(), scheduler.retries());
            publish_notices(io.events, scheduler, "retry");
          });
        } catch (const std::exception& e) {
          // The series is done: a resume starts from its result and only converts again.
          save_series_result(result.retries + (scheduler.retries() - retries_in_series), e);
          throw;
        }
        result.retries += scheduler.retries() - retries_in_series;
        result.workers = scheduler.workers();
        result.verification.fingerprints = scheduler.verification();
        result.timing.tasks = scheduler.times();
        block_conversion_s = seconds_since(conversion_start);
      }
    }
    result.terms = terms;
    result.ranges = grid.size();
    const auto certify_start = std::chrono::steady_clock::now();
    const bool certified = certify(result, *series, spec.digits, std::move(block_text));
    result.timing.conversion_s = block_conversion_s + seconds_since(certify_start);
    if (certified) break;
    // The enclosure straddles a digit boundary: rare, and cured by more terms (Ziv's strategy).
    if (attempt == 3 || terms > series->max_terms() / 4) {
      throw SeriesError("could not certify " + std::to_string(*spec.digits) + " digits with " +
                        std::to_string(terms) + " terms of " + result.series);
    }
    log << "[pi-job] enclosure straddles a digit boundary; retrying with more terms" << std::endl;
    terms = series->kind() == SeriesKind::slow ? terms * 4 : terms + terms / 8 + 4;
  }
  const Estimate& best = result.estimates.best();
  result.estimate_text =
      truncated_decimal(best.value, std::min(result.correct_digits + 3, kMaxEstimateDigits));
  if (io.events) {
    publish_final_estimate(*io.events, *series, result);
    state.last_event_id = io.events->last_id();
  }
  result.retries += retries_before;
  result.elapsed_s = elapsed_before + seconds_since(start);
  state.complete = true;
  state.retries = result.retries;
  state.elapsed_s = result.elapsed_s;
  ++state.checkpoints;
  result.final_state = std::move(state);
  return result;
}

}  // namespace pi
