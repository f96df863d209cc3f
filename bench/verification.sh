#!/usr/bin/env bash
# What verification costs: alternating runs of the same job with --verify on and --verify off, timed around
# the launcher, with the medians and the paired ratio, and from summary.json the coordinator's time in the
# fingerprint checks and the BBP sum's compute time (in digits mode it runs beside the series).
#
#   bench/verification.sh [PI_JOB] [RUNS] [RANKS] -- [pi-job options]
#   bench/verification.sh build/release/src/pi-job 3 3 -- --series chudnovsky --digits 10000000
# RANKS 1 runs pi-job alone (no mpirun).
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_args 3 "$@"
job=${positional[0]:-build/release/src/pi-job}
runs=${positional[1]:-3}
ranks=${positional[2]:-3}
launch=()
[[ $ranks -gt 1 ]] && mpi_launch "$ranks"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$runs"); do
  for v in on off; do
    rm -rf "$out/$v"
    start=$(date +%s.%N)
    "${launch[@]}" "$job" "${opts[@]}" --verify "$v" --out "$out/$v" --progress-interval 0 >"$out/log" 2>&1 ||
      { cat "$out/log"; exit 1; }
    end=$(date +%s.%N)
    python3 - "$v" "$start" "$end" "$out/$v/summary.json" >>"$out/runs" <<'PY'
import json, sys
v, start, end, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = json.load(open(path))
ver = s["verification"]
assert v == "off" or ver["verified"], ver
print(v, end - start, ver["fingerprints"]["seconds"], ver["bbp"]["seconds"], ver["fingerprints"]["pieces"],
      ver["fingerprints"]["products"], ver["fingerprints"]["conversion_blocks"], ver["bbp"]["position"])
PY
  done
done
python3 - "$out/runs" "$ranks" "${opts[*]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
on = [r for r in rows if r[0] == "on"]
off = [r for r in rows if r[0] == "off"]
med = lambda xs: statistics.median(float(x) for x in xs)
print("job: %s, %s rank(s), %d runs each, alternating" % (sys.argv[3], sys.argv[2], len(on)))
print("wall s, --verify on : median %.2f  (%s)" % (med(r[1] for r in on), " ".join("%.2f" % float(r[1]) for r in on)))
print("wall s, --verify off: median %.2f  (%s)" % (med(r[1] for r in off), " ".join("%.2f" % float(r[1]) for r in off)))
ratios = [float(a[1]) / float(b[1]) for a, b in zip(on, off)]
print("on / off, paired: median %.3f  (%s)" % (statistics.median(ratios), " ".join("%.3f" % r for r in ratios)))
print("fingerprint checks on rank 0: median %.3f s = %.2f%% of the run (%s pieces, %s products, %s blocks)" % (
    med(r[2] for r in on), 100 * med(r[2] for r in on) / med(r[1] for r in on), on[0][4], on[0][5], on[0][6]))
print("BBP sum at hex position %s: median %.2f s of compute (beside the series in digits mode)" % (
    on[0][7], med(r[3] for r in on)))
PY
