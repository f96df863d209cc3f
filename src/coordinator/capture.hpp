// Checkpoints without gathering (pieces on workers; SCR's idea of each node writing its own data): for a
// checkpoint, every worker writes the pieces it holds to files of their own, and rank 0 then writes only
// the checkpoint that names those files with their sizes and CRC-32s, atomically, last. A piece still held
// at the next checkpoint is named again, not written again.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/task.hpp"

namespace pi {

// A piece in a file of its own: `file` is relative to the checkpoint directory (pieces/...); the piece's
// terms and number of values, and the file's size and CRC-32.
struct StoredPiece {
  std::string file;
  Range range;
  std::uint64_t values = 0;
  std::uint64_t bytes = 0;
  std::uint32_t crc32 = 0;
};

// A finished, exact partial result of grid ranges [first_range, end_range): what a checkpoint holds and a
// resumed job starts from. Its integers (`result`), or, written by its worker, the file that holds them.
// A resume with workers may leave a piece's integers in its file (read_checkpoint, checked and let go):
// then `result` is null and `load_from` is the file's path, for a worker to read (Load).
struct FinishedPiece {
  std::uint64_t first_range = 0;
  std::uint64_t end_range = 0;
  std::shared_ptr<const PartialResult> result;
  std::optional<StoredPiece> file = std::nullopt;
  std::filesystem::path load_from = {};
};

// Rank 0 asks worker `owner` to write the piece it holds under `key` (grid ranges [first_range, end_range))
// to dir/file.
struct StoreRequest {
  std::uint64_t capture = 0;  // which capture asks (answers to one given up are ignored)
  int owner = -1;
  std::uint64_t key = 0;
  std::uint64_t first_range = 0;
  std::uint64_t end_range = 0;
  std::string dir;
  std::string file;
};
// The worker's answer: the file it wrote, or why not (`held` false: it does not hold the piece).
struct StoreAnswer {
  std::uint64_t capture = 0;
  std::uint64_t key = 0;
  bool held = true;
  std::optional<StoredPiece> stored;
  std::string error;
};
// How a worker writes a piece (src/checkpoint: write_piece_file); throws on failure.
using PieceWriter = std::function<StoredPiece(const StoreRequest&, const PartialResult&)>;
// How a worker reads a piece of a resumed job from its file (src/checkpoint: read_piece_file); throws when
// the file is not what the task says (its size, its CRC-32, its terms) or cannot be read.
using PieceReader = std::function<PartialResult(const Load&)>;

// One checkpoint's pieces while their owners write them.
class PieceCapture {
 public:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::uint64_t first_range = 0;
    std::uint64_t end_range = 0;
    PieceRef ref;
  };
  struct Outcome {
    std::vector<FinishedPiece> pieces;  // in grid order
    std::string error;                  // not empty: this checkpoint is not written, the last one stays
    std::uint64_t written = 0;          // files written for it
    std::uint64_t left_out = 0;         // pieces lost with their worker before they were written
  };
  // Time allowed for the writes: a base, and the bytes at a slow disk's pace.
  static constexpr double kBaseSeconds = 60;
  static constexpr double kBytesPerSecond = 20e6;

  // Begins checkpoint `number` (the number it will have) of `pieces`, the job's finished pieces at this
  // moment (disjoint). Those here stay as they are, those written for an earlier checkpoint are named
  // again, the others are asked of their owners (take_requests). A capture still open is given up.
  void begin(std::vector<Held> pieces, std::uint64_t number, const std::filesystem::path& dir,
             Clock::time_point now);
  bool active() const { return active_; }
  // Open, no write failed, and not every piece answered (nor the deadline passed: expire).
  bool waiting() const;
  void expire(Clock::time_point now);
  std::vector<StoreRequest> take_requests() { return std::exchange(requests_, {}); }
  // Whether a piece of worker `w` is being written for it.
  bool awaits(int w) const;
  void answer(int w, const StoreAnswer& answer);
  // Pieces for which `lost` holds are gone with their worker: left out of this checkpoint if not yet
  // written, and no later checkpoint names their files.
  void lose_where(const std::function<bool(const PieceRef&)>& lost);
  void forget(int w, std::uint64_t key);  // a piece its worker let go
  // Once nothing is waiting: the outcome, and the capture closes (nullopt while waiting or when none is
  // open).
  std::optional<Outcome> take(Clock::time_point now);
  // The file a piece held by worker `w` under `key` was written to, if it was.
  const StoredPiece* stored(int w, std::uint64_t key) const;

 private:
  struct Entry {
    Held piece;
    std::optional<StoredPiece> file;
    bool asked = false;    // a request is out and unanswered
    bool dropped = false;  // lost, or not held: left out
  };
  bool active_ = false;
  std::uint64_t capture_ = 0;  // captures begun
  Clock::time_point deadline_;
  std::vector<Entry> entries_;
  std::vector<StoreRequest> requests_;
  std::string error_;
  bool late_ = false;  // the deadline passed
  std::uint64_t written_ = 0;
  std::map<std::pair<int, std::uint64_t>, StoredPiece> stored_;  // files written, by (worker, key)
};

// The name of a piece's file for checkpoint `number`, the run's capture `capture`:
// pieces/cNNNNNN-CAPTURE-FIRST-END.h5.
std::string stored_piece_name(std::uint64_t number, std::uint64_t capture, std::uint64_t first_range,
                              std::uint64_t end_range);
// The checkpoint number in such a name (the file's, without pieces/); nullopt for any other name.
std::optional<std::uint64_t> stored_piece_number(const std::string& name);

}  // namespace pi
