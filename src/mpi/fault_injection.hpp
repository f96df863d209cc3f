// Fault injection, for tests only; compiled in and inert unless PI_FAULT is set. PI_FAULT makes chosen
// workers misbehave on chosen grid ranges, so that every failure path of the coordinator can be exercised
// with real processes.
//
//   PI_FAULT="KIND:RANK:RANGE[:TIMES[:SECONDS]][;...]"
//     KIND    fail (report an error), hang (stop answering for good), slow (sleep SECONDS, default 5, then
//             answer), die (SIGKILL itself), corrupt (flip one bit of one integer of the result, or one
//             digit of a conversion block: a silent error the fingerprints must catch), refuse (digits only:
//             a block of a part of the split conversion answers that its enclosure cannot decide its
//             digits, as one straddling a decimal boundary would), kill (rank 0 sends
//             worker RANK SIGKILL once copiedN holds: at a moment only the coordinator knows)
//     RANK    the worker's MPI rank, or * for every worker
//     RANGE   a grid range index: the fault fires on an evaluation that covers it; * for any task; #N for the
//             worker's N-th task (1-based), whatever it is: the way to pick a moment on a chosen rank, since
//             which rank gets which range depends on timing; heldN for the first task the worker starts
//             while it holds N pieces or more of its own (fast series: pieces stay on their workers; copies
//             of other workers' pieces, --replicas, are not counted); digits for a block
//             of the decimal conversion that follows the series (fast series, digits mode); load for a piece
//             a resumed job's worker reads from its file; final (corrupt on
//             rank 0 only): the final value, after the division, before its checks: made wrong from its 64th
//             bit on
//             copiedN (kill only): once N of the worker's pieces have copies on other workers (--replicas;
//             with RANK *, the first worker of which that holds);
//             start (die:0:start only): rank 0 SIGKILLs itself before it tells the workers the job;
//             finalsteps (kill:*:finalsteps only): the worker given the final steps, SECONDS (default 5)
//             after rank 0 gave them; spreadfetch (kill:*:spreadfetch only): SECONDS after rank 0 gave
//             out a part of a spread product's phase 1 or 2, the first other worker it reads an input
//             from (a worker lost between phases, while another fetches from it); finalfetch
//             (kill:*:finalfetch only): the same for a product of the final steps' division or
//             multiplication; finalproduct (kill:*:finalproduct only): the final steps' worker, SECONDS
//             after it asked for its first spread product (in the middle of a Newton step); partsfetch
//             (kill:*:partsfetch only): the worker holding the final fraction and its parts
//             (--conversion-parts), SECONDS after rank 0 gave a part's block to another worker
//     TIMES   how many times it fires in each matching process (default 1; 0 for every time)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "coordinator/task.hpp"

namespace pi {

struct Fault {
  enum class Kind { fail, hang, slow, die, diesending, corrupt, refuse, kill } kind;
  int rank;             // -1: any
  std::int64_t range;   // a grid range; -1: any task
  std::int64_t nth;     // > 0: the worker's nth task
  std::int64_t held;    // > 0: a task started while the worker holds this many pieces or more
  std::int64_t copied;  // > 0 (kill): once this many of the worker's pieces have copies
  bool final_steps;     // (kill): the worker that is given the final steps, SECONDS after
  bool spread_fetch;    // (kill): the worker a spread product's later part reads from, SECONDS after
  bool final_fetch;     // (kill): the same, of a product of the final steps
  bool final_product;   // (kill): the final steps' worker, SECONDS after it asked for its first product
  bool parts_fetch;     // (kill): the final fraction's worker, SECONDS after a part's block went elsewhere
  int target = -1;      // (kill finalsteps): that worker's rank, once they are given
  std::chrono::steady_clock::time_point due{};
  bool digits;       // any block of the decimal conversion
  bool load;         // any piece a resumed job's worker reads from its file (Load)
  bool final_value;  // the final value (corrupt, rank 0)
  bool start;        // (die, rank 0): before rank 0 tells the workers the job
  int times;         // 0: always
  double seconds;
  int fired = 0;
};

class FaultPlan {
 public:
  // Parses PI_FAULT for the worker of this rank; throws std::invalid_argument naming a bad entry.
  static FaultPlan from_environment(int rank);
  static FaultPlan parse(const std::string& text, int rank);
  // Called by a worker before it carries out a task: may throw, sleep, hang or kill the process.
  void before(const Task& task);
  // Called by a worker once it has started sending its answer for the task before() saw last: whether it is
  // to die now (diesending), in the middle of that message.
  bool dies_sending(const Task& task);
  // Called by a worker with what it computed for the task before() saw last: may damage it.
  void corrupt(const Task& task, TaskOutput& out);
  // Rank 0: whether the final value is to be damaged (corrupt:0:final).
  bool corrupts_final_value() const;
  // Rank 0: whether it is to die before it tells the workers the job (die:0:start).
  bool dies_at_start() const;
  // Rank 0: the worker ranks to SIGKILL now (each kill once), given the job's rank count and how many of a
  // rank's pieces have copies (asked of ranks 1 to ranks - 1 only).
  std::vector<int> kills_due(int ranks, const std::function<std::uint64_t(int rank)>& copied);
  // Rank 0 gave `task` to worker `rank` (kill:*:finalsteps, kill:*:spreadfetch: the worker to kill is
  // chosen then).
  void assigned(const Task& task, int rank);
  // Rank 0: worker `rank` asked for a product of its final steps (kill:*:finalproduct).
  void product_asked(int rank);
  bool empty() const { return faults_.empty(); }
  // The pieces the worker holds as it starts its next task (for heldN).
  void set_pieces_held(std::uint64_t n) { pieces_held_ = n; }

 private:
  // Whether the plan has a fault of `kind` at `moment` (a flag of Fault: final_value, start).
  bool has(Fault::Kind kind, bool Fault::*moment) const;
  // The kills at `moment` not yet aimed are aimed at `target`, SECONDS from now.
  void aim(bool Fault::*moment, int target);
  bool covers(const Fault& f, const Task& task) const;
  // Whether `f` fires on this task (it covers the task and has fired fewer than its times); counts it if so.
  bool take(Fault& f, const Task& task) const;
  std::vector<Fault> faults_;
  std::int64_t tasks_seen_ = 0;
  std::uint64_t pieces_held_ = 0;
};

}  // namespace pi
