# The hostile passes' helpers (tests/hostile/run.sh, run2.sh): one line per case and the counts.
# The caller sets W (its scratch folder) and pass=0 fail=0 skip=0 before sourcing this file.
report() { # name expected got verdict
    if [ "$4" = FAIL ]; then
        printf '%-58s | %-34s | %s | %s\n' "$1" "$2" "$3" "$4"
    else
        printf '%-58s | %-34s | %-60s | %s\n' "$1" "$2" "${3:0:60}" "$4"
    fi
    case $4 in PASS) pass=$((pass + 1)) ;; FAIL) fail=$((fail + 1)) ;; SKIP) skip=$((skip + 1)) ;; esac
}
# run CMD...: RC, and out / err files, with a timeout (SIGKILL: a hang is rc 137).
run() {
    timeout -s KILL "${TMO:-90}" "$@" >"$W/out" 2>"$W/err"
    RC=$?
}
got() { echo "rc=$RC $(tr '\n' '|' <"$W/err" | head -c 120)"; }
# One clear refusal: exit 2, nothing on stdout, exactly one line of ours on stderr (libgomp may
# add its own line before it for OMP_* values), no traceback.
clear_refusal() {
    local ours
    ours=$(grep -c '^diagbench: \|^plot.py: error:' "$W/err")
    [ "$RC" = 2 ] && [ ! -s "$W/out" ] && [ "$ours" = 1 ] && ! grep -q Traceback "$W/err" &&
        tail -1 "$W/err" | grep -q '^diagbench: \|^plot.py: error:'
}
# t2 NAME CMD...: a clear refusal (exit 2, one line).
t2() {
    local name=$1
    shift
    run "$@"
    if clear_refusal; then report "$name" "exit 2, one line" "$(got)" PASS; else report "$name" "exit 2, one line" "$(got)" FAIL; fi
}
# t0 NAME CMD...: exit 0.
t0() {
    local name=$1
    shift
    run "$@"
    if [ "$RC" = 0 ]; then report "$name" "exit 0" "$(got)" PASS; else report "$name" "exit 0" "$(got)" FAIL; fi
}
# tok NAME CMD...: accepted (exit 0) or refused clearly (exit 2, one line): never half-processed.
tok() {
    local name=$1
    shift
    run "$@"
    if [ "$RC" = 0 ] || clear_refusal; then report "$name" "exit 0, or 2 + one line" "$(got)" PASS; else report "$name" "exit 0, or 2 + one line" "$(got)" FAIL; fi
}
# check NAME EXPECTED CONDITION: a condition on what a case left behind (eval'd).
check() {
    if eval "$3"; then report "$1" "$2" "$3" PASS; else
        report "$1" "$2" "$3 ($(got); $(grep -m1 ',error,' "$W/out" 2>/dev/null | cut -d, -f3-7,11,28))" FAIL
    fi
}
skipcase() { report "$1" "$2" "$3" SKIP; }
