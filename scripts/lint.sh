#!/usr/bin/env bash
# clang-tidy (the checks in .clang-tidy) over src/, with the release build's compile commands. Exits 1 when
# it warns about anything. Not part of the test command (minutes on 2 cores); run it before a change lands.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v run-clang-tidy >/dev/null || { apt-get update -qq && apt-get install -y -qq clang-tidy >/dev/null; }
build=${1:-build/release}  # a configured build tree: its compile_commands.json
[[ -e $build/compile_commands.json ]] || { cmake --preset release >/dev/null && build=build/release; }
out=$(run-clang-tidy -quiet -p "$build" -j "$(nproc)" "$PWD/src/" 2>/dev/null | grep -E "warning:|error:" | sort -u || true)
if [[ -n $out ]]; then
  echo "$out"
  echo "clang-tidy: $(echo "$out" | wc -l) warnings"
  exit 1
fi
echo "clang-tidy: clean"
