// What pi-job learns from the program that launched it, and everything it knows that depends on which MPI
// that is: the one place for Open MPI's and MPICH's environment variables and their behaviour when a rank
// dies (docs/mpi.md has the measurements).
//
// - Open MPI 4.1 (mpirun/orterun): a rank that dies ends the whole job about 2 s later (exit 137), unless
//   `mpirun --enable-recovery` (OMPI_MCA_orte_enable_recovery=1 in every rank's environment): then the
//   other ranks go on, MPI reports nothing, and the coordinator's deadlines find the lost work.
// - MPICH 4.0 (Hydra's mpiexec): a rank that dies ends the whole job within about 0.03 s (exit code: the
//   signal's number), with or without `-disable-auto-cleanup`; with it, Hydra first sends the other ranks
//   SIGUSR1, and rank 0 sometimes (2 runs in 6 here) checkpoints and stops in time. Either way the job is
//   resumed from its last periodic checkpoint.
// - Slurm's srun (PMIx): the step is cancelled when a rank dies, under either MPI.
#pragma once

#include <optional>
#include <string>

namespace pi {

// The rank the launcher gave this process, read before MPI_Init so that a user's mistake is reported once
// (by rank 0) without starting MPI; nullopt when no launcher started it.
std::optional<int> launcher_rank();

// The ranks the launcher started, from its environment, and the variable that said so; 1 and "" alone.
struct LaunchedRanks {
  int ranks = 1;
  std::string from;
};
LaunchedRanks launched_ranks();

// Whether the launcher lets the other ranks go on after one dies (Open MPI's --enable-recovery): then a
// rank that rank 0 ends itself (a hung one, at the end of the job) does not end the job for the others.
bool launcher_keeps_ranks_after_a_loss();

}  // namespace pi
