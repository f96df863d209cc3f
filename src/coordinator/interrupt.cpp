#include "coordinator/interrupt.hpp"

#include <csignal>
#include <cstring>

namespace pi {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

}  // namespace

Interrupted::Interrupted(int sig)
    : std::runtime_error(std::string("stopped by ") + (sig == SIGINT    ? "SIGINT"
                                                       : sig == SIGTERM ? "SIGTERM"
                                                       : sig == SIGUSR1 ? "SIGUSR1"
                                                                        : "a signal")),
      signal_(sig) {}

void install_stop_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);  // Slurm's warning before the walltime (--signal=B:USR1@N)
}

int stop_signal() { return g_stop_signal; }

void throw_if_interrupted() {
  if (const int sig = g_stop_signal) throw Interrupted(sig);
}

}  // namespace pi
