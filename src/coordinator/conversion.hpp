// The decimal conversion of a fast series' result, shared by the workers as digits tasks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "coordinator/job.hpp"
#include "coordinator/scheduler.hpp"

namespace pi {

// The integer part and decimals [0, digits + kGuardDecimals) of the estimate, converted in blocks by the
// executor's workers (one block each, if they are big enough to be worth it). The text is not certified yet.
std::optional<std::string> convert_in_blocks(Scheduler& scheduler, Executor& executor, const Estimate& best,
                                             std::uint64_t digits, const std::function<void()>& tick);
// The same for the final value a worker holds (Scheduler::finish_on_workers): the blocks fetch its fraction
// from that worker.
std::optional<std::string> convert_held(Scheduler& scheduler, Executor& executor, std::uint64_t digits,
                                        const std::function<void()>& tick);

// The same, each block written to `file` as it arrives, so that this process never holds the text: the
// file gets the integer part, the point and the decimals [0, digits + kGuardDecimals) (pi.txt's text with
// the guard decimals, not certified yet). nullopt when the value can't be converted so.
struct WrittenDecimals {
  std::uint64_t point = 0;  // the integer part's length: the point's offset in the file
  std::uint64_t guard = 0;  // the last kGuardDecimals decimals
};
std::optional<WrittenDecimals> convert_held_to_file(Scheduler& scheduler, Executor& executor,
                                                    std::uint64_t digits, const std::filesystem::path& file,
                                                    const std::function<void()>& tick);
// pi.txt from such a file, once its digits are certified: the guard decimals cut, a newline, fsynced.
void finish_decimals_file(const std::filesystem::path& file, const WrittenDecimals& written,
                          std::uint64_t digits);

}  // namespace pi
