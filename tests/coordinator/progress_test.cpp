#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "coordinator/progress.hpp"

namespace pi {
namespace {

// Reporters with interval 0 print nothing on their own: the tests read their figures and lines.
TEST(Progress, DuringTheSeriesTheLineHasFractionRateAndEta) {
  std::ostringstream out;
  ProgressReporter p(out, "digits", 8, 1000.0, 2, std::chrono::seconds(0));
  p.update(4, 500.0);
  p.set_workers(2, 1, 0);
  const ProgressReporter::Figures f = p.figures();
  EXPECT_DOUBLE_EQ(f.fraction, 0.5);
  EXPECT_GT(f.rate, 0);
  EXPECT_TRUE(std::isfinite(f.eta_s));
  EXPECT_TRUE(std::isnan(f.series_s));
  const std::string line = p.line();
  EXPECT_NE(line.find("4/8 ranges,  50.0%"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA "), std::string::npos) << line;
  EXPECT_NE(line.find("workers 2/2 alive 1 busy"), std::string::npos) << line;
  p.set_phase("merges");
  EXPECT_NE(p.line().find(", merges"), std::string::npos) << p.line();
  EXPECT_TRUE(std::isfinite(p.figures().eta_s)) << "merges are work of the series: the ETA stays";
  EXPECT_TRUE(out.str().empty()) << "interval 0 prints nothing";
}

TEST(Progress, AfterTheSeriesItsFiguresStandAndThePhaseSaysHowFarItIs) {
  std::ostringstream out;
  ProgressReporter p(out, "digits", 8, 1000.0, 2, std::chrono::seconds(0));
  p.update(8, 1000.0);
  p.tail_phase("final division", 2.5);
  const ProgressReporter::Figures at_start = p.figures();
  ASSERT_TRUE(std::isfinite(at_start.series_s));
  EXPECT_TRUE(std::isnan(at_start.eta_s)) << "no ETA after the series";
  EXPECT_DOUBLE_EQ(at_start.phase_expected_s, 2.5);
  // The rate is the series' own: work over the series' time, whatever time passes after it.
  EXPECT_DOUBLE_EQ(at_start.rate, 1000.0 / at_start.series_s);
  std::string line = p.line();
  EXPECT_EQ(line.rfind("progress: series done in ", 0), 0U) << line;
  EXPECT_NE(line.find("(8/8 ranges, "), std::string::npos) << line;
  EXPECT_NE(line.find(", final division: "), std::string::npos) << line;
  EXPECT_NE(line.find(" of about 2.5s"), std::string::npos) << line;
  EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
  // A count with no total: the final steps' products spread over the workers so far.
  p.set_phase_count(4, 0, "products spread over the workers");
  line = p.line();
  EXPECT_NE(line.find(", final division: 4 products spread over the workers, "), std::string::npos) << line;

  // A later tail phase keeps the series' time, drops the expected time and shows its count.
  p.tail_phase("decimal conversion");
  p.set_phase_count(1, 3, "blocks");
  const ProgressReporter::Figures f = p.figures();
  EXPECT_DOUBLE_EQ(f.series_s, at_start.series_s);
  EXPECT_TRUE(std::isnan(f.phase_expected_s));
  EXPECT_EQ(f.phase_done, 1U);
  EXPECT_EQ(f.phase_total, 3U);
  EXPECT_EQ(f.phase_what, "blocks");
  line = p.line();
  EXPECT_NE(line.find(", decimal conversion: 1/3 blocks, "), std::string::npos) << line;
  EXPECT_EQ(line.find("of about"), std::string::npos) << line;

  // The phases in order, the series first.
  const auto phases = p.phases();
  ASSERT_EQ(phases.size(), 3U);
  EXPECT_EQ(phases[0].name, "");
  EXPECT_EQ(phases[1].name, "final division");
  EXPECT_EQ(phases[2].name, "decimal conversion");
  EXPECT_LE(phases[1].start_s, phases[2].start_s);

  // A new phase starts without the last one's count.
  p.tail_phase("writing");
  EXPECT_EQ(p.figures().phase_total, 0U);
  EXPECT_EQ(p.line().find("blocks"), std::string::npos) << p.line();
}

TEST(Progress, TheSameTailPhaseAgainChangesNothing) {
  std::ostringstream out;
  ProgressReporter p(out, "digits", 8, 1000.0, 2, std::chrono::seconds(0));
  p.tail_phase("final division and square root (on rank 1)", 1.0);
  p.tail_phase("final division and square root (on rank 1)", 1.0);
  EXPECT_EQ(p.phases().size(), 2U);
}

}  // namespace
}  // namespace pi
