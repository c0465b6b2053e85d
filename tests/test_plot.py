"""Tests for plot.py (run: /usr/bin/python3 -m pytest -q tests/test_plot.py).

All input data are synthetic CSVs generated in pytest's tmp_path.
"""

import base64
import csv
import math
import os
import re
import shutil
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
        proc_bind="close", places="cores", spread=0.05, samples=None,
        ceiling=None):
    """One CSV row as a dict; non-ok rows get empty measurement fields.
    ``samples``: per-repetition seconds for the optional samples_s column;
    ``ceiling``: write_ceiling_s."""
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
        if samples is not None:
            r["samples_s"] = ";".join(f"{s:.9g}" for s in samples)
        if ceiling is not None:
            r["write_ceiling_s"] = repr(ceiling)
            r["write_path"] = "stream/64"
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

def test_no_hand_written_distribution_functions_are_left():
    # issue 13: the incomplete beta / Student-t quantile go, scipy.stats stays
    for name in ("t_quantile", "t_cdf", "_betainc", "_betacf"):
        assert not hasattr(plot, name), name
    from scipy import stats
    assert plot._scipy_stats() is stats


def test_fit_slope_interval_is_the_textbook_one():
    # halfwidth = t_{0.975, k-2} * sqrt(s^2 / Sxx) with s^2 the residual
    # variance: computed here from the definitions, plot uses linregress.
    rng = np.random.default_rng(4)
    n = np.logspace(1, 5, 9)
    t = 1e-9 * n ** 1.5 * np.exp(rng.normal(0, 0.2, n.size))
    x, y = np.log(n), np.log(t)
    dx = x - x.mean()
    b = np.dot(dx, y - y.mean()) / np.dot(dx, dx)
    res = y - y.mean() - b * dx
    se = math.sqrt(np.dot(res, res) / (n.size - 2) / np.dot(dx, dx))
    from scipy import stats
    slope, hw = plot.fit_slope(n, t)
    assert slope == pytest.approx(b, rel=1e-12)
    assert hw == pytest.approx(stats.t.ppf(0.975, n.size - 2) * se, rel=1e-10)


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
    assert plot.slope_text(fit) == "2.00 (2 sizes, no CI)"
    fit = plot.fit_series(n, t, 5000)         # only one size qualifies
    assert fit["all_n"] and fit["points"] == 4
    assert plot.slope_text(fit).endswith("(4 sizes) [all n]")
    fit = plot.fit_series([10], [1.0], 1000)
    assert math.isnan(fit["slope"]) and plot.slope_text(fit) == "- (1 size)"


# --------------------------------------------------------------------------
# The one number format: tests/number_format.tsv, shared with the C summary
# --------------------------------------------------------------------------

def _number_format_rows():
    path = os.path.join(ROOT, "tests", "number_format.tsv")
    with open(path, encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f
                if l.strip() and not l.startswith("#")]
    assert all(len(r) == 3 for r in rows), rows
    return rows


@pytest.mark.parametrize("kind,arg,expected", _number_format_rows())
def test_number_format_table(kind, arg, expected):
    if kind == "ratio":
        got = plot.format_ratio(float(arg))
    elif kind == "number":
        got = plot.format_number3(float(arg))
    elif kind == "count":
        k, noun = arg.split(",")
        got = plot.format_count(int(k), noun)
    elif kind == "time":
        got = plot.format_time(float(arg))
    elif kind == "slope":
        s, hw, k = arg.split(",")
        got = plot.format_slope(float(s), float(hw), int(k))
    else:
        pytest.fail(f"unknown kind {kind!r} in tests/number_format.tsv")
    assert got == expected


def test_number_format_table_covers_every_kind():
    assert {r[0] for r in _number_format_rows()} == {
        "ratio", "count", "time", "slope", "number"}


@pytest.mark.parametrize("seconds,expected", [
    (9.996e-7, "1 µs"), (999.4e-9, "999 ns"), (0.5e-9, "0.5 ns"),
    (3600.0, "3.6e+03 s")])
def test_format_time_unit_boundaries(seconds, expected):
    # %.3g rounding up to 1000 moves to the next unit
    assert plot.format_time(seconds) == expected


# --------------------------------------------------------------------------
# Uncertainty from the samples
# --------------------------------------------------------------------------

@pytest.mark.parametrize("k,rank,coverage", [
    # distribution-free CI of the median: [x_(j), x_(k+1-j)], coverage
    # 1 - 2 * P(Binomial(k, 1/2) <= j - 1) (textbook order-statistic values)
    (5, 1, 1 - 2 / 32), (6, 1, 1 - 2 / 64), (10, 2, 1 - 2 * 11 / 1024),
    (20, 6, 0.9586105346679688)])
def test_median_ci_order_statistics(k, rank, coverage):
    x = np.arange(1.0, k + 1.0)[::-1]          # unsorted input
    lo, hi, cov = plot.median_ci(x)
    assert (lo, hi) == (rank, k + 1 - rank)
    assert cov == pytest.approx(coverage, rel=1e-12)
    if k >= 6:
        assert cov >= 0.95


def test_median_ci_covers_the_true_median_95_percent_of_the_time():
    # 400 samples of 15 from a lognormal with median 1: the interval must miss
    # the median in at most ~5% (+ 3 standard errors of a binomial(400, .05))
    rng = np.random.default_rng(11)
    misses = 0
    for _ in range(400):
        lo, hi, _ = plot.median_ci(np.exp(rng.normal(0, 0.3, 15)))
        misses += not (lo <= 1.0 <= hi)
    assert misses <= 400 * 0.05 + 3 * math.sqrt(400 * 0.05 * 0.95)
    assert all(math.isnan(v) for v in plot.median_ci([1.0]))


def test_ratio_ci():
    rng = np.random.default_rng(5)
    base = 4e-3 * np.exp(rng.normal(0, 0.05, 9))
    new = 1e-3 * np.exp(rng.normal(0, 0.05, 9))
    lo, hi = plot.ratio_ci(base, new)
    point = np.median(base) / np.median(new)
    assert lo < point < hi
    assert 3.0 < lo and hi < 5.5       # 5 % noise cannot move the ratio 4 far
    # less noise, narrower interval
    lo2, hi2 = plot.ratio_ci(4e-3 * np.exp(rng.normal(0, 0.005, 9)),
                             1e-3 * np.exp(rng.normal(0, 0.005, 9)))
    assert hi2 - lo2 < (hi - lo) / 3
    assert plot.ratio_ci([2.0, 2.0], [1.0, 1.0]) == (2.0, 2.0)
    assert all(math.isnan(v) for v in plot.ratio_ci([1.0], [1.0, 2.0]))
    assert plot.ratio_ci(base, new) == (lo, hi)      # reproducible


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
                    plot.SPEEDUP_HEAD]
    assert [(r["workload"], r["strategy"]) for r in table] == [
        ("sin", "materialise"), ("sin", "probe"), ("nobatch", "materialise")]
    mat, probe, nob = table
    assert float(mat["slope (±95%)"].split()[0]) == pytest.approx(2, abs=.05)
    assert float(probe["slope (±95%)"].split()[0]) == pytest.approx(1, abs=.05)
    assert re.fullmatch(r"\d\.\d\d ± \d\.\d\d \(3 sizes\)",  # n >= 1000
                        probe["slope (±95%)"]), probe["slope (±95%)"]
    assert probe["n_max"] == "100000" and probe["threads"] == "1"
    tm = float(rows[-4]["time_median_s"])   # materialise at n = 100000
    tp = float(rows[-3]["time_median_s"])   # probe at n = 100000
    sp = probe[plot.SPEEDUP_HEAD]
    assert sp == plot.format_ratio(tm / tp) + " at n=100000", sp   # e.g. 965× at n=100000
    assert mat[plot.SPEEDUP_HEAD] == "-"
    value, unit = probe["median time at n_max"].split()
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "ns": 1e-9}[unit]
    assert float(value) * scale == pytest.approx(tp, rel=0.005)
    assert nob["slope (±95%)"] == "- (0 sizes)" and "unsupported" in nob[
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
    # materialise is skipped at n_max = 100000: the speedup is read at the largest n where
    # both ran (issue 23: it used to print '-' for the main result)
    assert cell["n_max"] == "100000"
    sp = cell[plot.SPEEDUP_HEAD]
    assert sp != "-" and re.search(r"× .*at n=(\d+)$", sp), sp
    assert int(re.search(r"at n=(\d+)$", sp).group(1)) < 100000


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------

def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head.startswith(b"\x89PNG\r\n\x1a\n"), path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _assert_images(paths):
    for p in paths:
        assert os.path.getsize(p) > 2000, p
        if p.endswith(".png"):
            w, h = _png_size(p)
            limit = (1600, 1000) if p.endswith("_headline.png") else (1600, 1200)
            assert w <= limit[0] and h <= limit[1], (p, w, h)   # fits a screen
        else:
            with open(p, "rb") as f:
                assert b"<svg" in f.read(4096), p


FIGURES = ("headline", "diagonal", "solve", "speedup", "threads")


def test_figures_written(two_runs, tmp_path, capsys):
    out = tmp_path / "figs" / "nested"
    assert plot.main([*two_runs, "-o", str(out)]) == 0
    expected = {f"bench_{name}.png" for name in FIGURES}
    assert set(os.listdir(out)) == expected          # PNG only, no _calibrate
    _assert_images([str(out / f) for f in expected])
    listed = capsys.readouterr().err.splitlines()
    assert sorted(listed) == sorted(str(out / f) for f in expected)


def test_svg_only_on_request(tmp_path):
    rows = [row(strategy=s, n=n, t=1e-9 * n) for s in ("materialise", "probe")
            for n in (100, 1000, 10000)]
    path = write_csv(tmp_path / "one.csv", rows)
    r = run_cli(path, "--svg")
    assert r.returncode == 0, r.stderr
    files = sorted(os.listdir(tmp_path))
    # single thread configuration: no threads figure; no solve workload
    assert files == sorted(["one.csv"] + [f"one_{n}.{e}" for n in
                                          ("headline", "diagonal", "speedup")
                                          for e in ("png", "svg")])
    _assert_images([str(tmp_path / f) for f in files if f != "one.csv"])


def _legend_texts(fig):
    texts = [t.get_text() for ax in fig.axes if ax.get_legend()
             for t in ax.get_legend().get_texts()]
    return texts


def _close(fig):
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_headline_figure(tmp_path):
    rng = np.random.default_rng(8)
    rows = []
    for th in (1, 2):
        for wl in ("sin", "split", "seqsin", "nobatch"):
            for n in (100, 1000, 4000, 16000, 64000):
                tm = 1e-10 * n * n / th
                tp = 2e-9 * n / th
                rows.append(row(workload=wl, strategy="materialise", n=n,
                                threads=th, t=tm,
                                samples=tm * np.exp(rng.normal(0, .05, 7))))
                rows.append(row(workload=wl, strategy="probe", n=n,
                                threads=th, t=tp,
                                samples=tp * np.exp(rng.normal(0, .05, 7))))
                rows.append(row(workload=wl, jac="bwd", strategy="probe",
                                n=n, threads=th, t=tp))
    rows.append(row(workload="sin", strategy="materialise", n=10 ** 6,
                    threads=2, status="skipped_memory"))
    df = plot.load_csvs([write_csv(tmp_path / "h.csv", rows,
                                   header=HEADER + ["samples_s"],
                                   extra_columns=("future_column",))])
    assert df["band_from_samples"].sum() == 2 * 3 * 5 * 2 + 2 * 5 * 2
    fig = plot.make_headline_figure(df)
    try:
        w, h = fig.get_size_inches() * plot.FIG_DPI
        assert w <= 1600 and h <= 1000
        title = fig._suptitle.get_text()
        assert "Test CPU @ 3.0GHz" in title and "2 threads" in title
        assert "jacobian fwd" in title and "nobatch" not in title
        left, right = fig.axes
        labels = [t.get_text() for t in left.get_legend().get_texts()]
        # seed's workloads only, each with its fitted slope in the one format
        assert [l.split(":")[0] for l in labels[:6]] == [
            f"{w} {s}" for w in ("sin", "split", "seqsin")
            for s in ("materialise", "probe")]
        for l in labels[:6]:
            assert re.fullmatch(r"\w+ \w+: slope \d\.\d\d ± \d\.\d\d "
                                r"\(4 sizes\)", l), l
        mat = float(labels[0].split("slope ")[1].split()[0])
        assert abs(mat - 2) < 0.1
        assert labels[6] == "skipped_memory (1 cell)"
        # one colour per strategy, the global mapping
        handles = left.get_legend().legendHandles
        for lab, hd in zip(labels[:6], handles[:6]):
            assert hd.get_color() == plot.STRATEGY_COLOURS[lab.split(":")[0]
                                                           .split()[1]]
        # speedup with its bootstrap CI: one band per workload
        assert [t.get_text() for t in right.get_legend().get_texts()] == [
            "sin", "split", "seqsin"]
        assert len(right.collections) == 3
        assert "bootstrap CI" in right.get_title()
        assert "95% CI of the median" in left.get_title()
    finally:
        _close(fig)


def test_headline_without_samples_says_no_ci(two_runs):
    df = plot.load_csvs(list(two_runs))
    fig = plot.make_headline_figure(df)
    try:
        left, right = fig.axes
        assert "no samples: no CI" in right.get_title()
        assert "min–max" in left.get_title()
        assert "2 threads" in fig._suptitle.get_text()   # the largest count
    finally:
        _close(fig)


def test_no_headline_without_the_seed_workloads(tmp_path):
    rows = [row(workload="banded", strategy=s, n=n, t=1e-9 * n)
            for s in ("materialise", "probe") for n in (100, 1000)]
    df = plot.load_csvs([write_csv(tmp_path / "b.csv", rows)])
    assert plot.make_headline_figure(df) is None


def test_family_figure_draws_only_panels_with_something_to_show(two_runs,
                                                                tmp_path):
    df = plot.load_csvs(list(two_runs))
    fig = plot.make_family_figure(df, "diagonal")
    try:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        # sin and nobatch, jacobian and the other operators; solve:sin is
        # another family
        assert titles == ["sin · jacobian", "sin · other operators",
                          "nobatch · jacobian", "nobatch · other operators"]
        texts = _legend_texts(fig)
        assert texts[:2] == ["materialise", "probe"]
        assert "jacobian fwd" in texts and "diagonal" in texts
        assert any(re.fullmatch(r"unsupported \(\d+ cells\)", t) for t in texts)
        assert "skipped_budget (1 cell)" in texts     # threads 2 only
    finally:
        _close(fig)
    rows = [row(strategy=s, n=n, t=1e-9 * n) for s in ("materialise", "probe")
            for n in (100, 1000)]
    rows += [row(workload="nobatch", strategy="materialise", n=n,
                 status="unsupported") for n in (100, 1000)]
    df = plot.load_csvs([write_csv(tmp_path / "u.csv", rows)])
    fig = plot.make_family_figure(df, "diagonal")
    try:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == ["sin · jacobian"]             # no "not run" panel
        legend = fig.axes[-1].get_legend()
        assert "not drawn (no ok cell): 2 cells unsupported" in \
            legend.get_title().get_text()
    finally:
        _close(fig)
    assert plot.make_family_figure(df, "newton") is None


def test_speedup_grid_is_compact(tmp_path):
    rows = []
    for i in range(16):
        for s in ("materialise", "probe"):
            rows += [row(workload=f"w{i}", strategy=s, n=n,
                         t=1e-9 * n * (n if s == "materialise" else 1))
                     for n in (100, 1000, 10000)]
    df = plot.load_csvs([write_csv(tmp_path / "g.csv", rows)])
    fig = plot.make_speedup_figure(df)
    try:
        w, h = fig.get_size_inches() * plot.FIG_DPI
        assert w <= 1600 and h <= 1200, (w, h)
        panels = [ax for ax in fig.axes if ax.get_title()]
        assert len(panels) == 16
        # a grid: several panels share a row
        assert len({round(ax.get_position().y0, 3) for ax in panels}) <= 4
        sp = panels[0].get_lines()[0].get_ydata()
        assert list(sp) == pytest.approx([100, 1000, 10000])
    finally:
        _close(fig)


def test_threads_figure_only_with_several_configs(tmp_path):
    rows = [row(strategy="probe", n=n, t=1e-9 * n) for n in (100, 1000)]
    df = plot.load_csvs([write_csv(tmp_path / "a.csv", rows)])
    assert plot.make_threads_figure(df) is None
    rows += [row(strategy="probe", n=n, t=1e-9 * n, proc_bind="spread")
             for n in (100, 1000)]
    rows += [row(workload="split", strategy="probe", n=n, t=1e-9 * n)
             for n in (100, 1000)]     # one configuration only: no panel
    df = plot.load_csvs([write_csv(tmp_path / "b.csv", rows)])
    fig = plot.make_threads_figure(df)
    try:
        assert [ax.get_title() for ax in fig.axes if ax.get_title()] == [
            "sin · jacobian fwd"]
        texts = _legend_texts(fig)
        assert "1 thread bind=spread" in texts and "probe" in texts
    finally:
        _close(fig)


def test_one_colour_per_strategy_everywhere():
    assert plot.strategy_colour("probe") == plot.STRATEGY_COLOURS["probe"]
    # unknown strategies: a colour from their name, the same in every run
    assert plot.strategy_colour("probe-new") == plot.strategy_colour("probe-new")
    assert len(set(plot.STRATEGY_COLOURS.values())) == len(plot.STRATEGY_COLOURS)


# --------------------------------------------------------------------------
# Samples (samples_s, optional) and the HTML report
# --------------------------------------------------------------------------

def _sampled_rows(run_id="r1", seed=2, slower=1.0):
    """sin and split, materialise ~ n^2 (with a write ceiling) and probe ~ n,
    7 samples per cell, plus two calibration rows."""
    rng = np.random.default_rng(seed)
    rows = [row(run_id, "_calibrate", "none", "none", "memset", 10 ** 6, 1,
                "ok", 1e-4), row(run_id, "_calibrate", "none", "none",
                                 "nt_fill", 10 ** 6, 1, "ok", 2e-4)]
    for wl in ("sin", "split"):
        for n in (100, 1000, 4000):
            tm = 1e-10 * n * n * slower
            s = tm * np.exp(rng.normal(0, 0.03, 7))
            rows.append(row(run_id, wl, strategy="materialise", n=n, t=tm,
                            samples=s, ceiling=0.8 * float(np.min(s))))
            tp = 2e-9 * n * slower
            rows.append(row(run_id, wl, strategy="probe", n=n, t=tp,
                            samples=tp * np.exp(rng.normal(0, 0.03, 7))))
    return rows


SAMPLED_HEADER = HEADER + ["write_path", "write_ceiling_s", "samples_s"]


def test_samples_are_optional_and_unknown_columns_ignored(tmp_path, capsys):
    path = write_csv(tmp_path / "s.csv", _sampled_rows(),
                     header=SAMPLED_HEADER, extra_columns=("later_column",))
    df = plot.load_csvs([path])
    ok = df[df["status"] == "ok"]
    assert ok["band_from_samples"].all()
    assert all(len(s) == 7 for s in ok["samples"])
    # the band is the median's 95% CI from order statistics: for 7 samples
    # [x_(1), x_(7)] (coverage 1 - 2/128; [x_(2), x_(6)] covers only 0.875)
    r = ok.iloc[0]
    xs = sorted(r["samples"])
    assert (r["band_lo"], r["band_hi"]) == (xs[0], xs[6])
    assert len(df.attrs["calibration"]) == 2
    # speedup at n_max with its bootstrap interval, in the number format
    assert plot.main(["--summary", path]) == 0
    head, table = _table(capsys.readouterr().out)
    cell = [t for t in table if t["strategy"] == "probe"][0]
    assert re.fullmatch(r"[\d,.]+× \([\d,.]+×–[\d,.]+×\) at n=\d+",
                        cell[plot.SPEEDUP_HEAD]), cell


FAKE_DIAGBENCH = """#!/bin/sh
# stands in for diagbench with a compare subcommand
[ "$1" = compare ] || exit 2
[ "$2" = --help ] && { echo "usage: diagbench compare BASE NEW"; exit 0; }
[ "$4 $5" = "--format md" ] || exit 2
echo "## diagbench compare"
echo "| cell | ratio (95% CI) | p (Holm) | verdict |"
echo "|---|---:|---:|---|"
echo "| sin jacobian fwd probe n=1000 | 1.02× (0.99×–1.05×) | 0.41 | no change <b> |"
echo "| split jacobian fwd probe n=4000 | 1.31× (1.20×–1.40×) | 0.002 | slower |"
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report from two runs (the second 30% slower), with a fake
    diagbench whose compare prints a Markdown table."""
    tmp = tmp_path_factory.mktemp("report")
    a = write_csv(tmp / "base.csv", _sampled_rows("r1", 2),
                  header=SAMPLED_HEADER)
    b = write_csv(tmp / "new.csv", _sampled_rows("r2", 3, slower=1.3),
                  header=SAMPLED_HEADER)
    fake = tmp / "fake-diagbench"
    fake.write_text(FAKE_DIAGBENCH)
    fake.chmod(0o755)
    out = tmp / "out"
    r = run_cli("--report", a, b, "-o", out, "--diagbench", fake)
    assert r.returncode == 0, r.stderr
    path = out / "report.html"
    assert str(path) in r.stderr.splitlines()
    return path, r


def test_report_contents(report):
    path, _ = report
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    # self-contained: no URL at all, every image inline
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', text)
    assert len(srcs) == text.count("<img ") == 3
    assert re.findall(r'<figure id="fig-(\w+)"', text) == [
        "headline", "diagonal", "speedup"]
    for s in srcs:
        assert s.startswith("data:image/png;base64,")
        png = base64.b64decode(s.split(",", 1)[1])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert 'id="fig-headline"' in text
    assert text.index("fig-headline") < text.index("<h2>Summary</h2>")
    # the summary table, numbers in the one format
    assert f"<th>{plot.SPEEDUP_HEAD}</th>" in text
    assert re.search(r"<td>\d\.\d\d \(3 sizes\)|<td>\d\.\d\d ± \d\.\d\d "
                     r"\(3 sizes\)", text) or "(2 sizes, no CI)" in text
    # ceilings: the calibration rows and materialise / ceiling per size
    assert "<td>memset</td>" in text and "<td>nt_fill</td>" in text
    ceil = re.findall(r"<td>(\d\.\d\d)(?: \[!\][^<]*)?</td></tr>", text)
    assert len(ceil) == 2 * 2 * 2     # 2 runs x 2 workloads x n = 1000, 4000
    # the fake ceiling is 0.8 x the fastest sample, the fastest repetition is
    # row()'s time_min_s = 0.95 t: the ratio is 0.8 * min(samples) / (0.95 t)
    assert all(0.6 < float(c) < 1.0 for c in ceil), ceil
    # provenance
    for col in ("git_rev", "cpu_model", "compiler", "host", "proc_bind",
                "places"):
        assert f"<th>{col}</th>" in text
    assert "<td>abc1234</td>" in text
    # compare verdicts embedded as a table, escaped
    assert "<td>no change &lt;b&gt;</td>" in text and "<td>slower</td>" in text
    assert "compare not available" not in text


def test_probe_against_the_bare_loop(tmp_path):
    # best repetition per element: probe 1.5 ns (time_min_s = 0.95 t), the
    # loops 1.2 ns (cos) and 0.8 ns (sin), 1.5 ns (cos(x)*v), all n = 10^6
    rows = [row(workload="_calibrate", operator="none", strategy=k, n=10 ** 6,
                t=t / 0.95) for k, t in (("cos_loop", 1.2e-3),
                                         ("sin_loop", 0.8e-3),
                                         ("cos_jvp_loop", 1.5e-3))]
    rows += [row(workload=w, strategy="probe", n=n, t=1.5e-9 * n / 0.95)
             for w in ("sin", "split", "seqsin") for n in (1000, 10 ** 6)]
    df = plot.load_csvs([write_csv(tmp_path / "l.csv", rows)])
    head, got = plot.probe_loop_rows(df)
    ratio = head.index("probe / bare loop")
    assert [(r[0], r[3], r[ratio], r[-1]) for r in got] == [
        ("sin", "1000000", "1.25", "1.00"), ("split", "1000000", "1.50", "-")]


def test_report_compare_not_available(tmp_path):
    a = write_csv(tmp_path / "a.csv", _sampled_rows("r1"), header=SAMPLED_HEADER)
    status, text = plot.compare_section([a, a], str(tmp_path / "missing"))
    assert status == "not available" and "compare not available" in text
    refuses = tmp_path / "old-diagbench"
    refuses.write_text("#!/bin/sh\necho 'unknown argument' >&2\nexit 2\n")
    refuses.chmod(0o755)
    status, text = plot.compare_section([a, a], str(refuses))
    assert status == "not available"
    status, text = plot.compare_section([a], str(refuses))
    assert status == "not applicable" and "exactly two CSVs" in text


def _chromium():
    for c in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if c and os.access(c, os.X_OK):
            return c
    pytest.skip("chromium is not installed (Debian package 'chromium'): "
                "the report cannot be opened in a real browser")


def _render(chromium, html_path, profile):
    """Open a page in headless Chromium: (the render-check text in the DOM,
    the console messages it logged)."""
    r = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", f"file://{html_path}"],
        capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    m = re.search(r'id="render-check"[^>]*>([^<]*)<', r.stdout)
    console = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
    return (m.group(1) if m else None), console


def test_report_renders_in_headless_chromium(report, tmp_path):
    chromium = _chromium()
    path, _ = report
    images = path.read_text(encoding="utf-8").count("<img ")
    check, console = _render(chromium, path, tmp_path / "profile")
    assert check is not None, "the page did not run its load handler"
    got = dict(zip(check.split()[::2], map(int, check.split()[1::2])))
    assert got["images"] == images and got["decoded"] == images, check
    assert got["tables"] >= 5      # summary, calibration, ceilings, compare,
    #                               provenance
    # our own console.log is seen (logging works), and nothing else
    assert len(console) == 1 and "diagbench report rendered" in console[0], \
        console
    # the same check catches a broken page: an image that does not decode and
    # a script error
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><body><p id=\"render-check\"></p>"
        "<img src=\"data:image/png;base64,AAAA\"><script>"
        + plot.REPORT_SCRIPT + "</script><script>undefinedFunction();"
        "</script></body></html>")
    check, console = _render(chromium, broken, tmp_path / "profile2")
    assert check == "images 1 decoded 0 tables 0", check
    assert any("undefinedFunction" in l for l in console), console


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
    bad = [dict(r) for r in good]
    bad[0]["samples_s"] = "1e-6;fast;2e-6"
    write_csv(tmp / "badsamples.csv", bad, header=HEADER + ["samples_s"])
    cases["bad_samples"] = ([tmp / "badsamples.csv"],
                            ["badsamples.csv", "line 2", "samples_s",
                             "'1e-6;fast;2e-6'"])
    write_csv(tmp / "good.csv", good)
    cases["second_file_bad"] = ([tmp / "good.csv", tmp / "nonnum.csv"],
                                ["nonnum.csv", "'fast'"])
    return cases


CASE_NAMES = ["missing", "directory", "empty", "binary", "header_only",
              "missing_column", "wrong_header", "non_numeric", "bad_n",
              "empty_cell_in_ok_row", "no_ok_rows", "ragged",
              "bad_samples", "second_file_bad"]


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


def test_invisible_characters_in_a_message_are_escaped_and_named(tmp_path):
    """Issue 24 item 14: text quoted from a file shows its invisible characters escaped, and
    the message names them (as diagbench's own messages do)."""
    bad = [row(n=100), row(n=1000)]
    bad[0]["n"] = "1\x1b[2J0\u202e"
    write_csv(tmp_path / "inv.csv", bad)
    r = run_cli(tmp_path / "inv.csv", "-o", tmp_path / "out")
    assert r.returncode == 2
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert r.stderr.count("\n") == 1
    assert "column n: '1\\x1b[2J0\\u{202E}' is not a positive integer" in r.stderr
    assert r.stderr.rstrip().endswith("[shown escaped: \\x1b is escape, \\u{202E} is "
                                      "bidirectional override]")
    r = run_cli(tmp_path / "inv.csv", "--fit-from", "1\u200b")
    assert r.returncode == 2
    assert "not a number: '1\\u{200B}' [shown escaped: \\u{200B} is zero-width space]" in r.stderr
    # Visible text is left alone, and a byte that was not UTF-8 is named.
    assert plot.visible("4,700\u00d7 \u2014 caf\u00e9") == "4,700\u00d7 \u2014 caf\u00e9"
    assert plot.visible("x\udcffy") == "x\\xffy [shown escaped: \\xff is not UTF-8]"


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
    for word in ("--summary", "--fit-from", "--format", "-o DIR", "--svg",
                 "--report", "--diagbench PATH", "report.html",
                 "compare not available", "samples_s", "skipped_memory",
                 "_headline", "_diagonal", "_speedup", "_threads", "[all n]",
                 "(2 sizes, no CI)", "exit status"):
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


def test_markdown_to_html_keeps_escaped_text_in_its_cell():
    """compare's Markdown escapes '|', backticks and HTML from the CSVs (issue 24 item 9): the
    report's conversion keeps each escaped '|' in its cell and shows the text, never the HTML."""
    md = ("### compare\n\n| cell | host |\n|---|---|\n"
          "| w\\|x\\`&lt;img src=x&gt;&lt;script&gt; | ``host`a`<b>`` |\n")
    out = plot.markdown_to_html(md)
    assert out.count("<td>") == 2, out
    assert "<td>w|x`&lt;img src=x&gt;&lt;script&gt;</td>" in out, out
    assert "<td>host`a`&lt;b&gt;</td>" in out, out
    assert "<script" not in out and "<img" not in out and "<b>" not in out
    assert plot._md("a|b<c>`") == "a\\|b&lt;c&gt;\\`"


# --------------------------------------------------------------------------
# Issue 24 item 12: long labels, and no half-written output on a failure
# --------------------------------------------------------------------------

def test_a_2000_character_label_is_cut_in_figures_not_in_the_report(tmp_path):
    rows = synthetic_rows("r1", (1,), 3)
    for r in rows:
        r["host"] = "h" * 2500
        r["cpu_model"] = "c" * 2100
        if r["workload"] == "sin":
            r["workload"] = "sin" + "w" * 2000
    path = write_csv(tmp_path / "long.csv", rows)
    out = tmp_path / "report"
    p = run_cli("--report", path, "-o", out)
    assert p.returncode == 0, p.stderr
    assert (out / "report.html").exists() and list(out.glob("*.png"))
    html_text = (out / "report.html").read_text()
    assert "h" * 2500 in html_text, "the report's table keeps the full text"
    assert plot.short_label("x" * 2000).endswith(plot.short_label("x" * 2000)[-7:])
    assert len(plot.short_label("x" * 2000)) == plot.LABEL_MAX
    assert plot.short_label("a" * 90 + "1") != plot.short_label("a" * 90 + "2")


def test_a_failure_while_drawing_is_one_line_and_leaves_no_figure(tmp_path, monkeypatch, capsys):
    path = write_csv(tmp_path / "bench.csv", synthetic_rows("r1", (1, 2), 1))
    real = plot.render_figures

    def failing(df, fit_from=1000):
        gen = real(df, fit_from)
        yield next(gen)  # one figure is written...
        raise RuntimeError("raster overflow")  # ...then matplotlib fails

    monkeypatch.setattr(plot, "render_figures", failing)
    out = tmp_path / "figs"
    assert plot.main([path, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "plot.py: error: cannot draw the figures: RuntimeError: raster overflow"
    assert not list(out.glob("*.png")), "the figure written before the failure was removed"
