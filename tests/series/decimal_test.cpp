#include <gtest/gtest.h>

#include <bit>
#include <numeric>

#include "series/decimal.hpp"
#include "series/fingerprint.hpp"
#include "series/series.hpp"
#include "series/spread_product.hpp"

namespace pi {
namespace {

Real real_of(const char* s) {
  Real x = make_real(200);
  mpfr_set_str(raw(x), s, 10, MPFR_RNDN);
  return x;
}

TEST(Decimal, CertifiesDigitsWhenTheEnclosureFitsInOneCell) {
  EXPECT_EQ(certified_digits(real_of("3.14159"), UpperBound(1e-9), 4), "3.1415");
  EXPECT_EQ(truncated_decimal(real_of("0.00125"), 6), "0.001250");
}

TEST(Decimal, RefusesDigitsWhenTheEnclosureStraddlesABoundary) {
  // 0.19999999 +- 1e-7 reaches 0.2: the first decimal could be 1 or 2.
  EXPECT_FALSE(certified_digits(real_of("0.19999999"), UpperBound(1e-7), 1).has_value());
  EXPECT_EQ(certified_digits(real_of("0.19999999"), UpperBound(1e-9), 1), "0.1");
}

TEST(Decimal, CorrectDigitsCountsWhatTheBoundGuarantees) {
  EXPECT_EQ(correct_digits(real_of("3.14159265"), UpperBound(1e-6), 60), 5u);
  EXPECT_EQ(correct_digits(real_of("3.1999999"), UpperBound(1e-6), 60), 0u);
}

// x = f / 2^scale_bits, exactly.
struct Fraction {
  BigInt f;
  std::uint64_t scale_bits;
};
Fraction fraction_of(const Real& x) {
  Fraction out;
  const mpfr_exp_t e = mpfr_get_z_2exp(raw(out.f), raw(x));
  out.scale_bits = static_cast<std::uint64_t>(-e);
  return out;
}

// Blocks cut anywhere, in any sizes, give MPFR's own truncated decimals of the same number, including blocks
// that are all zeros and a first block that carries the integer part.
TEST(Decimal, BlocksOfAFractionJoinIntoItsTruncatedDecimals) {
  Real sqrt2 = make_real(4000);
  mpfr_sqrt_ui(raw(sqrt2), 2, MPFR_RNDN);
  mpfr_mul_ui(raw(sqrt2), raw(sqrt2), 1000, MPFR_RNDN);  // 1414.21...: a longer integer part
  Real sparse = make_real(1100);                         // 0.5 + 2^-1000: 300 zeros after the 5
  mpfr_set_ui_2exp(raw(sparse), 1, -1000, MPFR_RNDN);
  mpfr_add_d(raw(sparse), raw(sparse), 0.5, MPFR_RNDN);
  for (const Real* x : {&sqrt2, &sparse}) {
    const Fraction fr = fraction_of(*x);
    std::string expected = truncated_decimal(*x, 700);
    expected.erase(expected.find('.'), 1);
    for (const std::vector<std::uint64_t>& cuts : {std::vector<std::uint64_t>{0, 700},
                                                   {0, 1, 700},
                                                   {0, 137, 300, 301, 699, 700},
                                                   {0, 100, 200, 700}}) {
      std::string joined;
      for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        const std::string block = fraction_digits(fr.f, fr.scale_bits, cuts[i], cuts[i + 1] - cuts[i]);
        if (cuts[i] > 0) {
          EXPECT_EQ(block.size(), cuts[i + 1] - cuts[i]);
        }
        joined += block;
      }
      EXPECT_EQ(joined, expected);
    }
  }
  const Fraction fr = fraction_of(sparse);
  EXPECT_EQ(fraction_digits(fr.f, fr.scale_bits, 100, 200), std::string(200, '0'));
  EXPECT_EQ(fraction_digits(fr.f, fr.scale_bits, 0, 3), "0500");
}

// The top product keeps 64 bits beyond what a block needs; when the dropped bits could carry into its last
// decimal (x just below 0.1, 0.2, ... at that decimal, or exactly on it), the whole product decides.
TEST(Decimal, BlocksNextToACarryMatchTheExactDecimals) {
  for (const char* base : {"0.1", "0.125", "1414.2"}) {
    for (int side : {-1, 0, 1}) {
      Real x = make_real(3000);
      mpfr_set_str(raw(x), base, 10, MPFR_RNDN);
      if (side != 0) {
        Real nudge = make_real(64);
        mpfr_set_si_2exp(raw(nudge), side, -2900, MPFR_RNDN);
        mpfr_add(raw(x), raw(x), raw(nudge), MPFR_RNDN);
      }
      const Fraction fr = fraction_of(x);
      std::string expected = truncated_decimal(x, 40);
      expected.erase(expected.find('.'), 1);
      const std::size_t int_len = expected.size() - 40;
      for (std::uint64_t cut : {1u, 3u, 7u, 20u}) {
        SCOPED_TRACE(std::string(base) + " side " + std::to_string(side) + " cut " + std::to_string(cut));
        EXPECT_EQ(fraction_digits(fr.f, fr.scale_bits, 0, cut), expected.substr(0, int_len + cut));
        EXPECT_EQ(fraction_digits(fr.f, fr.scale_bits, cut, 40 - cut), expected.substr(int_len + cut));
      }
    }
  }
  // The nudged values really sit next to a carry: just below 0.1 the decimals are 0.0999...
  Real below = make_real(3000);
  mpfr_set_str(raw(below), "0.1", 10, MPFR_RNDD);
  const Fraction fr = fraction_of(below);
  EXPECT_EQ(fraction_digits(fr.f, fr.scale_bits, 0, 6), "0099999");
}

// Random integers of a given size, from a seed.
class RandomBits {
 public:
  explicit RandomBits(unsigned long seed) {
    gmp_randinit_default(state_);
    gmp_randseed_ui(state_, seed);
  }
  RandomBits(const RandomBits&) = delete;
  RandomBits& operator=(const RandomBits&) = delete;
  ~RandomBits() { gmp_randclear(state_); }
  BigInt operator()(std::uint64_t bits) {
    BigInt x;
    mpz_urandomb(raw(x), state_, bits);
    return x;
  }

 private:
  gmp_randstate_t state_;
};

// floor(f 10^count / 2^scale_bits) spelled by GMP with the integer part (if any) and `count` decimals: the
// exact decimals, computed apart from the tree.
std::string exact_decimals(const BigInt& f, std::uint64_t scale_bits, std::uint64_t count,
                           bool integer_part) {
  BigInt n;
  mpz_ui_pow_ui(raw(n), 10, count);
  n *= f;
  mpz_tdiv_q_2exp(raw(n), raw(n), scale_bits);
  if (!integer_part) {
    BigInt ten;
    mpz_ui_pow_ui(raw(ten), 10, count);
    mpz_tdiv_r(raw(n), raw(n), raw(ten));
  }
  std::string s = n.str();
  if (s.size() < count + (integer_part ? 1 : 0)) s.insert(0, count + (integer_part ? 1 : 0) - s.size(), '0');
  return s;
}

// Random fractions of many sizes, tree leaves of several sizes: the tree's text is GMP's exact one, and its
// residues are those of the text.
TEST(Decimal, TreeGivesTheExactDecimals) {
  RandomBits random(20261204);
  const std::vector<std::uint64_t> primes = primes_from_seed(2, 7);
  for (std::uint64_t count : {1u, 2u, 9u, 100u, 1000u, 4097u, 20000u}) {
    for (std::uint64_t leaf : {1u, 7u, 64u, 1024u}) {
      for (bool integer_part : {false, true}) {
        const std::uint64_t scale = bits_for_digits(count) + 64 + (count % 97);
        const BigInt f = random(scale + (integer_part ? 12 : 0));
        SCOPED_TRACE("count " + std::to_string(count) + " leaf " + std::to_string(leaf));
        std::vector<std::uint64_t> residues;
        const auto text = tree_decimals(f, scale, count, integer_part, primes, &residues, {leaf, 64});
        ASSERT_TRUE(text.has_value());  // about 2^-60 of a chance per cut for random digits
        EXPECT_EQ(*text, exact_decimals(f, scale, count, integer_part));
        ASSERT_EQ(residues.size(), primes.size());
        for (std::size_t j = 0; j < primes.size(); ++j)
          EXPECT_EQ(residues[j], decimal_residue(*text, primes[j]));
      }
    }
  }
}

// With almost no guard bits, enclosures often straddle a decimal boundary: the tree then says so (nullopt),
// and never gives a wrong text. A tree that did not check its enclosures would be wrong here.
TEST(Decimal, TreeRefusesWhatItsGuardBitsCannotDecide) {
  RandomBits random(42);
  int refused = 0, exact = 0;
  for (int i = 0; i < 400; ++i) {
    const std::uint64_t count = 50 + static_cast<std::uint64_t>(i % 13),
                        guard = 1 + static_cast<std::uint64_t>(i % 3);
    const std::uint64_t scale = bits_for_digits(count) + guard + static_cast<std::uint64_t>(i % 5);
    const BigInt f = random(scale);
    const auto text = tree_decimals(f, scale, count, false, {}, nullptr, {3, guard});
    if (!text) {
      ++refused;
      continue;
    }
    EXPECT_EQ(*text, exact_decimals(f, scale, count, false)) << "fraction " << f.str() << " / 2^" << scale;
    ++exact;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(exact, 0);
}

// 0.1 less 10^-2078, at 80000 bits: decimals 0 then 2077 nines.
Real nines_to_2078() {
  Real x = make_real(80000);
  mpfr_set_ui(raw(x), 1, MPFR_RNDN);
  mpfr_div_ui(raw(x), raw(x), 10, MPFR_RNDN);
  Real tiny = make_real(80000);
  mpfr_set_str(raw(tiny), "1e-2078", 10, MPFR_RNDN);
  mpfr_sub(raw(x), raw(x), raw(tiny), MPFR_RNDN);
  return x;
}

// A run of nines across a cut: with full guard bits the tree refuses, and fraction_digits still gives the
// exact decimals (GMP's conversion of the whole product). Long blocks of a real number through the tree match
// MPFR's decimals.
TEST(Decimal, LongBlocksThroughTheTreeMatchMpfr) {
  // 0.1 less 10^-(2048 + 30): the tree's first cut (at 2048 with leaves of 1024 in a block of 4096) falls in
  // the nines.
  const Real x = nines_to_2078();
  const Fraction nines = fraction_of(x);
  EXPECT_FALSE(tree_decimals(nines.f, nines.scale_bits, 4096, false).has_value());
  std::string expected = truncated_decimal(x, 4096);
  expected.erase(expected.find('.'), 1);
  EXPECT_EQ(expected.substr(0, 8), "00999999");
  EXPECT_EQ(fraction_digits(nines.f, nines.scale_bits, 0, 4096), expected);

  Real sqrt2 = make_real(80000);
  mpfr_sqrt_ui(raw(sqrt2), 2, MPFR_RNDN);
  const Fraction fr = fraction_of(sqrt2);
  std::string whole = truncated_decimal(sqrt2, 20000);
  whole.erase(whole.find('.'), 1);
  std::string joined;
  for (auto [first, count] : {std::pair<std::uint64_t, std::uint64_t>{0, 5000}, {5000, 7000}, {12000, 8000}})
    joined += fraction_digits(fr.f, fr.scale_bits, first, count);
  EXPECT_EQ(joined, whole);
}

// The tree's top levels apart (split_decimals), then each part alone (part_decimals): random fractions with
// an integer part, cut in 1 to 64 parts, give GMP's exact decimals, each part the text fraction_digits gives
// the same block, with that text's residues. The work does not grow with the parts: P - 1 products, and
// those of each level together about the root's.
TEST(Decimal, SplitPartsGiveTheExactDecimals) {
  RandomBits random(20261206);
  const std::vector<std::uint64_t> primes = primes_from_seed(3, 5);
  for (std::uint64_t count : {1u, 7u, 100u, 4097u, 30001u}) {
    const std::uint64_t scale = bits_for_digits(count) + 64 + (count % 89);
    const BigInt f = random(scale + 11);
    const std::string expected = exact_decimals(f, scale, count, true);
    for (const std::uint64_t parts : std::vector<std::uint64_t>{1, 3, 4, 7, 16, 23, 64}) {
      if (parts > count) continue;
      SCOPED_TRACE("count " + std::to_string(count) + " parts " + std::to_string(parts));
      std::vector<double> operand_bits;  // each product's, in the order made (level by level, depth first)
      const ProductFn counted = [&](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
        operand_bits.push_back(static_cast<double>(mpz_sizeinbase(a, 2) + mpz_sizeinbase(b, 2)));
        mpz_mul(raw(out), a, b);
      };
      const auto split = split_decimals(f, scale, count, parts, counted, primes);
      ASSERT_TRUE(split.has_value());
      ASSERT_EQ(split->size(), parts);
      EXPECT_EQ(operand_bits.size(), parts - 1);
      if (!operand_bits.empty()) {
        const double total = std::accumulate(operand_bits.begin(), operand_bits.end(), 0.0);
        // Each level's nodes together as the root, but for each node's guard bits (64, with a 64-bit margin).
        EXPECT_LE(total, static_cast<double>(std::bit_width(parts - 1)) * operand_bits.front() +
                             static_cast<double>(parts - 1) * 2 * 128);
      }
      std::string joined;
      std::uint64_t next = 0;
      for (const DecimalPart& part : *split) {
        EXPECT_EQ(part.first, next);
        EXPECT_EQ(part.integer.has_value(), part.first == 0);
        next = part.first + part.count;
        std::vector<std::uint64_t> residues;
        const auto text = part_decimals(part, primes, &residues);
        ASSERT_TRUE(text.has_value());
        EXPECT_EQ(*text, fraction_digits(f, scale, part.first, part.count));
        for (std::size_t j = 0; j < primes.size(); ++j)
          EXPECT_EQ(residues.at(j), decimal_residue(*text, primes[j]));
        joined += *text;
      }
      EXPECT_EQ(next, count);
      EXPECT_EQ(joined, expected);
    }
  }
}

// A real number's 100,003 and 1,000,003 decimals cut in 16 parts whose products are spread products (4
// parts each, as workers would make them): MPFR's decimals. At 1e6 the largest powers of 5 are squares
// through the same function.
TEST(Decimal, SplitPartsThroughSpreadProductsMatchMpfr) {
  for (const std::uint64_t decimals : {100003u, 1000003u}) {
    Real sqrt2 = make_real(bits_for_digits(decimals) + 200);
    mpfr_sqrt_ui(raw(sqrt2), 2, MPFR_RNDN);
    const Fraction fr = fraction_of(sqrt2);
    std::string expected = truncated_decimal(sqrt2, decimals);
    expected.erase(expected.find('.'), 1);
    std::size_t spread = 0, squares = 0;
    const ProductFn spread_product = [&](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
      BigInt wa, wb;
      mpz_set(raw(wa), a);
      mpz_set(raw(wb), b);
      multiply_spread(out, wa, wb, 4);
      ++(a == b ? squares : spread);
    };
    const auto split =
        split_decimals(fr.f, fr.scale_bits, decimals, 16, spread_product, primes_from_seed(2, 9));
    ASSERT_TRUE(split.has_value());
    EXPECT_EQ(spread, 15u);
    if (decimals > 1000000)
      EXPECT_GE(squares, 1u);
    else
      EXPECT_EQ(squares, 0u);
    std::string joined;
    for (const DecimalPart& part : *split) {
      const auto text = part_decimals(part);
      ASSERT_TRUE(text.has_value());
      joined += *text;
    }
    EXPECT_EQ(joined, expected) << decimals;
  }
}

// With almost no guard bits the enclosures often straddle: the split or a part then says so, and the text
// is never wrong (as TreeRefusesWhatItsGuardBitsCannotDecide, through the parts).
TEST(Decimal, SplitPartsRefuseWhatTheirGuardBitsCannotDecide) {
  RandomBits random(43);
  const ProductFn plain = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) { mpz_mul(raw(out), a, b); };
  int refused = 0, exact = 0;
  for (int i = 0; i < 400; ++i) {
    const std::uint64_t count = 50 + static_cast<std::uint64_t>(i % 13),
                        guard = 1 + static_cast<std::uint64_t>(i % 3);
    const std::uint64_t scale = bits_for_digits(count) + guard + static_cast<std::uint64_t>(i % 5);
    const BigInt f = random(scale);
    const TreeOptions options{3, guard};
    const auto split = split_decimals(f, scale, count, 8, plain, {}, options);
    std::string joined;
    bool decided = split.has_value();
    for (std::size_t k = 0; decided && k < split->size(); ++k) {
      const auto text = part_decimals((*split)[k], {}, nullptr, options);
      decided = text.has_value();
      if (decided) joined += *text;
    }
    if (!decided) {
      ++refused;
      continue;
    }
    EXPECT_EQ(joined, exact_decimals(f, scale, count, true)) << "fraction " << f.str() << " / 2^" << scale;
    ++exact;
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(exact, 0);
}

// A cut before a run of nines that reaches past the part (0.1 less 10^-2078: decimals 0 then 2077 nines):
// the bottom part's enclosure reaches 1, and the split says so (nullopt) rather than give it a wrong one. A
// damaged product (one unit off) is caught by its residues, and parts that cannot be are refused.
TEST(Decimal, SplitRefusesAStraddleAndADamagedProduct) {
  const Real x = nines_to_2078();
  const Fraction nines = fraction_of(x);
  const ProductFn plain = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) { mpz_mul(raw(out), a, b); };
  for (std::uint64_t count : {200u, 1000u, 2000u})  // cuts at 100, 500, 1000: nines to past each part's end
    EXPECT_FALSE(split_decimals(nines.f, nines.scale_bits, count, 2, plain).has_value()) << count;

  RandomBits random(7);
  const std::uint64_t scale = bits_for_digits(5000) + 64;
  const BigInt f = random(scale);
  const ProductFn damaged = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    mpz_mul(raw(out), a, b);
    mpz_add_ui(raw(out), raw(out), 1);
  };
  EXPECT_THROW((void)split_decimals(f, scale, 5000, 4, damaged, primes_from_seed(1, 3)), SeriesError);
  const ProductFn damaged_square = [](BigInt& out, mpz_srcptr a, mpz_srcptr b) {
    mpz_mul(raw(out), a, b);
    if (a == b) mpz_add_ui(raw(out), raw(out), 1);
  };
  const std::uint64_t big_scale = bits_for_digits(1000000) + 64;
  const BigInt big = random(big_scale);
  EXPECT_THROW((void)split_decimals(big, big_scale, 1000000, 2, damaged_square, primes_from_seed(1, 3)),
               SeriesError);
  EXPECT_THROW((void)split_decimals(f, scale, 5000, 0, plain), SeriesError);  // no part
  EXPECT_THROW((void)split_decimals(f, scale, 2, 4, plain), SeriesError);     // more parts than decimals
}

// The guard decimals decide the certification: a run of 9s or 0s there, or an error bound too big for them,
// leaves it to certified_digits.
TEST(Decimal, GuardDecimalsCertifyOnlyWhatTheBoundAllows) {
  const std::string head = "314159";  // integer part 3, five decimals
  const auto text = [&](const std::string& guard) { return head + guard; };
  const std::string mid = "123456789012345678";
  ASSERT_EQ(mid.size(), kGuardDecimals);
  EXPECT_EQ(certified_from_blocks(text(mid), 5, UpperBound(1e-30)), "3.14159");
  EXPECT_EQ(certified_from_blocks(text(mid), 5, UpperBound()), "3.14159");
  EXPECT_FALSE(certified_from_blocks(text(std::string(18, '9')), 5, UpperBound(1e-30)));
  EXPECT_FALSE(certified_from_blocks(text(std::string(18, '0')), 5, UpperBound(1e-30)));
  EXPECT_EQ(certified_from_blocks(text("000000000000000001"), 5, UpperBound(1e-30)), "3.14159");
  // E 10^g = 1e-7 * 1e5 * 1e18 = 1e16: more than the guard decimals can judge.
  EXPECT_FALSE(certified_from_blocks(text(mid), 5, UpperBound(1e-7)));
  // E 10^g = 1e-12 * 1e5 * 1e18 = 1e11: G = 1.2e17 leaves room on both sides; G = 5e10 does not.
  EXPECT_EQ(certified_from_blocks(text(mid), 5, UpperBound(1e-12)), "3.14159");
  EXPECT_FALSE(certified_from_blocks(text("000000050000000000"), 5, UpperBound(1e-12)));
  EXPECT_FALSE(certified_from_blocks(text("999999950000000000"), 5, UpperBound(1e-12)));
  EXPECT_FALSE(certified_from_blocks("3141", 5, UpperBound(1e-30)));  // too short
}

}  // namespace
}  // namespace pi
