#!/usr/bin/env bash
# Where a fast-series job's memory and traffic are: one process against `mpirun -n RANKS`, from the
# figures every run writes to summary.json (each rank's peak resident memory, bytes sent and received).
# Prints the scale-out goals' ratios: rank 0's peak and the sum of every rank's peak against the single
# process's, and the share of the traffic between ranks that went through rank 0.
#
#   bench/memory.sh [PI_JOB] [RANKS] -- [pi-job options]
#   bench/memory.sh build/release/src/pi-job 5 -- --series chudnovsky --digits 100000000
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_args 2 "$@"
job=${positional[0]:-build/release/src/pi-job}
ranks=${positional[1]:-5}
mpi_launch "$ranks"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$job" "${opts[@]}" --out "$out/one" --progress-interval 0 >"$out/one.log" 2>&1 || { cat "$out/one.log"; exit 1; }
"${launch[@]}" "$job" "${opts[@]}" --out "$out/many" --progress-interval 0 >"$out/many.log" 2>&1 ||
  { cat "$out/many.log"; exit 1; }
python3 - "$out/one/summary.json" "$out/many/summary.json" "$ranks" "${opts[*]}" <<'PY'
import json, sys
one, many = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ranks, opts = sys.argv[3], sys.argv[4]
single = one["coordinator"]["peak_rss_bytes"]
c = many["coordinator"]
peaks = [c["peak_rss_bytes"]] + [w["peak_rss_bytes"] for w in many["workers"]]
gb = lambda b: b / 1e9
print(f"pi-job {opts}: one process against mpirun -n {ranks}")
print(f"  one process: peak {gb(single):.3f} GB, {one['elapsed_s']:.1f} s")
print(f"  -n {ranks}: {many['elapsed_s']:.1f} s; peaks by rank: " + ", ".join(f"{gb(p):.3f}" for p in peaks) + " GB")
print(f"  rank 0's peak / one process's: {peaks[0] / single:.2f}   (scale-out goal: at most 0.15)")
print(f"  sum of the ranks' peaks / one process's: {sum(peaks) / single:.2f}   (goal: at most 1.5)")
print(f"  bytes between ranks: {gb(c['bytes_between_ranks']):.3f} GB; through rank 0: "
      f"{c['share_through_rank_0']:.3f}   (goal: at most 0.05); rank 0 sent {c['bytes_sent'] / 1e6:.1f} MB, "
      f"received {c['bytes_received'] / 1e6:.1f} MB")
print(f"  pieces held at the end: rank 0 {c['pieces_held']}, workers "
      + ", ".join(str(w["pieces_held"]) for w in many["workers"]))
PY
