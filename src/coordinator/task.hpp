// Units of work the coordinator hands out, and how a worker carries them out. A task is either the
// evaluation of a run of grid ranges or the merge of two adjacent partial results; both are pure functions
// of the task, so any worker, or a retry on another one, gives the same integers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "series/series.hpp"

namespace pi {

enum class TaskKind : std::uint8_t { evaluate = 1, merge = 2 };

struct Task {
  std::uint64_t id = 0;
  TaskKind kind = TaskKind::evaluate;
  // evaluate: the terms, cut into grid ranges of `step` terms each (0: one piece), and whether it ends the
  // job.
  Range range;
  std::uint64_t step = 0;
  bool is_suffix = false;
  // The grid ranges [first_leaf, last_leaf) the task covers; evaluate and merge alike.
  std::uint64_t first_leaf = 0;
  std::uint64_t last_leaf = 0;
  // Seconds the coordinator allows before it hands the task to another worker.
  double allowed_s = 0;
  // merge: the operands, shared with the coordinator's bookkeeping until the merge is done.
  std::shared_ptr<const PartialResult> left;
  std::shared_ptr<const PartialResult> right;
};

// Carries out a task. Slow series sum each grid range on its own (their compensated sums depend on the
// range's ends) and add the fixed-point results exactly; fast series evaluate the whole run at once, which
// gives the same integers as evaluating the pieces and merging them.
PartialResult execute_task(const Series& series, const Task& task);

// "terms [a, b) (grid ranges i..j)" or "merge of terms [a, m) and [m, b)", for logs and errors.
std::string describe(const Task& task);

}  // namespace pi
