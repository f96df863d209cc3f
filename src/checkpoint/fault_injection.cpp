#include "checkpoint/fault_injection.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

namespace pi {

CheckpointStall CheckpointStall::from_environment() {
  CheckpointStall stall;
  if (const char* text = std::getenv("PI_CHECKPOINT_FAULT")) {
    if (std::sscanf(text, "%d:%lf", &stall.save_, &stall.seconds_) != 2) {
      throw std::invalid_argument(std::string("PI_CHECKPOINT_FAULT '") + text + "': expected N:SECONDS");
    }
  }
  return stall;
}

void CheckpointStall::stall(int save, std::ostream& log) const {
  log << "[pi-job] fault injection: inside checkpoint write " << save << ", stalling " << seconds_ << " s"
      << std::endl;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds_));
}

}  // namespace pi
