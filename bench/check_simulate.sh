#!/usr/bin/env bash
# Not a timing: bench_simulate runs a small job to the end on both data planes and accounts for its bytes as
# the planes say (in the star every byte passes through rank 0; with pieces on the workers, once two
# workers share the tree, not all do), and a bad option exits 2 with one line.
#   check_simulate.sh BENCH_SIMULATE
set -u
sim=$1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
"$sim" --digits 2000000 --hosts 3,5 --rounds 1 --calibration-digits 100000 --json "$out/runs.jsonl" >"$out/log" 2>&1 ||
  { cat "$out/log"; fail "bench_simulate exited $?"; }
/usr/bin/env python3 - "$out/runs.jsonl" <<'PY' || fail "the runs' accounting"
import json, sys
runs = {(r["plane"], r["hosts"]): r for r in map(json.loads, open(sys.argv[1]))}
assert sorted(runs) == [("direct", 2), ("direct", 3), ("direct", 5), ("star", 2), ("star", 3), ("star", 5)], sorted(runs)
for (plane, hosts), r in runs.items():
    assert r["seconds"] > 0 and r["final_steps_end_s"] >= r["root_s"] >= r["evaluations_end_s"] > 0, r
    assert r["conversion_s"] > 0 and r["worker_busy_s"] > 0, r
    if plane == "star":
        assert r["bytes_through_rank0"] == r["bytes_moved"] > 0, r
        assert r["rank0_peak_bytes"] > 0, r
    elif hosts > 2:
        assert 0 < r["bytes_through_rank0"] < r["bytes_moved"], r
# The star moves every piece to rank 0 and back out: more bytes than pieces on the workers.
for hosts in (3, 5):
    assert runs[("star", hosts)]["bytes_moved"] > runs[("direct", hosts)]["bytes_moved"], hosts
PY
# A worker lost mid-run (the one holding the most piece bytes): the job still ends, both ways of computing
# its pieces again.
"$sim" --digits 2000000 --hosts 5 --plane direct --rounds 1 --calibration-digits 100000 --lose-at 0.05 \
  --recompute-parts 1,0 --json "$out/lost.jsonl" >"$out/lost.log" 2>&1 ||
  { cat "$out/lost.log"; fail "bench_simulate --lose-at exited $?"; }
/usr/bin/env python3 - "$out/lost.jsonl" <<'PY' || fail "the runs with a lost worker"
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
lost = [r for r in runs if r["hosts"] == 5]
assert [r["recompute_parts"] for r in lost] == [1, 0], lost
for r in lost:
    assert r["lost_worker_rank"] >= 1 and r["lost_bytes"] > 0 and r["seconds"] > r["lost_at_s"], r
PY
# The final steps' constant: with it apart (the default) a worker computes it as a task of its own, and
# when the final steps take it from there they last less than the final steps that compute it themselves.
"$sim" --digits 2000000 --hosts 5 --plane direct --rounds 1 --calibration-digits 100000 --constant-apart 0,1 \
  --rank0-call-seconds 0.00002 \
  --json "$out/constant.jsonl" >"$out/constant.log" 2>&1 ||
  { cat "$out/constant.log"; fail "bench_simulate --constant-apart exited $?"; }
/usr/bin/env python3 - "$out/constant.jsonl" <<'PY' || fail "the runs with the constant apart and not"
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if json.loads(line)["hosts"] == 5]
assert len(runs) == 2, runs
without, apart = runs
assert without["constant_s"] == 0 and not without["final_with_constant"], without
assert apart["constant_s"] > 0, apart
if apart["final_with_constant"]:
    tail = lambda r: r["final_steps_end_s"] - r["root_s"]
    assert tail(apart) < tail(without), (tail(apart), tail(without))
PY
# Spread products (the top merges' products in phases of parts every worker shares, and the final steps'):
# the job ends, with parts done, its root made sooner than with whole products, and no more bytes through
# rank 0. Rank 0's calls cost a fixed 20 us each (--rank0-call-seconds): with their real time, which
# moves with this machine's load, CI runs once made the spread root 5% later at 2e6 digits, and once as
# late (1.384 s against 1.379 s) at 1e7 with the machine busy with other tests.
# With spread products the final steps also split the decimals into parts (12 for 12 workers), and the
# blocks read their parts: a shorter conversion, fewer bytes in it, than blocks that each read the fraction.
"$sim" --digits 10000000 --hosts 13 --plane direct --rounds 1 --calibration-digits 100000 --spread 0,1 \
  --conversion-parts 64,0 --rank0-call-seconds 0.00002 --json "$out/spread.jsonl" >"$out/spread.log" 2>&1 ||
  { cat "$out/spread.log"; fail "bench_simulate --spread exited $?"; }
/usr/bin/env python3 - "$out/spread.jsonl" <<'PY' || fail "the runs with spread products and not"
import json, sys
runs = [r for r in map(json.loads, open(sys.argv[1])) if r["hosts"] == 13]
assert len(runs) == 4, runs
whole, whole_unsplit, spread, unsplit = runs
assert whole["conversion_parts"] == 0 and whole_unsplit["conversion_parts"] == 0, (whole, whole_unsplit)
assert spread["conversion_parts"] == 12 and unsplit["conversion_parts"] == 0, (spread, unsplit)
assert spread["conversion_s"] < unsplit["conversion_s"], (spread["conversion_s"], unsplit["conversion_s"])
assert spread["conversion_bytes_moved"] < unsplit["conversion_bytes_moved"], (spread, unsplit)
assert whole["spread_parts"] == 0 and spread["spread_parts"] > 0, (whole, spread)
# The final steps' large products too (the division by Newton's iteration, the product by the constant).
assert whole["final_products_spread"] == 0 and spread["final_products_spread"] > 0, (whole, spread)
assert spread["seconds"] > 0 and 0 < spread["root_made_s"] <= spread["root_s"] <= spread["final_steps_end_s"], spread
assert spread["root_made_s"] < whole["root_made_s"], (spread["root_made_s"], whole["root_made_s"])
assert spread["bytes_through_rank0"] < spread["bytes_moved"], spread
PY
"$sim" --hosts 1 >"$out/bad" 2>&1
rc=$?
[[ $rc == 2 ]] || fail "--hosts 1 exited $rc, wanted 2"
[[ $(wc -l <"$out/bad") == 1 ]] || { cat "$out/bad"; fail "--hosts 1: not one line"; }
grep -q "hosts" "$out/bad" || fail "--hosts 1: the message does not name the option"
[[ $failures == 0 ]] && echo "bench_simulate: both planes ran and accounted for their bytes"
exit $((failures > 0))
