#!/bin/sh
# The seed's experiment in PyTorch, through diagbench (issue 22; `make bench-torch`):
#   torch sin and split (functorch, vectorised rule), fwd and bwd, materialise and probe,
#   n = 10 .. NMAX; the slow primitive (a host callback, sequential rule) n = 20 .. 5000;
#   the C workloads (sin, split, seqsin) at the same sizes, for the side-by-side table.
# usage: scripts/bench_torch.sh OUTDIR   (one CSV per run in OUTDIR, which must not exist)
# environment: DIAGBENCH (build/diagbench), PYTHON (/usr/bin/python3), NMAX (8000), REPS (3)
set -eu
BIN=${DIAGBENCH:-build/diagbench}
PY=${PYTHON:-/usr/bin/python3}
NMAX=${NMAX:-8000}
REPS=${REPS:-3}
[ $# -eq 1 ] || { echo "bench_torch: usage: scripts/bench_torch.sh OUTDIR" >&2; exit 2; }
OUT=$1
case $NMAX in '' | *[!0-9]*) echo "bench_torch: NMAX '$NMAX': expected a whole number >= 1000" >&2; exit 2 ;; esac
[ "$NMAX" -ge 1000 ] || { echo "bench_torch: NMAX '$NMAX': expected a whole number >= 1000" >&2; exit 2; }
[ ! -e "$OUT" ] || { echo "bench_torch: OUTDIR '$OUT' exists: give a new folder (nothing is replaced)" >&2; exit 2; }
"$PY" -c 'import torch, functorch' 2>/dev/null || {
    echo "bench_torch: $PY cannot import torch with functorch: apt-get install python3-torch (make deps)" >&2
    exit 2
}
mkdir -p "$OUT"
SIZES=10,100,1000
[ "$NMAX" -gt 2000 ] && SIZES=$SIZES,2000
[ "$NMAX" -gt 4000 ] && SIZES=$SIZES,4000
SIZES=$SIZES,$NMAX
SLOW=20,100,1000,5000
W=workloads/workers/torch_worker.py
COMMON="-s materialise,probe -j fwd,bwd --reps $REPS -q"
for fn in sin split; do
    echo "bench_torch: torch $fn, n = $SIZES" >&2
    "$BIN" -w worker --worker "$W --fn $fn" -n "$SIZES" $COMMON -o "$OUT/torch-$fn.csv"
done
echo "bench_torch: torch slow, n = $SLOW" >&2
"$BIN" -w worker --worker "$W --fn slow" -n "$SLOW" $COMMON -o "$OUT/torch-slow.csv"
echo "bench_torch: the C workloads" >&2
"$BIN" -w sin,split -n "$SIZES" $COMMON -o "$OUT/c-sin-split.csv"
"$BIN" -w seqsin -n "$SLOW" $COMMON -o "$OUT/c-seqsin.csv"
"$PY" scripts/torch_table.py "$OUT"
