// The coordinator's decisions, free of MPI: which task an idle worker gets, how big an assignment is, when
// a task is overdue and goes to another worker, when a range is poisoned and a worker retired, and how
// finished pieces merge into the result. Drivers (in-process, MPI) feed it events and carry out its tasks.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/capture.hpp"
#include "coordinator/grid.hpp"
#include "coordinator/task.hpp"
#include "coordinator/task_states.hpp"
#include "coordinator/usage.hpp"

namespace pi {

struct SchedulerConfig {
  double assignment_seconds = 1.0;  // an assignment should take about this long
  double deadline_factor = 10.0;    // a task is overdue after this many times its predicted duration...
  double min_deadline_s = 10.0;     // ...but never sooner than this
  double first_deadline_s = 120.0;  // before any rate has been measured
  int max_range_failures = 3;       // a task that fails this often poisons the job
  int max_worker_failures = 3;      // a worker that fails this often gets no more work
  std::uint64_t max_assignment_ranges = 0;  // 0: no cap
  // A merge of operands this big (in bits, both together), at a level of the tree with fewer merges than
  // twice the workers, is cut into its products (Series::merge_products), each maybe cut again into slices
  // of its right factor no thinner than min_slice_bits, so that several workers share it: the last merges
  // would otherwise be one worker's alone while the others wait.
  double split_merge_bits = 1 << 22;
  double min_slice_bits = 1 << 20;
  // A power of two >= 2: each product of a merge cut into products is a spread product instead
  // (series/spread_product.hpp), its three phases each cut into up to this many parts (Spread tasks;
  // spread_parts_for), so that no worker holds or fetches a whole factor and every worker shares the top
  // merges; the merge is put together from the last phase's parts (Assemble). 0: products whole or in
  // slices, as above. pi-job: --spread-parts, 64 unless told.
  std::uint32_t spread_parts = 0;
  // With spread_parts, kSpreadFromWorkers or more and final steps on the workers: the final steps' division
  // (by Newton's iteration) and multiplication by the constant spread each product whose smaller factor has
  // this many bits or more over the other workers (FinalSteps::spread_bits, product_wanted).
  double final_spread_bits = 1 << 22;
  // Final steps on the workers that spread their products (final_spread_bits): their worker also splits the
  // decimals into up to this many parts (one a worker, each of kMinBlockDecimals or more:
  // conversion_parts_for), its products spread as the division's, and each conversion block reads its part
  // (FinalSteps::split_parts). 0: every block reads the whole fraction, as before 2026-12-06. pi-job:
  // --conversion-parts, 32 unless told: more parts convert faster, but the split's products, one after
  // another on its worker, take longer. In the model at 1e8 digits on 64 hosts (bench/README, one run):
  // 63 parts 8.66 s, 32 parts 7.76 s, 16 parts 8.18 s.
  std::uint32_t conversion_parts = 32;
  // Slow series, two workers or more: this share of the grid ranges (chosen by a hash of the range, and
  // the first range each worker finishes) is computed again by another worker and compared bit for bit
  // before it joins the prefix; a disagreement is settled by a third run, and the odd worker is counted as
  // failing. Their sums have no cheap fingerprint.
  double duplicate_share = 0.01;
  // A lost piece of several grid ranges is computed again as this many evaluations of aligned parts of it
  // at most (0: twice the active workers; 1: one evaluation of its whole range, as before 2026-12-03).
  std::uint64_t recompute_parts = 0;
  // Final steps on workers, three workers or more: a worker with nothing to do once every evaluation is out
  // computes the final steps' constant (the square root) as a task of its own, and the final steps take it
  // from there if it is done by then (false: they compute it themselves, beside the division, as before
  // 2026-12-04).
  bool constant_apart = true;
  // With spread products, the constant's square root spreads its products from this many workers: it runs
  // during the series, and its parts hold up the series' own tasks with fewer. In the model at 1e8 digits
  // (bench/README), with a square root of 178 products, the job took 18.49 s instead of 17.28 s on 16
  // hosts with them spread, and 10.78 s instead of 12.41 s on 64; with 37 products, spread from 6 workers,
  // 7 hosts took 32.07 s instead of 29.91 s, 9 hosts 26.89 s instead of 24.56 s, 16 hosts the same.
  int constant_spread_from_workers = 32;
  // Pieces on workers: each piece of at least replica_min_bits a worker holds (evaluations, merges and
  // assemblies, the series' result, the final value's fraction; not a merge's products) is copied to a
  // second worker when `replicas` is 1 (Copy, SCR's partner copies), so that losing its owner costs a change
  // of address instead of a computation. 0: none.
  int replicas = 0;
  double replica_min_bits = kKeepAtLeastBits;
  // A merge of operands this big (both together) that this process carries out alone may be lent them
  // (lend_operands): the scheduler lets go of their integers, and the merge frees each once it has read it
  // for the last time. At 1e8 digits of chudnovsky the root merge's operands have 2 Gbit, the two below it
  // 1 Gbit each, the four below those 0.5 Gbit.
  double lend_merge_bits = double(std::uint64_t{1} << 29);
};

struct WorkerStats {
  int rank = 0;
  std::string host;
  std::uint64_t evaluations = 0;
  std::uint64_t merges = 0;
  std::uint64_t digit_blocks = 0;  // blocks of the decimal conversion
  std::uint64_t terms = 0;         // terms of the evaluations it finished first
  double busy_s = 0;               // compute time it reported
  double last_task_s = -1;         // compute time of its last task (-1: none yet)
  int failures = 0;                // errors reported
  int timeouts = 0;                // deadlines missed
  int discarded = 0;               // late duplicates thrown away
  int mismatches = 0;              // results that failed their check (counted in failures too)
  bool duplicated = false;         // one of its slow-series ranges was computed again by another worker
  bool retired = false;            // failed too often: no more work
  bool lost = false;   // taken for lost (silent, or unreachable for a fetch) until it reports again
  double quiet_s = 0;  // seconds since anything arrived from it (the executor's view; 0: unknown)
  RankUsage usage;     // as the worker last reported it (with its last result)
};

// Compute time by kind of task, summed over workers (inline merges on the coordinator included).
struct TaskTimes {
  double evaluations_s = 0;
  std::map<int, double> merges_by_level_s;  // level k merges two nodes of 2^(k-1) grid ranges each
  double digit_blocks_s = 0;                // the decimal conversion's blocks
  double final_steps_s = 0;                 // the final division and square root on a worker
  double constant_s = 0;                    // the final steps' constant on a worker (Constant), if one ran
  bool final_with_constant = false;         // the last final steps took the constant from that worker
};

// What the coordinator checked (fast series): every piece, product and conversion block a worker returned,
// against its fingerprint.
struct VerificationStats {
  std::vector<std::uint64_t> primes;  // empty: nothing is checked
  std::uint64_t pieces = 0;           // evaluations and merges (restored pieces included)
  std::uint64_t products = 0;         // parts of split merges
  std::uint64_t blocks = 0;           // blocks of the decimal conversion
  std::uint64_t mismatches = 0;       // results refused (and computed again)
  double seconds = 0;                 // the coordinator's time spent checking
  // Slow series: ranges computed twice and compared, and how many of those disagreed (settled by a third).
  double duplicate_share = 0;  // 0: none (one worker, or turned off)
  std::uint64_t duplicated = 0;
  std::uint64_t disagreements = 0;
};

// Pieces on workers (Scheduler::hold_on_workers): whether they were, how many the coordinator fetched
// (checkpoints, the last merge), and how many were computed again because their worker was lost.
struct PieceStats {
  bool on_workers = false;
  std::uint64_t fetched = 0;
  std::uint64_t recomputed = 0;
  std::uint64_t loaded = 0;           // pieces of a resumed job that workers read from their files (Load)
  std::uint64_t replicas = 0;         // copies made on a second worker (SchedulerConfig::replicas)
  std::uint64_t from_replicas = 0;    // lost pieces whose copy took their place
  std::uint64_t fraction_copies = 0;  // copies of the final fraction that conversion blocks' workers kept
  std::uint64_t merges_lent = 0;      // merges lent their operands (lend_operands)
  std::uint64_t spread_parts = 0;     // parts of spread products' phases done (SchedulerConfig::spread_parts)
  std::uint64_t spread_restarts = 0;  // spread products started again (a lost or damaged part's output)
  std::uint64_t final_products = 0;   // the final steps' products spread over the workers
  std::uint64_t conversion_parts = 0;  // the parts the final steps split the decimals into (0: none)
  std::uint64_t parts_refused = 0;     // parts' blocks converted from the whole fraction instead
};

// A task failed as often as the job allows: the job stops with this error, which names the terms.
class PoisonedRange : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;

  Scheduler(const Series& series, const Grid& grid, SchedulerConfig config, int workers);

  // The next task for worker `w`, or nullopt when there is nothing for it now (or it is retired). A worker
  // may hold more tasks behind the one it is computing (see wants_another_task); it carries them out in the
  // order they were assigned.
  std::optional<Task> assign(int w, Clock::time_point now);
  // Whether worker `w` should be sent another task now, to compute after those it holds: it holds at least
  // one and fewer than kMaxHeld, and together they will take so little time (under kPrefetchBelowSeconds;
  // each by its prediction, or for an evaluation without one, by the worker's last task) that waiting for
  // the next assignment's round trip would be a noticeable part of the worker's time. Long tasks never get
  // one queued behind them, so no worker sits on work another worker could start sooner; nor does a load
  // (restore), so that a resumed job's pieces spread over the workers.
  bool wants_another_task(int w) const;
  static constexpr std::size_t kMaxHeld = 4;
  static constexpr std::uint32_t kMaxSlices = 16;
  static constexpr double kPrefetchBelowSeconds = 0.05;
  // Tasks assigned to worker `w` and not yet answered.
  std::size_t held(int w) const { return in_flight_[static_cast<std::size_t>(w)].size(); }
  // A worker's result: `result` for an evaluation or a merge, `digits` for a block of the decimal
  // conversion. False when it is a late duplicate of a task already done (discarded), or when it fails its
  // check (verify_with): then it counts as a failure of the worker and the task is handed out again.
  bool complete(int w, std::uint64_t task_id, TaskOutput output, double compute_s);
  bool complete(int w, std::uint64_t task_id, PartialResult result, double compute_s,
                std::string digits = {}) {
    TaskOutput output;
    output.result = std::move(result);
    output.digits = std::move(digits);
    return complete(w, task_id, std::move(output), compute_s);
  }
  // From now on (call before restore and the first assignment), every result is checked against the
  // fingerprints modulo `primes` (fast series only): the residues a worker reports must be those of the
  // integers that arrived, and those predicted from the term formulas (a piece, from its children for a
  // merge, from its factors for a product); a conversion block's text must spell the integer whose residues
  // the worker reports. Restored pieces are checked the same way (restore throws for a damaged one).
  void verify_with(std::vector<std::uint64_t> primes);
  const VerificationStats& verification() const { return verification_; }
  // Why the last result refused by its check was refused ("" before any), for the log.
  const std::string& last_refusal() const { return last_refusal_; }
  // A worker reports that a task failed. Throws PoisonedRange when the task has failed too often.
  void fail(int w, std::uint64_t task_id, const std::string& why);

  // Merge `task_id`, just assigned to this process's own executor, takes its operands: the scheduler keeps
  // their ranges, shapes and fingerprints but not their integers (PieceRef::kLent), so that the merge is
  // their only holder and can free them as it goes (carry_out with the task, Series::combine_releasing).
  // Only for merges of operands here of SchedulerConfig::lend_merge_bits or more; returns whether it lent
  // them. The task can then not be given again: if it fails, or a checkpoint is taken before it ends
  // (finished_pieces), its operands are lost and their ranges computed again. So a stop during it leaves
  // the last checkpoint as it is unless the others finished since are more (Checkpointing).
  bool lend_operands(std::uint64_t task_id);

  // Pieces on workers (fast series, from before the first assignment). Evaluations and merges are handed
  // out to be kept by their worker (Task::keep), which returns only the piece's shape and residues; a merge
  // goes preferably to the worker that holds its larger operand and fetches the other from its owner. The
  // scheduler keeps each piece's owner, shape and fingerprint. `fetch` brings a piece here when the
  // coordinator needs its integers (a checkpoint, the last merge), or returns nullptr when its owner does not
  // give it; `lead_estimate_bits` is the precision of the estimates workers make of pieces from term 0.
  using Fetcher = std::function<std::shared_ptr<const PartialResult>(const PieceRef&)>;
  void hold_on_workers(Fetcher fetch, std::uint64_t lead_estimate_bits);
  bool holds_on_workers() const { return static_cast<bool>(fetch_); }
  // Pieces their workers no longer need to keep (merged, or a late duplicate): (worker, key), to tell them.
  std::vector<std::pair<int, std::uint64_t>> take_drops() { return std::exchange(drops_, {}); }
  // Worker `w` could not get piece `key` from worker `owner` for task `task_id`: the owner did not answer in
  // time (`silent`: it is taken for lost, with every piece it holds, and its tasks are overdue at once) or no
  // longer holds it. Neither counts
  // against `w` or the task: the lost pieces are computed again from their ranges (the lineage of a piece is
  // its range: evaluating it gives the same integers as the merges that made it), and the tasks that needed
  // them wait for that. False when it changes nothing: a task no longer wanted (done elsewhere, cancelled,
  // a copy given up) whose piece is no longer held, its owner not silent.
  bool unreachable(int w, std::uint64_t task_id, int owner, std::uint64_t key, bool silent);
  // Worker w has the fraction of conversion block `task_id` (Task::keep), checked, and keeps it: later
  // blocks may read it there, and the holder it came from is free for another (fraction_source).
  void fetched(int w, std::uint64_t task_id);
  // Worker `w` has not been heard of for far longer than its heartbeat: it is taken for lost now, and its
  // tasks are overdue at the next expire() rather than at their deadlines (which may be long); when a
  // capture waits for it to write pieces, the pieces it holds are lost now.
  void silent(int w);
  // Retired worker `w` is told to stop: the tasks it holds go to other workers (it may still answer the one
  // under way: a late answer like any other), and the pieces it holds are computed again.
  void let_go(int w);
  const PieceStats& piece_stats() const { return piece_stats_; }
  std::uint64_t recomputed() const { return piece_stats_.recomputed; }
  // Pieces held by worker `w`, by the scheduler's count.
  std::uint64_t held_by(int w) const;

  // The final steps' large products spread over the workers (FinalSteps::spread_bits): worker `w`, carrying
  // out final steps `task_id`, holds the factors of its product `n` as one-value pieces `a` and `b` (its
  // own keys, with its residues) and asks the others to make it, as a spread product whose parts any worker
  // takes (Spread::final_steps). `again`: the product n that came was damaged (its residues are not the
  // factors' product) or could not be fetched, and is made anew. A request for a task that is no longer
  // the worker's is refused. Products before n are done with: their runs are dropped.
  void product_wanted(int w, std::uint64_t task_id, std::uint32_t n, PieceRef a, PieceRef b, bool again);
  // A product made (its runs, one piece a column part: assemble_spread reads them), or refused: for the
  // executor to tell the final steps' worker.
  struct ProductDone {
    int worker = 0;
    std::uint64_t task = 0;
    std::uint32_t n = 0;
    std::uint32_t parts = 0;
    bool refused = false;
    std::vector<PieceRef> runs;
  };
  std::vector<ProductDone> take_products_done() { return std::exchange(products_done_, {}); }
  // Pieces held by worker `w` that wait for their sibling and have a copy on another worker
  // (SchedulerConfig::replicas): if `w` is lost now, each of them takes its copy's place (no merge has
  // fetched it yet, so none can end without it).
  std::uint64_t copied_from(int w) const;
  // Hands overdue tasks to the queue again; returns the workers that missed their deadline. May throw
  // PoisonedRange.
  std::vector<int> expire(Clock::time_point now);
  // Moves every deadline on by `by`: the coordinator itself did not run for that long (the job was
  // stopped, SIGSTOP or `scontrol suspend`, or the machine suspended), so no worker can be blamed for it.
  void postpone_deadlines(Clock::duration by);

  bool finished() const;

  // Workers that can still take work: not retired, not overdue.
  int active_workers() const;
  int busy_workers() const;
  // A task as it ran on a worker, for the live page's timeline: from its start (the end less the compute
  // time the worker reported, or when it could have started) to when its result or failure arrived.
  struct TaskSpan {
    int worker = 0;
    TaskKind kind = TaskKind::evaluate;
    std::uint64_t first_range = 0, end_range = 0;
    Clock::time_point start{}, end{};
    bool ok = true;
  };
  // The spans since the last call (at most kSpansKept: older ones are dropped when nobody takes them).
  std::vector<TaskSpan> take_spans();
  static constexpr std::size_t kSpansKept = 20000;
  // What worker `wi` is doing, for the live page: retired; lost (taken for lost, or overdue and not heard
  // of for `quiet_after_s`); overdue (a task past its deadline); quiet (not heard of for `quiet_after_s`);
  // busy or idle.
  std::string worker_state(std::size_t wi, double quiet_after_s) const;
  // Workers whose task is overdue and that have not answered since (dead, hung, or very slow).
  std::vector<int> lost_workers() const;
  std::uint64_t ranges_done() const { return ranges_done_; }
  std::uint64_t retries() const { return retries_; }
  // Work done so far in the progress unit (terms for slow series, digits for fast ones).
  double work_done() const { return work_done_; }
  double total_work() const { return total_work_; }
  // Slow series: the finished prefix [0, n), which grows as ranges complete (nullptr before the first).
  const PartialResult* prefix() const { return prefix_.get(); }
  // The longest finished result that starts at term 0, for either kind of series (nullopt before one): its
  // integers when here, else its worker's estimate (PieceRef::lead).
  std::optional<PieceRef> leading_piece() const;
  // What went wrong since the last call, one line each (retries, poisoned ranges, retired workers).
  std::vector<std::string> take_notices() { return std::exchange(notices_, {}); }
  std::vector<WorkerStats>& workers() { return workers_; }
  const TaskTimes& times() const { return times_; }
  bool retired(int w) const { return workers_[static_cast<std::size_t>(w)].retired; }

  // The prefix [0, terms) once finished(), handed over: the scheduler holds it no longer, so whoever takes it
  // decides when its integers go (at 1e8 digits, 208 MB). After this only the decimal conversion below may
  // follow.
  std::shared_ptr<const PartialResult> take_root();
  // A copy of what take_root() hands over (tests).
  PartialResult take_result() { return *take_root(); }

  // Final steps on the workers (call before the first assignment; in effect with pieces on workers): the
  // root of the tree (the series' result) stays with its worker, and once it is done, `steps` (the root
  // filled in) goes to that worker, which keeps the fraction of the final value and returns its summary;
  // finished() waits for them. With `keep_root` the root is kept to the end (the complete checkpoint
  // holds it: finished_pieces), else it is dropped once the fraction is made. A lost root is computed
  // again from its range, a lost fraction by the final steps again, and conversion blocks waiting for it
  // are handed out again then.
  void finish_on_workers(FinalSteps steps, bool keep_root);
  bool final_on_workers() const { return final_.has_value() && static_cast<bool>(fetch_); }
  // Once finished() with final steps on the workers: the summary, and the fraction (held by a worker).
  const std::shared_ptr<const FinalSummary>& final_summary() const { return summary_; }
  // The series is done and its final steps are under way on a worker.
  bool final_steps_running() const { return root_.has_value() && !fraction_; }
  // The worker that holds the series' result, where the final steps run (-1: none, or not on workers).
  int root_owner() const { return root_ ? root_->owner : -1; }
  // The parts the final steps split the decimals into (FinalSteps::split_parts; 0: none), once given out.
  std::uint64_t final_split_parts() const { return final_ && split_chosen_ ? final_->split_parts : 0; }
  const std::optional<PieceRef>& final_fraction() const { return fraction_; }
  // Copies of the fraction that conversion blocks' workers hold (fraction_source).
  std::size_t fraction_copies() const { return fraction_copies_.size(); }
  // The worker that holds the final steps' constant (-1: here; -2: no constant computed apart).
  int constant_owner() const { return constant_ ? constant_->owner : -2; }
  // A piece's integers, fetched from its worker when it holds them and checked against the fingerprint;
  // nullptr when its worker does not give them.
  std::shared_ptr<const PartialResult> fetch_piece(const PieceRef& piece) { return materialize(piece); }

  // Once the series is done: hands out the decimal conversion of the result, the binary fraction
  // fraction.values[0] / 2^scale_bits (a one-value piece, here or on a worker), as `blocks` tasks of about
  // equal size that together give its integer part and its decimals [0, decimals) (fraction_digits). They are
  // retried like any task, and finished() waits for them. When the final steps split the fraction
  // (FinalSummary::parts: `fraction` is theirs, and the parts cover `decimals`), there is one block a part
  // instead, whatever `blocks` says, each reading its part only (Digits::part).
  void convert(const PieceRef& fraction, std::uint64_t scale_bits, std::uint64_t decimals,
               std::uint64_t blocks);
  // Spread products at all (the merges' and the final steps') from this many workers: with fewer, their
  // extra work and bytes cost more than sharing gives. In the model at 1e8 digits (bench/README; one run
  // calibrated in one round beside a build) 5 hosts took 51.11 s with them against 45.42 s without, 7 hosts
  // 35.05 against 36.58 s, 9 hosts 29.28 against 32.86 s.
  static constexpr int kSpreadFromWorkers = 6;
  // Conversion blocks below this size are not worth a worker's round trip.
  static constexpr std::uint64_t kMinBlockDecimals = 10000;
  // The blocks a conversion of `decimals` is cut into on `lanes` lanes without a split: one a lane, each of
  // kMinBlockDecimals or more, at least one.
  static std::uint64_t conversion_blocks(std::uint64_t decimals, std::uint64_t lanes) {
    return std::clamp<std::uint64_t>(decimals / kMinBlockDecimals, 1, lanes);
  }
  // How many parts the final steps split `decimals` into for `workers` workers (SchedulerConfig::
  // conversion_parts at most `most`): one a worker, each of kMinBlockDecimals or more; 0 (no split) below
  // two.
  static std::uint64_t conversion_parts_for(std::uint64_t decimals, std::uint64_t workers,
                                            std::uint64_t most);
  // Where convert() cuts `decimals` into `blocks` (at least 1, at most the decimals): each block's first
  // decimal, then `decimals`. Every block but the first multiplies the fraction once more (by 5^first),
  // which costs about kLaterBlockExtra of converting all the decimals: the first block takes that much more
  // than the others, (D + (k - 1) E) / k against (D - E) / k, so that all take about as long.
  static std::vector<std::uint64_t> block_edges(std::uint64_t decimals, std::uint64_t blocks);
  // The conversion's text, its blocks in order, once finished().
  std::string take_digits();
  // The conversion's blocks finished so far (by the workers' counts: one conversion a scheduler), and how
  // many it has.
  std::uint64_t blocks_done() const;
  std::uint64_t blocks() const { return blocks_; }
  // The blocks finished since the last call, by first decimal (their text is then no longer held here).
  std::map<std::uint64_t, std::string> take_finished_blocks() { return std::exchange(digit_blocks_, {}); }
  // A block's predicted time, from a rate well below this machine's (GMP converts about 7 million digits a
  // second at 1e7): only its deadline depends on it.
  static constexpr double kDigitsPerSecondFloor = 1e6;
  // What a later block's extra multiplication (of the fraction's low bits by 5^first) costs, as a share of
  // converting all the decimals: two blocks at 1e7 digits take as long with 5.5 and 4.5 million decimals
  // (0.83 s each, GMP 6.2 on this project's test machine).
  static constexpr double kLaterBlockExtra = 0.10;
  // Conversion blocks under way that read the fraction from one holder at most (fraction_source): each
  // block's worker keeps what it read, so the holders grow about threefold a round.
  static constexpr int kFractionServes = 2;

  // Every finished result the job has not yet folded into the final one, in grid order and disjoint:
  // pieces waiting for a sibling, operands of merges in flight, and the prefix. Cheap for pieces here
  // (results are shared) and for those on workers written to a file for a checkpoint (named by it); the
  // others on workers are fetched (hold_on_workers), and one that can't be is left out and computed again.
  std::vector<FinishedPiece> finished_pieces();
  // A checkpoint without gathering (pieces on workers, PieceCapture): the finished pieces now, those on
  // workers written by their owners to files in `dir`. finished() waits for the writes (until their
  // deadline); the executor sends take_store_requests() and gives back the answers (stored).
  void begin_capture(std::uint64_t number, const std::filesystem::path& dir, Clock::time_point now);
  bool capturing() const { return capture_.active(); }
  std::vector<StoreRequest> take_store_requests() { return capture_.take_requests(); }
  void stored(int w, const StoreAnswer& answer) { capture_.answer(w, answer); }
  // Worker `w` is to write a piece for the capture (its silence counts then, as with a task).
  bool awaits_store(int w) const { return capture_.awaits(w); }
  // The capture's outcome once every piece is written or lost (nullopt before, or when none is open).
  std::optional<PieceCapture::Outcome> take_capture(Clock::time_point now) { return capture_.take(now); }
  // Starts from pieces of an earlier run of the same job (before any assignment); their grid ranges are never
  // handed out again. Throws std::invalid_argument when a piece does not fit this grid. A piece left in its
  // file (FinishedPiece::load_from; pieces on workers only) goes to a worker first as a Load task: it reads
  // and keeps it, and its fingerprint is checked as an evaluation's; one that cannot be read, or fails its
  // fingerprint, is computed again from its range.
  void restore(std::vector<FinishedPiece> pieces);
  // Pieces restored from their files are still being read by workers: a checkpoint now would leave them
  // out, so none is begun.
  bool loading() const { return !loading_.empty(); }
  // A load's predicted time, from a reading speed well below a disk's: only its deadline depends on it.
  static constexpr double kLoadBytesPerSecondFloor = 20e6;
  // A copy's (Copy) predicted time, from a speed well below a network's: only its deadline depends on it.
  static constexpr double kCopyBytesPerSecondFloor = 20e6;
  // Slow series: every finished result as it came from its worker, before it was added onto the prefix
  // (the checkpoint keeps them, so that a resume can recompute a sample and compare). restore_ledger
  // gives back those of an earlier run, before restore.
  const std::vector<FinishedPiece>& ledger() const { return ledger_; }
  void restore_ledger(std::vector<FinishedPiece> entries) { ledger_ = std::move(entries); }

 private:
  // A task the scheduler made and has not finished; its state is in tasks_ (task_states.hpp: the states and
  // the edges between them, all taken in transition()). A finished task leaves open_ from any state.
  struct OpenTask {
    explicit OpenTask(Task t, std::set<int> not_on = {}) : task(std::move(t)), failed_on(std::move(not_on)) {}
    Task task;
    int failures = 0;
    std::string last_error;
    std::set<int> failed_on;  // workers that failed it (it waits for another, while there is one)
  };
  struct InFlight {
    std::uint64_t task_id;
    Clock::time_point deadline;
    double predicted_s = -1;  // -1: no rate measured yet
    bool overdue = false;
    TaskKind kind = TaskKind::evaluate;
    std::uint64_t first_range = 0, end_range = 0;
    Clock::time_point assigned{};
  };
  struct Piece {
    std::uint64_t end_range;
    PieceRef ref;
  };
  // A merge cut into product tasks, waiting for them; then for the task that puts it together from them
  // on a worker (Assemble), when some are on workers.
  struct SplitMerge {
    Task merge;
    std::vector<std::pair<std::size_t, std::size_t>> products;
    std::uint32_t slices = 1;
    std::vector<PieceRef> parts;  // by part: product p, slice k at p * slices + k
    std::vector<bool> have;
    std::size_t missing = 0;
    std::uint64_t assembly = 0;  // the open Assemble task's id (0: none)
    // Spread products (SchedulerConfig::spread_parts): `spread` parts a phase (then slices is 1, and
    // parts[p * spread + j] is product p's last phase part j once that phase is done), and each product's
    // phase under way: its parts' outputs as they come, and the phase before's, which its parts read.
    struct SpreadProduct {
      std::uint32_t phase = 0;
      std::vector<PieceRef> out;
      std::vector<bool> have;
      std::uint32_t missing = 0;
      std::vector<PieceRef> before;
      bool done = false;
      // f(piece) for each output the product's workers hold now: the phase under way's, the one before's.
      template <class F>
      void for_each_held(F&& f) const {
        for (std::size_t j = 0; j < out.size(); ++j)
          if (have[j]) f(out[j]);
        for (const PieceRef& p : before) f(p);
      }
    };
    std::uint32_t spread = 0;
    std::vector<SpreadProduct> spreads;
    std::uint32_t spread_restarts = 0;  // times the merge put together from them failed its fingerprint
  };

  std::optional<Task> next_evaluation();
  // Moves open task `id` to state `to` along one of TaskQueue's edges (any other is a logic_error naming the
  // task); into the queue at its front when `front` (retries first).
  void transition(std::uint64_t id, TaskState to, bool front = false);
  // Opens a task, released, and gives it back.
  OpenTask& open_task(OpenTask open);
  void record_failure(int w, OpenTask& open, const std::string& why);
  void add_piece(std::uint64_t first, std::uint64_t last, PieceRef piece);
  // The piece's integers: here already, or fetched from its owner and checked against its fingerprint
  // (nullptr when that fails).
  std::shared_ptr<const PartialResult> materialize(const PieceRef& piece);
  // Pieces on workers for which `lost` holds are gone: the tasks that need them are cancelled, their other
  // operands wait again, and each lost piece is computed again from its range (a piece of several grid
  // ranges as evaluations of aligned parts of it, SchedulerConfig::recompute_parts).
  void lose_where(const std::function<bool(const PieceRef&)>& lost);
  // Grid ranges [first, last), whose piece is gone (`why`), computed again from their lineage: evaluations
  // of aligned parts of them (SchedulerConfig::recompute_parts) and their merges, none counted as new work.
  void recompute(std::uint64_t first, std::uint64_t last, const std::string& why);
  // A Load task that failed (`why`): it ends here, and its piece is computed again.
  void abandon_load(const Task& load, const std::string& why);
  // Replicas (SchedulerConfig::replicas). A copy of the piece of grid ranges [first, last) on a worker other
  // than its owner, unless it is small, has one, or is being copied.
  void replicate(std::uint64_t first, std::uint64_t last, const PieceRef& piece);
  // Open Copy task `id` is given up (failed, late, its piece merged or lost): a copy is a precaution, never
  // retried and never counted against a range.
  void abandon_copy(std::uint64_t id);
  // Before lose_where forgets the pieces for which `lost` holds: each that has a copy on a worker that is not
  // lost takes its copy's address, everywhere the scheduler refers to it, and is copied again.
  void take_replicas(const std::function<bool(const PieceRef&)>& lost);
  void drop(const PieceRef& piece);  // its owner may let it go (a piece here: nothing to do)
  // The finished pieces not yet folded into the final one, as the scheduler knows them (finished_pieces).
  std::vector<PieceCapture::Held> held_pieces() const;
  double predicted_seconds(const Task& task) const;
  double task_work(const Task& task) const;
  // Whether a new merge is better carried out as product tasks, and in how many slices each (0: whole).
  std::uint32_t split_slices(const Task& merge, std::size_t products) const;
  void split(Task merge);
  void queue_part(std::uint64_t merge_id, std::size_t part);  // the product task of a split merge's part
  void complete_part(const Product& part, PieceRef piece);
  // Spread products: queues the parts of product `product`'s phase under way; takes a part's output;
  // starts the product again from its factors (a part's output lost, or a part that read it).
  void queue_spread_phase(std::uint64_t merge_id, std::size_t product);
  void complete_spread(const Spread& part, PieceRef piece);
  // A part's output of spread product `sp`: true once its phase is done (the outputs moved to sp.before,
  // the phase before's dropped).
  bool take_spread_output(SplitMerge::SpreadProduct& sp, const Spread& part, PieceRef piece);
  // The parts of spread product `sp`'s phase under way (its phase, inputs: `factors` for phase 0), each a
  // Spread like `like` over the grid ranges [first_range, end_range).
  void queue_spread_parts(SplitMerge::SpreadProduct& sp, const Spread& like, std::uint64_t first_range,
                          std::uint64_t end_range, const std::vector<PieceRef>& factors);
  // The final steps' spread products (product_wanted), by (final steps task id, product n).
  struct FinalProduct {
    int worker = 0;
    PieceRef a, b;
    Spread like;
    std::uint64_t first_range = 0, end_range = 0;
    SplitMerge::SpreadProduct sp;
    std::uint32_t restarts = 0;
  };
  using FinalProductKey = std::pair<std::uint64_t, std::uint32_t>;
  void restart_final_product(const FinalProductKey& key);
  // Its open parts cancelled, the outputs its workers hold dropped (clear); and erased (end).
  void clear_final_product(const FinalProductKey& key, const FinalProduct& f);
  void end_final_product(const FinalProductKey& key);
  // Ends the final products whose final steps are no longer under way on their worker.
  void tidy_final_products();
  // Final steps (or their constant) `task_id` are open and with worker `w`, not overdue.
  bool final_steps_under_way(int w, std::uint64_t task_id) const;
  // Products are spread at all now: spread_parts and kSpreadFromWorkers active workers.
  bool spreads_products() const;
  // FinalSteps::spread_bits and Constant::spread_bits for tasks made now (0: products on their worker).
  std::uint64_t spread_bits_now() const;
  // The constant's task made now: its spread_bits from constant_spread_from_workers active workers.
  Constant constant_now() const;
  void restart_spread(std::uint64_t merge_id, std::size_t product);
  // The parts of each spread product of a merge cut into `products` products (0: products made whole).
  std::uint32_t spread_parts_for(const Task& merge, std::size_t products) const;
  // The final steps' constant as a task in the queue (SchedulerConfig::constant_apart), when it can be.
  void queue_constant();
  bool constant_may_go_out() const;  // constant_apart, final steps on workers, the series still running
  // All of a merge's spread products, when the merge put together from them fails its fingerprint (a
  // damaged part); PoisonedRange after SchedulerConfig::max_range_failures times.
  void restart_spread_merge(std::uint64_t merge_id);
  // The merge put together once every part is there: here, or by an Assemble task on a worker.
  void assemble_when_done(std::uint64_t merge_id);
  void complete_assembly(const Task& task, PieceRef piece);
  // Why a worker's output for `task` fails its check, or nullopt; `expected` gets the piece's fingerprint.
  std::optional<std::string> check(const Task& task, const TaskOutput& out, Residues& expected);
  // Slow series: whether a range worker `w` finished is computed again to compare, and the comparison.
  bool wants_duplicate(const Task& task, int w) const;
  void start_duplicate(const Task& task, int w, PartialResult result);
  void settle_duplicate(std::uint64_t task_id, int w, PartialResult result);
  Residues merged_fingerprint(std::uint64_t first, std::uint64_t last);  // of the node [first, last)
  // Records the checked fingerprint of the node [first, last), dropping its halves'.
  void keep_fingerprint(std::uint64_t first, std::uint64_t last, Residues fingerprint);
  // Whether a worker other than `w`, not retired, not overdue and not in `excluded`, can take work.
  bool another_worker(int w, const std::set<int>& excluded) const;
  void retire_if_failing(WorkerStats& stats);  // failed too often: no more work
  // After a merge on the coordinator itself: its fingerprint, or an exception if the result is wrong; with
  // `parts_from_workers` (spread products' parts, checked only here) false instead of the exception.
  bool check_own_merge(const Task& merge, const PartialResult& result, bool parts_from_workers = false);
  // Worker wi no longer holds the task; `ok` (a result) or not (a failure) records its span.
  void release(std::size_t wi, std::uint64_t task_id, std::optional<bool> ok = std::nullopt,
               double compute_s = 0);
  void record_span(std::size_t wi, const InFlight& task, bool ok, double compute_s, Clock::time_point end);
  bool overdue(std::size_t wi) const;  // worker wi holds an overdue task

  const Series& series_;
  const Grid& grid_;
  SchedulerConfig config_;
  std::vector<WorkerStats> workers_;
  std::vector<std::deque<InFlight>> in_flight_;  // by worker, in the order the worker carries them out
  std::vector<Clock::time_point> last_end_;      // by worker: when its last task ended (for TaskSpan)
  std::deque<TaskSpan> spans_;
  std::map<std::uint64_t, OpenTask> open_;
  TaskQueue tasks_;  // the open tasks' states, and the queue of those that wait for a worker
  std::map<std::uint64_t, Piece> pieces_;      // finished, not yet merged, by first grid range
  std::map<std::uint64_t, SplitMerge> split_;  // merges carried out as products, by the merge's id
  std::map<FinalProductKey, FinalProduct> final_products_;
  std::vector<ProductDone> products_done_;
  // Shared with the pieces handed out (leading_piece, held_pieces), never copied: the root of a big job is
  // hundreds of megabytes.
  std::shared_ptr<const PartialResult> prefix_;
  bool result_taken_ = false;                        // take_root() has handed prefix_ over
  std::uint64_t prefix_ranges_ = 0;                  // slow series: grid ranges in prefix_
  std::uint64_t frontier_ = 0;                       // first grid range no assignment covers yet
  std::map<std::uint64_t, std::uint64_t> restored_;  // restored pieces at or past the frontier: first -> last
  std::uint64_t ranges_done_ = 0;
  std::uint64_t retries_ = 0;
  double work_done_ = 0;
  double total_work_ = 0;
  TaskTimes times_;
  std::vector<std::string> notices_;
  std::map<std::uint64_t, std::string> digit_blocks_;  // finished conversion blocks, by first decimal
  std::uint64_t blocks_ = 0;                           // of the conversion (convert)
  double eval_rate_ = 0;                               // terms per second, smoothed
  double merge_rate_ = 0;                              // merge cost units per second, smoothed
  VerificationStats verification_;
  std::string last_refusal_;
  // Slow series: ranges waiting for their comparison, by first grid range, with the results so far (worker,
  // result); and the tasks that compute them again, by task id -> first grid range.
  struct Duplicate {
    Task task;
    std::vector<std::pair<int, PartialResult>> results;
  };
  std::map<std::uint64_t, Duplicate> duplicates_;
  std::vector<FinishedPiece> ledger_;
  bool restoring_ = false;  // restored pieces are in the ledger already (restore_ledger)
  std::map<std::uint64_t, std::uint64_t> duplicate_tasks_;
  // Pieces on workers (hold_on_workers).
  Fetcher fetch_;
  std::uint64_t lead_estimate_bits_ = 0;
  std::vector<std::pair<int, std::uint64_t>> drops_;
  std::set<std::uint64_t> cancelled_;   // tasks still with a worker whose operand was lost
  std::set<std::uint64_t> recomputes_;  // evaluations that compute a lost piece again
  std::set<std::uint64_t> loading_;     // Load tasks of restored pieces not yet read
  // Replicas: the copy of each piece that has one, and the open Copy task of each being copied, by the
  // piece's (owner, key).
  struct Replica {
    int worker = -1;
    std::uint64_t key = 0;
  };
  std::map<std::pair<int, std::uint64_t>, Replica> replicas_;
  std::map<std::pair<int, std::uint64_t>, std::uint64_t> copying_;
  // Lost pieces computed again as several evaluations, until their merges give them back: first -> end
  // grid range (nested ones may appear when a piece of one is lost again).
  std::multimap<std::uint64_t, std::uint64_t> recomputing_;
  // Whether the node [first, last) lies inside a lost piece being computed again (and when it is that
  // piece, that one is done).
  bool redone(std::uint64_t first, std::uint64_t last);
  void count_merge(const Task& merge);  // its work, unless redone
  // Final steps on workers (finish_on_workers).
  void queue_final();
  // A worker `w` with nothing to do once every evaluation is out: the final steps' constant (Constant), once
  // a job, while the series still runs on other workers; nullopt when that is not the case.
  std::optional<Task> constant_task(int w);
  // Open task `id` is no longer wanted (none: nothing to do); a worker that still has it is ignored when it
  // answers.
  void cancel(std::uint64_t id);
  // A new task (its id given here when it has none) into the queue, at its front when `front`; its id.
  std::uint64_t enqueue(Task task, bool front = false);
  // Where worker w is to read the fraction for a conversion block: its own copy when it has one, else the
  // holder (fraction_ or a copy) serving the fewest blocks under way, if one serves fewer than
  // kFractionServes; nullopt when every holder is busy (the block waits for one). Only with fraction_ (the
  // final steps' fraction; a fraction given to convert() is read where the blocks name it).
  std::optional<PieceRef> fraction_source(int w) const;
  // Records worker w's copy of the fraction under `key` (once).
  void add_fraction_copy(int w, std::uint64_t key);
  std::optional<FinalSteps> final_;
  bool keep_root_ = false;
  std::optional<PieceRef> root_;      // the series' result, with its worker
  std::optional<PieceRef> fraction_;  // the final value's fraction, with its worker (or here)
  // Copies of the fraction that conversion blocks' workers kept (Task::keep on a Digits task): later
  // blocks read it from any of them, so that it spreads as a tree instead of every block fetching it from
  // one worker (fraction_source).
  std::vector<PieceRef> fraction_copies_;
  std::set<std::uint64_t> fraction_fetched_;  // blocks under way whose worker has the fraction (fetched)
  std::optional<PieceRef> constant_;       // the final steps' constant, with its worker, until they are done
  std::uint64_t constant_task_ = 0;        // the open Constant task (0: none)
  bool final_waits_for_constant_ = false;  // the root is here; the final steps go out with the constant
  std::shared_ptr<const FinalSummary> summary_;
  std::vector<Digits> waiting_blocks_;  // conversion blocks whose fraction was lost, until it is made again
  bool split_chosen_ = false;           // final_->split_parts is set, once, for every run of the final steps
  PieceStats piece_stats_;
  PieceCapture capture_;
  // Fingerprints of the checked, finished tree nodes not yet merged, by (first range, end range).
  std::map<std::pair<std::uint64_t, std::uint64_t>, Residues> fingerprints_;
};

// Merge cost in the units merge rates are measured in: bits times log2(bits) of the operands.
double merge_cost(const PieceRef& left, const PieceRef& right);

}  // namespace pi
