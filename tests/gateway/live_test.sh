#!/usr/bin/env bash
# The job, the gateway and a viewer together, with failures: live_test.sh CASE PI_JOB PI_GATEWAY
#   restart  the gateway is killed mid-job and restarted; the job goes on, and a viewer that reconnects
#            sees the done event
#   resume   the job is killed and resumed from its checkpoint while the gateway stays up: the viewer
#            stays connected, its ids keep increasing, and it sees the done event, equal to a clean run
#   lostnode job and gateway are killed together; a new gateway, the job resumed: the same, across both
#   stuck    a gateway that never answers (stopped, or half a response): the job still ends at once
set -u
case_name=$1
job=$2
gateway=$3
here=$(dirname "$0")
tmp=$(mktemp -d)
cleanup() {
  [[ -n ${sid:-} ]] && pkill -KILL -s "$sid" 2>/dev/null
  [[ -n ${gw:-} ]] && kill -9 "$gw" 2>/dev/null
  [[ -n ${viewer:-} ]] && kill -9 "$viewer" 2>/dev/null
  pkill -9 -f "$tmp" 2>/dev/null
  [[ -n ${KEEP:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT
source "$here/../support/harness.sh"

echo "token-$RANDOM-$RANDOM" >"$tmp/token"
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
start_gateway() {
  "$gateway" --listen "127.0.0.1:$port" --token-file "$tmp/token" >>"$tmp/gateway.log" 2>&1 &
  gw=$!
  for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/healthz" >/dev/null && return 0
    sleep 0.05
  done
  echo "gateway did not start"; cat "$tmp/gateway.log"; return 1
}
increasing() { awk '$1 ~ /^[0-9]+$/ { if ($1 <= prev && seen) { print "  id " $1 " after " prev; bad = 1 } prev = $1; seen = 1 } END { exit bad }' "$1"; }
job_args=(--series leibniz --terms 34359738368 --progress-interval 0 --assignment-seconds 0.3)

case $case_name in
  stuck)
    # A gateway that stops answering: SIGSTOPped, accepting and never replying, or sending half a response.
    # The job's end never waits on it: pi-job exits within a few seconds of its result.
    python3 - "$port" >"$tmp/stuck.log" 2>&1 <<'PY' &
import socket, sys, threading, time
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(64)
held = []
n = 0
while True:
    c, _ = srv.accept(); held.append(c); n += 1
    if n % 2 == 0:  # every other connection gets half a response, then nothing
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
PY
    viewer=$!  # (killed at the end like a viewer)
    sleep 0.5
    start=$SECONDS
    "$job" --series chudnovsky --digits 100003 --out "$tmp/stuck" --progress-interval 0 \
      --publish "http://127.0.0.1:$port" --token-file "$tmp/token" >"$tmp/stuckjob.log" 2>&1
    rc=$?
    check "publishing to a gateway that never answers: the job exits 0" [ "$rc" == 0 ]
    check "the job ends within 25 s ($((SECONDS - start)) s; it waited for ever before)" [ $((SECONDS - start)) -le 25 ]
    check "the result is written" [ -s "$tmp/stuck/pi.txt" ]
    kill -9 "$viewer"
    # A real pi-gateway, SIGSTOPped while the job publishes to it.
    start_gateway
    kill -STOP "$gw"
    start=$SECONDS
    "$job" --series chudnovsky --digits 100003 --out "$tmp/stopped" --progress-interval 0 \
      --publish "http://127.0.0.1:$port" --token-file "$tmp/token" >"$tmp/stoppedjob.log" 2>&1
    rc=$?
    check "publishing to a stopped pi-gateway: the job exits 0" [ "$rc" == 0 ]
    check "and ends within 25 s ($((SECONDS - start)) s)" [ $((SECONDS - start)) -le 25 ]
    kill -CONT "$gw"
    ;;
  restart)
    start_gateway
    python3 "$here/follow.py" "$port" "$tmp/viewer.log" 120 &
    viewer=$!
    setsid mpirun -n 3 "$job" "${job_args[@]}" --out "$tmp/run" --publish "http://127.0.0.1:$port" \
      --token-file "$tmp/token" >"$tmp/job.log" 2>&1 &
    sid=$!
    wait_for "$tmp/viewer.log" "estimate" 30
    kill -9 "$gw"
    wait "$gw" 2>/dev/null
    sleep 2
    check "the job notices the gateway is gone, and goes on" wait_for "$tmp/job.log" "cannot publish to the gateway" 10
    start_gateway
    check "the job reconnects" wait_for "$tmp/job.log" "is back" 30
    wait "$viewer"
    check "the viewer that reconnected saw the done event" [ $? -eq 0 ]
    viewer=""
    wait "$sid"
    check "the job completed" [ "$(json "$tmp/run/summary.json" 'd["status"]')" == complete ]
    check "the viewer reconnected" [ "$(grep -c '^connected' "$tmp/viewer.log")" -ge 2 ]
    check "the viewer's ids only increased" increasing "$tmp/viewer.log"
    check "the done event carries the job's summary" \
      [ "$(json "$tmp/viewer.log.done" 'd["estimate"]')" == "$(json "$tmp/run/summary.json" 'd["estimate"]')" ]
    ;;
  resume | lostnode)
    mpirun -n 3 "$job" "${job_args[@]}" --out "$tmp/ref" >/dev/null 2>&1
    start_gateway
    python3 "$here/follow.py" "$port" "$tmp/viewer.log" 180 &
    viewer=$!
    setsid mpirun -n 3 "$job" "${job_args[@]}" --out "$tmp/run" --publish "http://127.0.0.1:$port" \
      --token-file "$tmp/token" --checkpoint-interval 1 >"$tmp/job.log" 2>&1 &
    sid=$!
    wait_for "$tmp/job.log" "checkpoint 2 written" 60
    sleep 0.5
    pkill -KILL -s "$sid"
    while pgrep -s "$sid" >/dev/null; do sleep 0.05; done
    sid=""
    if [[ $case_name == lostnode ]]; then
      kill -9 "$gw"
      wait "$gw" 2>/dev/null
    fi
    sleep 0.5
    before=$(awk '$1 ~ /^[0-9]+$/ {last=$1} END {print last}' "$tmp/viewer.log")
    saved=$(h5dump -a /last_event_id "$tmp/run/checkpoint.h5" | sed -n 's/^ *(0): //p')
    check "the checkpoint records the last event id" [ "${saved:-0}" -gt 0 ]
    [[ $case_name == lostnode ]] && start_gateway
    mpirun -n 3 "$job" --resume --out "$tmp/run" --progress-interval 0 --publish "http://127.0.0.1:$port" \
      --token-file "$tmp/token" >"$tmp/resume.log" 2>&1
    check "the resumed job exits 0" [ $? -eq 0 ]
    wait "$viewer"
    check "the viewer saw the done event" [ $? -eq 0 ]
    viewer=""
    check "the viewer's ids only increased across the kill and the resume" increasing "$tmp/viewer.log"
    after=$(awk '$1 ~ /^[0-9]+$/ {last=$1} END {print last}' "$tmp/viewer.log")
    check "ids went on past those before the kill ($before < $after)" [ "$after" -gt "$before" ]
    check "the done event equals a clean run's estimate" \
      [ "$(json "$tmp/viewer.log.done" 'd["estimate"], d["error_bound"]')" == \
        "$(json "$tmp/ref/summary.json" 'd["estimate"], d["error_bound"]')" ]
    check "the done event counts the resume" [ "$(json "$tmp/viewer.log.done" 'd["resumes"]')" == 1 ]
    if [[ $case_name == resume ]]; then
      check "the viewer stayed connected through the kill and the resume" \
        [ "$(grep -c '^connected' "$tmp/viewer.log")" == 1 ]
    fi
    ;;
  *)
    echo "unknown case $case_name"; exit 2 ;;
esac
finish
