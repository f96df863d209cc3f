// The scheduler on its own, with a simulated clock and simulated workers: every grid range is computed,
// results equal a direct evaluation whatever the order, and each failure path does what it promises.
#include "coordinator/scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "../support/reference.hpp"
#include "coordinator/grid.hpp"
#include "series/decimal.hpp"

namespace pi {
namespace {

using Clock = Scheduler::Clock;
using namespace std::chrono_literals;

struct Sim {
  std::unique_ptr<Series> series;
  Grid grid;
  Scheduler scheduler;
  Clock::time_point now = Clock::time_point{} + 1h;

  Sim(const std::string& name, std::uint64_t terms, int workers, SchedulerConfig config = {})
      : series(make_series(name)),
        grid(*series, terms),
        scheduler(*series, grid, config, workers),
        series_name(name) {}
  // Final steps carried out on a series of their own, as on a worker that computed nothing else (whose
  // cache has no constant but the one the task brings).
  bool fresh_final = false;
  std::string series_name;

  // Runs tasks on `workers` simulated workers, finishing them in a shuffled order, until done (or until
  // `stop_after` tasks completed, leaving the others running: a later call goes on with them).
  std::vector<std::pair<int, Task>> running;   // tasks out when run_shuffled stopped
  std::map<TaskKind, int> assigned;            // tasks handed out, by kind
  std::vector<Range> evaluated;                // the terms of each evaluation handed out, in order
  std::uint32_t most_slices = 0;               // the most slices a product was cut into
  std::map<std::uint32_t, int> spread_phases;  // spread product parts handed out, by phase

  // Pieces on the simulated workers (hold_on_workers): what each keeps, by (worker, key), and what
  // happened to them.
  std::map<std::pair<int, std::uint64_t>, std::shared_ptr<const PartialResult>> stores;
  std::set<int> dead;  // workers that take no task and answer no fetch
  int kept = 0;        // results a worker kept
  int fetched = 0;     // operands a worker fetched from another
  std::map<int, int>
      block_sources;  // conversion blocks handed out, by the worker they read the fraction from
  std::set<std::uint64_t> told_fetched;  // blocks whose worker told the scheduler it has the fraction
  void say_fetched(int w, std::uint64_t id) {
    told_fetched.insert(id);
    scheduler.fetched(w, id);
  }
  int fetched_here = 0;  // pieces the coordinator fetched
  // Fingerprints from `seed`, and the pieces on the workers.
  void fingerprinted_on_workers(unsigned seed) {
    scheduler.verify_with(primes_from_seed(2, seed));
    hold_on_workers();
  }
  void hold_on_workers() {
    scheduler.hold_on_workers(
        [this](const PieceRef& p) -> std::shared_ptr<const PartialResult> {
          const auto it = stores.find({p.owner, p.key});
          if (dead.contains(p.owner) || it == stores.end()) return nullptr;
          ++fetched_here;
          return it->second;
        },
        256);
  }
  // Worker `w`'s side of a task's operands: those other workers hold are fetched (false: one could not be).
  bool fetch_operands(int w, Task& task) {
    return for_each_operand(task, [&](PieceRef& p, std::uint32_t*) {
      if (p.here()) return true;
      const auto it = stores.find({p.owner, p.key});
      if (dead.contains(p.owner) || it == stores.end()) {
        scheduler.unreachable(w, task.id, p.owner, p.key, dead.contains(p.owner));
        return false;
      }
      if (p.owner != w) ++fetched;
      p.data = it->second;
      return true;
    });
  }

  // Worker w dies silently with its pieces and its task under way, and the scheduler is told it is silent:
  // the workers expire() then takes for lost.
  std::vector<int> lose_silently(int w) {
    dead.insert(w);
    std::erase_if(stores, [w](const auto& e) { return e.first.first == w; });
    std::erase_if(running, [w](const auto& r) { return r.first == w; });
    scheduler.silent(w);
    return scheduler.expire(now);
  }

  void run_shuffled(int workers, unsigned seed, std::size_t stop_after = SIZE_MAX) {
    std::mt19937 rng(seed);
    for (std::size_t completed = 0; !scheduler.finished() && completed < stop_after; ++completed) {
      for (int w = 0; w < workers; ++w) {
        const bool idle = std::none_of(running.begin(), running.end(), [&](auto& r) { return r.first == w; });
        if (!idle || dead.contains(w)) continue;
        if (auto t = scheduler.assign(w, now)) {
          ++assigned[t->kind()];
          if (const auto* e = std::get_if<Evaluate>(&t->work)) evaluated.push_back(e->range);
          most_slices = std::max(most_slices, t->kind() == TaskKind::product ? t->as<Product>().slices : 0);
          if (const auto* spread = std::get_if<Spread>(&t->work)) ++spread_phases[spread->phase];
          if (const auto* copy = std::get_if<Copy>(&t->work)) {
            EXPECT_NE(copy->piece.owner, w) << "a copy on the worker that holds the piece";
          }
          if (const auto* block = std::get_if<Digits>(&t->work); block && !block->fraction.here()) {
            ++block_sources[block->fraction.owner];
            if (block->part) {
              EXPECT_FALSE(t->keep) << "a part's block keeps nothing";
            }
          }
          // Whole-fraction blocks only: a part's block reads its small share from the final steps' piece
          // and keeps nothing.
          if (const auto* block = std::get_if<Digits>(&t->work);
              block && !block->fraction.here() && !block->part) {
            // Blocks fetching from the same holder (not those reading their own worker's copy).
            auto reading = std::count_if(running.begin(), running.end(), [&](const auto& r) {
              const auto* other = std::get_if<Digits>(&r.second.work);
              return other && !other->part && other->fraction.owner == block->fraction.owner &&
                     r.first != other->fraction.owner && !told_fetched.contains(r.second.id);
            });
            if (block->fraction.owner == w) reading = 0;
            EXPECT_LT(reading, Scheduler::kFractionServes)
                << "too many blocks read from one worker: block " << t->id << " to " << w << " from "
                << block->fraction.owner << "; " << [&] {
                     std::string s;
                     for (const auto& r : running)
                       if (const auto* o = std::get_if<Digits>(&r.second.work))
                         s += std::to_string(r.second.id) + "@" + std::to_string(r.first) + "<" +
                              std::to_string(o->fraction.owner) + " ";
                     return s;
                   }();
            EXPECT_EQ(t->keep, block->fraction.owner != w) << "a block keeps what it fetched, only that";
          }
          running.emplace_back(w, std::move(*t));
        }
      }
      ASSERT_FALSE(running.empty()) << "no task running but not finished";
      std::uniform_int_distribution<std::size_t> pick(0, running.size() - 1);
      const std::size_t i = pick(rng);
      auto [w, task] = std::move(running[i]);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      now += 10ms;
      run_one(w, std::move(task));
    }
  }
  // Once the scheduler is finished: the tasks it still hands out (copies, which it does not wait for) and
  // those still out, each carried out, until there are none.
  void finish_running(int workers) {
    for (;;) {
      for (int w = 0; w < workers; ++w) {
        if (dead.contains(w)) continue;
        if (auto t = scheduler.assign(w, now)) running.emplace_back(w, std::move(*t));
      }
      if (running.empty()) return;
      for (auto& [w, task] : std::exchange(running, {})) run_one(w, std::move(task));
    }
  }
  // Worker `w` carries out `task` and answers.
  void run_one(int w, Task task) {
    if (before_running) before_running(w, task);
    if (!fetch_operands(w, task)) return;
    const std::unique_ptr<Series> own =
        fresh_final && task.kind() == TaskKind::final_steps ? make_series(series_name) : nullptr;
    TaskOutput out;
    std::shared_ptr<const PartialResult> copied;  // a copy task's piece, kept as it came
    if (task.kind() == TaskKind::copy) {
      copied = carry_out_copy(task, out);
    } else if (const auto* load = std::get_if<Load>(&task.work)) {
      // A piece file: what `disk` holds under its path, or no such file.
      const auto file = disk.find(load->path);
      if (file == disk.end()) {
        scheduler.fail(w, task.id, "piece file " + load->path + ": no such file here");
        return;
      }
      out.result = *file->second;
      seal(out, task);
    } else {
      try {
        out = carry_out(own ? *own : *series, task);
      } catch (const std::exception& e) {  // as a worker: rank 0 hears why
        scheduler.fail(w, task.id, e.what());
        return;
      }
    }
    if (damages && damages(w, task)) {
      // A silent error: one bit of the last non-zero value, after the worker fingerprinted it or before.
      for (auto v = out.result.values.rbegin(); v != out.result.values.rend(); ++v) {
        if (*v == 0) continue;
        mpz_combit(raw(*v), mpz_sizeinbase(raw(*v), 2) / 3);
        break;
      }
      if (task.id % 2 == 0) seal(out, task);
    }
    if (auto piece = copied ? std::move(copied) : keep_piece(*series, task, out)) {
      ++kept;
      stores[{w, task.id}] = std::move(piece);
    }
    scheduler.complete(w, task.id, std::move(out), 0.01);
    for (const auto& [owner, key] : scheduler.take_drops()) stores.erase({owner, key});
  }
  // Which results come back damaged (none by default).
  std::function<bool(int, const Task&)> damages;
  // Called as worker `w` starts `task`, before it fetches its operands (tests look in between).
  std::function<void(int, const Task&)> before_running;
  // The piece files workers read (Load), by path.
  std::map<std::string, std::shared_ptr<const PartialResult>> disk;
};

TEST(Scheduler, ShuffledCompletionGivesTheDirectEvaluationExactly) {
  for (const char* name : {"chudnovsky", "machin", "leibniz"}) {
    const std::uint64_t terms = std::string(name) == "leibniz" ? (kSlowRangeTerms * 5 + 77) : 20011;
    const auto series = make_series(name);
    const PartialResult direct =
        series->kind() == SeriesKind::fast ? series->evaluate({0, terms}, true) : PartialResult{};
    for (unsigned seed : {1u, 2u, 3u}) {
      Sim sim(name, terms, 3);
      sim.run_shuffled(3, seed);
      const PartialResult r = sim.scheduler.take_result();
      EXPECT_EQ(r.range, (Range{0, terms}));
      if (series->kind() == SeriesKind::fast) {
        EXPECT_EQ(r, direct) << name << " seed " << seed;
      } else {
        // Slow series: the same grid summed range by range, in order, by a plain loop.
        PartialResult acc = series->evaluate(sim.grid.range(0), false);
        for (std::size_t i = 1; i < sim.grid.size(); ++i)
          acc = series->combine(acc, series->evaluate(sim.grid.range(i), false));
        EXPECT_EQ(r, acc) << name << " seed " << seed;
      }
      EXPECT_EQ(sim.scheduler.ranges_done(), sim.grid.size());
    }
  }
}

TEST(Scheduler, TheSeriesResultIsSharedAndHandedOverNeverCopied) {
  // At 1e8 digits the root is 208 MB: a copy for the live estimate or a checkpoint, or one kept after the
  // final steps took it, was that much more memory at the job's peak.
  const std::uint64_t terms = 20011;
  const PartialResult direct = make_series("chudnovsky")->evaluate({0, terms}, true);
  Sim sim("chudnovsky", terms, 3);
  sim.run_shuffled(3, 1);
  ASSERT_TRUE(sim.scheduler.finished());
  const PartialResult* held = sim.scheduler.prefix();
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(sim.scheduler.leading_piece()->data.get(), held);
  std::size_t named = 0;
  for (const FinishedPiece& p : sim.scheduler.finished_pieces()) named += p.result.get() == held ? 1u : 0u;
  EXPECT_EQ(named, 1u);
  const std::shared_ptr<const PartialResult> root = sim.scheduler.take_root();
  EXPECT_EQ(root.get(), held);
  EXPECT_EQ(root.use_count(), 1) << "the scheduler still holds the result it handed over";
  EXPECT_EQ(*root, direct);
  EXPECT_TRUE(sim.scheduler.finished()) << "the conversion may follow";
  EXPECT_EQ(sim.scheduler.prefix(), nullptr);
  EXPECT_THROW(sim.scheduler.take_root(), std::logic_error);
}

// One local worker, every merge of operands here lent them (lend_merge_bits 0): the scheduler lets go of
// their integers, the merge is their only holder and frees them, and the result is the direct evaluation's.
// `trouble` (a merge number among the lent ones, 0: none): that merge fails, or a checkpoint is taken while
// it runs (`by_checkpoint`); its operands are gone with it, and their ranges are computed again.
PartialResult with_lent_merges(std::uint64_t terms, int trouble, bool by_checkpoint, int* lent_out) {
  SchedulerConfig config;
  config.lend_merge_bits = 0;
  Sim sim("chudnovsky", terms, 1, config);
  int lent = 0;
  while (!sim.scheduler.finished()) {
    std::optional<Task> t = sim.scheduler.assign(0, sim.now);
    if (!t) {
      ADD_FAILURE() << "no task but not finished";
      break;
    }
    const std::uint64_t id = t->id;
    std::weak_ptr<const PartialResult> left, right;
    if (const auto* merge = std::get_if<Merge>(&t->work)) {
      left = merge->left.data;
      right = merge->right.data;
    }
    const bool is_lent = sim.scheduler.lend_operands(id);
    if (is_lent) {
      ++lent;
      EXPECT_EQ(left.use_count(), 1) << "the scheduler still holds an operand it lent";
      EXPECT_EQ(right.use_count(), 1);
      if (lent == trouble && by_checkpoint) {
        const std::vector<FinishedPiece> pieces = sim.scheduler.finished_pieces();
        for (const FinishedPiece& p : pieces)
          EXPECT_TRUE(p.end_range <= t->first_range || p.first_range >= t->end_range)
              << "a checkpoint names a lent operand";
      } else if (lent == trouble) {
        sim.scheduler.fail(0, id, "injected");
      }
    }
    TaskOutput out = carry_out(*sim.series, std::move(*t));
    if (is_lent) {
      EXPECT_TRUE(left.expired() && right.expired()) << "a lent operand outlived its merge";
    }
    sim.scheduler.complete(0, id, std::move(out), 0.01);  // a merge given up: its late answer is ignored
  }
  *lent_out = lent;
  return sim.scheduler.take_result();
}

TEST(Scheduler, AMergeLentItsOperandsIsTheirOnlyHolderAndFreesThem) {
  const std::uint64_t terms = 20011;
  const PartialResult direct = make_series("chudnovsky")->evaluate({0, terms}, true);
  int lent = 0;
  EXPECT_EQ(with_lent_merges(terms, 0, false, &lent), direct);
  EXPECT_GE(lent, 3);
  // A merge that fails, or that a checkpoint finds running: its ranges again, the same result.
  for (const bool by_checkpoint : {false, true}) {
    for (const int trouble : {1, lent}) {
      int again = 0;
      EXPECT_EQ(with_lent_merges(terms, trouble, by_checkpoint, &again), direct)
          << "merge " << trouble << (by_checkpoint ? " caught by a checkpoint" : " failed");
      EXPECT_GT(again, lent) << "the lost operands' merges were not made again";
    }
  }
}

TEST(Scheduler, PiecesHeldByWorkersGiveTheDirectEvaluationExactly) {
  for (const char* name : {"chudnovsky", "machin"}) {
    const std::uint64_t terms = std::string(name) == "machin" ? 40009 : 60013;
    const PartialResult direct = make_series(name)->evaluate({0, terms}, true);
    for (unsigned seed : {1u, 2u}) {
      Sim sim(name, terms, 3);
      sim.fingerprinted_on_workers(seed);
      sim.run_shuffled(3, seed);
      EXPECT_EQ(sim.scheduler.take_result(), direct) << name << " seed " << seed;
      EXPECT_GT(sim.kept, 10) << "pieces stayed on their workers";
      EXPECT_GT(sim.fetched, 0) << "a merge fetched an operand from another worker";
      EXPECT_EQ(sim.fetched_here, 0) << "the coordinator needed no worker's integers";
      EXPECT_TRUE(sim.stores.empty()) << "every merged piece was dropped by its worker";
      EXPECT_EQ(sim.scheduler.verification().mismatches, 0u);
    }
  }
}

// Chudnovsky's piece of [0, kHeldTerms): what every run with pieces on the workers must end with.
constexpr std::uint64_t kHeldTerms = 60013;
const PartialResult& held_direct() {
  static const PartialResult direct = make_series("chudnovsky")->evaluate({0, kHeldTerms}, true);
  return direct;
}

TEST(Scheduler, PiecesOfALostWorkerAreComputedAgainFromTheirRanges) {
  const std::uint64_t terms = kHeldTerms;
  const PartialResult& direct = held_direct();
  for (unsigned seed : {3u, 4u, 5u}) {
    Sim sim("chudnovsky", terms, 3);
    sim.fingerprinted_on_workers(seed);
    // Until worker 1 holds pieces; then it dies with them (and with the task it runs).
    for (unsigned round = 0; round < 400 && sim.scheduler.held_by(1) < 2; ++round)
      sim.run_shuffled(3, seed + round, 1);
    ASSERT_GE(sim.scheduler.held_by(1), 2u) << "seed " << seed;
    sim.dead.insert(1);
    std::erase_if(sim.stores, [](const auto& e) { return e.first.first == 1; });
    // The others go on; worker 1's deadline passes, and its pieces are computed again.
    for (unsigned step = 0; step < 10000 && !sim.scheduler.finished(); ++step) {
      std::erase_if(sim.running, [](const auto& r) { return r.first == 1; });
      sim.run_shuffled(3, seed + 1000 + step, 1);
      sim.now += 5s;
      sim.scheduler.expire(sim.now);
    }
    ASSERT_TRUE(sim.scheduler.finished()) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.take_result(), direct) << "seed " << seed;
    EXPECT_GE(sim.scheduler.recomputed(), 1u) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.held_by(1), 0u);
  }
}

// With replicas, each waiting piece gets a copy on another worker: a worker lost with its pieces costs
// their copies' addresses, not their computation, and the result is the same. Every copy is dropped with
// its piece.
TEST(Scheduler, APieceLostWithItsWorkerTakesItsCopysPlace) {
  for (unsigned seed : {3u, 4u, 5u, 6u}) {
    SchedulerConfig config;
    config.replicas = 1;
    config.replica_min_bits = 0;
    Sim sim("chudnovsky", kHeldTerms, 3, config);
    sim.fingerprinted_on_workers(seed);
    // Until two pieces of worker 1 wait with their copies; then it dies with them (and the task it runs),
    // and is taken for lost at once (no deadline passes for the others).
    for (unsigned round = 0; round < 2000 && sim.scheduler.copied_from(1) < 2; ++round)
      sim.run_shuffled(3, seed + round, 1);
    ASSERT_GE(sim.scheduler.copied_from(1), 2u) << "seed " << seed;
    ASSERT_FALSE(sim.scheduler.finished());
    const std::uint64_t held = sim.scheduler.held_by(1);
    const std::uint64_t copied = sim.scheduler.copied_from(1);
    const std::uint64_t recomputed = sim.scheduler.recomputed();
    EXPECT_EQ(sim.lose_silently(1), std::vector<int>{1}) << "seed " << seed;
    sim.run_shuffled(3, seed + 1000);
    ASSERT_TRUE(sim.scheduler.finished()) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.take_result(), held_direct()) << "seed " << seed;
    // Each copied piece took its copy's place; only those without one were computed again.
    const std::uint64_t from_replicas = sim.scheduler.piece_stats().from_replicas;
    EXPECT_GE(from_replicas, copied) << "seed " << seed;
    EXPECT_LE(sim.scheduler.recomputed() - recomputed, held - from_replicas) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.held_by(1), 0u);
    EXPECT_EQ(sim.scheduler.copied_from(1), 0u);
    EXPECT_EQ(sim.scheduler.verification().mismatches, 0u);
  }
}

// Without a loss, replicas change nothing but the copies: the same integers, nothing computed again, and
// every copy dropped with its piece.
TEST(Scheduler, CopiesAreDroppedWithTheirPieces) {
  for (unsigned seed : {1u, 2u}) {
    SchedulerConfig config;
    config.replicas = 1;
    config.replica_min_bits = 0;
    Sim sim("chudnovsky", kHeldTerms, 3, config);
    sim.fingerprinted_on_workers(seed);
    sim.run_shuffled(3, seed);
    EXPECT_EQ(sim.scheduler.take_result(), held_direct()) << "seed " << seed;
    EXPECT_GE(sim.assigned[TaskKind::copy], 5) << "seed " << seed;
    EXPECT_GE(sim.scheduler.piece_stats().replicas, 1u) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.recomputed(), 0u) << "seed " << seed;
    EXPECT_EQ(sim.scheduler.piece_stats().from_replicas, 0u) << "seed " << seed;
    for (const auto& [where, piece] : sim.stores)
      ADD_FAILURE() << "seed " << seed << ": worker " << where.first << " still holds piece " << where.second;
  }
}

// A lost piece of many grid ranges is computed again from its lineage: several evaluations inside it, which
// merge back up the tree (not one evaluation of the whole, one worker's alone); the result is the same, and
// the progress counts its work once.
TEST(Scheduler, ALostBigPieceIsComputedAgainAsSeveralEvaluations) {
  double whole_work = 0;
  {
    Sim sim("chudnovsky", kHeldTerms, 3);
    sim.fingerprinted_on_workers(21);
    sim.run_shuffled(3, 21);
    whole_work = sim.scheduler.work_done();
    EXPECT_NEAR(whole_work, sim.scheduler.total_work(), 1e-9 * whole_work);
  }
  Sim sim("chudnovsky", kHeldTerms, 3);
  sim.fingerprinted_on_workers(21);
  const auto terms_per_range = static_cast<double>(kHeldTerms) / static_cast<double>(sim.grid.size());
  // Until worker 1 holds a piece of 8 grid ranges or more; then it dies with it.
  const auto biggest_of_1 = [&] {
    Range biggest;
    for (const auto& [where, piece] : sim.stores)
      if (where.first == 1 && piece->range.size() > biggest.size()) biggest = piece->range;
    return biggest;
  };
  for (unsigned round = 0; round < 2000 && static_cast<double>(biggest_of_1().size()) < 8 * terms_per_range;
       ++round)
    sim.run_shuffled(3, 21 + round, 1);
  const Range lost = biggest_of_1();
  ASSERT_GE(static_cast<double>(lost.size()), 8 * terms_per_range);
  ASSERT_FALSE(sim.scheduler.finished());
  sim.dead.insert(1);
  std::erase_if(sim.stores, [](const auto& e) { return e.first.first == 1; });
  const std::size_t before = sim.evaluated.size();
  for (unsigned step = 0; step < 10000 && !sim.scheduler.finished(); ++step) {
    std::erase_if(sim.running, [](const auto& r) { return r.first == 1; });
    sim.run_shuffled(3, 5000 + step, 1);
    sim.now += 5s;
    sim.scheduler.expire(sim.now);
  }
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(sim.scheduler.take_result(), held_direct());
  // The evaluations inside the lost piece after the loss: several, each a part of it.
  std::vector<Range> again;
  for (std::size_t i = before; i < sim.evaluated.size(); ++i) {
    const Range& r = sim.evaluated[i];
    if (r.begin >= lost.begin && r.end <= lost.end) again.push_back(r);
  }
  EXPECT_GE(again.size(), 2u) << "the lost piece [" << lost.begin << ", " << lost.end
                              << ") was evaluated as one";
  for (const Range& r : again) EXPECT_LT(r.size(), lost.size());
  EXPECT_GE(sim.scheduler.recomputed(), 1u);
  EXPECT_NEAR(sim.scheduler.work_done(), whole_work, 1e-9 * whole_work);
}

TEST(Scheduler, APieceAWorkerCannotFetchIsComputedAgain) {
  Sim sim("chudnovsky", kHeldTerms, 3);
  sim.fingerprinted_on_workers(9);
  // Workers 0 and 2 lose every piece they hold after 30 tasks (as if dropped too early): the next fetch of
  // one finds it missing and says so (unreachable, not silent), and it is computed again.
  sim.run_shuffled(3, 9, 30);
  ASSERT_FALSE(sim.stores.empty());
  std::erase_if(sim.stores, [](const auto& e) { return e.first.first != 1; });
  sim.run_shuffled(3, 10);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(sim.scheduler.take_result(), held_direct());
  EXPECT_GE(sim.scheduler.recomputed(), 1u);
}

// A job resumed from `pieces` on two simulated workers holding pieces (fingerprints from `seed`): its result.
PartialResult resumed_on_two(std::vector<FinishedPiece> pieces, unsigned seed) {
  Sim resumed("chudnovsky", kHeldTerms, 2);
  resumed.scheduler.verify_with(primes_from_seed(2, seed));
  resumed.scheduler.restore(std::move(pieces));
  resumed.hold_on_workers();
  resumed.run_shuffled(2, seed + 1);
  return resumed.scheduler.take_result();
}

TEST(Scheduler, ACheckpointFetchesThePiecesWorkersHoldAndAResumeGivesTheSameResult) {
  Sim sim("chudnovsky", kHeldTerms, 3);
  sim.fingerprinted_on_workers(11);
  sim.run_shuffled(3, 11, 40);
  std::vector<FinishedPiece> pieces = sim.scheduler.finished_pieces();
  EXPECT_GT(sim.fetched_here, 0) << "the checkpoint needed pieces from the workers";
  EXPECT_EQ(resumed_on_two(std::move(pieces), 11), held_direct());
}

// A checkpoint without gathering: the workers write the pieces they hold (PieceCapture), the coordinator
// fetches none, a worker lost meanwhile costs its pieces (left out, computed again), the pieces named make
// a checkpoint a resume finishes from, and a piece already written is named again, not written again.
TEST(Scheduler, ACheckpointWithoutGatheringNamesTheFilesItsWorkersWrote) {
  Sim sim("chudnovsky", kHeldTerms, 3);
  sim.fingerprinted_on_workers(13);
  sim.run_shuffled(3, 13, 40);
  sim.scheduler.begin_capture(4, "/checkpoints", sim.now);
  std::vector<StoreRequest> requests = sim.scheduler.take_store_requests();
  ASSERT_FALSE(requests.empty());
  ASSERT_FALSE(sim.scheduler.finished()) << "the series waits for the capture too";
  std::map<std::string, std::shared_ptr<const PartialResult>> files;  // what each file would hold
  int to_lost = 0;
  const int lost = requests.back().owner;
  for (const StoreRequest& r : requests) {
    EXPECT_EQ(r.dir, "/checkpoints");
    EXPECT_EQ(r.file, stored_piece_name(4, 1, r.first_range, r.end_range));
    EXPECT_EQ(stored_piece_number(r.file.substr(7)), 4u);
    ASSERT_TRUE(sim.stores.contains({r.owner, r.key})) << "asked of the worker that holds it";
    to_lost += r.owner == lost ? 1 : 0;
  }
  EXPECT_TRUE(sim.scheduler.awaits_store(lost));
  // The worker that was to write the last request is lost before it answers.
  sim.dead.insert(lost);
  std::erase_if(sim.stores, [&](const auto& e) { return e.first.first == lost; });
  sim.scheduler.silent(lost);
  EXPECT_FALSE(sim.scheduler.awaits_store(lost));
  for (const StoreRequest& r : requests) {
    if (r.owner == lost) continue;
    const auto& piece = sim.stores.at({r.owner, r.key});
    files[r.file] = piece;
    sim.scheduler.stored(r.owner,
                         StoreAnswer{r.capture, r.key, true,
                                     StoredPiece{r.file, piece->range, piece->values.size(), 1000, 7}, ""});
  }
  auto outcome = sim.scheduler.take_capture(sim.now);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->error, "");
  EXPECT_EQ(outcome->left_out, static_cast<std::uint64_t>(to_lost));
  EXPECT_EQ(outcome->written, requests.size() - static_cast<std::size_t>(to_lost));
  EXPECT_EQ(sim.fetched_here, 0) << "nothing came to the coordinator";
  std::uint64_t at = 0;
  std::vector<FinishedPiece> restored;
  for (const FinishedPiece& p : outcome->pieces) {
    EXPECT_GE(p.first_range, at) << "disjoint, in grid order";
    at = p.end_range;
    if (p.file) {
      EXPECT_FALSE(p.result);
      restored.push_back({p.first_range, p.end_range, files.at(p.file->file)});
    } else {
      ASSERT_TRUE(p.result) << "a piece here keeps its integers";
      restored.push_back(p);
    }
  }
  // The pieces named are a checkpoint: a resume on two workers gives the direct evaluation.
  EXPECT_EQ(resumed_on_two(std::move(restored), 13), held_direct());

  // finished_pieces (a stop's checkpoint) names the files written instead of fetching.
  const auto named = sim.scheduler.finished_pieces();
  EXPECT_EQ(sim.fetched_here, 0) << "finished_pieces names the files written instead of fetching";
  EXPECT_TRUE(
      std::any_of(named.begin(), named.end(), [](const FinishedPiece& p) { return p.file.has_value(); }));
  // After more tasks, the next capture asks only for pieces not written before; a write that fails stops
  // that checkpoint.
  sim.run_shuffled(3, 17, 8);
  sim.scheduler.begin_capture(5, "/checkpoints", sim.now);
  const std::vector<StoreRequest> again = sim.scheduler.take_store_requests();
  ASSERT_FALSE(again.empty()) << "the tasks since made pieces no capture wrote";
  for (const StoreRequest& r : again) {
    EXPECT_FALSE(files.contains(stored_piece_name(4, 1, r.first_range, r.end_range)))
        << "grid ranges " << r.first_range << ".." << r.end_range << " were written already";
  }
  sim.scheduler.stored(again.front().owner, StoreAnswer{again.front().capture, again.front().key, true,
                                                        std::nullopt, "No space left on device"});
  outcome = sim.scheduler.take_capture(sim.now);
  ASSERT_TRUE(outcome);
  EXPECT_NE(outcome->error.find("could not write piece"), std::string::npos) << outcome->error;
  EXPECT_NE(outcome->error.find("No space left on device"), std::string::npos) << outcome->error;
  // An answer to a capture given up is ignored; a capture whose writes are not all answered by its
  // deadline is given up.
  sim.scheduler.begin_capture(6, "/checkpoints", sim.now);
  const std::vector<StoreRequest> late = sim.scheduler.take_store_requests();
  ASSERT_FALSE(late.empty()) << "the failed capture's pieces are asked for again";
  for (const StoreRequest& r : late)
    sim.scheduler.stored(r.owner,
                         StoreAnswer{r.capture - 1, r.key, true, StoredPiece{"pieces/x", {}, 0, 0, 0}, ""});
  EXPECT_FALSE(sim.scheduler.take_capture(sim.now));
  outcome = sim.scheduler.take_capture(sim.now + std::chrono::seconds(3600));
  ASSERT_TRUE(outcome);
  EXPECT_NE(outcome->error.find("in time"), std::string::npos) << outcome->error;
  // The series goes on beside a capture, and finishes once it is written.
  sim.scheduler.begin_capture(7, "/checkpoints", sim.now);
  const std::vector<StoreRequest> last = sim.scheduler.take_store_requests();
  sim.run_shuffled(3, 15, 5);
  for (const StoreRequest& r : last) {
    const auto it = sim.stores.find({r.owner, r.key});  // a piece merged since: its worker still wrote it
    sim.scheduler.stored(r.owner,
                         StoreAnswer{r.capture, r.key, true,
                                     StoredPiece{r.file, {}, 0, 0, it == sim.stores.end() ? 1u : 2u}, ""});
  }
  sim.run_shuffled(3, 16);
  ASSERT_TRUE(sim.scheduler.take_capture(sim.now));
  EXPECT_EQ(sim.scheduler.take_result(), held_direct());
}

// The final steps on the worker holding the series' result, and a conversion whose blocks fetch the
// fraction from the worker that made it: the digits are MPFR's; and again when that worker is lost with
// both (the root is computed again from its range, then the final steps, then the blocks that waited).
// A resume that leaves the pieces in their files (FinishedPiece::load_from): workers read them (Load) and
// keep them, the coordinator fetching none; a file gone, and one whose piece changed since the checkpoint
// (its fingerprint), cost their pieces, computed again from their ranges, not the job. loading() says
// whether some are still being read (the job begins no checkpoint then).
TEST(Scheduler, AResumeLeavesPiecesInTheirFilesForWorkersToRead) {
  Sim first("chudnovsky", kHeldTerms, 3);
  first.fingerprinted_on_workers(21);
  first.run_shuffled(3, 21, 40);
  first.scheduler.begin_capture(3, "/ckpt", first.now);
  Sim resumed("chudnovsky", kHeldTerms, 2);
  std::vector<FinishedPiece> pieces;
  for (const StoreRequest& r : first.scheduler.take_store_requests()) {
    const auto& piece = first.stores.at({r.owner, r.key});
    first.scheduler.stored(r.owner,
                           StoreAnswer{r.capture, r.key, true,
                                       StoredPiece{r.file, piece->range, piece->values.size(), 1000, 7}, ""});
    resumed.disk["/ckpt/" + r.file] = piece;
  }
  const auto outcome = first.scheduler.take_capture(first.now);
  ASSERT_TRUE(outcome && outcome->error.empty());
  std::vector<std::string> paths;
  for (FinishedPiece p : outcome->pieces) {
    if (p.file) {
      p.load_from = "/ckpt/" + p.file->file;
      paths.push_back(p.load_from.string());
    }
    pieces.push_back(std::move(p));
  }
  ASSERT_GE(paths.size(), 4u);
  // One file is gone, another holds its piece with a value changed.
  resumed.disk.erase(paths[0]);
  auto changed = std::make_shared<PartialResult>(*resumed.disk.at(paths[1]));
  changed->values.back() += 1;
  resumed.disk[paths[1]] = changed;

  resumed.scheduler.verify_with(primes_from_seed(2, 21));
  resumed.scheduler.restore(std::move(pieces));
  resumed.hold_on_workers();
  EXPECT_TRUE(resumed.scheduler.loading());
  // The loads spread over the workers: one each, none queued behind another (however short they are).
  for (int w = 0; w < 2; ++w) {
    const std::optional<Task> load = resumed.scheduler.assign(w, resumed.now);
    ASSERT_TRUE(load && load->kind() == TaskKind::load);
    EXPECT_FALSE(resumed.scheduler.wants_another_task(w));
    resumed.running.emplace_back(w, *load);
    ++resumed.assigned[TaskKind::load];
  }
  resumed.run_shuffled(2, 22);
  ASSERT_TRUE(resumed.scheduler.finished());
  EXPECT_FALSE(resumed.scheduler.loading());
  EXPECT_EQ(resumed.scheduler.take_result(), held_direct());
  EXPECT_EQ(resumed.assigned[TaskKind::load], static_cast<int>(paths.size()));
  EXPECT_EQ(resumed.scheduler.piece_stats().loaded, paths.size() - 2);
  EXPECT_EQ(resumed.scheduler.recomputed(), 2u);
  EXPECT_EQ(resumed.scheduler.verification().mismatches, 1u);
  EXPECT_EQ(resumed.fetched_here, 0) << "the coordinator fetched nothing";
  for (const auto& w : resumed.scheduler.workers()) EXPECT_EQ(w.failures, 0) << "the files, not the workers";
}

TEST(Scheduler, FinalStepsAndConversionRunWhereTheValueIs) {
  constexpr std::uint64_t kDigits = 60000;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  const std::string expected = test::mpfr_pi_digits(kDigits);
  for (const bool lose : {false, true}) {
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), 3);
    sim.fingerprinted_on_workers(21);
    sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, true);
    sim.run_shuffled(3, 21);
    ASSERT_TRUE(sim.scheduler.finished());
    EXPECT_EQ(sim.assigned[TaskKind::final_steps], 1);
    ASSERT_TRUE(sim.scheduler.final_summary());
    const FinalSummary summary = *sim.scheduler.final_summary();
    ASSERT_TRUE(summary.convertible);
    EXPECT_EQ(summary.head.substr(0, 52), expected.substr(0, 52));
    const PieceRef fraction = *sim.scheduler.final_fraction();
    ASSERT_FALSE(fraction.here()) << "the fraction stays with its worker";
    EXPECT_EQ(sim.fetched_here, 0) << "nothing came to the coordinator";
    // The series' result is kept for the complete checkpoint, on the same worker (the final steps went to
    // its owner).
    EXPECT_EQ(sim.scheduler.held_by(fraction.owner), 2u);
    if (lose) {
      sim.dead.insert(fraction.owner);
      std::erase_if(sim.stores, [&](const auto& e) { return e.first.first == fraction.owner; });
    }
    sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, 3);
    for (unsigned step = 0; step < 1000 && !sim.scheduler.finished(); ++step) {
      sim.run_shuffled(3, 30 + step, 1);
      sim.now += 5s;
      sim.scheduler.expire(sim.now);
    }
    ASSERT_TRUE(sim.scheduler.finished()) << "lose " << lose;
    const std::string text = sim.scheduler.take_digits();
    EXPECT_EQ("3." + text.substr(1, kDigits), expected) << "lose " << lose;
    if (lose) {
      EXPECT_EQ(sim.assigned[TaskKind::final_steps], 2);
      EXPECT_GE(sim.scheduler.recomputed(), 1u);
      const std::vector<FinishedPiece> pieces = sim.scheduler.finished_pieces();
      ASSERT_EQ(pieces.size(), 1u);
      EXPECT_EQ(*pieces[0].result, sim.series->evaluate({0, sim.grid.terms()}, true));
    }
  }
}

// Conversion blocks keep the fraction they read, and later blocks read it from them: the fraction spreads
// as a tree, each holder serving kFractionServes blocks at a time at most (checked in run_shuffled). With the
// fraction's own worker lost once copies exist, a copy takes its place: the final steps do not run again.
TEST(Scheduler, ConversionBlocksReadTheFractionFromCopiesTheirWorkersKept) {
  constexpr std::uint64_t kDigits = 60000;
  constexpr int kWorkers = 8;
  constexpr std::uint64_t kBlocks = 32;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  const std::string expected = test::mpfr_pi_digits(kDigits);
  for (const bool lose : {false, true}) {
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), kWorkers);
    sim.fingerprinted_on_workers(51);
    sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
    sim.run_shuffled(kWorkers, 51);
    ASSERT_TRUE(sim.scheduler.finished());
    const FinalSummary summary = *sim.scheduler.final_summary();
    const PieceRef fraction = *sim.scheduler.final_fraction();
    ASSERT_FALSE(fraction.here());
    sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, kBlocks);
    if (lose) {
      // Blocks until two workers hold copies while the owner has a block under way; then the owner is lost,
      // and taken for lost at once (silent: its own deadlines pass, no other's).
      const auto owner_busy = [&] {
        return std::any_of(sim.running.begin(), sim.running.end(),
                           [&](const auto& r) { return r.first == fraction.owner; });
      };
      for (unsigned step = 0; step < 1000 && (sim.scheduler.fraction_copies() < 2 || !owner_busy()); ++step)
        sim.run_shuffled(kWorkers, 60 + step, 1);
      ASSERT_FALSE(sim.scheduler.finished());
      ASSERT_TRUE(owner_busy());
      EXPECT_EQ(sim.lose_silently(fraction.owner), std::vector<int>{fraction.owner});
    }
    sim.run_shuffled(kWorkers, 100);
    ASSERT_TRUE(sim.scheduler.finished()) << "lose " << lose;
    EXPECT_EQ("3." + sim.scheduler.take_digits().substr(1, kDigits), expected) << "lose " << lose;
    EXPECT_EQ(sim.assigned[TaskKind::final_steps], 1) << "the final steps ran once; lose " << lose;
    EXPECT_GE(sim.block_sources.size(), 3u) << "blocks read the fraction from several workers";
    int from_owner = 0;
    for (const auto& [owner, n] : sim.block_sources) from_owner += owner == fraction.owner ? n : 0;
    EXPECT_LT(from_owner, static_cast<int>(kBlocks) / 2) << "the fraction's own worker served most blocks";
    if (lose) {
      const std::vector<std::string> notices = sim.scheduler.take_notices();
      EXPECT_TRUE(std::any_of(notices.begin(), notices.end(), [](const std::string& n) {
        return n.find("fraction was lost with rank") != std::string::npos &&
               n.find("the copy a conversion block kept") != std::string::npos;
      }));
    }
  }
}

// From 6 workers (where the final steps spread their products) the final steps also split the decimals into
// parts, one a worker (6 for 8 workers: one a 10,000 decimals at most), and each conversion block reads its
// part only: MPFR's digits,
// no copy of the fraction anywhere. With the fraction's worker lost after the first part's block, the parts
// are made again with the fraction (the final steps run again), and the blocks left read theirs there.
TEST(Scheduler, ConversionBlocksReadTheirPartsOfTheFinalStepsSplit) {
  constexpr std::uint64_t kDigits = 60000;
  constexpr int kWorkers = 8;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  const std::string expected = test::mpfr_pi_digits(kDigits);
  for (const bool lose : {false, true}) {
    SchedulerConfig config;
    config.spread_parts = 4;
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), kWorkers, config);
    sim.fingerprinted_on_workers(61);
    FinalSteps steps{PieceRef{}, bits, 0, false, std::nullopt, 0};
    steps.decimals = kDigits + kGuardDecimals;
    sim.scheduler.finish_on_workers(steps, true);
    sim.run_shuffled(kWorkers, 61);
    ASSERT_TRUE(sim.scheduler.finished());
    const FinalSummary summary = *sim.scheduler.final_summary();
    ASSERT_EQ(summary.parts.size(), 6u);
    EXPECT_EQ(summary.parts.front().first, 0u);
    EXPECT_EQ(summary.parts.back().first + summary.parts.back().count, kDigits + kGuardDecimals);
    EXPECT_EQ(summary.integer, 3u);
    const PieceRef fraction = *sim.scheduler.final_fraction();
    ASSERT_EQ(fraction.shape.size(), 7u) << "the fraction, then its parts";
    sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, 32);
    EXPECT_EQ(sim.scheduler.blocks(), 6u) << "one block a part, whatever was asked";
    if (lose) {
      const auto one_done = [&] { return sim.scheduler.blocks_done() >= 1; };
      for (unsigned step = 0; step < 1000 && !one_done(); ++step) sim.run_shuffled(kWorkers, 70 + step, 1);
      ASSERT_TRUE(one_done());
      ASSERT_FALSE(sim.scheduler.finished());
      EXPECT_EQ(sim.lose_silently(fraction.owner), std::vector<int>{fraction.owner});
    }
    sim.run_shuffled(kWorkers, 130);
    ASSERT_TRUE(sim.scheduler.finished()) << "lose " << lose;
    EXPECT_EQ("3." + sim.scheduler.take_digits().substr(1, kDigits), expected) << "lose " << lose;
    EXPECT_EQ(sim.assigned[TaskKind::final_steps], lose ? 2 : 1);
    EXPECT_EQ(sim.scheduler.fraction_copies(), 0u) << "no block read the whole fraction";
    EXPECT_EQ(sim.scheduler.piece_stats().conversion_parts, 6u);
    EXPECT_EQ(sim.scheduler.piece_stats().parts_refused, 0u);
    if (!lose) {
      for (const auto& [owner, n] : sim.block_sources)
        EXPECT_EQ(owner, fraction.owner) << "a part is read where the final steps left it";
    }
  }
}

// A block's worker that says it has the fraction (fetched) holds a copy from then on, and the holder it read
// from is free for the next block: kFractionServes blocks at a time read from one holder until then.
TEST(Scheduler, AFetchedFractionFreesItsHolderAndServesLaterBlocks) {
  constexpr std::uint64_t kDigits = 60000;
  constexpr int kWorkers = 6;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), kWorkers);
  sim.fingerprinted_on_workers(71);
  sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
  sim.run_shuffled(kWorkers, 71);
  ASSERT_TRUE(sim.scheduler.finished());
  const FinalSummary summary = *sim.scheduler.final_summary();
  const PieceRef fraction = *sim.scheduler.final_fraction();
  sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, 12);
  std::vector<int> others;
  for (int w = 0; w < kWorkers; ++w)
    if (w != fraction.owner) others.push_back(w);
  std::vector<std::pair<int, Task>> out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(Scheduler::kFractionServes); ++i) {
    auto t = sim.scheduler.assign(others[i], sim.now);
    ASSERT_TRUE(t && t->kind() == TaskKind::digits);
    EXPECT_EQ(t->as<Digits>().fraction.owner, fraction.owner);
    EXPECT_TRUE(t->keep) << "a worker without a copy keeps the one it reads";
    out.emplace_back(others[i], std::move(*t));
  }
  const int next = others[static_cast<std::size_t>(Scheduler::kFractionServes)];
  EXPECT_FALSE(sim.scheduler.assign(next, sim.now)) << "the only holder serves enough blocks already";
  // A word from a worker the block is not with changes nothing.
  sim.scheduler.fetched(next, out[0].second.id);
  EXPECT_EQ(sim.scheduler.fraction_copies(), 0u);
  EXPECT_FALSE(sim.scheduler.assign(next, sim.now));
  sim.say_fetched(out[0].first, out[0].second.id);
  EXPECT_EQ(sim.scheduler.fraction_copies(), 1u);
  auto t = sim.scheduler.assign(next, sim.now);
  ASSERT_TRUE(t && t->kind() == TaskKind::digits) << "a holder is free again, and there is a new one";
  out.emplace_back(next, std::move(*t));
  // The blocks under way are carried out (the copies with them), then the rest.
  for (auto& [w, task] : out) {
    if (w == out[0].first) sim.stores[{w, task.id}] = sim.stores.at({fraction.owner, fraction.key});
    sim.running.emplace_back(w, std::move(task));
  }
  sim.run_shuffled(kWorkers, 72);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ("3." + sim.scheduler.take_digits().substr(1, kDigits), test::mpfr_pi_digits(kDigits));
}

// A worker with nothing to do near the series' end computes the final steps' constant (the square root) as a
// task of its own; the final steps take it from that worker instead of computing it beside their division,
// and the digits are MPFR's. When that worker is lost before the final steps fetch the constant, they do
// without it (or with one computed again): the same digits.
// With replicas, the series' result and the final value's fraction have copies: their worker lost after the
// final steps costs neither the series nor the final steps again, and the digits are the same.
TEST(Scheduler, TheSeriesResultAndTheFractionLostWithTheirWorkerTakeTheirCopies) {
  constexpr std::uint64_t kDigits = 60000;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  const std::string expected = test::mpfr_pi_digits(kDigits);
  SchedulerConfig config;
  config.replicas = 1;
  config.replica_min_bits = 0;
  Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), 3, config);
  sim.fingerprinted_on_workers(21);
  sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, true);
  sim.run_shuffled(3, 21);
  ASSERT_TRUE(sim.scheduler.finished());
  sim.finish_running(3);  // the copies still under way
  const FinalSummary summary = *sim.scheduler.final_summary();
  const PieceRef fraction = *sim.scheduler.final_fraction();
  ASSERT_EQ(sim.scheduler.held_by(fraction.owner), 2u) << "the series' result and the fraction";
  const int copies_on_others = static_cast<int>(std::count_if(
      sim.stores.begin(), sim.stores.end(), [&](const auto& e) { return e.first.first != fraction.owner; }));
  ASSERT_GE(copies_on_others, 2) << "their copies are on the other workers";
  sim.dead.insert(fraction.owner);
  std::erase_if(sim.stores, [&](const auto& e) { return e.first.first == fraction.owner; });
  sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, 3);
  // The first fetch from it finds it silent (no deadline passes for the others).
  sim.run_shuffled(3, 30);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ("3." + sim.scheduler.take_digits().substr(1, kDigits), expected);
  EXPECT_EQ(sim.assigned[TaskKind::final_steps], 1) << "the final steps ran once";
  EXPECT_EQ(sim.scheduler.recomputed(), 0u) << "the series was not computed again";
  EXPECT_EQ(sim.scheduler.piece_stats().from_replicas, 2u);
  const std::vector<FinishedPiece> pieces = sim.scheduler.finished_pieces();
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(*pieces[0].result, sim.series->evaluate({0, sim.grid.terms()}, true));
}

TEST(Scheduler, AWorkerThatWouldIdleComputesTheFinalStepsConstant) {
  constexpr std::uint64_t kDigits = 60000;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  const std::string expected = test::mpfr_pi_digits(kDigits);
  for (const bool lose : {false, true}) {
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), 3);
    sim.fresh_final = true;
    sim.fingerprinted_on_workers(41);
    sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
    for (unsigned step = 0; step < 10000 && sim.scheduler.constant_owner() < 0; ++step) {
      ASSERT_FALSE(sim.scheduler.finished());
      ASSERT_EQ(sim.assigned[TaskKind::final_steps], 0) << "the root came before the constant";
      sim.run_shuffled(3, 41 + step, 1);
    }
    const int owner = sim.scheduler.constant_owner();
    ASSERT_GE(owner, 0) << "the constant stays with the worker that computed it";
    EXPECT_EQ(sim.assigned[TaskKind::constant], 1);
    if (lose) {
      sim.dead.insert(owner);
      std::erase_if(sim.stores, [owner](const auto& e) { return e.first.first == owner; });
    }
    for (unsigned step = 0; step < 10000 && !sim.scheduler.finished(); ++step) {
      std::erase_if(sim.running, [&](const auto& r) { return sim.dead.contains(r.first); });
      sim.run_shuffled(3, 500 + step, 1);
      sim.now += 5s;
      sim.scheduler.expire(sim.now);
    }
    ASSERT_TRUE(sim.scheduler.finished()) << "lose " << lose;
    EXPECT_EQ(sim.scheduler.constant_owner(), -2) << "let go once the final steps are done";
    if (!lose) {
      EXPECT_EQ(sim.assigned[TaskKind::final_steps], 1);
      EXPECT_TRUE(sim.scheduler.times().final_with_constant);
    }
    const PieceRef fraction = *sim.scheduler.final_fraction();
    const FinalSummary summary = *sim.scheduler.final_summary();
    ASSERT_NE(fraction.owner, lose ? owner : -1);
    sim.scheduler.convert(fraction, summary.scale_bits, kDigits + kGuardDecimals, 2);
    for (unsigned step = 0; step < 1000 && !sim.scheduler.finished(); ++step)
      sim.run_shuffled(3, 900 + step, 1);
    ASSERT_TRUE(sim.scheduler.finished());
    EXPECT_EQ("3." + sim.scheduler.take_digits().substr(1, kDigits), expected) << "lose " << lose;
    if (!lose) {
      EXPECT_EQ(sim.assigned[TaskKind::constant], 1) << "none again once the final steps are done";
    }
  }
}

// Without the constant apart (SchedulerConfig::constant_apart), or with fewer than three workers, no
// constant task: the final steps compute it.
TEST(Scheduler, NoConstantTaskForFewerThanThreeWorkersOrWhenSwitchedOff) {
  constexpr std::uint64_t kDigits = 20000;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  for (const int workers : {1, 2, 3}) {
    SchedulerConfig config;
    config.constant_apart = workers < 3;
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), workers, config);
    sim.fingerprinted_on_workers(43);
    sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
    sim.run_shuffled(workers, 43);
    ASSERT_TRUE(sim.scheduler.finished());
    EXPECT_EQ(sim.assigned[TaskKind::constant], 0) << workers << " workers";
    EXPECT_EQ(sim.assigned[TaskKind::final_steps], 1);
    EXPECT_FALSE(sim.scheduler.times().final_with_constant);
    EXPECT_EQ(sim.scheduler.final_summary()->head.substr(0, 40), test::mpfr_pi_digits(kDigits).substr(0, 40));
  }
}

// With pieces on workers, a big merge's products stay with the workers that computed them, and one worker
// puts the merge together (Assemble), fetching the others' products: the integers are the direct
// evaluation's. A worker lost while holding a product that an assembly needs: the product is computed again
// and the assembly waits for it.
TEST(Scheduler, ProductsStayWithTheirWorkersAndAWorkerPutsTheMergeTogether) {
  SchedulerConfig config;
  config.split_merge_bits = 1 << 13;
  config.max_worker_failures = 100;
  for (const bool lose : {false, true}) {
    Sim sim("chudnovsky", kHeldTerms, 4, config);
    sim.fingerprinted_on_workers(31);
    if (lose) {
      // Until an assembly is out; then a worker holding one of its parts (not the assembling one) dies.
      int victim = -1;
      for (unsigned round = 0; round < 2000 && victim < 0 && !sim.scheduler.finished(); ++round) {
        sim.run_shuffled(4, 31 + round, 1);
        for (const auto& [w, t] : sim.running) {
          if (t.kind() != TaskKind::assemble) continue;
          for (const PieceRef& part : t.as<Assemble>().parts)
            if (!part.here() && part.owner != w) victim = part.owner;
        }
      }
      ASSERT_GE(victim, 0) << "no assembly fetched a part from another worker";
      sim.dead.insert(victim);
      std::erase_if(sim.stores, [victim](const auto& e) { return e.first.first == victim; });
      for (unsigned step = 0; step < 10000 && !sim.scheduler.finished(); ++step) {
        std::erase_if(sim.running, [victim](const auto& r) { return r.first == victim; });
        sim.run_shuffled(4, 5000 + step, 1);
        sim.now += 5s;
        sim.scheduler.expire(sim.now);
      }
    } else {
      sim.run_shuffled(4, 31);
    }
    ASSERT_TRUE(sim.scheduler.finished()) << "lose " << lose;
    EXPECT_GT(sim.assigned[TaskKind::product], 0);
    EXPECT_GT(sim.assigned[TaskKind::assemble], 0);
    EXPECT_EQ(sim.scheduler.take_result(), held_direct()) << "lose " << lose;
    EXPECT_EQ(sim.scheduler.verification().mismatches, 0u);
    if (lose) {
      EXPECT_GT(sim.assigned[TaskKind::assemble], 1) << "the assembly waited and went out again";
    } else {
      EXPECT_LE(sim.fetched_here, 1) << "only the root came to the coordinator";
    }
  }
}

// What a fetched piece is checked with, on a worker (the values it asked for) and on the coordinator (all).
TEST(Task, MatchesFingerprintComparesEachValueWithItsOwnResidues) {
  const std::vector<std::uint64_t> primes = primes_from_seed(2, 5);
  const std::vector<BigInt> values{BigInt("123456789123456789123456789"), BigInt(-42), BigInt(0)};
  const Residues residues = residues_of(values, primes);
  EXPECT_TRUE(matches_fingerprint(values, residues, primes));
  EXPECT_TRUE(matches_fingerprint({values[2], values[0]}, residues, primes, {2, 0}));
  EXPECT_FALSE(matches_fingerprint({values[0], values[2]}, residues, primes, {2, 0}));
  std::vector<BigInt> damaged = values;
  mpz_combit(raw(damaged[0]), 40);
  EXPECT_FALSE(matches_fingerprint(damaged, residues, primes));
  EXPECT_FALSE(matches_fingerprint(values, Residues(residues.begin(), residues.end() - 1), primes));
  EXPECT_TRUE(matches_fingerprint(damaged, residues, {})) << "nothing to check without primes";
}

TEST(Scheduler, RestoredPiecesOfAStoppedRunGiveTheSameResult) {
  for (const char* name : {"chudnovsky", "leibniz"}) {
    const std::uint64_t terms = std::string(name) == "leibniz" ? (kSlowRangeTerms * 17 + 5) : 40009;
    SchedulerConfig small;
    small.max_assignment_ranges = 4;  // many tasks, so that a stop leaves pieces and merges in flight
    Sim whole(name, terms, 3);
    whole.run_shuffled(3, 7);
    const PartialResult expected = whole.scheduler.take_result();
    for (std::size_t stop_after : {1u, 3u, 6u, 10u}) {
      Sim stopped(name, terms, 3, small);
      stopped.run_shuffled(3, 11, stop_after);
      ASSERT_FALSE(stopped.scheduler.finished());
      std::vector<FinishedPiece> pieces = stopped.scheduler.finished_pieces();
      std::uint64_t covered = 0;
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        covered += pieces[i].end_range - pieces[i].first_range;
        if (i > 0) {
          EXPECT_LE(pieces[i - 1].end_range, pieces[i].first_range) << "pieces overlap";
        }
      }
      EXPECT_EQ(covered, stopped.scheduler.ranges_done()) << name << " after " << stop_after;

      Sim resumed(name, terms, 2, small);
      resumed.scheduler.restore(pieces);
      EXPECT_EQ(resumed.scheduler.ranges_done(), covered);
      resumed.run_shuffled(2, 5);
      EXPECT_EQ(resumed.scheduler.ranges_done(), resumed.grid.size()) << "a grid range was evaluated twice";
      EXPECT_EQ(resumed.scheduler.take_result(), expected) << name << " after " << stop_after;
    }
  }
}

// Big merges near the top go out as their products, cut into slices, that several workers share. Put
// together in any order they give the direct evaluation exactly; a failed product is retried; and a
// checkpoint taken while products are out restores to the same result.
TEST(Scheduler, BigMergesAreSharedAsProductsAndGiveTheSameIntegers) {
  SchedulerConfig config;
  config.split_merge_bits = 1 << 13;
  config.min_slice_bits = 1 << 8;
  config.max_worker_failures = 100;
  constexpr std::uint64_t kTerms = 20011;
  for (const char* name : {"chudnovsky", "machin"}) {
    const auto series = make_series(name);
    const PartialResult direct = series->evaluate({0, kTerms}, true);
    for (unsigned seed : {1u, 2u}) {
      Sim sim(name, kTerms, 4, config);
      sim.run_shuffled(4, seed);
      EXPECT_GT(sim.assigned[TaskKind::product], 0) << name;
      // Chudnovsky's top merge has three products for four workers: each is cut in two. Machin's has six.
      EXPECT_EQ(sim.most_slices, std::string(name) == "chudnovsky" ? 2u : 1u) << name;
      EXPECT_EQ(sim.scheduler.take_result(), direct) << name << " seed " << seed;
    }
    // A product that fails goes to another worker.
    Sim failing(name, kTerms, 3, config);
    std::optional<Task> product;
    while (!product) {
      failing.run_shuffled(3, 4, 1);
      for (auto& [w, t] : failing.running) {
        if (t.kind() == TaskKind::product && !product) {
          failing.scheduler.fail(w, t.id, "out of memory");
          product = t;
        } else {
          failing.scheduler.complete(w, t.id, execute_task(*series, t), 0.01);
        }
      }
      failing.running.clear();  // each answered here
      ASSERT_FALSE(failing.scheduler.finished());
    }
    failing.run_shuffled(3, 5);
    EXPECT_GE(failing.scheduler.retries(), 1u);
    EXPECT_EQ(failing.scheduler.take_result(), direct) << name;
    // Checkpoints at many moments, some with products out: each restores to the same result.
    int with_products_out = 0;
    for (std::size_t stop = 5; stop < 80; stop += 3) {
      Sim first(name, kTerms, 3, config);
      first.run_shuffled(3, 9, stop);
      if (first.scheduler.finished()) break;
      with_products_out += std::any_of(first.running.begin(), first.running.end(),
                                       [](const auto& r) { return r.second.kind() == TaskKind::product; });
      Sim resumed(name, kTerms, 3, config);
      resumed.scheduler.restore(first.scheduler.finished_pieces());
      resumed.run_shuffled(3, 10);
      EXPECT_EQ(resumed.scheduler.take_result(), direct) << name << " stopped after " << stop;
    }
    EXPECT_GT(with_products_out, 0) << name;
  }
}

// Spread products (SchedulerConfig::spread_parts): each product of a big merge goes out as three phases of
// parts, each reading the phase before's, and the merge is put together from the last phase's. Finished in
// any order, in this process and with the pieces on workers, they give the direct evaluation exactly. With
// 12 workers Chudnovsky's root (three products) is spread in four parts, the next level in two.
TEST(Scheduler, SpreadProductsShareTheBigMergesAndGiveTheSameIntegers) {
  SchedulerConfig config;
  config.split_merge_bits = 1 << 13;
  config.spread_parts = 4;
  config.max_worker_failures = 100;
  constexpr std::uint64_t kTerms = 20011;
  constexpr int kWorkers = 12;
  for (const char* name : {"chudnovsky", "machin"}) {
    const PartialResult direct = make_series(name)->evaluate({0, kTerms}, true);
    for (unsigned seed : {1u, 2u}) {
      Sim sim(name, kTerms, kWorkers, config);
      sim.run_shuffled(kWorkers, seed);
      // Every spread product's phases, each in two or four parts (lower levels' products whole or sliced).
      EXPECT_GT(sim.spread_phases[0], 0) << name;
      EXPECT_EQ(sim.spread_phases[0] % 2, 0) << name;
      EXPECT_EQ(sim.spread_phases[1], sim.spread_phases[0]) << name;
      EXPECT_EQ(sim.spread_phases[2], sim.spread_phases[0]) << name;
      EXPECT_EQ(sim.scheduler.take_result(), direct) << name << " seed " << seed;
    }
  }
  Sim held("chudnovsky", kHeldTerms, kWorkers, config);
  held.fingerprinted_on_workers(17);
  held.run_shuffled(kWorkers, 17);
  ASSERT_TRUE(held.scheduler.finished());
  EXPECT_GT(held.spread_phases[2], 0);
  EXPECT_GT(held.assigned[TaskKind::assemble], 0) << "a worker puts a merge together from parts it fetches";
  EXPECT_EQ(held.scheduler.take_result(), held_direct());
  EXPECT_EQ(held.scheduler.verification().mismatches, 0u);
}

// A worker lost while another reads its output of a spread product's phase: the product starts again from
// its factors, and the result is the same. A part whose output comes back damaged (after its worker's
// fingerprint, which no prediction checks): the merge put together from it fails its fingerprint, and its
// products are computed again.
TEST(Scheduler, SpreadProductsStartAgainWhenAPartIsLostOrDamaged) {
  SchedulerConfig config;
  config.split_merge_bits = 1 << 13;
  config.spread_parts = 4;
  config.max_worker_failures = 100;
  constexpr int kWorkers = 12;
  Sim plain("chudnovsky", kHeldTerms, kWorkers, config);
  plain.fingerprinted_on_workers(23);
  plain.run_shuffled(kWorkers, 23);
  ASSERT_TRUE(plain.scheduler.finished());

  Sim sim("chudnovsky", kHeldTerms, kWorkers, config);
  sim.fingerprinted_on_workers(23);
  int victim = -1;
  for (unsigned round = 0; round < 4000 && victim < 0 && !sim.scheduler.finished(); ++round) {
    sim.run_shuffled(kWorkers, 23 + round, 1);
    for (const auto& [w, t] : sim.running) {
      const auto* spread = std::get_if<Spread>(&t.work);
      if (!spread || spread->phase == 0) continue;
      for (const PieceRef& input : spread->inputs)
        if (!input.here() && input.owner != w) victim = input.owner;
    }
  }
  ASSERT_GE(victim, 0) << "no part read another worker's output";
  sim.dead.insert(victim);
  std::erase_if(sim.stores, [victim](const auto& e) { return e.first.first == victim; });
  // The others answer what they were given (a fetch from the dead worker goes unanswered); then the dead
  // worker's tasks pass their deadline (min_deadline_s), and the run goes on.
  std::erase_if(sim.running, [victim](const auto& r) { return r.first == victim; });
  for (auto& [w, t] : std::exchange(sim.running, {})) sim.run_one(w, std::move(t));
  sim.now += 11s;
  sim.scheduler.expire(sim.now);
  sim.run_shuffled(kWorkers, 9000);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(sim.scheduler.take_result(), held_direct());
  EXPECT_GT(sim.assigned[TaskKind::assemble], 0);
  EXPECT_GT(sim.spread_phases[0], plain.spread_phases[0]) << "a product started again from its factors";

  Sim damaged("chudnovsky", kHeldTerms, kWorkers, config);
  damaged.fingerprinted_on_workers(29);
  int spoilt = 0;
  damaged.damages = [&spoilt](int, const Task& t) {
    const auto* spread = std::get_if<Spread>(&t.work);
    return spread && spread->phase == 1 && spoilt++ == 0;
  };
  damaged.run_shuffled(kWorkers, 29);
  ASSERT_TRUE(damaged.scheduler.finished());
  EXPECT_GT(spoilt, 0);
  EXPECT_GE(damaged.scheduler.retries() + damaged.scheduler.verification().mismatches, 1u);
  EXPECT_GT(damaged.spread_phases[0], plain.spread_phases[0]) << "the merge's products were made again";
  EXPECT_EQ(damaged.scheduler.take_result(), held_direct());
}

// A worker's side of spread final products in a Sim: factors kept under the worker's own keys, the other
// workers making what the scheduler queues, and the product put together from the runs that come back.
struct FinalProducts {
  FinalProducts(Sim& simulation, int worker_count, std::uint64_t seed)
      : sim(simulation), workers(worker_count), primes(primes_from_seed(2, seed)) {
    gmp_randinit_mt(state);
    gmp_randseed_ui(state, seed);
  }
  ~FinalProducts() { gmp_randclear(state); }
  FinalProducts(const FinalProducts&) = delete;
  FinalProducts& operator=(const FinalProducts&) = delete;

  // Two random factors of `a_bits` and `b_bits` held by worker w (as pieces of `range`): their references.
  std::vector<PieceRef> factors_on(int w, Range range, mp_bitcnt_t a_bits, mp_bitcnt_t b_bits) {
    factors.assign(2, BigInt());
    std::vector<PieceRef> refs(2);
    for (std::size_t k = 0; k < 2; ++k) {
      mpz_urandomb(raw(factors[k]), state, k == 0 ? a_bits : b_bits);
      const std::uint64_t key = (std::uint64_t{1} << 63) | k;
      const auto piece = std::make_shared<PartialResult>(PartialResult{range, {factors[k]}});
      sim.stores[{w, key}] = piece;
      refs[k].range = piece->range;
      refs[k].owner = w;
      refs[k].key = key;
      refs[k].shape = shape_of(*piece);
      refs[k].residues = residues_of(piece->values, primes);
    }
    mpz_mul(raw(want), raw(factors[0]), raw(factors[1]));
    return refs;
  }

  // The other workers take what is queued until the product is made (or nothing is left to take); `seen`
  // is called with each task they take.
  std::vector<Scheduler::ProductDone> others_make(int asker,
                                                  const std::function<void(const Task&)>& seen = {}) {
    for (int round = 0; round < 100; ++round) {
      std::vector<Scheduler::ProductDone> done = sim.scheduler.take_products_done();
      if (!done.empty()) return done;
      bool any = false;
      for (int u = 0; u < workers; ++u) {
        if (u == asker || sim.dead.contains(u)) continue;
        if (auto t = sim.scheduler.assign(u, sim.now)) {
          any = true;
          if (seen) seen(*t);
          if (const auto* spread = std::get_if<Spread>(&t->work)) {
            EXPECT_TRUE(spread->final_steps);
            ++sim.spread_phases[spread->phase];
          }
          sim.run_one(u, std::move(*t));
        }
      }
      if (!any) break;
    }
    return sim.scheduler.take_products_done();
  }

  // The product the runs of `done` give, for the request of worker w's task `task`.
  BigInt product_of(const Scheduler::ProductDone& done, int w, std::uint64_t task) {
    EXPECT_FALSE(done.refused);
    EXPECT_EQ(done.worker, w);
    EXPECT_EQ(done.task, task);
    std::vector<const std::vector<BigInt>*> runs;
    for (const PieceRef& run : done.runs) {
      const auto it = sim.stores.find({run.owner, run.key});
      EXPECT_NE(it, sim.stores.end()) << "a run not held";
      if (it == sim.stores.end()) return BigInt(-1);
      EXPECT_NE(run.owner, w) << "a part made by the asking worker";
      runs.push_back(&it->second->values);
    }
    BigInt p;
    assemble_spread(p, SpreadPlan::choose(mpz_size(raw(factors[0])), mpz_size(raw(factors[1])), done.parts),
                    runs);
    return p;
  }

  Sim& sim;
  int workers;
  std::vector<std::uint64_t> primes;
  gmp_randstate_t state;
  std::vector<BigInt> factors;
  BigInt want;
};

// The final steps' products spread over the other workers (product_wanted): the final steps' worker keeps
// the factors, the others make the parts, and the runs that come back give the product; a product asked for
// again (damaged) is made again, one that lost a part's output starts again, and a worker the final steps
// are not with is refused.
TEST(Scheduler, FinalStepsProductsAreMadeByTheOtherWorkers) {
  constexpr std::uint64_t kDigits = 60000;
  constexpr int kWorkers = 6;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  SchedulerConfig config;
  config.spread_parts = 4;
  config.final_spread_bits = 1 << 16;
  Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), kWorkers, config);
  sim.fingerprinted_on_workers(83);
  sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
  FinalProducts products(sim, kWorkers, 83);
  int checked = 0;
  sim.before_running = [&](int w, const Task& t) {
    if (t.kind() != TaskKind::final_steps || checked > 0) return;
    ++checked;
    EXPECT_EQ(t.as<FinalSteps>().spread_bits, std::uint64_t{1} << 16) << "from 4 workers";
    const std::vector<PieceRef> refs = products.factors_on(w, t.as<FinalSteps>().root.range, 400000, 250000);
    sim.scheduler.product_wanted(w, t.id, 0, refs[0], refs[1], false);
    std::vector<Scheduler::ProductDone> done = products.others_make(w);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].parts, 4u) << "as many parts as other workers, a power of two";
    EXPECT_EQ(products.product_of(done[0], w, t.id), products.want);
    // Asked for again (it came damaged): made again from the factors.
    const int columns_before = sim.spread_phases[0];
    sim.scheduler.product_wanted(w, t.id, 0, refs[0], refs[1], true);
    done = products.others_make(w);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(products.product_of(done[0], w, t.id), products.want);
    EXPECT_EQ(sim.spread_phases[0], columns_before + 4);
    // The next product: a worker that lost a part's output makes it start again.
    sim.scheduler.product_wanted(w, t.id, 1, refs[1], refs[0], false);
    // (Not the worker that holds the constant: the final steps would start again without it.)
    for (int u = 0; u < kWorkers && sim.dead.empty(); ++u) {
      if (u == w || u == sim.scheduler.constant_owner()) continue;
      auto part = sim.scheduler.assign(u, sim.now);
      if (!part) continue;
      sim.run_one(u, std::move(*part));
      const int victim = u;
      sim.dead.insert(victim);
      std::erase_if(sim.stores, [victim](const auto& e) { return e.first.first == victim; });
    }
    // (A part of the next phase finds it gone: unreachable.)
    done = products.others_make(w);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(products.product_of(done[0], w, t.id), products.want);
    EXPECT_GE(sim.scheduler.piece_stats().spread_restarts, 2u);
    // Another worker's request for these final steps is refused.
    const int stranger = w == 0 ? 1 : 0;
    sim.scheduler.product_wanted(stranger, t.id, 2, refs[0], refs[1], false);
    done = sim.scheduler.take_products_done();
    ASSERT_EQ(done.size(), 1u);
    EXPECT_TRUE(done[0].refused);
    EXPECT_EQ(sim.scheduler.piece_stats().final_products, 2u);
  };
  sim.run_shuffled(kWorkers, 83);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(checked, 1);
}

// The constant's square root, computed during the series, spreads its products from
// constant_spread_from_workers (here 4; 32 unless told): the Constant task carries spread_bits, and its
// worker's request is accepted and made by the others. Below that many workers the constant keeps its
// products.
TEST(Scheduler, TheConstantsProductsAreSpreadFromItsWorkerCount) {
  constexpr std::uint64_t kDigits = 60000;
  constexpr int kWorkers = 6;
  const std::uint64_t bits = bits_for_digits(kDigits + 20) + 64;
  for (const int from : {4, 32}) {
    SchedulerConfig config;
    config.spread_parts = 4;
    config.final_spread_bits = 1 << 16;
    config.constant_spread_from_workers = from;
    Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), kWorkers, config);
    sim.fingerprinted_on_workers(89);
    sim.scheduler.finish_on_workers(FinalSteps{PieceRef{}, bits, 0, false, std::nullopt, 0}, false);
    FinalProducts products(sim, kWorkers, 89);
    int constants = 0;
    sim.before_running = [&](int w, const Task& t) {
      if (t.kind() != TaskKind::constant || constants > 0) return;
      ++constants;
      if (from == 32) {
        EXPECT_EQ(t.as<Constant>().spread_bits, 0u) << "6 workers, fewer than 32: products kept";
        return;
      }
      EXPECT_EQ(t.as<Constant>().spread_bits, std::uint64_t{1} << 16);
      const std::vector<PieceRef> refs = products.factors_on(w, Range{}, 300000, 200000);
      sim.scheduler.product_wanted(w, t.id, 0, refs[0], refs[1], false);
      int parts = 0;
      const std::vector<Scheduler::ProductDone> done = products.others_make(w, [&](const Task& taken) {
        if (const auto* spread = std::get_if<Spread>(&taken.work); spread && spread->final_steps) {
          EXPECT_EQ(spread->merge, t.id) << "a part of the constant's product";
          ++parts;
        }
      });
      ASSERT_EQ(done.size(), 1u);
      EXPECT_EQ(products.product_of(done[0], w, t.id), products.want);
      EXPECT_GE(parts, 12) << "three phases of 4 parts at least";
      EXPECT_EQ(sim.scheduler.piece_stats().final_products, 1u);
    };
    sim.run_shuffled(kWorkers, 89);
    ASSERT_TRUE(sim.scheduler.finished()) << "constant spread from " << from;
    EXPECT_EQ(constants, 1) << "the constant was computed apart, from " << from;
  }
}

TEST(Scheduler, RestoreRefusesPiecesThatDoNotFitTheGrid) {
  Sim sim("chudnovsky", 40009, 2);
  const Range r = sim.grid.span(1, 3);  // two grid ranges, but not an aligned node of the tree
  const auto result = std::make_shared<PartialResult>(sim.series->evaluate(r, false));
  EXPECT_THROW(sim.scheduler.restore({FinishedPiece{1, 3, result}}), std::invalid_argument);
  Sim other("chudnovsky", 40009, 2);
  const auto wrong = std::make_shared<PartialResult>(other.series->evaluate(other.grid.span(0, 1), false));
  EXPECT_THROW(other.scheduler.restore({FinishedPiece{2, 3, wrong}}), std::invalid_argument);
}

TEST(Scheduler, FastSeriesAssignmentsAreAlignedNodesOfTheMergeTree) {
  Sim sim("chudnovsky", 200000, 2, SchedulerConfig{});
  // A measured rate makes assignments grow beyond one grid range.
  auto first = sim.scheduler.assign(0, sim.now);
  ASSERT_TRUE(first);
  sim.scheduler.complete(0, first->id, execute_task(*sim.series, *first), 1e-3);
  for (int i = 0; i < 50; ++i) {
    auto t = sim.scheduler.assign(1, sim.now);
    if (!t) break;
    if (t->kind() != TaskKind::evaluate) {
      sim.scheduler.complete(1, t->id, execute_task(*sim.series, *t), 1e-3);
      continue;
    }
    const std::uint64_t size = t->end_range - t->first_range;
    EXPECT_TRUE(std::has_single_bit(size));
    EXPECT_EQ(t->first_range % size, 0u);
    EXPECT_EQ(t->as<Evaluate>().range, sim.grid.span(t->first_range, t->end_range));
    sim.scheduler.complete(1, t->id, execute_task(*sim.series, *t), 1e-3);
  }
}

TEST(Scheduler, AssignmentsShrinkNearTheEnd) {
  SchedulerConfig config;
  config.assignment_seconds = 1000;  // the rate alone would hand out everything at once
  Sim sim("basel", kSlowRangeTerms * 64, 2, config);
  auto t = sim.scheduler.assign(0, sim.now);
  sim.scheduler.complete(0, t->id, PartialResult{t->as<Evaluate>().range, {BigInt(0)}}, 1e-3);
  std::vector<std::uint64_t> sizes;
  while (auto next = sim.scheduler.assign(0, sim.now)) {
    sizes.push_back(next->end_range - next->first_range);
    sim.scheduler.complete(0, next->id, PartialResult{next->as<Evaluate>().range, {BigInt(0)}}, 1e-3);
  }
  ASSERT_GE(sizes.size(), 4u);
  EXPECT_LE(sizes.front(), 16u);  // at most a quarter of the 63 grid ranges left with two workers
  EXPECT_EQ(sizes.back(), 1u);
  EXPECT_TRUE(std::is_sorted(sizes.rbegin(), sizes.rend()));
}

TEST(Scheduler, OverdueTaskGoesToAnotherWorkerAndTheLateResultIsDiscarded) {
  SchedulerConfig config;
  config.first_deadline_s = 5;
  Sim sim("chudnovsky", 5000, 2, config);
  // As under MPI: worker w is rank w + 1, and notices name the rank.
  for (int w = 0; w < 2; ++w) sim.scheduler.workers()[static_cast<std::size_t>(w)].rank = w + 1;
  auto slow = sim.scheduler.assign(0, sim.now);
  ASSERT_TRUE(slow);
  sim.now += 6s;
  EXPECT_EQ(sim.scheduler.expire(sim.now), std::vector<int>{0});
  const std::vector<std::string> notices = sim.scheduler.take_notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("(rank 1 missed its deadline)"), std::string::npos) << notices[0];
  EXPECT_EQ(sim.scheduler.active_workers(), 1);
  EXPECT_EQ(sim.scheduler.lost_workers(), std::vector<int>{0});
  auto retry = sim.scheduler.assign(1, sim.now);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->id, slow->id);
  EXPECT_TRUE(sim.scheduler.complete(1, retry->id, execute_task(*sim.series, *retry), 0.1));
  EXPECT_FALSE(sim.scheduler.complete(0, slow->id, execute_task(*sim.series, *slow), 6));
  EXPECT_EQ(sim.scheduler.workers()[0].discarded, 1);
  EXPECT_EQ(sim.scheduler.retries(), 1u);
  EXPECT_EQ(sim.scheduler.active_workers(), 2);  // it answered: it may work again
  sim.run_shuffled(2, 7);
  EXPECT_EQ(sim.scheduler.take_result(), sim.series->evaluate({0, 5000}, true));
}

TEST(Scheduler, ShortTasksGetMoreQueuedBehindThemAndTheyMoveOnWhenTheWorkerIsLost) {
  SchedulerConfig config;
  config.max_assignment_ranges = 1;
  config.first_deadline_s = 5;
  Sim sim("leibniz", kSlowRangeTerms * 8, 2, config);
  auto first = sim.scheduler.assign(0, sim.now);
  ASSERT_TRUE(first);
  EXPECT_FALSE(sim.scheduler.wants_another_task(0));  // nothing measured yet
  EXPECT_TRUE(sim.scheduler.complete(0, first->id, execute_task(*sim.series, *first), 0.001));
  auto current = sim.scheduler.assign(0, sim.now);
  ASSERT_TRUE(current);
  std::set<std::uint64_t> held{current->id};
  while (sim.scheduler.wants_another_task(0)) {  // its last task took 1 ms
    auto queued = sim.scheduler.assign(0, sim.now);
    ASSERT_TRUE(queued);
    held.insert(queued->id);
  }
  EXPECT_EQ(sim.scheduler.held(0), Scheduler::kMaxHeld);  // never more
  EXPECT_EQ(held.size(), Scheduler::kMaxHeld);
  EXPECT_EQ(sim.scheduler.busy_workers(), 1);

  // The current task misses its deadline (10 s, the minimum): all go back to the queue, the queued ones
  // without a failure.
  sim.now += 11s;
  EXPECT_EQ(sim.scheduler.expire(sim.now), std::vector<int>{0});
  EXPECT_EQ(sim.scheduler.lost_workers(), std::vector<int>{0});
  std::set<std::uint64_t> moved;
  for (std::size_t i = 0; i < held.size(); ++i) {
    auto t = sim.scheduler.assign(1, sim.now);
    ASSERT_TRUE(t);
    moved.insert(t->id);
    EXPECT_TRUE(sim.scheduler.complete(1, t->id, execute_task(*sim.series, *t), 0.1));
  }
  EXPECT_EQ(moved, held);
  EXPECT_EQ(sim.scheduler.retries(), held.size());
  sim.run_shuffled(2, 5);
  EXPECT_EQ(sim.scheduler.ranges_done(), 8u);
  EXPECT_EQ(sim.scheduler.take_result().range, (Range{0, kSlowRangeTerms * 8}));

  // Tasks of 200 ms: nothing is queued behind them.
  Sim slow("leibniz", kSlowRangeTerms * 8, 2, config);
  auto t = slow.scheduler.assign(0, slow.now);
  ASSERT_TRUE(t);
  EXPECT_TRUE(slow.scheduler.complete(0, t->id, execute_task(*slow.series, *t), 0.2));
  ASSERT_TRUE(slow.scheduler.assign(0, slow.now));
  EXPECT_FALSE(slow.scheduler.wants_another_task(0));
}

// After the series, the decimal conversion goes out as blocks, each a task like any other: a failed block
// and an overdue one are handed on, and the joined blocks certify to MPFR's digits.
TEST(Scheduler, DecimalConversionRunsInBlocksThatAreRetriedLikeAnyTask) {
  SchedulerConfig config;
  config.max_worker_failures = 100;
  constexpr std::uint64_t kDigits = 3000;
  Sim sim("chudnovsky", *make_series("chudnovsky")->terms_for_digits(kDigits), 3, config);
  sim.run_shuffled(3, 11);
  const PartialResult root = sim.scheduler.take_result();
  const Estimate best = sim.series->estimate(root, bits_for_digits(kDigits + 20) + 64).best();
  BigInt f;
  const mpfr_exp_t e = mpfr_get_z_2exp(raw(f), raw(best.value));
  ASSERT_LT(e, 0);
  sim.scheduler.convert(PieceRef::held_here(std::make_shared<PartialResult>(PartialResult{Range{}, {f}})),
                        static_cast<std::uint64_t>(-e), kDigits + kGuardDecimals, 3);
  EXPECT_FALSE(sim.scheduler.finished());
  const std::uint64_t retries_before = sim.scheduler.retries();

  auto failed = sim.scheduler.assign(0, sim.now);
  auto lost = sim.scheduler.assign(1, sim.now);
  auto third = sim.scheduler.assign(2, sim.now);
  ASSERT_TRUE(failed && lost && third);
  EXPECT_EQ(failed->kind(), TaskKind::digits);
  EXPECT_FALSE(sim.scheduler.assign(2, sim.now));  // three blocks, all out
  sim.scheduler.fail(0, failed->id, "out of memory");
  // A block that comes back short counts as a failure too.
  EXPECT_FALSE(sim.scheduler.complete(2, third->id, PartialResult{}, 0.1, "314"));
  sim.now += 11s;  // past the 10 s minimum deadline of `lost`
  EXPECT_EQ(sim.scheduler.expire(sim.now), std::vector<int>{1});
  // The block worker 2 returned short waits for worker 0, which has not failed it.
  int worker2_blocks = 0;
  while (!sim.scheduler.finished()) {
    int w = 2;
    auto t = sim.scheduler.assign(w, sim.now);
    if (!t) {
      w = 0;
      t = sim.scheduler.assign(w, sim.now);
      EXPECT_EQ(t->id, third->id);
    }
    ASSERT_TRUE(t);
    worker2_blocks += w == 2;
    EXPECT_TRUE(sim.scheduler.complete(w, t->id, PartialResult{}, 0.1, execute_digits(*t).digits));
  }
  EXPECT_EQ(worker2_blocks, 2);
  EXPECT_EQ(sim.scheduler.retries() - retries_before, 3u);
  EXPECT_FALSE(
      sim.scheduler.complete(1, lost->id, PartialResult{}, 20, execute_digits(*lost).digits));  // late
  EXPECT_EQ(sim.scheduler.workers()[2].digit_blocks + sim.scheduler.workers()[0].digit_blocks, 3u);
  EXPECT_GT(sim.scheduler.times().digit_blocks_s, 0.0);
  const auto text = certified_from_blocks(sim.scheduler.take_digits(), kDigits, best.error_bound);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, test::mpfr_pi_digits(kDigits));
}

TEST(Scheduler, RangeThatKeepsFailingIsPoisonedAndNamed) {
  SchedulerConfig config;
  config.max_range_failures = 3;
  config.max_worker_failures = 100;
  Sim sim("leibniz", kSlowRangeTerms * 3, 2, config);
  auto t = sim.scheduler.assign(0, sim.now);
  ASSERT_TRUE(t);
  sim.scheduler.fail(0, t->id, "boom");
  t = sim.scheduler.assign(1, sim.now);
  sim.scheduler.fail(1, t->id, "boom");
  t = sim.scheduler.assign(0, sim.now);
  try {
    sim.scheduler.fail(0, t->id, "boom");
    FAIL() << "no PoisonedRange after three failures";
  } catch (const PoisonedRange& e) {
    EXPECT_NE(std::string(e.what()).find("terms [0, 16777216)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 times"), std::string::npos) << e.what();
  }
}

TEST(Scheduler, WorkerThatFailsRepeatedlyGetsNoMoreWork) {
  SchedulerConfig config;
  config.max_range_failures = 100;
  config.max_worker_failures = 2;
  Sim sim("leibniz", kSlowRangeTerms * 8, 2, config);
  for (int i = 0; i < 2; ++i) {
    auto t = sim.scheduler.assign(0, sim.now);
    ASSERT_TRUE(t);
    sim.scheduler.fail(0, t->id, "bad node");
  }
  EXPECT_TRUE(sim.scheduler.retired(0));
  EXPECT_FALSE(sim.scheduler.assign(0, sim.now));
  EXPECT_EQ(sim.scheduler.active_workers(), 1);
  sim.run_shuffled(2, 3);  // worker 1 finishes the job alone
  EXPECT_EQ(sim.scheduler.ranges_done(), 8u);
  EXPECT_EQ(sim.scheduler.workers()[0].evaluations, 0u);
}

}  // namespace
}  // namespace pi

namespace pi {
namespace {

// A worker that damages every result it returns (evaluations, merges and products of split merges alike)
// is caught by the fingerprints every time, retired, and the result is exact all the same.
TEST(Scheduler, FingerprintsCatchEveryDamagedResult) {
  SchedulerConfig config;
  config.split_merge_bits = 1 << 12;  // split the top merges into products even at this size
  config.min_slice_bits = 1 << 10;
  const std::uint64_t terms = 20011;
  Sim sim("chudnovsky", terms, 3, config);
  sim.scheduler.verify_with(primes_from_seed(2, 17));
  sim.damages = [](int w, const Task&) { return w == 1; };
  sim.run_shuffled(3, 5);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(sim.scheduler.take_result(), sim.series->evaluate({0, terms}, true));
  const VerificationStats& v = sim.scheduler.verification();
  EXPECT_GE(v.mismatches, 3u);
  EXPECT_EQ(static_cast<int>(v.mismatches), sim.scheduler.workers()[1].mismatches);
  EXPECT_TRUE(sim.scheduler.workers()[1].retired);
  EXPECT_GT(sim.assigned[TaskKind::product], 0);
  EXPECT_GT(v.products, 0u);
  EXPECT_GT(v.pieces, 0u);
  EXPECT_EQ(sim.scheduler.workers()[0].mismatches + sim.scheduler.workers()[2].mismatches, 0);
}

// Without a check, the same damage goes through: the fingerprints are what caught it above.
TEST(Scheduler, WithoutFingerprintsTheDamageWouldStay) {
  const std::uint64_t terms = 20011;
  Sim sim("chudnovsky", terms, 3);
  sim.damages = [](int w, const Task& t) { return w == 1 && t.kind() == TaskKind::evaluate; };
  sim.run_shuffled(3, 5);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_NE(sim.scheduler.take_result(), sim.series->evaluate({0, terms}, true));
}

// Slow series: a worker's first range and a share of the others are computed again by another worker and
// compared; a damaged sum is outvoted by a third run, counted against its worker, and never reaches the
// prefix.
TEST(Scheduler, SlowSeriesDuplicatesOutvoteADamagedSum) {
  const std::uint64_t terms = kSlowRangeTerms * 40 + 5;
  Sim clean("leibniz", terms, 3);
  clean.run_shuffled(3, 8);
  ASSERT_TRUE(clean.scheduler.finished());
  EXPECT_GE(clean.scheduler.verification().duplicated, 3u);  // one per worker at least
  EXPECT_EQ(clean.scheduler.verification().disagreements, 0u);
  const PartialResult want = clean.scheduler.take_result();

  Sim sim("leibniz", terms, 3);
  bool damaged_one = false;
  sim.damages = [&damaged_one](int w, const Task& t) {
    if (w != 1 || t.kind() != TaskKind::evaluate || damaged_one) return false;
    damaged_one = true;  // rank 1's first range: one that is always computed again
    return true;
  };
  sim.run_shuffled(3, 8);
  ASSERT_TRUE(sim.scheduler.finished());
  EXPECT_EQ(sim.scheduler.take_result(), want);
  EXPECT_EQ(sim.scheduler.verification().disagreements, 1u);
  EXPECT_EQ(sim.scheduler.workers()[1].mismatches, 1);
  EXPECT_EQ(sim.scheduler.workers()[1].failures, 1);
  EXPECT_EQ(sim.scheduler.workers()[0].mismatches + sim.scheduler.workers()[2].mismatches, 0);
  EXPECT_EQ(sim.scheduler.ranges_done(), sim.grid.size());
}

// A restored piece is checked against its fingerprint too: a damaged one is refused, named.
TEST(Scheduler, RestoreRefusesADamagedPiece) {
  const std::uint64_t terms = 20011;
  Sim done("chudnovsky", terms, 2);
  done.run_shuffled(2, 3, 40);
  std::vector<FinishedPiece> pieces = done.scheduler.finished_pieces();
  ASSERT_GE(pieces.size(), 2u);
  {
    Sim fresh("chudnovsky", terms, 2);
    fresh.scheduler.verify_with(primes_from_seed(2, 99));
    EXPECT_NO_THROW(fresh.scheduler.restore(pieces));
  }
  PartialResult damaged = *pieces[1].result;
  mpz_neg(raw(damaged.values[2]), raw(damaged.values[2]));
  pieces[1].result = std::make_shared<PartialResult>(damaged);
  Sim fresh("chudnovsky", terms, 2);
  fresh.scheduler.verify_with(primes_from_seed(2, 99));
  try {
    fresh.scheduler.restore(pieces);
    ADD_FAILURE() << "a damaged piece was restored";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fail their fingerprint: value 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pi
