#!/usr/bin/env bash
# Quick start 1: install what is missing, build, and run the demo job (jobs/demo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release
build/release/src/pi-job --config jobs/demo.toml "$@"
echo "result: runs/demo/pi.txt and runs/demo/summary.json"
