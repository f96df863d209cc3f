#!/usr/bin/env bash
# Quick start 2: install what is missing, build, and run the whole test suite (about 44 min on 2 cores: builds 20, release tests 14.5, sanitizer tests 7, MPICH tests 2.5; the real Slurm test alone takes 5.5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --preset release -j "$(nproc)"
# One AddressSanitizer/UBSan build of the same suite, without the 1e6-digit cases, the real Slurm and the
# longest end-to-end runs (label "long"; tests/CMakeLists.txt says, for each, what shorter cases take through
# the sanitizers).
cmake --preset asan >/dev/null
cmake --build build/asan
ctest --preset asan -j "$(nproc)" -LE long
# The MPI cases again under MPICH (docs/mpi.md): pi-job built against MPICH and its HDF5.
cmake --preset mpich >/dev/null
cmake --build build/mpich
ctest --preset mpich
