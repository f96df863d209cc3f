// Hexadecimal digits of pi at any position by the Bailey-Borwein-Plouffe formula
//   pi = sum_k 16^-k (4/(8k+1) - 2/(8k+4) - 1/(8k+5) - 1/(8k+6)),
// which shares nothing with the series pi-job sums: the independent check of a final value. Word
// arithmetic only, in time about proportional to the position; pure math, no I/O.
#pragma once

#include <cstdint>
#include <string>

#include "series/bigint.hpp"
#include "series/fingerprint.hpp"

namespace pi {

// frac(16^position pi) as a 128-bit binary fraction (units of 2^-128), with a bound on its error.
struct HexFraction {
  Uint128 value = 0;
  Uint128 error = 0;  // |value - frac(16^position pi) 2^128| <= error (mod 2^128)
};

// `threads` > 1 shares the sum among that many threads.
HexFraction pi_hex_fraction(std::uint64_t position, int threads = 1);

// The hexadecimal digits of pi after the point at positions [position + 1, position + count], count <= 24,
// upper case: position 0 gives "243F6A88...".
std::string hex_digits(Uint128 fraction, int count);

// z mod 2^128 (z >= 0).
Uint128 low_128_bits(const BigInt& z);
// frac(16^position x) 2^128, truncated, from the bits of x (x = f 2^e exactly): a computed value's
// hexadecimal digits at the position, to compare with pi_hex_fraction's.
Uint128 value_hex_fraction(const Real& x, std::uint64_t position);

}  // namespace pi
