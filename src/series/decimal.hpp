// Decimal digits of an enclosure: the digits every number within the error bound shares, truncated, never
// rounded. Long blocks go through a scaled remainder tree (tree_decimals), short ones and the rare block the
// tree cannot decide through GMP's subquadratic integer-to-string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "series/bigint.hpp"
#include "series/bound.hpp"

namespace pi {

// "3." and the first `digits` decimals of x, if every number within err of x has the same ones; else nullopt.
std::optional<std::string> certified_digits(const Real& x, const UpperBound& err, std::uint64_t digits);

// The most decimals after the point (at most `cap`) that every number within err of x shares.
std::uint64_t correct_digits(const Real& x, const UpperBound& err, std::uint64_t cap);

// x truncated to `digits` decimals after the point, without any claim of correctness.
std::string truncated_decimal(const Real& x, std::uint64_t digits);
// The first `decimals` decimals of such a text (all of it when it has fewer, or no point).
std::string leading_decimals(const std::string& text, std::uint64_t decimals);

// Block conversion, for cutting one long conversion into pieces that run apart and in any order. x is the
// exact binary fraction f / 2^scale_bits (f >= 0). The decimals [first, first + count) after the point of x,
// exactly (truncated, zero-padded to `count`); the block with first == 0 is preceded by x's integer part.
// Each block needs nothing from the others: block k is floor(frac(x 10^first) 10^count). The first block
// costs one multiplication of its own size and its conversion; a later one a multiplication of the whole
// fraction's low bits by 5^first more (frac(x 10^first) is (f 5^first mod 2^(scale_bits - first)) /
// 2^(scale_bits - first)).
// `residues`, when given, receives the residues modulo each of `primes` of the integer the block's text
// spells (the check that its conversion to decimal is right: see decimal_residue).
std::string fraction_digits(const BigInt& f, std::uint64_t scale_bits, std::uint64_t first,
                            std::uint64_t count, const std::vector<std::uint64_t>& primes = {},
                            std::vector<std::uint64_t>* residues = nullptr);

// Decimal conversion by a scaled remainder tree: the decimals of y = f / 2^scale_bits in [0, 1) (with
// `with_integer_part`, f / 2^scale_bits's integer part first, then the decimals of its fraction) by
// multiplications alone. A node of m decimals splits into its top hi decimals (those of y itself, cut to
// what they need) and its bottom lo (those of frac(y 10^hi), one product y 5^hi away); leaves of at most
// leaf_digits go through GMP. Every value below the root is an enclosure of the exact one (truncations
// counted, guard_bits beyond what the decimals need), so the text is exact or nullopt: nullopt when an
// enclosure straddles a decimal boundary (about 2^-guard_bits of a chance at each cut for digits like a
// random number's), and the caller converts otherwise. Each product is checked modulo `primes`; `residues`
// receives those of the integer the text spells, from the leaves' integers.
struct TreeOptions {
  std::uint64_t leaf_digits = 1024;
  std::uint64_t guard_bits = 64;
};
std::optional<std::string> tree_decimals(const BigInt& f, std::uint64_t scale_bits, std::uint64_t count,
                                         bool with_integer_part,
                                         const std::vector<std::uint64_t>& primes = {},
                                         std::vector<std::uint64_t>* residues = nullptr,
                                         TreeOptions options = {});
// The tree's top levels apart from its leaves, so that a conversion's blocks need no product of the whole
// fraction's size (the serial-tail issue): split_decimals cuts the decimals [0, count) of x = f /
// 2^scale_bits into `parts` consecutive parts (from 1 to count) by the tree's top ceil(log2(parts)) levels
// (a node of k parts gives floor(k/2) of them to its top decimals, with their share of the decimals, half
// of them when k is even), each node's product y 5^hi through `product` (which may spread it over workers)
// and checked modulo `primes`. Part i encloses frac(x 10^first): [y, y + err] / 2^scale_bits, cut to what its
// decimals and the guard bits need; the first part is x's fraction itself, exact, with x's integer part. Each
// part is then converted alone (part_decimals). nullopt when an enclosure on the way straddles a decimal
// boundary; the caller converts otherwise. The nodes' products are one of the whole fraction's size by
// 5^(count/2), then two of half of it, and so on: the total work does not grow with the number of parts.
struct DecimalPart {
  BigInt y, err;
  std::uint64_t scale_bits = 0;
  std::uint64_t first = 0, count = 0;  // the decimals [first, first + count) of x
  std::optional<BigInt> integer;       // the first part only: x's integer part, written before its decimals
};
std::optional<std::vector<DecimalPart>> split_decimals(const BigInt& f, std::uint64_t scale_bits,
                                                       std::uint64_t count, std::uint64_t parts,
                                                       const ProductFn& product,
                                                       const std::vector<std::uint64_t>& primes = {},
                                                       TreeOptions options = {});
// A part's text as fraction_digits gives the same block (the first part: the integer part, then its
// decimals), exact, or nullopt when an enclosure straddles a decimal boundary; `residues` as tree_decimals'.
std::optional<std::string> part_decimals(const DecimalPart& part,
                                         const std::vector<std::uint64_t>& primes = {},
                                         std::vector<std::uint64_t>* residues = nullptr,
                                         TreeOptions options = {});
// Whether a fraction of scale_bits bits holds what the tree needs for `count` decimals (their bits and the
// guard bits); tree_decimals refuses (SeriesError) one that does not.
bool tree_takes(std::uint64_t scale_bits, std::uint64_t count, TreeOptions options = {});
// fraction_digits goes through the tree from this many decimals on.
inline constexpr std::uint64_t kTreeMinDigits = 4096;

// Digits of x = f / 2^scale_bits from blocks: `text` is x's integer part and then its decimals
// [0, digits + kGuardDecimals), as the blocks above give them. "3." and the first `digits` decimals when
// every number within err of x has the same ones, judged from the guard decimals; else nullopt (then
// certified_digits, which looks at all of x, may still succeed).
inline constexpr std::uint64_t kGuardDecimals = 18;
// Whether guard decimals `guard` (the kGuardDecimals decimals after the first `digits`) decide those
// digits for every number within `err` of the value (certified_from_blocks' test).
bool guard_decides(std::uint64_t guard, std::uint64_t digits, const UpperBound& err);
std::optional<std::string> certified_from_blocks(std::string text, std::uint64_t digits,
                                                 const UpperBound& err);

}  // namespace pi
