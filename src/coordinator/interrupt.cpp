#include "coordinator/interrupt.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>

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

bool work_abandoned() { return g_abandoned.load(); }
void mark_work_abandoned() { g_abandoned.store(true); }

}  // namespace pi
