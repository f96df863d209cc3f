#include "coordinator/job.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>

#include "coordinator/interrupt.hpp"
#include "series/bbp.hpp"
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
// CPUs this process may run on (its affinity mask).
int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

// Conversion blocks below this size are not worth a worker's round trip.
constexpr std::uint64_t kMinBlockDecimals = 10000;

}  // namespace

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

// Saves the job's state when a checkpoint is due, on a thread of its own so that the coordinator keeps
// serving workers while the pieces (hundreds of MB at 1e8 digits) go to disk; and when the run stops early,
// after the write in flight. The pieces are immutable and shared, so a snapshot costs no copy of them.
class Checkpointing {
 public:
  Checkpointing(StateSink* sink, EventFeed* events, double interval_s, std::ostream& log)
      : sink_(sink), events_(events), interval_s_(interval_s), log_(log), next_(Clock::now() + period()) {}
  ~Checkpointing() { wait(); }
  Checkpointing(const Checkpointing&) = delete;
  Checkpointing& operator=(const Checkpointing&) = delete;

  bool enabled() const { return sink_ != nullptr; }
  // A checkpoint is due, and the one before is written.
  bool due() const {
    return sink_ && interval_s_ > 0 && Clock::now() >= next_ &&
           (!writing_.valid() || writing_.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
  }

  void save_in_background(JobState state, std::string reason) {
    wait();
    next_ = Clock::now() + period();
    writing_ =
        std::async(std::launch::async, [this, s = std::move(state), r = std::move(reason)] { write(s, r); });
  }

  // Returns false when the state could not be saved; the job goes on, and the last good checkpoint stays.
  bool save(const JobState& state, const std::string& reason) {
    wait();
    next_ = Clock::now() + period();
    return write(state, reason);
  }

  // The progress of the checkpoint the run started from: a run that stops before it has more never
  // replaces (and so never rotates away) a checkpoint that holds as much.
  void starting_from(const JobState& resumed) {
    std::lock_guard lock(saved_mutex_);
    saved_ = Saved{resumed.terms, resumed.ranges_done};
  }

  // When the run stops early (a signal or a failure): saves what is finished if it is more than the last
  // checkpoint holds. A stop whose checkpoint can't be written becomes InterruptedUnsaved.
  void save_when_stopping(const JobState& state, const std::exception& why) {
    if (!sink_) return;
    wait();
    const auto* stop = dynamic_cast<const Interrupted*>(&why);
    const Saved last = [this] {
      std::lock_guard lock(saved_mutex_);
      return saved_;
    }();
    if (last.terms == state.terms && state.ranges_done <= last.ranges_done) {
      log_ << "[pi-job] nothing was finished since the last checkpoint (" << last.ranges_done << "/"
           << state.grid_ranges << " ranges): it stays as it is" << std::endl;
      return;
    }
    if (!save(state, stop ? stop->what() : "the run stopped") && stop)
      throw InterruptedUnsaved(stop->signal());
  }

  void wait() {
    if (writing_.valid()) writing_.get();
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::duration period() const {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s_));
  }
  bool write(const JobState& state, const std::string& reason) {
    try {
      sink_->save(state, reason);
      {
        std::lock_guard lock(saved_mutex_);
        saved_ = Saved{state.terms, state.ranges_done};
      }
      if (events_) {
        events_->publish("checkpoint", {{"number", state.checkpoints},
                                        {"ranges_done", state.ranges_done},
                                        {"ranges", state.grid_ranges},
                                        {"reason", reason}});
      }
      return true;
    } catch (const std::exception& e) {
      std::string why = e.what();
      std::replace(why.begin(), why.end(), '\n', ' ');  // one line in the log, whatever the cause's text
      log_ << "[pi-job] checkpoint failed (" << reason << "): " << why << "; the previous checkpoint is kept"
           << std::endl;
      if (events_) events_->publish("notice", {{"level", "checkpoint"}, {"text", why}});
      return false;
    }
  }

  StateSink* sink_;
  EventFeed* events_;
  double interval_s_;
  std::ostream& log_;
  Clock::time_point next_;
  std::future<void> writing_;
  struct Saved {
    std::uint64_t terms = 0;
    std::uint64_t ranges_done = 0;
  };
  std::mutex saved_mutex_;                          // the background writer updates saved_
  Saved saved_{0, static_cast<std::uint64_t>(-1)};  // nothing saved yet
};

// Precision of the live estimates of fast series: enough for the leading digits a viewer shows.
constexpr std::uint64_t kLiveEstimateBits = 1024;
constexpr std::uint64_t kLiveDigits = 60;
constexpr double kEstimateEventSeconds = 0.25;
constexpr double kWorkersEventSeconds = 1.0;

nlohmann::json estimate_json(const Series& series, const Estimate& e, std::uint64_t prefix_terms,
                             std::uint64_t cap) {
  const std::uint64_t correct = correct_digits(e.value, e.error_bound, cap);
  return {{"terms", prefix_terms},
          {"digits", truncated_decimal(e.value, std::min(correct + 3, kLiveDigits))},
          {"correct_digits", correct},
          {"error_bound", e.error_bound.to_string()},
          {"method", e.method},
          {"about_digits_of_terms",
           series.kind() == SeriesKind::fast
               ? static_cast<std::uint64_t>(static_cast<double>(prefix_terms) * series.digits_per_term())
               : correct}};
}

// Publishes what a viewer follows while the series runs: an estimate each time the finished prefix has
// grown (at most a few a second), the workers every second, and every notice.
class LiveEvents {
 public:
  LiveEvents(EventFeed* events, const Series& series) : events_(events), series_(series) {}

  void tick(Scheduler& scheduler, const ProgressReporter& progress, std::uint64_t ranges) {
    if (!events_) return;
    for (std::string& n : scheduler.take_notices())
      events_->publish("notice", {{"level", "retry"}, {"text", n}});
    const auto now = std::chrono::steady_clock::now();
    if (now - last_estimate_ >= std::chrono::duration<double>(kEstimateEventSeconds)) {
      if (auto lead = scheduler.leading_piece(); lead && lead->range.end > published_terms_) {
        last_estimate_ = now;
        published_terms_ = lead->range.end;
        const bool fast = series_.kind() == SeriesKind::fast;
        const PrefixEstimates both = series_.estimate(*lead, fast ? kLiveEstimateBits : 0);
        nlohmann::json j = estimate_json(series_, both.best(), lead->range.end, fast ? 300 : kLiveDigits);
        // The plain partial sum's bound is the series' own convergence (the accelerated one is dominated by
        // rounding once it is good): the viewer plots it.
        if (both.accelerated) j["partial_sum_error_bound"] = both.partial_sum.error_bound.to_string();
        const ProgressReporter::Figures f = progress.figures();
        j["ranges_done"] = scheduler.leaves_done();
        j["ranges"] = ranges;
        j["fraction"] = f.fraction;
        j["rate"] = f.rate;
        j["unit"] = progress.unit();
        j["elapsed_s"] = f.elapsed_s;
        j["eta_s"] = std::isfinite(f.eta_s) ? nlohmann::json(f.eta_s) : nlohmann::json(nullptr);
        events_->publish("estimate", j);
      }
    }
    if (now - last_workers_ >= std::chrono::duration<double>(kWorkersEventSeconds)) {
      last_workers_ = now;
      nlohmann::json list = nlohmann::json::array();
      for (const WorkerStats& w : scheduler.workers()) list.push_back(worker_json(w));
      events_->publish("workers", {{"alive", scheduler.active_workers()},
                                   {"busy", scheduler.busy_workers()},
                                   {"retries", scheduler.retries()},
                                   {"workers", list}});
    }
  }

 private:
  EventFeed* events_;
  const Series& series_;
  std::chrono::steady_clock::time_point last_estimate_{};
  std::chrono::steady_clock::time_point last_workers_{};
  std::uint64_t published_terms_ = 0;
};

// The integer part and decimals [0, digits + kGuardDecimals) of the estimate, converted in blocks by the
// executor's workers (one block each, if they are big enough to be worth it). The text is not certified yet.
std::optional<std::string> convert_in_blocks(Scheduler& scheduler, Executor& executor, const Estimate& best,
                                             std::uint64_t digits, const std::function<void()>& tick) {
  BigInt f;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(raw(f), raw(best.value));  // x = f 2^exponent, exactly
  if (exponent > 0 || mpz_sgn(raw(f)) < 0) return std::nullopt;
  const std::uint64_t decimals = digits + kGuardDecimals;
  const auto blocks = std::clamp<std::uint64_t>(decimals / kMinBlockDecimals, 1,
                                                static_cast<std::uint64_t>(std::max(1, executor.workers())));
  scheduler.convert(std::make_shared<const PartialResult>(PartialResult{Range{}, {std::move(f)}}),
                    static_cast<std::uint64_t>(-exponent), decimals, blocks);
  executor.run(scheduler, tick);
  return scheduler.take_digits();
}

// A stop leaves a detached computation (the square root, the BBP sum) running: the process then ends
// without waiting for it (mark_work_abandoned).
struct AbandonIfUnfinished {
  std::shared_future<void>& f;
  ~AbandonIfUnfinished() {
    if (f.valid() && f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) mark_work_abandoned();
  }
};

// The primes of a job's fingerprints: two, so that a wrong integer passes only with probability about
// 2^-112 (fast series; none for slow ones).
constexpr std::size_t kFingerprintPrimes = 2;

// z mod 2^128 (z >= 0).
Uint128 low_128_bits(const BigInt& z) {
  BigInt high, low;
  mpz_fdiv_q_2exp(raw(high), raw(z), 64);
  mpz_fdiv_r_2exp(raw(high), raw(high), 64);
  mpz_fdiv_r_2exp(raw(low), raw(z), 64);
  return (static_cast<Uint128>(mpz_get_ui(raw(high))) << 64) | mpz_get_ui(raw(low));
}

// frac(16^h x) 2^128, truncated, from the bits of x (x = f 2^e exactly).
Uint128 value_hex_fraction(const Real& x, std::uint64_t h) {
  BigInt f;
  const mpfr_exp_t e = mpfr_get_z_2exp(raw(f), raw(x));
  const std::int64_t shift = static_cast<std::int64_t>(e) + static_cast<std::int64_t>(4 * h + 128);
  if (shift >= 0)
    mpz_mul_2exp(raw(f), raw(f), static_cast<mp_bitcnt_t>(shift));
  else
    mpz_fdiv_q_2exp(raw(f), raw(f), static_cast<mp_bitcnt_t>(-shift));
  return low_128_bits(f);
}

// err 2^(4h + 128) rounded up, or nullopt when that is 2^100 or more: at position h the value's own error
// would leave fewer than 28 bits to compare.
std::optional<Uint128> scaled_error(const UpperBound& err, std::uint64_t h) {
  Real t = make_real(64);
  mpfr_mul_2ui(raw(t), raw(err.value()), 4 * h + 128, MPFR_RNDU);
  if (mpfr_cmp_ui_2exp(raw(t), 1, 100) >= 0) return std::nullopt;
  mpfr_ceil(raw(t), raw(t));
  BigInt z;
  mpfr_get_z(raw(z), raw(t), MPFR_RNDU);
  return low_128_bits(z);
}

// Where to compare hex digits with BBP: just past the certified ones, so that every certified bit is
// covered. In digits mode this is known before the series starts (D decimals are D log2(10) bits; the
// value carries 20 guard decimals more, which keeps its error at that position far below 2^-96), so the
// BBP sum runs beside the series.
std::uint64_t bbp_position_for_digits(std::uint64_t digits) {
  const double bits = static_cast<double>(digits) * std::log2(10.0);
  return bits <= 32 ? 0 : static_cast<std::uint64_t>((bits - 32) / 4);
}
// From the value's error bound otherwise: nullopt when it has fewer than 100 proven bits.
std::optional<std::uint64_t> bbp_position_for_error(const UpperBound& err) {
  if (err.is_zero()) return std::nullopt;
  const double bits = -err.log10() * std::log2(10.0);
  if (bits < 100) return std::nullopt;
  return static_cast<std::uint64_t>((bits - 64) / 4);
}

// The hex digits of `best` at `h` against BBP's; fills the report, and its failure on a disagreement.
void compare_with_bbp(const Estimate& best, std::uint64_t h, const HexFraction& bbp, VerificationReport& v) {
  v.bbp.position = h;
  const std::optional<Uint128> own_error = scaled_error(best.error_bound, h);
  if (!own_error) {
    v.bbp.skipped = "the value's error bound is too wide at hex position " + std::to_string(h);
    return;
  }
  const Uint128 found = value_hex_fraction(best.value, h);
  const Uint128 d = found - bbp.value;
  const Uint128 distance = std::min(d, Uint128{0} - d);
  v.bbp.checked = true;
  v.bbp.expected = hex_digits(bbp.value, 16);
  v.bbp.found = hex_digits(found, 16);
  v.bbp.agree = distance <= *own_error + bbp.error + 2;
  if (!v.bbp.agree && v.failure.empty()) {
    v.failure = "its hexadecimal digits after position " + std::to_string(h) + " are " + v.bbp.found +
                ", the BBP formula gives " + v.bbp.expected;
  }
}

// The checks of the final value: it is plausible, and its hex digits just past the certified ones are
// those of the BBP formula (computed beside the series in digits mode, here otherwise).
void verify_final(RunResult& result, const JobSpec& spec, const std::shared_future<void>& bbp_done,
                  const std::shared_ptr<HexFraction>& bbp, const std::shared_ptr<double>& bbp_seconds) {
  VerificationReport& v = result.verification;
  const Estimate& best = result.estimates.best();
  v.range_checked = best.error_bound.is_zero() || best.error_bound.log10() < -6;
  if (v.range_checked) {
    v.in_range = mpfr_cmp_d(raw(best.value), 3.14159) >= 0 && mpfr_cmp_d(raw(best.value), 3.1416) <= 0;
    if (!v.in_range) {
      v.failure = "its value " + truncated_decimal(best.value, 12) + " is not in [3.14159, 3.1416]";
    }
  }
  if (!spec.verify) {
    v.bbp.skipped = "--verify off";
    return;
  }
  std::optional<std::uint64_t> h;
  if (bbp_done.valid()) {
    while (bbp_done.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
      throw_if_interrupted();
    bbp_done.get();
    h = bbp_position_for_digits(*spec.digits);
  } else if ((h = bbp_position_for_error(best.error_bound))) {
    const auto t0 = std::chrono::steady_clock::now();
    *bbp = run_interruptible([p = *h, threads = usable_cpus()] { return pi_hex_fraction(p, threads); });
    *bbp_seconds = seconds_since(t0);
  }
  if (!h) {
    v.bbp.skipped = "fewer than 100 proven bits";
    return;
  }
  v.bbp.seconds = *bbp_seconds;
  compare_with_bbp(best, *h, *bbp, v);
}

// x (1 + 2^-64): a final value wrong from its 64th bit on, as an error in the division or a damaged
// operand would leave it (tests: PI_FAULT corrupt:0:final).
void make_wrong(Real& x) {
  Real d = make_real(static_cast<std::uint64_t>(mpfr_get_prec(raw(x))));
  mpfr_div_2ui(raw(d), raw(x), 64, MPFR_RNDN);
  mpfr_add(raw(x), raw(x), raw(d), MPFR_RNDN);
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
  JobState state;
  state.series = result.series;
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
  result.resumes = state.resumes;
  // Fingerprints: the job's primes, drawn once and kept in its checkpoints.
  std::vector<std::uint64_t> primes;
  if (series->fingerprinted() && spec.verify) {
    primes = resume && !resume->fingerprint_primes.empty() ? resume->fingerprint_primes
                                                           : draw_primes(kFingerprintPrimes);
  }
  state.fingerprint_primes = primes;
  // The BBP digits the final value will be compared with: in digits mode their position is known now, and
  // they are computed on a thread of their own while the series runs.
  auto bbp = std::make_shared<HexFraction>();
  auto bbp_seconds = std::make_shared<double>(0);
  std::shared_future<void> bbp_done;
  const AbandonIfUnfinished abandon_bbp{bbp_done};
  if (spec.digits && spec.verify) {
    bbp_done = run_detached([bbp, bbp_seconds, h = bbp_position_for_digits(*spec.digits)] {
      const auto t0 = std::chrono::steady_clock::now();
      *bbp = pi_hex_fraction(h, 1);
      *bbp_seconds = seconds_since(t0);
    });
  }
  const double elapsed_before = state.elapsed_s;
  const std::uint64_t retries_before = state.retries;
  Checkpointing checkpoints(io.checkpoints, io.events, spec.checkpoint_interval_s, log);
  if (resume) checkpoints.starting_from(*resume);
  LiveEvents live(io.events, *series);

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
    if (!primes.empty()) scheduler.verify_with(primes);
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
      state.ranges_done = scheduler.leaves_done();
      state.retries = retries_before + result.retries + scheduler.retries();
      state.elapsed_s = elapsed_before + seconds_since(start);
      ++state.checkpoints;
      if (io.events) state.last_event_id = io.events->last_id() + 1;  // the checkpoint's own event
      return state;
    };
    {
      ProgressReporter progress(log, unit, grid.size(), scheduler.total_work(), executor.workers(),
                                std::chrono::duration<double>(spec.progress_interval_s));
      progress.resume_from(scheduler.leaves_done(), scheduler.work_done());
      log << "[pi-job] " << result.series << ": " << terms << " terms in " << grid.size() << " ranges on "
          << executor.ranks() << (executor.ranks() == 1 ? " rank" : " ranks");
      if (scheduler.leaves_done() > 0) log << ", resumed with " << scheduler.leaves_done() << " ranges done";
      log << std::endl;
      if (io.events) {
        io.events->publish("job",
                           {{"series", result.series},
                            {"digits", spec.digits ? nlohmann::json(*spec.digits) : nlohmann::json(nullptr)},
                            {"terms", terms},
                            {"ranges", grid.size()},
                            {"ranges_done", scheduler.leaves_done()},
                            {"ranks", executor.ranks()},
                            {"workers", executor.workers()},
                            {"resumes", state.resumes},
                            {"unit", unit}});
      }
      const auto series_start = std::chrono::steady_clock::now();
      const auto tick = [&] {
        progress.update(scheduler.leaves_done(), scheduler.work_done());
        progress.set_workers(scheduler.active_workers(), scheduler.busy_workers(), scheduler.retries());
        live.tick(scheduler, progress, grid.size());
        if (checkpoints.due()) checkpoints.save_in_background(snapshot(), "interval");
      };
      try {
        executor.run(scheduler, tick);
      } catch (const std::exception& e) {
        // The finished pieces are exact whatever stopped the run: keep them for a resume.
        if (io.events) {
          for (std::string& n : scheduler.take_notices())
            io.events->publish("notice", {{"level", "failure"}, {"text", n}});
        }
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
        state.retries = retries_before + result.retries + scheduler.retries();
        state.elapsed_s = elapsed_before + seconds_since(start);
        ++state.checkpoints;
        if (io.events) state.last_event_id = io.events->last_id() + 1;
        checkpoints.save_when_stopping(state, stop);
        throw;
      }
      result.timing.final_steps_s = seconds_since(final_start);
      if (io.corrupt_final_value) {
        make_wrong(result.estimates.partial_sum.value);
        if (result.estimates.accelerated) make_wrong(result.estimates.accelerated->value);
      }
      progress.set_phase("verification");
      verify_final(result, spec, bbp_done, bbp, bbp_seconds);
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
            if (io.events) {
              for (std::string& n : scheduler.take_notices())
                io.events->publish("notice", {{"level", "retry"}, {"text", n}});
            }
          });
        } catch (const std::exception& e) {
          // The series is done: a resume starts from its result and only converts again.
          state.retries = retries_before + result.retries + (scheduler.retries() - retries_in_series);
          state.elapsed_s = elapsed_before + seconds_since(start);
          ++state.checkpoints;
          if (io.events) state.last_event_id = io.events->last_id() + 1;
          checkpoints.save_when_stopping(state, e);
          throw;
        }
        result.retries += scheduler.retries() - retries_in_series;
        result.workers = scheduler.workers();
        result.verification.fingerprints = scheduler.verification();
        result.timing.tasks = scheduler.times();
        block_conversion_s = seconds_since(conversion_start);
      }
    }
    const Estimate& best = result.estimates.best();
    result.terms = terms;
    result.ranges = grid.size();
    const auto conversion_start = std::chrono::steady_clock::now();
    if (!spec.digits) {
      const auto cap =
          series->kind() == SeriesKind::slow
              ? std::uint64_t{60}
              : static_cast<std::uint64_t>(static_cast<double>(terms) * series->digits_per_term()) + 40;
      result.correct_digits = correct_digits(best.value, best.error_bound, cap);
      result.timing.conversion_s = seconds_since(conversion_start);
      break;
    }
    if (block_text) {
      result.pi_text = certified_from_blocks(std::move(*block_text), *spec.digits, best.error_bound);
    }
    // The guard decimals could not decide (a long run of 0s or 9s after the last digit): look at all of x.
    if (!result.pi_text) result.pi_text = certified_digits(best.value, best.error_bound, *spec.digits);
    result.timing.conversion_s = block_conversion_s + seconds_since(conversion_start);
    if (result.pi_text) {
      result.correct_digits = *spec.digits;
      break;
    }
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
    nlohmann::json j =
        estimate_json(*series, best, result.terms, std::max<std::uint64_t>(result.correct_digits, 1));
    j["correct_digits"] = result.correct_digits;
    j["digits"] = truncated_decimal(best.value, std::min(result.correct_digits + 3, kLiveDigits));
    j["about_digits_of_terms"] = result.correct_digits;
    j["ranges_done"] = result.ranges;
    j["ranges"] = result.ranges;
    j["fraction"] = 1.0;
    j["final"] = true;
    if (result.estimates.accelerated) {
      j["partial_sum_error_bound"] = result.estimates.partial_sum.error_bound.to_string();
    }
    io.events->publish("estimate", j);
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
