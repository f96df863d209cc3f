// pi-job --dry-run: the plan of a job without running it (terms, grid, ranks, memory, checkpoint size, and
// the time it would take on this machine, from a calibration run of the real series here).
#pragma once

#include <string>

#include "app/options.hpp"

namespace pi {

// The ranks the launcher started (mpirun, srun) from its environment, and the variable that said so; 1 and ""
// alone.
struct LaunchedRanks {
  int ranks = 1;
  std::string from;
};
LaunchedRanks launched_ranks();

// The plan as text. Reads the checkpoint a resume would start from, writes nothing. Throws ConfigError and
// CheckpointError like a run would.
std::string dry_run_report(const JobOptions& options, const LaunchedRanks& launched);

}  // namespace pi
