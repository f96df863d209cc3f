// checkpoint.h5 with real files: what is written reads back exactly, every kind of damage is detected
// without touching the file, and the rotation keeps the configured number of older checkpoints.
#include "checkpoint/checkpoint.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
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
      auto r = std::make_shared<const PartialResult>(series->evaluate(grid.span(a, b), false));
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
