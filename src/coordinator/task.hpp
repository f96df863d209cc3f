// Units of work the coordinator hands out, and how a worker carries them out. A task is the evaluation of a
// run of grid ranges, the merge of two adjacent partial results, one product of a merge too big for one
// worker (SchedulerConfig::split_merge_bits), or, once the series is done, a block of
// the decimal digits of the result; all are pure functions of the task, so any worker, or a retry on another
// one, gives the same integers and digits.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "series/fingerprint.hpp"
#include "series/series.hpp"
#include "series/spread_product.hpp"

namespace pi {

enum class TaskKind : std::uint8_t {
  evaluate = 1,
  merge = 2,
  digits = 3,
  product = 4,
  final_steps = 5,
  assemble = 6,
  constant = 7,
  load = 8,
  copy = 9,
  spread = 10
};

// The sizes of a piece's values in bits, negative for a negative value (0: the value is zero): what the
// coordinator needs of a piece a worker holds to plan with it (costs, splits, slices) without its integers.
using Shape = std::vector<std::int64_t>;
Shape shape_of(const PartialResult& r);
double shape_bits(const Shape& shape);  // the values' bits together

// A finished piece as the coordinator knows it: its integers when this process holds them (`data`), or
// where they are: with worker `owner`, under the id of the task that made them (`key`), checked against its
// fingerprint when it was made (`residues`, modulo the job's primes). Pieces of fast series stay with the
// worker that computed them (Scheduler::hold_on_workers), and travel only to where a task needs them.
struct PieceRef {
  Range range;
  std::shared_ptr<const PartialResult> data;
  int owner = -1;  // worker index; -1 with data; kLent: lent to this process's own merge (lend_operands)
  std::uint64_t key = 0;
  Shape shape;
  Residues residues;
  // A piece of the terms from 0 held by a worker: its estimate of pi at the live precision, made by the
  // worker (Task::estimate_bits), so that the live page needs no integer from it.
  std::shared_ptr<const Estimate> lead;

  bool here() const { return data != nullptr; }
  static PieceRef held_here(std::shared_ptr<const PartialResult> result);
  static constexpr int kLent = -2;
};

// What each kind of task carries: one struct per kind (Task::work), so that no field means one thing for
// one kind and another for the next.
//
// The terms `range`, cut into grid ranges of `step` terms each (0: one piece), and whether they end the job.
struct Evaluate {
  Range range;
  std::uint64_t step = 0;
  bool is_suffix = false;
};
// Two adjacent finished pieces, shared with the coordinator's bookkeeping until the merge is done. A worker
// fetches those another worker holds from it.
struct Merge {
  PieceRef left;
  PieceRef right;
};
// One product of merge `merge` (a task id) that is carried out as parts (SchedulerConfig::split_merge_bits):
// left->values[factor_left] times slice `slice` of `slices` of |right->values[factor_right]|
// (product_factor); part `part` of `parts`.
struct Product {
  PieceRef left;
  PieceRef right;
  std::uint64_t merge = 0;
  std::uint32_t part = 0;
  std::uint32_t parts = 0;
  std::uint32_t factor_left = 0;
  std::uint32_t factor_right = 0;
  std::uint32_t slice = 0;
  std::uint32_t slices = 1;
};
// One part of one phase of a product of split merge `merge` (a task id) made as a spread product
// (series/spread_product.hpp, SchedulerConfig::spread_parts): product `product` of the merge's products
// (Series::merge_products), |left->values[factor_left]| times |right->values[factor_right]|, of
// `left_limbs` and `right_limbs` limbs (SpreadPlan::choose's sizes, so every part plans alike). Phase 0
// (columns) reads the two factors, `inputs` = {left, right}; phase 1 (rows) every phase 0 part's output and
// phase 2 (inverse columns) every phase 1 part's, `inputs` by part. Part `part` of `parts`; the output is
// the values spread_columns_part, spread_rows_part or spread_inverse_part give. `runs`: phase 0's inputs
// are not the factors but their column runs for this part (column_runs_integer, one value each): what an MPI
// worker fetches of factors held elsewhere. `final_steps`: a product of final steps `merge` (a task id), its
// product `product` (Scheduler::product_wanted), of the value of two one-value pieces.
struct Spread {
  std::uint64_t merge = 0;
  std::uint32_t product = 0;
  std::uint32_t phase = 0;
  std::uint32_t part = 0;
  std::uint32_t parts = 0;
  std::uint32_t factor_left = 0;
  std::uint32_t factor_right = 0;
  std::uint64_t left_limbs = 0;
  std::uint64_t right_limbs = 0;
  Range range;  // the merge's terms
  std::vector<PieceRef> inputs;
  bool runs = false;
  bool final_steps = false;
};
// Merge `merge` (a task id) put together from its parts, Product tasks whose results their workers kept
// (or sent, when small): each product is the sum of its slices (part p slices + k is slice k of product
// p, shifted by k times the slice width, with the sign of its right factor), and the merge follows from the
// products and its operands' outlines (Series::merge_from_products). The operands themselves are not
// needed, only their ranges and shapes. With `spread_parts` > 0 the products were spread products: part
// p spread_parts + j is the phase 2 output of column part j of product p (its runs), and `slices` is 1.
struct Assemble {
  std::uint64_t merge = 0;
  Range left_range;
  Shape left_shape;
  Range right_range;
  Shape right_shape;
  std::uint32_t slices = 1;
  std::vector<PieceRef> parts;
  std::uint32_t spread_parts = 0;
};

// The decimals [first, first + count) after the point of fraction.values[0] / 2^scale_bits
// (fraction_digits): a one-value piece, here or on a worker (FinalSteps keeps it where it was made).
//
// `part`: a part of the final steps' split (FinalSummary::parts): the block reads only value `value` of the
// final piece, an enclosure [y, y + err] / 2^scale_bits of frac(x 10^first) (part_decimals), with x's integer
// part before its decimals for the first part. A part its enclosure cannot decide is refused
// (TaskOutput::part_refused) and converted from the whole fraction instead. Without `part`, the block reads
// the whole piece and converts value 0, the fraction (`value` is 0).
struct PartEnclosure {
  std::uint64_t err = 0;
  std::optional<std::uint64_t> integer;
};
struct Digits {
  PieceRef fraction;
  std::uint64_t scale_bits = 0;
  std::uint64_t first = 0;
  std::uint64_t count = 0;
  std::optional<PartEnclosure> part;
  std::uint32_t value = 0;
};

// The final division and square root of the series' result `root` (the whole grid) at `bits` bits, on the
// worker that holds it: the worker keeps the binary fraction of the value for the conversion blocks and
// returns a FinalSummary. `bbp_position` > 0: the summary carries the value's hexadecimal digits there
// (FinalVerification compares them with BBP's). `damage`: tests (PI_FAULT corrupt:0:final), the value is
// made wrong from its 64th bit on, as a failing division would leave it.
// `constant`: the series' constant at `bits` (Series::constant_piece), when a worker computed it during the
// series (Constant); without it the worker computes it itself, beside the division.
struct FinalSteps {
  PieceRef root;
  std::uint64_t bits = 0;
  std::uint64_t bbp_position = 0;
  bool damage = false;
  std::optional<PieceRef> constant;
  // > 0: the division's and the constant's products whose smaller factor has this many bits or more are
  // spread over the other workers (Scheduler::product_wanted); the rest are the worker's own.
  std::uint64_t spread_bits = 0;
  // >= 2: the fraction's decimals [0, decimals) are also split into this many parts by the
  // conversion tree's top levels (split_decimals, its products through the same product function), kept
  // with the fraction as the piece's values 1..split_parts, so that each conversion block reads its part
  // instead of the whole fraction and multiplies nothing of the fraction's size (FinalSummary::parts).
  std::uint64_t decimals = 0;
  std::uint64_t split_parts = 0;
};

// The constant of the final steps at `bits` bits (Series::constant_piece: the square root), computed by a
// worker that has nothing else to do near the end of the series; it keeps the piece for the final steps.
struct Constant {
  std::uint64_t bits = 0;
  // > 0: the square root's products whose smaller factor has this many bits or more are spread over the
  // other workers, as the final steps' (FinalSteps::spread_bits).
  std::uint64_t spread_bits = 0;
};

// A piece of a resumed job that its worker wrote to a file of its own for a checkpoint (PieceCapture): a
// worker reads it from `path` and keeps it, so that a resume on any number of ranks spreads the pieces
// over the workers instead of rank 0 holding them all. The file must have `bytes` bytes and CRC-32 `crc32`
// (as the checkpoint names it), and hold `values` values of the terms `range`; `is_suffix`: the terms end
// the job (the fingerprint depends on it).
struct Load {
  std::string path;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
  Range range;
  std::uint64_t values = 0;
  bool is_suffix = false;
};

// A second copy of a piece another worker holds (SchedulerConfig::replicas, SCR's partner copies): a worker
// fetches `piece` from its owner, checks it against its fingerprint as it does every operand, and keeps it
// under this task's id, so that losing the owner costs the coordinator a change of address instead of a
// computation.
struct Copy {
  PieceRef piece;
};

// What the coordinator needs of the final value when a worker holds it: the estimate at a few hundred bits
// (its bound and method exact), the first kSummaryDecimals decimals of the whole value (truncated), how to
// read the fraction, and the hexadecimal digits BBP checks.
struct FinalSummary {
  static constexpr std::uint64_t kSummaryBits = 1024;
  static constexpr std::uint64_t kSummaryDecimals = 100;
  Estimate estimate;
  std::string head;              // truncated_decimal(value, kSummaryDecimals)
  std::uint64_t scale_bits = 0;  // value = fraction / 2^scale_bits
  bool convertible = false;      // value >= 0 with no integer bits past the fraction's (as convert needs)
  std::uint64_t bbp_high = 0;    // the value's 32 hexadecimal digits after position FinalSteps::bbp_position
  std::uint64_t bbp_low = 0;
  // FinalSteps::split_parts: where the split cut the decimals, part k being the piece's value 1 + k (empty:
  // no split, when none was asked, or an enclosure straddled a decimal boundary, or an integer here does
  // not fit 64 bits; the blocks then read the whole fraction).
  struct Part {
    std::uint64_t first = 0, count = 0, scale_bits = 0, err = 0;
  };
  std::vector<Part> parts;
  std::uint64_t integer = 0;  // the value's integer part, written before the first part's decimals
  Uint128 bbp() const { return (static_cast<Uint128>(bbp_high) << 64) | bbp_low; }
};

struct Task {
  std::uint64_t id = 0;
  // The grid ranges [first_range, end_range) the task covers (evaluations, merges and their products).
  std::uint64_t first_range = 0;
  std::uint64_t end_range = 0;
  // Seconds the coordinator allows before it hands the task to another worker.
  double allowed_s = 0;
  // The primes of the job's fingerprints (empty: unchecked): the worker reports the residues of what it
  // computed modulo each (TaskOutput::residues).
  std::vector<std::uint64_t> check_primes;
  // Evaluations and merges: the worker keeps the piece and returns its shape and residues only
  // (TaskOutput::kept); with estimate_bits > 0 (a piece of the terms from 0) also its estimate of pi at that
  // precision (TaskOutput::lead). Conversion blocks: the worker keeps the fraction it read, for later blocks
  // to read from it.
  bool keep = false;
  std::uint64_t estimate_bits = 0;
  std::variant<Evaluate, Merge, Product, Digits, FinalSteps, Assemble, Constant, Load, Copy, Spread> work;

  TaskKind kind() const;
  template <class Work>
  const Work& as() const {
    return std::get<Work>(work);
  }
  template <class Work>
  Work& as() {
    return std::get<Work>(work);
  }
};

// Calls f(piece, index) for each operand the task reads, in the order it names them: `index` points at the
// value a product reads of that operand (Product::factor_left or factor_right), and is nullptr for the other
// kinds, which read whole pieces. Stops at the first call that returns false; returns whether none did.
template <class F>
bool for_each_operand(Task& task, F&& f) {
  if (auto* merge = std::get_if<Merge>(&task.work))
    return f(merge->left, nullptr) && f(merge->right, nullptr);
  if (auto* product = std::get_if<Product>(&task.work))
    return f(product->left, &product->factor_left) && f(product->right, &product->factor_right);
  if (auto* digits = std::get_if<Digits>(&task.work))
    return f(digits->fraction, digits->part ? &digits->value : nullptr);
  if (auto* steps = std::get_if<FinalSteps>(&task.work))
    return f(steps->root, nullptr) && (!steps->constant || f(*steps->constant, nullptr));
  if (auto* assemble = std::get_if<Assemble>(&task.work)) {
    for (PieceRef& part : assemble->parts)
      if (!f(part, nullptr)) return false;
    return true;
  }
  if (auto* copy = std::get_if<Copy>(&task.work)) return f(copy->piece, nullptr);
  if (auto* spread = std::get_if<Spread>(&task.work)) {
    for (PieceRef& input : spread->inputs)
      if (!f(input, nullptr)) return false;
    return true;
  }
  return true;  // evaluations, constants and loads read no piece
}

// Whether `values` are those a piece's fingerprint (`residues`, modulo `primes`) describes: value i is the
// piece's value which[i] (all of them in order when `which` is empty). True without primes.
bool matches_fingerprint(const std::vector<BigInt>& values, const Residues& residues,
                         const std::vector<std::uint64_t>& primes,
                         const std::vector<std::uint64_t>& which = {});

// A worker keeps a piece (Task::keep) of at least this many bits; a smaller one travels to the coordinator,
// which merges such pieces on the spot.
inline constexpr double kKeepAtLeastBits = 1 << 16;

// What a worker returns for a task: the partial result (evaluate, merge, product) or the text (digits), and
// the residues modulo task.check_primes of the integers it computed: the values of the result, or for
// digits the integer the text spells, taken before its conversion to decimal.
struct TaskOutput {
  PartialResult result;
  std::string digits;
  Residues residues;
  // Task::keep: the worker holds the piece; `result` has its range and no values, `shape` their sizes.
  bool kept = false;
  Shape shape;
  std::shared_ptr<const Estimate> lead;
  std::shared_ptr<const FinalSummary> summary;  // final steps
  // A conversion block of a part (Digits::part) whose enclosure straddles a decimal boundary: no digits; the
  // coordinator has the block converted from the whole fraction.
  bool part_refused = false;
};

// Carries out a task (its operands here: a worker fetches those others hold first). Slow series sum each grid
// range on its own (their compensated sums depend on the range's ends) and add the fixed-point results
// exactly; fast series evaluate the whole run at once, which gives the same integers as evaluating the pieces
// and merging them.
PartialResult execute_task(const Series& series, const Task& task);
// The right factor of a product: its slice of |right->values[factor_right]|, the bits [slice w, (slice + 1)
// w) with w = slice_bits(...).
BigInt product_factor(const Product& product);
std::uint64_t slice_bits(std::uint64_t whole_bits, std::uint32_t slices);
// A piece's values as far as their signs and zeros go (what merge_products and merge_from_products read of
// the operands), from their shapes.
PartialResult outline(const PieceRef& piece);
PartialResult outline(const Range& range, const Shape& shape);
// The merge of the operands outlined by (left_range, left_shape) and (right_range, right_shape) from its
// products, cut into `slices` slices each (Assemble).
// The parts are read where they are: a copy of each would hold the root merge's products twice (at 1e8
// digits of chudnovsky, 312 MB more on the assembling worker).
// parts[i]: part i's piece (a product's slice: its one value; a spread product's part: its runs).
PartialResult assemble_merge(const Series& series, const Assemble& assemble,
                             const std::vector<const PartialResult*>& parts);
// The plan every part of a spread product's phases follows.
SpreadPlan spread_plan(const Spread& spread);
// Carries out a part of a spread product's phase whose inputs are here: its output's values.
PartialResult execute_spread(const Spread& spread);
// Carries out a digits task: its block of decimals, and the residues of the integer they spell.
TaskOutput execute_digits(const Task& task);
// Carries out a constant task: `result` is the constant's piece (its products through `product`, when
// given: Series::constant_piece_with).
TaskOutput execute_constant(const Series& series, const Task& task, const ProductFn* product = nullptr);
// Carries out a final-steps task: `result` is the one-value piece of the fraction, with its summary.
// `product`: the division's and the constant's products are made through it (Series::estimate_with; an MPI
// worker spreads the large ones over the others), the same fraction either way.
TaskOutput execute_final_steps(const Series& series, const Task& task, const ProductFn* product = nullptr);
// Carries out a copy task whose piece is here (fetched): the piece itself, kept as it came (no second copy of
// its integers); `out` says so, as keep_piece would (kept, the range, shape and residues modulo the task's
// primes).
std::shared_ptr<const PartialResult> carry_out_copy(const Task& task, TaskOutput& out);
// Carries out any task but a load (its worker reads the file: PieceReader) or a copy (carry_out_copy):
// execute_task, execute_digits, execute_constant or execute_final_steps, before seal (a digits block's
// residues are taken with its text).
TaskOutput execute(const Series& series, const Task& task);
// The same with the residues of the result (seal).
TaskOutput carry_out(const Series& series, const Task& task);
// The same taking the task: a merge gives its operands to Series::combine_releasing, which frees their
// integers as it goes when the task held the only references (Scheduler::lend_operands).
TaskOutput carry_out(const Series& series, Task&& task);
// Sets the residues of an evaluate, merge or product output from its values (digits: nothing to do).
void seal(TaskOutput& out, const Task& task);
// A worker's side of Task::keep, after seal: when the task asks it and the piece has kKeepAtLeastBits or
// more, moves the piece out of `out` (which keeps its range, and gets its shape, and with
// Task::estimate_bits its estimate) and returns it, for the worker to hold; else nullptr. A conversion block
// with Task::keep returns the fraction it read, as it came (its digits stay in `out`).
std::shared_ptr<const PartialResult> keep_piece(const Series& series, const Task& task, TaskOutput& out);

// "terms [a, b) (grid ranges i..j)" or "merge of terms [a, m) and [m, b)", for logs and errors.
std::string describe(const Task& task);
// One word per kind: evaluation, merge, digits, product, final, assembly, constant, load, copy, spread.
std::string_view task_kind_name(TaskKind kind);

}  // namespace pi
