# The MPI launcher the shell tests run pi-job with: sourced by harness.sh, not run. The one place in the tests
# that knows which MPI the build uses (PI_MPI_FAMILY and PI_LAUNCHER_DIR, set by ctest from the build's
# configuration; Open MPI's mpirun from the PATH when run by hand) and what differs between them:
# - `mpirun` is the build's launcher, so that a test says `mpirun -n 3 ...` whatever the MPI: PI_LAUNCHER_DIR
#   holds a script of that name that execs it (a program, not a shell function: a test signals it by its pid, and
#   runs it under setsid and timeout);
# - Open MPI refuses root and more ranks than cores unless told (its variables below); MPICH's Hydra does
#   neither;
# - rank_var: the variable that holds a rank's number in its environment (to find a rank's process);
# - Open MPI alone lets the other ranks go on when one dies (mpirun --enable-recovery): cases that need it
#   ask `keeps_ranks_after_a_loss` first (docs/mpi.md).
PI_MPI_FAMILY=${PI_MPI_FAMILY:-openmpi}
[[ -n ${PI_LAUNCHER_DIR:-} ]] && export PATH="$PI_LAUNCHER_DIR:$PATH"
case $PI_MPI_FAMILY in
  openmpi)
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
    rank_var=OMPI_COMM_WORLD_RANK
    ;;
  mpich)
    rank_var=PMI_RANK
    ;;
  *)
    echo "launcher.sh: PI_MPI_FAMILY=$PI_MPI_FAMILY is neither openmpi nor mpich" >&2
    exit 2
    ;;
esac
keeps_ranks_after_a_loss() { [[ $PI_MPI_FAMILY == openmpi ]]; }
# rank_pid RANK PATTERN: the pid of the pi-job process of that rank whose command line has PATTERN.
rank_pid() {
  local p
  for p in $(pgrep -f -- "$2"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "$rank_var=$1" && { echo "$p"; return 0; }
  done
  return 1
}
