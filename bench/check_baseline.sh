#!/usr/bin/env bash
# The slow-series benchmark's baseline must be a genuinely vectorised loop: every instance of `plain_lanes`
# in the benchmark binary divides with packed instructions (divpd) and never with scalar ones (divsd).
#   bench/check_baseline.sh build/release/bench/bench_slow_series
set -euo pipefail
bin=${1:?usage: check_baseline.sh BENCH_SLOW_SERIES}
listing=$(objdump -d --no-show-raw-insn -C "$bin" |
  awk '/^[0-9a-f]+ <.*>:$/ { inside = index($0, "plain_lanes<") > 0; if (inside) print "function"; next }
       inside && /v?divpd/ { print "packed" } inside && /v?divsd/ { print "scalar" }')
functions=$(grep -c '^function$' <<<"$listing" || true)
packed=$(grep -c '^packed$' <<<"$listing" || true)
scalar=$(grep -c '^scalar$' <<<"$listing" || true)
echo "plain_lanes instances: $functions, packed divides: $packed, scalar divides: $scalar"
[[ $functions -ge 3 ]] || { echo "expected the three baseline loops in $bin" >&2; exit 1; }
[[ $packed -ge $functions && $scalar -eq 0 ]] || { echo "the baseline is not vectorised" >&2; exit 1; }
