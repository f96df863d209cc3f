// checkpoint.h5 with real files: what is written reads back exactly, every kind of damage is detected
// without touching the file, and the rotation keeps the configured number of older checkpoints.
#include "checkpoint/checkpoint.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "coordinator/grid.hpp"

namespace pi {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Why read_checkpoint refused the file, or "" if it read it.
std::string refusal(const fs::path& file) {
  try {
    read_checkpoint(file);
    return "";
  } catch (const CheckpointError& e) {
    return e.what();
  }
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pi-checkpoint-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A state of a chudnovsky job with three finished pieces: big integers of both signs.
  JobState chudnovsky_state(std::uint64_t checkpoints = 1) const {
    const auto series = make_series("chudnovsky");
    JobState s;
    s.series = "chudnovsky";
    s.digits = 50000;
    s.terms = 7054;
    const Grid grid(*series, s.terms);
    s.grid_ranges = grid.size();
    s.grid_step = grid.step();
    for (auto [a, b] : {std::pair<std::uint64_t, std::uint64_t>{0, 16}, {16, 24}, {40, 48}}) {
      auto r = std::make_shared<PartialResult>(series->evaluate(grid.span(a, b), false));
      s.pieces.push_back({a, b, r});
      s.ranges_done += b - a;
    }
    s.retries = 2;
    s.elapsed_s = 12.5;
    s.resumes = 1;
    s.checkpoints = checkpoints;
    return s;
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, WhatIsWrittenReadsBackExactly) {
  std::ostringstream log;
  CheckpointStore store(dir_, 2, log);
  const JobState s = chudnovsky_state();
  store.save(s, "interval");
  EXPECT_NE(log.str().find("checkpoint 1 written (interval): 32/64 ranges"), std::string::npos) << log.str();
  EXPECT_FALSE(fs::exists(dir_ / "checkpoint.h5.tmp"));

  const JobState r = read_checkpoint(checkpoint_path(dir_));
  EXPECT_EQ(r.series, s.series);
  EXPECT_EQ(r.digits, s.digits);
  EXPECT_EQ(r.requested_terms, std::nullopt);
  EXPECT_EQ(r.terms, s.terms);
  EXPECT_EQ(r.grid_ranges, s.grid_ranges);
  EXPECT_EQ(r.ranges_done, s.ranges_done);
  EXPECT_EQ(r.retries, 2u);
  EXPECT_EQ(r.resumes, 1u);
  EXPECT_EQ(r.elapsed_s, 12.5);
  EXPECT_FALSE(r.complete);
  ASSERT_EQ(r.pieces.size(), s.pieces.size());
  bool negative_seen = false;
  for (std::size_t i = 0; i < s.pieces.size(); ++i) {
    EXPECT_EQ(r.pieces[i].first_range, s.pieces[i].first_range);
    EXPECT_EQ(r.pieces[i].end_range, s.pieces[i].end_range);
    EXPECT_EQ(*r.pieces[i].result, *s.pieces[i].result) << "piece " << i;
    for (const BigInt& v : s.pieces[i].result->values) negative_seen |= v < 0;
  }
  EXPECT_TRUE(negative_seen) << "the test should cover negative integers";
}

// Pieces written by their workers to files of their own (write_piece_file), named by the checkpoint with
// their sizes and CRC-32s: read back exactly through the links; a changed, cut or missing file is refused
// naming it; a file no checkpoint names any more is removed, those the older checkpoint names are kept.
TEST_F(CheckpointTest, PieceFilesTheWorkersWroteAreNamedCheckedAndCollected) {
  std::ostringstream log;
  CheckpointStore store(dir_, 2, log);
  const auto stored_state = [&](std::uint64_t number, std::size_t in_files) {
    JobState s = chudnovsky_state(number);
    for (std::size_t i = 0; i < in_files; ++i) {
      FinishedPiece& p = s.pieces[i];
      const StoreRequest request{1,
                                 1,
                                 7,
                                 p.first_range,
                                 p.end_range,
                                 store.piece_directory()->string(),
                                 stored_piece_name(number, 1, p.first_range, p.end_range)};
      p.file = write_piece_file(request, *p.result);
      EXPECT_EQ(p.file->file, request.file);
      EXPECT_EQ(p.file->range, p.result->range);
      EXPECT_EQ(p.file->crc32, file_crc32(dir_ / request.file));
      p.result = nullptr;  // as a worker's piece: the coordinator has only the file's name
    }
    return s;
  };
  const JobState first = stored_state(1, 2);
  store.save(first, "interval");
  EXPECT_NE(log.str().find("naming 2 piece files"), std::string::npos) << log.str();
  {
    // The checkpoint itself holds none of the pieces its files hold: it is smaller than one holding all
    // three by about their files' bytes.
    std::ostringstream quiet;
    fs::create_directories(dir_ / "inline");
    CheckpointStore(dir_ / "inline", 1, quiet).save(chudnovsky_state(), "interval");
    const auto in_files = first.pieces[0].file->bytes + first.pieces[1].file->bytes;
    EXPECT_LT(fs::file_size(checkpoint_path(dir_)) + in_files,
              fs::file_size(checkpoint_path(dir_ / "inline")) + 16384);
    fs::remove_all(dir_ / "inline");
  }
  const JobState reference = chudnovsky_state();
  JobState r = read_checkpoint(checkpoint_path(dir_));
  ASSERT_EQ(r.pieces.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(*r.pieces[i].result, *reference.pieces[i].result) << "piece " << i;
    EXPECT_EQ(r.pieces[i].file.has_value(), i < 2);
  }
  // Leaving the pieces in their files (a resume with workers): checked the same, then named for a worker
  // to read (load_from), which gives the same integers; a file other than the checkpoint says is refused.
  JobState left = read_checkpoint(checkpoint_path(dir_), PieceValues::leave_in_files);
  ASSERT_EQ(left.pieces.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    const FinishedPiece& p = left.pieces[i];
    ASSERT_FALSE(p.result) << "piece " << i;
    EXPECT_EQ(p.load_from, dir_ / p.file->file);
    const Load load{p.load_from.string(), p.file->bytes, p.file->crc32, p.file->range, p.file->values, false};
    EXPECT_EQ(read_piece_file(load), *reference.pieces[i].result) << "piece " << i;
    Load other = load;
    other.crc32 ^= 1;
    EXPECT_THROW(read_piece_file(other), CheckpointError);
    other = load;
    other.range.end += 1;
    EXPECT_THROW(read_piece_file(other), CheckpointError);
    other = load;
    other.path += ".gone";
    EXPECT_THROW(read_piece_file(other), CheckpointError);
  }
  EXPECT_EQ(*left.pieces[2].result, *reference.pieces[2].result) << "a piece inside the checkpoint is read";
  EXPECT_TRUE(left.pieces[2].load_from.empty());
  // A second checkpoint names one of the files again and a new one; the first checkpoint (now
  // checkpoint.1.h5) still names both of its files, so nothing is removed yet.
  JobState second = stored_state(2, 1);
  second.pieces[1].file = first.pieces[1].file;
  second.pieces[1].result = nullptr;
  store.save(second, "interval");
  const auto files = [&] {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "pieces")) out.insert(e.path().filename().string());
    return out;
  };
  EXPECT_EQ(files().size(), 3u);
  // A third names none: the first checkpoint's only file goes with it, the second's stay.
  store.save(chudnovsky_state(3), "interval");
  EXPECT_EQ(files(), (std::set<std::string>{second.pieces[0].file->file.substr(7),
                                            first.pieces[1].file->file.substr(7)}));
  // The second checkpoint (checkpoint.1.h5), damaged three ways.
  const fs::path older = checkpoint_path(dir_, 1);
  EXPECT_EQ(refusal(older), "");
  const fs::path file = dir_ / second.pieces[0].file->file;
  const std::string bytes = slurp(file);
  std::string changed = bytes;
  changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);
  spit(file, changed);
  EXPECT_NE(refusal(older).find("pieces/piece_000000: its file " + file.string() + " has"), std::string::npos)
      << refusal(older);
  EXPECT_NE(refusal(older).find("(the file was changed or cut short)"), std::string::npos);
  spit(file, bytes.substr(0, bytes.size() - 10));
  EXPECT_NE(refusal(older).find("the file was changed or cut short"), std::string::npos) << refusal(older);
  fs::remove(file);
  EXPECT_NE(refusal(older).find("its file " + file.string() + " is missing"), std::string::npos)
      << refusal(older);
}

TEST_F(CheckpointTest, FlippedByteInsideAChunkFailsTheChecksumAndTheFileIsUntouched) {
  std::ostringstream log;
  CheckpointStore(dir_, 1, log).save(chudnovsky_state(), "interval");
  const fs::path file = checkpoint_path(dir_);
  // Where the first chunk of the largest value lies in the file, from HDF5 itself.
  haddr_t addr = 0;
  hsize_t size = 0;
  {
    const h5::Handle f = h5::open_file_readonly(file);
    const h5::Handle d(H5Dopen2(f.get(), "/pieces/piece_000000/value_2", H5P_DEFAULT), H5Dclose, "open");
    const h5::Handle space(H5Dget_space(d.get()), H5Sclose, "space");
    hsize_t offset[1];
    unsigned mask = 0;
    ASSERT_GE(H5Dget_chunk_info(d.get(), space.get(), 0, offset, &mask, &addr, &size), 0);
  }
  ASSERT_GT(size, 100u);
  std::string bytes = slurp(file);
  bytes[addr + size / 2] = static_cast<char>(bytes[addr + size / 2] ^ 0x10);
  spit(file, bytes);
  const std::string what = refusal(file);
  ASSERT_FALSE(what.empty()) << "a flipped byte was not detected";
  EXPECT_NE(what.find(file.string()), std::string::npos) << what;
  EXPECT_NE(what.find("value_2"), std::string::npos) << what;
  EXPECT_NE(what.find("checksum"), std::string::npos) << what;
  EXPECT_EQ(slurp(file), bytes);
}

TEST_F(CheckpointTest, FlippedMetadataByteIsDetected) {
  std::ostringstream log;
  CheckpointStore(dir_, 1, log).save(chudnovsky_state(), "interval");
  const fs::path file = checkpoint_path(dir_);
  const std::string good = slurp(file);
  // Bytes 8..47 are the superblock (version 3, with a checksum); flip one of its address bytes.
  std::string bytes = good;
  bytes[30] = static_cast<char>(bytes[30] ^ 0x01);
  spit(file, bytes);
  const std::string what = refusal(file);
  ASSERT_FALSE(what.empty()) << "a flipped superblock byte was not detected";
  EXPECT_NE(what.find("checksum"), std::string::npos) << what;
  EXPECT_EQ(slurp(file), bytes);
}

TEST_F(CheckpointTest, TruncatedFileIsDetected) {
  std::ostringstream log;
  CheckpointStore(dir_, 1, log).save(chudnovsky_state(), "interval");
  const fs::path file = checkpoint_path(dir_);
  const std::string bytes = slurp(file).substr(0, fs::file_size(file) * 2 / 3);
  spit(file, bytes);
  const std::string what = refusal(file);
  ASSERT_FALSE(what.empty()) << "a truncated file was read";
  EXPECT_NE(what.find("truncated"), std::string::npos) << what;
  EXPECT_EQ(slurp(file), bytes);
}

TEST_F(CheckpointTest, UnknownFormatVersionIsRefusedByName) {
  std::ostringstream log;
  CheckpointStore(dir_, 1, log).save(chudnovsky_state(), "interval");
  const fs::path file = checkpoint_path(dir_);
  {
    const h5::Handle f(H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "open");
    const h5::Handle a(H5Aopen(f.get(), "format_version", H5P_DEFAULT), H5Aclose, "attr");
    const std::uint64_t v = 7;
    ASSERT_GE(H5Awrite(a.get(), H5T_NATIVE_UINT64, &v), 0);
  }
  const std::string what = refusal(file);
  ASSERT_FALSE(what.empty()) << "format version 7 was accepted";
  EXPECT_NE(what.find("unknown format version 7"), std::string::npos) << what;
}

TEST_F(CheckpointTest, RotationKeepsTheConfiguredNumberOfOlderCheckpoints) {
  std::ostringstream log;
  CheckpointStore store(dir_, 3, log);
  for (std::uint64_t n = 1; n <= 5; ++n) store.save(chudnovsky_state(n), "interval");
  EXPECT_EQ(read_checkpoint(checkpoint_path(dir_)).checkpoints, 5u);
  EXPECT_EQ(read_checkpoint(checkpoint_path(dir_, 1)).checkpoints, 4u);
  EXPECT_EQ(read_checkpoint(checkpoint_path(dir_, 2)).checkpoints, 3u);
  EXPECT_FALSE(fs::exists(checkpoint_path(dir_, 3)));
  EXPECT_FALSE(fs::exists(checkpoint_path(dir_, 1).string() + ".tmp"));
}

TEST_F(CheckpointTest, FailedWriteLeavesThePreviousCheckpointAndNoTemporaryFile) {
  std::ostringstream log;
  CheckpointStore store(dir_, 2, log);
  store.save(chudnovsky_state(1), "interval");
  const std::string before = slurp(checkpoint_path(dir_));
  // A directory where the temporary file should go: creating it fails.
  fs::create_directory(dir_ / "checkpoint.h5.tmp");
  EXPECT_THROW(store.save(chudnovsky_state(2), "interval"), CheckpointError);
  fs::remove(dir_ / "checkpoint.h5.tmp");
  EXPECT_EQ(slurp(checkpoint_path(dir_)), before);
  EXPECT_EQ(read_checkpoint(checkpoint_path(dir_)).checkpoints, 1u);
}

}  // namespace
}  // namespace pi
