// Compensated sums of slow-series ranges: 16 independent Kahan lanes that the compiler vectorises, folded
// exactly into a fixed-point integer so that adding ranges is exact, associative and order-independent.
#pragma once

#include <cstdint>

#include "series/bigint.hpp"
#include "series/series.hpp"

namespace pi {

// A range's sum is returned as round(sum * 2^kFixedPointBits); with uint64 term indices every lane value and
// its compensation is a multiple of 2^-kFixedPointBits, so the fold is exact.
inline constexpr int kFixedPointBits = 256;
inline constexpr int kLanes = 16;

enum class SlowTerm {
  leibniz,     // (-1)^k / (2k+1)
  basel,       // 1 / (k+1)^2
  nilakantha,  // (-1)^k / ((2k+2)(2k+3)(2k+4))
};

// Sum of the terms with index in `range`, as a fixed-point integer.
BigInt sum_range_fixed(SlowTerm term, Range range);

// The same sum done with plain doubles, one term at a time (for tests and benchmarks).
double sum_range_naive(SlowTerm term, Range range);

}  // namespace pi
