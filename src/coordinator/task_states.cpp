#include "coordinator/task_states.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace pi {
namespace {

const char* task_state_name(TaskState state) {
  switch (state) {
    case TaskState::released:
      return "released";
    case TaskState::queued:
      return "queued";
    case TaskState::processing:
      return "processing";
  }
  return "?";
}

}  // namespace

void TaskQueue::add(std::uint64_t id) {
  if (!states_.emplace(id, TaskState::released).second)
    throw std::logic_error("task " + std::to_string(id) + " added twice");
}

void TaskQueue::transition(std::uint64_t id, TaskState to, bool front) {
  const TaskState from = state(id);
  const auto refuse = [&] {
    throw std::logic_error("task " + std::to_string(id) + ": no edge from " + task_state_name(from) + " to " +
                           task_state_name(to) + (to == TaskState::processing ? " (assigned twice)" : ""));
  };
  switch (to) {
    case TaskState::queued:
      if (from == TaskState::queued) return;
      if (front) {
        queue_.push_front(id);
      } else {
        queue_.push_back(id);
      }
      break;
    case TaskState::processing:
      if (from == TaskState::processing) refuse();
      if (from == TaskState::queued) unqueue(id);
      break;
    case TaskState::released:
      refuse();
  }
  states_[id] = to;
}

TaskState TaskQueue::remove(std::uint64_t id) {
  const TaskState was = state(id);
  if (was == TaskState::queued) unqueue(id);
  states_.erase(id);
  return was;
}

TaskState TaskQueue::state(std::uint64_t id) const {
  const auto it = states_.find(id);
  if (it == states_.end()) throw std::logic_error("task " + std::to_string(id) + " is not open");
  return it->second;
}

void TaskQueue::unqueue(std::uint64_t id) { queue_.erase(std::find(queue_.begin(), queue_.end(), id)); }

}  // namespace pi
