#!/usr/bin/env bash
# Scaling of a job on 1 worker against 2 workers: alternating runs of `mpirun -n 2` and `mpirun -n 3` of
# pi-job, timed around mpirun, with the medians, the paired ratios and where the time went (summary.json):
# wall time of the series, the final steps and the conversion, and the compute of the evaluations, of the
# merges by tree level and of the digit blocks. PI_JOB may name two builds or more, comma-separated: each
# round then runs every build at 1 and 2 workers in turn, and each build is summed up apart (the same hour of
# a shared machine for all).
#
#   bench/scaling.sh [PI_JOB[,PI_JOB...]] [RUNS] -- [pi-job options]
#   bench/scaling.sh build/release/src/pi-job 5 -- --series chudnovsky --digits 10000000
#   bench/scaling.sh /tmp/before/pi-job,build/release/src/pi-job 7
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_args 2 "$@"
IFS=, read -r -a jobs <<<"${positional[0]:-build/release/src/pi-job}"
for job in "${jobs[@]}"; do
  [[ -x $job ]] || { echo "scaling.sh: $job is not an executable pi-job" >&2; exit 2; }
done
runs=${positional[1]:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$runs"); do
  for b in "${!jobs[@]}"; do
    for n in 2 3; do
      rm -rf "$out/$n"
      start=$(date +%s.%N)
      mpi_launch "$n"
      "${launch[@]}" "${jobs[$b]}" "${opts[@]}" --out "$out/$n" >"$out/log" 2>&1 ||
        { cat "$out/log"; exit 1; }
      end=$(date +%s.%N)
      python3 - "$n" "$start" "$end" "$out/$n/summary.json" >>"$out/runs.$b" <<'PY'
import json, sys
n, start, end, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t = json.load(open(path))["timing"]
levels = t.get("merges_by_level_s", {})
print(n, end - start, t["series_wall_s"], t["final_steps_s"], t["conversion_s"], t.get("evaluations_s", 0),
      t.get("digit_blocks_s", 0), " ".join("%s=%r" % kv for kv in sorted(levels.items(), key=lambda kv: int(kv[0]))))
PY
    done
  done
done
for b in "${!jobs[@]}"; do
  [[ ${#jobs[@]} -gt 1 ]] && printf '%s== %s\n' "$([[ $b -gt 0 ]] && echo $'\n')" "${jobs[$b]}"
  python3 - "$out/runs.$b" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {n: [list(map(float, r[1:7])) for r in rows if r[0] == n] for n in ("2", "3")}
# Compute seconds (summed over the workers) by merge level, per run.
levels = {n: [dict((k, float(v)) for k, v in (kv.split("=") for kv in r[7:])) for r in rows if r[0] == n]
          for n in ("2", "3")}
cols_of = {n: list(zip(*by[n])) for n in by}
print("ranks  wall (median, min-max)     series   final   conversion")
for n, label in (("2", "1 worker "), ("3", "2 workers")):
    cols = cols_of[n]
    print(f"{label}  {statistics.median(cols[0]):7.3f} s ({min(cols[0]):.3f}-{max(cols[0]):.3f})"
          f"  {statistics.median(cols[1]):6.3f}  {statistics.median(cols[2]):6.3f}  {statistics.median(cols[3]):6.3f}")
pairs = [b[0] / a[0] for a, b in zip(by["2"], by["3"])]
print("ratio of medians %.3f; paired ratios %s" % (
    statistics.median(r[0] for r in by["3"]) / statistics.median(r[0] for r in by["2"]),
    ", ".join("%.3f" % p for p in sorted(pairs))))
print()
print("compute seconds, summed over the workers (medians): evaluations, merges by level, digit blocks")
for n, label in (("2", "1 worker "), ("3", "2 workers")):
    cols = cols_of[n]
    names = sorted({k for run in levels[n] for k in run}, key=int)
    lv = "  ".join("L%s %.3f" % (k, statistics.median(run.get(k, 0) for run in levels[n])) for k in names)
    print(f"{label}  evaluations {statistics.median(cols[4]):.3f}  digit blocks {statistics.median(cols[5]):.3f}")
    if lv:
        print(f"           merges: {lv}")
PY
done
