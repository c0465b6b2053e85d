#!/bin/sh
# The A/A and planted-effect study of `diagbench compare` (issue 13, "Shown to work"):
#   A/A      the same command twice: every "faster"/"slower" verdict is false (target <= 5%);
#   planted  seqsin's per-call cost 10 us against 10.5 us (5% slower calls): the share of cells
#            found "slower" is the detection rate (target >= 90%).
# 40 cells: seqsin x {probe, materialise} x {fwd, bwd} x 10 sizes, one thread by default.
#
# usage: scripts/ab_study.sh [OUTDIR]   (default build/ab_study; run from the repository root)
# environment: DIAGBENCH (default build/diagbench), REPS (15), MIN_TIME (0.005 s per repetition),
#              THREADS (OMP_NUM_THREADS, 1), ALPHA (0.05), MIN_EFFECT (1 %: criterion.rs's default
#              noise threshold; run-to-run drift below it is not what the study is about),
#              PLANTED_US (10.5).
# Prints both rates and exits 0 when both targets are met, 1 when one is missed, 2 on bad usage.
set -eu
BIN=${DIAGBENCH:-build/diagbench}
OUT=${1:-build/ab_study}
REPS=${REPS:-15}
MIN_TIME=${MIN_TIME:-0.005}
THREADS=${THREADS:-1}
ALPHA=${ALPHA:-0.05}
MIN_EFFECT=${MIN_EFFECT:-1}
PLANTED_US=${PLANTED_US:-10.5}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$BIN" ] || { echo "ab_study: $BIN is not built (make build/diagbench)" >&2; exit 2; }
mkdir -p "$OUT"

run() { # name call-cost-us
    rm -f "$OUT/$1.csv" "$OUT/$1.csv.partial"
    OMP_NUM_THREADS=$THREADS "$BIN" -w seqsin -s probe,materialise -j fwd,bwd \
        -n 8,12,16,24,32,48,64,96,128,192 --reps "$REPS" --min-time "$MIN_TIME" \
        --call-cost-us "$2" -q -o "$OUT/$1.csv"
}
echo "ab_study: 3 runs of 40 cells (--reps $REPS --min-time $MIN_TIME, $THREADS thread(s)) into $OUT;" \
    "compare --alpha $ALPHA --min-effect $MIN_EFFECT" >&2
run base 10
run same 10
run planted "$PLANTED_US"
CMP="--alpha $ALPHA --min-effect $MIN_EFFECT --format json"
"$BIN" compare $CMP "$OUT/base.csv" "$OUT/same.csv" > "$OUT/aa.json"
"$BIN" compare $CMP "$OUT/base.csv" "$OUT/planted.csv" > "$OUT/planted.json"
"$BIN" compare --alpha "$ALPHA" --min-effect "$MIN_EFFECT" "$OUT/base.csv" "$OUT/planted.csv" \
    > "$OUT/planted.md"

"$PY" - "$OUT" "$PLANTED_US" <<'PYEOF'
import json, statistics, sys
out, planted = sys.argv[1], float(sys.argv[2])
aa = json.load(open(f"{out}/aa.json"))
pl = json.load(open(f"{out}/planted.json"))
def counts(rep):
    c = rep["counts"]
    return len(rep["cells"]), c["faster"], c["slower"], c["no change"], c["undecided"]
n, f, s, nc, u = counts(aa)
false_rate = (f + s) / n if n else float("nan")
print(f"A/A ({n} cells): {f + s} false verdicts ({f} faster, {s} slower), rate "
      f"{100 * false_rate:.1f}% (target <= 5%); {nc} no change, {u} undecided")
n2, f2, s2, nc2, u2 = counts(pl)
detect = s2 / n2 if n2 else float("nan")
ratios = [c["ratio"] for c in pl["cells"] if c["ratio"] is not None]
print(f"planted {planted / 10 - 1:+.0%} per call ({n2} cells): {s2} slower, detection "
      f"{100 * detect:.1f}% (target >= 90%); {f2} faster (wrong way), {nc2} no change, "
      f"{u2} undecided; median ratio {statistics.median(ratios):.4f}")
ok = false_rate <= 0.05 and detect >= 0.90
print("targets met" if ok else "targets MISSED")
sys.exit(0 if ok else 1)
PYEOF
