// Decimal digits of an enclosure: the digits every number within the error bound shares, truncated, never
// rounded. Conversion goes through GMP's subquadratic integer-to-string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "series/bigint.hpp"
#include "series/bound.hpp"

namespace pi {

// "3." and the first `digits` decimals of x, if every number within err of x has the same ones; else nullopt.
std::optional<std::string> certified_digits(const Real& x, const UpperBound& err, std::uint64_t digits);

// The most decimals after the point (at most `cap`) that every number within err of x shares.
std::uint64_t correct_digits(const Real& x, const UpperBound& err, std::uint64_t cap);

// x truncated to `digits` decimals after the point, without any claim of correctness.
std::string truncated_decimal(const Real& x, std::uint64_t digits);

}  // namespace pi
