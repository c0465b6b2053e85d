#!/bin/bash
# The hostile pass (issue 15): diagbench, merge and plot.py tried as a hostile user would --
# bad flags and environment, outputs that are devices / FIFOs / symlinks, a full disk (a 64 KiB
# tmpfs), address-space limits (ulimit -v / -d), signals, and --resume / merge / plot.py inputs
# edited by a spreadsheet or another platform. Prints one line per case (case, expected, got,
# PASS / FAIL / SKIP) and a total; exits 1 when any case fails.
#
#   tests/hostile/run.sh            # from the repository root, after make build/diagbench
#   DIAGBENCH=build/sanitize/diagbench tests/hostile/run.sh
#
# Root is needed for the tmpfs and mknod cases (they SKIP otherwise). Every run has a timeout: a
# hang is a FAIL. Scratch files live in a temporary directory, removed at the end.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(realpath "${DIAGBENCH:-$ROOT/build/diagbench}")
PY=${PYTHON:-/usr/bin/python3}
PLOT="$ROOT/plot.py"
W=$(mktemp -d /tmp/diagbench-hostile.XXXXXX)
MNT=$W/mnt
export DIAGBENCH_WISDOM=$W/wisdom.tsv
unset OMP_NUM_THREADS OMP_PROC_BIND OMP_PLACES OMP_WAIT_POLICY OMP_THREAD_LIMIT OPENBLAS_NUM_THREADS
S=(-w sin -s probe -j fwd -n 100,200 --reps 1 --min-time 1e-4 -q)
pass=0 fail=0 skip=0
cleanup() {
    mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
    rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1

. "$ROOT/tests/hostile/lib.sh"
rows() { [ -f "$1" ] && $PY -c "import csv,sys; csv.field_size_limit(sys.maxsize); print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=''))))" "$1" 2>/dev/null || echo -1; }
torn() { [ -s "$1" ] && [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" != '\n' ]; }
is_chr() { [ -c "$1" ] && [ ! -L "$1" ]; }

# A good CSV to edit and a finished 2-row run.
"$D" "${S[@]}" -o good.csv || { echo "cannot run $D"; exit 1; }
HEADER=$(head -1 good.csv)

echo "== command line"
t2 "unknown flag" "$D" --frobnicate
t2 "no arguments" "$D"
t2 "-n without value" "$D" -w sin -n
for v in 0 -1 1e3 1.5 0x10 ' 10' '10,' ',10' '10,,20' 99999999999999999999 100000001 abc '' $'1\n2' '１０'; do
    t2 "-n '$(printf %q "$v")'" "$D" -w sin -s probe -n "$v"
done
for v in 0 -1 4097 a 1,1 ''; do t2 "-t '$v'" "$D" "${S[@]}" -t "$v"; done
for v in 0 1001 x 1.5; do t2 "--reps $v" "$D" -w sin -n 10 --reps "$v"; done
for v in 0 -1 nan inf 1e400 61 abc; do t2 "--min-time $v" "$D" -w sin -n 10 --min-time "$v"; done
for v in 0 -1 12Q 1GBB ''; do t2 "--mem-limit '$v'" "$D" -w sin -n 10 --mem-limit "$v"; done
for v in -1 nan 1e7 slow; do t2 "--call-cost-us $v" "$D" -w sin -n 10 --call-cost-us "$v"; done
for v in 0/3 4/3 3 1/3/5 a/b 1/0; do t2 "--shard $v" "$D" -w sin -n 10 --shard "$v"; done
t2 "-w unknown" "$D" -w tan -n 10
t2 "-w duplicate" "$D" -w sin,sin -n 10
t2 "-w empty" "$D" -w '' -n 10
t2 "-s unknown" "$D" -s guess -n 10
t2 "-p unknown" "$D" -p sparse -n 10
t2 "-j unknown" "$D" -j both -n 10
t2 "--matrix unknown" "$D" --matrix huge
t2 "--band 1,257" "$D" --band 1,257 -n 10
t2 "--on-mismatch maybe" "$D" --on-mismatch maybe -n 10
t2 "--lu-max-n 0" "$D" --lu-max-n 0 -n 10
t2 "--benchmark_ unknown" "$D" --benchmark_frobnicate=1 -n 10
t2 "-o ''" "$D" -n 10 -o ''
t2 "-o a directory" "$D" "${S[@]}" -o "$W"
t2 "-o in a missing directory" "$D" "${S[@]}" -o "$W/nodir/x.csv"
t2 "a 100000-character argument" "$D" -w "$(head -c 100000 /dev/zero | tr '\0' a)" -n 10
t2 "--resume of a file not named .partial" "$D" "${S[@]}" --resume good.csv
t2 "--resume of a missing file" "$D" --resume none.csv.partial
t2 "merge without inputs" "$D" merge
t2 "merge without -o" "$D" merge good.csv
t2 "merge of a missing file" "$D" merge none.csv -o m.csv
t2 "merge given one file twice" "$D" merge good.csv good.csv -o m.csv
t2 "plot.py of a missing file" $PY "$PLOT" none.csv -o plots

echo "== environment"
for v in '' 0 -1 abc 2, ' ' 4097; do t2 "OMP_NUM_THREADS='$v'" env OMP_NUM_THREADS="$v" "$D" "${S[@]}"; done
for v in sideways '' 'close,' 1; do t2 "OMP_PROC_BIND='$v'" env OMP_PROC_BIND="$v" "$D" "${S[@]}"; done
for v in bogus '{' '{0:0}' 'cores(0)'; do t2 "OMP_PLACES='$v'" env OMP_PLACES="$v" "$D" "${S[@]}"; done
for v in lazy ''; do t2 "OMP_WAIT_POLICY='$v'" env OMP_WAIT_POLICY="$v" "$D" "${S[@]}"; done
for v in 0 x; do t2 "OPENBLAS_NUM_THREADS='$v'" env OPENBLAS_NUM_THREADS="$v" "$D" "${S[@]}"; done
for v in 0 -1 abc 2.5 ''; do t2 "OMP_THREAD_LIMIT='$v'" env OMP_THREAD_LIMIT="$v" "$D" "${S[@]}"; done
run env OMP_NUM_THREADS=2 OMP_THREAD_LIMIT=1 "$D" "${S[@]}"
check "OMP_THREAD_LIMIT=1: threads column" "threads=1 in every row" \
    '[ $RC = 0 ] && [ "$($PY -c "import csv,sys; print(set(r[\"threads\"] for r in csv.DictReader(open(sys.argv[1]))))" $W/out)" = "{'"'"'1'"'"'}" ]'
t2 "OMP_THREAD_LIMIT=1 with -t 1,2" env OMP_THREAD_LIMIT=1 "$D" "${S[@]}" -t 1,2
t0 "LC_ALL=de_DE.UTF-8 (decimal comma locale)" env LC_ALL=de_DE.UTF-8 LC_NUMERIC=de_DE.UTF-8 "$D" "${S[@]}" -o lc.csv
check "  ... numbers keep '.'" "time_median_s parses as float" \
    '$PY -c "import csv; [float(r[\"time_median_s\"]) for r in csv.DictReader(open(\"lc.csv\"))]"'
t0 "HOME and XDG_CACHE_HOME unset (wisdom)" env -u HOME -u XDG_CACHE_HOME -u DIAGBENCH_WISDOM "$D" -w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q -o /dev/null
t0 "DIAGBENCH_WISDOM is a directory (warning only)" env DIAGBENCH_WISDOM="$W" "$D" -w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q -o /dev/null
echo '# my notes, not wisdom' >notes.txt
t0 "--wisdom someone's file" "$D" -w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q --no-wisdom --wisdom notes.txt -o /dev/null
check "  ... left as it was" "notes.txt unchanged" '[ "$(cat notes.txt)" = "# my notes, not wisdom" ]'

echo "== outputs that are not regular files"
t0 "-o /dev/null" "$D" "${S[@]}" -o /dev/null
check "  ... /dev/null still a device" "character device 1,3" 'is_chr /dev/null'
run "$D" "${S[@]}" -o /dev/stdout
check "-o /dev/stdout (a pipe here)" "exit 0, 3 lines on stdout" '[ $RC = 0 ] && [ $(wc -l <$W/out) = 3 ]'
check "  ... /dev/stdout still a link" "symlink" '[ -L /dev/stdout ]'
run "$D" "${S[@]}" -o /dev/full
check "-o /dev/full" "exit != 0, ENOSPC, one line" '[ $RC != 0 ] && grep -q "No space left on device" $W/err && [ $(wc -l <$W/err) = 1 ]'
check "  ... /dev/full still a device" "character device" 'is_chr /dev/full'
ln -s /proc/self/fd/1 so
run "$D" "${S[@]}" -o so
check "-o symlink to /proc/self/fd/1" "exit 0, CSV on stdout" '[ $RC = 0 ] && [ $(wc -l <$W/out) = 3 ]'
check "  ... still a symlink" "symlink" '[ -L so ]'
if mknod nul c 1 3 2>/dev/null && mknod ful c 1 7 2>/dev/null; then
    t0 "-o a private null device (mknod c 1 3)" "$D" "${S[@]}" -o nul
    check "  ... still the device" "character device" 'is_chr nul && [ ! -e nul.partial ]'
    run "$D" "${S[@]}" -o ful
    check "-o a private full device (mknod c 1 7)" "exit != 0, ENOSPC" '[ $RC != 0 ] && grep -q "No space left" $W/err'
    check "  ... still the device" "character device" 'is_chr ful && [ ! -e ful.partial ]'
    t0 "merge -o a null device" "$D" merge good.csv -o nul
    check "  ... still the device" "character device" 'is_chr nul'
    t0 "--wisdom a null device" "$D" -w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q --no-wisdom --wisdom nul -o nul
    check "  ... no lock file, still the device" "character device, no nul.lock" 'is_chr nul && [ ! -e nul.lock ]'
else
    for c in "-o a private null device" "  ... still the device" "-o a private full device" "  ... still the device" "merge -o a null device" "  ... still the device" "--wisdom a null device" "  ... no lock file"; do skipcase "$c" "needs mknod (root)" "mknod refused"; done
fi
mkfifo fifo
(cat fifo >fifo.read) &
t0 "-o a FIFO with a reader" "$D" "${S[@]}" -o fifo
wait
check "  ... reader got the CSV, FIFO kept" "3 lines, still a FIFO" '[ $(wc -l <fifo.read) = 3 ] && [ -p fifo ]'
echo old >real.csv
ln -s real.csv link.csv
t0 "-o symlink to a regular file" "$D" "${S[@]}" -o link.csv
check "  ... link kept, target written" "link -> real.csv, 2 rows" '[ "$(readlink link.csv)" = real.csv ] && [ $(rows real.csv) = 2 ]'
ln -s nowhere.csv dangling
t2 "-o dangling symlink" "$D" "${S[@]}" -o dangling
check "  ... link untouched, nothing created" "no nowhere.csv" '[ -L dangling ] && [ ! -e nowhere.csv ] && [ ! -e dangling.partial ]'
t0 "-o over an existing regular file" "$D" "${S[@]}" -o good2.csv
t0 "  ... and again (replaced, as -o does)" "$D" "${S[@]}" -o good2.csv
echo busy >busy.csv.partial
t2 "-o with an existing .partial" "$D" "${S[@]}" -o busy.csv
check "  ... the .partial untouched" "content kept" '[ "$(cat busy.csv.partial)" = busy ]'
t2 "merge -o /dev/full" "$D" merge good.csv -o /dev/full
t2 "merge -o dangling symlink" "$D" merge good.csv -o dangling
t2 "merge -o a directory" "$D" merge good.csv -o "$W"

echo "== a full disk (64 KiB tmpfs)"
mkdir -p "$MNT"
if mount -t tmpfs -o size=64k tmpfs "$MNT" 2>/dev/null; then
    SW=(-w sin,split -s probe -j fwd,bwd -n "$(seq -s, 10 10 400)" -t 1,2 --reps 1 --min-time 1e-4)
    run "$D" "${SW[@]}" -o "$MNT/r.csv"
    check "-t sweep into a full tmpfs: exit 1" "exit 1" '[ $RC = 1 ]'
    check "  ... 'No space left on device' said" "ENOSPC on stderr" 'grep -q "No space left on device" $W/err'
    check "  ... progress stops at the failure" "no [320/320]" '! grep -q "\[320/320\]" $W/err'
    check "  ... no torn row in the partial file" "last byte a newline" '! torn $MNT/r.csv.partial'
    check "  ... the partial file parses" "rows > 0" '[ $(rows $MNT/r.csv.partial) -gt 0 ]'
    check "  ... the advice names --resume" "continue with --resume" 'grep -q "continue with --resume $MNT/r.csv.partial" $W/err'
    mount -o remount,size=1m "$MNT"
    t0 "  ... the advice after remount (--resume alone)" "$D" --resume "$MNT/r.csv.partial" -q
    check "  ... every cell once" "320 rows" '[ $(rows $MNT/r.csv) = 320 ]'
    rm -f "$MNT"/*
    mount -o remount,size=64k "$MNT"
    run "$D" -w sin,split -s probe -j fwd,bwd -n "$(seq -s, 10 10 400)" --reps 1 --min-time 1e-4 -q -o "$MNT/p.csv"
    check "no sweep into a full tmpfs" "exit 1, ENOSPC, whole rows" '[ $RC = 1 ] && grep -q "No space left" $W/err && ! torn $MNT/p.csv.partial'
    rm -f "$MNT"/*
    # tmpfs counts whole pages: a file-size limit of one 1024-byte block (bash) holds the header
    # (about 460 bytes) but not its first row when the matrix column is long (41 sizes).
    LONG=(-w sin -s probe -j fwd -n "$(seq -s, 100 140)" --reps 1 --min-time 1e-4 -q)
    run bash -c "trap '' XFSZ; ulimit -f 1; exec \"$D\" ${LONG[*]} -o \"$MNT/h.csv\""
    check "room for the header only (ulimit -f 1)" "exit 1, partial removed, re-run advice" '[ $RC = 1 ] && [ ! -e $MNT/h.csv.partial ] && grep -q "re-run the same command" $W/err'
    t0 "  ... the advice (re-run the same command)" "$D" "${LONG[@]}" -o "$MNT/h.csv"
    head -c 64000 /dev/zero >"$MNT/filler" 2>/dev/null
    run "$D" "${S[@]}" -o "$MNT/z.csv"
    check "no room for the header" "exit 2, one line, no file" '[ $RC = 2 ] && [ $(wc -l <$W/err) = 1 ] && [ ! -e $MNT/z.csv.partial ]'
    rm -f "$MNT"/*
    run "$D" merge good.csv -o "$MNT/m.csv"
    check "merge into a roomy tmpfs" "exit 0" '[ $RC = 0 ]'
    head -c 64000 /dev/zero >"$MNT/filler" 2>/dev/null
    run "$D" merge good.csv -o "$MNT/m2.csv"
    check "merge into a full tmpfs" "exit != 0, ENOSPC, nothing left" '[ $RC != 0 ] && grep -q "No space left" $W/err && [ ! -e $MNT/m2.csv.partial ] && [ ! -e $MNT/m2.csv ]'
    run "$D" -w sin -s materialise -j fwd -n 64 --reps 1 --min-time 1e-4 -q --no-wisdom --wisdom "$MNT/w.tsv" -o /dev/null
    check "wisdom into a full tmpfs" "exit 0, a warning, no temp file" '[ $RC = 0 ] && grep -q "wisdom not saved" $W/err && [ -z "$(ls $MNT | grep tmp)" ]'
    umount "$MNT"
else
    for c in "sweep into a full tmpfs" "  ... ENOSPC" "  ... progress" "  ... no torn row" "  ... parses" "  ... advice" "  ... remount resume" "  ... every cell once" "no sweep" "header only" "  ... re-run" "no room for the header" "merge roomy" "merge full" "wisdom full"; do skipcase "$c" "needs mount (root)" "mount refused"; done
fi

echo "== address-space limits (ulimit -v / -d)"
for v in 100000 300000 400000; do
    for what in --version --list --help; do
        run bash -c "ulimit -v $v; exec \"$D\" $what"
        check "ulimit -v $v: $what" "exit 2 at once, one line" '[ $RC = 2 ] && [ $(wc -l <$W/err) = 1 ]'
    done
done
run bash -c "ulimit -v 300000; exec \"$D\" ${S[*]}"
check "ulimit -v 300000: a run" "exit 2, one line" '[ $RC = 2 ] && [ $(wc -l <$W/err) = 1 ]'
run bash -c "ulimit -d 300000; exec \"$D\" --version"
check "ulimit -d 300000: --version" "exit 2, one line" '[ $RC = 2 ] && [ $(wc -l <$W/err) = 1 ]'
# (n = 4000 keeps LU's O(n^3) short; a slow cell under load is not a hang: 300 s each.)
for v in 480000 520000 600000 800000 1200000; do
    TMO=300 run bash -c "ulimit -v $v; exec \"$D\" -w sin,solve:sin -p jacobian,matrix -s materialise,probe,probe+diagonal,materialise+lu -j fwd -n 100,2000,4000 --reps 1 --min-time 1e-4 -q"
    check "ulimit -v $v: matrix and solve:sin cells" "exit 0 (no error rows) or 2 + one line" \
        '{ [ $RC = 0 ] && ! grep -q ",error," $W/out; } || { [ $RC = 2 ] && [ $(wc -l <$W/err) = 1 ]; }'
done
run bash -c "ulimit -v 800000; exec \"$D\" ${S[*]} -t 1,2,8"
check "ulimit -v 800000: -t 1,2,8" "exit 2 before any child" '[ $RC = 2 ] && [ ! -s $W/out ]'
run bash -c "ulimit -v 900000; exec \"$D\" ${S[*]} -t 1,2"
check "ulimit -v 900000: -t 1,2" "exit 0" '[ $RC = 0 ]'
run bash -c "ulimit -v 700000; exec \"$D\" -w sin -s materialise -j fwd -n 9000 --reps 1 --min-time 1e-4 -q"
check "ulimit -v 700000: n=9000 materialise" "skipped_memory" '[ $RC = 0 ] && grep -q skipped_memory $W/out'
run bash -c "ulimit -v 700000; exec \"$D\" --env"
check "ulimit -v 700000: --env reports the headroom" "exit 0, 'ulimit' in report" '[ $RC = 0 ] && grep -q "ulimit -v" $W/out'

echo "== signals"
SLOW=(-w seqsin -s materialise -j fwd,bwd -n 20,21,22,23 --reps 1 --min-time 1e-4 --call-cost-us 2000)
for sig in INT TERM; do
    rm -f s.csv s.csv.partial
    "$D" "${SLOW[@]}" -n 150 -o s.csv 2>"$W/err" &
    p=$!
    while [ ! -e s.csv.partial ] && kill -0 $p 2>/dev/null; do sleep 0.01; done
    kill -$sig $p
    wait $p
    RC=$?
    check "SIG$sig before the first row" "exit 128+sig, no partial, re-run advice" '[ $RC -ge 130 ] && [ ! -e s.csv.partial ] && grep -q "re-run the same command" $W/err'
    t0 "  ... the advice (the same command)" "$D" "${SLOW[@]}" -n 150 -o s.csv -q
done
# interrupt SIG ROWS EXTRA...: start the slow run into s.csv, send SIG once the partial file holds
# ROWS rows, wait; RC is its exit status.
interrupt() {
    local sig=$1 after=$2
    shift 2
    rm -f s.csv s.csv.partial
    "$D" "${SLOW[@]}" "$@" -o s.csv 2>"$W/err" &
    local p=$!
    while [ "$(rows s.csv.partial)" -lt "$after" ] && kill -0 $p 2>/dev/null; do sleep 0.02; done
    kill -"$sig" $p
    wait $p 2>/dev/null
    RC=$?
}
interrupt INT 2
check "SIGINT after 2 rows" "exit 130, rows kept, --resume advice" '[ $RC = 130 ] && grep -q "continue with --resume s.csv.partial" $W/err && ! torn s.csv.partial'
t0 "  ... the advice (--resume alone)" "$D" --resume s.csv.partial -q
check "  ... every cell once" "8 rows" '[ $(rows s.csv) = 8 ]'
interrupt TERM 3 -t 1,2
check "SIGTERM in a -t sweep" "exit 143, whole rows" '[ $RC = 143 ] && ! torn s.csv.partial'
t0 "  ... --resume alone" "$D" --resume s.csv.partial -q
check "  ... every cell once" "16 rows" '[ $(rows s.csv) = 16 ]'
interrupt KILL 2
t0 "SIGKILL, then --resume alone" "$D" --resume s.csv.partial -q
check "  ... every cell once" "8 rows" '[ $(rows s.csv) = 8 ]'
interrupt HUP 1
t0 "SIGHUP (default action), then --resume" "$D" --resume s.csv.partial -q
run bash -c "\"$D\" ${S[*]} -n 10,20,30,40 | head -c 10 >/dev/null"
check "stdout closed early (| head -c 10)" "terminates (no hang)" '[ $RC != 137 ]'

echo "== --resume / merge / plot.py inputs edited elsewhere"
# Variants of good.csv as another program might save it; each is tried as a --resume partial
# (with the run's flags), as a merge input and as a plot.py input.
mk() { # name python-expression over text t (str), writes $name
    $PY -c "import sys; t=open('good.csv', encoding='utf-8', newline='').read(); exec(sys.argv[2]); open(sys.argv[1], 'w', encoding=enc if 'enc' in dir() else 'utf-8', newline='').write(t)" "$1" "$2"
}
mkb() { # binary variant
    $PY -c "import sys; t=open('good.csv','rb').read(); exec(sys.argv[2]); open(sys.argv[1],'wb').write(t)" "$1" "$2"
}
mk crlf.csv "t=t.replace('\n','\r\n')"
mkb bom.csv "t=b'\xef\xbb\xbf'+t"
mk reorder.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, lineterminator='\n'); [w.writerow(x[1:]+x[:1]) for x in r]; t=o.getvalue()"
mk extra.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, lineterminator='\n'); [w.writerow(x+(['mine'] if i==0 else ['1'])) for i,x in enumerate(r)]; t=o.getvalue()"
mk missing.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, lineterminator='\n'); [w.writerow(x[:-1]) for x in r]; t=o.getvalue()"
mk truncated.csv "t=t[:-25]"
mkb latin1.csv "t=t.replace(b',probe,', b',probe\xe9,',1)"
mk hugefield.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, lineterminator='\n'); i=r[0].index('note'); r[1][i]='x'*1000000; [w.writerow(x) for x in r]; t=o.getvalue()"
mk headeronly.csv "t=t.split('\n')[0]+'\n'"
mk empty.csv "t=''"
mkb nul.csv "t=t.replace(b',ok,',b',o\x00k,',1)"
mk blanklines.csv "t=t+'\n\n'"
mk semicolon.csv "t=t.replace(',',';')"
mk tabs.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, delimiter='\t', lineterminator='\n'); [w.writerow(x) for x in r]; t=o.getvalue()"
mk quoted.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, quoting=csv.QUOTE_ALL, lineterminator='\n'); [w.writerow(x) for x in r]; t=o.getvalue()"
mk dupe.csv "l=t.split('\n'); t='\n'.join(l[:2]+[l[1]]+l[2:])"
mk decimalcomma.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, delimiter=';', lineterminator='\n'); [w.writerow([c.replace('.',',') for c in x]) for x in r]; t=o.getvalue()"
mk cr.csv "t=t.replace('\n','\r')"
mk noeol.csv "t=t.rstrip('\n')"
mk spaces.csv "import csv,io; r=list(csv.reader(io.StringIO(t))); o=io.StringIO(); w=csv.writer(o, lineterminator='\n'); [w.writerow([' '+c+' ' for c in x]) for x in r]; t=o.getvalue()"
for v in crlf bom reorder extra missing truncated latin1 hugefield headeronly empty nul blanklines semicolon tabs quoted dupe decimalcomma cr noeol spaces; do
    cp $v.csv r_$v.csv.partial
    sum_before=$(md5sum <r_$v.csv.partial)
    run "$D" "${S[@]}" --resume r_$v.csv.partial
    if [ "$RC" = 0 ]; then
        check "--resume of a $v file" "accepted: whole CSV out" '[ ! -e r_$v.csv.partial ] && [ $(rows r_$v.csv) -ge 2 ] && ! torn r_$v.csv'
    else
        check "--resume of a $v file" "refused clearly, file untouched" 'clear_refusal && [ "$(md5sum <r_$v.csv.partial)" = "$sum_before" ] && [ ! -e r_$v.csv ]'
    fi
    run "$D" merge $v.csv -o m_$v.csv
    if [ "$RC" = 0 ]; then
        check "merge of a $v file" "accepted: whole CSV out" '[ $(rows m_$v.csv) = 2 ] && ! torn m_$v.csv'
    else
        check "merge of a $v file" "refused clearly, nothing written" 'clear_refusal && [ ! -e m_$v.csv ] && [ ! -e m_$v.csv.partial ]'
    fi
    if [ -f "$PLOT" ]; then
        run $PY "$PLOT" $v.csv -o plots_$v --summary
        check "plot.py of a $v file" "exit 0, or 2 + one line, no traceback" '{ [ $RC = 0 ] || clear_refusal; } && ! grep -q Traceback $W/err'
    fi
done
t2 "--resume of a directory named .partial" bash -c "mkdir -p d.csv.partial; exec \"$D\" ${S[*]} --resume d.csv.partial"
run bash -c "timeout 10 \"$D\" ${S[*]} --resume /dev/null"
check "--resume /dev/null" "exit 2, one line" 'clear_refusal'
mkfifo pf.csv.partial
(timeout 5 bash -c "cat good.csv >pf.csv.partial" 2>/dev/null) &
TMO=20 run "$D" "${S[@]}" --resume pf.csv.partial
wait
check "--resume of a FIFO" "refused clearly, no hang" 'clear_refusal'
t2 "merge of a file and its copy" bash -c "cp good.csv copy.csv; exec \"$D\" merge good.csv copy.csv -o mc.csv"
t2 "merge of the output's own .partial" bash -c "cp good.csv mo.csv.partial; exec \"$D\" merge mo.csv.partial -o mo.csv"
check "  ... the .partial kept" "mo.csv.partial still there" '[ -e mo.csv.partial ]'
t0 "  ... the advice (another -o)" "$D" merge mo.csv.partial -o mo2.csv

echo
echo "hostile pass: $((pass + fail)) cases tried, $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
