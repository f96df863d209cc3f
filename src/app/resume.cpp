#include "app/resume.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "coordinator/grid.hpp"
#include "coordinator/task.hpp"

namespace pi {
namespace {

constexpr int kMaxGenerations = 100;

// Something is there under that name (a file, a directory, a fifo, a dangling or looping link): never a
// throwing exists(), which turns a symlink loop into a raw filesystem error.
bool present(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(p, ec));
}

std::string describe_mode(const std::optional<std::uint64_t>& digits,
                          const std::optional<std::uint64_t>& terms) {
  return digits ? "--digits " + std::to_string(*digits) : "--terms " + std::to_string(terms.value_or(0));
}

std::string job_of(const JobState& s) {
  return "--series " + s.series + " " + describe_mode(s.digits, s.requested_terms);
}

// Flags given with --resume must agree with the checkpoint; the others come from it.
void check_agreement(const JobSpec& given, const JobState& saved, const std::filesystem::path& file) {
  const std::string where = " disagrees with the checkpoint " + file.string() + ", which is for ";
  if (!given.series.empty() && given.series != saved.series) {
    throw ConfigError("--series " + given.series + where + "--series " + saved.series);
  }
  const bool given_mode = given.digits || given.terms;
  if (given_mode && (given.digits != saved.digits || given.terms != saved.requested_terms)) {
    throw ConfigError(describe_mode(given.digits, given.terms) + where +
                      describe_mode(saved.digits, saved.requested_terms));
  }
}

std::string progress_of(const JobState& s) {
  return std::to_string(s.ranges_done) + "/" + std::to_string(s.grid_ranges) + " ranges";
}

// The error for a checkpoint that failed validation, pointing at the newest older one that is good.
CheckpointError rejected(const CheckpointError& e, const std::filesystem::path& dir) {
  std::string msg = std::string(e.what()) + "; nothing was changed.";
  for (int k = 1; k <= kMaxGenerations; ++k) {
    const auto older = checkpoint_path(dir, k);
    if (!present(older)) break;
    try {
      const JobState s = read_checkpoint(older);
      return CheckpointError(msg + " The previous checkpoint " + older.string() + " (" + progress_of(s) +
                             ") is valid: resume from it with --resume-from " + older.string());
    } catch (const CheckpointError&) {
      continue;
    }
  }
  return CheckpointError(msg + " No valid older checkpoint was found.");
}

// Slow series: recomputes a sample of the checkpoint's ledger (1%, at least one result) and compares it bit
// for bit: a sum damaged consistently (ledger and piece alike) is refused.
void sample_ledger(const JobState& state, const std::filesystem::path& file, std::ostream& log) {
  if (state.ledger.empty()) return;
  const auto series = make_series(state.series);
  const Grid grid(*series, state.terms);
  std::vector<std::size_t> order(state.ledger.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(std::random_device{}()));
  const std::size_t k = std::max<std::size_t>(1, (order.size() + 99) / 100);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < k; ++i) {
    const FinishedPiece& e = state.ledger[order[i]];
    Task t;
    t.first_range = e.first_range;
    t.end_range = e.end_range;
    t.work = Evaluate{grid.span(e.first_range, e.end_range), grid.step(), e.end_range == grid.size()};
    if (execute_task(*series, t).values != e.result->values) {
      throw CheckpointError(file.string() + ": the saved sum of " + describe(t) +
                            " differs from the same terms summed again (the file was altered or damaged); "
                            "nothing was changed");
    }
  }
  log << "[pi-job] summed " << k << " of the checkpoint's " << state.ledger.size()
      << " saved results again: they agree ("
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s)" << std::endl;
}

}  // namespace

JobPlan plan_job(const JobOptions& o, std::ostream& log, PieceValues values) {
  JobPlan plan;
  plan.spec = o.spec;
  const std::filesystem::path newest = checkpoint_path(o.out_dir);
  const std::filesystem::path file = o.resume_from.empty() ? newest : o.resume_from;
  if (!o.resume) {
    if (present(newest) || present(checkpoint_path(o.out_dir, 1))) {
      throw ConfigError("--out " + o.out_dir.string() +
                        " holds the checkpoint of a job; resume it with --resume, or give another --out");
    }
    return plan;
  }
  if (!present(file)) {
    if (!o.resume_from.empty()) throw ConfigError("--resume-from " + file.string() + ": no such file");
    if (present(checkpoint_path(o.out_dir, 1))) {
      throw rejected(CheckpointError(file.string() + " is missing but older checkpoints exist"), o.out_dir);
    }
    if (o.spec.series.empty() || (!o.spec.digits && !o.spec.terms)) {
      throw ConfigError(
          "--resume: " + o.out_dir.string() +
          " holds no checkpoint.h5, and without --series and --digits or --terms there is no job "
          "to start");
    }
    log << "[pi-job] no checkpoint in " << o.out_dir.string() << ": the job starts from the beginning"
        << std::endl;
    return plan;
  }
  JobState state;
  try {
    state = read_checkpoint(file, values);
  } catch (const CheckpointError& e) {
    if (o.resume_from.empty()) throw rejected(e, o.out_dir);
    throw CheckpointError(std::string(e.what()) + "; nothing was changed");
  }
  check_agreement(o.spec, state, file);
  apply_saved_settings(plan.spec, state.settings, o.given);
  plan.spec.series = state.series;
  plan.spec.digits = state.digits;
  plan.spec.terms = state.requested_terms;
  std::error_code same_ec;
  if (!o.resume_from.empty() && present(newest) && !std::filesystem::equivalent(file, newest, same_ec)) {
    bool newest_good = true;
    try {
      const JobState there = read_checkpoint(newest);
      if (job_of(there) != job_of(state)) {
        throw ConfigError("--resume-from " + file.string() + " is a checkpoint of another job (" +
                          job_of(state) + ") than the one in " + o.out_dir.string() + " (" + job_of(there) +
                          "): refused, so that its checkpoint is not overwritten; give another --out");
      }
    } catch (const CheckpointError&) {
      newest_good = false;
    }
    if (!newest_good) {
      const auto aside = newest.string() + ".rejected";
      std::filesystem::rename(newest, aside);
      log << "[pi-job] " << newest.string() << " fails validation: kept as " << aside << std::endl;
    }
  }
  if (state.complete) {
    plan.already_complete = true;
    plan.resume = std::move(state);  // the finished series, should the outputs have to be made again
    return plan;
  }
  sample_ledger(state, file, log);
  log << "[pi-job] resuming " << state.series << " from " << file.string() << " (" << progress_of(state)
      << ", " << state.checkpoints << " checkpoints, " << state.resumes << " resumes before)" << std::endl;
  plan.resume = std::move(state);
  return plan;
}

}  // namespace pi
