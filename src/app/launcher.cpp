#include "app/launcher.hpp"

#include <cstdlib>
#include <string_view>

namespace pi {

std::optional<int> launcher_rank() {
  // Open MPI's mpirun, PMIx (srun --mpi=pmix, Open MPI 5), PMI-1/2 (MPICH's Hydra, srun --mpi=pmi2).
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* v = std::getenv(var)) return std::atoi(v);
  }
  return std::nullopt;
}

LaunchedRanks launched_ranks() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"}) {
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n >= 1) return LaunchedRanks{n, var};
    }
  }
  return LaunchedRanks{};
}

bool launcher_keeps_ranks_after_a_loss() {
  // MPICH's Hydra has no such mode (launcher.hpp).
  const char* recovery = std::getenv("OMPI_MCA_orte_enable_recovery");
  return recovery != nullptr && std::string_view(recovery) == "1";
}

}  // namespace pi
