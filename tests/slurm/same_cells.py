#!/usr/bin/python3
"""same_cells.py REF.csv MERGED.csv: exit 0 when MERGED has exactly REF's cells.

A cell is its key columns (workload, operator, jac, strategy, n, threads: the ones diagbench
merge places rows by); each must appear as often in both files (calibration rows included).
Also checks that MERGED comes from 2 shards and has no row with status error. Prints the
differences otherwise. Used by tests/slurm/run.sh (make test-slurm)."""
import collections
import csv
import sys

KEY = ("workload", "operator", "jac", "strategy", "n", "threads")


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def cells(rs):
    return collections.Counter(tuple(r[k] for k in KEY) for r in rs)


def main(ref_path, merged_path):
    ref, merged = rows(ref_path), rows(merged_path)
    want, got = cells(ref), cells(merged)
    bad = []
    if not want:
        bad.append(f"{ref_path} holds no rows")
    for c in sorted(set(want) | set(got)):
        if want[c] != got[c]:
            bad.append(f"{'/'.join(c)}: {want[c]} in {ref_path}, {got[c]} in {merged_path}")
    shards = {r["shard"] for r in merged}
    if shards != {"1/2", "2/2"}:
        bad.append(f"{merged_path}: shard column holds {sorted(shards)}, expected 1/2 and 2/2")
    errors = [r for r in merged if r["status"] == "error"]
    if errors:
        bad.append(f"{merged_path}: {len(errors)} row(s) with status error")
    for line in bad:
        print(f"same_cells: {line}", file=sys.stderr)
    if not bad:
        print(f"same_cells: {merged_path}: the {sum(got.values())} cells of {ref_path}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
