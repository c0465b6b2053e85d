#!/bin/sh
# A/B of two diagbench builds with the run as the sampling unit: RUNS runs of the same diagbench
# arguments per build, interleaved (base, new, new, base, base, new, ...: the build that goes
# first alternates), then `diagbench compare --base base-*.csv --new new-*.csv` on them
# (docs/comparing.md). Every run is its own process, so run-to-run differences are part of
# the noise the verdicts see.
#
# usage: scripts/ab.sh [-r RUNS] [-o DIR] [-c 'COMPARE OPTIONS']... BASE_BIN NEW_BIN -- ARGS...
#        scripts/ab.sh --adaptive [--min-runs M] [--max-runs R] [--budget SECONDS] [-o DIR]
#                      [-c 'COMPARE OPTIONS']... BASE_BIN NEW_BIN -- ARGS...
#   -r RUNS   runs per build, 4 to 100 (default 10: one disturbed run of 10 still leaves p = 0.003)
#   -o DIR    where the runs and the report go (default build/ab); it must not hold runs already
#   -c OPTS   options for compare, e.g. '--fail-on-regression 5 --min-effect 1'; split at blanks
#             into words, never glob-expanded (set -f); -c may be repeated. Checked with
#             `NEW_BIN compare --check-args` before the first run.
#   --adaptive  rounds of one run per build (interleaved as above); after each round from M runs
#             per side, `compare --sequential M:R --open-cells` decides the cells it can (slower,
#             faster, or no change within +-min effect: harness/analysis/sequential.h) and the
#             next round runs only the cells still open (diagbench --cells). Stops when no cell
#             is open, after R rounds, or when the next round would end after SECONDS.
#   --min-runs M  first look after M runs per side, 3 to R (default 3)
#   --max-runs R  at most R runs per side, M to 100 (default 10)
#   --budget S    wall-clock seconds for the runs (default: none); checked before each round
#                 from the third: a round whose estimated end (the last round's time per cell
#                 times the cells open) is past S is not started
#   ARGS      diagbench's arguments for every run (a matrix, -w/-s/-n, --reps, -t, ...); -o, --out,
#             --resume, --json, --benchmark_out and --cells are not allowed: each run writes
#             DIR/SIDE-K.csv (adaptive: DIR/SIDE-KKK.csv and the round's cell list DIR/open-KKK.csv)
# Prints the report (also in DIR/compare.md, or compare.json / compare.csv with -c '--format
# json|csv') and exits with compare's status: 0, 1 when -c has --fail-on-regression and a cell
# regressed, 2 on bad usage (here, or ARGS that diagbench refuses); a run that fails otherwise
# exits 1, its stderr kept in DIR/SIDE-K.log. Adaptive, the Markdown report ends with a paragraph
# on the rounds (why it stopped, the time taken, an estimate of the time the open cells would
# still need) and the JSON report (one object, compare's) has these as "adaptive": {...}.
set -eu
set -f # -c's words are never glob-expanded
RUNS=
DIR=build/ab
COPTS=
ADAPTIVE=0
MIN_RUNS=
MAX_RUNS=
BUDGET=
usage() {
    echo "ab: $1 (usage: scripts/ab.sh [-r RUNS | --adaptive [--min-runs M] [--max-runs R]" \
        "[--budget SECONDS]] [-o DIR] [-c 'COMPARE OPTIONS'] BASE_BIN NEW_BIN -- ARGS...)" >&2
    exit 2
}
need() { # flag, number of arguments left
    [ "$2" -ge 2 ] || usage "$1 needs a value"
}
while [ $# -gt 0 ]; do
    case $1 in
        -r) need "$1" $#; RUNS=$2; shift 2 ;;
        -o) need "$1" $#; DIR=$2; shift 2 ;;
        -c) need "$1" $#; COPTS="$COPTS $2"; shift 2 ;;
        --adaptive) ADAPTIVE=1; shift ;;
        --min-runs) need "$1" $#; MIN_RUNS=$2; shift 2 ;;
        --max-runs) need "$1" $#; MAX_RUNS=$2; shift 2 ;;
        --budget) need "$1" $#; BUDGET=$2; shift 2 ;;
        --) break ;;
        -*) usage "unknown option '$1'" ;;
        *) break ;;
    esac
done
whole() { # flag value lo hi what
    case $2 in
        '' | *[!0-9]*) usage "invalid $1 '$2': expected a whole number from $3 to $4$5" ;;
    esac
    if [ "${#2}" -gt 4 ] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
        usage "invalid $1 '$2': expected a whole number from $3 to $4$5"
    fi
}
if [ "$ADAPTIVE" -eq 1 ]; then
    [ -z "$RUNS" ] || usage "-r RUNS and --adaptive exclude each other: give --max-runs R"
    MAX_RUNS=${MAX_RUNS:-10}
    whole --max-runs "$MAX_RUNS" 3 100 ""
    MIN_RUNS=${MIN_RUNS:-3}
    whole --min-runs "$MIN_RUNS" 3 "$MAX_RUNS" " (--max-runs)"
    case $BUDGET in
        '') ;;
        *[!0-9.]* | *.*.* | . | .*) usage "invalid --budget '$BUDGET': expected seconds, a positive number such as 600 or 90.5" ;;
    esac
    if [ -n "$BUDGET" ] && ! awk -v b="$BUDGET" 'BEGIN { exit !(b + 0 > 0) }'; then
        usage "invalid --budget '$BUDGET': expected seconds, a positive number such as 600 or 90.5"
    fi
    RUNS=$MAX_RUNS
else
    for f in --min-runs:"$MIN_RUNS" --max-runs:"$MAX_RUNS" --budget:"$BUDGET"; do
        [ "${f#*:}" = "" ] || usage "${f%%:*} needs --adaptive"
    done
    RUNS=${RUNS:-10}
    whole -r "$RUNS" 4 100 " (fewer than 4 runs per side cannot reach p < 0.05)"
fi
if [ $# -lt 2 ]; then usage "expected BASE_BIN and NEW_BIN"; fi
BASE=$1
NEW=$2
shift 2
# Adaptive: more NEW builds may follow, each compared with the one BASE (whose runs they share):
# NEW_1 (= NEW), NEW_2, ... (eval only assigns "$1": nothing of the path is parsed as code).
NNEW=1
NEW_1=$NEW
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    [ "$ADAPTIVE" -eq 1 ] || usage "expected -- before diagbench's arguments (several NEW_BINs need --adaptive)"
    [ "$NNEW" -lt 9 ] || usage "at most 9 NEW_BINs"
    NNEW=$((NNEW + 1))
    eval "NEW_$NNEW=\$1"
    shift
done
if [ $# -eq 0 ] || [ "$1" != "--" ]; then usage "expected -- before diagbench's arguments"; fi
shift
j=0
for b in "$BASE" "$NEW"; do
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then usage "'$b' is not an executable file"; fi
done
j=2
while [ "$j" -le "$NNEW" ]; do
    eval "b=\$NEW_$j"
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then usage "'$b' is not an executable file"; fi
    j=$((j + 1))
done
for a in "$@"; do
    case $a in
        -o | --out | --out=* | --resume | --resume=* | --json | --json=* | --benchmark_out* | \
            --cells | --cells=*)
            usage "'$a' is not allowed in ARGS: each run writes its own DIR/SIDE-K.csv" ;;
    esac
done
# -c: the words compare gets; the files and the sequential design are ab.sh's own.
FORMAT=md
prev=
for w in $COPTS; do
    case $w in
        --base | --base=* | --new | --new=* | --pair | --pair=* | --sequential | --sequential=* | \
            --open-cells | --open-cells=* | --check-args | -- | -h | --help)
            usage "-c '$w' is not allowed: ab.sh gives compare its files and design" ;;
        --format=*) FORMAT=${w#--format=} ;;
    esac
    [ "$prev" = --format ] && FORMAT=$w
    prev=$w
done
SEQ=
[ "$ADAPTIVE" -eq 1 ] && SEQ="--sequential $MIN_RUNS:$MAX_RUNS"
# shellcheck disable=SC2086 # COPTS and SEQ are lists of words (globbing is off)
if ! cmsg=$("$NEW" compare --check-args $COPTS $SEQ --base b1.csv b2.csv --new n1.csv n2.csv \
    2>&1 >/dev/null); then
    usage "-c '${COPTS# }': $(printf '%s' "$cmsg" | head -n 1 | sed 's/^diagbench: compare: //')"
fi
if [ -e "$DIR" ] && [ ! -d "$DIR" ]; then usage "-o '$DIR' exists and is not a directory"; fi
mkdir -p "$DIR" 2>/dev/null || usage "-o '$DIR': cannot create the directory"
set +f
for f in "$DIR"/base-*.csv "$DIR"/new-*.csv "$DIR"/*.partial "$DIR"/open-*.csv "$DIR"/open.csv; do
    if [ -e "$f" ]; then usage "'$f' exists: give another -o DIR, or remove the earlier runs"; fi
done
set -f

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
round() { # k name ARGS...: one run of each build, the first alternating
    r_n=$1 r_name=$2
    shift 2
    if [ $((r_n % 2)) -eq 1 ]; then
        run base "$BASE" "$r_name" "$@"
        run new "$NEW" "$r_name" "$@"
    else
        run new "$NEW" "$r_name" "$@"
        run base "$BASE" "$r_name" "$@"
    fi
}
compare_runs() { # compare OPTIONS...: compare on the runs so far, in the order they ran
    set +f
    if [ "$ADAPTIVE" -eq 1 ]; then # base-001.csv, ...: the glob's order is the rounds'
        # shellcheck disable=SC2086 # COPTS and SEQ are lists of words
        "$NEW" compare $COPTS $SEQ "$@" --base "$DIR"/base-[0-9][0-9][0-9].csv \
            --new "$DIR"/new-[0-9][0-9][0-9].csv
    else
        # shellcheck disable=SC2086
        "$NEW" compare $COPTS "$@" --base "$DIR"/base-*.csv --new "$DIR"/new-*.csv
    fi
}
report() { # the final compare: DIR/compare.FORMAT; sets rc
    rc=0
    compare_runs >"$DIR/compare.$FORMAT" || rc=$?
    set -f
}

if [ "$ADAPTIVE" -eq 0 ]; then
    k=1
    while [ "$k" -le "$RUNS" ]; do
        echo "ab: round $k of $RUNS" >&2
        round "$k" "$k" "$@"
        k=$((k + 1))
    done
    report
    cat "$DIR/compare.$FORMAT"
    exit "$rc"
fi

# ---- adaptive ----------------------------------------------------------------------------------
now() { # seconds since boot, to the centisecond (Linux), else since the epoch
    if [ -r /proc/uptime ]; then cut -d' ' -f1 /proc/uptime; else date +%s; fi
}
rows() { # data lines of a CSV (its cells)
    echo $(($(wc -l <"$1") - 1))
}
side() { # j: the name of NEW_j's runs: new, new2, new3, ...
    if [ "$1" -eq 1 ]; then echo new; else echo "new$1"; fi
}
# compare_seq j OPTIONS...: NEW_j against BASE on the runs so far, in the order they ran
compare_seq() {
    c_j=$1
    shift
    c_side=$(side "$c_j")
    set +f
    # shellcheck disable=SC2086 # COPTS and SEQ are lists of words
    "$NEW" compare $COPTS $SEQ "$@" --base "$DIR"/base-[0-9][0-9][0-9].csv \
        --new "$DIR/$c_side"-[0-9][0-9][0-9].csv
    c_rc=$?
    set -f
    return "$c_rc"
}
# round_all k K: one run of each side (its open cells after the first look), the side that goes
# first rotating from round to round
round_all() {
    a_k=$1 a_name=$2
    shift 2
    a_s=0
    a_n=$((NNEW + 1))
    while [ "$a_s" -lt "$a_n" ]; do
        a_i=$(((a_k - 1 + a_s) % a_n)) # 0: base, j: NEW_j
        if [ "$a_i" -eq 0 ]; then
            a_side=base a_bin=$BASE a_list=$DIR/open-$a_name.csv
        else
            a_side=$(side "$a_i") a_list=$DIR/open-$a_i-$a_name.csv
            eval "a_bin=\$NEW_$a_i"
            [ "$NNEW" -eq 1 ] && a_list=$DIR/open-$a_name.csv
        fi
        if [ "$a_k" -gt "$MIN_RUNS" ]; then # a side with no open cell sits the round out
            [ "$(rows "$a_list")" -eq 0 ] || run "$a_side" "$a_bin" "$a_name" "$@" --cells "$a_list"
        else
            run "$a_side" "$a_bin" "$a_name" "$@"
        fi
        a_s=$((a_s + 1))
    done
}
T0=$(now)
k=1
STOP="max runs"
LAST_SECS=0
LAST_CELLS=1
NOPEN=
while [ "$k" -le "$MAX_RUNS" ]; do
    K=$(printf '%03d' "$k")
    if [ -n "$BUDGET" ] && [ "$k" -ge 3 ] && awk -v t0="$T0" -v t="$(now)" -v s="$LAST_SECS" \
        -v c="$LAST_CELLS" -v o="${NOPEN:-$LAST_CELLS}" -v b="$BUDGET" \
        'BEGIN { exit !(t - t0 + s / c * o > b) }'; then
        STOP=budget
        break
    fi
    if [ "$k" -gt "$MIN_RUNS" ]; then # the cell lists of this round: what the last look left open
        if [ "$NNEW" -eq 1 ]; then
            cp "$DIR/open-1.csv" "$DIR/open-$K.csv"
        else # each NEW its own; the base the union (one line per cell)
            j=1
            while [ "$j" -le "$NNEW" ]; do
                cp "$DIR/open-$j.csv" "$DIR/open-$j-$K.csv"
                j=$((j + 1))
            done
            head -n 1 "$DIR/open-1.csv" >"$DIR/open-$K.csv"
            set +f
            for f in "$DIR"/open-[0-9]-"$K".csv; do tail -n +2 "$f"; done | sort -u \
                >>"$DIR/open-$K.csv"
            set -f
        fi
        echo "ab: round $k of at most $MAX_RUNS: $NOPEN open cell run(s)" >&2
    else
        echo "ab: round $k of at most $MAX_RUNS: every cell" >&2
    fi
    r0=$(now)
    round_all "$k" "$K" "$@"
    LAST_SECS=$(awk -v a="$r0" -v b="$(now)" 'BEGIN { print b - a }')
    LAST_CELLS=$(rows "$DIR/base-$K.csv") # cell runs of the round: every side's rows
    j=1
    while [ "$j" -le "$NNEW" ]; do
        f=$DIR/$(side "$j")-$K.csv
        [ ! -f "$f" ] || LAST_CELLS=$((LAST_CELLS + $(rows "$f")))
        j=$((j + 1))
    done
    [ "$LAST_CELLS" -gt 0 ] || LAST_CELLS=1
    if [ "$k" -ge "$MIN_RUNS" ]; then
        NOPEN=0 # cell runs the next round needs: the open cells of each NEW side and of the base
        j=1
        while [ "$j" -le "$NNEW" ]; do
            crc=0
            compare_seq "$j" --open-cells "$DIR/open-$j.csv" >/dev/null || crc=$?
            [ "$crc" -le 1 ] || exit "$crc"
            NOPEN=$((NOPEN + 2 * $(rows "$DIR/open-$j.csv")))
            j=$((j + 1))
        done
        ETA=$(awk -v s="$LAST_SECS" -v c="$LAST_CELLS" -v o="$NOPEN" -v r=$((MAX_RUNS - k)) \
            'BEGIN { printf "%.0f", s / c * o * r }')
        echo "ab: after round $k: $((NOPEN / 2)) cell comparison(s) open; at most ${ETA}s more" \
            "($((MAX_RUNS - k)) round(s) of the open cells at the last round's time per cell)" >&2
        if [ "$NOPEN" -eq 0 ] && [ "$k" -lt "$MAX_RUNS" ]; then
            STOP=decided
            k=$((k + 1))
            break
        fi
    fi
    k=$((k + 1))
done
ROUNDS=$((k - 1))
ELAPSED=$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
if [ "$ROUNDS" -lt 2 ]; then
    echo "ab: stopped on the budget after $ROUNDS round(s): compare needs two runs per side" >&2
    exit 1
fi
NOPEN=${NOPEN:-$LAST_CELLS}
[ "$STOP" = decided ] && NOPEN=0
ETA=$(awk -v s="$LAST_SECS" -v c="$LAST_CELLS" -v o="$NOPEN" -v r=$((MAX_RUNS - ROUNDS)) \
    'BEGIN { printf "%.0f", s / c * o * r }')
# The reports: DIR/compare.FORMAT (one NEW_BIN) or DIR/compare-J.FORMAT (NEW_J); stdout has them in
# order (json: one object, or a JSON array of the objects with several NEW_BINs).
rc=0
j=1
[ "$NNEW" -gt 1 ] && [ "$FORMAT" = json ] && echo "["
while [ "$j" -le "$NNEW" ]; do
    f=$DIR/compare.$FORMAT
    [ "$NNEW" -gt 1 ] && f=$DIR/compare-$j.$FORMAT
    jrc=0
    compare_seq "$j" >"$f" || jrc=$?
    [ "$jrc" -le "$rc" ] || rc=$jrc
    [ "$rc" -le 1 ] || exit "$rc"
    jopen=0
    [ "$STOP" = decided ] || [ ! -f "$DIR/open-$j.csv" ] || jopen=$(rows "$DIR/open-$j.csv")
    [ -f "$DIR/open-$j.csv" ] || jopen=$(rows "$DIR/base-001.csv")
    case $FORMAT in
        json) # compare's object, plus "adaptive"
            sed '$d' "$f" >"$f.tmp" # compare's closing brace
            {
                printf ',\n  "adaptive": {"rounds": %d, "stopped": "%s", "elapsed_s": %s, ' \
                    "$ROUNDS" "$STOP" "$ELAPSED"
                printf '"budget_s": %s, "min_runs": %d, "max_runs": %d, "open_cells": %d, ' \
                    "${BUDGET:-null}" "$MIN_RUNS" "$MAX_RUNS" "$jopen"
                printf '"eta_s": %s}\n}\n' "$ETA"
            } >>"$f.tmp"
            mv "$f.tmp" "$f"
            ;;
        md)
            {
                echo
                printf '**Adaptive run**: %d round(s) (runs per side, %d to %d), stopped: %s,' \
                    "$ROUNDS" "$MIN_RUNS" "$MAX_RUNS" "$STOP"
                printf ' after %s s%s' "$ELAPSED" "${BUDGET:+ (budget $BUDGET s)}"
                [ "$NNEW" -gt 1 ] && printf ' (%d NEW builds against one base)' "$NNEW"
                printf '; %d cell(s) still open' "$jopen"
                if [ "$jopen" -gt 0 ]; then
                    printf ' (reported undecided with their CI), estimated at most %s s more' "$ETA"
                    printf ' to decide them (%d more round(s) at the last round'"'"'s time per' \
                        $((MAX_RUNS - ROUNDS))
                    printf ' cell)'
                fi
                echo .
            } >>"$f"
            ;;
    esac
    [ "$j" -gt 1 ] && [ "$FORMAT" = json ] && echo ","
    cat "$f"
    j=$((j + 1))
done
[ "$NNEW" -gt 1 ] && [ "$FORMAT" = json ] && echo "]"
exit "$rc"
