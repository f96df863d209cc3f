#include "series/bbp.hpp"

#include <gtest/gtest.h>

#include "series/bigint.hpp"

namespace pi {
namespace {

// frac(16^position pi) from MPFR's pi (AGM), independent of BBP, as 128 bits.
Uint128 mpfr_hex_fraction(std::uint64_t position) {
  Real x = make_real(4 * position + 256);
  mpfr_const_pi(raw(x), MPFR_RNDN);
  mpfr_mul_2ui(raw(x), raw(x), 4 * position + 128, MPFR_RNDN);
  BigInt z;
  mpfr_get_z(raw(z), raw(x), MPFR_RNDD);
  mpz_tdiv_r_2exp(raw(z), raw(z), 128);
  BigInt high;
  mpz_tdiv_q_2exp(raw(high), raw(z), 64);
  mpz_tdiv_r_2exp(raw(z), raw(z), 64);
  return (static_cast<Uint128>(mpz_get_ui(raw(high))) << 64) | mpz_get_ui(raw(z));
}

Uint128 distance(Uint128 a, Uint128 b) {
  const Uint128 d = a - b;
  return std::min(d, Uint128{0} - d);
}

TEST(Bbp, FirstDigitsOfPi) { EXPECT_EQ(hex_digits(pi_hex_fraction(0).value, 16), "243F6A8885A308D3"); }

// Within its stated error of MPFR's AGM pi at every position tried, up to 10^5 hex digits in.
TEST(Bbp, AgreesWithMpfrWithinItsBound) {
  for (std::uint64_t position : {1u, 2u, 7u, 15u, 16u, 100u, 1000u, 4097u, 33333u, 100000u}) {
    const HexFraction f = pi_hex_fraction(position, position % 2 == 0 ? 2 : 1);
    EXPECT_LE(distance(f.value, mpfr_hex_fraction(position)), f.error + 1) << "position " << position;
    EXPECT_EQ(hex_digits(f.value, 20), hex_digits(mpfr_hex_fraction(position), 20))
        << "position " << position;
  }
}

// The published table (Bailey, Borwein and Plouffe, "On the rapid computation of various polylogarithmic
// constants", Math. Comp. 66, 1997, table 1): 14 hex digits from position 10^6 + 1, 10^7 + 1, ... The
// positions up to 10^8 run here (about 4 s on two cores); the others take long (positions past 2.7 10^8
// leave the vector lanes): PI_BBP_TABLE_MAX=10000000000 tests/series_test --gtest_filter=Bbp.PublishedTable
// runs them all.
TEST(Bbp, PublishedTable) {
  struct Row {
    std::uint64_t position;
    const char* digits;
  };
  std::uint64_t max = 100000000;
  if (const char* env = std::getenv("PI_BBP_TABLE_MAX")) max = std::stoull(env);
  for (const Row row :
       {Row{1000000, "26C65E52CB4593"}, Row{10000000, "17AF5863EFED8D"}, Row{100000000, "ECB840E21926EC"},
        Row{1000000000, "85895585A0428B"}, Row{10000000000, "921C73C6838FB2"}}) {
    if (row.position > max) continue;
    // The table gives the digits from position n on (1-based): frac(16^(n - 1) pi).
    const HexFraction f = pi_hex_fraction(row.position - 1, 2);
    EXPECT_EQ(hex_digits(f.value, 14), row.digits) << "position " << row.position;
    // Every digit compared is settled: the error is far below the last one.
    EXPECT_LT(f.error, Uint128{1} << 64);
    std::printf("position %llu: %s\n", static_cast<unsigned long long>(row.position),
                hex_digits(f.value, 14).c_str());
  }
}

}  // namespace
}  // namespace pi
