#include "coordinator/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace pi {
namespace {

// Merges of operands smaller than this are done on the spot: sending them costs more than merging them.
constexpr double kInlineMergeBits = 1 << 16;
// Weight of new rate measurements in the smoothed rates.
constexpr double kRateWeight = 0.3;

double bits_of(const PieceRef& piece) { return shape_bits(piece.shape); }

// A stand-in for a piece held elsewhere, for Series::merge_products and merge_from_products, which read of
// their operands only the ranges and which values are zero: each value is its sign.
std::uint64_t magnitude(std::int64_t signed_bits) {
  return static_cast<std::uint64_t>(signed_bits < 0 ? -signed_bits : signed_bits);
}

int merge_level(const Task& merge) {
  return static_cast<int>(std::bit_width(merge.end_range - merge.first_range)) - 1;
}

// Task ids are unique in the process, across the schedulers of successive attempts, so that a late result
// of an earlier attempt can never be taken for a task of the current one.
std::atomic<std::uint64_t> g_next_task_id{1};

void smooth(double& rate, double sample) {
  rate = rate == 0 ? sample : (1 - kRateWeight) * rate + kRateWeight * sample;
}

}  // namespace

double merge_cost(const PieceRef& left, const PieceRef& right) {
  const double bits = bits_of(left) + bits_of(right);
  return bits * std::log2(bits + 2);
}

Scheduler::Scheduler(const Series& series, const Grid& grid, SchedulerConfig config, int workers)
    : series_(series),
      grid_(grid),
      config_(config),
      workers_(static_cast<std::size_t>(workers)),
      in_flight_(static_cast<std::size_t>(workers)) {
  for (int w = 0; w < workers; ++w) workers_[static_cast<std::size_t>(w)].rank = w;
  if (!grid_.tree() && workers >= 2) verification_.duplicate_share = config_.duplicate_share;
  const double terms = static_cast<double>(grid_.terms());
  total_work_ = series_.kind() == SeriesKind::slow ? terms : terms * series_.digits_per_term() * 0.8;
}

double Scheduler::task_work(const Task& task) const {
  // A product counts nothing on its own: its merge counts once it is put together.
  // A load's pieces were counted when they were restored.
  if (task.kind() == TaskKind::digits || task.kind() == TaskKind::product ||
      task.kind() == TaskKind::spread || task.kind() == TaskKind::final_steps ||
      task.kind() == TaskKind::constant || task.kind() == TaskKind::load || task.kind() == TaskKind::copy)
    return 0;
  const double terms = static_cast<double>(grid_.span(task.first_range, task.end_range).size());
  if (series_.kind() == SeriesKind::slow) return task.kind() == TaskKind::evaluate ? terms : 0.0;
  // Fast series: the grid ranges are half of the work, the merges above them 30%, spread evenly over the
  // levels.
  const double levels = std::max(1.0, std::log2(static_cast<double>(grid_.size())));
  const double digits = terms * series_.digits_per_term();
  if (task.kind() == TaskKind::merge || task.kind() == TaskKind::assemble) return digits * 0.3 / levels;
  return digits * (0.5 + 0.3 * std::log2(static_cast<double>(task.end_range - task.first_range)) / levels);
}

namespace {

// A product's cost in merge cost units: a merge's products together touch about 4/3 of its operands' bits.
// A product of an a-bit and a b-bit factor in merge cost units.
double product_units(double a, double b) { return 0.75 * (a + b) * std::log2(a + b + 2); }

double product_cost(const Product& part) {
  const auto a = static_cast<double>(magnitude(part.left.shape.at(part.factor_left)));
  const double b = static_cast<double>(magnitude(part.right.shape.at(part.factor_right))) / part.slices;
  return product_units(a, b);
}

// A spread product's part of a phase: the product's cost over the parts, times 1.5 (the phases' parts add
// up to 1.3-1.5 times one product: bench/README, "A product in parts").
double spread_cost(const Spread& part) {
  return 1.5 *
         product_units(static_cast<double>(part.left_limbs * GMP_NUMB_BITS),
                       static_cast<double>(part.right_limbs * GMP_NUMB_BITS)) /
         std::max<std::uint32_t>(1, part.parts);
}

}  // namespace

double Scheduler::predicted_seconds(const Task& task) const {
  if (const auto* product = std::get_if<Product>(&task.work))
    return merge_rate_ > 0 ? product_cost(*product) / merge_rate_ : -1;
  if (const auto* spread = std::get_if<Spread>(&task.work))
    return merge_rate_ > 0 ? spread_cost(*spread) / merge_rate_ : -1;
  if (const auto* digits = std::get_if<Digits>(&task.work))
    return static_cast<double>(digits->count) / kDigitsPerSecondFloor;
  if (const auto* assemble = std::get_if<Assemble>(&task.work)) {
    // Additions and copies of the parts: a small share of the merge's products.
    const double bits = shape_bits(assemble->left_shape) + shape_bits(assemble->right_shape);
    return merge_rate_ > 0 ? 0.25 * bits * std::log2(bits + 2) / merge_rate_ : -1;
  }
  // The final steps, about as long as converting the value; their constant (a square root), less than that.
  const auto* steps = std::get_if<FinalSteps>(&task.work);
  const auto* constant = std::get_if<Constant>(&task.work);
  if (steps || constant)
    return static_cast<double>(steps ? steps->bits : constant->bits) / std::log2(10.0) /
           kDigitsPerSecondFloor;
  if (const auto* merge = std::get_if<Merge>(&task.work))
    return merge_rate_ > 0 ? merge_cost(merge->left, merge->right) / merge_rate_ : -1;
  if (const auto* load = std::get_if<Load>(&task.work))
    return static_cast<double>(load->bytes) / kLoadBytesPerSecondFloor;
  if (const auto* copy = std::get_if<Copy>(&task.work))
    return shape_bits(copy->piece.shape) / 8 / kCopyBytesPerSecondFloor;
  return eval_rate_ > 0 ? static_cast<double>(task.as<Evaluate>().range.size()) / eval_rate_ : -1;
}

std::optional<Task> Scheduler::next_evaluation() {
  // The grid ranges a restored piece covers are done already.
  for (auto it = restored_.begin(); it != restored_.end() && it->first <= frontier_;
       it = restored_.erase(it)) {
    frontier_ = std::max(frontier_, it->second);
  }
  const std::uint64_t gap_end = restored_.empty() ? grid_.size() : restored_.begin()->first;
  const std::uint64_t left = gap_end - frontier_;
  if (left == 0) return std::nullopt;
  std::uint64_t ranges = 1;
  if (eval_rate_ > 0) {
    const double avg_range = static_cast<double>(grid_.terms()) / static_cast<double>(grid_.size());
    ranges = static_cast<std::uint64_t>(std::max(1.0, eval_rate_ * config_.assignment_seconds / avg_range));
  }
  // Guided self-scheduling: near the end, assignments shrink so that no worker idles behind a big one.
  const auto active = static_cast<std::uint64_t>(std::max(1, active_workers()));
  ranges = std::min(ranges, std::max<std::uint64_t>(1, (left + 2 * active - 1) / (2 * active)));
  if (config_.max_assignment_ranges) ranges = std::min(ranges, config_.max_assignment_ranges);
  ranges = std::min(ranges, left);
  if (grid_.tree()) {
    // An aligned node of the merge tree: a power of two that divides the first grid range.
    ranges = std::bit_floor(ranges);
    while (ranges > 1 && frontier_ % ranges != 0) ranges /= 2;
  }
  Task t;
  t.id = g_next_task_id++;
  t.first_range = frontier_;
  t.end_range = frontier_ + ranges;
  t.work = Evaluate{grid_.span(t.first_range, t.end_range), grid_.step(), t.end_range == grid_.size()};
  frontier_ = t.end_range;
  return t;
}

std::optional<Task> Scheduler::assign(int w, Clock::time_point now) {
  const auto wi = static_cast<std::size_t>(w);
  if (workers_[wi].retired) return std::nullopt;
  if (!final_products_.empty()) tidy_final_products();  // no part of a product no longer wanted goes out
  std::optional<std::uint64_t> id;
  // Queued work first (retries, then merges). A task this worker failed before waits for another worker
  // that can still take it, if there is one: a worker that returns wrong results must not use up a
  // task's retries alone. With pieces on workers, the first task whose larger operand this worker holds
  // goes before the others (work goes to the data).
  // Where a conversion block given to w would read the fraction (fraction_source): the same for every block
  // in the queue, so found once, and only when there is one.
  std::optional<std::optional<PieceRef>> block_source;
  const auto source_for_whole = [&]() -> const std::optional<PieceRef>& {
    if (!block_source) block_source = fraction_source(w);
    return *block_source;
  };
  // A part's block reads its small share from the final steps' piece itself, at any time.
  const auto source_for = [&](const Task& t) -> const std::optional<PieceRef>& {
    const auto* digits = std::get_if<Digits>(&t.work);
    return digits && digits->part ? fraction_ : source_for_whole();
  };
  const auto local = [&](const Task& t) {
    const auto holds = [w](const PieceRef& a, const PieceRef& b) {
      return (bits_of(a) >= bits_of(b) ? a : b).owner == w;
    };
    if (const auto* merge = std::get_if<Merge>(&t.work)) return holds(merge->left, merge->right);
    if (const auto* product = std::get_if<Product>(&t.work)) return holds(product->left, product->right);
    if (const auto* steps = std::get_if<FinalSteps>(&t.work)) return steps->root.owner == w;
    if (const auto* assemble = std::get_if<Assemble>(&t.work)) {
      const PieceRef* biggest = nullptr;
      for (const PieceRef& part : assemble->parts)
        if (!biggest || bits_of(part) > bits_of(*biggest)) biggest = &part;
      return biggest && biggest->owner == w;
    }
    if (const auto* digits = std::get_if<Digits>(&t.work)) {
      const std::optional<PieceRef>& source = fraction_ ? source_for(t) : digits->fraction;
      return source && source->owner == w;
    }
    return false;
  };
  // The final steps wait for the worker that holds the series' result (the biggest piece of the job), as
  // long as it can take work.
  const auto reserved = [&](const Task& t) {
    const auto* steps = std::get_if<FinalSteps>(&t.work);
    if (!steps || steps->root.here() || steps->root.owner == w) return false;
    const auto owner = static_cast<std::size_t>(steps->root.owner);
    return !workers_[owner].retired && !overdue(owner);
  };
  // The parts of the constant's spread products go last, after the evaluations too: the constant is
  // needed only once the series is done, and the series' own tasks are what holds it up.
  std::optional<std::uint64_t> last;
  for (auto it = tasks_.queued().begin(); it != tasks_.queued().end(); ++it) {
    const OpenTask& open = open_.at(*it);
    if (reserved(open.task)) continue;
    if (const auto* spread = std::get_if<Spread>(&open.task.work);
        spread && spread->final_steps && spread->merge == constant_task_ && constant_task_ != 0) {
      if (!last && (!open.failed_on.contains(w) || !another_worker(w, open.failed_on))) last = *it;
      continue;
    }
    // The constant goes only to a worker with nothing else to do (a retry of it, its worker lost).
    if (open.task.kind() == TaskKind::constant && !in_flight_[wi].empty()) continue;
    // A copy goes to any worker but the one that holds the piece.
    if (const auto* copy = std::get_if<Copy>(&open.task.work); copy && copy->piece.owner == w) continue;
    // A conversion block waits for a holder of the fraction that is free to serve it.
    if (open.task.kind() == TaskKind::digits && fraction_ && !source_for(open.task)) continue;
    if (!open.failed_on.contains(w) || !another_worker(w, open.failed_on)) {
      if (!id) id = *it;  // transition() takes it off the queue
      if (!fetch_ || local(open.task)) {
        id = *it;
        break;
      }
    }
  }
  if (!id) {
    auto t = next_evaluation();
    if (!t && last) {
      id = last;
    } else {
      if (!t) t = constant_task(w);
      if (!t) return std::nullopt;
      id = t->id;
      open_task(OpenTask(std::move(*t)));
    }
  }
  OpenTask& open = open_.at(*id);
  // Where a conversion block reads the fraction: chosen before this task counts as under way.
  fraction_fetched_.erase(*id);
  const std::optional<PieceRef> source =
      open.task.kind() == TaskKind::digits && fraction_ ? source_for(open.task) : std::nullopt;
  transition(*id, TaskState::processing);
  open.task.check_primes = verification_.primes;
  // The root of the tree comes here for the final steps, unless they too are on the workers.
  const bool root = open.task.first_range == 0 && open.task.end_range == grid_.size();
  const TaskKind kind = open.task.kind();
  open.task.keep =
      fetch_ &&
      (kind == TaskKind::product || kind == TaskKind::spread || kind == TaskKind::copy || !root || final_) &&
      kind != TaskKind::digits;
  if (auto* block = std::get_if<Digits>(&open.task.work); block && source) {
    // Read from the holder fraction_source named; a worker that has no copy yet keeps the one it reads.
    block->fraction = *source;
    // (One copy a worker: not when a block of its own already under way keeps one.)
    const bool keeping = std::any_of(in_flight_[wi].begin(), in_flight_[wi].end(), [&](const InFlight& f) {
      const auto other = open_.find(f.task_id);
      return f.task_id != *id && other != open_.end() && other->second.task.kind() == TaskKind::digits &&
             other->second.task.keep;
    });
    open.task.keep = !block->part && !source->here() && source->owner != w && !keeping;
  }
  const bool piece = kind == TaskKind::evaluate || kind == TaskKind::merge || kind == TaskKind::assemble ||
                     kind == TaskKind::load;
  open.task.estimate_bits = open.task.keep && piece && open.task.first_range == 0 ? lead_estimate_bits_ : 0;
  const double predicted = predicted_seconds(open.task);
  open.task.allowed_s = predicted < 0 ? config_.first_deadline_s
                                      : std::max(config_.min_deadline_s, config_.deadline_factor * predicted);
  // A task queued behind another starts only when that one ends: its deadline counts from there.
  const Clock::time_point start =
      in_flight_[wi].empty() ? now : std::max(now, in_flight_[wi].back().deadline);
  in_flight_[wi].push_back(InFlight{
      *id,
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(open.task.allowed_s)),
      predicted, false, kind, open.task.first_range, open.task.end_range, now});
  return open.task;
}

bool Scheduler::wants_another_task(int w) const {
  const auto wi = static_cast<std::size_t>(w);
  const auto& held = in_flight_[wi];
  if (workers_[wi].retired || held.empty() || held.size() >= kMaxHeld) return false;
  double expected = 0;
  for (const InFlight& f : held) {
    // A resumed job's pieces are spread over the workers, one load each at a time: a worker that took
    // several small ones at once would hold them all (and read them one after the other).
    if (f.overdue || f.kind == TaskKind::load) return false;
    if (f.predicted_s >= 0) {
      expected += f.predicted_s;
    } else if (f.kind != TaskKind::merge && workers_[wi].last_task_s >= 0) {
      expected += workers_[wi].last_task_s;
    } else {
      return false;  // no idea how long it takes
    }
  }
  return expected < kPrefetchBelowSeconds;
}

void Scheduler::release(std::size_t wi, std::uint64_t task_id, std::optional<bool> ok, double compute_s) {
  auto& held = in_flight_[wi];
  const auto it =
      std::find_if(held.begin(), held.end(), [task_id](const InFlight& f) { return f.task_id == task_id; });
  if (it == held.end()) return;
  if (ok) record_span(wi, *it, *ok, compute_s, Clock::now());
  held.erase(it);
}

void Scheduler::record_span(std::size_t wi, const InFlight& task, bool ok, double compute_s,
                            Clock::time_point end) {
  if (last_end_.size() < in_flight_.size()) last_end_.resize(in_flight_.size());
  // A worker runs its tasks one after the other: one started no sooner than it was assigned and the
  // worker's previous one ended, and (reported) its compute time before its result arrived.
  Clock::time_point start = std::max(task.assigned, last_end_[wi]);
  if (ok && compute_s > 0)
    start = std::max(
        start, end - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(compute_s)));
  spans_.push_back(
      TaskSpan{static_cast<int>(wi), task.kind, task.first_range, task.end_range, start, end, ok});
  if (spans_.size() > kSpansKept) spans_.pop_front();
  last_end_[wi] = end;
}

std::vector<Scheduler::TaskSpan> Scheduler::take_spans() {
  std::vector<TaskSpan> out(spans_.begin(), spans_.end());
  spans_.clear();
  return out;
}

bool Scheduler::overdue(std::size_t wi) const {
  return std::any_of(in_flight_[wi].begin(), in_flight_[wi].end(),
                     [](const InFlight& f) { return f.overdue; });
}

void Scheduler::transition(std::uint64_t id, TaskState to, bool front) {
  try {
    tasks_.transition(id, to, front);
  } catch (const std::logic_error& e) {
    throw std::logic_error("Scheduler: " + describe(open_.at(id).task) + ": " + e.what());
  }
}

Scheduler::OpenTask& Scheduler::open_task(OpenTask open) {
  const std::uint64_t id = open.task.id;
  tasks_.add(id);
  return open_.emplace(id, std::move(open)).first->second;
}

namespace {

// The conversion block of part k of the final steps' split (FinalSummary::parts), read from `fraction`.
Digits part_block(const PieceRef& fraction, const FinalSummary& summary, std::uint32_t k) {
  const FinalSummary::Part& part = summary.parts.at(k);
  Digits block{fraction, part.scale_bits, part.first, part.count, std::nullopt, 0};
  block.part = PartEnclosure{part.err, k == 0 ? std::optional<std::uint64_t>(summary.integer) : std::nullopt};
  block.value = 1 + k;
  return block;
}

// What the coordinator knows of the piece of worker `w`'s output for task `key`: where it is when the
// worker kept it (TaskOutput::kept), else the integers that came.
PieceRef piece_of(int w, std::uint64_t key, TaskOutput& output) {
  PieceRef piece;
  if (!output.kept) {
    piece = PieceRef::held_here(std::make_shared<PartialResult>(std::move(output.result)));
    piece.residues = std::move(output.residues);
    return piece;
  }
  piece.range = output.result.range;
  piece.owner = w;
  piece.key = key;
  piece.shape = std::move(output.shape);
  piece.residues = std::move(output.residues);
  piece.lead = std::move(output.lead);
  return piece;
}

}  // namespace

bool Scheduler::complete(int w, std::uint64_t task_id, TaskOutput output, double compute_s) {
  const auto wi = static_cast<std::size_t>(w);
  release(wi, task_id, true, compute_s);
  WorkerStats& stats = workers_[wi];
  stats.busy_s += compute_s;
  stats.last_task_s = compute_s;
  stats.lost = false;
  const auto it = open_.find(task_id);
  if (it == open_.end()) {
    cancelled_.erase(task_id);
    ++stats.discarded;
    if (output.kept) drops_.emplace_back(w, task_id);
    return false;
  }
  if (output.kept && stats.retired) {
    // A piece on a worker that gets no more work (and is told to stop): it is computed elsewhere.
    ++stats.discarded;
    return false;
  }
  if (output.kept && !it->second.task.keep) {
    ++stats.failures;
    record_failure(w, it->second,
                   "rank " + std::to_string(stats.rank) + " kept " + describe(it->second.task) +
                       ", which it was to return");
    drops_.emplace_back(w, task_id);
    return false;
  }
  if (auto* block = std::get_if<Digits>(&it->second.task.work); block && block->part && output.part_refused) {
    // Its enclosure straddles a decimal boundary (about 2^-64 of a chance at each of the split's cuts): the
    // block is converted from the whole fraction instead, which always decides.
    notices_.push_back("rank " + std::to_string(stats.rank) + ": the part of " + describe(it->second.task) +
                       " cannot decide its digits; the block is converted from the whole fraction");
    ++piece_stats_.parts_refused;
    block->part.reset();
    block->value = 0;
    block->scale_bits = summary_->scale_bits;  // (parts come from summary_, which is never taken back)
    if (output.kept) drops_.emplace_back(w, task_id);
    transition(task_id, TaskState::queued, true);
    return false;
  }
  PartialResult& result = output.result;
  std::string& digits = output.digits;
  const std::size_t values = output.kept ? output.shape.size() : result.values.size();
  if (it->second.task.kind() == TaskKind::product && values != 1) {
    ++stats.failures;
    record_failure(w, it->second,
                   "rank " + std::to_string(stats.rank) + ": no product for " + describe(it->second.task));
    return false;
  }
  if (const auto* spread = std::get_if<Spread>(&it->second.task.work)) {
    const std::uint64_t want = spread_output_values(spread_plan(*spread), spread->phase);
    if (values != want) {
      ++stats.failures;
      record_failure(w, it->second,
                     "rank " + std::to_string(stats.rank) + ": " + std::to_string(values) + " values for " +
                         describe(it->second.task) + ", not " + std::to_string(want));
      if (output.kept) drops_.emplace_back(w, task_id);
      return false;
    }
  }
  if (it->second.task.kind() == TaskKind::final_steps &&
      (!output.summary || values != 1 + output.summary->parts.size())) {
    ++stats.failures;
    record_failure(w, it->second, "rank " + std::to_string(stats.rank) + ": no final value");
    if (output.kept) drops_.emplace_back(w, task_id);
    return false;
  }
  if (it->second.task.kind() == TaskKind::constant && values != 2) {
    ++stats.failures;
    record_failure(w, it->second, "rank " + std::to_string(stats.rank) + ": no constant");
    if (output.kept) drops_.emplace_back(w, task_id);
    return false;
  }
  if (it->second.task.kind() == TaskKind::digits && digits.size() < it->second.task.as<Digits>().count) {
    ++stats.failures;
    record_failure(w, it->second,
                   "rank " + std::to_string(stats.rank) + ": " + std::to_string(digits.size()) +
                       " digits for " + describe(it->second.task));
    if (output.kept) drops_.emplace_back(w, task_id);
    return false;
  }
  Residues expected;
  const std::optional<std::string> why = check(it->second.task, output, expected);
  if (why && it->second.task.kind() == TaskKind::load) {
    // The file, not the worker: it was checked when the job resumed, and has changed since.
    ++verification_.mismatches;
    if (output.kept) drops_.emplace_back(w, task_id);
    abandon_load(it->second.task, "rank " + std::to_string(stats.rank) + ": " + *why);
    return false;
  }
  if (why) {
    ++stats.failures;
    ++stats.mismatches;
    ++verification_.mismatches;
    last_refusal_ = "rank " + std::to_string(stats.rank) + ": " + *why + "; it is computed again";
    if (output.kept) drops_.emplace_back(w, task_id);
    if (const auto* assemble = std::get_if<Assemble>(&it->second.task.work);
        assemble && assemble->spread_parts > 0 && split_.contains(assemble->merge)) {
      // Spread products are checked in the merge they make, not part by part: the damage may be in any
      // part, so the products are computed again, not the assembly from the same parts.
      notices_.push_back("rank " + std::to_string(stats.rank) + ": " + *why +
                         "; its spread products are computed again");
      restart_spread_merge(assemble->merge);  // cancels this assembly
      return false;
    }
    record_failure(w, it->second, "rank " + std::to_string(stats.rank) + ": " + *why);
    return false;
  }
  Task task = std::move(it->second.task);
  tasks_.remove(task_id);
  open_.erase(it);

  if (task.kind() == TaskKind::merge || task.kind() == TaskKind::assemble) {
    count_merge(task);
  } else {
    work_done_ += task_work(task);
  }
  if (const auto* copy = std::get_if<Copy>(&task.work)) {
    const std::pair source{copy->piece.owner, copy->piece.key};
    copying_.erase(source);
    replicas_[source] = Replica{w, task.id};
    ++piece_stats_.replicas;
    return true;
  }
  if (task.kind() == TaskKind::load) {
    loading_.erase(task.id);
    ++piece_stats_.loaded;
    if (!verification_.primes.empty())
      keep_fingerprint(task.first_range, task.end_range, std::move(expected));
    add_piece(task.first_range, task.end_range, piece_of(w, task.id, output));
    return true;
  }
  if (task.kind() == TaskKind::constant) {
    constant_task_ = 0;
    times_.constant_s += compute_s;
    constant_ = piece_of(w, task.id, output);
    if (std::exchange(final_waits_for_constant_, false) && root_ && !fraction_) queue_final();
    return true;
  }
  if (task.kind() == TaskKind::final_steps) {
    times_.final_steps_s += compute_s;
    times_.final_with_constant = task.as<FinalSteps>().constant.has_value();
    if (constant_) {
      drop(*constant_);
      constant_.reset();
    }
    summary_ = std::move(output.summary);
    piece_stats_.conversion_parts = summary_->parts.size();
    fraction_ = piece_of(w, task.id, output);
    replicate(0, grid_.size(), *fraction_);
    if (!keep_root_ && root_) {
      drop(*root_);
      root_.reset();
    }
    for (Digits& block : std::exchange(waiting_blocks_, {})) {
      Task t;
      block.fraction = *fraction_;
      if (block.part) {
        // Its part of the new split (the same cut: split_chosen_), or, should it differ, the whole fraction.
        const auto k = static_cast<std::uint32_t>(block.value - 1);
        if (k < summary_->parts.size() && summary_->parts[k].first == block.first &&
            summary_->parts[k].count == block.count) {
          block = part_block(*fraction_, *summary_, k);
        } else {
          block = Digits{*fraction_, summary_->scale_bits, block.first, block.count, std::nullopt, 0};
        }
      }
      t.work = std::move(block);
      enqueue(std::move(t), true);
    }
    return true;
  }
  if (const auto* block = std::get_if<Digits>(&task.work)) {
    ++stats.digit_blocks;
    times_.digit_blocks_s += compute_s;
    digit_blocks_.emplace(block->first, std::move(digits));
    fraction_fetched_.erase(task.id);
    if (output.kept && fraction_) {
      // The worker kept the fraction it read (checked against the fraction's fingerprint as it came), under
      // this task's id: later blocks may read it there (if it did not say so already: fetched).
      add_fraction_copy(w, task.id);
    } else if (output.kept) {
      drops_.emplace_back(w, task.id);
    }
    return true;
  }
  if (const auto* product = std::get_if<Product>(&task.work)) {
    ++stats.merges;
    if (const auto sm = split_.find(product->merge); sm != split_.end())
      times_.merges_by_level_s[merge_level(sm->second.merge)] += compute_s;
    if (compute_s > 1e-4) smooth(merge_rate_, product_cost(*product) / compute_s);
    complete_part(*product, piece_of(w, task.id, output));
    return true;
  }
  if (const auto* spread = std::get_if<Spread>(&task.work)) {
    ++stats.merges;
    if (const auto sm = split_.find(spread->merge); sm != split_.end())
      times_.merges_by_level_s[merge_level(sm->second.merge)] += compute_s;
    if (compute_s > 1e-4) smooth(merge_rate_, spread_cost(*spread) / compute_s);
    ++piece_stats_.spread_parts;
    complete_spread(*spread, piece_of(w, task.id, output));
    return true;
  }
  if (!verification_.primes.empty()) keep_fingerprint(task.first_range, task.end_range, std::move(expected));
  if (task.kind() == TaskKind::assemble) {
    ++stats.merges;
    times_.merges_by_level_s[merge_level(task)] += compute_s;
    complete_assembly(task, piece_of(w, task.id, output));
    return true;
  }
  if (const auto* evaluate = std::get_if<Evaluate>(&task.work)) {
    ++stats.evaluations;
    times_.evaluations_s += compute_s;
    if (compute_s > 1e-4) smooth(eval_rate_, static_cast<double>(evaluate->range.size()) / compute_s);
    if (recomputes_.erase(task.id) > 0) {
      // A lost piece again: its ranges were counted when they were first done.
      work_done_ -= task_work(task);
      add_piece(task.first_range, task.end_range, piece_of(w, task.id, output));
      return true;
    }
    if (duplicate_tasks_.contains(task.id)) {
      work_done_ -= task_work(task);  // counted once, when the range settles
      settle_duplicate(task.id, w, std::move(result));
      return true;
    }
    stats.terms += evaluate->range.size();
    if (wants_duplicate(task, w)) {
      start_duplicate(task, w, std::move(result));
      return true;
    }
    ranges_done_ += task.end_range - task.first_range;
  } else {
    ++stats.merges;
    times_.merges_by_level_s[merge_level(task)] += compute_s;
    const Merge& merge = task.as<Merge>();
    if (compute_s > 1e-4) smooth(merge_rate_, merge_cost(merge.left, merge.right) / compute_s);
    drop(merge.left);
    drop(merge.right);
  }
  add_piece(task.first_range, task.end_range, piece_of(w, task.id, output));
  return true;
}

void Scheduler::add_piece(std::uint64_t first, std::uint64_t last, PieceRef piece) {
  if (!grid_.tree()) {
    // Slow series: exact additions onto the finished prefix, in range order (always here).
    if (!restoring_) ledger_.push_back(FinishedPiece{first, last, piece.data});
    pieces_.emplace(first, Piece{last, std::move(piece)});
    for (auto it = pieces_.begin(); it != pieces_.end() && it->first == prefix_ranges_;
         it = pieces_.erase(it)) {
      const PartialResult& next = *it->second.ref.data;
      prefix_ = std::make_shared<PartialResult>(prefix_ ? series_.combine(*prefix_, next) : next);
      prefix_ranges_ = it->second.end_range;
    }
    return;
  }
  // Fast series: a piece is a node of the balanced tree; it merges with its sibling once both are done. A
  // piece from a worker is copied to another (replicas), whether it waits or is merged at once: it is held
  // until its merge ends, which for the top merges of a big job is long.
  replicate(first, last, piece);
  for (;;) {
    const std::uint64_t size = last - first;
    if (size == grid_.size() && final_on_workers()) {
      root_ = std::move(piece);
      if (!fraction_) {
        // With spread products (single-core hosts in mind; kSpreadFromWorkers) the constant under way on
        // another worker is waited for: the final steps' worker would otherwise compute it again in the
        // same line.
        if (spreads_products() && constant_task_ != 0 && open_.contains(constant_task_)) {
          final_waits_for_constant_ = true;
        } else {
          queue_final();
        }
      }
      return;
    }
    if (size == grid_.size()) {
      std::shared_ptr<const PartialResult> root = materialize(piece);
      if (!root) {
        lose_where([&piece](const PieceRef& p) { return p.owner == piece.owner && p.key == piece.key; });
        return;
      }
      prefix_ = std::move(root);
      return;
    }
    const bool is_left = (first / size) % 2 == 0;
    const std::uint64_t sibling_first = is_left ? last : first - size;
    const auto sib = pieces_.find(sibling_first);
    if (sib == pieces_.end() || sib->second.end_range - sibling_first != size) {
      pieces_.emplace(first, Piece{last, std::move(piece)});
      return;
    }
    PieceRef other = std::move(sib->second.ref);
    pieces_.erase(sib);
    Task merge;
    merge.work =
        is_left ? Merge{std::move(piece), std::move(other)} : Merge{std::move(other), std::move(piece)};
    const Merge& operands = merge.as<Merge>();
    merge.first_range = std::min(first, sibling_first);
    merge.end_range = merge.first_range + 2 * size;
    if (!operands.left.here() || !operands.right.here() ||
        bits_of(operands.left) + bits_of(operands.right) >= kInlineMergeBits) {
      merge.id = g_next_task_id++;
      if (split_slices(merge,
                       series_.merge_products(outline(operands.left), outline(operands.right)).size()) > 0) {
        split(std::move(merge));
        return;
      }
      enqueue(std::move(merge));
      return;
    }
    count_merge(merge);
    const auto t0 = Clock::now();
    auto merged = std::make_shared<PartialResult>(series_.combine(*operands.left.data, *operands.right.data));
    times_.merges_by_level_s[merge_level(merge)] += std::chrono::duration<double>(Clock::now() - t0).count();
    check_own_merge(merge, *merged);
    piece = PieceRef::held_here(std::move(merged));
    first = merge.first_range;
    last = merge.end_range;
  }
}

std::uint32_t Scheduler::split_slices(const Task& merge, std::size_t products) const {
  const auto workers = static_cast<std::uint64_t>(active_workers());
  const std::uint64_t at_level = grid_.size() / (merge.end_range - merge.first_range);
  if (products == 0 || workers < 2 || at_level >= 2 * workers ||
      bits_of(merge.as<Merge>().left) + bits_of(merge.as<Merge>().right) < config_.split_merge_bits) {
    return 0;
  }
  // Enough parts for every worker to have one, none thinner than min_slice_bits. (Twice as many, to even
  // out the rounds, gained nothing: at 1e7 digits the top merge's six half products took 1.03 s of compute
  // against 0.75 s for its three whole ones.)
  const std::uint64_t want = (workers + products * at_level - 1) / (products * at_level);
  const PieceRef& right = merge.as<Merge>().right;
  double thinnest = bits_of(right);
  for (const std::int64_t b : right.shape)
    if (b != 0) thinnest = std::min(thinnest, static_cast<double>(magnitude(b)));
  // A right operand on a worker is not cut: the coordinator checks a product against the fingerprint of its
  // whole factor, and has no integer to take a slice's from.
  if (!right.here()) return 1;
  const auto widest = static_cast<std::uint64_t>(std::max(1.0, thinnest / config_.min_slice_bits));
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(std::min(want, widest), 1, kMaxSlices));
}

void Scheduler::split(Task merge) {
  SplitMerge sm;
  const Merge& operands = merge.as<Merge>();
  sm.products = series_.merge_products(outline(operands.left), outline(operands.right));
  const std::uint32_t spread = spread_parts_for(merge, sm.products.size());
  if (spread >= 2) {
    sm.slices = 1;
    sm.spread = spread;
    sm.spreads.resize(sm.products.size());
    // The top merges' parts keep every worker busy until the final steps: the constant goes out with the
    // first of them (constant_task waits for a worker that idles, which none does then).
    queue_constant();
  } else {
    sm.slices = split_slices(merge, sm.products.size());
  }
  const std::size_t parts = sm.products.size() * (sm.spread > 0 ? sm.spread : sm.slices);
  sm.parts.resize(parts);
  sm.have.assign(parts, false);
  sm.missing = parts;
  const std::uint64_t merge_id = merge.id;
  sm.merge = std::move(merge);
  const std::size_t products = sm.products.size();
  const bool spread_products = sm.spread > 0;
  split_.emplace(merge_id, std::move(sm));
  if (spread_products) {
    for (std::size_t p = 0; p < products; ++p) queue_spread_phase(merge_id, p);
    return;
  }
  for (std::size_t i = 0; i < parts; ++i) queue_part(merge_id, i);
}

void Scheduler::queue_spread_phase(std::uint64_t merge_id, std::size_t product) {
  SplitMerge& sm = split_.at(merge_id);
  const Merge& operands = sm.merge.as<Merge>();
  const auto [fl, fr] = sm.products.at(product);
  const auto limbs = [](const PieceRef& piece, std::size_t value) {
    return (magnitude(piece.shape.at(value)) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
  };
  Spread like;
  like.merge = merge_id;
  like.product = static_cast<std::uint32_t>(product);
  like.parts = sm.spread;
  like.factor_left = static_cast<std::uint32_t>(fl);
  like.factor_right = static_cast<std::uint32_t>(fr);
  like.left_limbs = limbs(operands.left, fl);
  like.right_limbs = limbs(operands.right, fr);
  like.range = Range{operands.left.range.begin, operands.right.range.end};
  queue_spread_parts(sm.spreads.at(product), like, sm.merge.first_range, sm.merge.end_range,
                     {operands.left, operands.right});
}

void Scheduler::queue_spread_parts(SplitMerge::SpreadProduct& sp, const Spread& like,
                                   std::uint64_t first_range, std::uint64_t end_range,
                                   const std::vector<PieceRef>& factors) {
  sp.out.assign(like.parts, PieceRef{});
  sp.have.assign(like.parts, false);
  sp.missing = like.parts;
  for (std::uint32_t part = 0; part < like.parts; ++part) {
    Task t;
    t.first_range = first_range;
    t.end_range = end_range;
    Spread spread = like;
    spread.phase = sp.phase;
    spread.part = part;
    spread.inputs = sp.phase == 0 ? factors : sp.before;
    t.work = std::move(spread);
    enqueue(std::move(t));
  }
}

bool Scheduler::take_spread_output(SplitMerge::SpreadProduct& sp, const Spread& part, PieceRef piece) {
  if (sp.have.at(part.part)) {
    drop(piece);
    return false;
  }
  sp.out[part.part] = std::move(piece);
  sp.have[part.part] = true;
  if (--sp.missing > 0) return false;
  // The phase is done: the phase before's outputs are read no more.
  for (const PieceRef& p : sp.before) drop(p);
  sp.before = std::move(sp.out);
  sp.out.clear();
  sp.have.clear();
  return true;
}

void Scheduler::complete_spread(const Spread& part, PieceRef piece) {
  if (part.final_steps) {
    const auto fp = final_products_.find({part.merge, part.product});
    if (fp == final_products_.end() || fp->second.sp.phase != part.phase || fp->second.sp.done) {
      drop(piece);  // a part of a product started again, or no longer wanted
      return;
    }
    FinalProduct& f = fp->second;
    if (!take_spread_output(f.sp, part, std::move(piece))) return;
    if (f.sp.phase < 2) {
      ++f.sp.phase;
      queue_spread_parts(f.sp, f.like, f.first_range, f.end_range, {f.a, f.b});
      return;
    }
    f.sp.done = true;
    products_done_.push_back(
        ProductDone{f.worker, part.merge, part.product, f.like.parts, false, f.sp.before});
    return;
  }
  const auto it = split_.find(part.merge);
  if (it == split_.end() || it->second.spreads.size() <= part.product ||
      it->second.spreads[part.product].phase != part.phase || it->second.spreads[part.product].done) {
    drop(piece);  // a part of a product started again, or of a merge no longer split
    return;
  }
  SplitMerge& sm = it->second;
  SplitMerge::SpreadProduct& sp = sm.spreads[part.product];
  if (!take_spread_output(sp, part, std::move(piece))) return;
  if (sp.phase < 2) {
    ++sp.phase;
    queue_spread_phase(part.merge, part.product);
    return;
  }
  // The product's runs: the merge's parts.
  sp.done = true;
  for (std::uint32_t j = 0; j < sm.spread; ++j) {
    const std::size_t i = part.product * sm.spread + j;
    sm.parts[i] = std::move(sp.before[j]);
    sm.have[i] = true;
    --sm.missing;
  }
  sp.before.clear();
  assemble_when_done(part.merge);
}

void Scheduler::product_wanted(int w, std::uint64_t task_id, std::uint32_t n, PieceRef a, PieceRef b,
                               bool again) {
  tidy_final_products();
  const auto open = open_.find(task_id);
  const bool theirs = final_steps_under_way(w, task_id);
  // As many parts as other workers (a power of two, at most spread_parts).
  const auto others = static_cast<std::uint64_t>(std::max(2, active_workers() - 1));
  const auto parts =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(config_.spread_parts, std::bit_floor(others)));
  if (!theirs || parts < 2 || a.shape.size() != 1 || b.shape.size() != 1 || a.shape[0] <= 0 ||
      b.shape[0] <= 0) {
    products_done_.push_back(ProductDone{w, task_id, n, 0, true, {}});
    return;
  }
  // The products before n are done with (the worker asks for one at a time).
  std::vector<FinalProductKey> before;
  for (const auto& [key, f] : final_products_)
    if (key.first == task_id && key.second < n) before.push_back(key);
  for (const FinalProductKey& key : before) end_final_product(key);
  const FinalProductKey key{task_id, n};
  if (const auto it = final_products_.find(key); it != final_products_.end()) {
    if (again) {
      ++verification_.mismatches;
      notices_.push_back("product " + std::to_string(n + 1) +
                         " of the final steps was damaged or could not be " + "fetched; it is made again");
      restart_final_product(key);
    }
    return;  // else a request repeated: the product is under way
  }
  a.owner = w;
  b.owner = w;
  FinalProduct f;
  f.worker = w;
  f.first_range = open->second.task.first_range;
  f.end_range = open->second.task.end_range;
  f.like.merge = task_id;
  f.like.product = n;
  f.like.parts = parts;
  f.like.left_limbs = (static_cast<std::uint64_t>(a.shape[0]) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
  f.like.right_limbs = (static_cast<std::uint64_t>(b.shape[0]) + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
  f.like.range = a.range;
  f.like.final_steps = true;
  f.a = std::move(a);
  f.b = std::move(b);
  FinalProduct& made = final_products_.emplace(key, std::move(f)).first->second;
  ++piece_stats_.final_products;
  queue_spread_parts(made.sp, made.like, made.first_range, made.end_range, {made.a, made.b});
}

void Scheduler::restart_final_product(const FinalProductKey& key) {
  FinalProduct& f = final_products_.at(key);
  if (++f.restarts > static_cast<std::uint32_t>(config_.max_range_failures)) {
    std::string msg = "product " + std::to_string(key.second + 1) + " of the final steps failed " +
                      std::to_string(f.restarts) + " times; the job stops";
    notices_.push_back(msg);
    throw PoisonedRange(msg);
  }
  clear_final_product(key, f);
  f.sp = SplitMerge::SpreadProduct{};
  ++piece_stats_.spread_restarts;
  queue_spread_parts(f.sp, f.like, f.first_range, f.end_range, {f.a, f.b});
}

void Scheduler::clear_final_product(const FinalProductKey& key, const FinalProduct& f) {
  std::vector<std::uint64_t> parts;
  for (const auto& [id, open] : open_) {
    const auto* spread = std::get_if<Spread>(&open.task.work);
    if (spread && spread->final_steps && spread->merge == key.first && spread->product == key.second)
      parts.push_back(id);
  }
  for (const std::uint64_t id : parts) cancel(id);
  f.sp.for_each_held([this](const PieceRef& p) { drop(p); });
}

void Scheduler::end_final_product(const FinalProductKey& key) {
  const auto it = final_products_.find(key);
  if (it == final_products_.end()) return;
  clear_final_product(key, it->second);
  final_products_.erase(it);
}

bool Scheduler::final_steps_under_way(int w, std::uint64_t task_id) const {
  const auto open = open_.find(task_id);
  const auto& held = in_flight_[static_cast<std::size_t>(w)];
  return open != open_.end() &&
         (open->second.task.kind() == TaskKind::final_steps ||
          open->second.task.kind() == TaskKind::constant) &&
         tasks_.state(open->first) == TaskState::processing &&
         std::any_of(held.begin(), held.end(),
                     [task_id](const InFlight& f) { return f.task_id == task_id && !f.overdue; });
}

void Scheduler::tidy_final_products() {
  std::vector<FinalProductKey> ended;
  for (const auto& [key, f] : final_products_)
    if (!final_steps_under_way(f.worker, key.first)) ended.push_back(key);
  for (const FinalProductKey& key : ended) end_final_product(key);
}

void Scheduler::restart_spread_merge(std::uint64_t merge_id) {
  SplitMerge& sm = split_.at(merge_id);
  if (++sm.spread_restarts > static_cast<std::uint32_t>(config_.max_range_failures)) {
    std::string msg = "the spread products of the " + describe(sm.merge) + " failed their fingerprint " +
                      std::to_string(sm.spread_restarts) + " times; the range is poisoned and the job stops";
    notices_.push_back(msg);
    throw PoisonedRange(msg);
  }
  for (std::size_t p = 0; p < sm.spreads.size(); ++p) restart_spread(merge_id, p);
}

void Scheduler::restart_spread(std::uint64_t merge_id, std::size_t product) {
  SplitMerge& sm = split_.at(merge_id);
  SplitMerge::SpreadProduct& sp = sm.spreads.at(product);
  std::vector<std::uint64_t> parts;
  for (const auto& [id, open] : open_) {
    const auto* spread = std::get_if<Spread>(&open.task.work);
    if (spread && spread->merge == merge_id && spread->product == product) parts.push_back(id);
  }
  for (const std::uint64_t id : parts) cancel(id);
  sp.for_each_held([this](const PieceRef& p) { drop(p); });
  if (sp.done) {
    for (std::uint32_t j = 0; j < sm.spread; ++j) {
      const std::size_t i = product * sm.spread + j;
      if (sm.have[i]) {
        drop(sm.parts[i]);
        sm.parts[i] = PieceRef{};
        sm.have[i] = false;
        ++sm.missing;
      }
    }
  }
  sp = SplitMerge::SpreadProduct{};
  ++piece_stats_.spread_restarts;
  if (sm.assembly != 0) {
    cancel(sm.assembly);
    sm.assembly = 0;
  }
  queue_spread_phase(merge_id, product);
}

void Scheduler::queue_part(std::uint64_t merge_id, std::size_t part) {
  const SplitMerge& sm = split_.at(merge_id);
  const Merge& operands = sm.merge.as<Merge>();
  Task t;
  t.first_range = sm.merge.first_range;
  t.end_range = sm.merge.end_range;
  Product product;
  product.left = operands.left;
  product.right = operands.right;
  product.merge = merge_id;
  product.part = static_cast<std::uint32_t>(part);
  product.parts = static_cast<std::uint32_t>(sm.parts.size());
  product.factor_left = static_cast<std::uint32_t>(sm.products[part / sm.slices].first);
  product.factor_right = static_cast<std::uint32_t>(sm.products[part / sm.slices].second);
  product.slice = static_cast<std::uint32_t>(part % sm.slices);
  product.slices = sm.slices;
  t.work = std::move(product);
  enqueue(std::move(t));
}

void Scheduler::complete_part(const Product& part, PieceRef piece) {
  SplitMerge& sm = split_.at(part.merge);
  if (!sm.have[part.part]) {
    sm.parts[part.part] = std::move(piece);
    sm.have[part.part] = true;
    --sm.missing;
  } else {
    drop(piece);
  }
  assemble_when_done(part.merge);
}

void Scheduler::assemble_when_done(std::uint64_t merge_id) {
  SplitMerge& sm = split_.at(merge_id);
  if (sm.missing > 0 || sm.assembly != 0) return;
  const Merge& operands = sm.merge.as<Merge>();
  Assemble assemble{merge_id,
                    operands.left.range,
                    operands.left.shape,
                    operands.right.range,
                    operands.right.shape,
                    sm.slices,
                    sm.parts,
                    sm.spread};
  if (std::any_of(sm.parts.begin(), sm.parts.end(), [](const PieceRef& p) { return !p.here(); })) {
    // Some parts are on workers: a worker puts the merge together (fetching the others), and keeps it.
    Task t;
    t.first_range = sm.merge.first_range;
    t.end_range = sm.merge.end_range;
    t.work = std::move(assemble);
    sm.assembly = enqueue(std::move(t), true);
    return;
  }
  std::vector<const PartialResult*> values;
  for (const PieceRef& p : sm.parts) values.push_back(p.data.get());
  std::shared_ptr<PartialResult> merged;
  try {
    merged = std::make_shared<PartialResult>(assemble_merge(series_, assemble, values));
  } catch (const std::exception& e) {
    if (sm.spread == 0) throw;
    // Runs that do not fit the product: a part's output was damaged (by a worker; its fingerprint is the
    // worker's own).
    ++verification_.mismatches;
    notices_.push_back("the " + describe(sm.merge) + " could not be put together from its spread products (" +
                       e.what() + "); they are computed again");
    restart_spread_merge(merge_id);
    return;
  }
  // Spread products' parts came from workers and have no fingerprint of their own: a wrong merge is theirs,
  // not this process's.
  if (!check_own_merge(sm.merge, *merged, sm.spread > 0)) {
    notices_.push_back("the " + describe(sm.merge) +
                       " put together from spread products fails its fingerprint; they are computed again");
    restart_spread_merge(merge_id);
    return;
  }
  Task merge = std::move(sm.merge);
  split_.erase(merge_id);
  work_done_ += task_work(merge);
  drop(merge.as<Merge>().left);
  drop(merge.as<Merge>().right);
  add_piece(merge.first_range, merge.end_range, PieceRef::held_here(std::move(merged)));
}

void Scheduler::complete_assembly(const Task& task, PieceRef piece) {
  const auto sm = split_.find(task.as<Assemble>().merge);
  if (sm != split_.end()) {
    drop(sm->second.merge.as<Merge>().left);
    drop(sm->second.merge.as<Merge>().right);
    for (const PieceRef& part : sm->second.parts) drop(part);
    split_.erase(sm);
  }
  add_piece(task.first_range, task.end_range, std::move(piece));
}

void Scheduler::retire_if_failing(WorkerStats& stats) {
  if (!stats.retired && stats.failures + stats.timeouts >= config_.max_worker_failures) {
    stats.retired = true;
    notices_.push_back("rank " + std::to_string(stats.rank) + " failed too often: it gets no more work");
  }
}

void Scheduler::record_failure(int w, OpenTask& open, const std::string& why) {
  retire_if_failing(workers_[static_cast<std::size_t>(w)]);
  if (open.task.kind() == TaskKind::copy) {
    notices_.push_back(describe(open.task) + " failed (" + why + "); the piece stays without a copy");
    abandon_copy(open.task.id);  // `open` goes with it
    return;
  }
  ++open.failures;
  open.last_error = why;
  open.failed_on.insert(w);
  if (open.failures >= config_.max_range_failures) {
    std::string msg = describe(open.task) + " failed " + std::to_string(open.failures) +
                      " times (last: " + why + "); the range is poisoned and the job stops";
    notices_.push_back(msg);
    throw PoisonedRange(msg);
  }
  ++retries_;
  notices_.push_back(describe(open.task) + " failed (" + why + "); retry " + std::to_string(open.failures));
  if (const auto* merge = std::get_if<Merge>(&open.task.work);
      merge && merge->left.owner == PieceRef::kLent) {
    // Its operands went with it (lend_operands): their ranges are computed again, and the merge waits.
    lose_where([left = merge->left.range, right = merge->right.range](const PieceRef& p) {
      return p.owner == PieceRef::kLent && (p.range == left || p.range == right);
    });
    return;
  }
  transition(open.task.id, TaskState::queued, true);
}

void Scheduler::fail(int w, std::uint64_t task_id, const std::string& why) {
  const auto wi = static_cast<std::size_t>(w);
  release(wi, task_id, false);
  const auto it = open_.find(task_id);
  if (it != open_.end() && it->second.task.kind() == TaskKind::load) {
    // A file that cannot be read, or is not what the checkpoint said: not the worker's failure.
    abandon_load(it->second.task, "rank " + std::to_string(workers_[wi].rank) + ": " + why);
    return;
  }
  ++workers_[wi].failures;
  if (it == open_.end()) return;  // already done elsewhere
  // A spread product's part or assembly that fails may have read a damaged part's output (its phases are
  // checked only in the merge they make): the products start again from the factors, not the same part
  // from the same inputs.
  const auto* spread = std::get_if<Spread>(&it->second.task.work);
  if (spread && spread->final_steps) {
    retire_if_failing(workers_[wi]);
    ++retries_;
    notices_.push_back(describe(it->second.task) + " failed (rank " + std::to_string(workers_[wi].rank) +
                       ": " + why + "); the product is made again");
    const FinalProductKey key{spread->merge, spread->product};
    if (final_products_.contains(key)) {
      restart_final_product(key);  // `it` goes with it
    } else {
      cancel(task_id);
    }
    return;
  }
  const auto* assemble = std::get_if<Assemble>(&it->second.task.work);
  const std::uint64_t merge = spread                                   ? spread->merge
                              : assemble && assemble->spread_parts > 0 ? assemble->merge
                                                                       : 0;
  if (merge != 0 && split_.contains(merge)) {
    retire_if_failing(workers_[wi]);
    ++retries_;
    notices_.push_back(describe(it->second.task) + " failed (rank " + std::to_string(workers_[wi].rank) +
                       ": " + why + "); its merge's spread products are computed again");
    restart_spread_merge(merge);  // `it` goes with it
    return;
  }
  record_failure(w, it->second, "rank " + std::to_string(workers_[wi].rank) + ": " + why);
}

void Scheduler::abandon_load(const Task& load, const std::string& why) {
  const std::uint64_t first = load.first_range, last = load.end_range;
  loading_.erase(load.id);
  cancel(load.id);  // `load` goes with it
  recompute(first, last, why);
}

std::vector<int> Scheduler::expire(Clock::time_point now) {
  capture_.expire(now);
  std::vector<int> late;
  for (std::size_t wi = 0; wi < in_flight_.size(); ++wi) {
    auto& held = in_flight_[wi];
    if (held.empty() || held.front().overdue || now < held.front().deadline) continue;
    ++workers_[wi].timeouts;
    late.push_back(static_cast<int>(wi));
    record_span(wi, held.front(), false, 0, now);  // where the timeline shows the missed deadline
    for (std::size_t i = 0; i < held.size(); ++i) {
      held[i].overdue = true;
      if (cancelled_.contains(held[i].task_id)) continue;
      const auto it = open_.find(held[i].task_id);
      if (it == open_.end()) continue;
      if (i == 0) {
        record_failure(static_cast<int>(wi), it->second,
                       "rank " + std::to_string(workers_[wi].rank) + " missed its deadline");
      } else {
        // Queued behind the overdue task, never started: handed on without counting against the range.
        ++retries_;
        transition(held[i].task_id, TaskState::queued, true);
      }
    }
  }
  // A worker that does not answer holds pieces nobody can fetch now: they are computed again (if it was
  // only slow, the copies it holds are dropped when it answers).
  if (fetch_) {
    for (const int w : late) lose_where([w](const PieceRef& p) { return p.owner == w; });
  }
  return late;
}

void Scheduler::postpone_deadlines(Clock::duration by) {
  for (auto& held : in_flight_)
    for (auto& t : held) t.deadline += by;
}

bool Scheduler::finished() const {
  if (capture_.waiting()) return false;
  if (final_on_workers()) {
    // Copies still under way are not waited for: the job needs them no longer.
    return fraction_ && (root_ || !keep_root_) && open_.size() == copying_.size() && waiting_blocks_.empty();
  }
  return (result_taken_ || (prefix_ && prefix_->range.end == grid_.terms())) &&
         open_.size() == copying_.size();
}

void Scheduler::finish_on_workers(FinalSteps steps, bool keep_root) {
  final_ = std::move(steps);
  keep_root_ = keep_root;
}

void Scheduler::queue_final() {
  Task t;
  t.first_range = 0;
  t.end_range = grid_.size();
  if (!split_chosen_) {
    // Once: a run of the final steps after a loss splits the same way, so blocks waiting keep their parts.
    // Only where the final steps spread their products: the split's products on one worker take longer
    // than today's blocks, whose products of the whole fraction run at once on theirs (at 1e7 digits on 2
    // workers, 0.07-0.11 s more in the final steps for 0.05-0.07 s less of conversion).
    final_->split_parts =
        spread_bits_now() > 0
            ? conversion_parts_for(final_->decimals, static_cast<std::uint64_t>(active_workers()),
                                   config_.conversion_parts)
            : 0;
    split_chosen_ = true;
  }
  FinalSteps steps = *final_;
  steps.root = *root_;
  // The constant if a worker has it; else the final steps compute it themselves, and one still under way
  // elsewhere is not waited for.
  if (constant_) {
    steps.constant = *constant_;
  } else {
    cancel(std::exchange(constant_task_, 0));
  }
  steps.spread_bits = spread_bits_now();
  t.work = std::move(steps);
  enqueue(std::move(t));
}

std::uint32_t Scheduler::spread_parts_for(const Task& merge, std::size_t products) const {
  const std::uint32_t most = config_.spread_parts;
  if (!spreads_products() || !std::has_single_bit(most) || products == 0) return 0;
  // Enough parts for every worker to have one of the level's products' parts (a power of two, at most
  // spread_parts): the top merge in the most parts, lower levels (more merges) in fewer; none below two.
  const auto workers = static_cast<std::uint64_t>(active_workers());
  const std::uint64_t at_level = grid_.size() / (merge.end_range - merge.first_range);
  const std::uint64_t want = (workers + at_level * products - 1) / (at_level * products);
  if (want < 2) return 0;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(most, std::bit_floor(want)));
}

bool Scheduler::constant_may_go_out() const {
  // Not for one or two workers. One would compute the constant in its own line instead of beside the
  // division on a second core. Two keep each other busy with the last merges' products, and the constant
  // delays them: 1e7 digits of chudnovsky on `mpirun -n 3` (2 vCPU) took 4.82-5.11 s with it against
  // 4.76-5.05 s without, medians 4.99 and 4.79 s (five pairs, 2026-12-04).
  // Only while the series runs: neither its result (root_) nor the final steps' (fraction_) is there yet.
  return config_.constant_apart && final_on_workers() && final_->bits != 0 && series_.has_constant() &&
         !root_ && !fraction_ && !constant_ && constant_task_ == 0 && active_workers() >= 3;
}

bool Scheduler::spreads_products() const {
  return config_.spread_parts >= 2 && active_workers() >= kSpreadFromWorkers;
}

std::uint64_t Scheduler::spread_bits_now() const {
  // As the merges' spread products, the final steps' and the constant's large products are spread over the
  // others (product_wanted).
  return spreads_products() ? static_cast<std::uint64_t>(config_.final_spread_bits) : 0;
}

Constant Scheduler::constant_now() const {
  return Constant{final_->bits,
                  active_workers() >= config_.constant_spread_from_workers ? spread_bits_now() : 0};
}

void Scheduler::queue_constant() {
  if (!constant_may_go_out()) return;
  Task t;
  t.work = constant_now();
  constant_task_ = enqueue(std::move(t), true);
}

std::optional<Task> Scheduler::constant_task(int w) {
  // To a worker with nothing else to do.
  if (!constant_may_go_out() || !in_flight_[static_cast<std::size_t>(w)].empty()) return std::nullopt;
  Task t;
  t.id = g_next_task_id++;
  t.work = constant_now();
  constant_task_ = t.id;
  return t;
}

void Scheduler::cancel(std::uint64_t id) {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  if (tasks_.remove(id) == TaskState::processing) cancelled_.insert(id);
  open_.erase(it);
}

std::uint64_t Scheduler::enqueue(Task task, bool front) {
  if (task.id == 0) task.id = g_next_task_id++;
  const std::uint64_t id = task.id;
  open_task(OpenTask(std::move(task)));
  transition(id, TaskState::queued, front);
  return id;
}

int Scheduler::active_workers() const {
  int n = 0;
  for (std::size_t wi = 0; wi < workers_.size(); ++wi)
    if (!workers_[wi].retired && !overdue(wi)) ++n;
  return n;
}

std::vector<int> Scheduler::lost_workers() const {
  std::vector<int> lost;
  for (std::size_t wi = 0; wi < in_flight_.size(); ++wi)
    if (overdue(wi)) lost.push_back(static_cast<int>(wi));
  return lost;
}

std::string Scheduler::worker_state(std::size_t wi, double quiet_after_s) const {
  const bool quiet = workers_[wi].quiet_s > quiet_after_s;
  if (workers_[wi].retired) return "retired";
  if (workers_[wi].lost || (overdue(wi) && quiet)) return "lost";  // as lost_workers counts them
  if (overdue(wi)) return "overdue";
  if (quiet) return "quiet";
  return in_flight_[wi].empty() ? "idle" : "busy";
}

int Scheduler::busy_workers() const {
  int n = 0;
  for (std::size_t wi = 0; wi < in_flight_.size(); ++wi)
    if (!in_flight_[wi].empty() && !overdue(wi)) ++n;
  return n;
}

std::optional<PieceRef> Scheduler::leading_piece() const {
  if (prefix_) return PieceRef::held_here(prefix_);
  if (root_) return root_;
  if (const auto it = pieces_.find(0); it != pieces_.end()) return it->second.ref;
  for (const auto& [id, open] : open_) {
    if (open.task.kind() == TaskKind::merge && open.task.first_range == 0) return open.task.as<Merge>().left;
  }
  for (const auto& [id, sm] : split_) {
    if (sm.merge.first_range == 0) return sm.merge.as<Merge>().left;
  }
  return std::nullopt;
}

std::vector<PieceCapture::Held> Scheduler::held_pieces() const {
  std::vector<PieceCapture::Held> held;
  for (const auto& [first, piece] : pieces_) held.push_back({first, piece.end_range, piece.ref});
  const auto halves = [&](const Task& t) {
    const std::uint64_t mid = t.first_range + (t.end_range - t.first_range) / 2;
    held.push_back({t.first_range, mid, t.as<Merge>().left});
    held.push_back({mid, t.end_range, t.as<Merge>().right});
  };
  for (const auto& [id, open] : open_)
    if (std::holds_alternative<Merge>(open.task.work)) halves(open.task);
  for (const auto& [id, sm] : split_) halves(sm.merge);
  if (root_) held.push_back({0, grid_.size(), *root_});
  if (prefix_) {
    const std::uint64_t last = grid_.tree() ? grid_.size() : prefix_ranges_;
    held.push_back({0, last, PieceRef::held_here(prefix_)});
  }
  return held;
}

std::vector<FinishedPiece> Scheduler::finished_pieces() {
  std::vector<FinishedPiece> out;
  std::vector<std::pair<int, std::uint64_t>> missing;
  for (const PieceCapture::Held& h : held_pieces()) {
    if (const StoredPiece* file = h.ref.here() ? nullptr : capture_.stored(h.ref.owner, h.ref.key)) {
      out.push_back({h.first_range, h.end_range, nullptr, *file});
    } else if (auto data = materialize(h.ref)) {
      out.push_back({h.first_range, h.end_range, std::move(data), std::nullopt});
    } else {
      missing.emplace_back(h.ref.owner, h.ref.key);
    }
  }
  // Left out of this checkpoint, and computed again.
  for (const auto& gone : missing)
    lose_where([&gone](const PieceRef& p) { return p.owner == gone.first && p.key == gone.second; });
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first_range < b.first_range; });
  return out;
}

void Scheduler::begin_capture(std::uint64_t number, const std::filesystem::path& dir, Clock::time_point now) {
  capture_.begin(held_pieces(), number, dir, now);
}

void Scheduler::hold_on_workers(Fetcher fetch, std::uint64_t lead_estimate_bits) {
  if (series_.kind() != SeriesKind::fast) return;  // slow series' sums are a few words: the star it is
  fetch_ = std::move(fetch);
  lead_estimate_bits_ = lead_estimate_bits;
  piece_stats_.on_workers = true;
  // The series' result restored here (a resume after the series): the final steps take it from here.
  if (final_ && prefix_ && !root_ && !fraction_ && open_.empty()) {
    root_ = PieceRef::held_here(std::move(prefix_));
    prefix_.reset();
    queue_final();
  }
}

bool Scheduler::lend_operands(std::uint64_t task_id) {
  const auto it = open_.find(task_id);
  if (it == open_.end()) return false;
  auto* merge = std::get_if<Merge>(&it->second.task.work);
  if (!merge || !merge->left.here() || !merge->right.here() ||
      bits_of(merge->left) + bits_of(merge->right) < config_.lend_merge_bits)
    return false;
  for (PieceRef* operand : {&merge->left, &merge->right}) {
    operand->data.reset();
    operand->owner = PieceRef::kLent;
  }
  ++piece_stats_.merges_lent;
  return true;
}

std::shared_ptr<const PartialResult> Scheduler::materialize(const PieceRef& piece) {
  if (piece.here()) return piece.data;
  if (piece.owner == PieceRef::kLent) return nullptr;  // its merge has it, and frees it as it goes
  if (!fetch_) throw std::logic_error("Scheduler: a piece on a worker, and no way to fetch it");
  std::shared_ptr<const PartialResult> data = fetch_(piece);
  if (!data) return nullptr;
  if (data->range != piece.range || data->values.size() != piece.shape.size()) return nullptr;
  if (!verification_.primes.empty()) {
    const auto t0 = Clock::now();
    const bool good = matches_fingerprint(data->values, piece.residues, verification_.primes);
    verification_.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (!good) {
      ++verification_.mismatches;
      notices_.push_back("the piece of terms [" + std::to_string(piece.range.begin) + ", " +
                         std::to_string(piece.range.end) + ") fetched from rank " +
                         std::to_string(workers_[static_cast<std::size_t>(piece.owner)].rank) +
                         " fails its fingerprint; it is computed again");
      return nullptr;
    }
  }
  ++piece_stats_.fetched;
  return data;
}

void Scheduler::drop(const PieceRef& piece) {
  if (piece.here() || piece.owner < 0) return;
  drops_.emplace_back(piece.owner, piece.key);
  capture_.forget(piece.owner, piece.key);
  const std::pair source{piece.owner, piece.key};
  if (const auto copy = copying_.find(source); copy != copying_.end()) abandon_copy(copy->second);
  if (const auto replica = replicas_.find(source); replica != replicas_.end()) {
    drops_.emplace_back(replica->second.worker, replica->second.key);
    replicas_.erase(replica);
  }
}

std::uint64_t Scheduler::copied_from(int w) const {
  return static_cast<std::uint64_t>(std::count_if(pieces_.begin(), pieces_.end(), [&](const auto& p) {
    const PieceRef& ref = p.second.ref;
    return ref.owner == w && replicas_.contains({ref.owner, ref.key});
  }));
}

void Scheduler::replicate(std::uint64_t first, std::uint64_t last, const PieceRef& piece) {
  if (config_.replicas < 1 || piece.here() || piece.owner < 0 ||
      shape_bits(piece.shape) < config_.replica_min_bits)
    return;
  const std::pair source{piece.owner, piece.key};
  if (replicas_.contains(source) || copying_.contains(source) || !another_worker(piece.owner, {})) return;
  Task t;
  t.first_range = first;
  t.end_range = last;
  t.work = Copy{piece};
  copying_[source] = enqueue(std::move(t));
}

void Scheduler::abandon_copy(std::uint64_t id) {
  const auto it = open_.find(id);
  if (it == open_.end()) return;
  const PieceRef& piece = it->second.task.as<Copy>().piece;
  copying_.erase({piece.owner, piece.key});
  cancel(id);
}

void Scheduler::take_replicas(const std::function<bool(const PieceRef&)>& lost) {
  if (replicas_.empty() && copying_.empty()) return;
  // Copies of lost pieces are given up; copies on lost workers are gone.
  std::vector<std::uint64_t> given_up;
  for (const auto& [source, id] : copying_)
    if (lost(open_.at(id).task.as<Copy>().piece)) given_up.push_back(id);
  for (const std::uint64_t id : given_up) abandon_copy(id);
  std::erase_if(replicas_, [&lost](const auto& entry) {
    PieceRef copy;
    copy.owner = entry.second.worker;
    copy.key = entry.second.key;
    return lost(copy);
  });
  // Every reference to a lost piece with a copy takes the copy's address.
  std::map<std::pair<int, std::uint64_t>, Range> taken;
  const auto take = [&](PieceRef& p) {
    if (p.here() || !lost(p)) return;
    const auto it = replicas_.find({p.owner, p.key});
    if (it == replicas_.end()) return;
    taken.emplace(it->first, p.range);
    p.owner = it->second.worker;
    p.key = it->second.key;
  };
  for (auto& [first, piece] : pieces_) take(piece.ref);
  for (std::optional<PieceRef>* p : {&root_, &fraction_, &constant_})
    if (*p) take(**p);
  for (auto& [id, open] : open_) {
    // (Copies of lost pieces were given up above.)
    for_each_operand(open.task, [&](PieceRef& p, std::uint32_t*) {
      take(p);
      return true;
    });
  }
  for (auto& [id, sm] : split_) {
    Merge& merge = sm.merge.as<Merge>();
    take(merge.left);
    take(merge.right);
    for (PieceRef& part : sm.parts) take(part);
  }
  for (const auto& [source, range] : taken) {
    const Replica& copy = replicas_.at(source);
    ++piece_stats_.from_replicas;
    notices_.push_back(
        "the piece of terms [" + std::to_string(range.begin) + ", " + std::to_string(range.end) +
        ") was lost with rank " + std::to_string(workers_[static_cast<std::size_t>(source.first)].rank) +
        ": its copy on rank " + std::to_string(workers_[static_cast<std::size_t>(copy.worker)].rank) +
        " takes its place");
    replicas_.erase(source);
  }
  // The pieces that lost a copy, or became their copy, are copied again (not those lost without one: they
  // are computed again).
  const auto again = [&](std::uint64_t first, std::uint64_t last, const PieceRef& p) {
    if (!p.here() && !lost(p)) replicate(first, last, p);
  };
  for (const auto& [first, piece] : pieces_) again(first, piece.end_range, piece.ref);
  if (root_) again(0, grid_.size(), *root_);
  if (fraction_) again(0, grid_.size(), *fraction_);
}

std::uint64_t Scheduler::held_by(int w) const {
  std::uint64_t n = 0;
  const auto count = [&](const PieceRef& p) { n += p.owner == w ? 1 : 0; };
  for (const auto& [first, piece] : pieces_) count(piece.ref);
  if (root_) count(*root_);
  if (fraction_) count(*fraction_);
  if (constant_) count(*constant_);
  for (const auto& [id, open] : open_) {
    if (const auto* merge = std::get_if<Merge>(&open.task.work)) {
      count(merge->left);
      count(merge->right);
    }
  }
  for (const auto& [id, sm] : split_) {
    count(sm.merge.as<Merge>().left);
    count(sm.merge.as<Merge>().right);
    for (std::size_t i = 0; i < sm.parts.size(); ++i)
      if (sm.have[i]) count(sm.parts[i]);
    for (const SplitMerge::SpreadProduct& sp : sm.spreads) sp.for_each_held(count);
  }
  for (const auto& [key, f] : final_products_) f.sp.for_each_held(count);
  return n;
}

bool Scheduler::unreachable(int w, std::uint64_t task_id, int owner, std::uint64_t key, bool silent) {
  release(static_cast<std::size_t>(w), task_id, false);
  if (owner < 0 || static_cast<std::size_t>(owner) >= workers_.size()) return true;
  if (const auto open = open_.find(task_id);
      open != open_.end() && open->second.task.kind() == TaskKind::copy) {
    // The piece was merged (and dropped) before its copy came, or its owner is gone: the copy is given up,
    // and only a silent owner is news.
    abandon_copy(task_id);
  }
  // A task no longer wanted (done elsewhere, cancelled, a copy given up) whose piece is no longer held: the
  // piece was dealt with when the task ended; only a silent owner is news.
  if (!silent && !open_.contains(task_id)) {
    cancelled_.erase(task_id);
    return false;
  }
  const auto open = open_.find(task_id);
  notices_.push_back("rank " + std::to_string(workers_[static_cast<std::size_t>(w)].rank) +
                     " could not fetch a piece" +
                     (open != open_.end() ? " for " + describe(open->second.task) : std::string()) +
                     " from rank " + std::to_string(workers_[static_cast<std::size_t>(owner)].rank) +
                     (silent ? (config_.replicas > 0 ? " (no answer): its pieces are taken from their copies "
                                                       "or computed again"
                                                     : " (no answer): its pieces are computed again")
                             : " (it no longer holds it): the piece is computed again"));
  if (silent) {
    // A worker answers fetches between two looks at its messages, whatever it computes: one that does not
    // is taken for lost.
    this->silent(owner);
    lose_where([owner](const PieceRef& p) { return p.owner == owner; });
  } else {
    lose_where([owner, key](const PieceRef& p) { return p.owner == owner && p.key == key; });
  }
  // The task that needed it was cancelled (it waits for the piece again), or is still open if the piece was
  // lost and recomputed before: then it goes back to the queue.
  cancelled_.erase(task_id);
  if (const auto it = open_.find(task_id);
      it != open_.end() && tasks_.state(it->first) == TaskState::processing)
    transition(task_id, TaskState::queued, true);
  return true;
}

void Scheduler::silent(int w) {
  workers_[static_cast<std::size_t>(w)].lost = true;
  for (InFlight& f : in_flight_[static_cast<std::size_t>(w)])
    f.deadline = std::min(f.deadline, Clock::time_point{});
  if (fetch_ && capture_.awaits(w)) lose_where([w](const PieceRef& p) { return p.owner == w; });
}

void Scheduler::let_go(int w) {
  auto& held = in_flight_[static_cast<std::size_t>(w)];
  for (auto it = held.begin(); it != held.end();) {
    if (it->overdue) {  // a lost worker stays lost (lost_workers)
      ++it;
      continue;
    }
    if (const auto open = open_.find(it->task_id);
        open != open_.end() && tasks_.state(open->first) == TaskState::processing) {
      ++retries_;
      transition(it->task_id, TaskState::queued, true);
    }
    it = held.erase(it);
  }
  if (fetch_) lose_where([w](const PieceRef& p) { return p.owner == w; });
}

void Scheduler::lose_where(const std::function<bool(const PieceRef&)>& lost) {
  take_replicas(lost);
  capture_.lose_where(lost);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gone;  // (first, last) grid ranges
  for (auto it = pieces_.begin(); it != pieces_.end();) {
    if (!it->second.ref.here() && lost(it->second.ref)) {
      gone.emplace_back(it->first, it->second.end_range);
      it = pieces_.erase(it);
    } else {
      ++it;
    }
  }
  // A merge with a lost operand waits for it again; its other operand waits for its sibling.
  const auto unmerge = [&](const Task& t, const PieceRef& left, const PieceRef& right) {
    const bool left_lost = !left.here() && lost(left);
    const bool right_lost = !right.here() && lost(right);
    if (!left_lost && !right_lost) return false;
    const std::uint64_t mid = t.first_range + (t.end_range - t.first_range) / 2;
    if (left_lost) {
      gone.emplace_back(t.first_range, mid);
    } else {
      pieces_.emplace(t.first_range, Piece{mid, left});
    }
    if (right_lost) {
      gone.emplace_back(mid, t.end_range);
    } else {
      pieces_.emplace(mid, Piece{t.end_range, right});
    }
    return true;
  };
  std::vector<std::uint64_t> merges;
  for (const auto& [id, open] : open_) {
    if (const auto* merge = std::get_if<Merge>(&open.task.work);
        merge && unmerge(open.task, merge->left, merge->right)) {
      merges.push_back(id);
    }
  }
  // The final steps wait for a lost root; conversion blocks for a lost fraction, unless a block's worker
  // kept a copy of it (the blocks are addressed again as they are assigned: fraction_source).
  std::erase_if(fraction_copies_, [&lost](const PieceRef& copy) { return lost(copy); });
  if (fraction_ && !fraction_->here() && lost(*fraction_) && !fraction_copies_.empty()) {
    notices_.push_back(
        "the final value's fraction was lost with rank " +
        std::to_string(workers_[static_cast<std::size_t>(fraction_->owner)].rank) +
        ": the copy a conversion block kept on rank " +
        std::to_string(workers_[static_cast<std::size_t>(fraction_copies_.back().owner)].rank) +
        " takes its place");
    fraction_ = fraction_copies_.back();
    fraction_copies_.pop_back();
  }
  const bool root_lost = root_ && !root_->here() && lost(*root_);
  const bool fraction_lost = fraction_ && !fraction_->here() && lost(*fraction_);
  const bool constant_lost = constant_ && !constant_->here() && lost(*constant_);
  if (root_lost) root_.reset();
  if (fraction_lost) fraction_.reset();
  if (constant_lost) constant_.reset();
  bool final_again = false;  // final steps that were to take the lost constant go without it
  for (const auto& [id, open] : open_) {
    const auto* steps = std::get_if<FinalSteps>(&open.task.work);
    if (steps && !root_lost && constant_lost && steps->constant) {  // it was constant_ (queue_final)
      merges.push_back(id);
      final_again = true;
    } else if (steps && root_lost) {
      merges.push_back(id);
    } else if (const auto* block = std::get_if<Digits>(&open.task.work); block && fraction_lost) {
      waiting_blocks_.push_back(*block);
      waiting_blocks_.back().fraction = PieceRef{};
      merges.push_back(id);
    }
  }
  if (root_lost && (keep_root_ || !fraction_)) gone.emplace_back(0, grid_.size());
  for (const std::uint64_t id : merges) cancel(id);
  if ((fraction_lost || final_again) && root_) queue_final();
  // The final steps' spread products: one whose factors were lost goes with its final steps (their worker
  // is lost); one that lost a part's output starts again.
  std::vector<FinalProductKey> ended, again;
  for (const auto& [key, f] : final_products_) {
    if (lost(f.a) || lost(f.b)) {
      ended.push_back(key);
      continue;
    }
    bool output_lost = false;
    f.sp.for_each_held([&](const PieceRef& p) { output_lost = output_lost || (!p.here() && lost(p)); });
    if (output_lost) again.push_back(key);
  }
  for (const FinalProductKey& key : ended) end_final_product(key);
  for (const FinalProductKey& key : again) {
    notices_.push_back("product " + std::to_string(key.second + 1) +
                       " of the final steps lost a part's output with its worker: it starts again from its "
                       "factors");
    restart_final_product(key);
  }
  for (auto it = split_.begin(); it != split_.end();) {
    SplitMerge& sm = it->second;
    const Task& t = sm.merge;
    const bool unmerged = unmerge(t, t.as<Merge>().left, t.as<Merge>().right);
    if (!unmerged && sm.spread > 0) {
      // The factors are there: a spread product that lost a part's output (of any phase) starts again from
      // them. (Its outputs are pure functions of the factors, but a phase's part reads every part of the
      // phase before: one lost output would hold up the phase after it anyway.)
      for (std::size_t p = 0; p < sm.spreads.size(); ++p) {
        const SplitMerge::SpreadProduct& sp = sm.spreads[p];
        bool product_lost = false;
        const auto check = [&](const PieceRef& piece) {
          product_lost = product_lost || (!piece.here() && lost(piece));
        };
        sp.for_each_held(check);
        for (std::uint32_t j = 0; sp.done && j < sm.spread; ++j) check(sm.parts[p * sm.spread + j]);
        if (product_lost) {
          notices_.push_back("product " + std::to_string(p + 1) + " of the " + describe(sm.merge) +
                             " lost a part's output with its worker: it starts again from its factors");
          restart_spread(it->first, p);
        }
      }
      ++it;
      continue;
    }
    if (!unmerged) {
      // The operands are there: a lost part is computed again by its product task, and an assembly that
      // needed it waits for that.
      bool part_lost = false;
      for (std::size_t i = 0; i < sm.parts.size(); ++i) {
        if (!sm.have[i] || sm.parts[i].here() || !lost(sm.parts[i])) continue;
        sm.parts[i] = PieceRef{};
        sm.have[i] = false;
        ++sm.missing;
        part_lost = true;
        queue_part(it->first, i);
      }
      if (part_lost && sm.assembly != 0) {
        cancel(sm.assembly);
        sm.assembly = 0;
      }
      ++it;
      continue;
    }
    std::vector<std::uint64_t> parts;
    for (const auto& [id, open] : open_) {
      const auto* product = std::get_if<Product>(&open.task.work);
      const auto* spread = std::get_if<Spread>(&open.task.work);
      if ((product && product->merge == it->first) || (spread && spread->merge == it->first) ||
          id == sm.assembly)
        parts.push_back(id);
    }
    for (const std::uint64_t id : parts) cancel(id);
    for (std::size_t i = 0; i < sm.parts.size(); ++i)
      if (sm.have[i]) drop(sm.parts[i]);
    for (const SplitMerge::SpreadProduct& sp : sm.spreads)
      sp.for_each_held([this](const PieceRef& p) { drop(p); });
    it = split_.erase(it);
  }
  for (const auto& [first, last] : gone) recompute(first, last, "its piece was lost with its worker");
}

void Scheduler::recompute(std::uint64_t first, std::uint64_t last, const std::string& why) {
  // A lost piece is computed again from its lineage: its grid ranges evaluated as aligned nodes of the tree,
  // as many as twice the workers (a lost root at 1e8 digits would otherwise be one worker's 90 s alone),
  // which merge back up like any pieces; the merges inside it count no work a second time (redone).
  const std::uint64_t most = config_.recompute_parts
                                 ? config_.recompute_parts
                                 : 2 * static_cast<std::uint64_t>(std::max(1, active_workers()));
  // Grid ranges [first, last) as one evaluation task.
  const auto evaluation = [this](std::uint64_t a, std::uint64_t b) {
    Task t;
    t.first_range = a;
    t.end_range = b;
    t.work = Evaluate{grid_.span(a, b), grid_.step(), b == grid_.size()};
    return t;
  };
  const std::uint64_t size = last - first;
  const bool node = grid_.tree() && std::has_single_bit(size) && first % size == 0;
  const std::uint64_t parts = node ? std::min(size, std::bit_floor(most)) : 1;
  if (parts > 1) recomputing_.emplace(first, last);
  ++piece_stats_.recomputed;
  notices_.push_back(describe(evaluation(first, last)) + ": " + why + "; computed again" +
                     (parts > 1 ? " as " + std::to_string(parts) + " evaluations and their merges" : ""));
  // parts is 1 or a power of two dividing size.
  for (std::uint64_t a = first; a < last; a += size / parts)
    recomputes_.insert(enqueue(evaluation(a, a + size / parts), true));
}

void Scheduler::count_merge(const Task& merge) {
  // A merge inside a lost piece computed again: its work was counted when the piece was first made.
  if (!redone(merge.first_range, merge.end_range)) work_done_ += task_work(merge);
}

bool Scheduler::redone(std::uint64_t first, std::uint64_t last) {
  auto it = recomputing_.upper_bound(first);
  if (it == recomputing_.begin()) return false;
  --it;
  while (true) {
    if (it->first <= first && last <= it->second) {
      if (it->first == first && it->second == last) recomputing_.erase(it);
      return true;
    }
    if (it == recomputing_.begin()) return false;
    --it;
  }
}

void Scheduler::restore(std::vector<FinishedPiece> pieces) {
  if (frontier_ != 0 || !open_.empty() || prefix_ || !pieces_.empty()) {
    throw std::logic_error("Scheduler::restore after the run started");
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const auto& a, const auto& b) { return a.first_range < b.first_range; });
  std::uint64_t covered = 0;
  for (const FinishedPiece& p : pieces) {
    const std::uint64_t size = p.end_range - p.first_range;
    const auto where = [&p] {
      return "ranges " + std::to_string(p.first_range) + ".." + std::to_string(p.end_range);
    };
    if (p.end_range <= p.first_range || p.end_range > grid_.size() || p.first_range < covered) {
      throw std::invalid_argument(where() + " overlap another piece or lie outside the grid of " +
                                  std::to_string(grid_.size()) + " ranges");
    }
    if (grid_.tree() && (!std::has_single_bit(size) || p.first_range % size != 0)) {
      throw std::invalid_argument(where() + " are not a node of the merge tree");
    }
    const bool in_file = !p.result && p.file && !p.load_from.empty();
    if (!in_file && !p.result) throw std::invalid_argument(where() + " hold no result and name no file");
    if ((in_file ? p.file->range : p.result->range) != grid_.span(p.first_range, p.end_range)) {
      throw std::invalid_argument(where() + " hold a result for other terms");
    }
    covered = p.end_range;
  }
  if (!verification_.primes.empty()) {
    const auto t0 = Clock::now();
    for (const FinishedPiece& p : pieces) {
      if (!p.result) continue;  // its worker's residues are checked when it is read (Load)
      Residues expected =
          series_.fingerprint(p.result->range, p.end_range == grid_.size(), verification_.primes);
      const int bad = first_mismatch(residues_of(p.result->values, verification_.primes), expected,
                                     verification_.primes.size());
      if (bad >= 0) {
        throw std::invalid_argument(
            "ranges " + std::to_string(p.first_range) + ".." + std::to_string(p.end_range) + " (terms [" +
            std::to_string(p.result->range.begin) + ", " + std::to_string(p.result->range.end) +
            ")) fail their fingerprint: value " + std::to_string(bad) + " is not what the terms give");
      }
      ++verification_.pieces;
      fingerprints_[{p.first_range, p.end_range}] = std::move(expected);
    }
    verification_.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  }
  restoring_ = true;
  for (FinishedPiece& p : pieces) {
    Task done;
    done.first_range = p.first_range;
    done.end_range = p.end_range;
    work_done_ += task_work(done);
    ranges_done_ += p.end_range - p.first_range;
    restored_.emplace(p.first_range, p.end_range);
    if (!p.result) {
      Task load;
      load.first_range = p.first_range;
      load.end_range = p.end_range;
      load.work = Load{p.load_from.string(), p.file->bytes,  p.file->crc32,
                       p.file->range,        p.file->values, p.end_range == grid_.size()};
      loading_.insert(enqueue(std::move(load)));
      continue;
    }
    add_piece(p.first_range, p.end_range, PieceRef::held_here(std::move(p.result)));
  }
  restoring_ = false;
}

namespace {

// A well-mixed 64-bit hash (splitmix64's finaliser): which ranges are duplicated depends on the range only.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

bool Scheduler::another_worker(int w, const std::set<int>& excluded) const {
  for (std::size_t o = 0; o < workers_.size(); ++o) {
    const int other = static_cast<int>(o);
    if (other != w && !workers_[o].retired && !overdue(o) && !excluded.contains(other)) return true;
  }
  return false;
}

bool Scheduler::wants_duplicate(const Task& task, int w) const {
  if (grid_.tree() || config_.duplicate_share <= 0 || workers_.size() < 2) return false;
  if (!another_worker(w, {})) return false;  // none could compute it again
  const double u = static_cast<double>(mix(task.first_range) >> 11) * 0x1p-53;
  return !workers_[static_cast<std::size_t>(w)].duplicated || u < config_.duplicate_share;
}

void Scheduler::start_duplicate(const Task& task, int w, PartialResult result) {
  workers_[static_cast<std::size_t>(w)].duplicated = true;
  ++verification_.duplicated;
  Task again = task;
  again.id = g_next_task_id++;
  duplicates_[task.first_range] = Duplicate{task, {{w, std::move(result)}}};
  duplicate_tasks_[again.id] = task.first_range;
  open_task(OpenTask(again, {w}));  // another worker than the first, when there is one
  transition(again.id, TaskState::queued, true);
}

void Scheduler::settle_duplicate(std::uint64_t task_id, int w, PartialResult result) {
  const std::uint64_t first = duplicate_tasks_.at(task_id);
  duplicate_tasks_.erase(task_id);
  Duplicate& d = duplicates_.at(first);
  d.results.emplace_back(w, std::move(result));
  std::size_t agreed = 0;  // the index of the result that stands
  if (d.results.size() == 2) {
    if (!(d.results[0].second == d.results[1].second)) {
      ++verification_.disagreements;
      notices_.push_back(describe(d.task) + ": ranks " +
                         std::to_string(workers_[static_cast<std::size_t>(d.results[0].first)].rank) +
                         " and " +
                         std::to_string(workers_[static_cast<std::size_t>(d.results[1].first)].rank) +
                         " disagree; a third worker decides");
      Task third = d.task;
      third.id = g_next_task_id++;
      duplicate_tasks_[third.id] = first;
      open_task(OpenTask(third, {d.results[0].first, d.results[1].first}));
      transition(third.id, TaskState::queued, true);
      return;
    }
  } else {
    const PartialResult& decider = d.results[2].second;
    const int with = decider == d.results[0].second ? 0 : decider == d.results[1].second ? 1 : -1;
    if (with < 0) {
      std::string msg = describe(d.task) + ": three workers gave three different sums; the job stops";
      notices_.push_back(msg);
      throw PoisonedRange(msg);
    }
    agreed = static_cast<std::size_t>(with);
    WorkerStats& odd = workers_[static_cast<std::size_t>(d.results[1 - agreed].first)];
    ++odd.failures;
    ++odd.mismatches;
    ++verification_.mismatches;
    last_refusal_ = "rank " + std::to_string(odd.rank) + ": its sum of " + describe(d.task) +
                    " disagrees with two other workers' (theirs is kept)";
    notices_.push_back(last_refusal_);
    retire_if_failing(odd);
  }
  PartialResult standing = std::move(d.results[agreed].second);
  const Task task = d.task;
  duplicates_.erase(first);
  ranges_done_ += task.end_range - task.first_range;
  add_piece(task.first_range, task.end_range,
            PieceRef::held_here(std::make_shared<PartialResult>(std::move(standing))));
}

void Scheduler::verify_with(std::vector<std::uint64_t> primes) {
  if (frontier_ != 0 || !open_.empty() || prefix_ || !pieces_.empty())
    throw std::logic_error("Scheduler::verify_with after the run started");
  if (!primes.empty() && !series_.fingerprinted())
    throw std::logic_error("Scheduler::verify_with: " + std::string(series_.name()) + " has no fingerprints");
  verification_.primes = std::move(primes);
}

void Scheduler::keep_fingerprint(std::uint64_t first, std::uint64_t last, Residues fingerprint) {
  // A merged node's halves are no longer needed (an evaluation's grid ranges had none).
  const std::uint64_t mid = first + (last - first) / 2;
  fingerprints_.erase({first, mid});
  fingerprints_.erase({mid, last});
  fingerprints_[{first, last}] = std::move(fingerprint);
}

Residues Scheduler::merged_fingerprint(std::uint64_t first, std::uint64_t last) {
  const std::uint64_t mid = first + (last - first) / 2;
  const auto left = fingerprints_.find({first, mid});
  const auto right = fingerprints_.find({mid, last});
  if (left == fingerprints_.end() || right == fingerprints_.end())
    throw std::logic_error("Scheduler: a merge's operand has no fingerprint");
  return series_.combine_fingerprints(left->second, right->second, verification_.primes);
}

std::optional<std::string> Scheduler::check(const Task& task, const TaskOutput& out, Residues& expected) {
  const auto& primes = verification_.primes;
  if (primes.empty()) return std::nullopt;
  const auto t0 = Clock::now();
  const struct Timer {
    VerificationStats& v;
    Clock::time_point t0;
    ~Timer() { v.seconds += std::chrono::duration<double>(Clock::now() - t0).count(); }
  } timer{verification_, t0};
  const std::size_t np = primes.size();
  if (task.kind() == TaskKind::digits) {
    ++verification_.blocks;
    if (out.residues.size() != np) return "no check value for " + describe(task);
    for (std::size_t j = 0; j < np; ++j) {
      if (decimal_residue(out.digits, primes[j]) != out.residues[j])
        return "the text of " + describe(task) + " does not spell the integer it was converted from";
    }
    return std::nullopt;
  }
  // A kept piece did not travel: its worker's residues are all there is, and they must be the predicted
  // ones. Integers that did travel must be those the worker fingerprinted.
  const Residues received = out.kept ? out.residues : residues_of(out.result.values, primes);
  const std::size_t values = out.kept ? out.shape.size() : out.result.values.size();
  if (out.residues.size() != received.size() || out.residues.size() != values * np)
    return "no fingerprint with the result of " + describe(task);
  if (out.residues != received) {
    return "the integers of " + describe(task) + " that arrived are not those the worker fingerprinted";
  }
  // A division and a square root have no fingerprint to predict: the final value is checked against BBP's
  // digits and its range (FinalVerification); its fraction's residues are what conversion blocks check.
  // Nor the transforms of a spread product's phases: the merge put together from them is checked.
  if (task.kind() == TaskKind::final_steps || task.kind() == TaskKind::constant ||
      task.kind() == TaskKind::spread)
    return std::nullopt;
  if (const auto* product = std::get_if<Product>(&task.work)) {
    ++verification_.products;
    const std::uint64_t mid = task.first_range + (task.end_range - task.first_range) / 2;
    const Residues& left = fingerprints_.at({task.first_range, mid});
    const Residues& right = fingerprints_.at({mid, task.end_range});
    const bool negative = product->right.shape.at(product->factor_right) < 0;
    // The factor's residues: a slice's from its integer, a whole value's from the fingerprint (its absolute
    // value's).
    const std::optional<BigInt> slice =
        product->slices > 1 ? std::optional<BigInt>(product_factor(*product)) : std::nullopt;
    expected.resize(np);
    for (std::size_t j = 0; j < np; ++j) {
      std::uint64_t factor = 0;
      if (slice) {
        factor = residue_of(*slice, primes[j]);
      } else {
        factor = right[product->factor_right * np + j];
        if (negative && factor != 0) factor = primes[j] - factor;
      }
      expected[j] = static_cast<std::uint64_t>(static_cast<Uint128>(left[product->factor_left * np + j]) *
                                               factor % primes[j]);
    }
  } else if (const auto* copy = std::get_if<Copy>(&task.work)) {
    expected = copy->piece.residues;  // the piece's own, checked when it was made
  } else {
    ++verification_.pieces;
    const auto* evaluate = std::get_if<Evaluate>(&task.work);
    const auto* load = std::get_if<Load>(&task.work);
    expected = evaluate ? series_.fingerprint(evaluate->range, evaluate->is_suffix, primes)
               : load   ? series_.fingerprint(load->range, load->is_suffix, primes)
                        : merged_fingerprint(task.first_range, task.end_range);
  }
  const int bad = first_mismatch(received, expected, np);
  if (bad < 0) return std::nullopt;
  return "value " + std::to_string(bad) + " of the result of " + describe(task) +
         " fails its fingerprint (not what the terms give)";
}

bool Scheduler::check_own_merge(const Task& merge, const PartialResult& result, bool parts_from_workers) {
  if (verification_.primes.empty()) return true;
  const auto t0 = Clock::now();
  Residues expected = merged_fingerprint(merge.first_range, merge.end_range);
  const int bad =
      first_mismatch(residues_of(result.values, verification_.primes), expected, verification_.primes.size());
  verification_.seconds += std::chrono::duration<double>(Clock::now() - t0).count();
  if (bad >= 0) {
    ++verification_.mismatches;
    if (parts_from_workers) return false;
    throw std::runtime_error("the coordinator's own " + describe(merge) + " fails its fingerprint (value " +
                             std::to_string(bad) +
                             "): this node's memory may be failing; resume the job from its checkpoint, "
                             "elsewhere if it happens again");
  }
  ++verification_.pieces;
  keep_fingerprint(merge.first_range, merge.end_range, std::move(expected));
  return true;
}

void Scheduler::add_fraction_copy(int w, std::uint64_t key) {
  for (const PieceRef& copy : fraction_copies_)
    if (copy.owner == w && copy.key == key) return;
  PieceRef copy = *fraction_;
  copy.owner = w;
  copy.key = key;
  fraction_copies_.push_back(std::move(copy));
  ++piece_stats_.fraction_copies;
}

void Scheduler::fetched(int w, std::uint64_t task_id) {
  const auto it = open_.find(task_id);
  if (it == open_.end() || !fraction_ || tasks_.state(it->first) != TaskState::processing ||
      it->second.task.kind() != TaskKind::digits || !it->second.task.keep)
    return;
  // Only from the worker the block is with (a late word from one it was taken from is ignored).
  const auto& held = in_flight_[static_cast<std::size_t>(w)];
  if (std::none_of(held.begin(), held.end(), [&](const InFlight& f) { return f.task_id == task_id; })) return;
  fraction_fetched_.insert(task_id);
  add_fraction_copy(w, task_id);
}

std::optional<PieceRef> Scheduler::fraction_source(int w) const {
  if (!fraction_ || fraction_->here() || !fetch_) return fraction_;
  if (fraction_->owner == w) return fraction_;
  for (const PieceRef& copy : fraction_copies_)
    if (copy.owner == w) return copy;
  // Blocks under way that are still fetching the fraction (assigned, not yet fetched nor answered), by
  // the worker they read it from; a block that reads its own worker's copy fetches nothing.
  std::map<int, int> serving;
  for (std::size_t wi = 0; wi < in_flight_.size(); ++wi) {
    for (const InFlight& f : in_flight_[wi]) {
      const auto it = open_.find(f.task_id);
      if (it == open_.end() || tasks_.state(it->first) != TaskState::processing ||
          fraction_fetched_.contains(f.task_id))
        continue;
      if (const auto* block = std::get_if<Digits>(&it->second.task.work);
          block && !block->part && block->fraction.owner != static_cast<int>(wi))
        ++serving[block->fraction.owner];
    }
  }
  // A holder taken for lost comes last: a block sent there fails its fetch at once, and that failure is what
  // makes its pieces lost (lose_where), copies taking their place.
  const PieceRef* best = nullptr;
  std::pair<bool, int> least{true, kFractionServes};
  const auto consider = [&](const PieceRef& holder) {
    const std::pair<bool, int> rank{workers_[static_cast<std::size_t>(holder.owner)].lost,
                                    serving[holder.owner]};
    if (rank.second < kFractionServes && (!best || rank < least)) {
      least = rank;
      best = &holder;
    }
  };
  consider(*fraction_);
  for (const PieceRef& copy : fraction_copies_) consider(copy);
  if (!best) return std::nullopt;
  return *best;
}

void Scheduler::convert(const PieceRef& fraction, std::uint64_t scale_bits, std::uint64_t decimals,
                        std::uint64_t blocks) {
  if (!finished()) throw std::logic_error("Scheduler::convert before the series is done");
  digit_blocks_.clear();
  if (summary_ && fraction_ && !summary_->parts.empty() && !fraction.here() && !fraction_->here() &&
      fraction.owner == fraction_->owner && fraction.key == fraction_->key &&
      scale_bits == summary_->scale_bits &&
      summary_->parts.back().first + summary_->parts.back().count == decimals) {
    blocks_ = summary_->parts.size();
    for (std::uint32_t k = 0; k < summary_->parts.size(); ++k) {
      Task t;
      t.work = part_block(fraction, *summary_, k);
      enqueue(std::move(t));
    }
    return;
  }
  blocks = std::clamp<std::uint64_t>(blocks, 1, std::max<std::uint64_t>(1, decimals));
  blocks_ = blocks;
  const std::vector<std::uint64_t> edges = block_edges(decimals, blocks);
  for (std::uint64_t i = 0; i < blocks; ++i) {
    Task t;
    t.work = Digits{fraction, scale_bits, edges[i], edges[i + 1] - edges[i], std::nullopt, 0};
    enqueue(std::move(t));
  }
}

std::uint64_t Scheduler::conversion_parts_for(std::uint64_t decimals, std::uint64_t workers,
                                              std::uint64_t most) {
  const std::uint64_t parts = std::min({workers, decimals / kMinBlockDecimals, most});
  return parts >= 2 ? parts : 0;
}

std::vector<std::uint64_t> Scheduler::block_edges(std::uint64_t decimals, std::uint64_t blocks) {
  const double d = static_cast<double>(decimals);
  const double extra = kLaterBlockExtra * d;
  const double first = (d + static_cast<double>(blocks - 1) * extra) / static_cast<double>(blocks);
  const double later = (d - extra) / static_cast<double>(blocks);
  std::vector<std::uint64_t> edges{0};
  for (std::uint64_t i = 1; i < blocks; ++i)
    edges.push_back(std::min(decimals - (blocks - i),
                             static_cast<std::uint64_t>(first + static_cast<double>(i - 1) * later)));
  edges.push_back(decimals);
  return edges;
}

std::uint64_t Scheduler::blocks_done() const {
  std::uint64_t done = 0;
  for (const WorkerStats& w : workers_) done += w.digit_blocks;
  return done;
}

std::string Scheduler::take_digits() {
  if (!finished()) throw std::logic_error("Scheduler::take_digits before the conversion is done");
  // Block by block, each freed once copied, so that the text is held about once (room for the point that
  // certification inserts).
  std::size_t size = 1;
  for (const auto& [first, block] : digit_blocks_) size += block.size();
  std::string text;
  text.reserve(size);
  for (auto it = digit_blocks_.begin(); it != digit_blocks_.end(); it = digit_blocks_.erase(it))
    text += it->second;
  return text;
}

std::shared_ptr<const PartialResult> Scheduler::take_root() {
  if (!finished() || result_taken_) throw std::logic_error("Scheduler::take_root before the job finished");
  result_taken_ = true;
  return std::exchange(prefix_, nullptr);
}

}  // namespace pi
