#!/usr/bin/env bash
# What `--replicas 1` costs and what it saves: a fast-series job on `mpirun -n RANKS` without copies and with
# them, each run whole and with a worker SIGKILLed (PI_FAULT=FAULT, under --enable-recovery). The default
# FAULT, die:2:held3, kills worker rank 2 at the first task it starts while it holds 3 pieces of its own
# (the same moment with or without copies, since copies are not counted), early in the series;
# kill:*:finalsteps:1:0.3 has rank 0 kill the worker given the final steps 0.3 s after, with the series'
# result it holds. The four kinds of run alternate, RUNS rounds; prints the medians (and ranges) of the job's
# time, the sum of the ranks' peak memory, the bytes between ranks, and the pieces computed again or taken
# from copies, from each run's summary.json.
#
#   bench/replicas.sh [PI_JOB] [RANKS] [RUNS] [FAULT] -- [pi-job options]
#   bench/replicas.sh build/release/src/pi-job 4 3 die:2:held3 -- --series chudnovsky --digits 10000000
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_args 4 "$@"
job=${positional[0]:-build/release/src/pi-job}
ranks=${positional[1]:-4}
runs=${positional[2]:-3}
fault=${positional[3]:-die:2:held3}
mpi_launch "$ranks"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "pi-job ${opts[*]} on mpirun -n $ranks, $runs rounds, killed by PI_FAULT=$fault"
for ((round = 1; round <= runs; round++)); do
  for replicas in 0 1; do
    for kind in whole killed; do
      name="r$replicas-$kind-$round"
      env=()
      [[ $kind == killed ]] && env=(env "PI_FAULT=$fault")
      "${env[@]}" "${launch[@]}" --enable-recovery "$job" "${opts[@]}" --replicas "$replicas" \
        --out "$out/$name" --progress-interval 0 >"$out/$name.log" 2>&1 || true
      [[ -e $out/$name/summary.json ]] || { cat "$out/$name.log"; exit 1; }
      echo "  round $round, replicas $replicas, $kind: $(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = d["coordinator"]
print("%.2f s, status %s, recomputed %d, from copies %d"
      % (d["elapsed_s"], d["status"], c["pieces_recomputed"], c["pieces_from_replicas"]))' "$out/$name/summary.json")"
    done
  done
done
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def figures(name):
    d = json.load(open(f"{out}/{name}/summary.json"))
    c = d["coordinator"]
    peaks = c["peak_rss_bytes"] + sum(w["peak_rss_bytes"] for w in d["workers"])
    return {"time s": d["elapsed_s"], "sum of peaks GB": peaks / 1e9,
            "between ranks GB": c["bytes_between_ranks"] / 1e9, "recomputed": c["pieces_recomputed"],
            "from copies": c["pieces_from_replicas"], "copies made": c["replicas_made"]}
rows = {}
for replicas in (0, 1):
    for kind in ("whole", "killed"):
        rows[(replicas, kind)] = [figures(f"r{replicas}-{kind}-{r}") for r in range(1, runs + 1)]
keys = list(rows[(0, "whole")][0].keys())
print("| replicas | run | " + " | ".join(keys) + " |")
print("|---|---|" + "---|" * len(keys))
for (replicas, kind), runs_ in rows.items():
    cells = []
    for k in keys:
        v = [r[k] for r in runs_]
        med = statistics.median(v)
        cells.append(f"{med:.3g} ({min(v):.3g}-{max(v):.3g})" if len(v) > 1 else f"{med:.3g}")
    print(f"| {replicas} | {kind} | " + " | ".join(cells) + " |")
med = lambda replicas, kind, k: statistics.median(r[k] for r in rows[(replicas, kind)])
print(f"copies against none, whole runs: time {med(1, 'whole', 'time s') / med(0, 'whole', 'time s'):.3f}, "
      f"sum of peaks {med(1, 'whole', 'sum of peaks GB') / med(0, 'whole', 'sum of peaks GB'):.3f}, "
      f"bytes between ranks {med(1, 'whole', 'between ranks GB') / med(0, 'whole', 'between ranks GB'):.3f}")
print(f"killed runs: time with copies / without {med(1, 'killed', 'time s') / med(0, 'killed', 'time s'):.3f}; "
      f"time lost to the kill (killed - whole): without copies "
      f"{med(0, 'killed', 'time s') - med(0, 'whole', 'time s'):.2f} s, with "
      f"{med(1, 'killed', 'time s') - med(1, 'whole', 'time s'):.2f} s")
PY
