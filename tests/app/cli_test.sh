#!/usr/bin/env bash
# pi-job's contract from the outside: every bad input exits 2 with one line naming the bad value, and a good
# run writes pi.txt byte-identical to the reference and a complete summary.json.
set -u
job=$1
src=$2
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
failures=0
pass=0

# expect_usage_error "what the message must contain" args...
expect_usage_error() {
  local needle=$1
  shift
  "$job" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  local lines
  lines=$(wc -l <"$tmp/stderr")
  if [[ $rc -ne 2 || $lines -ne 1 ]] || ! grep -qF -- "$needle" "$tmp/stderr"; then
    echo "FAIL: pi-job $* -> exit $rc, $lines stderr lines, wanted 2 and one line with '$needle':"
    cat "$tmp/stderr"
    failures=$((failures + 1))
  else
    pass=$((pass + 1))
  fi
}

expect_usage_error "'fibonacci'" --series fibonacci --digits 10 --out "$tmp/o"
expect_usage_error "chudnovsky" --series fibonacci --digits 10 --out "$tmp/o"
expect_usage_error "'0'" --series chudnovsky --digits 0 --out "$tmp/o"
expect_usage_error "'-5'" --series chudnovsky --digits -5 --out "$tmp/o"
expect_usage_error "'ten'" --series chudnovsky --digits ten --out "$tmp/o"
expect_usage_error "'1e3'" --series chudnovsky --digits 1e3 --out "$tmp/o"
expect_usage_error "'0'" --series leibniz --terms 0 --out "$tmp/o"
expect_usage_error "'-1'" --series leibniz --terms -1 --out "$tmp/o"
expect_usage_error "both" --series chudnovsky --digits 10 --terms 10 --out "$tmp/o"
expect_usage_error "neither" --series chudnovsky --out "$tmp/o"
expect_usage_error "--out" --series chudnovsky --digits 10
expect_usage_error "nope.toml" --config "$tmp/nope.toml"
printf 'series = "machin"\ndigits = 10\nout = "%s/o"\ncolour = "blue"\n' "$tmp" >"$tmp/extra.toml"
expect_usage_error "colour" --config "$tmp/extra.toml"
touch "$tmp/afile"
expect_usage_error "$tmp/afile/sub" --series machin --digits 10 --out "$tmp/afile/sub"
mkdir "$tmp/ro" && chmod 0555 "$tmp/ro"
if [[ $(id -u) -ne 0 ]]; then
  expect_usage_error "$tmp/ro" --series machin --digits 10 --out "$tmp/ro"
fi
expect_usage_error "at most" --series leibniz --digits 40 --out "$tmp/o"
expect_usage_error "MiB" --series chudnovsky --digits 100000000000 --out "$tmp/o"
expect_usage_error "needs --token-file" --series machin --digits 10 --out "$tmp/o" --publish http://127.0.0.1:8080
expect_usage_error "'ftp://x'" --series machin --digits 10 --out "$tmp/o" --publish ftp://x --token-file "$tmp/afile"
expect_usage_error "--serve 'nonsense'" --series machin --digits 10 --out "$tmp/o" --serve nonsense
expect_usage_error "cannot be read" --series machin --digits 10 --out "$tmp/o" --token-file "$tmp/none"
expect_usage_error "is empty" --series machin --digits 10 --out "$tmp/o" --token-file "$tmp/afile"
expect_usage_error "--checkpoint-interval '-1'" --series machin --digits 10 --out "$tmp/o" --checkpoint-interval -1
expect_usage_error "--keep-checkpoints '0'" --series machin --digits 10 --out "$tmp/o" --keep-checkpoints 0
expect_usage_error "no such file" --resume-from "$tmp/none.h5" --out "$tmp/o"

# A job file from jobs/, overridden on the command line, gives the reference digits byte for byte.
"$job" --config "$src/jobs/demo.toml" --digits 10000 --out "$tmp/good" --progress-interval 0 \
  --serve 127.0.0.1:0 --linger 0 2>"$tmp/stderr"
rc=$?
if [[ $rc -ne 0 ]] || ! cmp -s "$tmp/good/pi.txt" "$src/data/pi-10000.txt"; then
  echo "FAIL: demo job with --digits 10000: exit $rc or pi.txt differs from data/pi-10000.txt"
  cat "$tmp/stderr"
  failures=$((failures + 1))
else
  pass=$((pass + 1))
fi
if python3 - "$tmp/good/summary.json" <<'PY'; then pass=$((pass + 1)); else failures=$((failures + 1)); fi
import json, sys
s = json.load(open(sys.argv[1]))
expected = {"series", "digits", "terms", "estimate", "correct_digits", "error_bound", "elapsed_s", "ranks", "status"}
missing = expected - set(s)
assert not missing, f"summary.json lacks {missing}"
assert s["status"] == "complete" and s["digits"] == 10000 and s["correct_digits"] == 10000, s
assert s["estimate"].startswith("3.14159265358979323846264338327950288419716939937510"), s["estimate"]
assert s["ranks"] == 1 and s["elapsed_s"] >= 0
mant, exp = s["error_bound"].split("e")
assert int(exp) < -10000, s["error_bound"]
PY

# Every job file in jobs/ parses (its digits replaced by a small count so the check stays quick).
for f in "$src"/jobs/*.toml; do
  if "$job" --config "$f" --out "$tmp/parse" --progress-interval 0 --help >/dev/null 2>"$tmp/stderr"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $f does not parse"; cat "$tmp/stderr"; failures=$((failures + 1))
  fi
done

echo "$pass passed, $failures failed"
[[ $failures -eq 0 ]]
