#!/usr/bin/env bash
# Strong scaling past this machine, by simulation: bench_simulate drives pi-job's own Scheduler on a
# simulated cluster of single-core hosts, with compute costs measured on this machine when it starts
# (bench/simulate.cpp says how). Two parts, one script:
#   1. the model against this machine: chudnovsky 1e7 digits simulated on 2 and 3 hosts, and run for real
#      (mpirun -n 2 and -n 3, alternating, RUNS times each; --verify off, as the simulation models no checks);
#      the real time compared is the job's own (series, final steps, conversion: summary.json), without
#      mpirun's start and the writing of results, which the simulation leaves out;
#   2. chudnovsky DIGITS on 4, 16, 64 and 256 simulated hosts, 25 Gb/s links and 2 us latency, with the
#      pieces on the workers (direct, pi-job today) and through rank 0 (star, pi-job before); a table, the
#      runs as JSON lines and a plot (SVG).
#
#   bench/simulate.sh [BUILD_DIR] [DIGITS] [RUNS] [OUT_DIR]
#   bench/simulate.sh build/release 100000000 3 bench/results
set -euo pipefail
source "$(dirname "$0")/common.sh"
build=${1:-build/release}
digits=${2:-100000000}
runs=${3:-3}
out=${4:-$(mktemp -d)}
sim=$build/bench/bench_simulate
job=$build/src/pi-job
for f in "$sim" "$job"; do
  [[ -x $f ]] || { echo "simulate.sh: $f is not built (cmake --build $build)" >&2; exit 2; }
done
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(date -u +%F)"

echo "== 1. the model against real runs here: chudnovsky 1e7 digits, 1 and 2 workers"
"$sim" --digits 10000000 --hosts 2,3 --plane direct --json "$work/check.jsonl" | tee "$work/check.txt"
for i in $(seq "$runs"); do
  for n in 2 3; do
    rm -rf "$work/$n"
    mpi_launch "$n"
    "${launch[@]}" "$job" --series chudnovsky --digits 10000000 --verify off --out "$work/$n" \
      --progress-interval 0 >"$work/log" 2>&1 || { cat "$work/log"; exit 1; }
    python3 -c 'import json,sys; t=json.load(open(sys.argv[2]))["timing"]
print(sys.argv[1], t["series_wall_s"] + t["final_steps_s"] + t["conversion_s"])' "$n" "$work/$n/summary.json" \
      >>"$work/real"
  done
done
python3 - "$work/check.jsonl" "$work/real" <<'PY'
import json, statistics, sys
sim = {r["hosts"]: r["seconds"] for r in map(json.loads, open(sys.argv[1]))}
real = {}
for line in open(sys.argv[2]):
    n, s = line.split()
    real.setdefault(int(n), []).append(float(s))
for n in sorted(real):
    m = statistics.median(real[n])
    print(f"{n - 1} worker(s): simulated {sim[n]:.2f} s, real median {m:.2f} s "
          f"({min(real[n]):.2f}-{max(real[n]):.2f}, {len(real[n])} runs): simulated/real {sim[n] / m:.3f}")
r2, r3 = statistics.median(real[2]), statistics.median(real[3])
print(f"2 workers against 1: simulated {sim[3] / sim[2]:.3f}, real {r3 / r2:.3f}")
PY

echo "== 2. chudnovsky $digits digits on simulated clusters"
"$sim" --digits "$digits" --hosts 4,16,64,256 --json "$out/simulate.jsonl" | tee "$out/simulate.txt"
python3 "$(dirname "$0")/plot_simulate.py" "$out/simulate.jsonl" "$out/simulate.svg" "$digits"
echo "wrote $out/simulate.txt, $out/simulate.jsonl, $out/simulate.svg"
