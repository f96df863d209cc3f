#include <gtest/gtest.h>

#include "series/decimal.hpp"
#include "series/fingerprint.hpp"

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

// A run of nines across a cut: with full guard bits the tree refuses, and fraction_digits still gives the
// exact decimals (GMP's conversion of the whole product). Long blocks of a real number through the tree match
// MPFR's decimals.
TEST(Decimal, LongBlocksThroughTheTreeMatchMpfr) {
  Real x = make_real(80000);
  // 0.1 less 10^-(2048 + 30): decimals 0 then 2077 nines, then 0s; the tree's first cut (at 2048 with
  // leaves of 1024 in a block of 4096) falls in the nines.
  mpfr_set_ui(raw(x), 1, MPFR_RNDN);
  mpfr_div_ui(raw(x), raw(x), 10, MPFR_RNDN);
  Real tiny = make_real(80000);
  mpfr_set_str(raw(tiny), "1e-2078", 10, MPFR_RNDN);
  mpfr_sub(raw(x), raw(x), raw(tiny), MPFR_RNDN);
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
