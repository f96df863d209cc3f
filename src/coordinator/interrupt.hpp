// SIGINT, SIGTERM, SIGHUP and SIGUSR1 ask the job to stop at the next safe point (after a checkpoint); the
// run loops poll for it and end the job cleanly with its own exit code, instead of dying in the middle of a
// write. A long computation that cannot poll (a big merge, the final division, a decimal conversion) runs
// through run_interruptible, so that a stop is answered at once and the computation is abandoned.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace pi {

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// A stop whose checkpoint could not be written (a full disk); the previous checkpoint (if any) is kept.
class InterruptedUnsaved : public Interrupted {
 public:
  using Interrupted::Interrupted;
};

// Installs the handlers (SIGINT, SIGTERM, SIGHUP, SIGUSR1) and ignores SIGPIPE (a closed output pipe must
// not end the job); idempotent.
void install_stop_handlers();
// The signal that asked the job to stop, or 0.
int stop_signal();
// Throws Interrupted if a stop was asked for.
void throw_if_interrupted();
// The name of a stop signal as a user sent it ("SIGTERM", ...).
std::string signal_name(int sig);

// True once run_interruptible left a computation running: the process must then end with std::_Exit, since
// that computation still uses objects that normal destruction would free under it.
bool work_abandoned();
void mark_work_abandoned();

// Starts `work` on a detached thread; the future tells when it is done. A caller that stops without waiting
// for it calls mark_work_abandoned().
template <class F>
std::shared_future<void> run_detached(F work) {
  auto promise = std::make_shared<std::promise<void>>();
  std::shared_future<void> done = promise->get_future().share();
  std::thread([promise, work = std::move(work)]() mutable {
    try {
      work();
      promise->set_value();
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  }).detach();
  return done;
}

namespace detail {
// Hands `job` to the helper thread (one, kept between calls: a thread per call would cost tens of
// microseconds each, and a run has thousands of tasks).
void run_on_helper(std::function<void()> job);
// The helper is busy with an abandoned job: later jobs go to a new helper.
void abandon_helper();
}  // namespace detail

// Runs `work` on the helper thread while this thread watches for a stop signal. Returns what `work`
// returns (or rethrows what it threw); throws Interrupted as soon as a stop is asked for, leaving `work`
// running (see work_abandoned). `work` must own what it uses, or use what lives until the process ends.
template <class F>
auto run_interruptible(F work) -> decltype(work()) {
  using R = decltype(work());
  throw_if_interrupted();
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> result = promise->get_future();
  detail::run_on_helper([promise, work = std::move(work)]() mutable {
    try {
      if constexpr (std::is_void_v<R>) {
        work();
        promise->set_value();
      } else {
        promise->set_value(work());
      }
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  });
  while (result.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    if (const int sig = stop_signal()) {
      mark_work_abandoned();
      detail::abandon_helper();
      throw Interrupted(sig);
    }
  }
  return result.get();
}

// A stop leaves a detached computation (the square root, the BBP sum) running: the process then ends
// without waiting for it (mark_work_abandoned).
struct AbandonIfUnfinished {
  std::shared_future<void>& f;
  ~AbandonIfUnfinished() {
    if (f.valid() && f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) mark_work_abandoned();
  }
};

}  // namespace pi
