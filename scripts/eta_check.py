#!/usr/bin/python3
"""How true is diagbench's ETA? Runs a diagbench command, stamps each progress line of its
stderr as it arrives, and compares every ETA printed with the time that really remained (the
last cell's line minus this line's).

usage: scripts/eta_check.py [--record FILE] [--from PCT] -- DIAGBENCH ARGS...
  e.g. scripts/eta_check.py --record build/eta.tsv -- build/diagbench --matrix quick -o results/eta.csv

Prints, for cells from PCT % of the run on (default 10), the worst ratio max(eta/actual,
actual/eta) and where it happened, and exits 0 when it is at most 1.5, 1 when not, 2 on bad
usage or when the command fails. --record FILE writes one line per cell, "index<TAB>seconds"
(the wall time from the previous progress line, or from the first line for cell 1: the replay
data of tests/test_progress.c). The ETA is printed in whole seconds, rounded up, so "ETA 3s"
stands for any estimate in (2, 3] s: the ratio is taken at the estimate in that interval nearest
the time that really remained (1.8 s left and "ETA 3s" count as 1.11x, not 1.67x). Actual
remaining times below 1 s are left out."""
import re
import subprocess
import sys
import time

LINE = re.compile(r"^\[\s*(\d+)/(\d+)\] .*ETA (?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\s*$")


def eta_seconds(m):
    h, mi, s = (int(x) if x else 0 for x in m.group(3, 4, 5))
    return 3600 * h + 60 * mi + s


def main(argv):
    record, start_pct = None, 10.0
    while argv and argv[0] != "--":
        if argv[0] == "--record" and len(argv) > 1:
            record, argv = argv[1], argv[2:]
        elif argv[0] == "--from" and len(argv) > 1:
            start_pct, argv = float(argv[1]), argv[2:]
        else:
            print(f"eta_check: unknown argument '{argv[0]}' (see the docstring)", file=sys.stderr)
            return 2
    if len(argv) < 2:
        print("eta_check: usage: eta_check.py [--record FILE] [--from PCT] -- COMMAND...",
              file=sys.stderr)
        return 2
    proc = subprocess.Popen(argv[1:], stderr=subprocess.PIPE, text=True, bufsize=1)
    seen = []  # (index, total, wall time, eta printed)
    for line in proc.stderr:
        now = time.monotonic()
        sys.stderr.write(line)
        m = LINE.match(line.rstrip("\n"))
        if m:
            seen.append((int(m.group(1)), int(m.group(2)), now, eta_seconds(m)))
    if proc.wait() != 0 or not seen:
        print(f"eta_check: the command exited {proc.returncode} with {len(seen)} progress lines",
              file=sys.stderr)
        return 2
    end = seen[-1][2]
    if record:
        with open(record, "w") as f:
            prev = seen[0][2]
            for k, (i, _, t, _) in enumerate(seen):
                f.write(f"{i}\t{(t - prev) if k else 0.0:.6f}\n")
                prev = t
    worst, where = 1.0, None
    for i, total, t, eta in seen:
        actual = end - t
        if i < start_pct / 100 * total or actual < 1:
            continue
        est = min(max(actual, eta - 1), eta)  # the estimate nearest actual that prints as eta
        r = max(est / actual, actual / est) if est > 0 else float("inf")
        if r > worst:
            worst, where = r, (i, total, eta, actual)
    total_s = end - seen[0][2]
    print(f"eta_check: {len(seen)} cells in {total_s:.0f} s after the first; worst ETA/actual "
          f"ratio from {start_pct:g}% on: {worst:.2f}" +
          (f" at cell {where[0]}/{where[1]} (ETA {where[2]} s, actually {where[3]:.0f} s)"
           if where else ""))
    return 0 if worst <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
