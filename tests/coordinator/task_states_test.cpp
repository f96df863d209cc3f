// The scheduler's task states (task_states.hpp): one test per edge, and one per edge that is refused.
#include <gtest/gtest.h>

#include <deque>
#include <stdexcept>

#include "coordinator/task_states.hpp"

namespace pi {
namespace {

using Ids = std::deque<std::uint64_t>;

// A queue holding `ids`, queued in that order.
TaskQueue queue_of(const Ids& ids) {
  TaskQueue q;
  for (std::uint64_t id : ids) {
    q.add(id);
    q.transition(id, TaskState::queued);
  }
  return q;
}

TEST(TaskStates, ANewTaskIsReleasedAndNotQueued) {
  TaskQueue q;
  q.add(7);
  EXPECT_TRUE(q.holds(7));
  EXPECT_EQ(q.state(7), TaskState::released);
  EXPECT_TRUE(q.queued().empty());
  EXPECT_THROW(q.add(7), std::logic_error);
  EXPECT_THROW((void)q.state(8), std::logic_error);
}

TEST(TaskStates, ReleasedToQueuedJoinsTheBackOrWithFrontTheHead) {
  TaskQueue q;
  for (std::uint64_t id : Ids{1, 2, 3}) q.add(id);
  q.transition(1, TaskState::queued);
  q.transition(2, TaskState::queued);
  q.transition(3, TaskState::queued, true);
  EXPECT_EQ(q.queued(), (Ids{3, 1, 2}));
  EXPECT_EQ(q.state(1), TaskState::queued);
}

TEST(TaskStates, ReleasedToProcessingNeverQueues) {
  TaskQueue q;
  q.add(1);
  q.transition(1, TaskState::processing);
  EXPECT_EQ(q.state(1), TaskState::processing);
  EXPECT_TRUE(q.queued().empty());
}

TEST(TaskStates, QueuedToProcessingLeavesTheQueueWherever) {
  TaskQueue q = queue_of(Ids{1, 2, 3});
  q.transition(2, TaskState::processing);  // from the middle: a worker took a task it may run
  EXPECT_EQ(q.queued(), (Ids{1, 3}));
  EXPECT_EQ(q.state(2), TaskState::processing);
}

TEST(TaskStates, ProcessingToQueuedIsARetryAtTheHead) {
  TaskQueue q = queue_of(Ids{1, 2});
  q.transition(2, TaskState::processing);
  q.transition(2, TaskState::queued, true);
  EXPECT_EQ(q.queued(), (Ids{2, 1}));
  EXPECT_EQ(q.state(2), TaskState::queued);
}

TEST(TaskStates, QueuedToQueuedChangesNothing) {
  TaskQueue q = queue_of(Ids{1, 2});
  q.transition(2, TaskState::queued, true);  // a second failure report: it keeps its place, once
  EXPECT_EQ(q.queued(), (Ids{1, 2}));
}

TEST(TaskStates, ProcessingToProcessingIsATaskAssignedTwice) {
  TaskQueue q;
  q.add(1);
  q.transition(1, TaskState::processing);
  try {
    q.transition(1, TaskState::processing);
    FAIL() << "assigned twice without an error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("assigned twice"), std::string::npos) << e.what();
  }
  EXPECT_EQ(q.state(1), TaskState::processing);
}

TEST(TaskStates, NothingGoesBackToReleased) {
  TaskQueue q;
  for (std::uint64_t id : Ids{1, 2, 3}) q.add(id);
  q.transition(2, TaskState::queued);
  q.transition(3, TaskState::processing);
  for (std::uint64_t id : Ids{1, 2, 3}) EXPECT_THROW(q.transition(id, TaskState::released), std::logic_error);
  EXPECT_EQ(q.state(1), TaskState::released);
  EXPECT_EQ(q.queued(), (Ids{2}));
  EXPECT_EQ(q.state(3), TaskState::processing);
}

TEST(TaskStates, AFinishedOrCancelledTaskLeavesFromAnyState) {
  TaskQueue q;
  for (std::uint64_t id : Ids{1, 2, 3, 4}) q.add(id);
  q.transition(2, TaskState::queued);
  q.transition(3, TaskState::processing);
  q.transition(4, TaskState::queued);
  EXPECT_EQ(q.remove(1), TaskState::released);
  EXPECT_EQ(q.remove(2), TaskState::queued);
  EXPECT_EQ(q.remove(3), TaskState::processing);
  EXPECT_EQ(q.queued(), (Ids{4}));
  for (std::uint64_t id : Ids{1, 2, 3}) EXPECT_FALSE(q.holds(id));
  EXPECT_THROW((void)q.remove(2), std::logic_error);
  EXPECT_THROW(q.transition(3, TaskState::queued), std::logic_error);
}

}  // namespace
}  // namespace pi
