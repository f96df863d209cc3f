#include "app/command_line.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coordinator/job.hpp"

namespace pi {
namespace {

constexpr std::uint64_t kMax = 100'000'000'000;

TEST(ParseCount, AcceptsTheWaysPeopleWriteCounts) {
  for (const char* text : {"1000000", "1_000_000", "1,000,000", "1e6", "1E6", "1e+6", "1.0e6", "0.001e9",
                           "1M", "1m", "1000k", "1000K", "0.001G", "1000000.000", "10e5", "1000000e0"}) {
    EXPECT_EQ(parse_count("--digits", text, kMax), 1'000'000u) << text;
  }
  EXPECT_EQ(parse_count("--digits", "2.5e3", kMax), 2500u);
  EXPECT_EQ(parse_count("--digits", "1T", 1'000'000'000'000), 1'000'000'000'000u);
  EXPECT_EQ(parse_count("--digits", "100G", kMax), kMax);  // the largest accepted
  EXPECT_EQ(parse_count("--digits", "1", kMax), 1u);
  EXPECT_EQ(parse_count("--terms", "4503599627370496", std::uint64_t{1} << 52), std::uint64_t{1} << 52);
}

TEST(ParseCount, RefusesWhatIsNoWholeNumberInRange) {
  for (const char* text : {"",
                           "0",
                           "0e9",
                           "-5",
                           "+5",
                           "1.5",
                           "1e-1",
                           "2.5M0",
                           "1e",
                           "1e+",
                           "e6",
                           "1x",
                           "1MB",
                           "1__000",
                           "_1000",
                           "1000_",
                           ",1",
                           "1,",
                           "1.0.0",
                           "1e6.5",
                           " 1",
                           "1 ",
                           "ten",
                           "100000000001",
                           "1e12",
                           "101G",
                           "18446744073709551616",
                           "1e999999999999"}) {
    EXPECT_THROW(parse_count("--digits", text, kMax), ConfigError) << "'" << text << "'";
  }
}

TEST(ParseCount, TheMessageNamesTheFlagTheTextAndTheForms) {
  try {
    parse_count("--digits", "1.5", kMax);
    FAIL() << "1.5 was accepted";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--digits '1.5'"), std::string::npos) << m;
    EXPECT_NE(m.find("not a whole number"), std::string::npos) << m;
    EXPECT_NE(m.find("1 to 100000000000"), std::string::npos) << m;
    EXPECT_NE(m.find("1e6"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("--digit", "--digits"), 1u);
  EXPECT_EQ(edit_distance("--digitss", "--digits"), 1u);
  EXPECT_EQ(edit_distance("--digjts", "--digits"), 1u);
  EXPECT_EQ(edit_distance("--dgiits", "--digits"), 1u);  // neighbours swapped
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(Nearest, SuggestsOnlyWhatIsClose) {
  const std::vector<std::string> options = {"--digits", "--terms", "--series",
                                            "--serve",  "--out",   "--resume"};
  EXPECT_EQ(nearest("--digit", options), "--digits");
  EXPECT_EQ(nearest("--seires", options), "--series");
  EXPECT_EQ(nearest("--serv", options), "--serve");
  EXPECT_EQ(nearest("--term", options), "--terms");
  EXPECT_EQ(nearest("--colour", options), "");
  EXPECT_EQ(nearest("--x", options), "");
  EXPECT_EQ(nearest("chudnovksy", {"leibniz", "chudnovsky", "machin"}), "chudnovsky");
}

TEST(UnknownOption, NamesTheFirstUnknownOptionAndItsNearestNeighbour) {
  CLI::App app{"test", "prog"};
  std::string digits, out;
  app.add_option("--digits", digits);
  app.add_option("--out", out);
  EXPECT_EQ(unknown_option(app, {"--digits", "5", "--out=x"}, "prog"), "");
  EXPECT_EQ(unknown_option(app, {"--digits", "-5"}, "prog"), "");  // a negative value is no option
  EXPECT_EQ(unknown_option(app, {"--digit=5"}, "prog"),
            "unknown option '--digit': did you mean --digits? (see prog --help)");
  EXPECT_EQ(unknown_option(app, {"--colour", "blue"}, "prog"), "unknown option '--colour' (see prog --help)");
  EXPECT_NE(unknown_option(app, {"-d", "5"}, "prog").find("options are long"), std::string::npos);
}

}  // namespace
}  // namespace pi
