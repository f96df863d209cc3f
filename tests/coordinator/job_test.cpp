#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <sstream>

#include "../support/reference.hpp"
#include "../support/run_local.hpp"
#include "coordinator/grid.hpp"
#include "coordinator/job.hpp"
#include "series/series.hpp"

namespace pi {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using test::run_local;

TEST(Job, DigitsMatchTheShippedReferenceFile) {
  const std::string reference = read_file(std::string(PI_DATA_DIR) + "/pi-10000.txt");
  const RunResult r = run_local("chudnovsky", 10000, std::nullopt);
  EXPECT_EQ(*r.pi_text + "\n", reference);
}

TEST(Job, ThreadsInOneProcessGiveTheSameResult) {
  const std::string reference = read_file(std::string(PI_DATA_DIR) + "/pi-10000.txt");
  const RunResult machin = run_local("machin", 3000, std::nullopt);
  const RunResult leibniz = run_local("leibniz", std::nullopt, 123456789);
  for (const int threads : {2, 3, 5}) {
    const RunResult r = run_local("chudnovsky", 10000, std::nullopt, threads);
    EXPECT_EQ(*r.pi_text + "\n", reference) << threads << " threads";
    EXPECT_EQ(r.workers.size(), static_cast<std::size_t>(threads));
    EXPECT_EQ(*run_local("machin", 3000, std::nullopt, threads).pi_text, *machin.pi_text) << threads;
    const RunResult l = run_local("leibniz", std::nullopt, 123456789, threads);
    EXPECT_EQ(l.estimate_text, leibniz.estimate_text) << threads;
    EXPECT_EQ(l.estimates.best().error_bound.to_string(), leibniz.estimates.best().error_bound.to_string());
  }
}

// Every merge of one process lent its operands (from the smallest up, instead of from 512 Mbit): they are
// freed as the merges go, and the digits are the shipped ones.
TEST(Job, MergesThatFreeTheirOperandsGiveTheSameDigits) {
  const std::string reference = read_file(std::string(PI_DATA_DIR) + "/pi-10000.txt");
  SchedulerConfig config;
  config.lend_merge_bits = 0;
  const RunResult r = run_local("chudnovsky", 10000, std::nullopt, 1, config);
  EXPECT_EQ(*r.pi_text + "\n", reference);
  EXPECT_GE(r.pieces.merges_lent, 1u);
  const RunResult plain = run_local("chudnovsky", 10000, std::nullopt, 1);
  EXPECT_EQ(plain.pieces.merges_lent, 0u) << "merges of 10,000 digits lent by default";
}

// The top merges' products made as spread products, their phases' parts on the threads (twelve: the root's
// three products in up to four parts each): the digits are the shipped ones, and MPFR's at an odd size.
TEST(Job, SpreadProductsOnThreadsGiveTheSameDigits) {
  const std::string reference = read_file(std::string(PI_DATA_DIR) + "/pi-10000.txt");
  SchedulerConfig config;
  config.split_merge_bits = 1 << 12;
  for (const std::uint32_t parts : {2U, 4U}) {
    config.spread_parts = parts;
    const RunResult r = run_local("chudnovsky", 10000, std::nullopt, 12, config);
    EXPECT_EQ(*r.pi_text + "\n", reference) << parts << " parts";
    EXPECT_GT(r.pieces.spread_parts, 0u) << parts << " parts";
    EXPECT_EQ(r.pieces.spread_parts % 6, 0u) << "three phases of two or four parts a product";
  }
  config.spread_parts = 8;
  const RunResult odd = run_local("chudnovsky", 100003, std::nullopt, 6, config);
  EXPECT_EQ(*odd.pi_text, test::mpfr_pi_digits(100003));
  EXPECT_GT(odd.pieces.spread_parts, 0u);
}

TEST(Job, GridIsAFunctionOfTheParametersAndPartitionsThePrefix) {
  for (const char* name : {"leibniz", "chudnovsky"}) {
    const auto s = make_series(name);
    for (std::uint64_t terms : {1ull, 63ull, 64ull, 65ull, 100000007ull}) {
      // The grid is a function of the parameters: the grid ranges are the same for every run.
      const Grid g(*s, terms);
      std::vector<Range> grid;
      for (std::uint64_t i = 0; i < g.size(); ++i) grid.push_back(g.range(i));
      ASSERT_FALSE(grid.empty());
      EXPECT_EQ(grid.front().begin, 0u);
      EXPECT_EQ(grid.back().end, terms);
      for (std::size_t i = 1; i < grid.size(); ++i) EXPECT_EQ(grid[i].begin, grid[i - 1].end);
      for (const Range& r : grid) EXPECT_GT(r.size(), 0u);
      EXPECT_EQ(g.span(0, g.size()), (Range{0, terms}));
      if (s->kind() == SeriesKind::fast) {
        EXPECT_TRUE(std::has_single_bit(grid.size()));
      }
    }
  }
}

TEST(Job, SlowSeriesCertifiesFewDigitsAndRefusesTooMany) {
  const RunResult r = run_local("leibniz", 8, std::nullopt);
  EXPECT_EQ(r.pi_text, "3.14159265");
  EXPECT_THROW(plan_terms(*make_series("basel"), 25), ConfigError);
}

}  // namespace
}  // namespace pi
