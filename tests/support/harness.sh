# Shared by the shell tests: sourced, not run. Counts checks, says which failed, and gives the comparisons
# the tests assert with. A test ends with `finish`.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
failures=0
pass=0

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
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$1" "$2"; }

wait_for() {  # wait_for FILE TEXT SECONDS: until FILE has TEXT; says what it lacks when time runs out
  for _ in $(seq $(($3 * 20))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "  $1 never said '$2':"; tail -5 "$1" 2>/dev/null; return 1
}

finish() {
  echo "$pass passed, $failures failed"
  [[ $failures -eq 0 ]]
}
