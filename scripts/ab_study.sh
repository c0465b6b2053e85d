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
# --adaptive (issue 25): the same two comparisons by one `scripts/ab.sh --adaptive --max-runs RUNS
# BASE SAME PLANTED` (rounds of the cells still open, compare --sequential; README: Comparing
# runs), the base's runs shared by both as in the fixed design, into OUTDIR/ab/, through two small
# wrapper scripts OUTDIR/bin-base and OUTDIR/bin-planted that add --call-cost-us (or, with
# PLANT_NS, --plant-work-ns) to the command. It prints the same two rates, the runs the cells
# took and the wall time.
#
# usage: scripts/ab_study.sh [--adaptive] [OUTDIR]   (default build/ab_study; from the repository
#        root). OUTDIR must not hold the runs or reports of an earlier study: nothing is removed.
# environment: DIAGBENCH (default build/diagbench), RUNS (10; adaptive: the most per side), REPS
#              (10), MIN_TIME (0.005 s per repetition), THREADS (OMP_NUM_THREADS, 1), ALPHA
#              (0.05), MIN_EFFECT (fixed: 0 %; adaptive: compare's default), PLANTED_US (10.5),
#              MIN_RUNS (adaptive: 3), WORKLOAD (seqsin; adaptive only: e.g. sin, whose cells get
#              the planted work from PLANT_PCT or PLANT_NS), PLANT_PCT (adaptive, TEST ONLY
#              --plant-work-pct of the planted side, e.g. 5), PLANT_NS (adaptive, TEST ONLY
#              --plant-work-ns; both 0: plant with PLANTED_US), STRATEGIES (adaptive:
#              probe,materialise), SIZES (adaptive: 8,12,16,24,32,48,64,96,128,192).
# Prints both rates and exits 0 when both targets are met, 1 when one is missed, 2 on bad usage.
set -eu
ADAPTIVE=0
if [ "${1:-}" = --adaptive ]; then
    ADAPTIVE=1
    shift
fi
case ${1:-} in -*) echo "ab_study: unknown option '$1' (usage: scripts/ab_study.sh [--adaptive] [OUTDIR])" >&2; exit 2 ;; esac
[ $# -le 1 ] || { echo "ab_study: expected at most one OUTDIR (usage: scripts/ab_study.sh [--adaptive] [OUTDIR])" >&2; exit 2; }
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
if [ -e "$OUT" ] && [ ! -d "$OUT" ]; then
    echo "ab_study: OUTDIR '$OUT' exists and is not a directory" >&2
    exit 2
fi
mkdir -p "$OUT"
# An earlier study's runs or reports (or anyone's files of those names) are never removed: refuse.
for f in "$OUT"/base-* "$OUT"/same-* "$OUT"/planted-* "$OUT"/*.partial "$OUT"/aa.json \
    "$OUT"/planted.json "$OUT"/planted.md "$OUT"/aa1.json "$OUT"/planted1.json "$OUT"/ab \
    "$OUT"/adaptive.json "$OUT"/bin-base "$OUT"/bin-planted; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        echo "ab_study: '$f' exists: give another OUTDIR (nothing is removed)" >&2
        exit 2
    fi
done
T0=$(cut -d' ' -f1 /proc/uptime)

if [ "$ADAPTIVE" -eq 1 ]; then
    MIN_RUNS=${MIN_RUNS:-3}
    WORKLOAD=${WORKLOAD:-seqsin}
    PLANT_NS=${PLANT_NS:-0}
    PLANT_PCT=${PLANT_PCT:-0}
    STRATEGIES=${STRATEGIES:-probe,materialise}
    SIZES=${SIZES:-8,12,16,24,32,48,64,96,128,192}
    case $PLANT_NS in '' | *[!0-9.]*) echo "ab_study: PLANT_NS '$PLANT_NS': expected nanoseconds" >&2; exit 2 ;; esac
    case $PLANT_PCT in '' | *[!0-9.]*) echo "ab_study: PLANT_PCT '$PLANT_PCT': expected a percentage" >&2; exit 2 ;; esac
    wrapper() { # file, extra diagbench arguments (the binary's path must not need quoting)
        case $BIN in *[!A-Za-z0-9_./+-]*) echo "ab_study: DIAGBENCH '$BIN': use a path of letters, digits and ._/+-" >&2; exit 2 ;; esac
        (set -C && printf '#!/bin/sh\ncase ${1:-} in compare | merge) exec %s "$@" ;; esac\nexec %s "$@" %s\n' \
            "$BIN" "$BIN" "$2" >"$1") || exit 2
        chmod +x "$1"
    }
    if [ "$PLANT_PCT" != 0 ]; then
        wrapper "$OUT/bin-base" ""
        wrapper "$OUT/bin-planted" "--plant-work-pct $PLANT_PCT"
        WHAT="--plant-work-pct $PLANT_PCT (TEST ONLY) on the planted side"
    elif [ "$PLANT_NS" = 0 ]; then
        wrapper "$OUT/bin-base" "--call-cost-us 10"
        wrapper "$OUT/bin-planted" "--call-cost-us $PLANTED_US"
        WHAT="--call-cost-us 10 against $PLANTED_US"
    else
        wrapper "$OUT/bin-base" ""
        wrapper "$OUT/bin-planted" "--plant-work-ns $PLANT_NS"
        WHAT="--plant-work-ns $PLANT_NS (TEST ONLY) on the planted side"
    fi
    COPT="--format json --alpha $ALPHA"
    [ -n "${MIN_EFFECT:-}" ] && [ "$MIN_EFFECT" != 0 ] && COPT="$COPT --min-effect $MIN_EFFECT"
    echo "ab_study: adaptive, $WORKLOAD cells, $WHAT, at most $RUNS runs per side from" \
        "$MIN_RUNS (--reps $REPS --min-time $MIN_TIME, $THREADS thread(s)) into $OUT" >&2
    # one ab.sh: BASE, NEW = the same command (A/A) and NEW2 = the planted one, sharing the base's
    # runs as the fixed design does; stdout: the two reports as a JSON array
    rc=0
    OMP_NUM_THREADS=$THREADS scripts/ab.sh --adaptive --min-runs "$MIN_RUNS" --max-runs "$RUNS" \
        -o "$OUT/ab" -c "$COPT" "$OUT/bin-base" "$OUT/bin-base" "$OUT/bin-planted" -- \
        -w "$WORKLOAD" -s "$STRATEGIES" -j fwd,bwd -n "$SIZES" \
        --reps "$REPS" --min-time "$MIN_TIME" >"$OUT/adaptive.json" || rc=$?
    [ "$rc" -le 1 ] || exit "$rc"
    cp "$OUT/ab/compare-1.json" "$OUT/aa.json"
    cp "$OUT/ab/compare-2.json" "$OUT/planted.json"
    WALL=$(awk -v a="$T0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
    "$PY" - "$OUT" "$WALL" <<'PYEOF'
import json, statistics, sys
out, wall = sys.argv[1], float(sys.argv[2])
rates = {}
for name in ("aa", "planted"):
    rep = json.load(open(f"{out}/{name}.json"))
    c, cells = rep["counts"], rep["cells"]
    runs = [x["sequential"]["runs"] for x in cells]
    ad = rep["adaptive"]
    rates[name] = (len(cells), c)
    print(f"{name}: {len(cells)} cells: {c['faster']} faster, {c['slower']} slower, "
          f"{c['no change']} no change, {c['undecided']} undecided; runs per side per cell: "
          f"median {statistics.median(runs)}, mean {statistics.mean(runs):.2f}, max {max(runs)}; "
          f"{ad['rounds']} rounds, stopped: {ad['stopped']}, {ad['elapsed_s']} s")
n, c = rates["aa"]
false_rate = (c["faster"] + c["slower"]) / n
n2, c2 = rates["planted"]
detect = c2["slower"] / n2
print(f"A/A false verdicts {c['faster'] + c['slower']} of {n} ({100 * false_rate:.1f}%, target "
      f"<= 5%); planted found slower {c2['slower']} of {n2} ({100 * detect:.1f}%, target >= 90%)")
print(f"wall time of the adaptive study: {wall:.1f} s")
ok = false_rate <= 0.05 and detect >= 0.90
print("targets met" if ok else "targets MISSED")
sys.exit(0 if ok else 1)
PYEOF
    exit $?
fi

run() { # name call-cost-us
    OMP_NUM_THREADS=$THREADS "$BIN" -w seqsin -s probe,materialise -j fwd,bwd \
        -n 8,12,16,24,32,48,64,96,128,192 --reps "$REPS" --min-time "$MIN_TIME" \
        --call-cost-us "$2" -q -o "$OUT/$1.csv"
}
echo "ab_study: 3 x $RUNS runs of 40 cells (--reps $REPS --min-time $MIN_TIME, $THREADS" \
    "thread(s)) into $OUT; compare --alpha $ALPHA --min-effect $MIN_EFFECT" >&2
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

WALL=$(awk -v a="$T0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')
"$PY" - "$OUT" "$PLANTED_US" "$WALL" <<'PYEOF'
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
print(f"wall time of the fixed study: {float(sys.argv[3]):.1f} s")
ok = false_rate <= 0.05 and detect >= 0.90
print("targets met" if ok else "targets MISSED")
sys.exit(0 if ok else 1)
PYEOF
