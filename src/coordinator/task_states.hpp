// The states of the scheduler's open tasks and every edge between them in one function, after Dask's
// scheduler (its docs/source/scheduling-state.rst: a state per task, one transition per edge), with the
// queue of the tasks that wait for a worker. A task the queue holds is in one of three states:
//   released   -> queued       it waits for a worker (merges, products, blocks, retries, duplicates)
//   released   -> processing   a new evaluation goes straight to the worker that asked for work
//   queued     -> processing   a worker takes it from the queue
//   processing -> queued       its worker failed or missed the deadline: it goes to another (the late
//                              answer of the first is still taken, in either state)
//   queued     -> queued       nothing (a second failure report of a task already waiting)
// Any other edge is a logic_error (a task assigned twice, or released again). A finished or cancelled task
// leaves from any state (remove).
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>

namespace pi {

enum class TaskState : std::uint8_t { released, queued, processing };

class TaskQueue {
 public:
  // A new task, released. A logic_error if the queue holds it already.
  void add(std::uint64_t id);
  // One of the edges above; `front` puts a task that becomes queued at the head of the queue (a retry).
  void transition(std::uint64_t id, TaskState to, bool front = false);
  // The task finished or cancelled, from any state: off the queue. The state it was in.
  TaskState remove(std::uint64_t id);
  // A logic_error for a task the queue does not hold.
  TaskState state(std::uint64_t id) const;
  bool holds(std::uint64_t id) const { return states_.contains(id); }
  // The queued tasks, first to be taken first.
  const std::deque<std::uint64_t>& queued() const { return queue_; }

 private:
  void unqueue(std::uint64_t id);

  std::unordered_map<std::uint64_t, TaskState> states_;
  std::deque<std::uint64_t> queue_;
};

}  // namespace pi
