#include "coordinator/checkpointing.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

namespace pi {
namespace {

// Records that a state was written, and how many pieces it named.
class CountingSink : public StateSink {
 public:
  void save(const JobState& state, const std::string& /*reason*/) override {
    pieces = state.pieces.size();
    saved = true;
  }
  std::atomic<bool> saved = false;
  std::atomic<std::size_t> pieces = 0;
};

TEST(Checkpointing, AStateWrittenInTheBackgroundIsLetGoOnceWritten) {
  // The pieces of a checkpoint are the job's biggest integers: once written they must not stay alive until
  // the next checkpoint (at 1e8 digits they were 208 MB held through the final division).
  CountingSink sink;
  std::ostringstream log;
  Checkpointing checkpoints(&sink, nullptr, 3600, log);
  auto piece = std::make_shared<PartialResult>(PartialResult{Range{0, 10}, moved_values(BigInt(7))});
  const std::weak_ptr<const PartialResult> watch = piece;
  JobState state;
  state.pieces.push_back(FinishedPiece{0, 1, std::move(piece)});
  checkpoints.save_in_background(std::move(state), "interval");

  // Waits for the writer to end (a bounded wait for an event, not a timing check): wait() is not called,
  // since waiting for the future would let go of the state whatever the writer did.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!watch.expired() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(sink.saved);
  EXPECT_EQ(sink.pieces, 1u);
  EXPECT_TRUE(watch.expired()) << "the written state still holds its piece";
  checkpoints.wait();
}

}  // namespace
}  // namespace pi
