# Shared by the shell tests: sourced, not run. Counts checks, says which failed, and gives the comparisons
# the tests assert with. A test ends with `finish`.
source "$(dirname "${BASH_SOURCE[0]}")/launcher.sh"
failures=0
pass=0
exec 7>&1  # the test's own output, for reports from calls whose output goes to a log (bounded)

check() {  # check "what" command...
  local what=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
  else
    echo "FAIL: $what"
    failures=$((failures + 1))
  fi
}

same_file() { cmp -s "$1" "$2" || { echo "  $1 and $2 differ"; return 1; }; }
# log_has LOG TEXT: the file LOG holds TEXT; when not, says so and shows the file's end.
log_has() { grep -q -- "$2" "$1" || { echo "  $1 lacks '$2':"; tail -5 "$1"; return 1; }; }
# exit_is NAME CODE: the exit code a case recorded in $tmp/NAME.rc is CODE; when not, shows $tmp/NAME.log's end.
exit_is() {
  local rc
  rc=$(cat "$tmp/$1.rc" 2>/dev/null)
  [[ $rc == "$2" ]] || { echo "  $1 exited ${rc:-nothing}, wanted $2:"; tail -5 "$tmp/$1.log" 2>/dev/null; return 1; }
}
# same_result DIR1 DIR2: the two jobs' summary.json give the same estimate, error bound and correct digits.
same_result() {
  [[ "$(json "$1/summary.json" 'd["estimate"], d["error_bound"], d["correct_digits"]')" == \
     "$(json "$2/summary.json" 'd["estimate"], d["error_bound"], d["correct_digits"]')" ]] ||
    { echo "  $1 and $2 have different results"; return 1; }
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

wait_for() {  # wait_for FILE TEXT SECONDS: until FILE has TEXT; says what it lacks when time runs out
  for _ in $(seq $(($3 * 20))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "  $1 never said '$2':"; tail -5 "$1" 2>/dev/null; return 1
}

# ended PID: the process is gone or a zombie. One read of its state: a process that is reaped between two
# looks (this shell reaps its children as they end) must not read as alive.
ended() {
  local state
  state=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [[ -z $state || $state == Z ]]
}

# wait_bounded PID SECONDS WHAT: waits for a background job of this shell and returns its exit code. One that
# outlives SECONDS is a hang and a failed check: its processes are shown (states, and every thread's stack
# where gdb can attach), they are killed, and the wait returns 124. Where every rank has ended and only
# Open MPI's mpirun stays, the same is shown and done, but it returns 125 and is no failure.
wait_bounded() {
  local pid=$1 i p gone=0
  for ((i = 0; i < $2 * 20; i++)); do
    ended "$pid" && { gone=1; break; }
    sleep 0.05
  done
  if ((!gone)); then
    local tree=("$pid" $(pgrep -P "$pid") $(for c in $(pgrep -P "$pid"); do pgrep -P "$c"; done))
    # Every rank ended (gone or a zombie) and only Open MPI's launcher stayed: mpirun's own hang in its
    # finalize (docs/mpi.md, "A stop sent to mpirun itself"), not the job's. Shown, killed, not counted.
    local launcher_alone=0
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) =~ ^(mpiexec|mpirun|orterun)$ ]]; then
      launcher_alone=1
      for p in "${tree[@]:1}"; do ended "$p" || launcher_alone=0; done
    fi
    {
      if ((launcher_alone)); then
        echo "NOTE: $3: every rank ended, but mpirun did not within $2 s (its own hang, not the job's); its processes:"
      else
        echo "FAIL: $3 did not end within $2 s (a hang); its processes:"
      fi
      ps -o pid,ppid,stat,etime,wchan:24,args -p "$(IFS=,; echo "${tree[*]}")" | cut -c1-200 | sed 's/^/    /'
      for p in "${tree[@]}"; do
        grep -q pi-job "/proc/$p/cmdline" 2>/dev/null || continue
        command -v gdb >/dev/null &&
          timeout 30 gdb -batch -p "$p" -ex "thread apply all bt 12" 2>/dev/null | grep -E "^(Thread|#)" |
          sed 's/^/    /'
      done
    } >&7
    kill -9 "${tree[@]}" 2>/dev/null
    wait "$pid"
    ((launcher_alone)) && return 125
    failures=$((failures + 1))
    return 124
  fi
  wait "$pid"
}

# bounded SECONDS WHAT command...: runs the command (with this call's redirections) under wait_bounded.
bounded() {
  local seconds=$1 what=$2
  shift 2
  "$@" 7>&- &
  wait_bounded $! "$seconds" "$what"
}

finish() {
  echo "$pass passed, $failures failed"
  [[ $failures -eq 0 ]]
}
