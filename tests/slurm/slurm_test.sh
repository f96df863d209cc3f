#!/usr/bin/env bash
# pi-job on a real Slurm (munged, slurmctld, slurmd on localhost, started here):
#   slurm_test.sh PI_JOB SRC [ARTIFACTS [BUILD]]
#   - a node failure mid-run, after a checkpoint exists: the job is requeued, resumes from its checkpoint
#     and ends with the result of an uninterrupted run;
#   - the walltime path: a short --time with --signal=B:USR1: the job checkpoints, requeues itself and
#     completes, resuming each time;
#   - a step that never starts (srun exits 0 after "launch failed"): the job fails instead of completing;
#   - the sbatch script installed by cmake --install (BUILD, the 4th argument) finds the installed pi-job.
# A requeued job waits about 2 minutes (its BeginTime) before it may start again; the test moves that
# BeginTime to now with scontrol, as an administrator may, so that it takes seconds.
# Exits 77 (skipped) when Slurm can't be started here (not root, or the packages are missing).
set -u
job=$(realpath "$1")
src=$(realpath "$2")
artifacts=${3:-}  # where the logs of a failed run are kept (Slurm's, munged's, the jobs')
build=${4:-}      # the build tree, for the installed script's case (cmake --install)
here=$(dirname "$0")
source "$here/../support/harness.sh"

for tool in munged slurmctld slurmd sbatch scontrol squeue; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is missing (scripts/install-deps.sh installs Slurm)"; exit 77; }
done
[[ $(id -u) -eq 0 ]] || { echo "SKIP: a private Slurm needs root here"; exit 77; }

d=$(mktemp -d /tmp/pi-slurm-test.XXXXXX)
chmod 0755 "$d"  # munged wants every directory above its socket searchable
pids=()
cleanup() {
  [[ -n ${SLURM_CONF:-} ]] && scancel --full --quiet --user=root 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  pkill -9 -f "$d" 2>/dev/null
  if [[ -n $artifacts && $failures -gt 0 ]]; then
    local keep
    keep="$artifacts/slurm-$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$keep"
    cp -r "$d"/*.log "$d"/*.out "$d"/slurm.conf "$d"/munge/*.log "$keep"/ 2>/dev/null
    for o in "$d"/out/*; do cp "$o"/summary.json "$keep/$(basename "$o").summary.json" 2>/dev/null; done
    ls -la "$d/tmp" >"$keep/tmp-listing.txt" 2>&1
    echo "the logs of this failed run are in $keep"
  fi
  [[ -n ${KEEP:-} ]] || rm -rf "$d"
}
trap cleanup EXIT

free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
mkdir -p "$d/state" "$d/spool" "$d/munge" "$d/out" "$d/tmp"
chmod 0755 "$d/munge"
cat >"$d/slurm.conf" <<CONF
ClusterName=pihpctest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
TmpFS=$d/tmp
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/slurmctld.log
SlurmdLogFile=$d/slurmd.log
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobRequeue=1
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
# The PMIx plugin's per-step directories (spmix_appdir_<uid>_<job>.<step>) go under this test's own
# directory: job ids restart at 1 with every private Slurm, and a directory left in /tmp by an earlier run
# whose step was killed makes the launch of the step with the same id fail.
echo "PMIxCliTmpDirBase=$d/tmp" >"$d/mpi.conf"
export SLURM_CONF=$d/slurm.conf

# A private munge key and socket, so that nothing of the machine's own munge is used or changed.
mungekey --create --keyfile="$d/munge/munge.key" 2>/dev/null ||
  dd if=/dev/urandom of="$d/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 0600 "$d/munge/munge.key"
munged --socket="$d/munge/munge.socket" --pid-file="$d/munge/munged.pid" --log-file="$d/munge/munged.log" \
  --seed-file="$d/munge/seed" --key-file="$d/munge/munge.key" --foreground 2>"$d/munged.out" &
pids+=($!)
for _ in $(seq 50); do [[ -S $d/munge/munge.socket ]] && break; sleep 0.1; done
if [[ ! -S $d/munge/munge.socket ]]; then
  echo "SKIP: munged did not start here:"
  tail -n 3 "$d/munged.out"
  exit 77
fi
slurmctld -D -f "$SLURM_CONF" >"$d/slurmctld.out" 2>&1 &
pids+=($!)
sleep 1
slurmd -D -f "$SLURM_CONF" >"$d/slurmd.out" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 30); do
  timeout 5 sinfo -h -o %T 2>/dev/null | grep -q idle && { up=1; break; }
  sleep 0.5
done
if [[ -z $up ]]; then
  echo "SKIP: Slurm did not come up here:"
  tail -n 3 "$d/slurmctld.out" "$d/slurmd.out"
  exit 77
fi
echo "Slurm up: $(sinfo -h -o '%P %a %D %T %N')"

state() { squeue -h -j "$1" -o %T 2>/dev/null || true; }
final_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
# follow JOBID SECONDS: until the job ends; a requeued job waiting for its BeginTime is let go at once.
# Slurm revokes the credential of the run it requeued for a few seconds; a run started within them is killed
# ("Job credential revoked"), so the BeginTime is moved only after 10 s.
follow() {
  local end=$((SECONDS + $2)) s pending_since=""
  while ((SECONDS < end)); do
    s=$(final_state "$1")
    case $s in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) echo "$s"; return ;;
    esac
    if [[ $s == PENDING ]] && scontrol show job "$1" | grep -q "Reason=BeginTime"; then
      [[ -z $pending_since ]] && pending_since=$SECONDS
      if ((SECONDS - pending_since >= 10)); then
        scontrol update JobId="$1" StartTime=now
        pending_since=""
      fi
    else
      pending_since=""
    fi
    sleep 0.5
  done
  echo "STILL-$(final_state "$1")"
}

# A job long enough to outlast the first walltime signal, and a short one for the cases about launching,
# checked against the digits in data/. Slurm checks limits every 30 s, so USR1@50 with --time=1 comes 10 to
# 40 s into the job: 2^39 Leibniz terms take 95 s on 2 workers here (5.7 G terms/s; 2^37 took 23 s, and
# the signal came after the end in one run of three).
args=(--series leibniz --terms 549755813888 --progress-interval 5 --checkpoint-interval 2)
short=(--series machin --digits 1000 --progress-interval 0)
same_digits() { cmp -s "$1/pi.txt" <(head -c 1002 "$src/data/pi-10000.txt"; echo) || { echo "  $1/pi.txt differs"; return 1; }; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun -n 3 "$job" "${args[@]}" --out "$d/out/ref" >"$d/ref.log" 2>&1
check "the reference run completes" [ "$(json "$d/out/ref/summary.json" 'd["status"]')" == complete ]
export PI_JOB=$job

# PI_SLURM_CASES picks cases (to repeat one many times): node walltime relaunch nolaunch (all by default).
wants() { [[ " ${PI_SLURM_CASES:-node walltime relaunch nolaunch installed} " == *" $1 "* ]]; }
jid=0

# 1. A node failure after a checkpoint: requeued by Slurm, resumed, identical.
if wants node; then
log=$d/node.log
jid=$(cd "$d" && sbatch --parsable -n 3 -O --output="$log" "$src/slurm/pi.sbatch" "${args[@]}" --out "$d/out/node")
check "sbatch accepted the job" [ -n "$jid" ]
check "the job writes checkpoints" wait_for "$log" "checkpoint 2 written" 120
# A failed node takes its processes with it; here the node stays up, so end the job's processes as its
# failure would have (Slurm cancels the step, but its ranks, tracked by linuxproc, may outlive it). Only
# the first run's: with ReturnToService=2 the node is back within a second and the requeued run may start
# soon after, which must not be killed too.
first_run=$(pgrep -f -- "--out $d/out/node")
scontrol update NodeName=localhost State=DOWN Reason=pi-hpc-test
sleep 1
[[ -n $first_run ]] && kill -9 $first_run 2>/dev/null
for _ in $(seq 100); do [[ $(final_state "$jid") == PENDING ]] && break; sleep 0.2; done
check "the node failure requeued the job" [ "$(final_state "$jid")" == PENDING ]
scontrol update NodeName=localhost State=RESUME 2>/dev/null  # refused when the node is already back
end_state=$(follow "$jid" 400)
check "the requeued job completes ($end_state)" [ "$end_state" == COMPLETED ]
check "the second run knew it was a restart" grep -q "run 2 (restart count 1)" "$log"
check "the second run resumed from the checkpoint" grep -q "resuming leibniz from .*checkpoint.h5 ([1-9]" "$log"
check "the result equals an uninterrupted run's" same_result "$d/out/node" "$d/out/ref"
check "summary.json counts the resume" [ "$(json "$d/out/node/summary.json" 'd["resumes"] >= 1')" == True ]
# The first run's srun may outlive the failure and even exit 0: the script must leave the job to Slurm's
# requeue, neither relaunching a step that did run nor failing the job (a race the requeue could lose).
# Only the first run's lines count: the second run's step may itself fail to launch on the node just back
# (srun: "aborted before step completely launched"), which the script rightly retries once.
check "the first run was not taken for a launch failure" \
  bash -c "! sed -n '/run 1 (restart count 0)/,/run 2 (restart count 1)/p' '$log' | grep -q 'the step did not start'"
check "nor failed by the script" bash -c "! grep -q 'srun exited 0, but pi-job did not complete' '$log'"
echo "--- node-failure job log:"
grep "pi.sbatch" "$log"
fi

# 2. The walltime: USR1 before --time ends; the job checkpoints, requeues itself, and completes.
if wants walltime; then
log=$d/walltime.log
jid=$(cd "$d" && sbatch --parsable -n 3 -O --time=1 --signal=B:USR1@50 --output="$log" "$src/slurm/pi.sbatch" \
  "${args[@]}" --out "$d/out/walltime")
# Once the job has checkpointed and requeued itself, its limit is raised (as an administrator may), so that
# one walltime stop is tested and the rest of the job runs at once instead of in a requeue every 30 s.
if wait_for "$log" "requeueing: the next run resumes" 180; then
  scontrol update JobId="$jid" TimeLimit=30
fi
end_state=$(follow "$jid" 400)
check "the walltime job completes ($end_state)" [ "$end_state" == COMPLETED ]
check "the walltime signal reached the script" grep -q "walltime is near" "$log"
# On USR1 pi-job writes a checkpoint, or keeps the one it wrote a moment before when no range finished since
# (a good checkpoint is not rewritten): either way the checkpoint holds all finished work. With a checkpoint
# every 2 s both happen; the second was seen once in CI.
check "pi-job checkpointed on USR1" grep -Eq "checkpoint [0-9]* written \(stopped by SIGUSR1\)|nothing was finished since the last checkpoint" "$log"
check "the script requeued the job" grep -q "requeueing: the next run resumes" "$log"
check "a later run resumed" grep -q "resuming leibniz from" "$log"
check "the result equals an uninterrupted run's" same_result "$d/out/walltime" "$d/out/ref"
echo "--- walltime job log:"
grep "pi.sbatch" "$log"
fi

# 3. A step that never starts, made the way it happened here: a PMIx directory left by a killed step of the
# same job id and step id (srun can exit 0 then). The script launches once more (step 1), and the job
# completes.
if wants relaunch; then
log=$d/relaunch.log
next=$((jid + 1))
mkdir -p "$d/tmp/spmix_appdir_$(id -u)_$next.0"
jid=$(cd "$d" && sbatch --parsable -n 3 -O --output="$log" "$src/slurm/pi.sbatch" "${short[@]}" --out "$d/out/relaunch")
check "the job got the id whose first launch fails ($jid)" [ "$jid" == "$next" ]
end_state=$(follow "$jid" 240)
check "a job whose first launch failed completes on the second ($end_state)" [ "$end_state" == COMPLETED ]
check "the script says it launched again" grep -q "the step did not start (srun exit [0-9]*); retrying the launch once" "$log"
check "the relaunched job's digits are the reference's" same_digits "$d/out/relaunch"
fi

# 4. A step that never starts, twice: the job fails instead of counting as completed.
if wants nolaunch; then
log=$d/nolaunch.log
next=$((jid + 1))
mkdir -p "$d/tmp/spmix_appdir_$(id -u)_$next.0" "$d/tmp/spmix_appdir_$(id -u)_$next.1"
jid=$(cd "$d" && sbatch --parsable -n 3 -O --output="$log" "$src/slurm/pi.sbatch" "${short[@]}" --out "$d/out/nolaunch")
check "the job got the id whose launches fail ($jid)" [ "$jid" == "$next" ]
end_state=$(follow "$jid" 120)
check "a job whose step never started fails ($end_state)" [ "$end_state" == FAILED ]
check "the script tried a second launch" grep -q "retrying the launch once" "$log"
check "the script says pi-job did not complete" grep -q "srun exited 0, but pi-job did not complete" "$log"
check "and not that it completed" bash -c "! grep -q 'pi-job completed' '$log'"
fi

# 5. The installed sbatch script: cmake --install to a prefix; submitted from a directory with no build tree
# and without PI_JOB, it runs the installed pi-job.
if wants installed && [[ -n $build ]]; then
prefix=$d/prefix
if cmake --install "$build" --prefix "$prefix" >"$d/install.log" 2>&1; then
  mkdir -p "$d/elsewhere"
  log=$d/installed.log
  jid=$(cd "$d/elsewhere" && env -u PI_JOB sbatch --parsable -n 2 -O --output="$log" \
    "$prefix/share/pi-hpc/slurm/pi.sbatch" "${short[@]}" --out "$d/out/installed")
  end_state=$(follow "$jid" 120)
  check "the installed pi.sbatch completes ($end_state)" [ "$end_state" == COMPLETED ]
  check "it ran the installed pi-job" grep -q -F "tasks: $prefix/bin/pi-job --resume" "$log"
  check "its digits are the reference's" same_digits "$d/out/installed"
else
  check "cmake --install $build" false
  tail -5 "$d/install.log"
fi
fi
finish
