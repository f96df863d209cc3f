#include "coordinator/task.hpp"

#include <algorithm>
#include <future>
#include <optional>
#include <stdexcept>
#include <utility>

#include "coordinator/verification.hpp"
#include "series/bbp.hpp"
#include "series/decimal.hpp"

namespace pi {

TaskKind Task::kind() const {
  static constexpr TaskKind kinds[] = {
      TaskKind::evaluate, TaskKind::merge,    TaskKind::product, TaskKind::digits, TaskKind::final_steps,
      TaskKind::assemble, TaskKind::constant, TaskKind::load,    TaskKind::copy,   TaskKind::spread};
  return kinds[work.index()];
}

Shape shape_of(const PartialResult& r) {
  Shape shape;
  shape.reserve(r.values.size());
  for (const BigInt& v : r.values) {
    const auto bits = static_cast<std::int64_t>(mpz_sgn(raw(v)) == 0 ? 0 : mpz_sizeinbase(raw(v), 2));
    shape.push_back(mpz_sgn(raw(v)) < 0 ? -bits : bits);
  }
  return shape;
}

double shape_bits(const Shape& shape) {
  double bits = 0;
  for (const std::int64_t b : shape) bits += static_cast<double>(b < 0 ? -b : b);
  return bits;
}

PieceRef PieceRef::held_here(std::shared_ptr<const PartialResult> result) {
  PieceRef ref;
  ref.range = result->range;
  ref.shape = shape_of(*result);
  ref.data = std::move(result);
  return ref;
}

std::uint64_t slice_bits(std::uint64_t whole_bits, std::uint32_t slices) {
  return (whole_bits + slices - 1) / std::max<std::uint32_t>(1, slices);
}

BigInt product_factor(const Product& product) {
  const BigInt& whole = product.right.data->values.at(product.factor_right);
  BigInt out;
  mpz_abs(raw(out), raw(whole));
  if (product.slices > 1) {
    const std::uint64_t bits = mpz_sgn(raw(out)) == 0 ? 0 : mpz_sizeinbase(raw(out), 2);
    const std::uint64_t w = slice_bits(bits, product.slices);
    mpz_tdiv_q_2exp(raw(out), raw(out), w * product.slice);
    mpz_tdiv_r_2exp(raw(out), raw(out), w);
  }
  return out;
}

bool matches_fingerprint(const std::vector<BigInt>& values, const Residues& residues,
                         const std::vector<std::uint64_t>& primes, const std::vector<std::uint64_t>& which) {
  if (primes.empty()) return true;
  const Residues got = residues_of(values, primes);
  const std::size_t np = primes.size();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::size_t v = which.empty() ? i : which.at(i);
    if ((v + 1) * np > residues.size()) return false;
    for (std::size_t j = 0; j < np; ++j)
      if (got[i * np + j] != residues[v * np + j]) return false;
  }
  return true;
}

PartialResult outline(const Range& range, const Shape& shape) {
  PartialResult r{range, {}};
  for (const std::int64_t b : shape) r.values.emplace_back(b > 0 ? 1 : b < 0 ? -1 : 0);
  return r;
}

PartialResult outline(const PieceRef& piece) {
  // From the shape, never a copy of the values: a top merge's operands are hundreds of megabytes.
  if (piece.here() && piece.shape.size() != piece.data->values.size())
    return outline(piece.range, shape_of(*piece.data));
  return outline(piece.range, piece.shape);
}

SpreadPlan spread_plan(const Spread& spread) {
  return SpreadPlan::choose(spread.left_limbs, spread.right_limbs, spread.parts);
}

PartialResult execute_spread(const Spread& spread) {
  const SpreadPlan plan = spread_plan(spread);
  for (const PieceRef& input : spread.inputs)
    if (!input.here()) throw std::invalid_argument("execute_spread: an input is not here");
  PartialResult out{spread.range, {}};
  if (spread.phase == 0) {
    if (spread.inputs.size() != 2) throw std::invalid_argument("execute_spread: columns without two factors");
    if (spread.runs) {
      out.values = spread_columns_from_runs(plan, spread.part, spread.inputs[0].data->values.at(0),
                                            spread.inputs[1].data->values.at(0));
      return out;
    }
    const BigInt& a = spread.inputs[0].data->values.at(spread.factor_left);
    const BigInt& b = spread.inputs[1].data->values.at(spread.factor_right);
    if (mpz_size(raw(a)) != spread.left_limbs || mpz_size(raw(b)) != spread.right_limbs)
      throw std::invalid_argument("execute_spread: factors of other sizes than planned");
    out.values = spread_columns_part(plan, spread.part, raw(a), raw(b));
    return out;
  }
  std::vector<const std::vector<BigInt>*> before;
  before.reserve(spread.inputs.size());
  for (const PieceRef& input : spread.inputs) before.push_back(&input.data->values);
  if (spread.phase == 1) {
    out.values = spread_rows_part(plan, spread.part, before);
  } else if (spread.phase == 2) {
    out.values = spread_inverse_part(plan, spread.part, before);
  } else {
    throw std::invalid_argument("execute_spread: no phase " + std::to_string(spread.phase));
  }
  return out;
}

PartialResult assemble_merge(const Series& series, const Assemble& assemble,
                             const std::vector<const PartialResult*>& parts) {
  const PartialResult left = outline(assemble.left_range, assemble.left_shape);
  const PartialResult right = outline(assemble.right_range, assemble.right_shape);
  const auto products = series.merge_products(left, right);
  const std::size_t per_product = assemble.spread_parts > 0 ? assemble.spread_parts : assemble.slices;
  if (parts.size() != products.size() * per_product)
    throw std::invalid_argument("assemble_merge: " + std::to_string(parts.size()) + " parts for " +
                                std::to_string(products.size()) + " products");
  if (assemble.spread_parts > 0) {
    // Each product from its column parts' runs: |left| |right|, with the sign of both factors.
    std::vector<BigInt> whole(products.size());
    for (std::size_t p = 0; p < products.size(); ++p) {
      const std::int64_t lb = assemble.left_shape.at(products[p].first);
      const std::int64_t rb = assemble.right_shape.at(products[p].second);
      const auto limbs = [](std::int64_t bits) {
        return (static_cast<std::uint64_t>(bits < 0 ? -bits : bits) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
      };
      const SpreadPlan plan = SpreadPlan::choose(limbs(lb), limbs(rb), assemble.spread_parts);
      std::vector<const std::vector<BigInt>*> runs;
      for (std::uint32_t j = 0; j < assemble.spread_parts; ++j)
        runs.push_back(&parts[p * assemble.spread_parts + j]->values);
      assemble_spread(whole[p], plan, runs);
      if ((lb < 0) != (rb < 0)) mpz_neg(raw(whole[p]), raw(whole[p]));
    }
    return series.merge_from_products(left, right, std::move(whole));
  }
  // Each product from its slices: the sum of slice k shifted by k w, with the sign of the right factor.
  std::vector<BigInt> whole(products.size());
  for (std::size_t p = 0; p < products.size(); ++p) {
    const std::int64_t bits = assemble.right_shape.at(products[p].second);
    const std::uint64_t w = slice_bits(static_cast<std::uint64_t>(bits < 0 ? -bits : bits), assemble.slices);
    BigInt& sum = whole[p];
    if (assemble.slices == 1) {
      sum = parts[p]->values.at(0);  // the one copy: the product's own integer, which the merge takes over
    } else {
      for (std::uint32_t k = assemble.slices; k-- > 0;) {
        mpz_mul_2exp(raw(sum), raw(sum), w);
        mpz_add(raw(sum), raw(sum), raw(parts[p * assemble.slices + k]->values.at(0)));
      }
    }
    if (bits < 0) mpz_neg(raw(sum), raw(sum));
  }
  return series.merge_from_products(left, right, std::move(whole));
}

PartialResult execute_task(const Series& series, const Task& task) {
  if (const auto* assemble = std::get_if<Assemble>(&task.work)) {
    std::vector<const PartialResult*> parts;
    parts.reserve(assemble->parts.size());
    for (const PieceRef& part : assemble->parts) {
      if (!part.here() || (assemble->spread_parts == 0 && part.data->values.size() != 1))
        throw std::invalid_argument("execute_task: an assembly whose parts are not here");
      parts.push_back(part.data.get());
    }
    return assemble_merge(series, *assemble, parts);
  }
  if (const auto* spread = std::get_if<Spread>(&task.work)) return execute_spread(*spread);
  if (const auto* merge = std::get_if<Merge>(&task.work)) {
    if (!merge->left.here() || !merge->right.here())
      throw std::invalid_argument("execute_task: a merge whose operands are not here");
    return series.combine(*merge->left.data, *merge->right.data);
  }
  if (const auto* product = std::get_if<Product>(&task.work)) {
    if (!product->left.here() || !product->right.here())
      throw std::invalid_argument("execute_task: a product whose factors are not here");
    const BigInt& left = product->left.data->values.at(product->factor_left);
    BigInt p;  // into a fresh integer: a product into its own factor holds the old value and the new at once
    if (product->slices > 1) {
      multiply(p, left, product_factor(*product));
    } else {  // the whole right factor, read where it is: product_factor would copy it
      const BigInt& right = product->right.data->values.at(product->factor_right);
      multiply(p, left, right);
      if (mpz_sgn(raw(right)) < 0) mpz_neg(raw(p), raw(p));  // by |right|, as product_factor gives it
    }
    return PartialResult{Range{product->left.range.begin, product->right.range.end},
                         moved_values(std::move(p))};
  }
  const auto* evaluate = std::get_if<Evaluate>(&task.work);
  if (!evaluate) throw std::invalid_argument("execute_task: not an evaluation, merge or product");
  const Range& range = evaluate->range;
  if (evaluate->step == 0 || range.size() <= evaluate->step)
    return series.evaluate(range, evaluate->is_suffix);
  std::optional<PartialResult> acc;
  for (std::uint64_t b = range.begin; b < range.end; b += evaluate->step) {
    const Range piece{b, std::min(range.end, b + evaluate->step)};
    PartialResult r = series.evaluate(piece, evaluate->is_suffix && piece.end == range.end);
    acc = acc ? series.combine(*acc, r) : std::move(r);
  }
  return std::move(*acc);
}

TaskOutput execute_digits(const Task& task) {
  const auto* digits = std::get_if<Digits>(&task.work);
  if (!digits || !digits->fraction.here() || digits->value >= digits->fraction.data->values.size())
    throw std::invalid_argument("execute_digits: not a digits task with its fraction");
  const BigInt& value = digits->fraction.data->values[digits->value];
  TaskOutput out;
  if (digits->part) {
    // The part alone: no product of the whole fraction's size (FinalSteps::split_parts).
    DecimalPart part;
    part.y = value;
    part.err = BigInt(digits->part->err);
    part.scale_bits = digits->scale_bits;
    part.first = digits->first;
    part.count = digits->count;
    if (digits->part->integer) part.integer = BigInt(*digits->part->integer);
    if (auto text = part_decimals(part, task.check_primes, &out.residues)) {
      out.digits = std::move(*text);
    } else {
      out.residues.clear();
      out.part_refused = true;
    }
    return out;
  }
  out.digits = fraction_digits(value, digits->scale_bits, digits->first, digits->count, task.check_primes,
                               &out.residues);
  return out;
}

namespace {

// FinalSteps::split_parts: the fraction's decimals split into parts (split_decimals), each part's value put
// in `out` and where it lies in `summary`; nothing when the split is refused or a number it gives does not
// fit the summary's 64 bits (the blocks then read the whole fraction).
void split_fraction(const BigInt& fraction, std::uint64_t decimals, std::uint64_t parts,
                    const ProductFn* product, const std::vector<std::uint64_t>& primes, FinalSummary& summary,
                    TaskOutput& out) {
  if (parts > decimals || !tree_takes(summary.scale_bits, decimals)) return;
  const ProductFn own = [](BigInt& r, mpz_srcptr a, mpz_srcptr b) { multiply(r, a, b); };
  std::optional<std::vector<DecimalPart>> split =
      split_decimals(fraction, summary.scale_bits, decimals, parts, product ? *product : own, primes);
  if (!split) return;
  const auto fits = [](const BigInt& n) { return mpz_sgn(raw(n)) >= 0 && mpz_fits_ulong_p(raw(n)) != 0; };
  if (!fits(*split->front().integer)) return;  // (split_decimals gives the first part the integer part)
  for (const DecimalPart& part : *split)
    if (!fits(part.err)) return;
  summary.integer = mpz_get_ui(raw(*split->front().integer));
  for (DecimalPart& part : *split) {
    summary.parts.push_back(
        FinalSummary::Part{part.first, part.count, part.scale_bits, mpz_get_ui(raw(part.err))});
    out.result.values.push_back(std::move(part.y));
  }
}

}  // namespace

TaskOutput execute_final_steps(const Series& series, const Task& task, const ProductFn* product) {
  const auto* steps = std::get_if<FinalSteps>(&task.work);
  if (!steps || !steps->root.here())
    throw std::invalid_argument("execute_final_steps: not a final-steps task with its root");
  if (steps->constant && !steps->constant->here())
    throw std::invalid_argument("execute_final_steps: the constant is not here");
  // The constant (a square root): from the worker that computed it, else here beside the division, as the
  // coordinator does it when it has the cores.
  std::future<void> constant;
  if (steps->constant) {
    series.adopt_constant(steps->bits, *steps->constant->data);
  } else {
    constant = std::async(std::launch::async, [&series, bits = steps->bits] { series.prepare(bits); });
  }
  Estimate value = product ? series.estimate_with(*steps->root.data, steps->bits, *product).best()
                           : series.estimate(*steps->root.data, steps->bits).best();
  if (constant.valid()) constant.get();
  if (steps->damage) make_wrong(value.value);
  auto summary = std::make_shared<FinalSummary>();
  summary->head = truncated_decimal(value.value, FinalSummary::kSummaryDecimals);
  const Uint128 hex = value_hex_fraction(value.value, steps->bbp_position);
  summary->bbp_high = static_cast<std::uint64_t>(hex >> 64);
  summary->bbp_low = static_cast<std::uint64_t>(hex);
  BigInt fraction;
  const mpfr_exp_t exponent = mpfr_get_z_2exp(raw(fraction), raw(value.value));  // exactly
  summary->convertible = exponent <= 0 && mpz_sgn(raw(fraction)) >= 0;
  summary->scale_bits = summary->convertible ? static_cast<std::uint64_t>(-exponent) : 0;
  summary->estimate.value = make_real(FinalSummary::kSummaryBits);
  mpfr_set(raw(summary->estimate.value), raw(value.value), MPFR_RNDN);
  summary->estimate.error_bound = value.error_bound;
  summary->estimate.method = value.method;
  TaskOutput out;
  out.result = PartialResult{steps->root.range, {}};
  if (summary->convertible && steps->split_parts >= 2)
    split_fraction(fraction, steps->decimals, steps->split_parts, product, task.check_primes, *summary, out);
  out.result.values.insert(out.result.values.begin(), std::move(fraction));
  out.summary = std::move(summary);
  return out;
}

TaskOutput execute_constant(const Series& series, const Task& task, const ProductFn* product) {
  const auto* constant = std::get_if<Constant>(&task.work);
  if (!constant) throw std::invalid_argument("execute_constant: not a constant task");
  std::optional<PartialResult> piece =
      product ? series.constant_piece_with(constant->bits, *product) : series.constant_piece(constant->bits);
  if (!piece)
    throw std::invalid_argument("execute_constant: series '" + std::string(series.name()) +
                                "' has no constant");
  TaskOutput out;
  out.result = std::move(*piece);
  return out;
}

void seal(TaskOutput& out, const Task& task) {
  if (task.kind() != TaskKind::digits) out.residues = residues_of(out.result.values, task.check_primes);
}

std::shared_ptr<const PartialResult> keep_piece(const Series& series, const Task& task, TaskOutput& out) {
  if (!task.keep) return nullptr;
  if (const auto* block = std::get_if<Digits>(&task.work)) {
    // The fraction the block read, kept as it came (a copy later blocks may read:
    // Scheduler::fraction_source).
    if (!block->fraction.here()) return nullptr;
    out.kept = true;
    out.shape = shape_of(*block->fraction.data);
    return block->fraction.data;
  }
  Shape shape = shape_of(out.result);
  if (shape_bits(shape) < kKeepAtLeastBits) return nullptr;
  auto piece = std::make_shared<PartialResult>(std::move(out.result));
  out.result = PartialResult{piece->range, {}};
  out.kept = true;
  out.shape = std::move(shape);
  if (task.estimate_bits > 0)
    out.lead = std::make_shared<const Estimate>(series.estimate(*piece, task.estimate_bits).best());
  return piece;
}

std::shared_ptr<const PartialResult> carry_out_copy(const Task& task, TaskOutput& out) {
  const auto* copy = std::get_if<Copy>(&task.work);
  if (!copy || !copy->piece.here())
    throw std::invalid_argument("carry_out_copy: not a copy task with its piece");
  std::shared_ptr<const PartialResult> piece = copy->piece.data;
  out = TaskOutput{};
  out.result = PartialResult{piece->range, {}};
  out.residues = residues_of(piece->values, task.check_primes);
  out.kept = true;
  out.shape = shape_of(*piece);
  return piece;
}

TaskOutput execute(const Series& series, const Task& task) {
  if (task.kind() == TaskKind::digits) return execute_digits(task);
  if (task.kind() == TaskKind::final_steps) return execute_final_steps(series, task);
  if (task.kind() == TaskKind::constant) return execute_constant(series, task);
  if (task.kind() == TaskKind::load)
    throw std::invalid_argument("a piece to load is read by a worker from its file, not computed");
  if (task.kind() == TaskKind::copy)
    throw std::invalid_argument("a copy keeps its piece as it came (carry_out_copy), it computes nothing");
  TaskOutput out;
  out.result = execute_task(series, task);
  return out;
}

TaskOutput carry_out(const Series& series, const Task& task) {
  TaskOutput out = execute(series, task);
  seal(out, task);
  return out;
}

TaskOutput carry_out(const Series& series, Task&& task) {
  auto* merge = std::get_if<Merge>(&task.work);
  if (!merge || !merge->left.here() || !merge->right.here()) return carry_out(series, std::as_const(task));
  TaskOutput out;
  out.result = series.combine_releasing(std::move(merge->left.data), std::move(merge->right.data));
  seal(out, task);
  return out;
}

std::string_view task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::evaluate:
      return "evaluation";
    case TaskKind::merge:
      return "merge";
    case TaskKind::digits:
      return "digits";
    case TaskKind::product:
      return "product";
    case TaskKind::final_steps:
      return "final";
    case TaskKind::assemble:
      return "assembly";
    case TaskKind::constant:
      return "constant";
    case TaskKind::load:
      return "load";
    case TaskKind::copy:
      return "copy";
    case TaskKind::spread:
      return "spread";
  }
  return "task";
}

std::string describe(const Task& task) {
  if (const auto* steps = std::get_if<FinalSteps>(&task.work))
    return steps->constant ? "the final division" : "the final division and square root";
  if (std::holds_alternative<Constant>(task.work)) return "the square root of the final steps";
  if (const auto* copy = std::get_if<Copy>(&task.work)) {
    return "a copy of the piece of terms [" + std::to_string(copy->piece.range.begin) + ", " +
           std::to_string(copy->piece.range.end) + ")";
  }
  if (const auto* load = std::get_if<Load>(&task.work)) {
    return "the piece of terms [" + std::to_string(load->range.begin) + ", " +
           std::to_string(load->range.end) + ") in " + load->path;
  }
  if (const auto* digits = std::get_if<Digits>(&task.work)) {
    return "decimal digits " + std::to_string(digits->first + 1) + ".." +
           std::to_string(digits->first + digits->count);
  }
  const auto ranges =
      "grid ranges " + std::to_string(task.first_range) +
      (task.end_range - task.first_range > 1 ? ".." + std::to_string(task.end_range - 1) : "");
  const auto merge_of = [&ranges](const PieceRef& left, const PieceRef& right) {
    return "merge of terms [" + std::to_string(left.range.begin) + ", " + std::to_string(left.range.end) +
           ") and [" + std::to_string(right.range.begin) + ", " + std::to_string(right.range.end) + ") (" +
           ranges + ")";
  };
  if (const auto* merge = std::get_if<Merge>(&task.work)) return merge_of(merge->left, merge->right);
  if (const auto* assemble = std::get_if<Assemble>(&task.work)) {
    PieceRef left, right;
    left.range = assemble->left_range;
    right.range = assemble->right_range;
    return "assembly from " + std::to_string(assemble->parts.size()) + " products of the " +
           merge_of(left, right);
  }
  if (const auto* product = std::get_if<Product>(&task.work)) {
    return "part " + std::to_string(product->part + 1) + " of " + std::to_string(product->parts) +
           " of the " + merge_of(product->left, product->right);
  }
  if (const auto* spread = std::get_if<Spread>(&task.work)) {
    static constexpr const char* kPhases[] = {"columns", "rows", "inverse columns"};
    const std::string part = std::string(kPhases[std::min<std::uint32_t>(spread->phase, 2)]) + " part " +
                             std::to_string(spread->part + 1) + " of " + std::to_string(spread->parts) +
                             " of product " + std::to_string(spread->product + 1);
    if (spread->final_steps) return part + " of the final steps";
    return part + " of the merge of terms [" + std::to_string(spread->range.begin) + ", " +
           std::to_string(spread->range.end) + ") (" + ranges + ")";
  }
  const Range& range = task.as<Evaluate>().range;
  return "terms [" + std::to_string(range.begin) + ", " + std::to_string(range.end) + ") (" + ranges + ")";
}

}  // namespace pi
