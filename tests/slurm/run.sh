#!/usr/bin/env bash
# make test-slurm: examples/slurm-array.sbatch on a real, private, single-node Slurm cluster.
#
# Starts munged (own key and socket), slurmctld and slurmd from Debian's munge and slurm-wlm with
# a private slurm.conf, state, spool and logs in a temporary folder (SLURM_CONF points the daemons
# and the clients at it; ports are picked free), then:
#   1. submits the example with SHARDS=2 on a small matrix, waits for its merge job and checks
#      that the merged CSV has exactly the cells (workload, operator, jac, strategy, n, threads)
#      of the unsharded run of the same matrix;
#   2. submits a slower matrix, interrupts shard 1 with `scancel --signal=TERM` once it has
#      finished a cell, checks it left a .partial and no CSV, submits the same command again
#      (the example's resume path), and checks that the merged CSV again has exactly the cells
#      and that the resumed shard kept the interrupted run's rows instead of re-running them.
# On exit (success, failure or interrupt) it cancels its jobs, stops every daemon it started by
# PID and removes the folder. Needs root (slurmd starts jobs as their user). Exit 0 only when
# every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DIAGBENCH=${DIAGBENCH:-$ROOT/build/diagbench}
PYTHON=${PYTHON:-/usr/bin/python3}
WAIT=${SLURM_TEST_TIMEOUT:-240} # seconds per wait (node up, a merge job, a shard)

say() { echo "test-slurm: $*"; }
die() {
    echo "test-slurm: FAIL: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (slurmd starts jobs as their owner); run it as root"
for c in munged mungekey slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
    command -v "$c" >/dev/null || die "$c not found (Debian packages munge and slurm-wlm: make deps)"
done
[ -x "$DIAGBENCH" ] || die "$DIAGBENCH not built (make build/diagbench)"

T=$(mktemp -d /tmp/diagbench-slurm.XXXXXX)
chmod 711 "$T" # munged wants its socket's folders searchable by all
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/log"
chmod 700 "$T/munge"
daemons=() # PIDs of what this script started, stopped in reverse order on exit
submitted=() # the Slurm jobs it submitted, cancelled first

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ ${#submitted[@]} -gt 0 ] && [ ${#daemons[@]} -ge 3 ]; then
        # Our jobs first, while slurmctld and slurmd can still end their steps (no slurmstepd
        # or srun left behind); wait until squeue answers that none is left.
        scancel "${submitted[@]}" 2>/dev/null || true
        for _ in $(seq 1 60); do
            left=$(squeue -h -o %i 2>/dev/null) && [ -z "$left" ] && break
            sleep 1
        done
        [ -z "${left:-}" ] || echo "test-slurm: jobs still listed after scancel: $left" >&2
    fi
    if [ $rc -ne 0 ]; then
        for f in "$T"/log/* "$T"/out*/*.log; do
            [ -f "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
        done
    fi
    local i
    for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
        kill -TERM "${daemons[i]}" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "${daemons[i]}" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "${daemons[i]}" 2>/dev/null || true
        wait "${daemons[i]}" 2>/dev/null || true
    done
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Two free TCP ports for slurmctld and slurmd.
read -r P1 P2 < <("$PYTHON" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

HOST=$(hostname -s)
NODE=$(slurmd -C | head -n 1) # NodeName=... CPUs=... as slurmd sees this machine
NODE=$(sed -E 's/RealMemory=[0-9]+/RealMemory=1000/' <<<"$NODE")
mungekey --create --keyfile="$T/munge/munge.key" >/dev/null
cat >"$T/slurm.conf" <<EOF
ClusterName=diagbenchtest
SlurmctldHost=$HOST
SlurmctldPort=$P1
SlurmdPort=$P2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
$NODE State=UNKNOWN
PartitionName=dbtest Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf

munged -F --force --socket="$T/munge/munge.socket" --key-file="$T/munge/munge.key" \
    --log-file="$T/log/munged.log" --pid-file="$T/munge/munged.pid" \
    --seed-file="$T/munge/munged.seed" &>"$T/log/munged.out" &
daemons+=($!)
for _ in $(seq 1 50); do
    [ -S "$T/munge/munge.socket" ] && break
    sleep 0.2
done
[ -S "$T/munge/munge.socket" ] || die "munged did not start"
slurmctld -D -c -f "$SLURM_CONF" &>"$T/log/slurmctld.out" &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" &>"$T/log/slurmd.out" &
daemons+=($!)

# until SECONDS COMMAND...: poll COMMAND every second until it succeeds; fail after SECONDS.
until_ok() {
    local limit=$1
    shift
    local t0=$SECONDS
    until "$@"; do
        ((SECONDS - t0 < limit)) || return 1
        for p in "${daemons[@]}"; do kill -0 "$p" 2>/dev/null || die "daemon $p exited"; done
        sleep 1
    done
}
node_idle() { [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; }
until_ok "$WAIT" node_idle || die "node $HOST not idle after ${WAIT}s"
say "munged, slurmctld, slurmd up (pids ${daemons[*]}), node $HOST idle"

job_state() { scontrol show job "$1" -o 2>/dev/null | sed -nE 's/.*JobState=([A-Z_]+).*/\1/p' | head -n 1; }
job_done() {
    case "$(job_state "$1")" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED) return 0 ;;
    *) return 1 ;;
    esac
}
# submit OUTDIR MATRIX: the example's submit path; sets ARRAY and MERGE (job ids).
submit() {
    local out
    out=$(SHARDS=2 CPUS=1 OUTDIR="$1" MATRIX="$2" DIAGBENCH="$DIAGBENCH" \
        bash examples/slurm-array.sbatch) || die "submitting: $out"
    MERGE=$(grep -E '^[0-9]+$' <<<"$out" | tail -n 1)
    ARRAY=$(sed -nE 's/.*shards are job array ([0-9]+).*/\1/p' <<<"$out")
    [ -n "$MERGE" ] && [ -n "$ARRAY" ] || die "no job ids in: $out"
    submitted+=("$ARRAY" "$MERGE")
}
# merged_ok OUTDIR: the merge job completed and all.csv has exactly the reference's cells.
merged_ok() {
    until_ok "$WAIT" job_done "$MERGE" || die "merge job $MERGE not done after ${WAIT}s"
    [ "$(job_state "$MERGE")" = COMPLETED ] || die "merge job $MERGE: $(job_state "$MERGE")"
    "$PYTHON" tests/slurm/same_cells.py "$T/ref.csv" "$1/all.csv" ||
        die "$1/all.csv does not hold the unsharded run's cells"
}

# The matrix, and the unsharded run it must match (in this process, with the environment a
# shard's task has: one thread). Key columns do not depend on --reps or --min-time, so one
# reference serves both parts.
CELLS="-w sin,split -s materialise,probe -n 100,1000 --reps 3"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_PROC_BIND=close OMP_PLACES=cores \
    "$DIAGBENCH" $CELLS -q --out "$T/ref.csv"

# 1. Two shards, then the merge.
submit "$T/out1" "$CELLS"
say "part 1: array $ARRAY, merge $MERGE"
merged_ok "$T/out1"
say "part 1: merged CSV has exactly the unsharded run's cells"

# 2. Shard 1 interrupted by SIGTERM after its first cell, then the same command again.
SLOW="$CELLS --min-time 0.5" # about 1.5 s a cell: a shard runs long enough to be interrupted
submit "$T/out2" "$SLOW"
OLD_MERGE=$MERGE
p1="$T/out2/shard-1-of-2.csv.partial"
one_row() { [ -f "$p1" ] && [ "$(wc -l <"$p1")" -ge 2 ]; }
until_ok "$WAIT" one_row || die "shard 1 wrote no row to $p1"
scancel --signal=TERM "${ARRAY}_1"
until_ok "$WAIT" job_done "${ARRAY}_1" || die "shard 1 still running after SIGTERM"
[ ! -e "$T/out2/shard-1-of-2.csv" ] || die "shard 1 finished before SIGTERM reached it: no interruption tested"
[ -f "$p1" ] || die "shard 1 left no $p1 after SIGTERM"
grep -q "diagbench: interrupted by SIGTERM" "$T/out2/shard-1-of-2.log" ||
    die "shard 1's log does not show the interruption"
cp "$p1" "$T/interrupted.partial"
until_ok "$WAIT" job_done "${ARRAY}_2" || die "shard 2 not done after ${WAIT}s"
# The first merge can never run (a shard failed): the example submits it with
# --kill-on-invalid-dep=yes, so Slurm cancels it.
until_ok 60 job_done "$OLD_MERGE" || die "merge job $OLD_MERGE still pending after a shard failed"
say "part 2: shard 1 interrupted with $(($(wc -l <"$p1") - 1)) row(s) kept; resubmitting"
submit "$T/out2" "$SLOW"
merged_ok "$T/out2"
# Resumed, not re-run: every row the interrupted shard kept is in its final CSV unchanged.
"$PYTHON" - "$T/interrupted.partial" "$T/out2/shard-1-of-2.csv" <<'EOF' || die "shard 1 re-ran cells it had finished"
import sys
kept = open(sys.argv[1]).read().splitlines()[1:]
final = set(open(sys.argv[2]).read().splitlines()[1:])
missing = [r for r in kept if r not in final]
sys.exit(1 if missing or not kept else 0)
EOF
grep -q "is complete, nothing to do" "$T/out2/shard-2-of-2.log" ||
    die "shard 2 ran again instead of being skipped"
say "part 2: resumed shard kept its rows, shard 2 skipped, merged CSV has exactly the cells"
say "ok"
