#include "coordinator/task.hpp"

#include <algorithm>
#include <stdexcept>

#include "series/decimal.hpp"

namespace pi {

std::uint64_t slice_bits(const BigInt& whole, std::uint32_t slices) {
  const std::uint64_t bits = mpz_sgn(raw(whole)) == 0 ? 0 : mpz_sizeinbase(raw(whole), 2);
  return (bits + slices - 1) / std::max<std::uint32_t>(1, slices);
}

BigInt product_factor(const Task& task) {
  const BigInt& whole = task.right->values.at(task.factor_right);
  BigInt out;
  mpz_abs(raw(out), raw(whole));
  if (task.slices > 1) {
    const std::uint64_t w = slice_bits(whole, task.slices);
    mpz_tdiv_q_2exp(raw(out), raw(out), w * task.slice);
    mpz_tdiv_r_2exp(raw(out), raw(out), w);
  }
  return out;
}

PartialResult execute_task(const Series& series, const Task& task) {
  if (task.kind == TaskKind::merge) return series.combine(*task.left, *task.right);
  if (task.kind == TaskKind::product) {
    BigInt p = product_factor(task);
    mpz_mul(raw(p), raw(task.left->values.at(task.factor_left)), raw(p));
    return PartialResult{Range{task.left->range.begin, task.right->range.end}, {std::move(p)}};
  }
  if (task.kind == TaskKind::digits) throw std::invalid_argument("execute_task: a digits task");
  if (task.step == 0 || task.range.size() <= task.step) return series.evaluate(task.range, task.is_suffix);
  std::optional<PartialResult> acc;
  for (std::uint64_t b = task.range.begin; b < task.range.end; b += task.step) {
    const Range piece{b, std::min(task.range.end, b + task.step)};
    PartialResult r = series.evaluate(piece, task.is_suffix && piece.end == task.range.end);
    acc = acc ? series.combine(*acc, r) : std::move(r);
  }
  return std::move(*acc);
}

TaskOutput execute_digits(const Task& task) {
  if (task.kind != TaskKind::digits || !task.left || task.left->values.size() != 1)
    throw std::invalid_argument("execute_digits: not a digits task");
  TaskOutput out;
  out.digits = fraction_digits(task.left->values[0], task.scale_bits, task.digits_first, task.digits_count,
                               task.check_primes, &out.residues);
  return out;
}

void seal(TaskOutput& out, const Task& task) {
  if (task.kind != TaskKind::digits) out.residues = residues_of(out.result.values, task.check_primes);
}

TaskOutput carry_out(const Series& series, const Task& task) {
  if (task.kind == TaskKind::digits) return execute_digits(task);
  TaskOutput out;
  out.result = execute_task(series, task);
  seal(out, task);
  return out;
}

std::string describe(const Task& task) {
  if (task.kind == TaskKind::digits) {
    return "decimal digits " + std::to_string(task.digits_first + 1) + ".." +
           std::to_string(task.digits_first + task.digits_count);
  }
  const auto ranges =
      "grid ranges " + std::to_string(task.first_range) +
      (task.end_range - task.first_range > 1 ? ".." + std::to_string(task.end_range - 1) : "");
  if (task.kind == TaskKind::merge || task.kind == TaskKind::product) {
    const std::string part =
        task.kind == TaskKind::product
            ? "part " + std::to_string(task.part + 1) + " of " + std::to_string(task.parts) + " of the "
            : "";
    return part + "merge of terms [" + std::to_string(task.left->range.begin) + ", " +
           std::to_string(task.left->range.end) + ") and [" + std::to_string(task.right->range.begin) + ", " +
           std::to_string(task.right->range.end) + ") (" + ranges + ")";
  }
  return "terms [" + std::to_string(task.range.begin) + ", " + std::to_string(task.range.end) + ") (" +
         ranges + ")";
}

}  // namespace pi
