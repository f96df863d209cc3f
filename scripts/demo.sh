#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the demo job (jobs/demo.toml) under mpirun on this
# machine's cores: rank 0 coordinates, one worker per core.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release
mpi_flags=(--oversubscribe)
[[ $(id -u) -eq 0 ]] && mpi_flags+=(--allow-run-as-root)
mpirun "${mpi_flags[@]}" -n "$(($(nproc) + 1))" build/release/src/pi-job --config jobs/demo.toml "$@"
echo "result: runs/demo/pi.txt and runs/demo/summary.json"
