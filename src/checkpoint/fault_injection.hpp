// Fault injection for checkpoint writes, for tests only; compiled in and inert unless PI_CHECKPOINT_FAULT is
// set. PI_CHECKPOINT_FAULT="N:SECONDS" stalls the N-th save of a run for SECONDS with half of its pieces
// written, so that a test can kill the job inside a write.
#pragma once

#include <cstddef>
#include <ostream>

namespace pi {

class CheckpointStall {
 public:
  // Reads PI_CHECKPOINT_FAULT; throws std::invalid_argument naming a malformed value.
  static CheckpointStall from_environment();
  // Whether save `save` (1-based), about to write piece `piece` of `pieces`, is to stall here: the chosen
  // save, with half of its pieces written.
  bool due(int save, std::size_t piece, std::size_t pieces) const {
    return save_ != 0 && save == save_ && piece == pieces / 2;
  }
  void stall(int save, std::ostream& log) const;

 private:
  int save_ = 0;  // 0: never
  double seconds_ = 0;
};

}  // namespace pi
