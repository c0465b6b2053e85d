#!/bin/sh
# The A/A and planted-effect study of `diagbench compare` (issue 13, "Shown to work"):
#   A/A      the same command on both sides: every "faster"/"slower" verdict is false (target
#            <= 5%);
#   planted  seqsin's per-call cost 10 us against 10.5 us (5% slower calls): the share of cells
#            found "slower" is the detection rate (target >= 90%).
# 40 cells: seqsin x {probe, materialise} x {fwd, bwd} x 10 sizes, one thread by default.
# Each side is RUNS runs (processes) of the command, interleaved round by round (base, same,
# planted, the first of them rotating), and compared with --base/--new: the samples are the
# per-run medians, so drift between runs is part of the noise. RUNS=1 compares one run per side
# on its repetitions, what Google Benchmark's compare.py does.
#
# usage: scripts/ab_study.sh [OUTDIR]   (default build/ab_study; run from the repository root)
# environment: DIAGBENCH (default build/diagbench), RUNS (10), REPS (10), MIN_TIME (0.005 s per
#              repetition), THREADS (OMP_NUM_THREADS, 1), ALPHA (0.05), MIN_EFFECT (0 %),
#              PLANTED_US (10.5).
# Prints both rates and exits 0 when both targets are met, 1 when one is missed, 2 on bad usage.
set -eu
BIN=${DIAGBENCH:-build/diagbench}
OUT=${1:-build/ab_study}
RUNS=${RUNS:-10}
REPS=${REPS:-10}
MIN_TIME=${MIN_TIME:-0.005}
THREADS=${THREADS:-1}
ALPHA=${ALPHA:-0.05}
MIN_EFFECT=${MIN_EFFECT:-0}
PLANTED_US=${PLANTED_US:-10.5}
PY=${PYTHON:-/usr/bin/python3}
[ -x "$BIN" ] || { echo "ab_study: $BIN is not built (make build/diagbench)" >&2; exit 2; }
case $RUNS in '' | *[!0-9]* | 0) echo "ab_study: RUNS '$RUNS': expected a whole number >= 1" >&2; exit 2 ;; esac
mkdir -p "$OUT"

run() { # name call-cost-us
    rm -f "$OUT/$1.csv" "$OUT/$1.csv.partial"
    OMP_NUM_THREADS=$THREADS "$BIN" -w seqsin -s probe,materialise -j fwd,bwd \
        -n 8,12,16,24,32,48,64,96,128,192 --reps "$REPS" --min-time "$MIN_TIME" \
        --call-cost-us "$2" -q -o "$OUT/$1.csv"
}
echo "ab_study: 3 x $RUNS runs of 40 cells (--reps $REPS --min-time $MIN_TIME, $THREADS" \
    "thread(s)) into $OUT; compare --alpha $ALPHA --min-effect $MIN_EFFECT" >&2
rm -f "$OUT"/base-*.csv "$OUT"/same-*.csv "$OUT"/planted-*.csv "$OUT/aa1.json" "$OUT/planted1.json"
i=1
while [ "$i" -le "$RUNS" ]; do
    case $((i % 3)) in
        1) run "base-$i" 10; run "same-$i" 10; run "planted-$i" "$PLANTED_US" ;;
        2) run "same-$i" 10; run "planted-$i" "$PLANTED_US"; run "base-$i" 10 ;;
        0) run "planted-$i" "$PLANTED_US"; run "base-$i" 10; run "same-$i" 10 ;;
    esac
    echo "ab_study: round $i of $RUNS done" >&2
    i=$((i + 1))
done
CMP="--alpha $ALPHA --min-effect $MIN_EFFECT"
# shellcheck disable=SC2086 # CMP is a list of options; the globs are the runs of a side
"$BIN" compare $CMP --format json --base "$OUT"/base-*.csv --new "$OUT"/same-*.csv > "$OUT/aa.json"
# shellcheck disable=SC2086
"$BIN" compare $CMP --format json --base "$OUT"/base-*.csv --new "$OUT"/planted-*.csv \
    > "$OUT/planted.json"
# shellcheck disable=SC2086
"$BIN" compare $CMP --base "$OUT"/base-*.csv --new "$OUT"/planted-*.csv > "$OUT/planted.md"
# for contrast: the first run of each side alone, its repetitions as the samples
if [ "$RUNS" -gt 1 ]; then
    # shellcheck disable=SC2086
    "$BIN" compare $CMP --format json "$OUT/base-1.csv" "$OUT/same-1.csv" > "$OUT/aa1.json"
    # shellcheck disable=SC2086
    "$BIN" compare $CMP --format json "$OUT/base-1.csv" "$OUT/planted-1.csv" > "$OUT/planted1.json"
fi

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
try:
    aa1, pl1 = (json.load(open(f"{out}/{name}.json")) for name in ("aa1", "planted1"))
    n, f, s, nc, u = counts(aa1)
    n2, f2, s2, nc2, u2 = counts(pl1)
    print(f"(one run per side, repetitions as samples: A/A {f + s} false verdicts of {n}, "
          f"planted {s2} of {n2} found slower)")
except FileNotFoundError:
    pass
ok = false_rate <= 0.05 and detect >= 0.90
print("targets met" if ok else "targets MISSED")
sys.exit(0 if ok else 1)
PYEOF
