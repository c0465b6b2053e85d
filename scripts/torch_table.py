#!/usr/bin/python3
"""The README's PyTorch table (issue 22) from a `make bench-torch` folder (scripts/bench_torch.sh):
the seed's figures, the PyTorch primitives through diagbench (the whole time, and the framework's
own compute time the worker reports), and diagbench's C workloads, as materialise / probe
speedups at the same n; then the fixed per-call cost that explains the small ratios.

usage: scripts/torch_table.py DIR   (prints Markdown on stdout; exit 2 on a bad folder)"""
import csv
import sys
from pathlib import Path

# The seed's published figures (README "The seed"): speedup of probe over materialise.
SEED = {("split", 40000): ">10,000x", ("slow", 20): "2x", ("slow", 5000): "8x"}


def fail(msg):
    print(f"torch_table: error: {msg}", file=sys.stderr)
    sys.exit(2)


def load(folder):
    rows = []
    for f in sorted(folder.glob("*.csv")):
        with f.open(newline="") as fh:
            rows += list(csv.DictReader(fh))
    if not rows:
        fail(f"no CSV in '{folder}' (run make bench-torch)")
    return rows


def fmt(x):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}x"
    return f"{x:.3g}x"


def seconds(x):
    if x is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x * 1e9:.3g} ns"


def main():
    if len(sys.argv) != 2:
        fail("usage: scripts/torch_table.py DIR")
    folder = Path(sys.argv[1])
    if not folder.is_dir():
        fail(f"'{folder}' is not a folder")
    rows = load(folder)
    cells = {}  # (primitive, jac, n, strategy) -> row; primitive: torch-sin, ..., c-split, ...
    for r in rows:
        if r["status"] != "ok" or r["workload"].startswith("_"):
            continue
        prim = r["worker"] if r["workload"] == "worker" else "c-" + r["workload"]
        cells[(prim, r["jac"], int(r["n"]), r["strategy"])] = r

    def ratio(prim, jac, n, col="time_median_s"):
        m, p = cells.get((prim, jac, n, "materialise")), cells.get((prim, jac, n, "probe"))
        if not m or not p or not m.get(col) or not p.get(col):
            return None
        return float(m[col]) / float(p[col])

    cpu = next((r["cpu_model"] for r in rows if r.get("cpu_model")), "?")
    print(f"Speedup of probe over materialise (median times; CPU: {cpu}; "
          f"{rows[0]['threads']} threads)\n")
    print("| primitive | jac | n | seed | PyTorch via diagbench, whole | PyTorch, framework only "
          "| diagbench C workload |")
    print("|---|---|---|---|---|---|---|")
    pairs = [("sin", "torch-sin", "c-sin"), ("split", "torch-split", "c-split"),
             ("slow", "torch-slow", "c-seqsin")]
    for name, torch_prim, c_prim in pairs:
        sizes = sorted({k[2] for k in cells if k[0] == torch_prim})
        for jac in ("fwd", "bwd"):
            for n in sizes:
                seed = SEED.get((name, n), "")
                print(f"| {name} ({torch_prim} / {c_prim}) | {jac} | {n:,} | {seed} "
                      f"| {fmt(ratio(torch_prim, jac, n))} "
                      f"| {fmt(ratio(torch_prim, jac, n, 'worker_compute_s'))} "
                      f"| {fmt(ratio(c_prim, jac, n))} |")
    print("\nThe fixed cost of one call (a probe at the smallest n: one primitive call)\n")
    print("| primitive | n | whole call | framework compute | transport (ping) | "
          "C workload's call |")
    print("|---|---|---|---|---|---|")
    for name, torch_prim, c_prim in pairs:
        sizes = sorted({k[2] for k in cells if k[0] == torch_prim})
        if not sizes:
            continue
        n = sizes[0]
        p = cells.get((torch_prim, "fwd", n, "probe"))
        c = cells.get((c_prim, "fwd", n, "probe"))
        if not p:
            continue
        print(f"| {torch_prim} | {n} | {seconds(float(p['time_median_s']))} "
              f"| {seconds(float(p['worker_compute_s'])) if p['worker_compute_s'] else '-'} "
              f"| {seconds(float(p['round_trip_s'])) if p['round_trip_s'] else '-'} "
              f"| {seconds(float(c['time_median_s'])) if c else '-'} |")


if __name__ == "__main__":
    main()
