#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "coordinator/serial_run.hpp"
#include "series/series.hpp"

namespace pi {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SerialRun, DigitsMatchTheShippedReferenceFile) {
  const std::string reference = read_file(std::string(PI_DATA_DIR) + "/pi-10000.txt");
  const RunResult r = run_serial(JobSpec{"chudnovsky", 10000, std::nullopt, 0.0}, std::cerr);
  EXPECT_EQ(*r.pi_text + "\n", reference);
}

TEST(SerialRun, GridIsAFunctionOfTheParametersAndPartitionsThePrefix) {
  for (const char* name : {"leibniz", "chudnovsky"}) {
    const auto s = make_series(name);
    for (std::uint64_t terms : {1ull, 63ull, 64ull, 65ull, 100000007ull}) {
      const auto grid = make_grid(*s, terms);
      ASSERT_FALSE(grid.empty());
      EXPECT_EQ(grid.front().begin, 0u);
      EXPECT_EQ(grid.back().end, terms);
      for (std::size_t i = 1; i < grid.size(); ++i) EXPECT_EQ(grid[i].begin, grid[i - 1].end);
      EXPECT_EQ(grid, make_grid(*s, terms));
    }
  }
}

TEST(SerialRun, SlowSeriesCertifiesFewDigitsAndRefusesTooMany) {
  const RunResult r = run_serial(JobSpec{"leibniz", 8, std::nullopt, 0.0}, std::cerr);
  EXPECT_EQ(r.pi_text, "3.14159265");
  EXPECT_THROW(plan_terms(*make_series("basel"), 25), ConfigError);
}

}  // namespace
}  // namespace pi
