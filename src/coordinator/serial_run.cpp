#include "coordinator/serial_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "coordinator/progress.hpp"
#include "series/decimal.hpp"

namespace pi {
namespace {

__extension__ using Uint128 = unsigned __int128;

constexpr std::uint64_t kSlowRangeTerms = std::uint64_t{1} << 24;
constexpr std::uint64_t kFastRanges = 64;
constexpr std::uint64_t kMaxEstimateDigits = 100;

double range_work(const Series& series, Range r) {
  return series.kind() == SeriesKind::slow ? static_cast<double>(r.size())
                                           : static_cast<double>(r.size()) * series.digits_per_term();
}

// Balanced merge of results[lo, hi): the same tree for every run of the job.
PartialResult reduce_tree(const Series& series, std::vector<PartialResult>& results, std::size_t lo,
                          std::size_t hi) {
  if (hi - lo == 1) return std::move(results[lo]);
  const std::size_t mid = lo + (hi - lo) / 2;
  PartialResult left = reduce_tree(series, results, lo, mid);
  PartialResult right = reduce_tree(series, results, mid, hi);
  return series.combine(left, right);
}

PartialResult compute_prefix(const Series& series, const std::vector<Range>& grid,
                             ProgressReporter& progress) {
  const std::uint64_t terms = grid.back().end;
  std::vector<PartialResult> results;
  results.reserve(grid.size());
  for (const Range& r : grid) {
    results.push_back(series.evaluate(r, r.end == terms));
    progress.range_done(range_work(series, r) * (series.kind() == SeriesKind::fast ? 0.5 : 1.0));
  }
  progress.set_phase("reducing");
  if (series.kind() == SeriesKind::slow) {
    PartialResult acc = std::move(results.front());
    for (std::size_t i = 1; i < results.size(); ++i) acc = series.combine(acc, results[i]);
    return acc;
  }
  PartialResult prefix = reduce_tree(series, results, 0, results.size());
  progress.add_work(static_cast<double>(terms) * series.digits_per_term() * 0.3);
  return prefix;
}

}  // namespace

std::vector<Range> make_grid(const Series& series, std::uint64_t terms) {
  std::vector<Range> grid;
  if (series.kind() == SeriesKind::slow) {
    for (std::uint64_t b = 0; b < terms; b += kSlowRangeTerms)
      grid.push_back({b, std::min(terms, b + kSlowRangeTerms)});
    return grid;
  }
  const std::uint64_t count = std::min(terms, kFastRanges);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto edge = [&](std::uint64_t j) {
      return static_cast<std::uint64_t>(static_cast<Uint128>(terms) * j / count);
    };
    grid.push_back({edge(i), edge(i + 1)});
  }
  return grid;
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

RunResult run_serial(const JobSpec& spec, std::ostream& log) {
  const auto start = std::chrono::steady_clock::now();
  const auto series = make_series(spec.series);
  RunResult result;
  result.series = std::string(series->name());
  result.digits = spec.digits;
  std::uint64_t terms = spec.terms ? *spec.terms : plan_terms(*series, *spec.digits);
  if (terms > series->max_terms()) {
    throw ConfigError("--terms " + std::to_string(terms) + ": series '" + result.series +
                      "' accepts at most " + std::to_string(series->max_terms()) + " terms");
  }

  const std::string unit = series->kind() == SeriesKind::slow ? "terms" : "digits";
  for (int attempt = 0;; ++attempt) {
    const std::vector<Range> grid = make_grid(*series, terms);
    const auto grid_size = grid.size();
    const double total =
        range_work(*series, Range{0, terms}) * (series->kind() == SeriesKind::fast ? 0.8 : 1.0);
    ProgressReporter progress(log, unit, grid_size, total,
                              std::chrono::duration<double>(spec.progress_interval_s));
    log << "[pi-job] " << result.series << ": " << terms << " terms in " << grid_size << " ranges"
        << std::endl;
    PartialResult prefix = compute_prefix(*series, grid, progress);
    progress.set_phase("final division and square root");
    const std::uint64_t bits = spec.digits ? bits_for_digits(*spec.digits + 20) + 64 : 0;
    result.estimates = series->estimate(prefix, bits);
    const Estimate& best = result.estimates.best();
    result.terms = terms;
    result.ranges = grid_size;
    if (!spec.digits) {
      const auto cap =
          series->kind() == SeriesKind::slow
              ? std::uint64_t{60}
              : static_cast<std::uint64_t>(static_cast<double>(terms) * series->digits_per_term()) + 40;
      result.correct_digits = correct_digits(best.value, best.error_bound, cap);
      break;
    }
    progress.set_phase("decimal conversion");
    result.pi_text = certified_digits(best.value, best.error_bound, *spec.digits);
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
  result.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace pi
