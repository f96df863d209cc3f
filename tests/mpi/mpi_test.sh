#!/usr/bin/env bash
# pi-job under a real mpirun: mpi_test.sh CASE PI_JOB MPFR_DIGITS [ARTIFACTS]
# Each case prints what it checked and exits non-zero when a check failed; the logs of a failed case are kept
# in ARTIFACTS/mpi-CASE-TIME. A job that does not end after its signal is a hang, shown and killed (wait_bounded).
set -u
case_name=$1
job=$2
mpfr_digits=$3
artifacts=${4:-}
tmp=$(mktemp -d)
cleanup() {
  [[ -n ${bg:-} ]] && kill -9 "$bg" 2>/dev/null
  [[ -n ${sid:-} ]] && pkill -KILL -s "$sid" 2>/dev/null
  pkill -9 -f "$tmp" 2>/dev/null
  if [[ -n $artifacts && $failures -gt 0 ]]; then
    local keep
    keep="$artifacts/mpi-$case_name-$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$keep" && cp "$tmp"/*.log "$tmp"/*.rc "$keep"/ 2>/dev/null
    for o in "$tmp"/*/summary.json; do [[ -e $o ]] && cp "$o" "$keep/$(basename "$(dirname "$o")").summary.json"; done
    echo "the logs of this failed case are in $keep"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "$0")/../support/harness.sh"

# run NAME RANKS [mpirun flags --] pi-job args: runs the job, output in $tmp/NAME, log in $tmp/NAME.log
run() {
  local name=$1 ranks=$2
  shift 2
  local mpiflags=()
  if [[ " $* " == *" -- "* ]]; then
    while [[ $1 != -- ]]; do mpiflags+=("$1"); shift; done
    shift
  fi
  if [[ $ranks == 0 ]]; then
    bounded 200 "pi-job ($name)" "$job" "$@" --out "$tmp/$name" --progress-interval 0 >"$tmp/$name.log" 2>&1
  else
    bounded 200 "mpirun ($name)" mpirun "${mpiflags[@]}" -n "$ranks" "$job" "$@" --out "$tmp/$name" \
      --progress-interval 0 \
      >"$tmp/$name.log" 2>&1
  fi
  echo $? >"$tmp/$name.rc"
}

# The reference digits, from MPFR's AGM.
"$mpfr_digits" 100003 >"$tmp/mpfr-100003.txt"
fast=(--series chudnovsky --digits 100003)
# Fault cases: a deadline of one second at least, and one second for a worker's first task.
quick=(--min-deadline 1 --first-deadline 1)

case $case_name in
  ranks)
    # --dry-run under mpirun: rank 0 prints the plan for its ranks, once; nothing is written.
    bounded 120 "mpirun --dry-run" mpirun -n 3 "$job" --series chudnovsky --digits 1e6 --out "$tmp/dry" --dry-run \
      >"$tmp/dry.log" 2>&1
    check "--dry-run under mpirun -n 3: the plan once" [ "$(grep -c "^pi-job --dry-run" "$tmp/dry.log")" == 1 ]
    check "--dry-run under mpirun -n 3: two workers" grep -q "rank 0 coordinates, 2 workers compute" "$tmp/dry.log"
    check "--dry-run under mpirun: nothing written" [ ! -e "$tmp/dry" ]
    # pi.txt is byte-identical for 1, 2, 3 and 4 ranks and equal to MPFR's digits; slow series too.
    for n in 1 2 3 4; do
      run "chud$n" "$n" "${fast[@]}"
      check "chudnovsky on $n ranks exits 0" exit_is "chud$n" 0
      check "chudnovsky on $n ranks equals MPFR" same_file "$tmp/chud$n/pi.txt" "$tmp/mpfr-100003.txt"
      check "summary.json says $n ranks" [ "$(json "$tmp/chud$n/summary.json" 'd["ranks"]')" == "$n" ]
      run "leib$n" "$n" --series leibniz --terms 100663419
      check "leibniz on $n ranks exits 0" exit_is "leib$n" 0
      check "leibniz estimate identical on $n ranks" \
        [ "$(json "$tmp/leib$n/summary.json" 'd["estimate"], d["error_bound"]')" == \
          "$(json "$tmp/leib1/summary.json" 'd["estimate"], d["error_bound"]')" ]
    done
    check "4 ranks: three workers in summary.json" [ "$(json "$tmp/chud4/summary.json" 'len(d["workers"])')" == 3 ]
    check "4 ranks: the workers did all the evaluations" \
      [ "$(json "$tmp/chud4/summary.json" 'sum(w["terms"] for w in d["workers"]) == d["terms"]')" == True ]
    # What each rank used: every worker reported its memory and traffic. Pieces stay on the workers, and a
    # merge fetches the operand it lacks from the worker that holds it: the workers received more than rank
    # 0 sent them, and not all traffic went through rank 0.
    check "4 ranks: every worker reports a peak RSS over 1 MB and bytes sent" \
      [ "$(json "$tmp/chud4/summary.json" 'all(w["peak_rss_bytes"] > 2**20 and w["bytes_sent"] > 0 for w in d["workers"])')" == True ]
    check "4 ranks: the workers received pieces from each other" \
      [ "$(json "$tmp/chud4/summary.json" 'sum(w["bytes_received"] for w in d["workers"]) > d["coordinator"]["bytes_sent"]')" == True ]
    check "4 ranks: not all traffic went through rank 0" \
      [ "$(json "$tmp/chud4/summary.json" 'd["coordinator"]["share_through_rank_0"] < 1')" == True ]
    for s in machin ramanujan; do
      "$mpfr_digits" 20001 >"$tmp/mpfr-20001.txt"
      run "$s" 3 --series "$s" --digits 20001
      check "$s on 3 ranks equals MPFR" same_file "$tmp/$s/pi.txt" "$tmp/mpfr-20001.txt"
    done
    ;;
  faults)
    # Each injected failure kind ends with the identical result, and the summary counts the retry.
    for f in "fail:2:#2" "slow:2:#2:1:3" "hang:2:#2" "fail:2:digits"; do
      name=${f%%:*}
      [[ $f == *digits ]] && name=digits
      PI_FAULT=$f run "$name" 3 "${fast[@]}" "${quick[@]}"
      check "$f: digits equal MPFR" same_file "$tmp/$name/pi.txt" "$tmp/mpfr-100003.txt"
      check "$f: status complete" [ "$(json "$tmp/$name/summary.json" 'd["status"]')" == complete ]
      check "$f: a retry was counted" [ "$(json "$tmp/$name/summary.json" 'd["retries"] >= 1')" == True ]
    done
    check "fail: the failure was reported" log_has "$tmp/fail.log" "injected failure"
    check "fail: mpirun exits 0" exit_is fail 0
    check "slow: the deadline was noticed" log_has "$tmp/slow.log" "missed its deadline"
    check "slow: mpirun exits 0" exit_is slow 0
    check "slow: the slow rank was waited for, not aborted" log_has "$tmp/slow.log" "answered after all"
    check "hang: rank 0 says a rank was lost" log_has "$tmp/hang.log" "were lost during the run"
    # A hung rank is ended by rank 0, not by MPI_Abort (after which mpirun 4.1.4 can hang for good):
    # mpirun ends the job as for a dead rank.
    check "hang: rank 0 ended the hung rank" log_has "$tmp/hang.log" "never answered again: ended it"
    if [[ $PI_MPI_FAMILY == openmpi ]]; then
      check "hang: mpirun ends as for a dead rank (137)" exit_is hang 137
    else
      check "hang: mpiexec ends as for a dead rank (9, the signal)" exit_is hang 9
    fi
    check "hang: the job completed first" [ "$(json "$tmp/hang/summary.json" 'd["status"]')" == complete ]
    check "digits: a block of the conversion failed and was retried" log_has "$tmp/digits.log" "injected failure (PI_FAULT) on decimal digits"
    # The only worker overdue but beating (slow, not gone: a loaded node): the job waits for its late
    # answer instead of stopping because no worker can take work.
    PI_FAULT="slow:1:#2:1:3" run alone 2 "${fast[@]}" "${quick[@]}"
    check "slow and alone: digits equal MPFR" same_file "$tmp/alone/pi.txt" "$tmp/mpfr-100003.txt"
    check "slow and alone: the deadline was noticed" log_has "$tmp/alone.log" "missed its deadline"
    check "slow and alone: mpirun exits 0" exit_is alone 0
    # Workers that die (SIGKILL) on their second task and while they convert a block: the job goes on under
    # Open MPI's --enable-recovery (MPICH ends the job: the sigkill case).
    keeps_ranks_after_a_loss || { finish; exit; }
    PI_FAULT="die:2:#2" run die 3 --enable-recovery -- "${fast[@]}" "${quick[@]}"
    check "die: digits equal MPFR" same_file "$tmp/die/pi.txt" "$tmp/mpfr-100003.txt"
    check "die: the deadline was noticed" log_has "$tmp/die.log" "missed its deadline"
    PI_FAULT="die:2:digits" run diedigits 3 --enable-recovery -- "${fast[@]}" "${quick[@]}"
    check "die in the conversion: digits equal MPFR" same_file "$tmp/diedigits/pi.txt" "$tmp/mpfr-100003.txt"
    check "die in the conversion: the deadline was noticed" log_has "$tmp/diedigits.log" "missed its deadline"
    ;;
  corrupt)
    # Silent errors: a worker returns a damaged integer (one bit flipped) or a damaged block of digits.
    # The fingerprints catch it, the task is computed again elsewhere, and the digits are MPFR's.
    verified() { [ "$(json "$tmp/$1/summary.json" 'd["verification"]["verified"]')" == True ]; }
    mismatches() { json "$tmp/$1/summary.json" 'd["verification"]["fingerprints"]["mismatches"]'; }
    PI_FAULT="corrupt:2:#2" run once 3 "${fast[@]}"
    check "once: digits equal MPFR" same_file "$tmp/once/pi.txt" "$tmp/mpfr-100003.txt"
    check "once: one mismatch counted" [ "$(mismatches once)" == 1 ]
    check "once: counted against rank 2" \
      [ "$(json "$tmp/once/summary.json" '[w["mismatches"] for w in d["workers"] if w["rank"] == 2][0]')" == 1 ]
    check "once: the log names the fingerprint" log_has "$tmp/once.log" "fails its fingerprint"
    check "once: verified" verified once
    PI_FAULT="corrupt:1:*:0" run always 3 "${fast[@]}"
    check "always: digits equal MPFR" same_file "$tmp/always/pi.txt" "$tmp/mpfr-100003.txt"
    check "always: rank 1 is retired" \
      [ "$(json "$tmp/always/summary.json" '[w["retired"] for w in d["workers"] if w["rank"] == 1][0]')" == True ]
    check "always: at least 3 mismatches" [ "$(mismatches always)" -ge 3 ]
    check "always: rank 2 did the work" \
      [ "$(json "$tmp/always/summary.json" '[w["terms"] for w in d["workers"] if w["rank"] == 2][0] == d["terms"]')" == True ]
    PI_FAULT="corrupt:2:digits" run digits 3 "${fast[@]}"
    check "a damaged conversion block: digits equal MPFR" same_file "$tmp/digits/pi.txt" "$tmp/mpfr-100003.txt"
    check "a damaged conversion block: caught" log_has "$tmp/digits.log" "does not spell the integer it was converted from"
    check "a damaged conversion block: one mismatch" [ "$(mismatches digits)" == 1 ]
    # Slow series: a worker's first range is always computed again by another worker; a damaged sum there
    # is outvoted by a third run and the estimate is that of a clean run.
    run slowref 3 --series leibniz --terms 1006632965 --duplicate-share 0
    PI_FAULT="corrupt:1:#1" run slow 3 --series leibniz --terms 1006632965
    check "slow series: the estimate equals a clean run's" \
      [ "$(json "$tmp/slow/summary.json" 'd["estimate"], d["error_bound"]')" == \
        "$(json "$tmp/slowref/summary.json" 'd["estimate"], d["error_bound"]')" ]
    check "slow series: one disagreement, settled" \
      [ "$(json "$tmp/slow/summary.json" 'd["verification"]["duplicates"]["disagreements"]')" == 1 ]
    check "slow series: counted against rank 1" \
      [ "$(json "$tmp/slow/summary.json" '[w["mismatches"] for w in d["workers"] if w["rank"] == 1][0]')" == 1 ]
    check "slow series: the log says which" log_has "$tmp/slow.log" "disagrees with two other workers"
    # A wrong final value (wrong from its 64th bit on, after the division): the BBP digits disagree, the job fails.
    for n in 0 3; do
      PI_FAULT="corrupt:0:final" run "final$n" "$n" "${fast[@]}"
      check "wrong final value ($n ranks): exit 1" exit_is "final$n" 1
      check "wrong final value ($n ranks): no pi.txt" [ ! -e "$tmp/final$n/pi.txt" ]
      check "wrong final value ($n ranks): summary.json says why" \
        [ "$(json "$tmp/final$n/summary.json" 'd["status"], d["verification"]["verified"], d["verification"]["bbp"]["agree"]')" == \
          "('failed verification', False, False)" ]
      check "wrong final value ($n ranks): the log names BBP" log_has "$tmp/final$n.log" "the BBP formula gives"
    done
    ;;
  sigkill)
    # A worker process SIGKILLed from outside in the middle of a run. Open MPI, under --enable-recovery: the
    # job goes on and completes. MPICH's Hydra ends every rank at once (docs/mpi.md): the checkpoints
    # written every 0.3 s are what is left, and the resume completes the job with the same estimate.
    run ref 1 --series leibniz --terms 8589934592
    # kill_rank RANK NAME [launcher flags --] [pi-job flags]: the job in the background, and rank RANK
    # SIGKILLed once the job works: when rank 0 has written a checkpoint with ranges done (the first is
    # written 0.3 s in, done or not), so after every rank's MPI_Init, and a resume has work to skip. (A rank
    # killed before MPI_Init is a case below: under ASan a rank's start alone can take more than a second.)
    kill_rank() {
      local rank=$1 name=$2 victim="" flags=()
      shift 2
      if [[ " $* " == *" -- "* ]]; then
        while [[ $1 != -- ]]; do flags+=("$1"); shift; done
        shift
      fi
      mpirun "${flags[@]}" -n 3 "$job" --series leibniz --terms 8589934592 --out "$tmp/$name" --progress-interval 0 \
        "${quick[@]}" --assignment-seconds 0.2 --checkpoint-interval 0.3 "$@" >"$tmp/$name.log" 2>&1 &
      bg=$!
      wait_for "$tmp/$name.log" "checkpoint [0-9]* written (interval): [1-9][0-9]*/" 60 &&
        victim=$(rank_pid "$rank" "--out $tmp/$name")
      check "$name: found rank $rank of a started job" [ -n "$victim" ]
      kill -9 "$victim"
      wait_bounded "$bg" 120 "pi-job ($name)"
      echo $? >"$tmp/$name.rc"
      bg=""
    }
    same_estimate() {
      [ "$(json "$tmp/$1/summary.json" 'd["estimate"], d["error_bound"]')" == \
        "$(json "$tmp/ref/summary.json" 'd["estimate"], d["error_bound"]')" ]
    }
    if keeps_ranks_after_a_loss; then
      kill_rank 2 killed --enable-recovery --
      check "the job finished after losing a worker" [ "$(json "$tmp/killed/summary.json" 'd["status"]')" == complete ]
      check "the estimate is identical to a run without failures" same_estimate killed
      check "the lost worker was noticed" grep -q "missed its deadline" "$tmp/killed.log"
      # A rank that dies before its MPI_Init (or inside it) leaves the others in MPI_Init for good: their
      # watchdog (--start-timeout) ends them, and the launcher with them (with exit 0: docs/mpi.md).
      bounded 120 "mpirun (start)" mpirun --enable-recovery -n 3 bash -c \
        '[[ $'"$rank_var"' == 2 ]] && kill -9 $$; exec "$@"' rank "$job" --series leibniz --terms 1e6 \
        --out "$tmp/start" --start-timeout 3 >"$tmp/start.log" 2>&1
      echo $? >"$tmp/start.rc"
      check "a rank lost before MPI_Init: the launcher ended" [ "$(cat "$tmp/start.rc")" != 124 ]
      check "a rank lost before MPI_Init: ranks 0 and 1 said why" \
        [ "$(grep -c -E "rank [01]: MPI_Init did not return within 3 s" "$tmp/start.log")" == 2 ]
      check "a rank lost before MPI_Init: nothing written" [ ! -e "$tmp/start/checkpoint.h5" ]
      # Rank 0 itself SIGKILLed: nothing would end the workers but their wait for its heartbeat
      # (--coordinator-timeout); the job is resumed from its checkpoint with the same estimate.
      kill_rank 0 coordinator --enable-recovery -- --coordinator-timeout 3
      check "rank 0 lost: the launcher ended" [ "$(cat "$tmp/coordinator.rc")" != 124 ]
      check "rank 0 lost: both workers said why" \
        [ "$(grep -c -E "rank [12]: nothing from rank 0 for [3-9] s" "$tmp/coordinator.log")" == 2 ]
      check "rank 0 lost: no result yet" [ ! -e "$tmp/coordinator/summary.json" ]
      mv "$tmp/coordinator.log" "$tmp/coordinator-run.log"
      run coordinator 3 --resume
      check "rank 0 lost: the resume exits 0" exit_is coordinator 0
      check "rank 0 lost: the resume did not start over" \
        log_has "$tmp/coordinator.log" "resumed with [1-9][0-9]* ranges done"
      check "rank 0 lost: the estimate is identical to a run without failures" same_estimate coordinator
      # Rank 0 lost before it tells the workers the job (die:0:start: it SIGKILLs itself after MPI_Init):
      # they wait for the job no longer than --coordinator-timeout.
      PI_FAULT="die:0:start" bounded 120 "mpirun (job never told)" mpirun --enable-recovery -n 3 "$job" \
        --series leibniz --terms 1e6 --out "$tmp/untold" --coordinator-timeout 3 >"$tmp/untold.log" 2>&1
      echo $? >"$tmp/untold.rc"
      check "rank 0 lost before the job: the launcher ended" [ "$(cat "$tmp/untold.rc")" != 124 ]
      check "rank 0 lost before the job: both workers said why" \
        [ "$(grep -c -E "rank [12]: no job from rank 0 within 3 s" "$tmp/untold.log")" == 2 ]
    else
      kill_rank 2 killed
      check "MPICH: the launcher ends the job when a rank dies" bash -c "[ \"\$(cat '$tmp/killed.rc')\" != 0 ]"
      check "MPICH: no result yet" [ ! -e "$tmp/killed/summary.json" ]
      check "MPICH: a checkpoint was left" [ -e "$tmp/killed/checkpoint.h5" ]
      mv "$tmp/killed.log" "$tmp/killed-run.log"
      run killed 3 --resume
      check "the resume exits 0" exit_is killed 0
      check "the resume did not start over" log_has "$tmp/killed.log" "resumed with [1-9][0-9]* ranges done"
      check "the estimate is identical to a run without failures" same_estimate killed
    fi
    ;;
  pieces)
    # Fast series keep their pieces on the workers that computed them; a merge goes to the worker that holds
    # its larger operand and fetches the other from its owner. On 1, 2, 3, 5 and 8 ranks (oversubscribed):
    # MPFR's digits, byte for byte.
    "$mpfr_digits" 1000000 >"$tmp/mpfr-1e6.txt"
    big=(--series chudnovsky --digits 1000000 --assignment-seconds 0.02)
    for n in 1 2 3 5 8; do
      run "p$n" "$n" "${big[@]}"
      check "$n ranks: MPFR's digits" same_file "$tmp/p$n/pi.txt" "$tmp/mpfr-1e6.txt"
    done
    for n in 5 8; do
      # (The complete checkpoint names the file the series' result's worker wrote.)
      check "$n ranks: the pieces stayed on the workers, and rank 0 fetched none" \
        [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["pieces_on_workers"] and d["coordinator"]["pieces_fetched_by_rank_0"] == 0')" == True ]
      if [[ $n == 8 ]]; then
        # From 6 workers the final steps split the decimals into parts (one a worker), and each block
        # reads its part only: no block needs, or keeps, the whole fraction.
        check "$n ranks: the final steps split the decimals into 7 parts, and no block read the fraction" \
          [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["conversion_parts"] == 7 and d["coordinator"]["fraction_copies"] == 0 and d["coordinator"]["conversion_parts_refused"] == 0')" == True ]
      else
        # Conversion blocks keep the fraction they fetched, and later blocks read it from them.
        check "$n ranks: blocks kept copies of the fraction, and no part was made" \
          [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["fraction_copies"] >= 1 and d["coordinator"]["conversion_parts"] == 0')" == True ]
      fi
      check "$n ranks: rank 0 sent no big integer (under 5% of the bytes between ranks)" \
        [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["bytes_sent"] < 0.05 * d["coordinator"]["bytes_between_ranks"]')" == True ]
      # Besides the decimals, a worker's answer to each task carries its piece's metadata (shape, fingerprint
      # residues, the 1024-bit lead estimate): under 1.5 KB a task, merges' products included (measured
      # 0.45-1.13 KB under ASan, where slower tasks come in more, smaller assignments).
      check "$n ranks: rank 0 received the decimals and hardly more" \
        [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["bytes_received"] < 1.1e6 + 0.01 * d["coordinator"]["bytes_between_ranks"] + 1500 * sum(w["evaluations"] + w["merges"] + w["digit_blocks"] for w in d["workers"])')" == True ]
      check "$n ranks: result.h5 holds pi.txt's bytes" /usr/bin/python3 -c "
import h5py, sys
with h5py.File(sys.argv[1] + '/result.h5', 'r') as f:
    assert f['pi'].fletcher32 and f['pi'][:].tobytes() + b'\\n' == open(sys.argv[1] + '/pi.txt', 'rb').read()
" "$tmp/p$n"
      check "$n ranks: no partial file is left" [ ! -e "$tmp/p$n/pi.txt.partial" ]
      check "$n ranks: the workers received pieces from each other" \
        [ "$(json "$tmp/p$n/summary.json" 'sum(w["bytes_received"] for w in d["workers"]) > d["coordinator"]["bytes_sent"]')" == True ]
      # From 6 workers the top merges' products are spread products: parts on every worker, each reading
      # its share of the factors and of the phase before's outputs from the workers that hold them.
      if [[ $n == 8 ]]; then
        check "$n ranks: the top merges' products were spread over the workers" \
          [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["spread_parts"] >= 18')" == True ]
      else
        check "$n ranks: fewer than 6 workers spread no product" \
          [ "$(json "$tmp/p$n/summary.json" 'd["coordinator"]["spread_parts"]')" == 0 ]
      fi
    done
    run "p8whole" 8 "${big[@]}" --spread-parts 0
    check "8 ranks, --spread-parts 0: MPFR's digits, and no spread product nor part" \
      [ "$(same_file "$tmp/p8whole/pi.txt" "$tmp/mpfr-1e6.txt" && json "$tmp/p8whole/summary.json" 'd["coordinator"]["spread_parts"] + d["coordinator"]["conversion_parts"]')" == 0 ]
    # A part whose enclosure cannot decide its digits (refuse: as one straddling a decimal boundary; each
    # worker refuses its first part) is converted from the whole fraction instead.
    PI_FAULT="refuse:*:digits" run refused 8 "${big[@]}"
    check "refused parts: MPFR's digits" same_file "$tmp/refused/pi.txt" "$tmp/mpfr-1e6.txt"
    check "refused parts: converted from the whole fraction" \
      [ "$(json "$tmp/refused/summary.json" 'd["coordinator"]["conversion_parts"] == 7 and d["coordinator"]["conversion_parts_refused"] >= 1')" == True ]
    check "refused parts: the log says so" log_has "$tmp/refused.log" "cannot decide its digits; the block is converted from the whole fraction"
    if keeps_ranks_after_a_loss; then
      # A worker SIGKILLs itself at the first task it starts while it holds two pieces, and the others may
      # be fetching from it: their fetches give up when rank 0 tells them it is lost (or at their deadline),
      # and its pieces are computed again from their ranges. Checkpoints every 0.05 s: the workers are
      # writing pieces for one when it dies (a capture that waits for the dead worker ends when it is taken
      # for lost, leaving its pieces out).
      PI_FAULT="die:2:held2" run lost 4 --enable-recovery -- "${big[@]}" "${quick[@]}" --checkpoint-interval 0.05
      check "a worker lost with its pieces: MPFR's digits" same_file "$tmp/lost/pi.txt" "$tmp/mpfr-1e6.txt"
      check "a worker lost with its pieces: the workers wrote the checkpoints' pieces" \
        log_has "$tmp/lost.log" "checkpoint [0-9]* written (interval): .*naming [0-9]* piece files\?"
      check "a worker lost with its pieces: they were computed again" \
        [ "$(json "$tmp/lost/summary.json" 'd["coordinator"]["pieces_recomputed"] >= 1')" == True ]
      check "a worker lost with its pieces: the lost rank was noticed" log_has "$tmp/lost.log" "rank 2 missed its deadline"
      check "a worker lost with its pieces: the log says what is computed again" \
        log_has "$tmp/lost.log" "\[pi-job\] .*computed again"
      # With a copy of each piece on a second worker (--replicas 1), rank 0 SIGKILLs the first worker two of
      # whose pieces wait for their siblings with copies elsewhere (PI_FAULT kill, a moment only rank 0
      # knows). No merge has fetched those two, so none can end without them: each takes its copy's place,
      # and only pieces of that worker without a copy yet (just made, or merge operands) are computed again.
      # The moment comes in every run: the evaluation of the last range (handed out last) takes 0.4 s more,
      # and meanwhile every other piece is made, so the left siblings along its path wait with their copies
      # (from about level 3 up they are above the 64 Kbit that get copies): 8 at once in a run that counted
      # them, so at least one of the 3 workers holds two. An earlier version killed rank 2
      # and made rank 3's tasks slower; a CI run had the pieces merged too soon and the kill never came.
      PI_FAULT="slow:*:1023:1:0.4;kill:*:copied2" run replica 4 --enable-recovery -- "${big[@]}" "${quick[@]}" --replicas 1
      check "a worker lost with copied pieces: MPFR's digits" same_file "$tmp/replica/pi.txt" "$tmp/mpfr-1e6.txt"
      check "a worker lost with copied pieces: rank 0 killed it at that moment" \
        log_has "$tmp/replica.log" "PI_FAULT: SIGKILL to rank [123] (pid [0-9]*); [2-9] of its waiting pieces have copies"
      check "a worker lost with copied pieces: their copies took their places" \
        [ "$(json "$tmp/replica/summary.json" 'd["coordinator"]["pieces_from_replicas"] >= 2 and d["coordinator"]["replicas_made"] >= 2')" == True ]
      killed=$(sed -n 's/.*PI_FAULT: SIGKILL to rank \([0-9]*\) .*/\1/p' "$tmp/replica.log")
      check "a worker lost with copied pieces: the log says which copy took a piece's place" \
        log_has "$tmp/replica.log" "was lost with rank ${killed:-none}: its copy on rank [123] takes its place"
      # Rank 0 SIGKILLs a worker the moment it gives out a later phase's part of a spread product that reads
      # an output that worker holds: it dies between the phases, with another worker fetching from it. The
      # fetch gives up when rank 0 tells it the worker is lost; the product starts again from its factors,
      # and the lost worker's pieces are computed again.
      PI_FAULT="kill:*:spreadfetch:1:0" run spreadkill 8 --enable-recovery -- "${big[@]}" "${quick[@]}"
      check "a worker lost between a spread product's phases: MPFR's digits" \
        same_file "$tmp/spreadkill/pi.txt" "$tmp/mpfr-1e6.txt"
      check "a worker lost between a spread product's phases: rank 0 killed it then" \
        log_has "$tmp/spreadkill.log" "PI_FAULT: SIGKILL to rank [1-7] "
      # The product starts again from its factors; or, when the lost worker also held one of the merge's
      # operands, the merge waits for that operand, computed again.
      check "a worker lost between a spread product's phases: the product started again, or the operand was computed again" \
        [ "$(json "$tmp/spreadkill/summary.json" 'd["coordinator"]["spread_products_restarted"] + d["coordinator"]["pieces_recomputed"] >= 1')" == True ]
      check "a worker lost between a spread product's phases: the log says which" \
        log_has "$tmp/spreadkill.log" "\(lost a part's output with its worker: it starts again from its factors\|its piece was lost with its worker; computed again\)"
      # A worker SIGKILLs itself just after it starts sending rank 0 a conversion block. Open MPI's shared
      # memory reads the block from the sender's memory, so rank 0's receive never ends (unless rank 0 read
      # it all before the sender died, which a slow sender under ASan allows). Rank 0 keeps receiving the
      # others' messages beside it: when it received one at a time, the others' answers and heartbeats
      # waited 5 s behind the stuck receive, and a CI run took every worker for lost so and stopped the job.
      # Deadlines of 3 s: a healthy worker meets them easily, and missed them behind a 5 s stuck receive.
      PI_FAULT="diesending:2:digits" run deaf 4 --enable-recovery -- "${big[@]}" --min-deadline 3 --first-deadline 3
      check "a sender dead in the middle of its message: MPFR's digits" same_file "$tmp/deaf/pi.txt" "$tmp/mpfr-1e6.txt"
      check "a sender dead in the middle of its message: no other worker missed a deadline or went silent" \
        bash -c '! grep -E "rank [13] (missed its deadline|sent no heartbeat)" "$1"' _ "$tmp/deaf.log"
      # Rank 0 sees the dead worker's process end (same host): lost within a look (1 s), not after 30 s of
      # silence, whether or not its last message arrived. Rank 2 is lost unless it got no block to send.
      if grep -q "were lost during the run" "$tmp/deaf.log"; then
        check "a sender dead in the middle of its message: rank 0 saw its process end" \
          log_has "$tmp/deaf.log" "rank 2 (pid [0-9]* on this host) has ended: it is taken for lost"
      fi
    fi
    # The whole job SIGKILLed mid-run (every task made 50 ms slow, checkpoints every 0.3 s: rank 0 fetches
    # the pieces the workers hold for each), and resumed on another rank count.
    for pair in "4 3" "3 5"; do
      read -r before after <<<"$pair"
      name=whole$before$after
      PI_FAULT="slow:*:*:0:0.05" setsid mpirun -n "$before" "$job" "${big[@]}" --out "$tmp/$name" \
        --checkpoint-interval 0.3 --progress-interval 0 >"$tmp/$name-killed.log" 2>&1 &
      sid=$!
      disown
      wait_for "$tmp/$name-killed.log" "checkpoint 2 written" 60
      pkill -KILL -s "$sid"
      while pgrep -s "$sid" >/dev/null; do sleep 0.05; done
      sid=""
      check "killed on $before ranks: a checkpoint was left" \
        [ -e "$tmp/$name/checkpoint.h5" ]
      check "killed on $before ranks: the checkpoint names the files its workers wrote, with their CRC-32s" \
        /usr/bin/python3 - "$tmp/$name" <<'PY'
import os, sys, zlib, h5py
d = sys.argv[1]
with h5py.File(d + "/checkpoint.h5", "r") as f:
    rows = f["piece_files"][:]
    assert len(rows) >= 1, len(rows)
    # Every other piece is one rank 0 held itself (under 64 Kibit: small pieces travel to it), written inside.
    in_files = {"piece_%06d" % piece for piece, _, _ in rows}
    for name in f["pieces"]:
        if name in in_files:
            continue
        assert not isinstance(f["pieces"].get(name, getlink=True), h5py.ExternalLink), name
        bits = sum(int.from_bytes(f["pieces"][name][v][:].tobytes(), "little").bit_length() for v in f["pieces"][name])
        assert bits <= 65536 + 64, (name, bits)  # 64 Kibit, and the carry of a merge on rank 0
    for piece, size, crc in rows:
        name = "piece_%06d" % piece
        link = f["pieces"].get(name, getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename.startswith("pieces/"), link
        data = open(os.path.join(d, link.filename), "rb").read()
        assert len(data) == size and zlib.crc32(data) == crc, (name, len(data), size)
        g = f["pieces"][name]  # read through the link, as any HDF5 reader does
        assert g.attrs["first_range"] < g.attrs["end_range"] and g["value_1"].fletcher32
        assert int.from_bytes(g["value_1"][:].tobytes(), "little") > 0
PY
      files=$(/usr/bin/python3 -c 'import h5py, sys; print(len(h5py.File(sys.argv[1], "r")["piece_files"][:]))' \
        "$tmp/$name/checkpoint.h5")
      if [[ $before == 4 ]]; then
        # SIGTERM while a worker still reads a piece (rank 1's first task, a load, made 10 s slow) and the
        # others, done with theirs, have evaluated more ranges: rank 0 writes no checkpoint, which would
        # leave that piece out; the one resumed from stays, and the resume below (of a copy made before) is
        # no different.
        cp -a "$tmp/$name" "$tmp/loading"
        sum=$(sha256sum <"$tmp/loading/checkpoint.h5")
        PI_FAULT="slow:1:#1:1:20" mpirun -n 4 "$job" --resume --out "$tmp/loading" --progress-interval 0.2 \
          >"$tmp/loading.log" 2>&1 &
        bg=$!
        # (Every grid range evaluated or loaded: only rank 1's piece is missing.)
        wait_for "$tmp/loading.log" "progress: \([0-9]*\)/\1 ranges" 60
        kill -TERM "$bg"
        wait_bounded "$bg" 60 "pi-job ($case_name)"
        bg=""
        check "SIGTERM while the pieces are read: rank 0 stops with exit code 3" \
          log_has "$tmp/loading.log" "stopped by SIGTERM.*(exit code 3)"
        check "SIGTERM while the pieces are read: it says the checkpoint stays" \
          log_has "$tmp/loading.log" "still being read: it stays as it is"
        check "SIGTERM while the pieces are read: the checkpoint is the same file" \
          [ "$sum" == "$(sha256sum <"$tmp/loading/checkpoint.h5")" ]
      fi
      if [[ $before == 3 ]] && keeps_ranks_after_a_loss; then
        # A worker SIGKILLs itself at the first load it starts: another worker reads that piece. Every load
        # takes 0.3 s more, and a worker takes one load at a time (Scheduler::wants_another_task), so that
        # rank 2 gets one before the others have read them all. With "its first task" the others sometimes
        # took every load, several each, and rank 2 died evaluating: twice in nine runs here.
        cp -a "$tmp/$name" "$tmp/${name}die"
        PI_FAULT="die:2:load;slow:*:load:0:0.3" run "${name}die" "$after" --enable-recovery -- --resume
        check "killed on $before ranks, resumed on $after, a worker lost reading a piece: MPFR's digits" \
          same_file "$tmp/${name}die/pi.txt" "$tmp/mpfr-1e6.txt"
        check "killed on $before ranks, resumed on $after, a worker lost reading a piece: the others read all $files" \
          [ "$(json "$tmp/${name}die/summary.json" 'd["coordinator"]["pieces_loaded_by_workers"]')" == "$files" ]
        check "killed on $before ranks, resumed on $after, a worker lost reading a piece: its load went to another" \
          log_has "$tmp/${name}die.log" "the piece of terms .* in .*pieces/.* failed (rank 2 missed its deadline); retry 1"
      fi
      run "$name" "$after" --resume
      check "killed on $before ranks, resumed on $after: exit 0" exit_is "$name" 0
      # Rank 0 checked the pieces in files one at a time and let go of them; the workers read them.
      check "killed on $before ranks, resumed on $after: the workers read the $files pieces in files" \
        [ "$(json "$tmp/$name/summary.json" 'd["coordinator"]["pieces_loaded_by_workers"]')" == "$files" ]
      check "killed on $before ranks, resumed on $after: not started over" \
        log_has "$tmp/$name.log" "resumed with [1-9][0-9]* ranges done"
      check "killed on $before ranks, resumed on $after: MPFR's digits" same_file "$tmp/$name/pi.txt" "$tmp/mpfr-1e6.txt"
      check "killed on $before ranks, resumed on $after: the piece files left are those the checkpoints name" \
        /usr/bin/python3 - "$tmp/$name" <<'PY'
import glob, os, sys, h5py
d = sys.argv[1]
named = set()
for c in glob.glob(d + "/checkpoint*.h5"):
    with h5py.File(c, "r") as f:
        for name in f["pieces"]:
            link = f["pieces"].get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                named.add(link.filename)
on_disk = {"pieces/" + n for n in os.listdir(d + "/pieces")}
assert on_disk == named and len(named) >= 1, (sorted(on_disk), sorted(named))
PY
    done
    ;;
  products)
    # The final steps' products spread (from 6 workers, those whose smaller factor has 4 Mbit or more) at a
    # size the sanitizer pass runs too: 3e6 digits on 8 ranks spread 5 here. Then a worker lost during a
    # Newton step's product, and the final steps' worker itself lost in a Newton step.
    "$mpfr_digits" 3000000 >"$tmp/mpfr-3e6.txt"
    tail=(--series chudnovsky --digits 3000000)
    run p8 8 "${tail[@]}"
    check "8 ranks, 3e6 digits: MPFR's digits" same_file "$tmp/p8/pi.txt" "$tmp/mpfr-3e6.txt"
    check "8 ranks, 3e6 digits: the final steps' products were spread over the workers" \
      [ "$(json "$tmp/p8/summary.json" 'd["coordinator"]["final_products_spread"] >= 3')" == True ]
    if keeps_ranks_after_a_loss; then
      # Rank 0 SIGKILLs a worker the moment a later phase's part of a final steps' product is given out that
      # reads an output that worker holds: the product starts again from its factors.
      PI_FAULT="kill:*:finalfetch:1:0" run tfetch 8 --enable-recovery -- "${tail[@]}" "${quick[@]}"
      check "a worker lost during a Newton step's product: MPFR's digits" \
        same_file "$tmp/tfetch/pi.txt" "$tmp/mpfr-3e6.txt"
      check "a worker lost during a Newton step's product: rank 0 killed it then" \
        log_has "$tmp/tfetch.log" "PI_FAULT: SIGKILL to rank [1-7] "
      check "a worker lost during a Newton step's product: the product started again" \
        log_has "$tmp/tfetch.log" "of the final steps lost a part's output with its worker: it starts again"
      # Rank 0 SIGKILLs the final steps' worker itself once it asks for its first product, in the middle of
      # the division: the series' result it held is computed again, and the final steps run again elsewhere.
      PI_FAULT="kill:*:finalproduct:1:0" run tsteps 8 --enable-recovery -- "${tail[@]}" "${quick[@]}"
      check "the final steps' worker lost in a Newton step: MPFR's digits" \
        same_file "$tmp/tsteps/pi.txt" "$tmp/mpfr-3e6.txt"
      check "the final steps' worker lost in a Newton step: rank 0 killed it then" \
        log_has "$tmp/tsteps.log" "PI_FAULT: SIGKILL to rank [1-7] "
      check "the final steps' worker lost in a Newton step: the series' result was computed again" \
        [ "$(json "$tmp/tsteps/summary.json" 'd["coordinator"]["pieces_recomputed"] >= 1')" == True ]
      # Rank 0 SIGKILLs the worker holding the final fraction and its parts (the conversion tree's top
      # levels) the moment it gives a part's block to another worker, which is fetching its part from it:
      # the parts are made again with the fraction (the series' result, then the final steps, elsewhere), and
      # the blocks read their parts from there.
      PI_FAULT="kill:*:partsfetch:1:0" run tparts 8 --enable-recovery -- "${tail[@]}" "${quick[@]}"
      check "the parts' worker lost during the conversion: MPFR's digits" \
        same_file "$tmp/tparts/pi.txt" "$tmp/mpfr-3e6.txt"
      check "the parts' worker lost during the conversion: rank 0 killed it then" \
        log_has "$tmp/tparts.log" "PI_FAULT: SIGKILL to rank [1-7] "
      check "the parts' worker lost during the conversion: made again, and the blocks read parts" \
        [ "$(json "$tmp/tparts/summary.json" 'd["coordinator"]["pieces_recomputed"] >= 1 and d["coordinator"]["conversion_parts"] == 7 and d["coordinator"]["fraction_copies"] == 0')" == True ]
    fi
    ;;
  tail)
    # From 6 workers the final steps' large products, those of the division by Newton's iteration and the
    # one by the constant, are spread products that the other workers make while the final steps' worker
    # waits for them (Scheduler::product_wanted). At 1e7 digits those with a smaller factor of 4 Mbit or
    # more are (SchedulerConfig::final_spread_bits). MPFR's digits, byte for byte, on 5 ranks (4 workers:
    # nothing spread) and 8.
    "$mpfr_digits" 10000000 >"$tmp/mpfr-1e7.txt"
    tail=(--series chudnovsky --digits 10000000)
    for n in 5 8; do
      run "t$n" "$n" "${tail[@]}"
      check "$n ranks, 1e7 digits: MPFR's digits" same_file "$tmp/t$n/pi.txt" "$tmp/mpfr-1e7.txt"
    done
    check "5 ranks, 1e7 digits: 4 workers spread none of the final steps' products" \
      [ "$(json "$tmp/t5/summary.json" 'd["coordinator"]["final_products_spread"]')" == 0 ]
    check "8 ranks, 1e7 digits: the final steps' products were spread over the workers" \
      [ "$(json "$tmp/t8/summary.json" 'd["coordinator"]["final_products_spread"] >= 3')" == True ]
    check "8 ranks, 1e7 digits: the final steps split the decimals into 7 parts, 5 ranks into none" \
      [ "$(json "$tmp/t8/summary.json" 'd["coordinator"]["conversion_parts"]')" == 7 ] && \
      [ "$(json "$tmp/t5/summary.json" 'd["coordinator"]["conversion_parts"]')" == 0 ]
    # The whole job SIGKILLed in a phase of the tail (its last progress line names it; checkpoints every
    # 0.5 s) on 8 ranks, and resumed on another rank count: MPFR's digits. A run that ends before the
    # phase's line is seen (the conversion is short) is run again, up to 4 times.
    killed_in_tail() {
      local name=$1 phase=$2 after=$3 attempt
      for attempt in 1 2 3 4; do
        rm -rf "${tmp:?}/$name"
        setsid mpirun -n 8 "$job" "${tail[@]}" --out "$tmp/$name" --checkpoint-interval 0.5 \
          --progress-interval 0.05 >"$tmp/$name-killed.log" 2>&1 &
        sid=$!
        disown
        wait_for "$tmp/$name-killed.log" "progress: .*$phase" 120 >/dev/null
        pkill -KILL -s "$sid"
        while pgrep -s "$sid" >/dev/null; do sleep 0.05; done
        sid=""
        grep -q "\[pi-job\] done:" "$tmp/$name-killed.log" || break
      done
      check "$name: killed on 8 ranks in '$phase' (attempt $attempt)" \
        sh -c "! grep -q '\[pi-job\] done:' '$tmp/$name-killed.log' && grep 'progress:' '$tmp/$name-killed.log' | tail -1 | grep -q '$phase'"
      check "$name: a checkpoint was left" [ -e "$tmp/$name/checkpoint.h5" ]
      run "$name" "$after" --resume
      check "$name: resumed on $after ranks, exit 0" exit_is "$name" 0
      check "$name: not started over" log_has "$tmp/$name.log" "resumed with [1-9][0-9]* ranges done"
      check "$name: resumed on $after ranks, MPFR's digits" same_file "$tmp/$name/pi.txt" "$tmp/mpfr-1e7.txt"
    }
    killed_in_tail knewton "final division.*products\? spread over the workers" 5
    check "knewton: the progress line named the split of the decimals" \
      log_has "$tmp/knewton-killed.log" "progress: .*final division.*then the decimals split into 7 parts"
    killed_in_tail kconversion "decimal conversion" 3
    ;;
  poison)
    # A range that fails on every worker stops the job with an error naming it: no hang, exit 1.
    PI_FAULT="fail:*:5:0" run poison 3 --series chudnovsky --digits 100003 "${quick[@]}"
    check "poisoned: mpirun exits 1" exit_is poison 1
    check "poisoned: the error names the terms" log_has "$tmp/poison.log" "pi-job: error: terms \\["
    check "poisoned: failed three times" log_has "$tmp/poison.log" "failed 3 times"
    check "poisoned: the error says poisoned" log_has "$tmp/poison.log" "poisoned"
    check "poisoned: no pi.txt" [ ! -e "$tmp/poison/pi.txt" ]
    ;;
  signals)
    # SIGTERM and SIGINT end the job cleanly with exit code 3, alone and under mpirun.
    for sig in TERM INT; do
      "$job" --series leibniz --terms 4503599627370496 --out "$tmp/alone$sig" --progress-interval 0 \
        >"$tmp/alone$sig.log" 2>&1 &
      bg=$!
      wait_for "$tmp/alone$sig.log" "ranges on 1 rank" 60
      kill -$sig "$bg"
      wait_bounded "$bg" 60 "pi-job ($case_name)"
      echo $? >"$tmp/alone$sig.rc"
      bg=""
      check "SIG$sig alone: exit 3" exit_is "alone$sig" 3
      check "SIG$sig alone: says so" log_has "$tmp/alone$sig.log" "stopped by SIG$sig"
    done
    mpirun -n 3 "$job" --series leibniz --terms 4503599627370496 --out "$tmp/mpi" --progress-interval 0 \
      >"$tmp/mpi.log" 2>&1 &
    bg=$!
    wait_for "$tmp/mpi.log" "ranges on 3 ranks" 60
    sleep 0.5
    kill -TERM "$bg"
    wait_bounded "$bg" 60 "pi-job ($case_name)"
    bg=""
    check "SIGTERM under mpirun: rank 0 stops cleanly" log_has "$tmp/mpi.log" "stopped by SIGTERM"
    # (Each signal waits for the log to show the phase it interrupts, however loaded the machine is.)
    # SIGTERM while the workers convert the digits (each block made 6 s slow): the checkpoint holds the
    # finished series, and the resumed run only converts.
    PI_FAULT="slow:*:digits:1:6" mpirun -n 3 "$job" "${fast[@]}" --out "$tmp/conv" --progress-interval 0.2 \
      >"$tmp/conv.log" 2>&1 &
    bg=$!
    wait_for "$tmp/conv.log" "decimal conversion" 60
    sleep 0.5
    kill -TERM "$bg"
    wait_bounded "$bg" 60 "pi-job ($case_name)"
    bg=""
    # (mpirun forwards the signal to every rank and exits with its own code: rank 0's is in the log.)
    check "SIGTERM in the conversion: rank 0 stops with exit code 3" log_has "$tmp/conv.log" "stopped by SIGTERM.*(exit code 3)"
    check "SIGTERM in the conversion: the checkpoint has every range" log_has "$tmp/conv.log" "checkpoint 1 written (stopped by SIGTERM): \([0-9]*\)/\1 ranges"
    check "SIGTERM in the conversion: no pi.txt yet" [ ! -e "$tmp/conv/pi.txt" ]
    bounded 120 "the resume" mpirun -n 3 "$job" --resume --out "$tmp/conv" --progress-interval 0 \
      >"$tmp/convres.log" 2>&1
    echo $? >"$tmp/convres.rc"
    check "resumed after the conversion was stopped: exit 0" exit_is convres 0
    ranges=$(grep -o "terms in [0-9]* ranges" "$tmp/conv.log" | grep -o "[0-9]* ranges")
    check "the resume started with every range done" log_has "$tmp/convres.log" "resumed with $ranges done"
    check "the resumed run's digits equal MPFR" same_file "$tmp/conv/pi.txt" "$tmp/mpfr-100003.txt"
    ;;
  stopmoments)
    # A SIGTERM at any moment, from start-up to the conversion, alone and to mpirun's whole process group (as
    # timeout, scancel and batch systems send it): the job ends with a one-line message and exit 3 after a
    # checkpoint (or exit 0, done, when the result was already written), and a resume ends with MPFR's digits.
    "$mpfr_digits" 1000003 >"$tmp/mpfr-1000003.txt"
    for mode in alone mpi; do
      for delay in 0 0.05 0.2 0.5 0.9 1.4 2 3; do
        name=$mode-$delay
        if [[ $mode == alone ]]; then
          setsid "$job" --series chudnovsky --digits 1000003 --out "$tmp/$name" --progress-interval 0 \
            >"$tmp/$name.log" 2>&1 &
        else
          setsid mpirun -n 3 "$job" --series chudnovsky --digits 1000003 --out "$tmp/$name" --progress-interval 0 \
            >"$tmp/$name.log" 2>&1 &
        fi
        bg=$!
        sleep "$delay"
        kill -TERM -- -"$bg" 2>/dev/null
        wait_bounded "$bg" 60 "pi-job ($case_name)"
        echo $? >"$tmp/$name.rc"
        bg=""
        if grep -q "pi-job: stopped by SIGTERM.*(exit code 3)" "$tmp/$name.log"; then
          pass=$((pass + 1))
          [[ $mode == alone ]] && check "$name: exit 3" exit_is "$name" 3
          if [[ -e $tmp/$name/checkpoint.h5 ]]; then
            bounded 120 "the resume ($name)" "$job" --resume --out "$tmp/$name" --progress-interval 0 \
              >"$tmp/$name-resume.log" 2>&1
            check "$name: the resume ends with MPFR's digits" same_file "$tmp/$name/pi.txt" "$tmp/mpfr-1000003.txt"
          else
            check "$name: stopped before any work, and said so" log_has "$tmp/$name.log" "stopped by SIGTERM"
          fi
        elif grep -q "\[pi-job\] done:" "$tmp/$name.log"; then
          check "$name: done before the signal: MPFR's digits" same_file "$tmp/$name/pi.txt" "$tmp/mpfr-1000003.txt"
        elif [[ ! -e $tmp/$name ]] && ! grep -q "pi-job" "$tmp/$name.log"; then
          # The signal came before pi-job ran (before exec, or while mpirun was still launching): nothing
          # was created, and there is nothing to keep.
          pass=$((pass + 1))
        else
          check "$name: a SIGTERM ends in a checkpoint and a message, or a result" false
          tail -5 "$tmp/$name.log"
        fi
      done
    done
    # Alone, a SIGTERM in the final division and in the decimal conversion (each one long computation) is
    # answered at once: exit 3, and the checkpoint holds the finished series.
    for phase in "final division" "decimal conversion"; do
      name=phase-${phase%% *}
      "$job" --series chudnovsky --digits 3000000 --out "$tmp/$name" --progress-interval 0.02 >"$tmp/$name.log" 2>&1 &
      bg=$!
      wait_for "$tmp/$name.log" "$phase" 120
      kill -TERM "$bg"
      wait_bounded "$bg" 60 "pi-job ($case_name)"
      echo $? >"$tmp/$name.rc"
      bg=""
      if grep -q "\[pi-job\] done:" "$tmp/$name.log"; then
        echo "  ($phase ended before the signal: nothing to check)"
      else
        check "SIGTERM in the $phase, alone: exit 3" exit_is "$name" 3
        check "SIGTERM in the $phase, alone: the checkpoint has every range" \
          log_has "$tmp/$name.log" "written (stopped by SIGTERM): \([0-9]*\)/\1 ranges"
      fi
    done
    # SIGHUP (a closed terminal) is a stop like SIGTERM.
    "$job" --series leibniz --terms 4503599627370496 --out "$tmp/hup" --progress-interval 0 >"$tmp/hup.log" 2>&1 &
    bg=$!
    wait_for "$tmp/hup.log" "ranges on 1 rank" 60
    kill -HUP "$bg"
    wait_bounded "$bg" 60 "pi-job ($case_name)"
    echo $? >"$tmp/hup.rc"
    bg=""
    check "SIGHUP: exit 3" exit_is hup 3
    check "SIGHUP: says so" log_has "$tmp/hup.log" "stopped by SIGHUP"
    check "SIGHUP: a checkpoint was written" [ -e "$tmp/hup/checkpoint.h5" ]
    # A closed output pipe (pi-job ... 2>&1 | head -2) does not end the job.
    "$job" --series chudnovsky --digits 100003 --out "$tmp/pipe" --progress-interval 0.01 2>&1 | head -2 >/dev/null
    check "a closed output pipe: pi-job still exits 0" [ "${PIPESTATUS[0]}" == 0 ]
    check "a closed output pipe: the digits are written" same_file "$tmp/pipe/pi.txt" "$tmp/mpfr-100003.txt"
    ;;
  suspend)
    # The whole job stopped (SIGSTOP, as scontrol suspend does) for longer than any task may take, then
    # continued: no worker ends itself and no deadline is counted; the job completes.
    mpirun -n 3 "$job" --series leibniz --terms 24000000000 --out "$tmp/susp" --progress-interval 0 \
      --min-deadline 3 --deadline-factor 3 --assignment-seconds 0.5 >"$tmp/susp.log" 2>&1 &
    bg=$!
    wait_for "$tmp/susp.log" "ranges on 3 ranks" 60
    sleep 2
    procs=$(pgrep -f -- "--out $tmp/susp")
    kill -STOP $procs
    # Longer than a worker's own limit (twice its allowed time, 3 s here, plus 10 s). Deadlines of 3 s, not
    # 1 s: on a loaded machine 1 s deadlines miss without any stop, and this case counts retries.
    sleep 22
    kill -CONT $procs
    wait_bounded "$bg" 120 "pi-job ($case_name)"
    echo $? >"$tmp/susp.rc"
    bg=""
    check "suspended 22 s: mpirun exits 0" exit_is susp 0
    check "suspended 22 s: the job completes" [ "$(json "$tmp/susp/summary.json" 'd["status"]')" == complete ]
    check "suspended 22 s: no worker ended itself" bash -c "! grep -q 'overran' '$tmp/susp.log'"
    check "suspended 22 s: the stop was recognised" log_has "$tmp/susp.log" "did not run for"
    check "suspended 22 s: no task was retried" [ "$(json "$tmp/susp/summary.json" 'd["retries"]')" == 0 ]
    # One worker stopped for good under --enable-recovery (a node that hangs instead of dying): the job
    # finishes, and mpirun ends too instead of waiting for the stopped rank. (Open MPI's mode only.)
    keeps_ranks_after_a_loss || { finish; exit; }
    mpirun --enable-recovery -n 3 "$job" --series leibniz --terms 8000000000 --out "$tmp/hung" \
      --progress-interval 0 "${quick[@]}" --assignment-seconds 0.2 >"$tmp/hung.log" 2>&1 &
    bg=$!
    wait_for "$tmp/hung.log" "ranges on 3 ranks" 60
    victim=$(rank_pid 2 "--out $tmp/hung")
    check "found worker rank 2" [ -n "$victim" ]
    kill -STOP "$victim"
    wait_for "$tmp/hung.log" "\[pi-job\] done:" 120
    finished=""
    for _ in $(seq 300); do ended "$bg" && { finished=1; break; }; sleep 0.1; done
    check "a stopped worker: mpirun ends within 30 s of the result" [ -n "$finished" ]
    [[ -z $finished ]] && { kill -CONT "$victim"; kill -9 "$bg"; }
    bg=""
    check "a stopped worker: the job completes" [ "$(json "$tmp/hung/summary.json" 'd["status"]')" == complete ]
    check "a stopped worker: rank 0 ended it" log_has "$tmp/hung.log" "never answered again: ended it"
    ;;
  *)
    echo "unknown case $case_name"
    exit 2
    ;;
esac
finish
