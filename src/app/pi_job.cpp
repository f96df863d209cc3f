// pi-job: options, roles, logging and exit codes around the run. Under mpirun, rank 0 coordinates and the
// other ranks work; alone (or with one rank) the process does everything itself.
// Exit codes: 0 done; 1 a failure of the run; 2 a user's mistake (one line on stderr); 3 stopped by SIGINT or
// SIGTERM.
#include <cstdlib>
#include <iostream>

#include "app/options.hpp"
#include "app/output.hpp"
#include "coordinator/interrupt.hpp"
#include "coordinator/job.hpp"
#include "mpi/distributed.hpp"
#include "series/bigint.hpp"

namespace {

// The rank an MPI launcher gave this process, read before MPI_Init so that a user's mistake is reported
// once (by rank 0) without starting MPI; nullopt when no launcher started it.
std::optional<int> launcher_rank() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* v = std::getenv(var)) return std::atoi(v);
  }
  return std::nullopt;
}

// Seconds rank 0 and the workers give MPI_Finalize before ending without it.
constexpr double kFinalizeTimeout = 10.0;

void report_done(const pi::RunResult& result, const std::filesystem::path& out) {
  std::cerr << "[pi-job] done: " << result.estimate_text << " (" << result.correct_digits
            << " correct digits, error bound " << result.estimates.best().error_bound.to_string() << ") in "
            << result.elapsed_s << " s on " << result.ranks << (result.ranks == 1 ? " rank" : " ranks")
            << ", " << result.retries << " retries; wrote " << out.string() << std::endl;
}

// Runs the job on rank 0 (or alone) and writes its files; returns the exit code.
int coordinate(const pi::JobOptions& options, pi::Executor& executor) {
  try {
    const pi::RunResult result = pi::run_job(options.spec, executor, std::cerr);
    pi::write_outputs(options.out_dir, result);
    report_done(result, options.out_dir);
    return 0;
  } catch (const pi::Interrupted& e) {
    std::cerr << "pi-job: " << e.what() << "; the job ends without a result (exit code "
              << pi::kExitInterrupted << ")" << std::endl;
    return pi::kExitInterrupted;
  } catch (const pi::ConfigError& e) {
    std::cerr << "pi-job: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "pi-job: error: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  pi::widen_exponent_range();
  const std::optional<int> rank_hint = launcher_rank();
  const bool speaks = rank_hint.value_or(0) == 0;
  pi::JobOptions options;
  try {
    const pi::ParseOutcome outcome = pi::parse_job_options(std::vector<std::string>(argv + 1, argv + argc));
    if (const auto* print = std::get_if<pi::PrintAndExit>(&outcome)) {
      if (speaks) std::cout << print->text;
      return 0;
    }
    options = std::get<pi::JobOptions>(outcome);
    if (speaks) {
      pi::prepare_output_dir(options.out_dir);
      pi::check_memory(options.spec);
    }
  } catch (const pi::ConfigError& e) {
    if (speaks) std::cerr << "pi-job: " << e.what() << std::endl;
    return 2;
  }
  pi::install_stop_handlers();

  if (!rank_hint) {
    const auto series = pi::make_series(options.spec.series);
    pi::LocalExecutor local(*series);
    return coordinate(options, local);
  }

  try {
    pi::MpiRuntime mpi(argc, argv);
    if (mpi.size() == 1) {
      const auto series = pi::make_series(options.spec.series);
      pi::LocalExecutor local(*series);
      const int code = coordinate(options, local);
      mpi.finalize(std::chrono::duration<double>(kFinalizeTimeout), code);
      return code;
    }
    if (mpi.rank() != 0) {
      const auto series = pi::make_series(options.spec.series);
      pi::run_worker(mpi, *series, pi::FaultPlan::from_environment(mpi.rank()));
      mpi.finalize(std::chrono::duration<double>(kFinalizeTimeout), 0);
      return 0;
    }
    pi::MpiExecutor executor(mpi, std::cerr);
    const int code = coordinate(options, executor);
    executor.stop_workers();
    double finalize_timeout = kFinalizeTimeout;
    if (!executor.lost_ranks().empty()) {
      std::cerr << "[pi-job] " << executor.lost_ranks().size() << " worker rank(s) were lost during the run"
                << std::endl;
      // Without recovery mode, mpirun ends a job cleanly on MPI_Abort, hung ranks included; MPI_Finalize
      // would wait for them and, measured, mpirun itself sometimes hangs when rank 0 then exits without it.
      // With
      // --enable-recovery MPI_Abort ends nothing, but a hung worker ends itself (TaskWatchdog).
      const char* recovery = std::getenv("OMPI_MCA_orte_enable_recovery");
      if (!recovery || std::string(recovery) != "1") MPI_Abort(MPI_COMM_WORLD, code);
      finalize_timeout = 3.0;
    }
    mpi.finalize(std::chrono::duration<double>(finalize_timeout), code);
    return code;
  } catch (const std::exception& e) {
    std::cerr << "pi-job: rank " << rank_hint.value_or(0) << ": error: " << e.what() << std::endl;
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}
