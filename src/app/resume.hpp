// What pi-job does with its output directory: start a new job, resume one from its checkpoint, or report
// one already complete. A good checkpoint is never overwritten by a new job, and a flag that disagrees with
// the checkpoint is refused rather than silently ignored.
#pragma once

#include <optional>
#include <ostream>

#include "app/options.hpp"
#include "checkpoint/checkpoint.hpp"

namespace pi {

struct JobPlan {
  JobSpec spec;                    // the job's parameters, from the checkpoint when resuming
  std::optional<JobState> resume;  // the state to start from
  bool already_complete = false;
};

// Throws ConfigError (exit 2) for a user's mistake: a flag that disagrees with the checkpoint, a new job
// over an existing checkpoint, nothing to resume. Throws CheckpointError (exit 4) for a checkpoint that
// fails validation, naming the previous checkpoint when that one is good. Touches no file, except that
// resuming with --resume-from sets a rejected OUT/checkpoint.h5 aside as checkpoint.h5.rejected, so that
// the rotation of new checkpoints never keeps it in place of a good one.
// `values`: what becomes of the integers of pieces in files of their own, once checked (read_checkpoint).
JobPlan plan_job(const JobOptions& options, std::ostream& log, PieceValues values = PieceValues::keep);

}  // namespace pi
