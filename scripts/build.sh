#!/usr/bin/env bash
# Installs what is missing and builds the release preset (build/release); both quick-start scripts start here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build/release
