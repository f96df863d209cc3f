#!/usr/bin/env bash
# Installs the Debian 12 packages pi-hpc builds, tests and benchmarks with (as root, or through sudo).
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config python3
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev zlib1g-dev hdf5-tools python3-h5py
  libmpich-dev libhdf5-mpich-dev
  libboost-dev libgmp-dev libmpfr-dev libcli11-dev nlohmann-json3-dev libcpptoml-dev
  libgtest-dev googletest libbenchmark-dev libflint-dev libflint-arb-dev chromium curl
  slurmd slurmctld slurm-client munge)
# Node.js and npm fetch the viewer's chart library and drive the browser test; a machine that has them
# (e.g. from NodeSource) keeps its own, since Debian's npm conflicts with those.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
