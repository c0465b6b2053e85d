"""Tests for plot.py (run: /usr/bin/python3 -m pytest -q tests/test_plot.py).

All input data are synthetic CSVs generated in pytest's tmp_path.
"""

import csv
import math
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import plot  # noqa: E402

PLOT = os.path.join(ROOT, "plot.py")
HEADER = plot.REQUIRED_COLUMNS
MEASURED = ["reps", "iterations", "time_median_s", "time_mean_s",
            "time_min_s", "time_max_s", "time_stddev_s", "time_cv",
            "ns_per_element", "primitive_calls", "max_abs_err"]


# --------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------

def row(run_id="r1", workload="sin", operator="jacobian", jac="fwd",
        strategy="probe", n=1000, threads=1, status="ok", t=1e-6,
        proc_bind="close", places="cores", spread=0.05):
    """One CSV row as a dict; non-ok rows get empty measurement fields."""
    r = {
        "run_id": run_id, "timestamp": "2026-11-25T03:40:00Z",
        "workload": workload, "operator": operator,
        "jac": jac if operator == "jacobian" else "none",
        "strategy": strategy, "n": n, "threads": threads,
        "proc_bind": proc_bind, "places": places, "status": status,
        "host": "testhost", "cpu_model": "Test CPU @ 3.0GHz",
        "compiler": "gcc 12.2.0", "git_rev": "abc1234",
    }
    if status == "ok":
        r.update({
            "reps": 5, "iterations": 100, "time_median_s": repr(t),
            "time_mean_s": repr(t * 1.01), "time_min_s": repr(t * (1 - spread)),
            "time_max_s": repr(t * (1 + spread)),
            "time_stddev_s": repr(t * 0.02), "time_cv": "0.02",
            "ns_per_element": repr(t / n * 1e9), "primitive_calls": 1,
            "max_abs_err": "0",
        })
    else:
        r.update({c: "" for c in MEASURED})
    return r


def write_csv(path, rows, header=HEADER, extra_columns=()):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(header) + list(extra_columns))
        for r in rows:
            w.writerow([r.get(c, "") for c in header]
                       + ["x"] * len(extra_columns))
    return str(path)


def synthetic_rows(run_id="r1", threads=(1, 2), seed=1):
    """A realistic matrix: materialise ~ n^2, probe ~ n, with noise."""
    rng = np.random.default_rng(seed)
    sizes = [10, 100, 1000, 10000, 100000]
    rows = [row(run_id, "_calibrate", "function", "none", "probe", 1000,
                1, "ok", 1.0)]
    for th in threads:
        for wl in ("sin", "solve:sin", "nobatch"):
            for op, jac in (("jacobian", "fwd"), ("jacobian", "bwd"),
                            ("diagonal", "none")):
                for strat in ("materialise", "probe"):
                    for n in sizes:
                        noise = math.exp(rng.normal(0, 0.03)) / th
                        if strat == "materialise":
                            if wl == "nobatch":
                                status = "unsupported"
                            elif n == 100000:
                                status = "skipped_memory"
                            else:
                                status = "ok"
                            t = 1e-10 * n * n * noise
                        else:
                            status = "ok"
                            if wl == "sin" and op == "diagonal" and n == 10:
                                status = "skipped_budget"
                            t = 2e-9 * n * noise
                        rows.append(row(run_id, wl, op, jac, strat, n, th,
                                        status, t))
    return rows


@pytest.fixture
def two_runs(tmp_path):
    """Two CSV files: r1 with threads 1 and 2, r2 with threads 1."""
    a = write_csv(tmp_path / "bench.csv", synthetic_rows("r1", (1, 2), 1),
                  extra_columns=("future_column",))
    b = write_csv(tmp_path / "other.csv", synthetic_rows("r2", (1,), 2))
    return a, b


def run_cli(*args):
    return subprocess.run([sys.executable, PLOT, *map(str, args)],
                          capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

@pytest.mark.parametrize("df,expected", [
    (1, 12.7062047), (2, 4.30265273), (5, 2.57058184), (10, 2.22813885),
    (30, 2.04227246)])
def test_t_quantile_matches_table(df, expected):
    assert plot.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-6)
    assert plot.t_quantile(0.025, df) == pytest.approx(-expected, abs=1e-6)


def test_t_quantile_matches_scipy_when_available():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 3, 7, 20, 100):
        for p in (0.9, 0.975, 0.995):
            assert plot.t_quantile(p, df) == pytest.approx(
                stats.t.ppf(p, df), rel=1e-8)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_fit_slope_recovers_exponent(exponent):
    rng = np.random.default_rng(12345)
    n = np.logspace(2, 6, 17)            # four decades
    t = 3e-9 * n ** exponent * np.exp(rng.normal(0.0, 0.1, n.size))
    slope, hw = plot.fit_slope(n, t)
    assert abs(slope - exponent) < 0.05
    assert 0 < hw < 0.1
    assert slope - hw <= exponent <= slope + hw     # 95% CI covers truth


def test_fit_slope_interval_edge_cases():
    # Exactly two points: exact slope, no interval (NaN half-width).
    slope, hw = plot.fit_slope([10, 1000], [1.0, 100.0])
    assert slope == pytest.approx(1.0)
    assert math.isnan(hw)
    # Fewer than two points / identical n: nothing to fit.
    assert all(math.isnan(v) for v in plot.fit_slope([10], [1.0]))
    assert all(math.isnan(v) for v in plot.fit_slope([10, 10], [1.0, 2.0]))
    # A perfect power law: zero width.
    slope, hw = plot.fit_slope([1, 10, 100], [2.0, 200.0, 20000.0])
    assert slope == pytest.approx(2.0) and hw == pytest.approx(0.0, abs=1e-9)
    # Widths shrink with more points at the same noise level.
    rng = np.random.default_rng(7)
    few = np.logspace(2, 6, 4)
    many = np.logspace(2, 6, 40)
    hw_few = plot.fit_slope(few, few * np.exp(rng.normal(0, .1, 4)))[1]
    hw_many = plot.fit_slope(many, many * np.exp(rng.normal(0, .1, 40)))[1]
    assert hw_many < hw_few
    with pytest.raises(ValueError):
        plot.fit_slope([1, 2], [0.0, 1.0])


def test_fit_series_fit_from_and_fallback():
    n = np.array([10, 100, 1000, 10000])
    t = np.array([1.0, 1.0, 1e3, 1e5])        # flat, then slope 2
    fit = plot.fit_series(n, t, 1000)
    assert fit["slope"] == pytest.approx(2.0) and not fit["all_n"]
    assert "no CI" in plot.format_slope(fit)
    fit = plot.fit_series(n, t, 5000)         # only one size qualifies
    assert fit["all_n"] and fit["points"] == 4
    assert plot.format_slope(fit).endswith("(all n)")
    fit = plot.fit_series([10], [1.0], 1000)
    assert math.isnan(fit["slope"]) and plot.format_slope(fit).startswith("n/a")


# --------------------------------------------------------------------------
# Speedups and summary
# --------------------------------------------------------------------------

def test_speedups_hand_made_frame():
    df = pd.DataFrame([
        # materialise and probe both ok at n=1000: 8e-3 / 2e-3 = 4
        dict(strategy="materialise", n=1000., status="ok", time_median_s=8e-3),
        dict(strategy="probe", n=1000., status="ok", time_median_s=2e-3),
        dict(strategy="probe-checked", n=1000., status="ok",
             time_median_s=1.6e-2),
        # materialise skipped at n=10000: no speedup row there
        dict(strategy="materialise", n=10000., status="skipped_memory",
             time_median_s=np.nan),
        dict(strategy="probe", n=10000., status="ok", time_median_s=2e-2),
        # other thread count must not be matched with threads=1
        dict(strategy="probe", n=1000., status="ok", time_median_s=1e-3,
             threads=2),
    ])
    df["threads"] = df.get("threads").fillna(1).astype(int)
    for c, v in (("run_id", "r"), ("workload", "sin"), ("operator", "jacobian"),
                 ("jac", "fwd"), ("proc_bind", "close"), ("places", "cores")):
        df[c] = v
    sp = plot.speedups(df)
    assert list(sp["strategy"]) == ["probe", "probe-checked"]
    assert list(sp["n"]) == [1000.0, 1000.0]
    assert sp["speedup"].tolist() == pytest.approx([4.0, 0.5])
    assert (sp["threads"] == 1).all()


def test_speedups_of_solve_methods_are_against_materialise_lu():
    df = pd.DataFrame([
        dict(strategy="materialise+lu", time_median_s=6e-2),
        dict(strategy="materialise+diagonal", time_median_s=1e-3),
        dict(strategy="probe+diagonal", time_median_s=3e-6),
        dict(strategy="probe", time_median_s=1e-6),  # no plain materialise row
    ])
    for c, v in (("run_id", "r"), ("workload", "solve:sin"),
                 ("operator", "jacobian"), ("jac", "fwd"), ("threads", 2),
                 ("proc_bind", "close"), ("places", "cores"), ("n", 2000.),
                 ("status", "ok")):
        df[c] = v
    sp = plot.speedups(df)
    assert list(sp["strategy"]) == ["materialise+diagonal", "probe+diagonal"]
    assert sp["speedup"].tolist() == pytest.approx([60.0, 2e4])


def _table(text):
    lines = [l for l in text.splitlines() if l.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert set(lines[1].strip("|").split("|")) == {"---"}
    rows = [dict(zip(head, (c.strip() for c in l.strip("|").split("|"))))
            for l in lines[2:]]
    return head, rows


def test_summary_table(tmp_path, capsys):
    rows = []
    rng = np.random.default_rng(3)
    sizes = [100, 1000, 10000, 100000]
    for n in sizes:
        rows.append(row(strategy="materialise", n=n,
                        t=1e-10 * n * n * math.exp(rng.normal(0, .02))))
        rows.append(row(strategy="probe", n=n,
                        t=1e-8 * n * math.exp(rng.normal(0, .02))))
        rows.append(row(workload="nobatch", strategy="materialise", n=n,
                        status="unsupported"))
    rows.append(row(workload="_calibrate", strategy="probe", n=10, t=1.0))
    path = write_csv(tmp_path / "s.csv", rows)
    assert plot.main(["--summary", path]) == 0
    out = capsys.readouterr()
    head, table = _table(out.out)
    assert head == ["workload", "operator", "jac", "strategy", "threads",
                    "slope (±95%)", "n_max", "median time at n_max",
                    "speedup vs materialise at n_max"]
    assert [(r["workload"], r["strategy"]) for r in table] == [
        ("sin", "materialise"), ("sin", "probe"), ("nobatch", "materialise")]
    mat, probe, nob = table
    assert float(mat["slope (±95%)"].split()[0]) == pytest.approx(2, abs=.05)
    assert float(probe["slope (±95%)"].split()[0]) == pytest.approx(1, abs=.05)
    assert "±" in probe["slope (±95%)"]
    assert probe["n_max"] == "100000" and probe["threads"] == "1"
    tm = float(rows[-4]["time_median_s"])   # materialise at n = 100000
    tp = float(rows[-3]["time_median_s"])   # probe at n = 100000
    assert float(probe["speedup vs materialise at n_max"].rstrip("×")) == \
        pytest.approx(tm / tp, rel=0.01)
    assert mat["speedup vs materialise at n_max"] == "—"
    value, unit = probe["median time at n_max"].split()
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    assert float(value) * scale == pytest.approx(tp, rel=0.005)
    assert nob["slope (±95%)"] == "n/a" and "unsupported" in nob[
        "median time at n_max"]
    # --summary without -o writes no figures
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


def test_summary_several_runs_adds_run_column(two_runs, capsys):
    assert plot.main(["--summary", *two_runs]) == 0
    head, table = _table(capsys.readouterr().out)
    assert head[0] == "run_id"
    assert {r["run_id"] for r in table} == {"r1", "r2"}
    assert {r["threads"] for r in table} == {"1", "2"}
    assert not any(r["workload"].startswith("_") for r in table)
    cell = [r for r in table if r["workload"] == "sin" and r["strategy"] ==
            "probe" and r["jac"] == "fwd" and r["run_id"] == "r1"
            and r["threads"] == "1"][0]
    # materialise is skipped at n_max = 100000, so no speedup there
    assert cell["n_max"] == "100000"
    assert cell["speedup vs materialise at n_max"] == "—"


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def _assert_images(paths):
    for p in paths:
        assert os.path.getsize(p) > 2000, p
        with open(p, "rb") as f:
            head = f.read(4096)
        if p.endswith(".png"):
            assert head.startswith(b"\x89PNG\r\n\x1a\n"), p
        else:
            assert b"<svg" in head, p


def test_figures_written(two_runs, tmp_path, capsys):
    out = tmp_path / "figs" / "nested"
    assert plot.main([*two_runs, "-o", str(out)]) == 0
    expected = {f"bench_{name}.{fmt}"
                for name in ("sin", "solve_sin", "nobatch",
                             "speedup", "threads")
                for fmt in ("png", "svg")}
    assert set(os.listdir(out)) == expected          # no _calibrate figure
    _assert_images([str(out / f) for f in expected])
    listed = capsys.readouterr().err.splitlines()
    assert sorted(listed) == sorted(str(out / f) for f in expected)


def test_figures_default_dir_and_format(tmp_path):
    rows = [row(strategy=s, n=n, t=1e-9 * n) for s in ("materialise", "probe")
            for n in (100, 1000, 10000)]
    path = write_csv(tmp_path / "one.csv", rows)
    r = run_cli(path, "--format", "png")
    assert r.returncode == 0, r.stderr
    files = sorted(os.listdir(tmp_path))
    # single thread configuration: no threads figure
    assert files == ["one.csv", "one_sin.png", "one_speedup.png"]
    _assert_images([str(tmp_path / f) for f in files if f.endswith(".png")])


def _legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend()
            for t in ax.get_legend().get_texts()]


def test_workload_figure_legend(two_runs):
    import matplotlib.pyplot as plt
    df = plot.load_csvs(list(two_runs))
    fig = plot.make_workload_figure(df, "sin", 1000)
    texts = _legend_texts(fig)
    plt.close(fig)
    assert len(fig.axes) == 2                      # jacobian, diagonal
    probe = [t for t in texts if t.startswith("probe fwd t=1 [r1]: slope ")]
    assert len(probe) == 1
    assert abs(float(probe[0].split("slope ")[1].split()[0]) - 1) < 0.05
    mat = [t for t in texts if t.startswith("materialise fwd t=2 [r1]: slope")]
    assert abs(float(mat[0].split("slope ")[1].split()[0]) - 2) < 0.05
    assert any(t.startswith("skipped_memory (") for t in texts)
    assert any(t == "skipped_budget (3 cells)" for t in texts)

    fig = plot.make_workload_figure(df, "nobatch", 1000)
    texts = _legend_texts(fig)
    plt.close(fig)
    assert any("no ok cells (unsupported)" in t for t in texts)
    assert any(re.match(r"unsupported \(\d+ cells\)", t) for t in texts)


def test_threads_figure_only_with_several_configs(tmp_path):
    rows = [row(strategy="probe", n=n, t=1e-9 * n) for n in (100, 1000)]
    df = plot.load_csvs([write_csv(tmp_path / "a.csv", rows)])
    assert plot.make_threads_figure(df) is None
    rows += [row(strategy="probe", n=n, t=1e-9 * n, proc_bind="spread")
             for n in (100, 1000)]
    df = plot.load_csvs([write_csv(tmp_path / "b.csv", rows)])
    fig = plot.make_threads_figure(df)
    assert fig is not None and len(fig.axes) == 1
    texts = _legend_texts(fig)
    assert any("bind=spread" in t for t in texts)


# --------------------------------------------------------------------------
# Loading and errors
# --------------------------------------------------------------------------

def test_load_types_and_calibration(two_runs):
    df = plot.load_csvs(list(two_runs))
    assert not df["workload"].str.startswith("_").any()
    assert df["threads"].dtype.kind == "i"
    skipped = df[df["status"] == "skipped_memory"]
    assert len(skipped) and skipped["time_median_s"].isna().all()
    assert skipped["n"].notna().all()


def test_duplicate_cells_warn_and_keep_last(tmp_path):
    path = write_csv(tmp_path / "d.csv",
                     [row(n=n, t=1e-9 * n) for n in (100, 1000)])
    r = run_cli("--summary", path, path)
    assert r.returncode == 0
    assert r.stderr.startswith("plot.py: warning: 2 duplicate")
    assert len(_table(r.stdout)[1]) == 1


def _bad_cases(tmp):
    good = [row(n=n, t=1e-9 * n) for n in (100, 1000)]
    cases = {}
    cases["missing"] = ([tmp / "nope.csv"], ["nope.csv", "no such file"])
    (tmp / "adir").mkdir()
    cases["directory"] = ([tmp / "adir"], ["adir", "directory"])
    (tmp / "empty.csv").write_text("")
    cases["empty"] = ([tmp / "empty.csv"], ["empty.csv", "empty"])
    (tmp / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    cases["binary"] = ([tmp / "binary.csv"], ["binary.csv"])
    write_csv(tmp / "header.csv", [])
    cases["header_only"] = ([tmp / "header.csv"], ["header.csv", "no rows"])
    hdr = [c for c in HEADER if c != "time_median_s"]
    write_csv(tmp / "nocol.csv", good, header=hdr)
    cases["missing_column"] = ([tmp / "nocol.csv"],
                               ["nocol.csv", "missing required column",
                                "time_median_s"])
    (tmp / "other.csv").write_text("name,value\nfoo,1\nbar,2\n")
    cases["wrong_header"] = ([tmp / "other.csv"],
                             ["other.csv", "not a diagbench CSV"])
    bad = [dict(r) for r in good]
    bad[1]["time_median_s"] = "fast"
    write_csv(tmp / "nonnum.csv", bad)
    cases["non_numeric"] = ([tmp / "nonnum.csv"],
                            ["nonnum.csv", "line 3", "time_median_s",
                             "'fast'"])
    bad = [dict(r) for r in good]
    bad[0]["n"] = "1e3x"
    write_csv(tmp / "badn.csv", bad)
    cases["bad_n"] = ([tmp / "badn.csv"], ["badn.csv", "line 2", "column n",
                                           "'1e3x'"])
    bad = [dict(r) for r in good]
    bad[0]["time_max_s"] = ""
    write_csv(tmp / "emptycell.csv", bad)
    cases["empty_cell_in_ok_row"] = ([tmp / "emptycell.csv"],
                                     ["emptycell.csv", "line 2",
                                      "time_max_s", "empty"])
    write_csv(tmp / "allbad.csv",
              [row(n=100, status="unsupported"),
               row(n=1000, status="error"),
               row(workload="_calibrate", n=10, t=1.0)])
    cases["no_ok_rows"] = ([tmp / "allbad.csv"], ["allbad.csv", "no rows"])
    path = write_csv(tmp / "ragged.csv", good)
    with open(path, "a") as f:
        f.write("r1,ts,sin,jacobian,fwd\n")
    cases["ragged"] = ([tmp / "ragged.csv"], ["ragged.csv", "line 4",
                                              "expected 26 fields"])
    write_csv(tmp / "good.csv", good)
    cases["second_file_bad"] = ([tmp / "good.csv", tmp / "nonnum.csv"],
                                ["nonnum.csv", "'fast'"])
    return cases


CASE_NAMES = ["missing", "directory", "empty", "binary", "header_only",
              "missing_column", "wrong_header", "non_numeric", "bad_n",
              "empty_cell_in_ok_row", "no_ok_rows", "ragged",
              "second_file_bad"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_error_cases(tmp_path, case):
    paths, needles = _bad_cases(tmp_path)[case]
    r = run_cli(*paths, "-o", tmp_path / "out")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("plot.py: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert r.stdout == ""
    assert not (tmp_path / "out").exists()


def test_error_in_process_returns_2(tmp_path, capsys):
    assert plot.main([str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plot.py: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("args", [
    [], ["x.csv", "--format", "gif"], ["x.csv", "--fit-from", "-3"],
    ["x.csv", "--bogus"]])
def test_usage_errors_exit_2(args):
    r = run_cli(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "usage:" in r.stderr


def test_help():
    r = run_cli("--help")
    assert r.returncode == 0
    for word in ("--summary", "--fit-from", "--format", "-o DIR",
                 "skipped_memory", "speedup", "threads", "(all n)",
                 "exit status"):
        assert word in r.stdout


# --------------------------------------------------------------------------
# The column list: harness/io/schema.tsv (diagbench --schema), one copy
# --------------------------------------------------------------------------

SCHEMA_TSV = os.path.join(ROOT, "harness", "io", "schema.tsv")


def _schema_names(path=SCHEMA_TSV):
    with open(path, encoding="utf-8") as f:
        return [line.split("\t")[0] for line in f.read().splitlines()]


def test_required_columns_come_from_the_schema_file():
    names = _schema_names()
    assert [c[0] for c in plot.SCHEMA] == names
    assert plot.REQUIRED_COLUMNS == names[:names.index("git_rev") + 1]
    assert len(plot.REQUIRED_COLUMNS) == 26  # the help text says so
    assert plot.COLUMN_KIND["n"] == "integer"
    assert plot.COLUMN_KIND["time_median_s"] == "number"
    assert set(plot.TIME_COLUMNS + plot.OTHER_NUMERIC_COLUMNS) == {
        c for c in plot.REQUIRED_COLUMNS
        if plot.COLUMN_KIND[c] != "text"} - {"n", "threads"}


def test_schema_file_is_what_the_binary_prints():
    binary = os.environ.get("DIAGBENCH",
                            os.path.join(ROOT, "build", "diagbench"))
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} not built (tests/test_schema.c checks it too)")
    r = subprocess.run([binary, "--schema"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stderr == ""
    with open(SCHEMA_TSV, encoding="utf-8") as f:
        assert r.stdout == f.read(), "run 'make schema'"


def test_committed_runs_of_older_versions_still_load():
    # results/*.csv were written with fewer appended columns: only the
    # required ones matter
    for name in ("latest.csv", "pr-example.csv"):
        df = plot.load_csvs([os.path.join(ROOT, "examples", "results", name)])
        assert len(df) > 0


def test_schema_file_is_found_beside_plot_py(tmp_path):
    # plot.py alone, without the repository: one clear error line
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "plot.py").write_text(open(PLOT).read())
    r = subprocess.run([sys.executable, str(alone / "plot.py"), "--help"],
                       capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith("plot.py: error: ")
    assert "schema.tsv: cannot read the diagbench column list" in r.stderr
    assert r.stderr.count("\n") == 1
    # with the file beside it, from another working directory
    (alone / "harness" / "io").mkdir(parents=True)
    tsv = alone / "harness" / "io" / "schema.tsv"
    tsv.write_text(open(SCHEMA_TSV).read())
    r = subprocess.run([sys.executable, str(alone / "plot.py"), "--help"],
                       capture_output=True, text=True, timeout=120,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text, needle", [
    ("run_id\ttext\tid\n", "not the diagbench column list"),
    ("run_id\ttext\tid\ngit_rev\tfloat\trev\n", "line 2: not a column"),
    ("run_id text id\n", "line 1: not a column"),
    ("git_rev\ttext\ta\ngit_rev\ttext\tb\n", "not the diagbench column list"),
])
def test_read_schema_rejects_what_is_not_a_column_list(tmp_path, text, needle):
    p = tmp_path / "schema.tsv"
    p.write_text(text)
    with pytest.raises(plot.PlotError, match=needle):
        plot.read_schema(str(p))


def test_summary_to_a_full_device_is_one_line_and_exit_2(two_runs):
    """`plot.py --summary x.csv > /dev/full`: the summary could not be written, so one error
    line and exit 2 -- no traceback, and nothing more from the interpreter's final flush."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, PLOT, "--summary", str(two_runs[0])],
                           stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == ["plot.py: error: writing the summary to standard output: "
                     "No space left on device"], r.stderr



def test_make_install_puts_a_working_binary_and_plot_under_destdir(tmp_path, two_runs):
    """make install DESTDIR=... PREFIX=/usr: the installed binary runs, the installed plot.py
    finds its column list, and make uninstall removes what install put there."""
    binary = os.path.join(ROOT, "build", "diagbench")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} not built (make install would build it)")
    dest = tmp_path / "root"
    r = subprocess.run(["make", "-s", "-C", ROOT, "install", f"DESTDIR={dest}", "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    exe = dest / "usr/bin/diagbench"
    v = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and v.stdout.startswith("diagbench "), v.stderr
    p = subprocess.run([sys.executable, str(dest / "usr/share/diagbench/plot.py"), "--summary",
                        str(two_runs[0])], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.startswith("| workload"), p.stderr
    r = subprocess.run(["make", "-s", "-C", ROOT, "uninstall", f"DESTDIR={dest}",
                        "PREFIX=/usr"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    left = [str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file()]
    assert left == [], left
