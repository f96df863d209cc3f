// pi-job: options, roles, logging and exit codes around the run. Under mpirun, rank 0 coordinates and the
// other ranks work; alone (or with one rank) the process does everything itself.
// Exit codes: app/exit_codes.hpp, where every exception that ends a job is mapped to one.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "app/dry_run.hpp"
#include "app/exit_codes.hpp"
#include "app/launcher.hpp"
#include "app/options.hpp"
#include "app/output.hpp"
#include "app/resume.hpp"
#include "app/run_lock.hpp"
#include "checkpoint/checkpoint.hpp"
#include "checkpoint/durable.hpp"
#include "coordinator/heartbeat.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/job.hpp"
#include "gateway/gateway.hpp"
#include "gateway/publisher.hpp"
#include "gateway/report.hpp"
#include "mpi/distributed.hpp"
#include "series/bigint.hpp"

namespace {

// Seconds rank 0 and the workers give MPI_Finalize before ending without it.
constexpr double kFinalizeTimeout = 10.0;
// The same on rank 0 when worker ranks were lost and never answered again.
constexpr double kLostFinalizeTimeout = 3.0;
// The same after a stop signal. Open MPI 4.1.4's mpirun, stopped itself (SIGTERM, SIGINT), forwards the
// signal after odls_base_sigkill_timeout (1 s), answers no finalizing rank until that long again has passed,
// and then SIGKILLs the ranks and finalizes at once. Ranks killed in the middle of MPI_Finalize made that
// last step hang for good in PMIx_server_finalize, every rank already gone (4 of 100 runs of mpi.signals'
// conversion case; none in 180 with this), or crash. A stopped rank's files are written before it finalizes,
// so it ends by itself well within mpirun's wait; under a launcher that answers at once (srun, MPICH's
// Hydra) it finalizes as usual. docs/mpi.md has the measurements.
constexpr double kStoppedFinalizeTimeout = 0.25;

// MPI_Finalize with the watchdog that suits how the job ended: stopped by a signal, with worker ranks lost,
// or neither.
void end_mpi(pi::MpiRuntime& mpi, int code, bool ranks_lost = false) {
  double timeout = kFinalizeTimeout;
  const char* why = "another rank may have ended without it";
  if (pi::stop_signal() != 0) {
    timeout = kStoppedFinalizeTimeout;
    why = "stopped: mpirun ends its ranks itself";
  } else if (ranks_lost) {
    timeout = kLostFinalizeTimeout;
    why = "a rank was lost";
  }
  std::cout.flush();
  mpi.finalize(std::chrono::duration<double>(timeout), code, why);
}

void report_done(const pi::RunResult& result, const std::filesystem::path& out) {
  std::cerr << "[pi-job] done: " << result.estimate_text << " (" << result.correct_digits
            << " correct digits, error bound " << result.estimates.best().error_bound.to_string() << ") in "
            << result.elapsed_s << " s on " << result.ranks << (result.ranks == 1 ? " rank" : " ranks")
            << ", " << result.retries << " retries; wrote " << out.string() << std::endl;
}

// Where the job's events go: the gateway in this process (--serve) and/or a remote one (--publish).
class LiveOutputs final : public pi::EventOutput {
 public:
  explicit LiveOutputs(const pi::JobOptions& options) {
    if (options.serve) {
      gateway_ = std::make_unique<pi::Gateway>(*options.serve);  // throws GatewayError (port taken, ...)
      gateway_->start();
      std::cerr << "[pi-job] live page: http://" << options.serve->host << ":" << gateway_->port() << "/"
                << std::endl;
    }
    if (options.publish)
      publisher_ = std::make_unique<pi::HttpPublisher>(*options.publish, options.token, std::cerr);
  }
  void send(const pi::Event& e) override {
    report_.send(e);
    if (gateway_) gateway_->send(e);
    if (publisher_) publisher_->send(e);
  }
  // OUT/report.html, the page as it stands; a failure to write it is said and does not change the outcome.
  void write_report(const std::filesystem::path& out_dir) const {
    try {
      pi::write_file_atomic(out_dir / "report.html", pi::report_html(report_.status()));
    } catch (const std::exception& e) {
      std::cerr << "[pi-job] report.html was not written: " << e.what() << std::endl;
    }
  }
  // Delivers what is queued, then keeps the page up for `linger_s` (or until a signal).
  void finish(double linger_s) {
    if (publisher_) publisher_->flush(std::chrono::seconds(5));
    if (!gateway_ || linger_s <= 0) return;
    std::cerr << "[pi-job] the live page stays up for " << linger_s << " s (Ctrl-C ends it)" << std::endl;
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(linger_s);
    while (std::chrono::steady_clock::now() < until && pi::stop_signal() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  std::unique_ptr<pi::Gateway> gateway_;
  std::unique_ptr<pi::HttpPublisher> publisher_;
  pi::ReportRecorder report_;
};

// The job decided, with the lock that keeps other runs out of its directory until it ends.
struct Decided {
  pi::JobPlan plan;
  std::unique_ptr<pi::RunLock> lock;
  std::unique_ptr<LiveOutputs> live;  // bound before anything is created: a taken --serve port is refused
};

// A complete job whose pi.txt or summary.json is gone: both written again with the same bytes from what
// result.h5 keeps. Returns false when result.h5 can't give them (the run then redoes the final steps).
bool restore_outputs(const std::filesystem::path& dir, bool digits_mode) {
  const bool have_pi = !digits_mode || std::filesystem::is_regular_file(dir / "pi.txt");
  const bool have_summary = std::filesystem::is_regular_file(dir / "summary.json");
  if (have_pi && have_summary) return true;
  const std::optional<pi::KeptOutputs> kept = pi::read_kept_outputs(dir);
  if (!kept || (digits_mode && !kept->pi_txt)) return false;
  if (!have_pi) pi::write_file_atomic(dir / "pi.txt", *kept->pi_txt);
  if (!have_summary) pi::write_file_atomic(dir / "summary.json", kept->summary_json);
  std::cerr << "[pi-job] wrote " << (!have_pi ? "pi.txt " : "") << (!have_pi && !have_summary ? "and " : "")
            << (!have_summary ? "summary.json " : "") << "again from " << (dir / "result.h5").string()
            << std::endl;
  return true;
}

// What refused a job before it ran (a user's mistake, a port taken, a checkpoint that fails validation, or
// anything else), said on one line; returns the exit code.
int refused(const std::exception_ptr& error, const std::filesystem::path& out_dir) {
  const pi::Ending ending = pi::ending_of(error, out_dir, pi::launcher_rank().has_value());
  std::cerr << "pi-job: " << ending.line << std::endl;
  return ending.code;
}

// Decides the job (rank 0, or alone): the plan, or the exit code when there is nothing to run. Nothing is
// created before the input is accepted, and a refused run leaves every file as it was.
std::variant<Decided, int> resolve(const pi::JobOptions& options,
                                   pi::PieceValues values = pi::PieceValues::keep) {
  try {
    std::error_code ec;
    const bool existed = std::filesystem::exists(std::filesystem::symlink_status(options.out_dir, ec));
    if (!options.resume) pi::check_memory(options.spec, options.threads);
    auto live = std::make_unique<LiveOutputs>(options);  // throws GatewayError (port taken, ...)
    pi::prepare_output_dir(options.out_dir);
    auto lock = std::make_unique<pi::RunLock>(options.out_dir);
    try {
      pi::JobPlan plan = pi::plan_job(options, std::cerr, values);
      if (plan.already_complete) {
        if (restore_outputs(options.out_dir, plan.spec.digits.has_value())) {
          std::cerr << "[pi-job] the job in " << options.out_dir.string() << " (" << plan.spec.series
                    << ") is complete; nothing to do" << std::endl;
          return pi::kExitDone;
        }
        // result.h5 is gone too: the complete checkpoint holds the whole series; only the final steps run.
        std::cerr << "[pi-job] the job in " << options.out_dir.string()
                  << " is complete but its results are missing: computing them again from its checkpoint"
                  << std::endl;
        plan.already_complete = false;
        plan.resume->complete = false;
      }
      pi::check_memory(plan.spec, options.threads);
      return Decided{std::move(plan), std::move(lock), std::move(live)};
    } catch (...) {
      if (!existed) {  // refused in a directory this run created: leave nothing behind
        lock.reset();
        std::filesystem::remove(options.out_dir, ec);
      }
      throw;
    }
  } catch (const std::exception&) {
    return refused(std::current_exception(), options.out_dir);
  }
}

// Ids go on from the checkpoint's last one, and a resumed run starts above 2^32 times its resume count, so
// that they keep increasing even past events published after that checkpoint, which it does not record.
std::uint64_t first_event_id(const pi::JobPlan& plan) {
  if (!plan.resume) return 1;
  return std::max(plan.resume->last_event_id, (plan.resume->resumes + 1) << 32) + 1;
}

// Runs the job on rank 0 (or alone) and writes its files; returns the exit code.
int coordinate(const pi::JobOptions& options, Decided& decided, pi::Executor& executor) {
  const pi::JobPlan& plan = decided.plan;
  std::unique_ptr<LiveOutputs>& live = decided.live;
  std::optional<pi::EventFeed> feed;
  std::optional<pi::Heartbeat> heartbeat;
  // What ended the run early: its line, its notice, the done event (`done_summary`, when there is one) and
  // the exit code.
  const auto ended = [&](const std::exception_ptr& error, const nlohmann::json* done_summary) {
    const pi::Ending ending = pi::ending_of(error, options.out_dir, pi::launcher_rank().has_value());
    std::cerr << "pi-job: " << ending.line << std::endl;
    if (feed && !ending.notice_level.empty()) {
      feed->publish(pi::event_kind::notice, {{"level", ending.notice_level}, {"text", ending.notice_text}});
    }
    if (feed && done_summary) feed->publish(pi::event_kind::done, *done_summary);
    if (heartbeat) heartbeat->finish(ending.notice_level == "stopped" ? "stopped" : "failed");
    if (live) {
      if (feed) live->write_report(options.out_dir);
      live->finish(0);
    }
    return ending.code;
  };
  try {
    // A resume keeps the job's id, so that the page tells it from a new job.
    const std::string job_id =
        plan.resume && !plan.resume->job_id.empty() ? plan.resume->job_id : pi::new_job_id();
    // Always: the events make report.html too.
    feed.emplace(*live, first_event_id(plan) - 1);
    heartbeat.emplace(*feed, nlohmann::json{{"job_id", job_id}});
    pi::CheckpointStore checkpoints(options.out_dir, plan.spec.keep_checkpoints, std::cerr);
    pi::JobIo io{plan.resume ? &*plan.resume : nullptr, &checkpoints, &*feed};
    io.job_id = job_id;
    io.heartbeat = &*heartbeat;
    io.corrupt_final_value = pi::FaultPlan::from_environment(0).corrupts_final_value();
    io.digits_file = options.out_dir / "pi.txt.partial";
    pi::RunResult result = pi::run_job(plan.spec, executor, std::cerr, io);
    // summary.json's text, once: the file, and result.h5's copy of it, which must hold the same bytes.
    const nlohmann::json summary = pi::summary_json(result);
    const std::string summary_text = summary.dump(2) + "\n";
    pi::write_outputs(options.out_dir, result, summary_text);
    pi::write_result_file(options.out_dir, result, summary_text);
    feed->publish(pi::event_kind::done, summary);
    heartbeat->finish("complete");
    result.final_state.last_event_id = feed->last_id();
    live->write_report(options.out_dir);
    try {
      checkpoints.save(result.final_state, "complete");
    } catch (const pi::CheckpointError& e) {
      std::cerr << "[pi-job] the result is written, but the final checkpoint is not: " << e.what()
                << std::endl;
    }
    report_done(result, options.out_dir);
    live->finish(options.linger_s);
    return pi::kExitDone;
  } catch (const pi::VerificationFailed& e) {
    // Not a result: no pi.txt and no result.h5, the report in summary.json and on the page; the last
    // checkpoint stays as it was.
    const nlohmann::json summary = pi::summary_json(e.result);
    pi::write_outputs(options.out_dir, pi::RunResult{}, summary.dump(2) + "\n");
    return ended(std::current_exception(), &summary);
  } catch (...) {
    return ended(std::current_exception(), nullptr);
  }
}

// Alone, or as the only rank: decide and run in this process.
int run_alone(const pi::JobOptions& options) {
  auto decided = resolve(options);
  if (const int* code = std::get_if<int>(&decided)) return *code;
  auto& job = std::get<Decided>(decided);
  auto series = pi::make_series(job.plan.spec.series);
  pi::LocalExecutor local(*series, options.threads);
  const int code = coordinate(options, job, local);
  // A computation abandoned on a stop signal may still use the series until the process ends.
  if (pi::work_abandoned()) (void)series.release();
  return code;
}

// Ends the process with `code`; without destructors when a stop left a computation running (they would
// free what it uses).
int finish(int code) {
  if (pi::work_abandoned()) {
    std::cout.flush();
    std::cerr.flush();
    std::_Exit(code);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  pi::install_stop_handlers();  // first: a stop that comes during start-up is kept, not fatal
  pi::widen_exponent_range();
  pi::keep_freed_memory();
  pi::map_big_blocks_apart();
  const std::optional<int> rank_hint = pi::launcher_rank();
  const bool speaks = rank_hint.value_or(0) == 0;
  pi::JobOptions options;
  try {
    const pi::ParseOutcome outcome = pi::parse_job_options(std::vector<std::string>(argv + 1, argv + argc));
    if (const auto* print = std::get_if<pi::PrintAndExit>(&outcome)) {
      if (speaks) (print->code == 0 ? std::cout : std::cerr) << print->text;
      return print->code;
    }
    options = std::get<pi::JobOptions>(outcome);
    if (const pi::LaunchedRanks launched = pi::launched_ranks(); options.threads > 1 && launched.ranks > 1) {
      throw pi::ConfigError("--threads " + std::to_string(options.threads) +
                            " is for a run in one process; this one has " + std::to_string(launched.ranks) +
                            " ranks (" + launched.from + "): give more ranks instead");
    }
  } catch (const pi::ConfigError&) {
    return speaks ? refused(std::current_exception(), {}) : pi::kExitUsage;
  }
  if (options.dry_run) {
    if (!speaks) return pi::kExitDone;  // under a launcher, rank 0 says it
    try {
      std::cout << pi::dry_run_report(options, pi::launched_ranks()) << std::flush;
      return pi::kExitDone;
    } catch (const std::exception&) {
      return refused(std::current_exception(), options.out_dir);
    }
  }
  if (!rank_hint) return finish(run_alone(options));

  try {
    pi::MpiRuntime mpi(argc, argv, std::chrono::duration<double>(options.start_timeout_s), rank_hint);
    if (mpi.size() == 1) {
      const int code = run_alone(options);
      end_mpi(mpi, code);
      return finish(code);
    }
    if (mpi.rank() != 0) {
      const std::string series_name = pi::await_job(mpi, options.coordinator_timeout_s);
      if (!series_name.empty()) {
        const auto series = pi::make_series(series_name);
        pi::run_worker(mpi, *series, pi::FaultPlan::from_environment(mpi.rank()), pi::write_piece_file,
                       pi::read_piece_file, options.coordinator_timeout_s);
      }
      end_mpi(mpi, pi::kExitDone);
      return pi::kExitDone;
    }
    if (pi::FaultPlan::from_environment(0).dies_at_start()) std::raise(SIGKILL);  // tests: die:0:start
    // With workers, the pieces a checkpoint keeps in files of their own stay there: workers read them.
    auto decided = resolve(options, pi::PieceValues::leave_in_files);
    if (const int* code = std::get_if<int>(&decided)) {
      pi::announce_job(mpi, "");
      end_mpi(mpi, *code);
      return *code;
    }
    auto& job = std::get<Decided>(decided);
    pi::announce_job(mpi, job.plan.spec.series);
    pi::MpiExecutor executor(mpi, std::cerr);
    const int code = coordinate(options, job, executor);
    executor.stop_workers();
    if (!executor.lost_ranks().empty()) {
      std::cerr << "[pi-job] " << executor.lost_ranks().size() << " worker rank(s) were lost during the run; "
                << "waiting up to " << pi::kLostRankWaitSeconds << " s for them to answer" << std::endl;
      executor.await_lost_ranks(std::chrono::steady_clock::now() +
                                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(pi::kLostRankWaitSeconds)));
    }
    if (!executor.lost_ranks().empty()) {
      // Still silent: hung, or gone. No MPI_Abort where it can be helped: after one, Open MPI 4.1.4's mpirun
      // was seen here to hang for good in PMIx_server_finalize, every rank already ended, or to crash there
      // (together about one run in twenty). A lost rank on this host is ended (SIGKILL) instead. Without
      // recovery mode mpirun then ends the job as for any dead rank (a non-zero exit code; the result is
      // complete and says so in summary.json); with --enable-recovery it goes on to the end, which it would
      // otherwise never reach while a stopped or hung rank lives. A hung rank elsewhere ends itself in time
      // (TaskWatchdog); without recovery mode MPI_Abort ends it at once, the one way left.
      const bool recovering = pi::launcher_keeps_ranks_after_a_loss();
      const std::vector<int> elsewhere = executor.end_lost_ranks();
      if (!recovering && !elsewhere.empty()) MPI_Abort(MPI_COMM_WORLD, code);
      if (!recovering) {
        std::cerr << "[pi-job] the result is complete (see summary.json); mpirun ends the job for the rank "
                  << "ended above, with a non-zero exit code" << std::endl;
      }
      for (int rank : elsewhere) {
        std::cerr << "[pi-job] rank " << rank << " (on another host, or a process rank 0 cannot see) never "
                  << "answered again; mpirun may wait "
                  << "for it: the result is complete (see summary.json)" << std::endl;
      }
    }
    end_mpi(mpi, code, !executor.lost_ranks().empty());
    return finish(code);
  } catch (const std::exception& e) {
    std::cerr << "pi-job: rank " << rank_hint.value_or(0) << ": error: " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, pi::kExitFailed);
    return pi::kExitFailed;
  }
}
