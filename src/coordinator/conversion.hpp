// The decimal conversion of a fast series' result, shared by the workers as digits tasks.
#pragma once

#include <cstdint>
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

}  // namespace pi
