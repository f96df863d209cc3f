#include "coordinator/task.hpp"

#include <algorithm>

namespace pi {

PartialResult execute_task(const Series& series, const Task& task) {
  if (task.kind == TaskKind::merge) return series.combine(*task.left, *task.right);
  if (task.step == 0 || task.range.size() <= task.step) return series.evaluate(task.range, task.is_suffix);
  std::optional<PartialResult> acc;
  for (std::uint64_t b = task.range.begin; b < task.range.end; b += task.step) {
    const Range piece{b, std::min(task.range.end, b + task.step)};
    PartialResult r = series.evaluate(piece, task.is_suffix && piece.end == task.range.end);
    acc = acc ? series.combine(*acc, r) : std::move(r);
  }
  return std::move(*acc);
}

std::string describe(const Task& task) {
  const auto leaves = "grid ranges " + std::to_string(task.first_leaf) +
                      (task.last_leaf - task.first_leaf > 1 ? ".." + std::to_string(task.last_leaf - 1) : "");
  if (task.kind == TaskKind::merge) {
    return "merge of terms [" + std::to_string(task.left->range.begin) + ", " +
           std::to_string(task.left->range.end) + ") and [" + std::to_string(task.right->range.begin) + ", " +
           std::to_string(task.right->range.end) + ") (" + leaves + ")";
  }
  return "terms [" + std::to_string(task.range.begin) + ", " + std::to_string(task.range.end) + ") (" +
         leaves + ")";
}

}  // namespace pi
