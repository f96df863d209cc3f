// SIGINT, SIGTERM and SIGUSR1 ask the job to stop at the next safe point (after a checkpoint); the run loops
// poll for it and end the job cleanly with its own exit code, instead of dying in the middle of a write.
#pragma once

#include <stdexcept>
#include <string>

namespace pi {

inline constexpr int kExitInterrupted = 3;

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int signal);
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Installs the handlers (SIGINT, SIGTERM, SIGUSR1); idempotent.
void install_stop_handlers();
// The signal that asked the job to stop, or 0.
int stop_signal();
// Throws Interrupted if a stop was asked for.
void throw_if_interrupted();

}  // namespace pi
