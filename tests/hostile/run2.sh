#!/bin/bash
# The second hostile pass (issue 24): the surfaces added since the first one -- compare (copies,
# samples no run writes, options), --json, the wisdom cache on a shared machine, the remote
# workloads and external workers, scripts/ab.sh, plot.py --report, outputs that collide or fail,
# size lists -- tried as an attacker and as a careless user would, including permission cases as
# an unprivileged user (setpriv). One line per case (case, expected, got, PASS / FAIL / SKIP) and
# a total; exits 1 when any case fails. Every run has a timeout: a hang is a FAIL.
#
#   tests/hostile/run2.sh           # from the repository root, after make build/diagbench
#
# Root runs the setpriv cases (they SKIP otherwise). Scratch files live in a temporary folder.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(realpath "${DIAGBENCH:-$ROOT/build/diagbench}")
PY=${PYTHON:-/usr/bin/python3}
W=$(mktemp -d /tmp/diagbench-hostile2.XXXXXX)
chmod 755 "$W"
export DIAGBENCH_WISDOM=$W/wisdom.tsv DIAGBENCH_WISDOM_LOCK_WAIT_MS=300
unset OMP_NUM_THREADS OMP_PROC_BIND OMP_PLACES OMP_WAIT_POLICY OMP_THREAD_LIMIT OPENBLAS_NUM_THREADS
S=(-w sin -s probe -j fwd -n 10,20 --reps 2 --min-time 1e-4 -q)
pass=0 fail=0 skip=0
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
cd "$W" || exit 1
. "$ROOT/tests/hostile/lib.sh"
TMO=60
rows() { [ -f "$1" ] && $PY -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=''))))" "$1" 2>/dev/null || echo -1; }
# t4 NAME CMD...: standard output could not be written: exit 4, one line.
t4() {
    local name=$1
    shift
    timeout -s KILL "$TMO" "$@" >/dev/full 2>"$W/err"
    RC=$?
    if [ "$RC" = 4 ] && [ "$(grep -c 'cannot write to standard output' "$W/err")" = 1 ]; then
        report "$name" "exit 4, one line" "$(got)" PASS
    else report "$name" "exit 4, one line" "$(got)" FAIL; fi
}
# as_nobody CMD...: the command as an unprivileged user (root only; else SKIP by the caller).
NOBODY=0
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && NOBODY=1
NB=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all)

# ---- fixtures: two runs, a third with the base's run_id -------------------------------------
"$D" "${S[@]}" -o base.csv && "$D" "${S[@]}" -o new.csv || { echo "fixture runs failed"; exit 1; }
cp base.csv copy.csv
ln -s base.csv link.csv
mkdir adir
mkfifo fifo
: >empty.csv
head -1 base.csv >header.csv
edit() { # edit OUT EXPR: a copy of new.csv with each data row passed through the Python EXPR on r
    $PY - "$1" "$2" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open("new.csv", newline="")))
with open(sys.argv[1], "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    for r in rows:
        r["run_id"] = "edited-" + sys.argv[1]
        if r["status"] == "ok":
            exec(sys.argv[2])
        w.writerow(r)
EOF
}
edit hex.csv 'r["samples_s"] = ";".join(["0x1p-20"] * int(r["reps"]))'
edit inf.csv 'r["samples_s"] = ";".join(["inf"] * int(r["reps"]))'
edit huge.csv 'r["samples_s"] = ";".join(["1e308"] * int(r["reps"])); r["time_median_s"] = "1e308"'
edit neg.csv 'r["samples_s"] = ";".join(["-1e-6"] * int(r["reps"]))'
edit zero.csv 'r["samples_s"] = ";".join(["0"] * int(r["reps"]))'
edit many.csv 'r["samples_s"] = ";".join(["1e-6"] * 1000)'
edit few.csv 'r["samples_s"] = "1e-6"'
edit median.csv 'r["time_median_s"] = "1"'
edit nan.csv 'r["samples_s"] = ";".join(["nan"] * int(r["reps"]))'
edit comma.csv 'r["samples_s"] = r["samples_s"].replace(".", ",")'
edit sep.csv 'r["samples_s"] = r["samples_s"].replace(";", " ")'
edit reps0.csv 'r["reps"] = "0"'
edit repsx.csv 'r["reps"] = "abc"'
edit nx.csv 'r["n"] = "1e3"'
edit thr.csv 'r["threads"] = "-2"'
edit backtick.csv 'r["host"] = "`<img src=x onerror=alert(1)>`"'
edit pipe.csv 'r["workload"] = "sin|x"'
edit nl.csv 'r["note"] = "a\nb"'
printf '\xef\xbb\xbf' >bom.csv && cat new.csv >>bom.csv
sed 's/$/\r/' new.csv >crlf.csv

# ---- compare: inputs no run writes, copies, links ---------------------------------------------
t2 "compare: a missing file" "$D" compare base.csv nosuch.csv
t2 "compare: a directory" "$D" compare base.csv adir
t2 "compare: /dev/null" "$D" compare base.csv /dev/null
TMO=10 t2 "compare: a FIFO without a writer (no wait)" "$D" compare base.csv fifo
t2 "compare: an empty file" "$D" compare base.csv empty.csv
tok "compare: a header alone (no cells: accepted whole or refused)" "$D" compare base.csv header.csv
t2 "compare: the same file twice" "$D" compare base.csv base.csv
t2 "compare: a file and its link" "$D" compare base.csv link.csv
t2 "compare: a file and its copy (one run_id)" "$D" compare base.csv copy.csv
t2 "compare --base: a copy on one side" "$D" compare --base base.csv copy.csv --new new.csv
tok "compare: a BOM before the header" "$D" compare base.csv bom.csv
for f in hex inf huge neg zero many few median nan comma sep reps0 repsx nx thr; do
    t2 "compare: samples no run writes ($f)" "$D" compare base.csv $f.csv
done
t0 "compare: CRLF line endings are read" "$D" compare base.csv crlf.csv
t0 "compare: a backtick and HTML in a host" "$D" compare base.csv backtick.csv
check "compare: the Markdown puts them in a longer code span" "a \`\` span" "grep -q '\`\` \`<img' '$W/out'"
t0 "compare: a pipe in a workload" "$D" compare base.csv pipe.csv
t0 "compare: a line break in a note" "$D" compare base.csv nl.csv
for v in 0 1 -0.1 abc nan 1e400 ''; do t2 "compare --alpha '$v'" "$D" compare --alpha "$v" base.csv new.csv; done
for v in -1 1001 abc inf; do t2 "compare --min-effect '$v'" "$D" compare --min-effect "$v" base.csv new.csv; done
for v in -5 abc ''; do t2 "compare --fail-on-regression '$v'" "$D" compare --fail-on-regression "$v" base.csv new.csv; done
for v in xml '' MD; do t2 "compare --format '$v'" "$D" compare --format "$v" base.csv new.csv; done
for v in a a:a :b a: a:b:c; do t2 "compare --pair '$v'" "$D" compare --pair "$v" base.csv; done
for v in 2:10 10:3 3:101 x 3 3:x; do t2 "compare --sequential '$v'" "$D" compare --sequential "$v" --base base.csv copy.csv --new new.csv; done
t2 "compare --open-cells without --sequential" "$D" compare --open-cells o.csv base.csv new.csv
t2 "compare --base without --new" "$D" compare --base base.csv
t2 "compare: three files" "$D" compare base.csv new.csv copy.csv
t2 "compare: an unknown option" "$D" compare --frobnicate base.csv new.csv
t2 "compare --check-args with a bad --alpha" "$D" compare --check-args --alpha 2
t4 "compare > /dev/full" "$D" compare base.csv new.csv
t4 "compare --format json > /dev/full" "$D" compare --format json base.csv new.csv
t4 "--schema > /dev/full" "$D" --schema
t4 "--list > /dev/full" "$D" --list
t4 "--help > /dev/full" "$D" --help
t4 "--env > /dev/full" "$D" --env
t4 "compare --help > /dev/full" "$D" compare --help

# ---- outputs: --json, collisions, conflicts ---------------------------------------------------
t2 "--json /proc/version" "$D" "${S[@]}" -o j1.csv --json /proc/version
check "... no CSV left" "no j1.csv*" "! ls j1.csv* 2>/dev/null | grep -q ."
t2 "--json a directory" "$D" "${S[@]}" -o j2.csv --json adir
t2 "--json in a missing folder" "$D" "${S[@]}" -o j3.csv --json nodir/x.json
t2 "--json -" "$D" "${S[@]}" -o j4.csv --json -
t2 "--json ''" "$D" "${S[@]}" -o j5.csv --json ''
t2 "--json a --json b" "$D" "${S[@]}" -o j6.csv --json a.json --json b.json
t2 "--json a --benchmark_out=b" "$D" "${S[@]}" -o j7.csv --json a.json --benchmark_out=b.json
t2 "--reps 3 --benchmark_repetitions=4" "$D" "${S[@]}" -o j8.csv --benchmark_repetitions=4
t2 "--min-time twice (two names)" "$D" "${S[@]}" -o j9.csv --benchmark_min_time=0.1
t2 "aggregates only with --reps 1" "$D" -w sin -s probe -j fwd -n 10 --reps 1 -q -o ja.csv --json ja.json --benchmark_report_aggregates_only=true
t2 "-o twice" "$D" "${S[@]}" -o jb.csv -o jc.csv
t2 "-o s.csv --json ./s.csv" "$D" "${S[@]}" -o s.csv --json ./s.csv
t2 "-o s.csv --json \$PWD/s.csv" "$D" "${S[@]}" -o s.csv --json "$W/s.csv"
t2 "-o s.csv --json ../dir/s.csv" "$D" "${S[@]}" -o s.csv --json "../$(basename "$W")/s.csv"
t2 "-o y.csv --json y.csv.partial" "$D" "${S[@]}" -o y.csv --json y.csv.partial
t2 "-o w.tsv --wisdom w.tsv" "$D" "${S[@]}" -o w.tsv --wisdom w.tsv
t2 "--json w.tsv --wisdom w.tsv" "$D" "${S[@]}" -o z.csv --json w.tsv --wisdom ./w.tsv
ln -s s2.csv s2link.csv
t2 "-o s2.csv --json a link to it" "$D" "${S[@]}" -o s2.csv --json s2link.csv 2>/dev/null
: >exists.csv
t2 "--json a file that is also --out (existing)" "$D" "${S[@]}" -o exists.csv --json exists.csv
t2 "a 5000-character --json" "$D" "${S[@]}" -o jl.csv --json "$(printf 'x%.0s' $(seq 5000)).json"

# ---- the wisdom cache on a shared machine -----------------------------------------------------
M=(-w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q)
TMO=30 t0 "--wisdom /dev/zero returns" "$D" "${M[@]}" -o w1.csv --wisdom /dev/zero
TMO=30 t0 "--wisdom a FIFO without a writer returns" "$D" "${M[@]}" -o w2.csv --wisdom "$W/fifo"
check "... the FIFO is still a FIFO" "a FIFO" "[ -p '$W/fifo' ]"
head -c 3000000 /dev/zero | tr '\0' '#' >huge.tsv
TMO=30 t0 "--wisdom a 3 MB file" "$D" "${M[@]}" -o w3.csv --wisdom huge.tsv
check "... not replaced" "3000000 bytes" "[ \$(stat -c %s huge.tsv) = 3000000 ]"
printf 'a foreign file\n' >foreign.tsv
t0 "--wisdom someone else's file" "$D" "${M[@]}" -o w4.csv --wisdom foreign.tsv
check "... not replaced" "unchanged" "[ \"\$(cat foreign.tsv)\" = 'a foreign file' ]"
mkdir wd && printf 'precious\n' >victim
for p in $(seq $$ $(($$ + 40))); do ln -s "$W/victim" "wd/wisdom.tsv.tmp.$p"; done
ln -s "$W/created-through-lock" wd/wisdom.tsv.lock
t0 "--wisdom with planted tmp and lock links" "$D" "${M[@]}" -o w5.csv --wisdom wd/wisdom.tsv
check "... the links' target untouched" "precious" "[ \"\$(cat victim)\" = precious ]"
check "... nothing created through the lock" "absent" "[ ! -e created-through-lock ]"
rm wd/wisdom.tsv.lock
printf '%s\n' '# diagbench wisdom v1' >held.tsv
$PY -c "import fcntl,time,sys; f=open('held.tsv.lock','w'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(20)" &
HOLDER=$!
sleep 0.5
TMO=20 t0 "a held wisdom lock: bounded wait" "$D" "${M[@]}" -o w6.csv --wisdom held.tsv --no-wisdom
check "... says wisdom not saved" "a warning" "grep -q 'wisdom not saved' '$W/err'"
kill $HOLDER 2>/dev/null
printf '%s\n' '# diagbench wisdom v1' "x	1	false	unset	gcc	64	plain/16	0	then" "x	1	false	unset	gcc	64	plain/16	99999	then" >absurd.tsv
t0 "--wisdom with 0 and 100 TB/s lines" "$D" "${M[@]}" -o w7.csv --wisdom absurd.tsv
t0 "--wisdom a directory" "$D" "${M[@]}" -o w8.csv --wisdom adir
if [ $NOBODY = 1 ]; then
    mkdir -p ro && chmod 555 ro && chmod 777 "$W" && touch ro-out.csv 2>/dev/null
    TMO=30 run "${NB[@]}" "$D" "${M[@]}" -o "$W/nb1.csv" --wisdom "$W/ro/wisdom.tsv"
    if [ "$RC" = 0 ] && grep -q 'wisdom not saved' "$W/err"; then report "nobody: a wisdom folder it cannot write" "exit 0, a warning" "$(got)" PASS; else report "nobody: a wisdom folder it cannot write" "exit 0, a warning" "$(got)" FAIL; fi
    printf '# diagbench wisdom v1\n' >secret.tsv && chmod 600 secret.tsv
    TMO=30 run "${NB[@]}" "$D" "${M[@]}" -o "$W/nb2.csv" --wisdom "$W/secret.tsv"
    if [ "$RC" = 0 ]; then report "nobody: an unreadable wisdom file" "exit 0" "$(got)" PASS; else report "nobody: an unreadable wisdom file" "exit 0" "$(got)" FAIL; fi
    run "${NB[@]}" "$D" "${S[@]}" -o "$W/ro/x.csv"
    if clear_refusal; then report "nobody: -o in a read-only folder" "exit 2, one line" "$(got)" PASS; else report "nobody: -o in a read-only folder" "exit 2, one line" "$(got)" FAIL; fi
    chmod 600 copy.csv
    run "${NB[@]}" "$D" compare "$W/base.csv" "$W/copy.csv"
    if clear_refusal; then report "nobody: compare an unreadable file" "exit 2, one line" "$(got)" PASS; else report "nobody: compare an unreadable file" "exit 2, one line" "$(got)" FAIL; fi
    chmod 644 copy.csv
    run "${NB[@]}" "$D" "${S[@]}" --json "$W/ro/x.json" -o "$W/nb3.csv"
    if clear_refusal; then report "nobody: --json in a read-only folder" "exit 2, one line" "$(got)" PASS; else report "nobody: --json in a read-only folder" "exit 2, one line" "$(got)" FAIL; fi
    run env TMPDIR="$W/ro" setpriv --reuid=nobody --regid=nogroup --clear-groups "$D" -w remote -s probe -j fwd -n 10 --reps 1 --min-time 1e-4 -q -o "$W/nb4.csv"
    if [ "$RC" = 0 ] && grep -q "TMPDIR '$W/ro'" "$W/err"; then report "nobody: a TMPDIR it cannot write (remote)" "exit 0, TMPDIR named" "$(got)" PASS; else report "nobody: a TMPDIR it cannot write (remote)" "exit 0, TMPDIR named" "$(got)" FAIL; fi
    chmod 600 base.csv
    run "${NB[@]}" "$D" --cells "$W/base.csv" "${S[@]}" -o "$W/nb5.csv"
    if clear_refusal; then report "nobody: an unreadable --cells file" "exit 2, one line" "$(got)" PASS; else report "nobody: an unreadable --cells file" "exit 2, one line" "$(got)" FAIL; fi
    chmod 644 base.csv
    chmod 755 "$W"
else
    for c in "a wisdom folder it cannot write" "an unreadable wisdom file" "-o in a read-only folder" "compare an unreadable file" "--json in a read-only folder" "a TMPDIR it cannot write" "an unreadable --cells file"; do
        skipcase "nobody: $c" "setpriv" "not root"
    done
fi

# ---- remote workloads and external workers ----------------------------------------------------
R=(-w remote -s probe -j fwd -n 10 --reps 1 --min-time 1e-4 -q)
for v in udp '' UNIX; do t2 "--remote-transport '$v'" "$D" "${R[@]}" -o r.csv --remote-transport "$v"; done
for v in xml '' JSON; do t2 "--remote-encoding '$v'" "$D" "${R[@]}" -o r.csv --remote-encoding "$v"; done
for v in 0 -1 abc 3600001 1.5; do t2 "--remote-timeout-ms '$v'" "$D" "${R[@]}" -o r.csv --remote-timeout-ms "$v"; done
TMPDIR=$W/nosuch t0 "remote: a TMPDIR that does not exist" "$D" "${R[@]}" -o r1.csv
check "... named once" "one line" "[ \$(grep -c TMPDIR '$W/err') = 1 ]"
TMPDIR=$W/$(printf 'd%.0s' $(seq 120)) t0 "remote: a TMPDIR too long for a socket" "$D" "${R[@]}" -o r2.csv
DIAGBENCH_WORKER_FAULT=bogus t0 "remote: a bad DIAGBENCH_WORKER_FAULT is an error row" "$D" "${R[@]}" -o r3.csv
check "... the row says why" "status error" "grep -q ',error,' r3.csv"
DIAGBENCH_WORKER_FAULT=sleep-after:0 TMO=30 t0 "remote: a worker that sleeps" "$D" "${R[@]}" -o r4.csv --remote-timeout-ms 200
check "... error row, no worker left" "error" "grep -q ',error,' r4.csv"
t0 "remote: tcp, json" "$D" "${R[@]}" -o r5.csv --remote-transport tcp --remote-encoding json
t2 "worker: -w worker without --worker" "$D" -w worker -n 10 -q -o k.csv
t2 "worker: --worker without -w worker" "$D" "${S[@]}" -o k.csv --worker /bin/true
t2 "worker: a missing program" "$D" -w worker --worker no-such-program -n 10 -q -o k.csv
t2 "worker: a directory" "$D" -w worker --worker "$W/adir" -n 10 -q -o k.csv
printf '#!/bin/sh\n' >noexec.sh
t2 "worker: not executable" "$D" -w worker --worker "$W/noexec.sh" -n 10 -q -o k.csv
t2 "worker: an empty command" "$D" -w worker --worker '' -n 10 -q -o k.csv
t2 "worker: an unterminated quote" "$D" -w worker --worker "/bin/true 'x" -n 10 -q -o k.csv
t2 "worker: a trailing backslash" "$D" -w worker --worker '/bin/true \' -n 10 -q -o k.csv
for v in 5-1 abc 1, ,1 99999 -1 1023; do t2 "worker: --worker-cpus '$v'" "$D" -w worker --worker /bin/true --worker-cpus "$v" -n 10 -q -o k.csv; done
for v in 0 -1 4097 abc 1.5; do t2 "worker: --worker-threads '$v'" "$D" -w worker --worker /bin/true --worker-threads "$v" -n 10 -q -o k.csv; done
TMO=30 t0 "worker: /bin/true exits before the hello" "$D" -w worker --worker /bin/true -s probe -j fwd -n 10 -q -o k1.csv
check "... an error row naming it" "error" "grep -q \"worker 'true'\" k1.csv"
TMO=30 t0 "worker: /bin/cat echoes the hello back (not protocol 2 keys)" "$D" -w worker --worker /bin/cat -s probe -j fwd -n 10 -q -o k2.csv --remote-timeout-ms 500
check "... an error row" "error" "grep -q ',error,' k2.csv"
TMO=30 t0 "worker: sleep 100 never answers" "$D" -w worker --worker 'sleep 100' -s probe -j fwd -n 10 -q -o k3.csv --remote-timeout-ms 300
check "... no sleep left behind" "no orphan" "! pgrep -f '^sleep 100$' >/dev/null"
TMO=60 t0 "worker: the fault worker lies about its tag" "$D" -w worker --worker "$ROOT/tests/workers/fault_worker.py lie" -s probe -j fwd -n 10 -q -o k4.csv
check "... refuted" "refuted" "grep -q refuted k4.csv"

# ---- size lists -------------------------------------------------------------------------------
for v in 10:100 10:40:+40 0 -5 1e3 100000001 10,,20 '' 10:100:geom:1 10:100:geom:65 100:10:lin:3 1:1000:+10 10,10; do
    t2 "-n '$v'" "$D" -w sin -s probe -j fwd -n "$v" -q -o n.csv
done
t0 "-n a plain size inside a range" "$D" -w sin -s probe -j fwd -n 500,100:1000:lin:10 --reps 1 --min-time 1e-4 -q -o n1.csv
check "... kept once" "10 rows" "[ \$(rows n1.csv) = 10 ]"

# ---- scripts/ab.sh ----------------------------------------------------------------------------
AB=$ROOT/scripts/ab.sh
for v in 0 3 101 abc; do run "$AB" -r "$v" -o "$W/ab1" "$D" "$D" -- "${S[@]}"; if [ "$RC" = 2 ] && [ "$(grep -c '^ab:' "$W/err")" = 1 ]; then report "ab.sh -r '$v'" "exit 2, one line" "$(got)" PASS; else report "ab.sh -r '$v'" "exit 2, one line" "$(got)" FAIL; fi; done
: >abfile
run "$AB" -o "$W/abfile" "$D" "$D" -- "${S[@]}"
if [ "$RC" = 2 ]; then report "ab.sh: DIR is a file" "exit 2" "$(got)" PASS; else report "ab.sh: DIR is a file" "exit 2" "$(got)" FAIL; fi
run "$AB" -c '--alpha 7' -o "$W/ab2" "$D" "$D" -- "${S[@]}"
if [ "$RC" = 2 ] && [ ! -e "$W/ab2/base-1.csv" ] && [ ! -e "$W/ab2/base-01.csv" ]; then report "ab.sh: a bad -c, checked before any run" "exit 2, no run" "$(got)" PASS; else report "ab.sh: a bad -c, checked before any run" "exit 2, no run" "$(got)" FAIL; fi
run "$AB" -c '*' -o "$W/ab3" "$D" "$D" -- "${S[@]}"
if [ "$RC" = 2 ]; then report "ab.sh: -c '*' is not glob-expanded" "exit 2" "$(got)" PASS; else report "ab.sh: -c '*' is not glob-expanded" "exit 2" "$(got)" FAIL; fi
for a in "-o x.csv" "--json x.json" "--resume x" "--cells x"; do
    run "$AB" -o "$W/ab4" "$D" "$D" -- "${S[@]}" $a
    if [ "$RC" = 2 ]; then report "ab.sh: '$a' in ARGS" "exit 2" "$(got)" PASS; else report "ab.sh: '$a' in ARGS" "exit 2" "$(got)" FAIL; fi
done
run "$AB" -o "$W/ab5" "$W/noexec.sh" "$D" -- "${S[@]}"
if [ "$RC" = 2 ]; then report "ab.sh: BASE not executable" "exit 2" "$(got)" PASS; else report "ab.sh: BASE not executable" "exit 2" "$(got)" FAIL; fi
run "$AB" -o "$W/ab6" "$D" "$D" "${S[@]}"
if [ "$RC" = 2 ]; then report "ab.sh: no --" "exit 2" "$(got)" PASS; else report "ab.sh: no --" "exit 2" "$(got)" FAIL; fi

# ---- plot.py --report -------------------------------------------------------------------------
edit longlab.csv 'r["host"] = "h" * 2500; r["cpu_model"] = "c" * 2100'
t0 "plot.py --report with 2,500-character labels" "$PY" "$ROOT/plot.py" --report longlab.csv -o "$W/rep1"
check "... a report" "report.html" "[ -s '$W/rep1/report.html' ]"
t2 "plot.py: a missing CSV" "$PY" "$ROOT/plot.py" --report nosuch.csv -o "$W/rep2"
t2 "plot.py: an empty CSV" "$PY" "$ROOT/plot.py" --report empty.csv -o "$W/rep3"
t2 "plot.py: --compare-md without --report" "$PY" "$ROOT/plot.py" --compare-md x.md base.csv
t2 "plot.py: a missing --compare-md" "$PY" "$ROOT/plot.py" --report --compare-md nosuch.md base.csv -o "$W/rep4"
t2 "plot.py: --format gif" "$PY" "$ROOT/plot.py" --format gif base.csv -o "$W/rep5"

echo "---- $((pass + fail + skip)) cases: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
