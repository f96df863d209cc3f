#!/usr/bin/env bash
# Two builds of pi-job side by side: RUNS pairs of `mpirun -n RANKS`, the first build then the second, one
# after the other (a shared machine's speed moves between runs; a pair's two runs see about the same).
# Each run's wall time around mpirun, its phases from summary.json (series, final steps, conversion, and the
# final steps' constant when it was computed apart), the peak memory of each rank, and the digits' sha256.
#
#   bench/pairs.sh BEFORE AFTER [RANKS] [RUNS] -- [pi-job options]
#   bench/pairs.sh old/pi-job build/release/src/pi-job 5 2 -- --series chudnovsky --digits 100000000
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_args 4 "$@"
builds=("${positional[0]}" "${positional[1]}")
[[ -x ${builds[0]} && -x ${builds[1]} ]] || { echo "pairs.sh: BEFORE and AFTER must be pi-job binaries" >&2; exit 2; }
ranks=${positional[2]:-3}
runs=${positional[3]:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpi_launch "$ranks"
for i in $(seq "$runs"); do
  for which in 0 1; do
    rm -rf "$out/run"
    start=$(date +%s.%N)
    "${launch[@]}" "${builds[$which]}" "${opts[@]}" --out "$out/run" --progress-interval 0 >"$out/log" 2>&1 ||
      { cat "$out/log"; exit 1; }
    end=$(date +%s.%N)
    python3 - "$which" "$start" "$end" "$out/run" <<'PY'
import hashlib, json, sys
which, start, end, run = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
d = json.load(open(run + "/summary.json"))
t = d["timing"]
peaks = [d["coordinator"]["peak_rss_bytes"]] + [w["peak_rss_bytes"] for w in d["workers"]]
constant = "%.2f s" % t["constant_s"] if t.get("final_with_constant") else "-"
digest = hashlib.sha256(open(run + "/pi.txt", "rb").read()).hexdigest()[:16]
print("%s wall %.2f s  series %.2f  final steps %.2f (constant apart %s)  conversion %.2f  peaks GB %s  pi.txt %s"
      % ("before" if which == "0" else "after ", end - start, t["series_wall_s"], t["final_steps_s"], constant,
         t["conversion_s"], " ".join("%.3f" % (p / 1e9) for p in peaks), digest))
PY
  done
done
