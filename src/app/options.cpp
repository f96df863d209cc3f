#include "app/options.hpp"

#include <H5public.h>
#include <mpi.h>

#include <cpptoml.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <type_traits>

#include "app/command_line.hpp"
#include "app/exit_codes.hpp"
#include "series/bigint.hpp"

namespace pi {
namespace {

constexpr std::uint64_t kMaxDigits = 100'000'000'000;

template <class T>
void check_range(const std::string& flag, T value, double lo, double hi, const std::string& unit) {
  const auto v = static_cast<double>(value);
  if (!(v >= lo && v <= hi)) {
    std::ostringstream msg;
    msg << flag << " '" << value << "' is not accepted: give " << lo << " to " << hi
        << (unit.empty() ? "" : " " + unit);
    throw ConfigError(msg.str());
  }
}

std::string accepted_series() {
  std::string s;
  for (const auto& n : series_names()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// Calls f(flag, field) for every run setting a resume carries over.
template <class Spec, class F>
void for_each_setting(Spec& s, F f) {
  f("--checkpoint-interval", s.checkpoint_interval_s);
  f("--progress-interval", s.progress_interval_s);
  f("--keep-checkpoints", s.keep_checkpoints);
  f("--assignment-seconds", s.scheduler.assignment_seconds);
  f("--deadline-factor", s.scheduler.deadline_factor);
  f("--min-deadline", s.scheduler.min_deadline_s);
  f("--first-deadline", s.scheduler.first_deadline_s);
  f("--max-retries", s.scheduler.max_range_failures);
  f("--max-worker-failures", s.scheduler.max_worker_failures);
  f("--duplicate-share", s.scheduler.duplicate_share);
  f("--replicas", s.scheduler.replicas);
}

// The flags a TOML job file stands for. Throws ConfigError naming the file (and the line, for a syntax
// error).
std::vector<std::string> job_file_flags(const std::string& path, const std::vector<std::string>& args,
                                        const CLI::App& app) {
  const std::string where = "--config '" + path + "'";
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || !in)
    throw ConfigError(where + " cannot be read (no such file?)");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.size() > (1 << 20)) throw ConfigError(where + " is over 1 MiB: not a job file");
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte order mark
  if (text.find('\0') != std::string::npos)
    throw ConfigError(where + " is not a text file (it holds NUL bytes)");
  std::shared_ptr<cpptoml::table> table;
  try {
    std::istringstream stream(text);
    table = cpptoml::parser(stream).parse();
  } catch (const std::exception& e) {
    std::string msg = e.what();
    for (char& c : msg)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    throw ConfigError(where + " is not valid TOML: " + msg);
  }
  const auto on_command_line = [&args](const std::string& flag) {
    return std::any_of(args.begin(), args.end(),
                       [&flag](const std::string& a) { return a == flag || a.rfind(flag + "=", 0) == 0; });
  };
  std::vector<std::string> flags;
  for (const auto& [key, value] : *table) {
    const std::string flag = "--" + key;
    const CLI::Option* option = nullptr;
    try {
      option = app.get_option(flag);
    } catch (const CLI::OptionNotFound&) {
    }
    if (!option || key == "config" || key == "help" || key == "version")
      throw ConfigError(where + ": unknown key '" + key + "' (see pi-job --help for the flags a key can be)");
    if (on_command_line(flag)) continue;
    if (auto b = value->as<bool>()) {
      if (b->get()) flags.push_back(flag);
    } else if (auto i = value->as<std::int64_t>()) {
      flags.insert(flags.end(), {flag, std::to_string(i->get())});
    } else if (auto d = value->as<double>()) {
      std::ostringstream number;
      number.precision(17);
      number << d->get();
      flags.insert(flags.end(), {flag, number.str()});
    } else if (auto str = value->as<std::string>()) {
      flags.insert(flags.end(), {flag, str->get()});
    } else {
      throw ConfigError(where + ": key '" + key + "' must be a string, a number or true/false");
    }
  }
  return flags;
}

}  // namespace

std::string settings_text(const JobSpec& spec) {
  nlohmann::json j = nlohmann::json::object();
  for_each_setting(spec, [&j](const char* flag, const auto& field) { j[flag + 2] = field; });
  return j.dump();
}

void apply_saved_settings(JobSpec& spec, const std::string& saved, const std::set<std::string>& given) {
  if (saved.empty()) return;  // a checkpoint of an older pi-job
  const nlohmann::json j = nlohmann::json::parse(saved, nullptr, false);
  if (!j.is_object()) return;
  for_each_setting(spec, [&](const char* flag, auto& field) {
    const auto it = j.find(flag + 2);
    if (given.count(flag) == 0 && it != j.end() && it->is_number())
      field = it->template get<std::remove_reference_t<decltype(field)>>();
  });
  spec.settings = settings_text(spec);
}

namespace {

// The libraries only pi-job links, for --version: HDF5 and the MPI library's own first line.
std::string job_library_versions() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  std::string text =
      "  HDF5 " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release) + "\n";
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(mpi, &length);  // allowed before MPI_Init
  std::string line(mpi, static_cast<std::size_t>(std::max(length, 0)));
  line = line.substr(0, line.find_first_of("\n,"));
  // Open MPI: "Open MPI v4.1.4"; MPICH: "MPICH Version:\t4.0.2".
  std::replace(line.begin(), line.end(), '\t', ' ');
  if (const auto v = line.find("Version: "); v != std::string::npos) line.erase(v, 9);
  line.erase(std::unique(line.begin(), line.end(), [](char a, char b) { return a == ' ' && b == ' '; }),
             line.end());
  return text + "  MPI: " + line + "\n  FLINT " + flint_library_version() + "\n";
}

const char* const kUsage =
    "usage: pi-job --series NAME (--digits N | --terms N) --out DIR [options]\n"
    "       pi-job --resume --out DIR [options]\n"
    "       pi-job --config JOB.toml [options]\n";

const char* const kExamples = R"(Examples:
  pi-job --series chudnovsky --digits 1M --out run1
      one process; run1/pi.txt holds the certified digits, run1/summary.json the figures
  mpirun -n 4 pi-job --series chudnovsky --digits 100M --out big --serve 127.0.0.1:8080 --token-file token
      rank 0 coordinates, three workers compute; the live page is at http://127.0.0.1:8080/
  mpirun -n 4 pi-job --resume --out big
      goes on from big/checkpoint.h5 after a stop, a kill or a node failure
  sbatch -n 64 --time=4:00:00 slurm/pi.sbatch --series chudnovsky --digits 1e9 --out /scratch/pi
      on Slurm: checkpoints before the walltime, requeues itself and resumes
  pi-job --config jobs/chudnovsky-1m.toml
      every option can be a key in a TOML job file

Counts accept 1000000, 1_000_000, 1,000,000, 1e6 and 1M (k, M, G, T: powers of 1000).

)";

}  // namespace

ParseOutcome parse_job_options(const std::vector<std::string>& args) {
  if (args.empty())
    return PrintAndExit{std::string(kUsage) + "Try pi-job --help for the options, examples and exit codes.\n",
                        2};
  JobOptions o;
  CLI::App app{"pi-job: computes pi from a series across MPI ranks, with a proven error bound", "pi-job"};
  set_usage(app, kUsage);
  app.footer(std::string(kExamples) + exit_code_help());
  app.set_version_flag("--version", std::string(PI_HPC_VERSION));
  const std::string job = "The job", checkpoint = "Output and checkpoints", live = "The live page",
                    scheduling = "Scheduling across ranks", checks = "Verification";
  std::string config_file;
  app.add_option("--config", config_file,
                 "TOML job file; every flag can be a key in it (flags given here win)")
      ->group(job)
      ->type_name("FILE");
  std::string series, digits, terms, out;
  double progress = 2.0;
  app.add_option("--series", series, "Series (any case): " + accepted_series())
      ->group(job)
      ->type_name("NAME");
  app.add_option("--digits", digits, "Decimal digits after the point to compute and certify")
      ->group(job)
      ->type_name("N");
  app.add_option("--terms", terms, "Terms of the series to sum (instead of --digits)")
      ->group(job)
      ->type_name("N");
  app.add_option("--out", out, "Output directory (pi.txt, summary.json, result.h5, checkpoint.h5)")
      ->required()
      ->group(checkpoint)
      ->type_name("DIR");
  app.add_flag("--dry-run", o.dry_run,
               "Print the plan (terms, ranges, ranks, memory, checkpoint size, time on this machine from a "
               "short calibration run) and exit")
      ->group(job);
  std::string resume_from;
  app.add_flag(
         "--resume", o.resume,
         "Resume the job from OUT/checkpoint.h5 (its parameters come from it), or start it when there is "
         "none yet")
      ->group(checkpoint);
  app.add_option("--resume-from", resume_from,
                 "Resume from this checkpoint file instead (e.g. checkpoint.1.h5)")
      ->group(checkpoint)
      ->type_name("FILE");
  app.add_option("--checkpoint-interval", o.spec.checkpoint_interval_s,
                 "Seconds between checkpoints (0: only when stopped and at the end)")
      ->capture_default_str()
      ->group(checkpoint)
      ->type_name("S");
  app.add_option("--keep-checkpoints", o.spec.keep_checkpoints,
                 "Checkpoints kept: checkpoint.h5 and this many minus one older ones (checkpoint.1.h5, ...)")
      ->capture_default_str()
      ->group(checkpoint)
      ->type_name("N");
  app.add_option("--progress-interval", progress, "Seconds between progress lines (0: none)")
      ->capture_default_str()
      ->group(checkpoint)
      ->type_name("S");
  std::string publish, token_file, serve;
  app.add_option("--serve", serve, "Serve the live page from this process at HOST:PORT (e.g. 127.0.0.1:8080)")
      ->group(live)
      ->type_name("HOST:PORT");
  app.add_option("--publish", publish,
                 "Publish live events to the pi-gateway at http://HOST:PORT (needs --token-file)")
      ->group(live)
      ->type_name("URL");
  app.add_option("--token-file", token_file,
                 "File holding the gateway's token (for --publish, and --serve's /publish)")
      ->group(live)
      ->type_name("FILE");
  app.add_option("--linger", o.linger_s,
                 "With --serve: seconds the page stays up after the job ends (Ctrl-C ends it)")
      ->capture_default_str()
      ->group(live)
      ->type_name("S");
  std::string verify = "on";
  app.add_option("--verify", verify,
                 "on: fingerprint every piece and check the final value against BBP hex digits; off: only "
                 "the error bound and the plausibility range (for timing runs)")
      ->capture_default_str()
      ->group(checks)
      ->type_name("on|off");
  SchedulerConfig& sc = o.spec.scheduler;
  app.add_option("--duplicate-share", sc.duplicate_share,
                 "Slow series: share of ranges computed twice by different workers and compared (0 to 1)")
      ->capture_default_str()
      ->group(checks)
      ->type_name("X");
  app.add_option("--assignment-seconds", sc.assignment_seconds,
                 "Target duration of one assignment; they shrink near the end")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("S");
  app.add_option("--deadline-factor", sc.deadline_factor,
                 "A task is reassigned after this many times its predicted duration...")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("X");
  app.add_option("--min-deadline", sc.min_deadline_s, "...but never sooner than this many seconds")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("S");
  app.add_option("--first-deadline", sc.first_deadline_s,
                 "Seconds allowed for a task before any rate has been measured")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("S");
  app.add_option("--threads", o.threads,
                 "A run in one process: threads that take tasks side by side, like worker ranks (under "
                 "mpirun give ranks instead)")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("N");
  app.add_option("--start-timeout", o.start_timeout_s,
                 "Under mpirun: seconds each rank waits in MPI_Init for the others; a rank that died while "
                 "the job started leaves the rest waiting there, and they exit with code 1 after this")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("S");
  app.add_option(
         "--coordinator-timeout", o.coordinator_timeout_s,
         "Under mpirun: a worker that hears nothing from rank 0 for this many seconds (it beats every "
         "second) takes rank 0 for lost and exits 1; the job is resumed from its checkpoint")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("S");
  app.add_option(
         "--replicas", sc.replicas,
         "Fast series under mpirun: 1 keeps a copy of each piece a worker holds while it waits, on a second "
         "worker, so that a lost worker costs a copy instead of a computation (0: none)")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("0|1");
  sc.spread_parts = 64;
  app.add_option("--spread-parts", sc.spread_parts,
                 "Fast series, 6 workers or more: the top merges' products are spread over the workers in "
                 "up to this many parts each (a power of two; 0: each product on one worker)")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("N");
  app.add_option(
         "--conversion-parts", sc.conversion_parts,
         "Fast series, 6 workers or more: the worker of the final steps splits the decimals into up to "
         "this many parts, one a worker, each conversion block reading its part "
         "instead of the whole fraction (0: every block reads the whole fraction)")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("N");
  app.add_option("--max-retries", sc.max_range_failures,
                 "A range that fails this many times stops the job (poisoned)")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("N");
  app.add_option("--max-worker-failures", sc.max_worker_failures,
                 "A worker that fails this many times gets no more work")
      ->capture_default_str()
      ->group(scheduling)
      ->type_name("N");

  if (const std::string unknown = unknown_option(app, args, "pi-job"); !unknown.empty())
    throw ConfigError(unknown);
  // The job file's keys become flags placed before the command line's; a flag given on both is the command
  // line's.
  std::vector<std::string> all;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") all = job_file_flags(args[i + 1], args, app);
    if (args[i].rfind("--config=", 0) == 0) all = job_file_flags(args[i].substr(9), args, app);
  }
  if (!args.empty() && args.back().rfind("--config=", 0) == 0)
    all = job_file_flags(args.back().substr(9), args, app);
  all.insert(all.end(), args.begin(), args.end());
  std::vector<std::string> reversed(all.rbegin(), all.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::string help = app.help();
    if (!help.empty() && help.back() != '\n') help += '\n';
    return PrintAndExit{help};
  } catch (const CLI::CallForVersion&) {
    return PrintAndExit{version_text("pi-job", job_library_versions())};
  } catch (const CLI::ParseError& e) {
    throw ConfigError(parse_error_line(app, all, e, "pi-job"));
  }

  if (!resume_from.empty()) {
    o.resume = true;
    o.resume_from = resume_from;
  }
  if (series.empty() && !o.resume)
    throw ConfigError("--series is required (accepted: " + accepted_series() + ")");
  if (!series.empty()) {
    try {
      std::string name = series;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      o.spec.series = std::string(make_series(name)->name());
    } catch (const SeriesError& e) {
      const std::string guess = nearest(series, series_names());
      if (guess.empty()) throw ConfigError(std::string("--series: ") + e.what());
      throw ConfigError("--series '" + series + "' is not known: did you mean " + guess +
                        "? (accepted: " + accepted_series() + ")");
    }
  }
  if (!digits.empty() && !terms.empty()) {
    throw ConfigError("give exactly one of --digits and --terms (got both)");
  }
  if (digits.empty() && terms.empty() && !o.resume) {
    throw ConfigError("give exactly one of --digits and --terms (got neither)");
  }
  if (!digits.empty()) o.spec.digits = parse_count("--digits", digits, kMaxDigits);
  if (!terms.empty()) o.spec.terms = parse_count("--terms", terms, std::uint64_t{1} << 52);
  if (!(progress >= 0 && progress <= 86400)) {
    throw ConfigError("--progress-interval '" + std::to_string(progress) +
                      "' is not accepted: give 0 to 86400 seconds");
  }
  o.spec.progress_interval_s = progress;
  check_range("--assignment-seconds", sc.assignment_seconds, 0.001, 3600, "seconds");
  check_range("--deadline-factor", sc.deadline_factor, 1, 1000, "");
  check_range("--min-deadline", sc.min_deadline_s, 0.01, 86400, "seconds");
  check_range("--first-deadline", sc.first_deadline_s, 0.01, 86400, "seconds");
  check_range("--max-retries", sc.max_range_failures, 1, 1000, "");
  check_range("--max-worker-failures", sc.max_worker_failures, 1, 1000, "");
  check_range("--duplicate-share", sc.duplicate_share, 0, 1, "");
  check_range("--replicas", sc.replicas, 0, 1, "");
  if (sc.spread_parts > 1024 ||
      (sc.spread_parts != 0 && (sc.spread_parts < 2 || !std::has_single_bit(sc.spread_parts))))
    throw ConfigError("--spread-parts '" + std::to_string(sc.spread_parts) +
                      "' is not accepted: give 0 or a power of two from 2 to 1024");
  if (sc.conversion_parts > 1024 || sc.conversion_parts == 1)
    throw ConfigError("--conversion-parts '" + std::to_string(sc.conversion_parts) +
                      "' is not accepted: give 0 or a number from 2 to 1024");
  check_range("--threads", o.threads, 1, 256, "");
  check_range("--start-timeout", o.start_timeout_s, 1, 86400, "seconds");
  check_range("--coordinator-timeout", o.coordinator_timeout_s, 2, 86400, "seconds");
  check_range("--checkpoint-interval", o.spec.checkpoint_interval_s, 0, 7 * 86400, "seconds");
  check_range("--keep-checkpoints", o.spec.keep_checkpoints, 1, 100, "");
  if (verify != "on" && verify != "off")
    throw ConfigError("--verify '" + verify + "' is not accepted: give on or off");
  o.spec.verify = verify == "on";
  for_each_setting(o.spec, [&](const char* flag, const auto&) {
    if (app.count(flag) > 0) o.given.insert(flag);
  });
  o.spec.settings = settings_text(o.spec);
  check_range("--linger", o.linger_s, 0, 7 * 86400, "seconds");
  try {
    if (!publish.empty()) {
      o.publish = parse_publish_url(publish);
      if (token_file.empty())
        throw ConfigError("--publish needs --token-file FILE holding the gateway's token");
    }
    if (!token_file.empty()) o.token = read_token_file(token_file);
    if (!serve.empty()) {
      GatewayConfig g;
      parse_listen("--serve", serve, g);
      if (!o.token.empty()) g.token = o.token;
      o.serve = g;
    }
  } catch (const GatewayError& e) {
    throw ConfigError(e.what());
  }
  o.out_dir = out;
  return o;
}

void prepare_output_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    throw ConfigError("--out '" + dir.string() + "' is not a directory that can be created (" +
                      (ec ? ec.message() : std::string("a file is in the way")) + ")");
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    throw ConfigError("--out '" + dir.string() + "' is not writable (" + std::strerror(errno) + ")");
  }
}

std::optional<std::uint64_t> available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

void check_memory(const JobSpec& spec, int threads) {
  if (!spec.digits) return;
  const auto series = make_series(spec.series);
  const std::uint64_t need = estimated_peak_bytes(*series, *spec.digits, threads);
  const std::optional<std::uint64_t> free_bytes = available_memory();
  if (!free_bytes) return;
  const std::uint64_t available = *free_bytes;
  if (need > available) {
    std::ostringstream msg;
    msg << "--digits " << *spec.digits << " needs about " << need / (1 << 20) << " MiB but only "
        << available / (1 << 20) << " MiB is available; ask for at most about "
        << (available > (64u << 20) ? (available - (64u << 20)) / peak_bytes_per_digit(threads) : 0)
        << " digits" << (threads > 1 ? " (or fewer --threads)" : "");
    throw ConfigError(msg.str());
  }
}

}  // namespace pi
