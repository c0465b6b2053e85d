"""diagbench --json across a -t sweep, read by Google Benchmark's own compare.py (Debian's
libbenchmark-tools, with python3-scipy); the --benchmark_* flags that map onto diagbench's
options; progress numbered over the whole sweep; --fail-on-error.

Each run is a tiny matrix (n = 8, 1e-4 s per repetition): no test looks at a time's value."""
import csv
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("DIAGBENCH", os.path.join(ROOT, "build", "diagbench"))
COMPARE = "/usr/share/benchmark/compare.py"
TINY = ["-w", "sin", "-s", "probe,materialise", "-j", "fwd", "-n", "8",
        "--min-time", "1e-4"]
REPS = 3
CELLS = 2  # sin x {probe, materialise} x fwd x n=8
THREADS = [1, 2]

# Google Benchmark 1.7.1's context members (its JSON reporter writes them) and ours.
GB_CONTEXT = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
              "cpu_scaling_enabled", "caches", "library_build_type"}
OUR_CONTEXT = {"git_rev", "run_id", "matrix_id", "matrix", "cpu_model", "compiler",
               "OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OMP_WAIT_POLICY",
               "OPENBLAS_NUM_THREADS", "configurations"}


def run(tmp_path, *args, check=0):
    env = dict(os.environ, DIAGBENCH_WISDOM=str(tmp_path / "wisdom.tsv"))
    r = subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True,
                       env=env, timeout=600, cwd=tmp_path)
    if check is not None:
        assert r.returncode == check, r.stderr
    return r


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same -t 1,2 sweep twice, each with --json."""
    if not os.access(BINARY, os.X_OK):
        pytest.fail(f"{BINARY} is not built (make build/diagbench)")
    tmp = tmp_path_factory.mktemp("json")
    out = []
    for name in ("a", "b"):
        r = run(tmp, *TINY, "--reps", REPS, "-t", "1,2", "-o", f"{name}.csv",
                "--json", f"{name}.json")
        out.append((tmp / f"{name}.json", tmp / f"{name}.csv", r.stderr))
    return out


def test_json_schema(two_runs):
    path, csv_path, _ = two_runs[0]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    ctx = doc["context"]
    assert GB_CONTEXT | OUR_CONTEXT <= set(ctx), set(ctx)
    assert ctx["configurations"] == ["t=1", "t=2"]
    table = rows(csv_path)
    assert ctx["matrix_id"] == table[0]["matrix_id"] and ctx["matrix"] == table[0]["matrix"]
    bench = doc["benchmarks"]
    # one entry per repetition plus mean, median, stddev and cv, per cell and configuration
    assert len(bench) == CELLS * len(THREADS) * (REPS + 4)
    for b in bench:  # what github-action-benchmark's googlecpp reader takes
        assert {"name", "real_time", "time_unit", "iterations", "cpu_time"} <= set(b), b
        assert b["time_unit"] == "ns" and b["iterations"] > 0 and b["real_time"] > 0
    iters = [b for b in bench if b["run_type"] == "iteration"]
    aggs = [b for b in bench if b["run_type"] == "aggregate"]
    assert len(iters) == CELLS * len(THREADS) * REPS
    assert sorted({b["aggregate_name"] for b in aggs}) == ["cv", "mean", "median", "stddev"]
    names = {b["name"] for b in iters}
    assert len(names) == CELLS * len(THREADS), "a sweep's cells keep distinct names"
    families = {}
    for b in iters:
        families.setdefault(b["family_index"], set()).add(b["name"])
        assert b["repetitions"] == REPS
        m = re.search(r"/threads:(\d+)/", b["name"])
        assert m and int(m.group(1)) == b["threads"], b
    assert all(len(v) == 1 for v in families.values()) and len(families) == len(names)
    # the real thread count of each configuration, as the CSV records it
    assert sorted({b["threads"] for b in iters}) == THREADS
    assert {int(r["threads"]) for r in table} == set(THREADS)
    for name in names:
        reps = sorted(b["repetition_index"] for b in iters if b["name"] == name)
        assert reps == list(range(REPS))
    # the median aggregate is the CSV's time_median_s (ns vs s; the CSV keeps 9 digits)
    for r in table:
        name = (f"{r['workload']}/{r['operator']}/{r['jac']}/{r['strategy']}/n:{r['n']}"
                f"/threads:{r['threads']}/bind:{r['proc_bind']}/places:{r['places']}")
        med = [b for b in aggs if b["name"] == name + "_median"]
        assert len(med) == 1, name
        assert med[0]["real_time"] == pytest.approx(float(r["time_median_s"]) * 1e9,
                                                    rel=1e-8)


def test_compare_py_compares_every_cell(two_runs, tmp_path):
    (a, _, _), (b, _, _) = two_runs
    dump = tmp_path / "diff.json"
    r = subprocess.run([sys.executable, COMPARE, "--no-color", "--dump_to_json", str(dump),
                        "benchmarks", str(a), str(b)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(dump, encoding="utf-8") as f:
        diff = json.load(f)
    with open(a, encoding="utf-8") as f:
        names = {x["name"] for x in json.load(f)["benchmarks"]}
    compared = {d["name"] for d in diff}
    assert names <= compared, names - compared
    for d in diff:
        if d["name"] == "OVERALL_GEOMEAN" or d["run_type"] == "aggregate":
            continue
        assert len(d["measurements"]) == REPS
        # the U test ran over the repetitions of both files
        assert d["utest"]["nr_of_repetitions"] == REPS, d
        assert d["utest"]["nr_of_repetitions_other"] == REPS, d


def test_progress_numbered_over_the_sweep(two_runs):
    stderr = two_runs[0][2]
    numbers = re.findall(r"^\[ *(\d+)/(\d+)\] .*  ETA \S+$", stderr, re.M)
    total = CELLS * len(THREADS)
    assert numbers == [(str(i), str(total)) for i in range(1, total + 1)], stderr


def test_benchmark_flags_map_onto_options(tmp_path):
    tiny = TINY[:-2]  # --min-time comes as --benchmark_min_time: one setting, given once
    r = run(tmp_path, *tiny, "-t", "1,2", "--benchmark_repetitions=2",
            "--benchmark_min_time=0.0001s", "--benchmark_out=gb.json",
            "--benchmark_out_format=json", "--benchmark_report_aggregates_only=true",
            "-o", "gb.csv")
    with open(tmp_path / "gb.json", encoding="utf-8") as f:
        bench = json.load(f)["benchmarks"]
    assert bench and all(b["run_type"] == "aggregate" for b in bench)
    assert len(bench) == CELLS * len(THREADS) * 4
    assert all(b["repetitions"] == 2 for b in bench)
    table = rows(tmp_path / "gb.csv")
    assert len(table) == CELLS * len(THREADS)
    assert {r["reps"] for r in table} == {"2"}
    # the recorded matrix is diagbench's own flags (what --resume replays), whole
    assert {r["matrix"] for r in table} == {
        "-w sin -p jacobian -j fwd -s probe,materialise -n 8 -t 1,2 --reps 2 --min-time 0.0001"}
    assert "wrote gb.json" in r.stderr


def test_fail_on_error(tmp_path):
    # probe-checked on liar (which claims a diagonal it does not have) is status=error
    bad = ["-w", "liar,sin", "-s", "probe-checked", "-j", "fwd", "-n", "8", "--reps", "1",
           "--min-time", "1e-4", "-q"]
    run(tmp_path, *bad, "-o", "default.csv", check=0)
    assert "error" in {r["status"] for r in rows(tmp_path / "default.csv")}
    for sweep in ([], ["-t", "1,2"]):
        r = run(tmp_path, *bad, *sweep, "--fail-on-error", "-o", "gate.csv",
                "--json", "gate.json", check=3)
        assert "--fail-on-error" in r.stderr
        table = rows(tmp_path / "gate.csv")  # written whole all the same
        assert len(table) == 2 * (2 if sweep else 1)
        with open(tmp_path / "gate.json", encoding="utf-8") as f:
            bench = json.load(f)["benchmarks"]
        err = [b for b in bench if b.get("error_occurred")]
        assert err and all("real_time" not in b for b in err)
    # unsupported rows do not fail a run: nobatch has no batching rule to materialise with
    r = run(tmp_path, "-w", "nobatch,sin", "-s", "materialise", "-j", "fwd", "-n", "8",
            "--reps", "1", "--min-time", "1e-4", "-q", "--fail-on-error", "-o", "uns.csv",
            check=0)
    assert {r["status"] for r in rows(tmp_path / "uns.csv")} == {"ok", "unsupported"}
