// checkpoint.h5 and result.h5 (schema: docs/checkpoint.md). A checkpoint is written to a temporary file,
// closed, fsynced and renamed over the last one, after that one has been kept as checkpoint.1.h5, so a
// job killed at any moment leaves a readable checkpoint. Reading validates everything a resume relies on:
// checksums, the format version, the parameters and the grid.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "checkpoint/fault_injection.hpp"
#include "checkpoint/hdf5.hpp"
#include "coordinator/job.hpp"

namespace pi {

inline constexpr std::uint64_t kCheckpointFormatVersion = 1;

// DIR/checkpoint.h5 for generation 0, DIR/checkpoint.K.h5 for the K-th older one.
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, int generation = 0);

// Writes a job's checkpoints into a directory, keeping `keep` of them (the newest and keep-1 older ones).
class CheckpointStore final : public StateSink {
 public:
  CheckpointStore(std::filesystem::path dir, int keep, std::ostream& log);
  // Throws CheckpointError; then the temporary file is gone and the checkpoints before are untouched.
  void save(const JobState& state, const std::string& reason) override;
  // DIR (absolute): workers write their pieces to DIR/pieces/ (write_piece_file).
  std::optional<std::filesystem::path> piece_directory() const override;
  // DIR/pieces/cNNNNNN-0-FIRST-END.h5, as a worker writes its pieces (write_piece_file).
  std::optional<StoredPiece> store_piece(std::uint64_t number, std::uint64_t first_range,
                                         std::uint64_t end_range, const PartialResult& piece) override;

 private:
  void write(const std::filesystem::path& file, const JobState& state, const std::string& reason);
  void rotate();
  // Removes the piece files of checkpoints up to `number` that no checkpoint in the directory names (a
  // later one's may be being written).
  void collect_piece_files(std::uint64_t number);

  std::filesystem::path dir_;
  int keep_;
  std::ostream& log_;
  int saves_ = 0;
  CheckpointStall stall_;  // fault injection (tests only)
};

// A worker's side of a checkpoint without gathering (PieceCapture): writes `piece` to request.dir /
// request.file atomically, as a checkpoint's piece group (/piece, with the attributes and datasets of
// /pieces/piece_NNNNNN), and returns what the checkpoint names it by. Throws CheckpointError.
StoredPiece write_piece_file(const StoreRequest& request, const PartialResult& piece);
// zlib's CRC-32 of a file's bytes (Python: zlib.crc32(open(f, "rb").read())).
std::uint32_t file_crc32(const std::filesystem::path& path);

// Reads a checkpoint and checks all of it; throws CheckpointError naming the file and what is wrong. With
// `values_in_files` LeaveInFiles, a piece in a file of its own is read and checked like the others, one at
// a time, and then let go: its FinishedPiece names the file (load_from) for a worker to read it again
// (Load), so that resuming a big job does not gather its state on rank 0.
enum class PieceValues : std::uint8_t { keep, leave_in_files };
JobState read_checkpoint(const std::filesystem::path& file, PieceValues values_in_files = PieceValues::keep);

// A worker's side of Load: the piece in load.path, after its size and CRC-32 are checked against the
// task's and its terms and number of values too. Throws CheckpointError naming the file and what is wrong.
PartialResult read_piece_file(const Load& load);

// DIR/result.h5: the final result and its metadata, written atomically; `summary` is summary.json's text,
// kept so that a deleted summary.json or pi.txt can be written again with the same bytes.
void write_result_file(const std::filesystem::path& dir, const RunResult& result, const std::string& summary);

// What result.h5 keeps of the outputs: pi.txt's text (digits mode) and summary.json's. nullopt when the file
// is missing or fails validation.
struct KeptOutputs {
  std::optional<std::string> pi_txt;
  std::string summary_json;
};
std::optional<KeptOutputs> read_kept_outputs(const std::filesystem::path& dir);

}  // namespace pi
