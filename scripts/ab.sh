#!/bin/sh
# A/B of two diagbench builds with the run as the sampling unit: RUNS runs of the same diagbench
# arguments per build, interleaved (base, new, new, base, base, new, ...: the build that goes
# first alternates), then `diagbench compare --base base-*.csv --new new-*.csv` on them
# (docs/comparing.md). Every run is its own process, so run-to-run differences are part of
# the noise the verdicts see.
#
# usage: scripts/ab.sh [-r RUNS] [-o DIR] [-c 'COMPARE OPTIONS'] BASE_BIN NEW_BIN -- ARGS...
#   -r RUNS   runs per build, 4 to 100 (default 10: one disturbed run of 10 still leaves p = 0.003)
#   -o DIR    where the runs and the report go (default build/ab); it must not hold runs already
#   -c OPTS   options for compare, e.g. '--fail-on-regression 5 --min-effect 1'
#   ARGS      diagbench's arguments for every run (a matrix, -w/-s/-n, --reps, -t, ...); -o, --out,
#             --resume, --json and --benchmark_out are not allowed: each run writes DIR/SIDE-K.csv
# Prints the Markdown report (also in DIR/compare.md) and exits with compare's status: 0, 1 when
# -c has --fail-on-regression and a cell regressed, 2 on bad usage (here, or ARGS that diagbench
# refuses); a run that fails otherwise exits 1, its stderr kept in DIR/SIDE-K.log.
set -eu
RUNS=10
DIR=build/ab
COPTS=
usage() {
    echo "ab: $1 (usage: scripts/ab.sh [-r RUNS] [-o DIR] [-c 'COMPARE OPTIONS'] BASE_BIN NEW_BIN -- ARGS...)" >&2
    exit 2
}
while getopts r:o:c: opt; do
    case $opt in
        r) RUNS=$OPTARG ;;
        o) DIR=$OPTARG ;;
        c) COPTS=$OPTARG ;;
        *) usage "unknown option" ;;
    esac
done
shift $((OPTIND - 1))
case $RUNS in
    '' | *[!0-9]*) usage "invalid -r '$RUNS': expected a whole number from 4 to 100" ;;
esac
if [ "$RUNS" -lt 4 ] || [ "$RUNS" -gt 100 ]; then
    usage "invalid -r '$RUNS': expected a whole number from 4 to 100 (fewer than 4 runs per side cannot reach p < 0.05)"
fi
if [ $# -lt 2 ]; then usage "expected BASE_BIN and NEW_BIN"; fi
BASE=$1
NEW=$2
shift 2
if [ $# -eq 0 ] || [ "$1" != "--" ]; then usage "expected -- before diagbench's arguments"; fi
shift
for b in "$BASE" "$NEW"; do
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then usage "'$b' is not an executable file"; fi
done
for a in "$@"; do
    case $a in
        -o | --out | --out=* | --resume | --resume=* | --json | --json=* | --benchmark_out*)
            usage "'$a' is not allowed in ARGS: each run writes its own DIR/SIDE-K.csv" ;;
    esac
done
mkdir -p "$DIR"
for f in "$DIR"/base-*.csv "$DIR"/new-*.csv "$DIR"/*.partial; do
    if [ -e "$f" ]; then usage "'$f' exists: give another -o DIR, or remove the earlier runs"; fi
done

run() { # side binary round ARGS...
    r_side=$1 r_bin=$2 r_k=$3
    shift 3
    r_rc=0
    "$r_bin" "$@" -q -o "$DIR/$r_side-$r_k.csv" >/dev/null 2>"$DIR/$r_side-$r_k.log" || r_rc=$?
    if [ "$r_rc" -ne 0 ]; then
        echo "ab: the $r_side run $r_k failed ($r_bin, exit $r_rc); the end of its stderr" \
            "($DIR/$r_side-$r_k.log):" >&2
        tail -n 5 "$DIR/$r_side-$r_k.log" >&2
        [ "$r_rc" -eq 2 ] && exit 2 # diagbench refused ARGS: bad usage here too
        exit 1
    fi
}
k=1
while [ "$k" -le "$RUNS" ]; do
    echo "ab: round $k of $RUNS" >&2
    if [ $((k % 2)) -eq 1 ]; then
        run base "$BASE" "$k" "$@"
        run new "$NEW" "$k" "$@"
    else
        run new "$NEW" "$k" "$@"
        run base "$BASE" "$k" "$@"
    fi
    k=$((k + 1))
done
rc=0
# shellcheck disable=SC2086 # COPTS is a list of options
"$NEW" compare $COPTS --base "$DIR"/base-*.csv --new "$DIR"/new-*.csv >"$DIR/compare.md" || rc=$?
cat "$DIR/compare.md"
exit "$rc"
