#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "../support/reference.hpp"
#include "../support/run_local.hpp"
#include "series/decimal.hpp"
#include "series/series.hpp"

namespace pi {
namespace {

struct Case {
  std::string series;
  std::uint64_t digits;
};

class FastDigits : public ::testing::TestWithParam<Case> {};

// The certified digits of each fast series equal MPFR's AGM digits, byte for byte.
TEST_P(FastDigits, MatchMpfrAgmDigitsByteForByte) {
  const Case c = GetParam();
  const RunResult r = test::run_local(c.series, c.digits);
  ASSERT_TRUE(r.pi_text.has_value());
  EXPECT_EQ(r.pi_text->size(), c.digits + 2);
  EXPECT_EQ(*r.pi_text, test::mpfr_pi_digits(c.digits));
  EXPECT_EQ(r.correct_digits, c.digits);
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* s : {"chudnovsky", "ramanujan", "machin"}) {
    for (std::uint64_t d : {1u, 2u, 7u, 13u, 99u, 1000u, 12345u, 100003u}) out.push_back({s, d});
  }
  out.push_back({"chudnovsky", 1000000});
  out.push_back({"ramanujan", 1000000});
  out.push_back({"machin", 1000000});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Series, FastDigits, ::testing::ValuesIn(cases()), [](const auto& param_info) {
  return param_info.param.series + "_" + std::to_string(param_info.param.digits);
});

class FastSeriesProperties : public ::testing::TestWithParam<std::string> {};

// combine(combine(x, y), z) == combine(x, combine(y, z)) exactly, as integers.
TEST_P(FastSeriesProperties, CombineIsExactlyAssociative) {
  const auto s = make_series(GetParam());
  const PartialResult x = s->evaluate({0, 37}, false), y = s->evaluate({37, 90}, false),
                      z = s->evaluate({90, 91}, false);
  EXPECT_EQ(s->combine(s->combine(x, y), z), s->combine(x, s->combine(y, z)));
  EXPECT_EQ(s->combine(s->combine(x, y), z), s->evaluate({0, 91}, false));
}

// The proven bound really bounds the distance to pi, and is not vacuous.
TEST_P(FastSeriesProperties, ErrorBoundHoldsAndIsTight) {
  const auto s = make_series(GetParam());
  for (std::uint64_t n : {1u, 2u, 3u, 5u, 8u}) {
    const Estimate e = s->estimate(s->evaluate({0, n}, true), 400).best();
    const double dist = test::distance_to_pi(raw(e.value));
    const double bound = std::pow(10.0, e.error_bound.log10());
    EXPECT_LE(dist, bound) << GetParam() << " n=" << n;
    EXPECT_LT(e.error_bound.log10(), -s->digits_per_term() * static_cast<double>(n) + 8) << n;
  }
}

// A range that ends the job skips P but gives the same estimate.
TEST_P(FastSeriesProperties, SuffixWithoutPGivesSameDigits) {
  const auto s = make_series(GetParam());
  const PartialResult with_p = s->combine(s->evaluate({0, 40}, false), s->evaluate({40, 80}, false));
  const PartialResult without_p = s->combine(s->evaluate({0, 40}, false), s->evaluate({40, 80}, true));
  EXPECT_EQ(with_p.values.at(2), without_p.values.at(2));
  EXPECT_EQ(without_p.values.at(0), 0);
  EXPECT_EQ(without_p, s->evaluate({0, 80}, true));  // combine's merge is the evaluation's, P skipped alike
  const auto a = s->estimate(with_p, 300).best(), b = s->estimate(without_p, 300).best();
  EXPECT_EQ(mpfr_cmp(raw(a.value), raw(b.value)), 0);
}

// GMP's memory functions counting the bytes in use and their peak (one test at a time; restored by
// ~CountedGmpMemory).
struct CountedGmpMemory {
  static inline std::size_t in_use = 0, peak = 0;
  static void note(std::ptrdiff_t change) {
    in_use = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(in_use) + change);
    peak = std::max(peak, in_use);
  }
  static void* allocate(std::size_t n) {
    note(static_cast<std::ptrdiff_t>(n));
    return std::malloc(n);
  }
  static void* reallocate(void* p, std::size_t old_n, std::size_t n) {
    note(static_cast<std::ptrdiff_t>(n) - static_cast<std::ptrdiff_t>(old_n));
    return std::realloc(p, n);
  }
  static void release(void* p, std::size_t n) {
    note(-static_cast<std::ptrdiff_t>(n));
    std::free(p);
  }
  void* (*old_allocate)(std::size_t) = nullptr;
  void* (*old_reallocate)(void*, std::size_t, std::size_t) = nullptr;
  void (*old_release)(void*, std::size_t) = nullptr;
  CountedGmpMemory() {
    mp_get_memory_functions(&old_allocate, &old_reallocate, &old_release);
    mp_set_memory_functions(allocate, reallocate, release);
  }
  ~CountedGmpMemory() { mp_set_memory_functions(old_allocate, old_reallocate, old_release); }
  // The peak over `work`, less what was in use when it began.
  template <class F>
  static std::size_t peak_over(F&& work) {
    const std::size_t before = in_use;
    peak = in_use;
    work();
    return peak - before;
  }
};

std::size_t bytes_of(const BigInt& x) { return mpz_size(raw(x)) * sizeof(mp_limb_t); }

// combine_releasing gives combine's integers. Given the only references it frees each operand once read for
// the last time: with the series' suffix on the right (the root merge), P_l and T_r go after the first
// product, so the merge never holds every operand and two products at once as combine does. Counted in
// GMP's own bytes: the operands' and products' integers and GMP's scratch (these products are GMP's).
TEST(CombineReleasing, SameIntegersAndEachOperandFreedAfterItsLastRead) {
  const auto s = make_series("chudnovsky");
  // Values of about 1 Mbit: products below FLINT's sizes, and quick.
  constexpr std::uint64_t kMid = 20000, kEnd = 40000;
  for (const bool suffix : {true, false}) {
    const PartialResult left = s->evaluate({0, kMid}, false), right = s->evaluate({kMid, kEnd}, suffix);
    const PartialResult expected = s->combine(left, right);
    // Not the only holder: the operands stay as they were.
    {
      auto l = std::make_shared<PartialResult>(left);
      auto r = std::make_shared<PartialResult>(right);
      const std::shared_ptr<const PartialResult> keep_l = l, keep_r = r;
      EXPECT_EQ(s->combine_releasing(l, r), expected);
      EXPECT_EQ(*keep_l, left);
      EXPECT_EQ(*keep_r, right);
    }
    CountedGmpMemory counted;
    std::size_t plain = 0, releasing = 0;
    {
      const PartialResult l = left, r = right;
      plain = CountedGmpMemory::peak_over([&] { EXPECT_EQ(s->combine(l, r), expected); });
    }
    {
      auto l = std::make_shared<PartialResult>(left);
      auto r = std::make_shared<PartialResult>(right);
      std::weak_ptr<const PartialResult> gone_l = l, gone_r = r;
      releasing = CountedGmpMemory::peak_over(
          [&] { EXPECT_EQ(s->combine_releasing(std::move(l), std::move(r)), expected); });
      EXPECT_TRUE(gone_l.expired() && gone_r.expired());
    }
    // Freed before the second product: P_l and T_r (and with P_r, P_l only after P_l P_r).
    const std::size_t freed = bytes_of(right.values[2]) + (suffix ? bytes_of(left.values[0]) : 0);
    std::cout << "[          ] suffix " << suffix << ": peak besides the operands " << plain / 1000
              << " kB in combine, " << releasing / 1000 << " kB releasing, " << freed / 1000
              << " kB freed early\n";
    EXPECT_LE(releasing + freed * 3 / 4, plain) << "suffix " << suffix;
  }
}

// The final steps' constant computed by one process (constant_piece) and adopted by another gives the value
// that process would have computed itself, bit for bit; a piece that is not a constant of that precision
// is refused. Machin has none.
TEST_P(FastSeriesProperties, AConstantComputedElsewhereGivesTheSameValue) {
  const auto here = make_series(GetParam());
  const auto there = make_series(GetParam());
  constexpr std::uint64_t kBits = 20000;
  const PartialResult prefix = here->evaluate({0, 500}, true);
  const std::optional<PartialResult> piece = there->constant_piece(kBits);
  if (!here->has_constant()) {
    EXPECT_FALSE(piece);
    return;
  }
  ASSERT_TRUE(piece);
  ASSERT_EQ(piece->values.size(), 2u);
  EXPECT_LE(mpz_sizeinbase(raw(piece->values[0]), 2), kBits);
  const auto adopting = make_series(GetParam());
  adopting->adopt_constant(kBits, *piece);
  const Estimate own = here->estimate(prefix, kBits).best();
  const Estimate adopted = adopting->estimate(prefix, kBits).best();
  EXPECT_EQ(mpfr_cmp(raw(own.value), raw(adopted.value)), 0);
  EXPECT_EQ(own.error_bound.log10(), adopted.error_bound.log10());
  EXPECT_THROW(make_series(GetParam())->adopt_constant(kBits - 100, *piece), SeriesError);
  PartialResult one = *piece;
  one.values.pop_back();
  EXPECT_THROW(make_series(GetParam())->adopt_constant(kBits, one), SeriesError);
}

INSTANTIATE_TEST_SUITE_P(Series, FastSeriesProperties,
                         ::testing::Values("chudnovsky", "ramanujan", "machin"));

}  // namespace
}  // namespace pi
