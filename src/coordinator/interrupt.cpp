#include "coordinator/interrupt.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace pi {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;
std::atomic<bool> g_abandoned{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal == 0) g_stop_signal = sig;
}

}  // namespace

Interrupted::Interrupted(int sig) : std::runtime_error("stopped by " + signal_name(sig)), signal_(sig) {}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "signal " + std::to_string(sig);
  }
}

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);   // a closed terminal or ssh session
  sigaction(SIGUSR1, &sa, nullptr);  // Slurm's warning before the walltime (--signal=B:USR1@N)
  std::signal(SIGPIPE, SIG_IGN);     // `pi-job ... 2>&1 | head`: writes fail with EPIPE instead
}

int stop_signal() { return g_stop_signal; }

void throw_if_interrupted() {
  if (const int sig = g_stop_signal) throw Interrupted(sig);
}

namespace detail {
namespace {

// One helper thread's mailbox. The thread holds it too, so that neither outlives the other's use of it.
struct Helper {
  std::mutex mutex;
  std::condition_variable wake;
  std::function<void()> job;
  bool abandoned = false;
};

std::mutex g_helper_mutex;
std::shared_ptr<Helper> g_helper;

void serve(const std::shared_ptr<Helper>& h) {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(h->mutex);
      h->wake.wait(lock, [&h] { return static_cast<bool>(h->job); });
      job = std::move(h->job);
      h->job = nullptr;
    }
    job();
    std::lock_guard lock(h->mutex);
    if (h->abandoned) return;
  }
}

}  // namespace

void run_on_helper(std::function<void()> job) {
  std::shared_ptr<Helper> h;
  {
    std::lock_guard lock(g_helper_mutex);
    if (!g_helper) {
      g_helper = std::make_shared<Helper>();
      // Detached: it waits for jobs until the process ends.
      std::thread([h = g_helper] { serve(h); }).detach();
    }
    h = g_helper;
  }
  {
    std::lock_guard lock(h->mutex);
    h->job = std::move(job);
  }
  h->wake.notify_one();
}

void abandon_helper() {
  std::lock_guard lock(g_helper_mutex);
  if (!g_helper) return;
  {
    std::lock_guard inner(g_helper->mutex);
    g_helper->abandoned = true;
  }
  g_helper.reset();
}

}  // namespace detail

bool work_abandoned() { return g_abandoned.load(); }
void mark_work_abandoned() { g_abandoned.store(true); }

}  // namespace pi
