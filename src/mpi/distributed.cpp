#include "mpi/distributed.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "coordinator/interrupt.hpp"
#include "coordinator/live_events.hpp"
#include "series/bigint.hpp"

namespace pi {
namespace {

// A worker that takes rank 0 for lost says why (`what`, then `advice`) and ends at once: MPI_Finalize would
// wait for rank 0 too.
[[noreturn]] void end_for_lost_coordinator(int rank, const char* what, const char* advice) {
  std::fprintf(stderr, "[pi-job] rank %d: %s: it is taken for lost, and this rank ends (exit 1)%s\n", rank,
               what, advice);
  std::fflush(stderr);
  std::_Exit(1);
}

// A worker runs a task on its own thread (it answers fetches meanwhile) unless the task is expected to take
// less than this; while one computes, the worker's loop looks at its messages this often.
constexpr double kInlineSeconds = 0.002;
constexpr auto kComputingLook = std::chrono::milliseconds(4);

// A gap between two looks of a waiting loop that only a stopped process explains (they are milliseconds
// apart).
constexpr auto kStoppedGap = std::chrono::seconds(3);

std::string hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// What /proc/PID/stat says of a process on this host: its state letter and its start time (clock ticks
// after boot, which tells it from a later process given the same pid). nullopt when there is no such process.
struct ProcessStat {
  char state = '?';
  std::uint64_t start = 0;
};
std::optional<ProcessStat> process_stat(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const auto name_end = text.rfind(')');  // the command name may hold spaces and parentheses
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(name_end + 1));
  ProcessStat stat;
  fields >> stat.state;  // field 3
  std::string skipped;
  for (int field = 4; field < 22; ++field) fields >> skipped;
  fields >> stat.start;  // field 22
  if (!fields) return std::nullopt;
  return stat;
}

}  // namespace

MpiExecutor::MpiExecutor(const MpiRuntime& mpi, std::ostream& log)
    : mpi_(mpi),
      log_(log),
      outbox_(mpi),
      inbox_(mpi),
      hosts_(static_cast<std::size_t>(mpi.size())),
      pids_(static_cast<std::size_t>(mpi.size()), 0),
      starts_(static_cast<std::size_t>(mpi.size())),
      seen_ended_(static_cast<std::size_t>(mpi.size()), false),
      stopped_(static_cast<std::size_t>(mpi.size()), false),
      told_lost_(static_cast<std::size_t>(mpi.size()), false),
      heard_(static_cast<std::size_t>(mpi.size()), std::chrono::steady_clock::now()) {}

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
      scheduler.let_go(w);
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
  heard_[static_cast<std::size_t>(rank)] = std::chrono::steady_clock::now();
  switch (message.tag) {
    case Tag::alive:
      break;
    case Tag::fetched:
      for (const std::uint64_t id : decode_keys(message.body)) scheduler.fetched(rank - 1, id);
      break;
    case Tag::ready: {
      // "HOST PID"
      const std::string text = decode_text(message.body);
      const auto space = text.rfind(' ');
      hosts_[static_cast<std::size_t>(rank)] = text.substr(0, space);
      if (space != std::string::npos)
        pids_[static_cast<std::size_t>(rank)] = std::atol(text.c_str() + space + 1);
      watch_process(rank);
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
      // A fetch that found its piece gone for a task no longer wanted (a copy of a piece merged
      // meanwhile) is no news.
      if (f.owner < 0 || scheduler.unreachable(w, f.task_id, f.owner, f.key, f.silent))
        log_ << "[pi-job] rank " << rank << " failed a task: " << f.why << std::endl;
      if (f.owner < 0) scheduler.fail(w, f.task_id, f.why);  // throws PoisonedRange when the job must stop
      make_idle(scheduler, rank);
      break;
    }
    case Tag::product: {
      ProductRequest request = decode_product_request(message.body);
      faults_.product_asked(rank);
      scheduler.product_wanted(w, request.task_id, request.n, std::move(request.a), std::move(request.b),
                               request.again);  // throws PoisonedRange when the job must stop
      break;
    }
    case Tag::piece:
      break;  // the late answer to a fetch given up
    case Tag::stored: {
      const StoreAnswer answer = decode_stored(message.body);
      if (!answer.stored)
        log_ << "[pi-job] rank " << rank << " did not write piece " << answer.key << ": " << answer.error
             << std::endl;
      scheduler.stored(w, answer);
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
    faults_.assigned(*task, rank);
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
      faults_.assigned(*task, rank);
      outbox_.send(rank, Tag::task, encode_task(*task));
    }
    topping_up_.pop_front();
  }
}

std::shared_ptr<const PartialResult> MpiExecutor::fetch(const PieceRef& piece) {
  const int owner = piece.owner + 1;
  if (owner < 1 || owner >= mpi_.size() || stopped_[static_cast<std::size_t>(owner)]) return nullptr;
  const std::uint64_t request = next_request_++;
  outbox_.send(owner, Tag::fetch, encode_fetch(FetchRequest{request, piece.key, {}, std::nullopt}));
  // A worker answers between two looks at its messages. A stop signal does not cut a fetch short: the
  // checkpoint a stop writes fetches the pieces too (the deadline bounds the wait).
  const auto allowed = transfer_allowance(10, shape_bits(piece.shape) / 8);
  const auto deadline = std::chrono::steady_clock::now() + allowed;
  Backoff backoff;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::optional<Incoming> message = inbox_.poll(owner, Tag::piece)) {
      FetchAnswer answer = decode_fetch_answer(message->body);
      if (answer.request != request) continue;  // a late answer to an earlier request
      if (!answer.found) return nullptr;
      return std::make_shared<PartialResult>(std::move(answer.piece));
    }
    outbox_.progress();
    backoff.wait();
  }
  log_ << "[pi-job] rank " << owner << " did not give piece " << piece.key << " in "
       << std::chrono::duration<double>(allowed).count() << " s" << std::endl;
  return nullptr;
}

void MpiExecutor::send_to_owners(Scheduler& scheduler) {
  std::map<int, std::vector<std::uint64_t>> by_rank;
  for (const auto& [w, key] : scheduler.take_drops()) by_rank[w + 1].push_back(key);
  for (const auto& [rank, keys] : by_rank)
    if (!stopped_[static_cast<std::size_t>(rank)]) outbox_.send(rank, Tag::drop, encode_keys(keys));
  // The final steps' products made: their worker fetches the runs (dropped when it asks for the next).
  for (const Scheduler::ProductDone& done : scheduler.take_products_done())
    if (!stopped_[static_cast<std::size_t>(done.worker) + 1])
      outbox_.send(done.worker + 1, Tag::made, encode_product_done(done));
  // After the drops of this round: a worker takes a store request before any later drop of that piece.
  for (const StoreRequest& request : scheduler.take_store_requests()) {
    const int rank = request.owner + 1;
    if (stopped_[static_cast<std::size_t>(rank)]) {
      scheduler.stored(request.owner,
                       StoreAnswer{request.capture, request.key, false, std::nullopt, "stopped"});
    } else {
      outbox_.send(rank, Tag::store, encode_store(request));
    }
  }
}

namespace {

// Whether a worker is overdue and still heard of (its heartbeats arrive): slow rather than lost.
bool overdue_but_beating(Scheduler& scheduler) {
  for (std::size_t wi = 0; wi < scheduler.workers().size(); ++wi)
    if (scheduler.worker_state(wi, kQuietSeconds) == "overdue") return true;
  return false;
}

}  // namespace

void MpiExecutor::run(Scheduler& scheduler, const std::function<void()>& tick) {
  for (int rank = 1; rank < mpi_.size(); ++rank)
    scheduler.workers()[static_cast<std::size_t>(rank - 1)].rank = rank;
  scheduler.hold_on_workers([this](const PieceRef& piece) { return fetch(piece); }, kLiveEstimateBits);
  Backoff backoff;
  auto last_look = Scheduler::Clock::now();
  auto last_silence_look = last_look;
  constexpr auto kNotStalled = Scheduler::Clock::time_point::max();
  auto stalled_since = kNotStalled;          // since when no worker could take work
  faults_ = FaultPlan::from_environment(0);  // tests: kill:RANK:copiedN, kill:*:finalsteps
  while (!scheduler.finished()) {
    // Tests only: an empty plan (every real run) costs this hot loop one test.
    const std::vector<int> kills =
        faults_.empty() ? std::vector<int>{}
                        : faults_.kills_due(mpi_.size(), [&](int r) { return scheduler.copied_from(r - 1); });
    for (const int rank : kills) kill_for_test(rank, scheduler.copied_from(rank - 1));
    throw_if_interrupted();
    bool active = false;
    while (auto message = inbox_.poll(MPI_ANY_SOURCE)) {
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
      std::fill(heard_.begin(), heard_.end(), now);
    }
    last_look = now;
    // Silence is looked for once a heartbeat, not in every round of this loop (hundreds of thousands a
    // second for slow series).
    const bool look_for_silence = now - last_silence_look > std::chrono::duration<double>(kHeartbeatSeconds);
    if (look_for_silence) {
      last_silence_look = now;
      beat();
    }
    for (int rank = 1; look_for_silence && rank < mpi_.size(); ++rank) {
      // Any message that arrived counts, handled or not yet (rank 0 may be fetching a piece meanwhile).
      auto& heard = heard_[static_cast<std::size_t>(rank)];
      if (const auto arrived = inbox_.arrived_from(rank)) heard = std::max(heard, *arrived);
      scheduler.workers()[static_cast<std::size_t>(rank - 1)].quiet_s =
          std::chrono::duration<double>(now - heard).count();
      if ((scheduler.held(rank - 1) == 0 && !scheduler.awaits_store(rank - 1)) ||
          stopped_[static_cast<std::size_t>(rank)])
        continue;
      if (!seen_ended_[static_cast<std::size_t>(rank)] && process_ended(rank)) {
        // A late answer still on its way is taken as any late answer is.
        log_ << "[pi-job] rank " << rank << " (pid " << pids_[static_cast<std::size_t>(rank)]
             << " on this host) has ended: it is taken for lost" << std::endl;
        scheduler.silent(rank - 1);
        seen_ended_[static_cast<std::size_t>(rank)] = true;  // said once; its deadline does the rest
      } else if (now - heard > std::chrono::duration<double>(kSilentSeconds)) {
        log_ << "[pi-job] rank " << rank << " sent no heartbeat for " << kSilentSeconds
             << " s: it is taken for lost" << std::endl;
        scheduler.silent(rank - 1);
        heard_[static_cast<std::size_t>(rank)] = now;  // said once; its deadline does the rest
      }
    }
    const std::vector<int> late = scheduler.expire(now);
    for (int w : late) {
      log_ << "[pi-job] rank " << w + 1 << " missed its deadline; its task goes to another worker"
           << std::endl;
    }
    if (look_for_silence || !late.empty()) tell_lost(scheduler);
    dispatch(scheduler);
    send_to_owners(scheduler);
    outbox_.progress();
    tick();
    if (scheduler.active_workers() == 0 && !scheduler.finished()) {
      // Every worker is retired, lost or overdue. A worker that is overdue but still beats is slow, not gone
      // (a loaded node): its late answer makes it active again, so the job waits for it, as long as it would
      // wait for a silent one, before it stops.
      if (stalled_since == kNotStalled) stalled_since = now;
      if (!overdue_but_beating(scheduler) ||
          now - stalled_since > std::chrono::duration<double>(kSilentSeconds)) {
        throw std::runtime_error("no worker can take work: every worker was lost or retired; the job stops");
      }
    } else {
      stalled_since = kNotStalled;
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

void MpiExecutor::beat() {
  for (int rank = 1; rank < mpi_.size(); ++rank) {
    const auto r = static_cast<std::size_t>(rank);
    if (!told_lost_[r] && !stopped_[r]) outbox_.send(rank, Tag::alive, Writer().finish());
  }
}

void MpiExecutor::tell_lost(Scheduler& scheduler) {
  std::vector<bool> lost(told_lost_.size(), false);
  for (const int w : scheduler.lost_workers()) lost[static_cast<std::size_t>(w) + 1] = true;
  for (std::size_t wi = 0; wi < scheduler.workers().size(); ++wi)
    if (scheduler.workers()[wi].lost) lost[wi + 1] = true;
  if (lost == told_lost_) return;
  // The whole set, so that a rank that answered again is fetched from again.
  told_lost_ = lost;
  std::vector<std::uint64_t> ranks;
  for (std::size_t r = 1; r < lost.size(); ++r)
    if (lost[r]) ranks.push_back(r);
  for (int rank = 1; rank < mpi_.size(); ++rank) {
    const auto r = static_cast<std::size_t>(rank);
    if (!lost[r] && !stopped_[r]) outbox_.send(rank, Tag::lost, encode_keys(ranks));
  }
}

void MpiExecutor::kill_for_test(int rank, std::uint64_t copied) {
  const auto r = static_cast<std::size_t>(rank);
  if (rank < 1 || rank >= mpi_.size() || !starts_[r] || process_ended(rank)) {
    log_ << "[pi-job] PI_FAULT: rank " << rank << " is not a running process of this host: not killed"
         << std::endl;
    return;
  }
  log_ << "[pi-job] PI_FAULT: SIGKILL to rank " << rank << " (pid " << pids_[r] << "); " << copied
       << " of its waiting pieces have copies" << std::endl;
  ::kill(static_cast<pid_t>(pids_[r]), SIGKILL);
}

void MpiExecutor::watch_process(int rank) {
  const auto r = static_cast<std::size_t>(rank);
  starts_[r].reset();
  seen_ended_[r] = false;
  if (hosts_[r] != hostname() || pids_[r] <= 0) return;
  // Seen from here as it said it started: a process in another pid namespace under the same host name is
  // not, and is never watched.
  if (const auto stat = process_stat(pids_[r]); stat && stat->state != 'Z' && stat->state != 'X')
    starts_[r] = stat->start;
}

bool MpiExecutor::process_ended(int rank) const {
  const auto r = static_cast<std::size_t>(rank);
  if (!starts_[r]) return false;
  const auto stat = process_stat(pids_[r]);
  return !stat || stat->state == 'Z' || stat->state == 'X' || stat->start != *starts_[r];
}

const std::vector<int>& MpiExecutor::await_lost_ranks(std::chrono::steady_clock::time_point until) {
  // A rank whose process is not watched (elsewhere, or unseen from here) may live.
  auto may_live = [&](int rank) { return !process_ended(rank); };
  Backoff backoff;
  while (std::any_of(lost_.begin(), lost_.end(), may_live) && std::chrono::steady_clock::now() < until) {
    if (std::optional<Incoming> message = inbox_.poll(MPI_ANY_SOURCE)) {
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
    // Only a process this one saw start is signalled; elsewhere, or unseen, its pid here may name another.
    const bool watched = starts_[r].has_value();
    if (watched && process_ended(rank)) {
      log_ << "[pi-job] rank " << rank << " (pid " << pids_[r] << " on " << here << ") has ended already"
           << std::endl;
    } else if (watched && ::kill(static_cast<pid_t>(pids_[r]), SIGKILL) == 0) {
      // Its start time was just seen unchanged: a pid taken by a later process is not signalled (but for the
      // moment between the look and the kill, as with any kill by pid).
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

namespace {

// A worker's side of the protocol. Its main thread does all the MPI: it takes tasks from rank 0, answers
// other workers' fetches of the pieces it holds, fetches the operands its next task needs from their
// owners (checked against the fingerprints rank 0 sent), and sends results. A task is computed on a thread
// of its own, so that a worker busy with a long merge still answers fetches at once.
class Worker {
 public:
  Worker(const MpiRuntime& mpi, const Series& series, FaultPlan faults, PieceWriter writer,
         PieceReader reader, double coordinator_timeout_s)
      : mpi_(mpi),
        series_(series),
        faults_(std::move(faults)),
        writer_(std::move(writer)),
        reader_(std::move(reader)),
        coordinator_timeout_(coordinator_timeout_s),
        watchdog_(mpi.rank()),
        outbox_(mpi),
        inbox_(mpi) {}

  void run() {
    outbox_.send(0, Tag::ready, encode_text(hostname() + " " + std::to_string(::getpid())));
    Backoff backoff;
    auto last_look = Clock::now();
    for (;;) {
      // Looks are milliseconds apart: a longer gap is time the process spent stopped (a suspended job), in
      // which no owner could answer a fetch either.
      const auto now = Clock::now();
      if (now - last_look > kStoppedGap) {
        if (current_) current_->fetch_deadline += now - last_look;
        heard_from_0_ += now - last_look;
      }
      last_look = now;
      if (now - last_beat_ > std::chrono::duration<double>(kHeartbeatSeconds)) {
        outbox_.send(0, Tag::alive, Writer().finish());
        last_beat_ = now;
        if (now - heard_from_0_ > coordinator_timeout_) coordinator_lost(now);
      }
      bool active = false;
      while (std::optional<Incoming> message = inbox_.poll(MPI_ANY_SOURCE)) {
        active = true;
        if (message->source == 0) heard_from_0_ = Clock::now();
        if (message->tag == Tag::stop && message->source == 0) {
          // A task under way is finished and answered first: rank 0 waits a little for a slow rank's late
          // answer, so that the job can end without ending that rank.
          if (current_ && current_->computing) {
            give_up_product("the job stops");
            current_->computing->wait();
            finish();
            outbox_.drain(Clock::now() + std::chrono::seconds(2));
          }
          return;
        }
        handle(*message);
      }
      active = step() || active;
      active = write_step() || active;
      outbox_.progress();
      if (active) {
        backoff.reset();
      } else if (current_ && current_->computing) {
        // The core goes to the computation rather than to a loop spinning beside it, and its end wakes this
        // loop at once; a fetch or a task that arrives meanwhile waits a look at most (bench/README).
        current_->computing->wait_for(kComputingLook);
      } else {
        backoff.wait();
      }
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  // An operand being fetched: the task's piece it fills, and which of its values were asked for.
  struct Fetch {
    PieceRef* piece;
    std::uint32_t* index;  // products: the factor's index, which becomes 0 in the one-value piece
    std::vector<std::uint64_t> values;
    // A spread product's phase 0: the value's column runs, checked by their owner (FetchRequest::Runs).
    bool runs = false;
    // Phases 1 and 2: the piece's value count; those asked for arrive, and sit at their places among zeros
    // (what the part does not read).
    std::uint64_t expand = 0;
  };
  struct Current {
    Task task;
    Clock::time_point started;
    Clock::time_point fetch_deadline;
    std::map<std::uint64_t, Fetch> fetching;  // by request
    std::optional<std::future<TaskOutput>> computing;
  };

  // Rank 0 beats once a second while a job runs (MpiExecutor::run); under mpirun --enable-recovery nothing
  // else would end this rank after rank 0 died, and mpirun would wait for it for good. Its pieces die with
  // it: the job is resumed from its last checkpoint.
  [[noreturn]] void coordinator_lost(Clock::time_point now) const {
    char what[128];
    std::snprintf(what, sizeof what, "nothing from rank 0 for %.0f s (--coordinator-timeout %.3g)",
                  std::chrono::duration<double>(now - heard_from_0_).count(), coordinator_timeout_.count());
    end_for_lost_coordinator(mpi_.rank(), what, "; resume the job from its checkpoint with --resume");
  }

  void handle(const Incoming& message) {
    switch (message.tag) {
      case Tag::alive:  // rank 0's heartbeat: its arrival is all it says
        break;
      case Tag::task:
        tasks_.push_back(decode_task(message.body));
        break;
      case Tag::drop:
        for (const std::uint64_t key : decode_keys(message.body)) {
          store_.erase(key);
          copies_.erase(key);
          std::erase_if(checked_, [key](const auto& kv) { return kv.first == key; });
        }
        break;
      case Tag::fetch: {
        const FetchRequest request = decode_fetch(message.body);
        const auto it = store_.find(request.key);
        if (request.runs && it != store_.end()) {
          answer_runs(message.source, request, *it->second);
          break;
        }
        outbox_.send(message.source, Tag::piece,
                     encode_fetch_answer(request.request, it == store_.end() ? nullptr : it->second.get(),
                                         request.values));
        break;
      }
      case Tag::piece:
        answered(message.source, decode_fetch_answer(message.body));
        break;
      case Tag::made:
        made(decode_product_done(message.body));
        break;
      case Tag::lost: {
        // The ranks rank 0 takes for lost now: a fetch from one of them is given up now, not at its
        // deadline, and none is begun.
        const std::vector<std::uint64_t> ranks = decode_keys(message.body);
        lost_ = std::set<int>();
        for (const std::uint64_t r : ranks) lost_.insert(static_cast<int>(r));
        if (!current_) break;
        for (const auto& [request, fetch] : current_->fetching) {
          if (lost_.contains(fetch.piece->owner + 1)) {
            give_up_lost(*fetch.piece);
            break;  // the task is given up
          }
        }
        break;
      }
      case Tag::store: {
        // The piece is taken now: a later drop of it does not stop the write.
        StoreRequest request = decode_store(message.body);
        const auto it = store_.find(request.key);
        if (it == store_.end() || !writer_) {
          outbox_.send(
              0, Tag::stored,
              encode_stored(StoreAnswer{request.capture, request.key, it != store_.end(), std::nullopt,
                                        writer_ ? "not held" : "this worker cannot write pieces"}));
        } else {
          writes_.emplace_back(std::move(request), it->second);
        }
        break;
      }
      default:
        throw WireError("worker: unexpected tag " + std::to_string(static_cast<int>(message.tag)) +
                        " from rank " + std::to_string(message.source));
    }
  }

  // Writes pieces for a checkpoint, one at a time on a thread of their own (beside the task's); returns
  // whether anything happened.
  bool write_step() {
    if (writing_) {
      if (writing_->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
      outbox_.send(0, Tag::stored, encode_stored(writing_->get()));
      writing_.reset();
      return true;
    }
    if (writes_.empty()) return false;
    writing_ = std::async(std::launch::async, [this, w = std::move(writes_.front())] {
      StoreAnswer answer{w.first.capture, w.first.key, true, std::nullopt, ""};
      try {
        answer.stored = writer_(w.first, *w.second);
      } catch (const std::exception& e) {
        answer.error = e.what();
      }
      return answer;
    });
    writes_.pop_front();
    return true;
  }

  // Moves the current task on, or starts the next; returns whether anything happened.
  bool step() {
    if (!current_) {
      if (tasks_.empty()) return false;
      start(std::move(tasks_.front()));
      tasks_.pop_front();
      return true;
    }
    Current& c = *current_;
    if (c.computing) {
      const bool asked = ask_product();
      if (c.computing->wait_for(std::chrono::seconds(0)) != std::future_status::ready) return asked;
      finish();
      return true;
    }
    if (!c.fetching.empty()) {
      if (Clock::now() < c.fetch_deadline) return false;
      const PieceRef& late = *c.fetching.begin()->second.piece;
      give_up("rank " + std::to_string(late.owner + 1) + " did not give piece " + std::to_string(late.key) +
                  " in time",
              late, true);
      return true;
    }
    compute();
    return true;
  }

  void start(Task task) {
    watchdog_.start(task.allowed_s);
    current_.emplace();
    Current& c = *current_;
    c.task = std::move(task);
    c.started = Clock::now();
    // A fetch may take part of the task's time; a healthy owner answers at once.
    c.fetch_deadline = c.started + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(0.4 * c.task.allowed_s));
    const PieceRef* from_lost = nullptr;  // an operand whose owner rank 0 takes for lost
    const auto need = [&](PieceRef& piece, std::uint32_t* index) {
      if (piece.here() || from_lost) return;
      std::vector<std::uint64_t> values;
      if (index) values.push_back(*index);
      if (piece.owner == mpi_.rank() - 1) {
        // Held here already.
        const auto it = store_.find(piece.key);
        if (it == store_.end()) return;  // compute() finds it missing
        take(piece, index, it->second, values);
        return;
      }
      if (lost_.contains(piece.owner + 1)) {
        from_lost = &piece;
        return;
      }
      const std::uint64_t request = next_request_++;
      outbox_.send(piece.owner + 1, Tag::fetch,
                   encode_fetch(FetchRequest{request, piece.key, values, std::nullopt}));
      c.fetching.emplace(request, Fetch{&piece, index, std::move(values)});
    };
    if (auto* spread = std::get_if<Spread>(&c.task.work)) {
      need_spread(*spread);
      return;
    }
    for_each_operand(c.task, [&](PieceRef& piece, std::uint32_t* index) {
      need(piece, index);
      return true;
    });
    if (from_lost) give_up_lost(*from_lost);
  }

  // A spread product's part reads a share of each input: phase 0 the column runs of its part of each
  // factor, phase 1 its rows of each column part's blocks, phase 2 its columns of each row part's output.
  void need_spread(Spread& spread) {
    Current& c = *current_;
    const SpreadPlan plan = spread_plan(spread);
    const std::uint64_t all = spread.phase == 0 ? 0 : spread_output_values(plan, spread.phase - 1);
    for (std::size_t k = 0; k < spread.inputs.size(); ++k) {
      PieceRef& input = spread.inputs[k];
      if (input.here()) continue;
      if (lost_.contains(input.owner + 1)) {
        give_up_lost(input);
        return;
      }
      std::vector<std::uint64_t> values;
      if (spread.phase == 0) {
        values.push_back(k == 0 ? spread.factor_left : spread.factor_right);
      } else if (spread.phase == 1) {
        for (const std::uint64_t base : {std::uint64_t{0}, plan.rows()})
          for (std::uint64_t n = 0; n < plan.row_count(); ++n)
            values.push_back(base + plan.first_row(spread.part) + n);
      } else {
        values.push_back(spread.part);
      }
      if (input.owner == mpi_.rank() - 1) {
        // Held here already: phase 0 cuts the runs from it (checked as for another worker), the later
        // phases read the values they need in place.
        const auto it = store_.find(input.key);
        if (it == store_.end()) continue;  // compute() finds it missing
        if (spread.phase != 0) {
          input.data = it->second;
          continue;
        }
        std::optional<BigInt> runs = checked_runs(input.key, *it->second, values[0],
                                                  input_runs(spread, c.task.check_primes, input, values[0]));
        if (!runs) {
          give_up("piece " + std::to_string(input.key) + " held here fails its fingerprint", input, false);
          return;
        }
        input.data = std::make_shared<PartialResult>(PartialResult{input.range, {std::move(*runs)}});
        continue;
      }
      const std::uint64_t request = next_request_++;
      FetchRequest ask{request, input.key, values, std::nullopt};
      if (spread.phase == 0) ask.runs = input_runs(spread, c.task.check_primes, input, values[0]);
      outbox_.send(input.owner + 1, Tag::fetch, encode_fetch(ask));
      c.fetching.emplace(request, Fetch{&input, nullptr, std::move(values), spread.phase == 0, all});
    }
  }

  // What a phase 0 part asks of a factor's owner: its runs in the part's plan, and the value's fingerprint.
  static FetchRequest::Runs input_runs(const Spread& spread, const std::vector<std::uint64_t>& primes,
                                       const PieceRef& input, std::uint64_t value) {
    FetchRequest::Runs runs{spread.left_limbs, spread.right_limbs, spread.parts, spread.part, primes, {}};
    const std::size_t np = primes.size();
    if (input.residues.size() >= (value + 1) * np)
      runs.residues.assign(input.residues.begin() + static_cast<std::ptrdiff_t>(value * np),
                           input.residues.begin() + static_cast<std::ptrdiff_t>((value + 1) * np));
    return runs;
  }

  // Value `value` of piece `key` cut into column runs as `runs` asks, once the value matches the
  // fingerprint there (checked once a value: checked_); nullopt when it does not, or is not there.
  std::optional<BigInt> checked_runs(std::uint64_t key, const PartialResult& piece, std::uint64_t value,
                                     const FetchRequest::Runs& runs) {
    if (value >= piece.values.size() || runs.residues.size() != runs.primes.size()) return std::nullopt;
    const BigInt& x = piece.values[value];
    const std::uint64_t limbs = mpz_size(raw(x));
    if (limbs != runs.a_limbs && limbs != runs.b_limbs) return std::nullopt;  // not the factor planned for
    if (!checked_.contains({key, value})) {
      for (std::size_t j = 0; j < runs.primes.size(); ++j)
        if (residue_of(x, runs.primes[j]) != runs.residues[j]) return std::nullopt;
      checked_.insert({key, value});
    }
    return column_runs_integer(SpreadPlan::choose(runs.a_limbs, runs.b_limbs, runs.parts), raw(x), runs.part);
  }

  // The owner's side of FetchRequest::Runs.
  void answer_runs(int to, const FetchRequest& request, const PartialResult& piece) {
    std::optional<BigInt> runs;
    try {
      runs = checked_runs(request.key, piece, request.values.at(0), *request.runs);
    } catch (const std::invalid_argument&) {  // a plan that can't be: nothing to answer with
    }
    if (!runs) {
      outbox_.send(to, Tag::piece, encode_fetch_damaged(request.request));
      return;
    }
    const PartialResult share{piece.range, {std::move(*runs)}};
    outbox_.send(to, Tag::piece, encode_fetch_answer(request.request, &share, {}));
  }

  // `piece` becomes the values of `from` (all, or the one asked for).
  static void take(PieceRef& piece, std::uint32_t* index, std::shared_ptr<const PartialResult> from,
                   const std::vector<std::uint64_t>& values) {
    if (values.empty()) {
      piece.data = std::move(from);
      return;
    }
    piece.data = std::make_shared<PartialResult>(PartialResult{from->range, {from->values.at(values[0])}});
    *index = 0;
  }

  void answered(int source, FetchAnswer answer) {
    if (!current_) return;  // the answer to a task given up
    Current& c = *current_;
    const auto it = c.fetching.find(answer.request);
    if (it == c.fetching.end()) {
      run_answered(answer);
      return;
    }
    PieceRef& piece = *it->second.piece;
    if (!answer.found) {
      give_up(answer.damaged
                  ? "piece " + std::to_string(piece.key) + " on rank " + std::to_string(source) +
                        " fails its fingerprint there"
                  : "rank " + std::to_string(source) + " no longer holds piece " + std::to_string(piece.key),
              piece, false);
      return;
    }
    // The values that arrived must be those rank 0 knows the piece by (column runs: their owner checked the
    // value they come from).
    const std::vector<std::uint64_t>& asked = it->second.values;
    const std::size_t count = asked.empty() ? piece.shape.size() : asked.size();
    if (answer.piece.range != piece.range || answer.piece.values.size() != count ||
        (!it->second.runs &&
         !matches_fingerprint(answer.piece.values, piece.residues, c.task.check_primes, asked))) {
      give_up("piece " + std::to_string(piece.key) + " from rank " + std::to_string(source) +
                  " fails its fingerprint",
              piece, false);
      return;
    }
    if (it->second.expand > 0) {
      PartialResult whole{answer.piece.range, std::vector<BigInt>(it->second.expand)};
      for (std::size_t i = 0; i < asked.size(); ++i)
        whole.values.at(asked[i]) = std::move(answer.piece.values[i]);
      answer.piece = std::move(whole);
    }
    piece.data = std::make_shared<PartialResult>(std::move(answer.piece));
    if (it->second.index) *it->second.index = 0;
    c.fetching.erase(it);
    if (const auto* block = std::get_if<Digits>(&c.task.work); block && c.task.keep && c.fetching.empty()) {
      // A conversion block's fraction, checked: kept from now on under the block's id, and rank 0 hears of
      // it at once, so that later blocks may read it here while this one converts.
      store_[c.task.id] = block->fraction.data;
      copies_.insert(c.task.id);
      outbox_.send(0, Tag::fetched, encode_keys({c.task.id}));
    }
  }

  void give_up_lost(const PieceRef& piece) {
    give_up("rank " + std::to_string(piece.owner + 1) + " was taken for lost: piece " +
                std::to_string(piece.key) + " is not fetched from it",
            piece, true);
  }

  // The task can't go on without `piece`: rank 0 learns which, and recomputes it.
  void give_up(const std::string& why, const PieceRef& piece, bool silent) {
    outbox_.send(0, Tag::failed, encode_failure(current_->task.id, why, piece.owner, piece.key, silent));
    current_.reset();
    watchdog_.finish();
  }

  void compute() {
    Current& c = *current_;
    const PieceRef* lacking = nullptr;
    for_each_operand(c.task, [&](const PieceRef& piece, std::uint32_t*) {
      if (!piece.here()) lacking = &piece;
      return lacking == nullptr;
    });
    if (lacking) {
      // Only a piece this worker was to hold itself can be missing here (fetches fill the others).
      give_up(
          "rank " + std::to_string(mpi_.rank()) + " no longer holds piece " + std::to_string(lacking->key),
          *lacking, false);
      return;
    }
    // Read on the compute thread, which starts after this: the pieces it computed (or read), copies aside.
    faults_.set_pieces_held(store_.size() - copies_.size());
    if (faults_.empty() && predicted_s(c.task) < kInlineSeconds) {
      // A thread for a task of microseconds (a slow series' trivial ranges) cost more than the task: a
      // thread's start, and a core to run on beside the ranks' loops. Such a task runs here; an injected
      // fault (a hang, a delay) always runs on a thread, as heartbeats must go on beside it.
      std::promise<TaskOutput> done;
      try {
        done.set_value(carry(c.task));
      } catch (const std::exception&) {
        done.set_exception(std::current_exception());
      }
      c.computing = done.get_future();
      return;
    }
    c.computing = std::async(std::launch::async, [this, task = c.task] { return carry(task); });
  }

  // The seconds a task is expected to take, from the last evaluation's (infinity when unknown).
  double predicted_s(const Task& task) const {
    const auto* evaluate = std::get_if<Evaluate>(&task.work);
    if (!evaluate || last_evaluation_s_ < 0 || last_evaluation_terms_ == 0) return INFINITY;
    return last_evaluation_s_ * static_cast<double>(evaluate->range.size()) /
           static_cast<double>(last_evaluation_terms_);
  }

  // On the compute thread: the task, and what the worker keeps of it.
  TaskOutput carry(const Task& task) {
    faults_.before(task);
    // The compute time a result reports: not the wait for its operands, nor an injected delay.
    const auto t0 = Clock::now();
    TaskOutput out;
    if (task.kind() == TaskKind::copy) {
      // The piece as it arrived, checked against its fingerprint then: nothing to compute or to seal.
      kept_ = carry_out_copy(task, out);
      compute_s_ = seconds_since(t0);
      return out;
    }
    if (const auto* load = std::get_if<Load>(&task.work)) {
      if (!reader_) throw std::runtime_error("this worker reads no piece files");
      out.result = reader_(*load);
    } else if (const std::uint64_t least = spread_bits(task); least > 0) {
      // The final steps or their constant, the large products spread over the other workers.
      const ProductFn product = [this, &task, least](BigInt& p, mpz_srcptr a, mpz_srcptr b) {
        if (std::min(mpz_sizeinbase(a, 2), mpz_sizeinbase(b, 2)) < least) {
          multiply(p, a, b);
        } else {
          spread_product(p, a, b, task);
        }
      };
      out = task.kind() == TaskKind::constant ? execute_constant(series_, task, &product)
                                              : execute_final_steps(series_, task, &product);
    } else {
      out = execute(series_, task);
    }
    // A block's text is damaged after its check value (as if later); an integer before seal, so that the
    // worker itself believes it.
    faults_.corrupt(task, out);
    seal(out, task);
    kept_ = keep_piece(series_, task, out);
    compute_s_ = seconds_since(t0);
    return out;
  }

  void finish() {
    Current& c = *current_;
    try {
      TaskOutput out = c.computing->get();
      if (const auto* evaluate = std::get_if<Evaluate>(&c.task.work)) {
        last_evaluation_s_ = compute_s_;
        last_evaluation_terms_ = evaluate->range.size();
      }
      if (out.kept) store_[c.task.id] = std::move(kept_);
      if (out.kept && (c.task.kind() == TaskKind::copy || c.task.kind() == TaskKind::digits))
        copies_.insert(c.task.id);
      RankUsage usage = own_usage(std::chrono::milliseconds(100));
      usage.pieces_held = store_.size();
      outbox_.send(0, Tag::result, encode_result(c.task.id, compute_s_, out, usage));
      if (faults_.dies_sending(c.task)) std::raise(SIGKILL);  // rank 0 has the message's start, not its end
    } catch (const std::exception& e) {
      outbox_.send(0, Tag::failed, encode_failure(c.task.id, e.what()));
    }
    kept_.reset();
    end_products();
    current_.reset();  // the task's operands, unless the store keeps them
    watchdog_.finish();
    return_freed_memory_after(compute_s_);
  }

  // The final steps' products spread over the other workers (FinalSteps::spread_bits). The compute thread
  // posts its factors (spread_product), the main thread does the MPI: it keeps them as pieces under keys of
  // its own for the parts to read (ask_product), and once rank 0 says the product is made (made), fetches
  // its runs, checked against their makers' residues, and hands them to the compute thread, which puts the
  // product together and checks it against the factors' residues. A product that came damaged, or whose
  // runs could not be fetched, is asked for again.
  struct ProductRuns {
    std::uint32_t parts = 0;
    std::vector<std::shared_ptr<const PartialResult>> runs;
  };
  struct ProductAsk {
    std::uint32_t n = 0;
    bool again = false;
    std::shared_ptr<const PartialResult> a, b;
    Residues a_residues, b_residues;
  };
  struct ProductWait {
    std::uint32_t n = 0;
    PieceRef a, b;  // the factors as rank 0 knows them
    std::vector<PieceRef> runs;
    std::uint32_t parts = 0;
    std::map<std::uint64_t, std::size_t> fetching;  // by request: the run it fills
  };
  static constexpr int kProductAttempts = 8;

  // FinalSteps::spread_bits or Constant::spread_bits (0: none, or another kind of task).
  static std::uint64_t spread_bits(const Task& task) {
    if (const auto* steps = std::get_if<FinalSteps>(&task.work)) return steps->spread_bits;
    if (const auto* constant = std::get_if<Constant>(&task.work)) return constant->spread_bits;
    return 0;
  }

  // On the compute thread: p = a b (a, b >= 0) made by the other workers.
  void spread_product(BigInt& p, mpz_srcptr a, mpz_srcptr b, const Task& task) {
    ProductAsk ask;
    const auto* steps = std::get_if<FinalSteps>(&task.work);
    const Range range = steps ? steps->root.range : Range{};
    const auto one = [range](mpz_srcptr x) {
      auto piece = std::make_shared<PartialResult>(PartialResult{range, {BigInt()}});
      mpz_set(raw(piece->values[0]), x);
      return piece;
    };
    ask.a = one(a);
    ask.b = one(b);
    ask.a_residues = residues_of(ask.a->values, task.check_primes);
    ask.b_residues = residues_of(ask.b->values, task.check_primes);
    ask.n = next_product_++;
    for (int attempt = 0; attempt < kProductAttempts; ++attempt) {
      ask.again = attempt > 0;
      std::future<ProductRuns> coming;
      {
        std::lock_guard lock(product_mutex_);
        product_ask_ = ask;
        product_promise_ = std::promise<ProductRuns>();
        product_pending_ = true;
        coming = product_promise_.get_future();
      }
      const ProductRuns got = coming.get();  // throws when refused, or the job stops
      std::vector<const std::vector<BigInt>*> runs;
      for (const auto& run : got.runs) runs.push_back(&run->values);
      try {
        assemble_spread(p, SpreadPlan::choose(mpz_size(a), mpz_size(b), got.parts), runs);
      } catch (const std::invalid_argument&) {
        continue;  // runs that do not fit the product: a damaged part
      }
      bool right = true;
      for (std::size_t j = 0; j < task.check_primes.size() && right; ++j) {
        const std::uint64_t prime = task.check_primes[j];
        right = residue_of(p, prime) == mul_mod(ask.a_residues[j], ask.b_residues[j], prime);
      }
      if (right) return;
    }
    throw std::runtime_error("product " + std::to_string(ask.n + 1) + " of the final steps came damaged " +
                             std::to_string(kProductAttempts) + " times");
  }

  // The compute thread's product ask, if there is one: its factors kept, and rank 0 asked.
  bool ask_product() {
    std::optional<ProductAsk> ask;
    {
      std::lock_guard lock(product_mutex_);
      ask = std::exchange(product_ask_, std::nullopt);
    }
    if (!ask) return false;
    const Task& task = current_->task;
    if (!product_ || product_->n != ask->n) {
      drop_product_factors();
      ProductWait wait;
      wait.n = ask->n;
      // Keys of this worker's own, apart from rank 0's task ids: the top bit set.
      const std::uint64_t base = (std::uint64_t{1} << 63) | (task.id << 24) | (std::uint64_t{ask->n} << 1);
      const auto keep = [&](PieceRef& ref, std::uint64_t key, std::shared_ptr<const PartialResult> piece,
                            Residues residues) {
        ref.range = piece->range;
        ref.owner = mpi_.rank() - 1;
        ref.key = key;
        ref.shape = shape_of(*piece);
        ref.residues = std::move(residues);
        store_[key] = std::move(piece);
        copies_.insert(key);
      };
      keep(wait.a, base, ask->a, ask->a_residues);
      keep(wait.b, base | 1, ask->b, ask->b_residues);
      product_ = std::move(wait);
    }
    product_->runs.clear();
    product_->fetching.clear();
    outbox_.send(
        0, Tag::product,
        encode_product_request(ProductRequest{task.id, ask->n, ask->again, product_->a, product_->b}));
    return true;
  }

  // Rank 0's word on the product under way: its runs are fetched (those held here taken).
  void made(Scheduler::ProductDone done) {
    if (!current_ || !product_ || done.task != current_->task.id || done.n != product_->n) return;  // late
    if (done.refused) {
      give_up_product("rank 0 refused product " + std::to_string(done.n + 1) +
                      " of the final steps (the task is no longer this worker's)");
      return;
    }
    product_->parts = done.parts;
    product_->runs = std::move(done.runs);
    product_->fetching.clear();
    for (std::size_t i = 0; i < product_->runs.size(); ++i) {
      PieceRef& run = product_->runs[i];
      if (run.here()) continue;
      if (run.owner == mpi_.rank() - 1) {
        const auto it = store_.find(run.key);
        if (it == store_.end()) {
          product_again();
          return;
        }
        run.data = it->second;
        continue;
      }
      const std::uint64_t request = next_request_++;
      outbox_.send(run.owner + 1, Tag::fetch, encode_fetch(FetchRequest{request, run.key, {}, std::nullopt}));
      product_->fetching.emplace(request, i);
    }
    if (product_->fetching.empty()) deliver_product();
  }

  void run_answered(FetchAnswer& answer) {
    if (!product_) return;
    const auto it = product_->fetching.find(answer.request);
    if (it == product_->fetching.end()) return;  // an answer to an earlier round
    PieceRef& run = product_->runs[it->second];
    if (!answer.found || answer.piece.range != run.range || answer.piece.values.size() != run.shape.size() ||
        !matches_fingerprint(answer.piece.values, run.residues, current_->task.check_primes)) {
      product_again();
      return;
    }
    run.data = std::make_shared<PartialResult>(std::move(answer.piece));
    product_->fetching.erase(it);
    if (product_->fetching.empty()) deliver_product();
  }

  // The runs are all here: the compute thread has them.
  void deliver_product() {
    ProductRuns runs;
    runs.parts = product_->parts;
    for (const PieceRef& run : product_->runs) runs.runs.push_back(run.data);
    std::lock_guard lock(product_mutex_);
    if (!product_pending_) return;
    product_pending_ = false;
    product_promise_.set_value(std::move(runs));
  }

  // A run that could not be fetched or failed its fingerprint: rank 0 makes the product again.
  void product_again() {
    product_->runs.clear();
    product_->fetching.clear();
    outbox_.send(0, Tag::product,
                 encode_product_request(
                     ProductRequest{current_->task.id, product_->n, true, product_->a, product_->b}));
  }

  // The compute thread's wait for a product ends in an error (the product refused, the job stopped).
  void give_up_product(const std::string& why) {
    std::lock_guard lock(product_mutex_);
    product_ask_.reset();
    if (!product_pending_) return;
    product_pending_ = false;
    product_promise_.set_exception(std::make_exception_ptr(std::runtime_error(why)));
  }

  void drop_product_factors() {
    if (!product_) return;
    for (const PieceRef* f : {&product_->a, &product_->b}) {
      store_.erase(f->key);
      copies_.erase(f->key);
      std::erase_if(checked_, [key = f->key](const auto& kv) { return kv.first == key; });
    }
    product_.reset();
  }

  // The final steps ended: nothing of their products is kept.
  void end_products() {
    drop_product_factors();
    next_product_ = 0;
    std::lock_guard lock(product_mutex_);
    product_ask_.reset();
    product_pending_ = false;
  }

  const MpiRuntime& mpi_;
  const Series& series_;
  FaultPlan faults_;
  PieceWriter writer_;
  PieceReader reader_;
  std::deque<std::pair<StoreRequest, std::shared_ptr<const PartialResult>>> writes_;  // waiting, in order
  std::optional<std::future<StoreAnswer>> writing_;
  const std::chrono::duration<double> coordinator_timeout_;
  Clock::time_point heard_from_0_ = Clock::now();  // the last message from rank 0
  TaskWatchdog watchdog_;
  Outbox outbox_;
  Inbox inbox_;
  std::deque<Task> tasks_;  // assigned, in order
  std::optional<Current> current_;
  std::map<std::uint64_t, std::shared_ptr<const PartialResult>> store_;  // pieces kept, by key
  std::set<int> lost_;              // ranks rank 0 takes for lost (Tag::lost): not fetched from
  std::set<std::uint64_t> copies_;  // the keys of those that are copies of other workers' pieces (Copy)
  // Values of pieces held here found to match their fingerprints (key, value), for spread products' runs.
  std::set<std::pair<std::uint64_t, std::uint64_t>> checked_;
  std::shared_ptr<const PartialResult> kept_;  // the compute thread's piece, until finish() stores it
  double compute_s_ = 0;                       // and its compute time
  double last_evaluation_s_ = -1;              // the last evaluation's compute time (-1: none yet)
  std::uint64_t last_evaluation_terms_ = 0;    // and its terms
  std::uint64_t next_request_ = 1;
  Clock::time_point last_beat_ = Clock::now();
  // The final steps' spread products (spread_product): the compute thread's, and the main thread's.
  std::uint32_t next_product_ = 0;
  std::mutex product_mutex_;
  std::optional<ProductAsk> product_ask_;  // posted, not yet taken by the main thread
  std::promise<ProductRuns> product_promise_;
  bool product_pending_ = false;  // product_promise_ not yet kept
  std::optional<ProductWait> product_;
};

}  // namespace

void run_worker(const MpiRuntime& mpi, const Series& series, FaultPlan faults, PieceWriter writer,
                PieceReader reader, double coordinator_timeout_s) {
  Worker(mpi, series, std::move(faults), std::move(writer), std::move(reader), coordinator_timeout_s).run();
}

void announce_job(const MpiRuntime& mpi, const std::string& series) {
  Outbox outbox(mpi);
  for (int rank = 1; rank < mpi.size(); ++rank) outbox.send(rank, Tag::job, encode_text(series));
  outbox.drain(std::chrono::steady_clock::now() + std::chrono::seconds(10));
}

std::string await_job(const MpiRuntime& mpi, double coordinator_timeout_s) {
  Inbox inbox(mpi);
  Backoff backoff;
  const auto since = std::chrono::steady_clock::now();
  const auto limit = std::chrono::duration<double>(coordinator_timeout_s);
  for (;;) {
    std::optional<Incoming> message = inbox.poll(0);
    if (!message) {
      if (std::chrono::steady_clock::now() - since > limit) {
        // Rank 0 died (or hangs) before it told the job: nothing else would end this rank.
        char what[96];
        std::snprintf(what, sizeof what, "no job from rank 0 within %.3g s (--coordinator-timeout)",
                      coordinator_timeout_s);
        end_for_lost_coordinator(mpi.rank(), what, "");
      }
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
