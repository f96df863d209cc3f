// pi-job --dry-run: the plan of a job without running it (terms, grid, ranks, memory, checkpoint size, and
// the time it would take on this machine, from a calibration run of the real series here).
#pragma once

#include <string>

#include "app/launcher.hpp"
#include "app/options.hpp"

namespace pi {

// The plan as text. Reads the checkpoint a resume would start from, writes nothing. Throws ConfigError and
// CheckpointError like a run would.
std::string dry_run_report(const JobOptions& options, const LaunchedRanks& launched);

}  // namespace pi
