#include "mpi/distributed.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "coordinator/interrupt.hpp"

namespace pi {
namespace {

// A gap between two looks of a waiting loop that only a stopped process explains (they are milliseconds
// apart).
constexpr auto kStoppedGap = std::chrono::seconds(3);

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

MpiExecutor::MpiExecutor(const MpiRuntime& mpi, std::ostream& log)
    : mpi_(mpi),
      log_(log),
      outbox_(mpi),
      hosts_(static_cast<std::size_t>(mpi.size())),
      pids_(static_cast<std::size_t>(mpi.size()), 0),
      stopped_(static_cast<std::size_t>(mpi.size()), false) {}

void MpiExecutor::make_idle(Scheduler& scheduler, int rank) {
  const int w = rank - 1;
  if (scheduler.retired(w)) {
    if (!stopped_[static_cast<std::size_t>(rank)]) {
      log_ << "[pi-job] rank " << rank << " failed "
           << scheduler.workers()[static_cast<std::size_t>(w)].failures << " times and "
           << scheduler.workers()[static_cast<std::size_t>(w)].timeouts << " deadlines: it gets no more work"
           << std::endl;
      outbox_.send(rank, Tag::stop, Writer().finish());
      stopped_[static_cast<std::size_t>(rank)] = true;
    }
    return;
  }
  // A worker that still holds a task (one assigned behind the one it just answered) is busy with it.
  if (scheduler.held(w) == 0) {
    idle_.push_back(rank);
  } else {
    topping_up_.push_back(rank);
  }
}

void MpiExecutor::handle(Scheduler& scheduler, Incoming message) {
  const int rank = message.source;
  const int w = rank - 1;
  std::erase(lost_, rank);  // lost in an earlier attempt, it answered again
  switch (message.tag) {
    case Tag::ready: {
      // "HOST PID"
      const std::string text = decode_text(message.body);
      const auto space = text.rfind(' ');
      hosts_[static_cast<std::size_t>(rank)] = text.substr(0, space);
      if (space != std::string::npos)
        pids_[static_cast<std::size_t>(rank)] = std::atol(text.c_str() + space + 1);
    }
      scheduler.workers()[static_cast<std::size_t>(w)].host = hosts_[static_cast<std::size_t>(rank)];
      make_idle(scheduler, rank);
      break;
    case Tag::result: {
      ResultMessage r = decode_result(message.body);
      message.body = Bytes();
      scheduler.workers()[static_cast<std::size_t>(w)].usage = r.usage;
      const std::uint64_t refused = scheduler.verification().mismatches;
      scheduler.complete(w, r.task_id, std::move(r.output), r.compute_s);  // throws PoisonedRange
      if (scheduler.verification().mismatches != refused)
        log_ << "[pi-job] refused a result: " << scheduler.last_refusal() << std::endl;
      make_idle(scheduler, rank);
      break;
    }
    case Tag::failed: {
      const FailureMessage f = decode_failure(message.body);
      log_ << "[pi-job] rank " << rank << " failed a task: " << f.why << std::endl;
      scheduler.fail(w, f.task_id, f.why);  // throws PoisonedRange when the job must stop
      make_idle(scheduler, rank);
      break;
    }
    default:
      throw WireError("unexpected message with tag " + std::to_string(static_cast<int>(message.tag)) +
                      " from rank " + std::to_string(rank));
  }
}

void MpiExecutor::dispatch(Scheduler& scheduler) {
  // Every idle worker is asked: one may get nothing (a retry waits for a worker that has not failed it)
  // while the next gets that very task.
  bool gave_none = false;
  for (auto it = idle_.begin(); it != idle_.end();) {
    const int rank = *it;
    std::optional<Task> task = scheduler.assign(rank - 1, Scheduler::Clock::now());
    if (!task) {
      gave_none = true;
      ++it;
      continue;
    }
    it = idle_.erase(it);
    outbox_.send(rank, Tag::task, encode_task(*task));
    topping_up_.push_back(rank);
  }
  if (gave_none) return;
  // Idle workers first; then more tasks for workers whose current ones are short, so that the next one is
  // there when they end instead of a round trip later.
  while (!topping_up_.empty()) {
    const int rank = topping_up_.front();
    while (scheduler.wants_another_task(rank - 1)) {
      std::optional<Task> task = scheduler.assign(rank - 1, Scheduler::Clock::now());
      if (!task) {
        // Nothing to hand out now; a worker comes back here when it next answers.
        topping_up_.clear();
        return;
      }
      outbox_.send(rank, Tag::task, encode_task(*task));
    }
    topping_up_.pop_front();
  }
}

void MpiExecutor::run(Scheduler& scheduler, const std::function<void()>& tick) {
  for (int rank = 1; rank < mpi_.size(); ++rank)
    scheduler.workers()[static_cast<std::size_t>(rank - 1)].rank = rank;
  Backoff backoff;
  auto last_look = Scheduler::Clock::now();
  while (!scheduler.finished()) {
    throw_if_interrupted();
    bool active = false;
    while (auto message = poll(mpi_, MPI_ANY_SOURCE)) {
      handle(scheduler, std::move(*message));
      active = true;
    }
    // Looks at the deadlines are milliseconds apart: a longer gap is time this process spent stopped (the
    // job stopped and continued: SIGSTOP, scontrol suspend), which is nobody's overrun. `now` is read
    // once, so that a stop just before expire() can't be mistaken for an overrun either.
    const auto now = Scheduler::Clock::now();
    if (now - last_look > kStoppedGap) {
      log_ << "[pi-job] rank 0 did not run for " << std::chrono::duration<double>(now - last_look).count()
           << " s (the job was stopped or suspended): the workers' deadlines move on by as much" << std::endl;
      scheduler.postpone_deadlines(now - last_look);
    }
    last_look = now;
    for (int w : scheduler.expire(now)) {
      log_ << "[pi-job] rank " << w + 1 << " missed its deadline; its task goes to another worker"
           << std::endl;
    }
    dispatch(scheduler);
    outbox_.progress();
    tick();
    if (scheduler.active_workers() == 0 && !scheduler.finished()) {
      throw std::runtime_error("no worker can take work: every worker was lost or retired; the job stops");
    }
    if (active) {
      backoff.reset();
    } else {
      backoff.wait();
    }
  }
  for (std::size_t rank = 1; rank < hosts_.size(); ++rank) scheduler.workers()[rank - 1].host = hosts_[rank];
  for (int w : scheduler.lost_workers())
    if (std::find(lost_.begin(), lost_.end(), w + 1) == lost_.end()) lost_.push_back(w + 1);
}

int MpiExecutor::stop_workers() {
  for (int rank = 1; rank < mpi_.size(); ++rank) {
    if (!stopped_[static_cast<std::size_t>(rank)]) outbox_.send(rank, Tag::stop, Writer().finish());
    stopped_[static_cast<std::size_t>(rank)] = true;
  }
  return static_cast<int>(outbox_.drain(std::chrono::steady_clock::now() + std::chrono::seconds(2)));
}

const std::vector<int>& MpiExecutor::await_lost_ranks(std::chrono::steady_clock::time_point until) {
  const std::string here = hostname();
  auto may_live = [&](int rank) {
    const auto r = static_cast<std::size_t>(rank);
    return hosts_[r] != here || pids_[r] <= 0 || ::kill(static_cast<pid_t>(pids_[r]), 0) == 0;
  };
  Backoff backoff;
  while (std::any_of(lost_.begin(), lost_.end(), may_live) && std::chrono::steady_clock::now() < until) {
    if (std::optional<Incoming> message = poll(mpi_, MPI_ANY_SOURCE)) {
      if (std::erase(lost_, message->source) > 0) {
        log_ << "[pi-job] rank " << message->source << " answered after all (it was slow, not lost): it ends "
             << "normally" << std::endl;
      }
      backoff.reset();
      continue;
    }
    outbox_.progress();
    backoff.wait();
  }
  return lost_;
}

std::vector<int> MpiExecutor::end_lost_ranks() {
  std::vector<int> elsewhere;
  const std::string here = hostname();
  for (int rank : lost_) {
    const auto r = static_cast<std::size_t>(rank);
    if (hosts_[r] == here && pids_[r] > 0 && ::kill(static_cast<pid_t>(pids_[r]), SIGKILL) == 0) {
      log_ << "[pi-job] rank " << rank << " (pid " << pids_[r] << " on " << here
           << ") never answered again: ended it, so that the launcher can end the job" << std::endl;
    } else {
      elsewhere.push_back(rank);
    }
  }
  return elsewhere;
}

namespace {

// Ends the worker process when its current task overruns its allowed time by far (see kWorkerGraceSeconds).
// It looks five times a second, and its destructor wakes it at once: a worker that is told to stop ends then,
// not up to a look later (mpirun waits for every rank).
class TaskWatchdog {
 public:
  explicit TaskWatchdog(int rank) : rank_(rank), thread_([this] { loop(); }) {}
  ~TaskWatchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void start(double allowed_s) {
    const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    limit_ = now + 2 * allowed_s + kWorkerGraceSeconds;
  }
  void finish() { limit_ = 0; }

 private:
  using Clock = std::chrono::steady_clock;
  void loop() {
    std::unique_lock lock(mutex_);
    double last_look = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) {
      const double now = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
      // Looks are 0.2 s apart: a longer gap is time this process spent stopped (SIGSTOP, a suspended job),
      // which is no overrun of its task.
      if (now - last_look > std::chrono::duration<double>(kStoppedGap).count()) {
        double limit = limit_;
        if (limit > 0) limit_.compare_exchange_strong(limit, limit + (now - last_look));
      }
      last_look = now;
      const double limit = limit_;
      if (limit > 0 && now > limit) {
        std::fprintf(stderr, "[pi-job] rank %d: a task overran twice its allowed time; this worker ends\n",
                     rank_);
        std::fflush(stderr);
        ::_exit(1);
      }
    }
  }
  int rank_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::atomic<double> limit_{0};
  std::thread thread_;
};

}  // namespace

void run_worker(const MpiRuntime& mpi, const Series& series, FaultPlan faults) {
  TaskWatchdog watchdog(mpi.rank());
  Outbox outbox(mpi);
  outbox.send(0, Tag::ready, encode_text(hostname() + " " + std::to_string(::getpid())));
  Backoff backoff;
  for (;;) {
    std::optional<Incoming> message = poll(mpi, 0);
    if (!message) {
      outbox.progress();
      backoff.wait();
      continue;
    }
    backoff.reset();
    if (message->tag == Tag::stop) return;
    if (message->tag != Tag::task) {
      throw WireError("worker: unexpected tag " + std::to_string(static_cast<int>(message->tag)));
    }
    const Task task = decode_task(message->body);
    message.reset();
    watchdog.start(task.allowed_s);
    try {
      faults.before(task);
      const auto t0 = std::chrono::steady_clock::now();
      TaskOutput out;
      if (task.kind() == TaskKind::digits) {
        out = execute_digits(task);
        faults.corrupt(task, out);  // after the check value: as if the text were damaged later
      } else {
        out.result = execute_task(series, task);
        faults.corrupt(task, out);  // before: the worker itself believes the damaged integer
        seal(out, task);
      }
      // A worker keeps nothing between tasks: every result goes to rank 0 (pieces_held 0).
      outbox.send(0, Tag::result,
                  encode_result(task.id, seconds_since(t0), out, own_usage(std::chrono::milliseconds(100))));
    } catch (const std::exception& e) {
      outbox.send(0, Tag::failed, encode_failure(task.id, e.what()));
    }
    watchdog.finish();
  }
}

void announce_job(const MpiRuntime& mpi, const std::string& series) {
  Outbox outbox(mpi);
  for (int rank = 1; rank < mpi.size(); ++rank) outbox.send(rank, Tag::job, encode_text(series));
  outbox.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

std::string await_job(const MpiRuntime& mpi) {
  Backoff backoff;
  for (;;) {
    std::optional<Incoming> message = poll(mpi, 0);
    if (!message) {
      backoff.wait();
      continue;
    }
    if (message->tag != Tag::job) {
      throw WireError("worker: expected the job, got tag " + std::to_string(static_cast<int>(message->tag)));
    }
    return decode_text(message->body);
  }
}

}  // namespace pi
