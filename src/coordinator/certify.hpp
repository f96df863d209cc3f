// The last phase of a job: the digits its result proves.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "coordinator/job.hpp"

namespace pi {

// Certifies result.estimates.best(). Digits mode: pi.txt's text ("3." and `digits` decimals) into
// result.pi_text, from the workers' conversion blocks when their guard decimals decide, else from all of the
// value; false when its enclosure straddles a digit boundary (the caller then runs again with more terms,
// Ziv's strategy). Terms mode: the digits the bound proves, counted up to a cap, into result.correct_digits.
// Without `whole_value` (the estimate's value is a summary of one a worker holds) it returns false with no
// pi_text where it would look at all of the value: the caller fetches it and asks again.
bool certify(RunResult& result, const Series& series, std::optional<std::uint64_t> digits,
             std::optional<std::string> block_text, bool whole_value = true);

}  // namespace pi
