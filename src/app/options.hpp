// pi-job's command line and TOML job files (every flag can live in a job file), validated into a JobSpec.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "coordinator/job.hpp"
#include "gateway/gateway.hpp"
#include "gateway/publisher.hpp"

namespace pi {

struct JobOptions {
  JobSpec spec;  // under --resume, series, digits and terms are what was given (maybe nothing)
  std::filesystem::path out_dir;
  bool resume = false;
  std::filesystem::path resume_from;     // empty: OUT/checkpoint.h5
  std::set<std::string> given;           // the run settings given on the command line or in the job file
  std::optional<PublishTarget> publish;  // --publish http://HOST:PORT
  std::string token;                     // from --token-file
  std::optional<GatewayConfig> serve;    // --serve HOST:PORT: the gateway in this process
  double linger_s = 0;                   // --serve: seconds the page stays up after the job ends
  bool dry_run = false;                  // --dry-run: print the plan, run nothing
  int threads = 1;                       // --threads: threads of a run in one process
  double start_timeout_s = 300;          // --start-timeout: seconds MPI_Init may take under a launcher
  double coordinator_timeout_s = 300;    // --coordinator-timeout: a worker's wait for rank 0's word
};

// What parsing decided: run the job, or print this text and exit: help and version on stdout with 0, the
// usage (no arguments at all) on stderr with 2.
struct PrintAndExit {
  std::string text;
  int code = 0;
};
using ParseOutcome = std::variant<JobOptions, PrintAndExit>;

// Throws ConfigError with a one-line message naming the bad value and what is accepted.
ParseOutcome parse_job_options(const std::vector<std::string>& args);

// Creates the directory if needed and proves it writable; throws ConfigError otherwise.
void prepare_output_dir(const std::filesystem::path& dir);

// The run settings a resume carries over (checkpoint and progress intervals, checkpoints kept, the
// scheduler's): as JSON text for JobSpec::settings, and back, for those not in `given`.
std::string settings_text(const JobSpec& spec);
void apply_saved_settings(JobSpec& spec, const std::string& saved, const std::set<std::string>& given);

// Refuses a digit count whose peak memory exceeds what this machine has available.
void check_memory(const JobSpec& spec, int threads = 1);
// MemAvailable of /proc/meminfo, when there is one.
std::optional<std::uint64_t> available_memory();

}  // namespace pi
