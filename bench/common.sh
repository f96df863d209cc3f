# Shared by the benchmark scripts: sourced, not run.
# bench_args N "$@": the first N arguments are the script's own (in `positional`, empty where not given),
# then an optional "--" and pi-job's options (`opts`; chudnovsky 1e7 digits when there are none).
bench_args() {
  local n=$1 i
  shift
  positional=()
  for ((i = 0; i < n; i++)); do
    if [[ $# -gt 0 && $1 != -- ]]; then
      positional+=("$1")
      shift
    else
      positional+=("")
    fi
  done
  [[ ${1:-} == -- ]] && shift
  opts=("$@")
  [[ ${#opts[@]} -gt 0 ]] || opts=(--series chudnovsky --digits 10000000)
}
# mpi_launch RANKS: `launch`, the mpirun command for that many ranks (as root: allowed; more ranks than cores:
# oversubscribed).
mpi_launch() {
  launch=(mpirun -n "$1")
  [[ $(id -u) == 0 ]] && launch+=(--allow-run-as-root)
  [[ $(nproc) -lt $1 ]] && launch+=(--oversubscribe)
  return 0
}
