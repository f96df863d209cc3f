#!/usr/bin/env bash
# Checkpoints and resume with a real mpirun and real files: resume_test.sh CASE PI_JOB
# Each case prints what it checked and exits non-zero on the first failure; 77 when it can't run here.
set -u
case_name=$1
job=$2
tmp=$(mktemp -d)
mounted=""
cleanup() {
  [[ -n ${sid:-} ]] && pkill -KILL -s "$sid" 2>/dev/null
  pkill -9 -f "$tmp" 2>/dev/null
  sleep 0.2
  [[ -n $mounted ]] && umount -l "$mounted" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
source "$(dirname "$0")/../support/harness.sh"

attr() { h5dump -a "/$2" "$1" 2>/dev/null | sed -n 's/^ *(0): //p' | tr -d '"'; }
# Every file of a directory but the run lock (.pi-job.lock: bookkeeping that a killed run leaves behind and
# the next run removes, not data).
fingerprint() { (cd "$1" && find . -type f ! -name .pi-job.lock -print0 | sort -z | xargs -0 sha256sum); }

# start NAME ARGS...: mpirun -n 3 in its own session, so that the whole job can be killed like a lost node.
start() {
  local name=$1
  shift
  setsid mpirun -n 3 "$job" "$@" --out "$tmp/$name" --progress-interval 0 >"$tmp/$name.log" 2>&1 &
  sid=$!
  disown
}
# kill_all: SIGKILL mpirun and every rank at once.
kill_all() {
  pkill -KILL -s "$sid"
  while pgrep -s "$sid" >/dev/null; do sleep 0.05; done
  sid=""
}
# resume NAME ARGS...: resumes under mpirun -n 3 and records the exit code.
resume() {
  local name=$1
  shift
  mpirun -n 3 "$job" --resume --out "$tmp/$name" --progress-interval 0 "$@" >"$tmp/$name.resume.log" 2>&1
  echo $? >"$tmp/$name.rc"
}

# new_files DIR: the piece files DIR/checkpoint.h5 names and DIR/checkpoint.1.h5 does not, biggest first.
new_files() {
  /usr/bin/python3 - "$1/checkpoint.h5" "$1/checkpoint.1.h5" <<'PY'
import os, sys, h5py
def named(path):
    with h5py.File(path, "r") as f:
        return {f["pieces"].get(n, getlink=True).filename for n in f["pieces"]
                if isinstance(f["pieces"].get(n, getlink=True), h5py.ExternalLink)}
d = os.path.dirname(sys.argv[1])
for n in sorted(named(sys.argv[1]) - named(sys.argv[2]), key=lambda n: -os.path.getsize(os.path.join(d, n))):
    print(os.path.join(d, n))
PY
}
# killed_run NAME: a chudnovsky job SIGKILLed after its second checkpoint, whose checkpoint.h5 holds several
# pieces and names a piece file checkpoint.1.h5 does not (what a flipped byte or a forgery needs). How far
# a run gets between two checkpoints depends on the machine's load: a loaded one can write two with no
# piece finished between them, an idle one merge nearly everything. So the setup is made again until the
# checkpoint has both (the setup, not the check, is repeated), and then both are checked.
killed_run() {
  local name=$1 attempt new=0 held=0
  for attempt in 1 2 3 4 5 6 7 8; do
    rm -rf "${tmp:?}/$name"
    start "$name" --series chudnovsky --digits 4000000 --checkpoint-interval 0.3
    wait_for "$tmp/$name.log" "checkpoint 2 written" 60
    kill_all
    new=$(new_files "$tmp/$name" 2>/dev/null | wc -l)
    held=$(/usr/bin/python3 -c "import h5py,sys; print(len(h5py.File(sys.argv[1])['pieces']))" \
      "$tmp/$name/checkpoint.h5" 2>/dev/null || echo 0)
    [[ $new -gt 0 && $held -ge 2 ]] && break
  done
  check "checkpoint.h5 names a piece file checkpoint.1.h5 does not (attempt $attempt)" [ "$new" -gt 0 ]
  check "the killed run left a checkpoint of several pieces ($held)" [ "$held" -ge 2 ]
}

slow=(--series leibniz --terms 17179869184)
fast=(--series chudnovsky --digits 6000000)

case $case_name in
  kill)
    # SIGKILL the whole mpirun before the first checkpoint, mid-run, and inside a checkpoint write; the
    # resumed job ends with the bytes of an uninterrupted run.
    for kind in slow fast; do
      declare -n args=$kind
      mpirun -n 3 "$job" "${args[@]}" --out "$tmp/$kind-ref" --progress-interval 0 >"$tmp/$kind-ref.log" 2>&1
      check "$kind: the uninterrupted run completes" [ "$(json "$tmp/$kind-ref/summary.json" 'd["status"]')" == complete ]

      start "$kind-early" "${args[@]}" --checkpoint-interval 3600
      wait_for "$tmp/$kind-early.log" "ranges on 3 ranks" 20
      sleep 0.5
      kill_all
      check "$kind, killed early: no checkpoint yet" [ ! -e "$tmp/$kind-early/checkpoint.h5" ]
      resume "$kind-early" "${args[@]}"
      check "$kind, killed early: --resume starts the job afresh" \
        log_has "$tmp/$kind-early.resume.log" "no checkpoint in .*starts from the beginning"

      start "$kind-mid" "${args[@]}" --checkpoint-interval 0.7
      wait_for "$tmp/$kind-mid.log" "checkpoint 2 written" 60
      kill_all
      check "$kind, killed mid-run: the checkpoint says running" \
        [ "$(attr "$tmp/$kind-mid/checkpoint.h5" status)" == running ]
      resume "$kind-mid"
      check "$kind, killed mid-run: resumed from the checkpoint" \
        log_has "$tmp/$kind-mid.resume.log" "resuming .* from .*checkpoint.h5 ([1-9][0-9]*/"

      PI_CHECKPOINT_FAULT=2:60 start "$kind-inside" "${args[@]}" --checkpoint-interval 0.7
      wait_for "$tmp/$kind-inside.log" "inside checkpoint write 2" 60
      kill_all
      check "$kind, killed inside a write: the half-written file is the temporary one" \
        [ -e "$tmp/$kind-inside/checkpoint.h5.tmp" ]
      check "$kind, killed inside a write: checkpoint.h5 is the first, intact" \
        [ "$(attr "$tmp/$kind-inside/checkpoint.h5" checkpoints)" == 1 ]
      resume "$kind-inside"
      check "$kind, killed inside a write: resumed" log_has "$tmp/$kind-inside.resume.log" "resuming"

      for k in early mid inside; do
        check "$kind, killed $k: the resumed job exits 0" exit_is "$kind-$k" 0
        check "$kind, killed $k: the estimate equals the uninterrupted run's" \
          same_result "$tmp/$kind-$k" "$tmp/$kind-ref"
        if [[ $kind == fast ]]; then
          check "$kind, killed $k: pi.txt equals the uninterrupted run's" \
            same_file "$tmp/$kind-$k/pi.txt" "$tmp/$kind-ref/pi.txt"
        fi
        check "$kind, killed $k: the checkpoint records completion" \
          [ "$(attr "$tmp/$kind-$k/checkpoint.h5" status)" == complete ]
        check "$kind, killed $k: no temporary file is left" [ ! -e "$tmp/$kind-$k/checkpoint.h5.tmp" ]
      done
      check "$kind: summary.json counts the resume" [ "$(json "$tmp/$kind-mid/summary.json" 'd["resumes"]')" == 1 ]
    done
    # --resume on a complete job reports it, exits 0, and changes nothing.
    before=$(fingerprint "$tmp/fast-mid")
    resume fast-mid
    check "complete: --resume exits 0" exit_is fast-mid 0
    check "complete: says so" log_has "$tmp/fast-mid.resume.log" "is complete; nothing to do"
    check "complete: no file changed" [ "$before" == "$(fingerprint "$tmp/fast-mid")" ]
    ;;
  damage)
    # A flipped byte and a truncated checkpoint are detected, named, and no file is touched; the previous
    # checkpoint is named, and resuming from it explicitly gives the uninterrupted result.
    "$job" --series chudnovsky --digits 200000 --out "$tmp/ref" --progress-interval 0 2>/dev/null
    killed_run run
    "$job" --series chudnovsky --digits 4000000 --out "$tmp/ref4" --progress-interval 0 2>/dev/null
    for damage in flip truncate; do
      rm -rf "$tmp/$damage"
      cp -a "$tmp/run" "$tmp/$damage"
      f=$tmp/$damage/checkpoint.h5
      size=$(stat -c %s "$f")
      if [[ $damage == flip ]]; then
        # A byte in the middle of the biggest piece file the checkpoint names and the previous one does not
        # (the workers wrote the pieces; checkpoint.h5 names the files with their CRC-32s).
        big=$(new_files "$tmp/$damage" | head -1)
        python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=0x20; open(p,'wb').write(b)" "$big"
        want="its file $big has [0-9]* bytes and CRC-32 [0-9a-f]*, the checkpoint says"
      else
        truncate -s $((size / 2)) "$f"
        want="truncated"
      fi
      before=$(fingerprint "$tmp/$damage")
      resume "$damage"
      check "$damage: refused with exit code 4" exit_is "$damage" 4
      check "$damage: the error names the file" log_has "$tmp/$damage.resume.log" "cannot resume: $f"
      check "$damage: the error says what is wrong" log_has "$tmp/$damage.resume.log" "$want"
      check "$damage: the error names the previous checkpoint" \
        log_has "$tmp/$damage.resume.log" "resume from it with --resume-from $tmp/$damage/checkpoint.1.h5"
      check "$damage: no file was touched" [ "$before" == "$(fingerprint "$tmp/$damage")" ]
      check "$damage: pi-job says it in one line" [ "$(grep -c "pi-job" "$tmp/$damage.resume.log")" == 1 ]
      resume "$damage" --resume-from "$tmp/$damage/checkpoint.1.h5"
      check "$damage: resumed from checkpoint.1.h5" exit_is "$damage" 0
      check "$damage: the rejected checkpoint is set aside" [ -e "$f.rejected" ]
      check "$damage: the result equals the uninterrupted run's" same_file "$tmp/$damage/pi.txt" "$tmp/ref4/pi.txt"
    done
    # Readable with h5dump and h5py; result.h5 holds the digits of pi.txt.
    check "h5dump reads checkpoint.h5" h5dump -H "$tmp/flip/checkpoint.h5" >/dev/null
    check "h5py reads checkpoint.h5 and result.h5" /usr/bin/python3 - "$tmp/ref" <<'PY'
import sys, h5py
d = sys.argv[1]
with h5py.File(d + "/checkpoint.h5", "r") as f:
    assert f.attrs["format"] == b"pi-hpc checkpoint" or f.attrs["format"] == "pi-hpc checkpoint", f.attrs["format"]
    assert f.attrs["status"] in (b"complete", "complete")
    ranges = f["completed_ranges"][:]
    assert ranges.shape == (1, 2) and ranges[0][0] == 0 and ranges[0][1] == f.attrs["grid_ranges"], ranges
    piece = f["pieces/piece_000000"]
    values = [int.from_bytes(piece[name][:].tobytes(), "little") for name in piece]
    assert all(piece[name].fletcher32 for name in piece), "a value lacks Fletcher32"
    assert len(values) == piece.attrs["values"] and max(values).bit_length() > 600000, [v.bit_length() for v in values]
with h5py.File(d + "/result.h5", "r") as f:
    assert f["pi"].fletcher32
    assert f["pi"][:].tobytes() + b"\n" == open(d + "/pi.txt", "rb").read()
    assert f.attrs["correct_digits"] == 200000
PY
    ;;
  aside)
    # One process, 1e7 digits: the series' result (21 MB, over the 16 MiB mark) goes to a piece file of its
    # own before the final division, and the complete checkpoint names it. With the results deleted, a
    # resume runs the final steps again from that file to the same bytes; a job stopped during the division
    # (when only the division's rounded operands are in memory), or after it (in its verification or
    # conversion), resumes from it too.
    "$job" --series chudnovsky --digits 10000000 --out "$tmp/big" --progress-interval 0 >"$tmp/big.log" 2>&1
    echo $? >"$tmp/big.rc"
    check "the run completes" exit_is big 0
    check "the complete checkpoint names the series' result in a file of its own" /usr/bin/python3 - "$tmp/big" <<'PY'
import os, sys, h5py
d = sys.argv[1]
with h5py.File(d + "/checkpoint.h5", "r") as f:
    assert f.attrs["status"] in (b"complete", "complete")
    links = [f["pieces"].get(n, getlink=True) for n in f["pieces"]]
    assert len(links) == 1 and isinstance(links[0], h5py.ExternalLink), links
    name = links[0].filename
    assert name == "pieces/c000001-0-0-%d.h5" % f.attrs["grid_ranges"], name
    with h5py.File(os.path.join(d, name), "r") as p:
        piece = p["piece"]
        values = [int.from_bytes(piece[n][:].tobytes(), "little") for n in piece]
        assert all(piece[n].fletcher32 for n in piece), "a value lacks Fletcher32"
        assert len(values) == piece.attrs["values"] and max(v.bit_length() for v in values) > 30_000_000
PY
    cp "$tmp/big/pi.txt" "$tmp/big.pi.txt"
    rm "$tmp/big/pi.txt" "$tmp/big/result.h5"
    "$job" --resume --out "$tmp/big" --progress-interval 0 >"$tmp/again.log" 2>&1
    echo $? >"$tmp/again.rc"
    check "with its results deleted, the job resumes from the file" exit_is again 0
    check "and writes the same pi.txt" same_file "$tmp/big/pi.txt" "$tmp/big.pi.txt"
    # A job stopped with SIGTERM once its log has `$2` (and, when `$3` is given, its last progress line
    # has `$3`, else it is run and stopped again, up to 8 times): it exits 3, its checkpoint names the
    # series' result in its file, and it resumes with the series done to the same pi.txt.
    stopped_in() {
      local name=$1 seen=$2 last=${3:-} attempt
      for attempt in 1 2 3 4 5 6 7 8; do
        rm -rf "${tmp:?}/$name"
        "$job" --series chudnovsky --digits 10000000 --out "$tmp/$name" --progress-interval 0.05 \
          >"$tmp/$name.log" 2>&1 &
        local bg=$!
        wait_for "$tmp/$name.log" "$seen" 120 >/dev/null
        kill -TERM "$bg"
        wait "$bg"
        echo $? >"$tmp/$name.rc"
        exit_is "$name" 3 >/dev/null || continue
        [ -z "$last" ] && break
        grep "progress:" "$tmp/$name.log" | tail -1 | grep -q "$last" && break
      done
      check "$name: the stop exits 3 (attempt $attempt)" exit_is "$name" 3
      [ -z "$last" ] ||
        check "$name: the last progress line before it has '$last'" \
          sh -c "grep 'progress:' '$tmp/$name.log' | tail -1 | grep -q '$last'"
      check "$name: its checkpoint names the series' result in its file" /usr/bin/python3 - "$tmp/$name" <<'PY'
import os, sys, h5py
d = sys.argv[1]
with h5py.File(d + "/checkpoint.h5", "r") as f:
    assert f.attrs["status"] not in (b"complete", "complete")
    links = [f["pieces"].get(n, getlink=True) for n in f["pieces"]]
    assert len(links) == 1 and isinstance(links[0], h5py.ExternalLink), links
    assert os.path.getsize(os.path.join(d, links[0].filename)) > 16 << 20
PY
      "$job" --resume --out "$tmp/$name" --progress-interval 0 >"$tmp/$name.resumed.log" 2>&1
      echo $? >"$tmp/$name.resumed.rc"
      check "$name: the stopped job resumes" exit_is "$name.resumed" 0
      check "$name: resumed with the series done" log_has "$tmp/$name.resumed.log" "resumed with 4096 ranges done"
      check "$name: and writes the same pi.txt" same_file "$tmp/$name/pi.txt" "$tmp/big.pi.txt"
    }
    # After the series (in its verification or conversion): the stop must land in the few seconds between
    # the final steps and the end.
    stopped_in after "series done .*\(verification\|decimal conversion\)"
    # During the final division (about 0.6 s here), when only its rounded operands are in memory.
    stopped_in division "series done .*final division" "final division"
    ;;
  forged)
    # Checkpoints altered consistently, their HDF5 checksums recomputed (tests/checkpoint/forge.py): every
    # piece is checked against its fingerprint, so each is refused with exit 4, the piece named, no file
    # changed, and never a pi.txt.
    forge=$(dirname "$0")/forge.py
    killed_run run
    "$job" --series chudnovsky --digits 2000000 --out "$tmp/other" --progress-interval 0 2>/dev/null
    for forgery in sign swap splice zero; do
      rm -rf "$tmp/$forgery"
      cp -a "$tmp/run" "$tmp/$forgery"
      check "$forgery: forged" /usr/bin/python3 "$forge" "$forgery" "$tmp/$forgery/checkpoint.h5" "$tmp/other/checkpoint.h5"
      check "$forgery: HDF5 still reads every value (the checksums are right)" \
        h5dump -d /pieces/piece_000000/value_2 -o /dev/null "$tmp/$forgery/checkpoint.h5"
      before=$(fingerprint "$tmp/$forgery")
      resume "$forgery"
      check "$forgery: refused with exit code 4" exit_is "$forgery" 4
      check "$forgery: the error names the piece and its fingerprint" \
        log_has "$tmp/$forgery.resume.log" "pieces/piece_00000[01] (ranges .*fails its fingerprint"
      check "$forgery: no file was touched" [ "$before" == "$(fingerprint "$tmp/$forgery")" ]
      check "$forgery: no pi.txt" [ ! -e "$tmp/$forgery/pi.txt" ]
    done
    # A complete job whose checkpoint was altered and whose results are gone: the final steps would run
    # again from the checkpoint's piece; it is refused instead.
    cp -a "$tmp/other" "$tmp/complete"
    rm "$tmp/complete/pi.txt" "$tmp/complete/summary.json" "$tmp/complete/result.h5"
    /usr/bin/python3 "$forge" sign "$tmp/complete/checkpoint.h5"
    before=$(fingerprint "$tmp/complete")
    resume complete
    check "complete, forged: refused with exit code 4" exit_is complete 4
    check "complete, forged: no pi.txt" [ ! -e "$tmp/complete/pi.txt" ]
    check "complete, forged: no file was touched" [ "$before" == "$(fingerprint "$tmp/complete")" ]
    # Slow series: a piece altered alone disagrees with the ledger of the workers' results; altered
    # together with the ledger (every saved result one more, the sums to match), the sample summed again
    # on resume disagrees.
    start slow --series leibniz --terms 34359738368 --checkpoint-interval 0.3
    wait_for "$tmp/slow.log" "checkpoint 3 written" 60
    kill_all
    for forgery in sign sums; do
      rm -rf "$tmp/slow$forgery"
      cp -a "$tmp/slow" "$tmp/slow$forgery"
      check "slow $forgery: forged" /usr/bin/python3 "$forge" "$forgery" "$tmp/slow$forgery/checkpoint.h5"
      before=$(fingerprint "$tmp/slow$forgery")
      resume "slow$forgery"
      check "slow $forgery: refused with exit code 4" exit_is "slow$forgery" 4
      check "slow $forgery: no file was touched" [ "$before" == "$(fingerprint "$tmp/slow$forgery")" ]
    done
    check "slow sign: the piece is not the sum of the saved results" \
      log_has "$tmp/slowsign.resume.log" "is not the sum of the ledger's results"
    check "slow sums: the terms summed again disagree" \
      log_has "$tmp/slowsums.resume.log" "differs from the same terms summed again"
    resume slow
    check "slow: the untouched checkpoint resumes" exit_is slow 0
    check "slow: a sample was summed again" log_has "$tmp/slow.resume.log" "saved results again: they agree"
    # The untouched checkpoint resumes, and its primes are those the job drew.
    check "the checkpoint records two fingerprint primes" \
      [ "$(attr "$tmp/run/checkpoint.h5" fingerprint_primes | wc -w)" == 2 ]
    resume run
    check "the untouched checkpoint resumes" exit_is run 0
    check "with the job's primes" [ "$(json "$tmp/run/summary.json" '" ".join(d["verification"]["fingerprints"]["primes"])')" == \
      "$(attr "$tmp/run/checkpoint.1.h5" fingerprint_primes)" ]
    check "verified" [ "$(json "$tmp/run/summary.json" 'd["verification"]["verified"]')" == True ]
    ;;
  refuse)
    "$job" --series chudnovsky --digits 3000000 --out "$tmp/ref3m" --progress-interval 0 2>/dev/null
    cp "$tmp/ref3m/pi.txt" "$tmp/ref3m.txt"
    # Parameters that disagree with the checkpoint are refused by name, with exit code 2, touching nothing;
    # so is a new job over a checkpoint.
    start run --series chudnovsky --digits 3000000 --checkpoint-interval 0.3
    wait_for "$tmp/run.log" "checkpoint 2 written" 60
    kill_all
    before=$(fingerprint "$tmp/run")
    resume run --series machin
    check "another series: exit 2" exit_is run 2
    check "another series: named" log_has "$tmp/run.resume.log" "series machin disagrees with the checkpoint .*for --series chudnovsky"
    resume run --digits 1000
    check "other digits: exit 2" exit_is run 2
    check "other digits: named" log_has "$tmp/run.resume.log" "digits 1000 disagrees with the checkpoint .*for --digits 3000000"
    resume run --terms 1000
    check "terms for digits: exit 2" exit_is run 2
    mpirun -n 3 "$job" --series chudnovsky --digits 3000000 --out "$tmp/run" >"$tmp/new.log" 2>&1
    echo $? >"$tmp/new.rc"
    check "a new job over a checkpoint: exit 2" exit_is new 2
    check "a new job over a checkpoint: told to --resume" log_has "$tmp/new.log" "holds the checkpoint of a job; resume it with --resume"
    check "nothing was touched" [ "$before" == "$(fingerprint "$tmp/run")" ]
    "$job" --resume --out "$tmp/empty" >"$tmp/empty.log" 2>&1
    echo $? >"$tmp/empty.rc"
    check "--resume with nothing to resume: exit 2" exit_is empty 2
    # --resume-from another job's checkpoint into a directory that holds this job's: refused, nothing changed.
    mpirun -n 3 "$job" --series machin --digits 20000 --out "$tmp/other" --progress-interval 0 >/dev/null 2>&1
    mpirun -n 3 "$job" --resume-from "$tmp/other/checkpoint.h5" --out "$tmp/run" >"$tmp/from.log" 2>&1
    check "--resume-from another job's checkpoint over this one's: refused" log_has "$tmp/from.log" "is a checkpoint of another job"
    check "--resume-from another job: nothing changed" [ "$before" == "$(fingerprint "$tmp/run")" ]
    # A checkpoint whose series was relabelled (its checksums still good): refused up front with exit 4 and
    # one line, nothing changed; the good older checkpoint is still there for --resume-from afterwards.
    cp -r "$tmp/run" "$tmp/relabel"
    /usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1],'r+'); f.attrs.modify('series', b'machin'); f.close()" \
      "$tmp/relabel/checkpoint.h5"
    before_relabel=$(fingerprint "$tmp/relabel")
    resume relabel
    check "relabelled series: exit 4" exit_is relabel 4
    check "relabelled series: one line naming the file" \
      [ "$(grep -c "^pi-job: cannot resume: $tmp/relabel/checkpoint.h5" "$tmp/relabel.resume.log")" == 1 ]
    check "relabelled series: no C++ text" bash -c "! grep -q 'range_check\|what()' '$tmp/relabel.resume.log'"
    check "relabelled series: nothing changed" [ "$before_relabel" == "$(fingerprint "$tmp/relabel")" ]
    # A resume that fails before it finishes anything (every task fails: poisoned) writes no checkpoint, so
    # it rotates none away: both generations are as they were.
    cp -r "$tmp/run" "$tmp/poisoned"
    rm -f "$tmp/poisoned/report.html"
    before_poison=$(fingerprint "$tmp/poisoned")
    PI_FAULT="fail:*:*:0" resume poisoned --min-deadline 1 --first-deadline 1
    check "a resume where every task fails: exit 1" exit_is poisoned 1
    # (Said one of two ways: the workers may still be reading some of the checkpoint's pieces when the job
    # stops, and a checkpoint then would leave those out.)
    check "  it says it keeps the last checkpoint" log_has "$tmp/poisoned.resume.log" \
      "nothing was finished since the last checkpoint\|still being read: it stays as it is"
    # (The run's report.html is all it adds: the page as it failed.)
    check "  no checkpoint was rotated away or replaced" \
      [ "$before_poison" == "$(fingerprint "$tmp/poisoned" | grep -v ' ./report.html$')" ]
    check "  its report.html says it failed" grep -q '"state":"failed"' "$tmp/poisoned/report.html"
    resume relabel --resume-from "$tmp/relabel/checkpoint.1.h5"
    check "the older checkpoint survived and resumes" exit_is relabel 0
    check "  to MPFR's digits" same_file "$tmp/relabel/pi.txt" "$tmp/ref3m.txt"
    ;;
  disk)
    # A directory that becomes read-only, or full, mid-run: a clear error, the previous checkpoint survives,
    # and the job goes on (and finishes once the directory is writable again).
    mnt=$tmp/mnt
    mkdir -p "$mnt"
    if ! mount -t tmpfs -o size=64m tmpfs "$mnt" 2>/dev/null; then
      echo "SKIP: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)"
      exit 77
    fi
    mounted=$mnt
    "$job" --series chudnovsky --digits 3000000 --out "$tmp/ref" --progress-interval 0 2>/dev/null
    for trouble in readonly full; do
      out=$mnt/$trouble
      setsid mpirun -n 3 "$job" --series chudnovsky --digits 3000000 --out "$out" --progress-interval 0 \
        --checkpoint-interval 0.3 >"$tmp/$trouble.log" 2>&1 &
      sid=$!
      wait_for "$tmp/$trouble.log" "checkpoint 1 written" 60
      kill -STOP $(pgrep -s "$sid")  # freeze the job while the directory changes
      cp "$out/checkpoint.h5" "$tmp/$trouble-kept.h5"
      if [[ $trouble == readonly ]]; then
        mount -o remount,ro "$mnt"
      else
        dd if=/dev/zero of="$mnt/filler" bs=1M count=64 2>/dev/null
      fi
      kill -CONT $(pgrep -s "$sid")
      wait_for "$tmp/$trouble.log" "checkpoint failed" 30
      kill -STOP $(pgrep -s "$sid")
      check "$trouble: the previous checkpoint survives, byte for byte" \
        same_file "$out/checkpoint.h5" "$tmp/$trouble-kept.h5"
      check "$trouble: no temporary file" [ ! -e "$out/checkpoint.h5.tmp" ]
      if [[ $trouble == readonly ]]; then
        check "$trouble: the error says why" log_has "$tmp/$trouble.log" "Read-only file system"
        mount -o remount,rw "$mnt"
      else
        # The workers write their pieces first (a full disk stops that), then rank 0 the checkpoint.
        check "$trouble: the error names the file" log_has "$tmp/$trouble.log" "cannot write $out/\(checkpoint.h5\|pieces/c[0-9-]*.h5\)"
        rm -f "$mnt/filler"
      fi
      check "$trouble: the job goes on" log_has "$tmp/$trouble.log" "the previous checkpoint is kept"
      kill -CONT $(pgrep -s "$sid")
      wait "$sid"
      echo $? >"$tmp/$trouble.rc"
      sid=""
      check "$trouble: the job finishes" exit_is "$trouble" 0
      check "$trouble: the result equals an undisturbed run's" same_file "$out/pi.txt" "$tmp/ref/pi.txt"
    done
    # A stop whose checkpoint can't be written (the disk full at SIGTERM): not exit 3, which promises a
    # checkpoint, but exit 5, saying so; the previous checkpoint stays.
    out=$mnt/fullstop
    "$job" --series leibniz --terms 4503599627370496 --out "$out" --progress-interval 0 --checkpoint-interval 1 \
      >"$tmp/fullstop.log" 2>&1 &
    bg=$!
    wait_for "$tmp/fullstop.log" "checkpoint 2 written" 60
    cp "$out/checkpoint.h5" "$tmp/fullstop-kept.h5"
    dd if=/dev/zero of="$mnt/filler" bs=1M count=64 2>/dev/null
    sleep 1.5  # past the next interval, which fails too
    kill -TERM "$bg"
    wait_bounded "$bg" 60 "pi-job ($case_name)"
    echo $? >"$tmp/fullstop.rc"
    bg=""
    rm -f "$mnt/filler"
    check "a stop whose checkpoint can't be written: exit 5" exit_is fullstop 5
    check "  and it says so" log_has "$tmp/fullstop.log" "stopped by SIGTERM, but its checkpoint could not be written"
    check "  the previous checkpoint is intact" bash -c "cmp -s '$out/checkpoint.h5' '$tmp/fullstop-kept.h5' || h5dump -H '$out/checkpoint.h5' >/dev/null"
    ;;
  signals)
    # SIGTERM and SIGUSR1 write a checkpoint before the job exits (code 3); the resumed job is identical.
    # (Long enough that a fast machine is still in the series when the signal comes: 2^34 terms, ~7 s here.)
    mpirun -n 3 "$job" --series leibniz --terms 17179869184 --out "$tmp/ref" --progress-interval 0 2>/dev/null
    for sig in TERM USR1; do
      mpirun -n 3 "$job" --series leibniz --terms 17179869184 --out "$tmp/$sig" --progress-interval 0.2 \
        --checkpoint-interval 3600 >"$tmp/$sig.log" 2>&1 &
      bg=$!
      wait_for "$tmp/$sig.log" "progress: [1-9]" 30
      kill -$sig "$bg"
      wait_bounded "$bg" 60 "pi-job ($case_name)"
      check "SIG$sig: a checkpoint was written on the signal" log_has "$tmp/$sig.log" "checkpoint 1 written (stopped by SIG$sig)"
      check "SIG$sig: rank 0 exits 3" log_has "$tmp/$sig.log" "exit code 3"
      check "SIG$sig: the checkpoint holds work" [ "$(attr "$tmp/$sig/checkpoint.h5" ranges_done)" -gt 0 ]
      resume "$sig"
      check "SIG$sig: resumed" exit_is "$sig" 0
      check "SIG$sig: identical estimate" same_result "$tmp/$sig" "$tmp/ref"
    done
    ;;
  *)
    echo "unknown case $case_name"
    exit 2
    ;;
esac
finish
