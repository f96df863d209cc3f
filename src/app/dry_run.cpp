#include "app/dry_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "app/resume.hpp"
#include "checkpoint/checkpoint.hpp"
#include "coordinator/grid.hpp"
#include "series/bigint.hpp"
#include "series/decimal.hpp"

namespace pi {
namespace {

std::string bytes_text(double bytes) {
  std::ostringstream out;
  out.precision(3);
  if (bytes >= 1e9) {
    out << bytes / 1e9 << " GB";
  } else if (bytes >= 1e6) {
    out << bytes / 1e6 << " MB";
  } else {
    out << std::max(1.0, bytes / 1e3) << " kB";
  }
  return out.str();
}

std::string seconds_text(double s) {
  std::ostringstream out;
  out.precision(s < 10 ? 2 : 3);
  if (s < 120) {
    out << s << " s";
  } else if (s < 7200) {
    out << s / 60 << " min";
  } else {
    out << s / 3600 << " h";
  }
  return out.str();
}

// One run of the real series here, in this process: the first `terms` terms, and for a fast series the final
// division, square root and decimal conversion at the precision they give.
struct Calibration {
  std::uint64_t terms = 0;
  double series_s = 0;
  double final_s = 0;
  double piece_bytes = 0;  // the series' result, the size of what a checkpoint holds at the end
};

Calibration calibrate(const Series& series, std::uint64_t terms) {
  using Clock = std::chrono::steady_clock;
  Calibration c;
  c.terms = terms;
  const auto t0 = Clock::now();
  const PartialResult piece = series.evaluate(Range{0, terms}, true);
  c.series_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const BigInt& v : piece.values) c.piece_bytes += static_cast<double>(mpz_sizeinbase(raw(v), 256));
  if (series.kind() == SeriesKind::fast) {
    const auto digits = static_cast<std::uint64_t>(static_cast<double>(terms) * series.digits_per_term());
    const std::uint64_t bits = bits_for_digits(digits + 20) + 64;
    const auto t1 = Clock::now();
    series.prepare(bits);
    const PrefixEstimates e = series.estimate(piece, bits);
    const std::string text = truncated_decimal(e.best().value, digits);
    c.final_s = std::chrono::duration<double>(Clock::now() - t1).count();
  }
  return c;
}

// Calibrates on a growing share of the job until a run takes half a second (or is the whole job).
Calibration calibrate_for(const Series& series, std::uint64_t terms) {
  const bool fast = series.kind() == SeriesKind::fast;
  std::uint64_t n = fast ? std::max<std::uint64_t>(series.terms_for_digits(100000).value_or(1000), 64)
                         : std::uint64_t{1} << 22;
  n = std::min(n, terms);
  for (;;) {
    Calibration c = calibrate(series, n);
    if (c.series_s + c.final_s >= 0.5 || n == terms) return c;
    n = std::min(terms, n * 4);
  }
}

}  // namespace

std::string dry_run_report(const JobOptions& options, const LaunchedRanks& launched) {
  std::ostringstream out;
  JobSpec spec = options.spec;
  std::string start = "starts from the beginning";
  std::uint64_t done = 0;
  if (!options.resume_from.empty()) {
    const JobState state = read_checkpoint(options.resume_from);  // throws CheckpointError
    spec.series = state.series;
    spec.digits = state.digits;
    spec.terms = state.requested_terms;
    done = state.ranges_done;
    start = "resumes from " + options.resume_from.string();
  } else {
    std::ostringstream quiet;
    const JobPlan plan = plan_job(options, quiet);  // touches no file without --resume-from
    spec = plan.spec;
    if (plan.already_complete)
      return "pi-job --dry-run: the job in " + options.out_dir.string() +
             " is complete; a run would only report it\n";
    if (plan.resume) {
      done = plan.resume->ranges_done;
      start = "resumes from " + checkpoint_path(options.out_dir).string();
    }
  }
  const auto series = make_series(spec.series);
  const bool fast = series->kind() == SeriesKind::fast;
  const std::uint64_t terms = spec.digits ? plan_terms(*series, *spec.digits) : *spec.terms;
  const Grid grid(*series, terms);
  const std::uint64_t digits =
      spec.digits ? *spec.digits
                  : static_cast<std::uint64_t>(static_cast<double>(terms) * series->digits_per_term());

  out << "pi-job --dry-run: the plan (nothing was computed for the job or written)\n";
  out << "  job:         " << spec.series << (fast ? " (binary splitting)" : " (double-precision sums)")
      << ", ";
  if (spec.digits) {
    out << *spec.digits << " digits: " << terms << " terms";
  } else {
    out << terms << " terms";
  }
  out << " in " << grid.size() << " ranges\n";
  out << "  output:      " << options.out_dir.string() << ": the job " << start;
  if (done > 0) out << " (" << done << " of " << grid.size() << " ranges done)";
  out << "\n";
  const int workers = launched.ranks > 1 ? launched.ranks - 1 : 1;
  out << "  ranks:       " << launched.ranks;
  if (launched.ranks > 1) {
    out << " (" << launched.from << "): rank 0 coordinates, " << workers << " workers compute\n";
  } else {
    out << " (no MPI launcher): this process does everything\n";
  }
  const int threads = launched.ranks > 1 ? 1 : options.threads;
  const double peak = fast ? static_cast<double>(estimated_peak_bytes(*series, digits, threads)) : 64e6;
  out << "  memory:      about " << bytes_text(peak) << " at the peak on rank 0"
      << (fast ? " (an estimate: " + std::to_string(peak_bytes_per_digit(threads)) + " bytes a digit)"
               : std::string(" (the sums are small)"));
  if (auto available = available_memory())
    out << "; " << bytes_text(static_cast<double>(*available)) << " available here";
  out << "\n";

  const Calibration c = calibrate_for(*series, terms);
  const double n = static_cast<double>(terms), n0 = static_cast<double>(c.terms);
  // Binary splitting with fast multiplication costs about n log^2 n; a slow series' sum is linear.
  const double scale = fast ? (n / n0) * std::pow(std::log2(n) / std::log2(std::max(n0, 2.0)), 2) : n / n0;
  const double size_scale = fast ? (n * std::log2(n)) / (n0 * std::log2(std::max(n0, 2.0))) : 0;
  if (fast) {
    out << "  checkpoint:  about " << bytes_text(c.piece_bytes * size_scale)
        << " once the series is done (the pieces; scaled from the calibration's)\n";
  } else {
    out << "  checkpoint:  under 1 MB (one sum a range)\n";
  }
  const double remaining =
      1.0 - static_cast<double>(done) / static_cast<double>(std::max<std::uint64_t>(grid.size(), 1));
  const double series_s = c.series_s * scale * remaining, final_s = c.final_s * scale;
  out << "  time here:   about " << seconds_text(series_s + final_s) << " in one process";
  if (fast) out << " (series " << seconds_text(series_s) << ", final steps " << seconds_text(final_s) << ")";
  out << "\n";
  if (launched.ranks > 1) {
    out << "               with " << workers << " workers: about "
        << seconds_text(series_s / workers + final_s) << " at best (the series shared evenly"
        << (fast ? "; the final steps on one rank" : "") << ")\n";
  }
  out << "               (rough: a calibration run of the first " << c.terms << " terms took "
      << seconds_text(c.series_s + c.final_s) << " here, scaled by " << (fast ? "n log^2 n" : "n") << ")\n";
  return out.str();
}

}  // namespace pi
