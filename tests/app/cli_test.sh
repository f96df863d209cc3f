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
expect_usage_error "did you mean chudnovsky?" --series chudnovksy --digits 10 --out "$tmp/o"
# A mistyped option is named with the nearest one, before any other complaint (here: no --out).
expect_usage_error "unknown option '--digit': did you mean --digits?" --series chudnovsky --digit 1000
expect_usage_error "unknown option '--chekpoint-interval': did you mean --checkpoint-interval?" \
  --series chudnovsky --digits 10 --out "$tmp/o" --chekpoint-interval 5
expect_usage_error "unknown option '--colour'" --series chudnovsky --digits 10 --out "$tmp/o" --colour blue
expect_usage_error "unknown option '-d': options are long" --series chudnovsky -d 10 --out "$tmp/o"
expect_usage_error "not expected: 1000: every value follows its option" --series chudnovsky 1000 --out "$tmp/o"
expect_usage_error "--threads '0' is not accepted: give 1 to 256" --series chudnovsky --digits 10 --out "$tmp/o" --threads 0
expect_usage_error "--start-timeout '0.5' is not accepted: give 1 to 86400 seconds" --series chudnovsky --digits 10 \
  --out "$tmp/o" --start-timeout 0.5
# Threads are for a run in one process; under a launcher of 3 ranks rank 0 refuses them, once.
OMPI_COMM_WORLD_SIZE=3 OMPI_COMM_WORLD_RANK=0 expect_usage_error \
  "--threads 2 is for a run in one process; this one has 3 ranks (OMPI_COMM_WORLD_SIZE): give more ranks instead" \
  --series chudnovsky --digits 10 --out "$tmp/o" --threads 2
expect_usage_error "'0'" --series chudnovsky --digits 0 --out "$tmp/o"
expect_usage_error "'-5'" --series chudnovsky --digits -5 --out "$tmp/o"
expect_usage_error "'ten'" --series chudnovsky --digits ten --out "$tmp/o"
expect_usage_error "'2.5' is not accepted (not a whole number)" --series chudnovsky --digits 2.5 --out "$tmp/o"
expect_usage_error "'1e12' is not accepted (more than 100000000000)" --series chudnovsky --digits 1e12 --out "$tmp/o"
expect_usage_error "'1__000'" --series chudnovsky --digits 1__000 --out "$tmp/o"
expect_usage_error "'10X'" --series chudnovsky --digits 10X --out "$tmp/o"
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

# ok "what" command...: a check that passes when the command does.
ok() {
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else echo "FAIL: $what"; failures=$((failures + 1)); fi
}
# expect_refusal CODE "needle" args...: exit CODE, one line on stderr with the needle.
expect_refusal() {
  local code=$1 needle=$2
  shift 2
  "$job" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$? lines
  lines=$(wc -l <"$tmp/stderr")
  if [[ $rc -ne $code || $lines -ne 1 ]] || ! grep -qF -- "$needle" "$tmp/stderr"; then
    echo "FAIL: pi-job $* -> exit $rc, $lines stderr lines, wanted $code and one line with '$needle':"
    cat "$tmp/stderr"
    failures=$((failures + 1))
  else
    pass=$((pass + 1))
  fi
}
listing() { (cd "$1" && find . -print0 | sort -z | xargs -0 stat -c '%n %F %s' 2>/dev/null; find . -type f -print0 | sort -z | xargs -0 sha256sum); }

# A refused command line creates nothing: a bad --serve address, a port in use, too many digits.
expect_usage_error "--serve 'nonsense'" --series machin --digits 10 --out "$tmp/none1" --serve nonsense
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); open('$tmp/port','w').write(str(s.getsockname()[1])); time.sleep(300)" &
holder=$!
for _ in $(seq 600); do [[ -s $tmp/port ]] && break; sleep 0.1; done
expect_usage_error "--serve" --series machin --digits 10 --out "$tmp/none2" --serve "127.0.0.1:$(cat "$tmp/port")"
kill "$holder"
expect_usage_error "MiB" --series chudnovsky --digits 100000000000 --out "$tmp/none3"
expect_usage_error "no checkpoint.h5" --resume --out "$tmp/none4"
ok "refused command lines created no directory" bash -c "! ls -d '$tmp'/none* 2>/dev/null"
expect_usage_error "is not a regular file" --series machin --digits 10 --out "$tmp/o" --token-file "$tmp"

# Job files: TOML as written by people (a BOM, 1_000, 0x10, \"\"\" strings); a syntax error names the line;
# a binary file is refused without echoing it.
printf '\xef\xbb\xbfseries = "machin"\ndigits = 1_000\nout = """%s/toml"""\ncheckpoint-interval = 0x10\nprogress-interval = 0\n' "$tmp" >"$tmp/rich.toml"
"$job" --config "$tmp/rich.toml" 2>"$tmp/stderr"
ok "a job file with a BOM, 1_000, 0x10 and a multi-line string runs" cmp -s <(head -c 1002 "$tmp/toml/pi.txt") <(head -c 1002 "$src/data/pi-10000.txt")
printf 'series = "machin\ndigits = 10\n' >"$tmp/broken.toml"
expect_usage_error "at line 1" --config "$tmp/broken.toml"
head -c 2000 /bin/sh >"$tmp/binary.toml"
expect_usage_error "is not a text file" --config "$tmp/binary.toml"

# One run per directory: a second run is refused with exit 2 naming the first; the lock of a run that was
# killed does not block a resume.
"$job" --series leibniz --terms 4503599627370496 --out "$tmp/busy" --progress-interval 0 --checkpoint-interval 0 2>"$tmp/busy.log" &
first=$!
for _ in $(seq 1200); do grep -q "ranges on 1 rank" "$tmp/busy.log" && break; sleep 0.05; done
expect_usage_error "is in use by another pi-job run (pid $first on" --resume --out "$tmp/busy"
expect_usage_error "is in use by another pi-job run" --series machin --digits 10 --out "$tmp/busy"
ok "the refused runs wrote no checkpoint into the busy directory" [ ! -e "$tmp/busy/checkpoint.h5" ]
kill -9 "$first"
wait "$first" 2>/dev/null
ok "a killed run leaves its lock file" [ -e "$tmp/busy/.pi-job.lock" ]
"$job" --series leibniz --terms 1000000 --out "$tmp/busy" --progress-interval 0 2>"$tmp/stderr"
ok "a stale lock does not block the next run" grep -q '"status": "complete"' "$tmp/busy/summary.json"
ok "a run that ends removes its lock file" [ ! -e "$tmp/busy/.pi-job.lock" ]

# Run settings carry over to a resume: --checkpoint-interval given to the first run is the resumed run's.
"$job" --series leibniz --terms 4503599627370496 --out "$tmp/carry" --progress-interval 0 --checkpoint-interval 0.5 2>"$tmp/carry.log" &
first=$!
for _ in $(seq 1200); do grep -q "checkpoint 1 written" "$tmp/carry.log" && break; sleep 0.05; done
kill -TERM "$first"
wait "$first"
"$job" --resume --out "$tmp/carry" 2>"$tmp/carry2.log" &
second=$!
# Two interval checkpoints within 30 s, however slow the machine (a sanitizer build, a loaded CI): with the
# default interval (60 s) not even one could come.
for _ in $(seq 300); do
  [[ $(grep -c 'written (interval)' "$tmp/carry2.log") -ge 2 ]] && break
  sleep 0.1
done
kill -TERM "$second"
wait "$second"
ok "a resume keeps --checkpoint-interval 0.5 (two interval checkpoints within 30 s)" \
  [ "$(grep -c 'written (interval)' "$tmp/carry2.log")" -ge 2 ]
ok "and its progress interval 0 (no progress lines)" bash -c "! grep -q 'progress:' '$tmp/carry2.log'"

# What is named checkpoint.h5 but is no file: a one-line refusal, never a hang or a raw error.
for odd in fifo dir loop; do
  d=$tmp/odd-$odd
  mkdir -p "$d"
  case $odd in
    fifo) mkfifo "$d/checkpoint.h5" ;;
    dir) mkdir "$d/checkpoint.h5" ;;
    loop) ln -s checkpoint.h5 "$d/checkpoint.h5" ;;
  esac
  before=$(listing "$d")
  timeout 20 "$job" --resume --out "$d" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  ok "checkpoint.h5 as a $odd: exit 4 (got $rc)" [ "$rc" == 4 ]
  ok "checkpoint.h5 as a $odd: one line" [ "$(wc -l <"$tmp/stderr")" == 1 ]
  ok "checkpoint.h5 as a $odd: nothing changed" [ "$before" == "$(listing "$d")" ]
done

# A complete job whose pi.txt and summary.json were deleted writes them again, byte for byte.
cp "$tmp/good/pi.txt" "$tmp/good-pi.txt"
cp "$tmp/good/summary.json" "$tmp/good-summary.json"
rm "$tmp/good/pi.txt" "$tmp/good/summary.json"
"$job" --resume --out "$tmp/good" 2>"$tmp/stderr"
ok "lost outputs of a complete job: exit 0" [ $? == 0 ]
ok "pi.txt written again, the same bytes" cmp -s "$tmp/good/pi.txt" "$tmp/good-pi.txt"
ok "summary.json written again, the same bytes" cmp -s "$tmp/good/summary.json" "$tmp/good-summary.json"
rm "$tmp/good/pi.txt" "$tmp/good/result.h5"
"$job" --resume --out "$tmp/good" --progress-interval 0 2>"$tmp/stderr"
ok "result.h5 lost too: the final steps run again and pi.txt is the same" cmp -s "$tmp/good/pi.txt" "$tmp/good-pi.txt"

# The command line helps: usage without arguments, help with groups, examples and exit codes, the version
# with the libraries, counts and series names as people write them.
"$job" >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
ok "no arguments: exit 2" [ "$rc" == 2 ]
ok "no arguments: the usage on stderr" grep -q "^usage: pi-job --series NAME (--digits N | --terms N) --out DIR" "$tmp/stderr"
ok "no arguments: points to --help" grep -q "pi-job --help" "$tmp/stderr"
ok "no arguments: nothing on stdout" [ ! -s "$tmp/stdout" ]
"$job" --help >"$tmp/help" 2>&1
for text in "^The job:" "^Output and checkpoints:" "^The live page:" "^Scheduling across ranks:" "^Verification:" \
  "^Examples:" "^  mpirun -n 4 pi-job" "^  sbatch .*slurm/pi.sbatch" "^Exit codes:" "^  3  stopped by SIGINT" \
  "^  4  the checkpoint" "--digits N " "1e6 and 1M"; do
  ok "--help shows '$text'" grep -q -- "$text" "$tmp/help"
done
# The manual page documents every option --help lists.
for option in $(grep -o -E "^  (-h,)?--[a-z-]+" "$tmp/help" | sed 's/^  \(-h,\)\?//' | sort -u); do
  ok "docs/pi-job.1 documents $option" grep -q -F -- "$(sed 's/-/\\-/g' <<<"$option")" "$src/docs/pi-job.1"
done
"$job" --version >"$tmp/version" 2>&1
for lib in "^pi-job [0-9]" "GMP [0-9]" "MPFR [0-9]" "HDF5 [0-9]" "Boost [0-9]" "MPI: .*[0-9]" "FLINT [0-9]"; do
  ok "--version names '$lib'" grep -q "$lib" "$tmp/version"
done
for count in 1000 1_000 1,000 1e3 1k 1K 0.001M 1.0e3; do
  "$job" --series Chudnovsky --digits "$count" --out "$tmp/count-$count" --progress-interval 0 2>"$tmp/stderr"
  ok "--series Chudnovsky --digits $count: the first 1000 digits" \
    cmp -s "$tmp/count-$count/pi.txt" <(head -c 1002 "$src/data/pi-10000.txt"; echo)
done
[[ -e $tmp/count-1000/pi.txt ]] && ok "the reference run wrote 1002 characters and a newline" \
  [ "$(wc -c <"$tmp/count-1000/pi.txt")" == 1003 ]
"$job" --series LEIBNIZ --terms 2M --out "$tmp/terms" --progress-interval 0 2>"$tmp/stderr"
ok "--terms 2M: two million terms" [ "$(python3 -c "import json; print(json.load(open('$tmp/terms/summary.json'))['terms'])")" == 2000000 ]

# --dry-run: the plan, from a calibration run here, and nothing written.
"$job" --series Chudnovsky --digits 1e6 --out "$tmp/dry" --dry-run >"$tmp/dry.txt" 2>"$tmp/stderr"
rc=$?
ok "--dry-run: exit 0" [ "$rc" == 0 ]
ok "--dry-run: nothing created" [ ! -e "$tmp/dry" ]
for text in "chudnovsky (binary splitting), 1000000 digits: [0-9]* terms in [0-9]* ranges" "starts from the beginning" \
  "ranks: *1 (no MPI launcher)" "memory: *about [0-9.]* MB" "checkpoint: *about [0-9.]* [kM]B" \
  "time here: *about [0-9.]* s in one process (series [0-9.]* s, final steps [0-9.]* s)" \
  "calibration run of the first [0-9]* terms took"; do
  ok "--dry-run says '$text'" grep -q -- "$text" "$tmp/dry.txt"
done
OMPI_COMM_WORLD_SIZE=4 "$job" --series leibniz --terms 1G --out "$tmp/dry" --dry-run >"$tmp/dry4.txt" 2>&1
ok "--dry-run under a launcher of 4 ranks: 3 workers" grep -q "ranks: *4 (OMPI_COMM_WORLD_SIZE): rank 0 coordinates, 3 workers" "$tmp/dry4.txt"
ok "--dry-run under a launcher: the time with the workers" grep -q "with 3 workers: about" "$tmp/dry4.txt"
"$job" --resume --out "$tmp/good" --dry-run >"$tmp/drygood.txt" 2>&1
ok "--dry-run of a complete job says so" grep -q "is complete" "$tmp/drygood.txt"
expect_usage_error "holds the checkpoint of a job" --series chudnovsky --digits 1000 --out "$tmp/good" --dry-run

# More digits than this machine's memory holds: refused before anything runs (exit 2, one line naming what
# the job needs, what is available and how many digits would fit), and the digits it offers do fit.
avail_mib=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
too_many=$((avail_mib * 1048576 / 5))  # about twice what fits, at 10 bytes a digit
if [[ $too_many -le 100000000000 ]]; then
  expect_usage_error "MiB is available; ask for at most about" --series chudnovsky --digits "$too_many" --out "$tmp/huge"
  ok "too many digits: nothing created" [ ! -e "$tmp/huge" ]
  read -r need have fits < <(sed -n 's/.*needs about \([0-9]*\) MiB but only \([0-9]*\) MiB is available; ask for at most about \([0-9]*\) digits.*/\1 \2 \3/p' "$tmp/stderr")
  ok "too many digits: the need is 64 MiB and 10 bytes a digit" \
    [ "${need:-0}" == $(((64 * 1048576 + 10 * too_many) / 1048576)) ]
  ok "too many digits: what is available, as /proc/meminfo has it (within 5%)" \
    python3 -c "import sys; sys.exit(abs(${have:-0} - $avail_mib) > 0.05 * $avail_mib)"
  # (The message rounds the bytes available down to whole MiB.)
  ok "too many digits: the digits offered fit, and are not a tenth fewer than fit" python3 -c "
import sys
n = 64 * 2**20 + 10 * ${fits:-0}
sys.exit(not (0 < n <= (${have:-0} + 1) * 2**20 < 1.1 * n))"
else
  echo "skipped: the memory refusal (twice what fits here is above --digits' limit of 1e11)"
fi
# The estimate is above what a run takes: chudnovsky 1e7 (where the bytes a digit outweigh the fixed 64 MiB)
# in one process, and with two threads. Not in a sanitizer's build: its shadow memory is not the job's.
if [[ -z ${PI_TEST_SANITIZED:-} ]]; then
  for threads in 1 2; do
    "$job" --series chudnovsky --digits 1e7 --threads "$threads" --out "$tmp/mem$threads" --dry-run >"$tmp/mem$threads.txt" 2>&1
    "$job" --series chudnovsky --digits 1e7 --threads "$threads" --out "$tmp/mem$threads" --progress-interval 0 2>"$tmp/stderr"
    estimate=$(sed -n 's/.*memory: *about \([0-9.]*\) MB.*/\1/p' "$tmp/mem$threads.txt")
    ok "--threads $threads: the peak of a 1e7 run is under the estimate (${estimate:-none} MB)" python3 -c "
import json, sys
peak = json.load(open(sys.argv[1]))['coordinator']['peak_rss_bytes']
sys.exit(not 0 < peak < float(sys.argv[2]) * 1e6)" "$tmp/mem$threads/summary.json" "${estimate:-0}"
  done
else
  echo "skipped: the peak against the estimate (a sanitizer's build)"
fi

echo "$pass passed, $failures failed"
[[ $failures -eq 0 ]]
