"""`diagbench compare` and the samples columns, checked against scipy at test time
(run: /usr/bin/python3 -m pytest -q tests/test_compare.py; needs build/diagbench or $DIAGBENCH).

Reference values are computed here, now, with Debian's python3-scipy (scipy.stats.mannwhitneyu,
scipy.stats.binom), never copied from one run. Samples are drawn with numpy from fixed seeds.
"""

import csv
import json
import math
import os
import re
import subprocess

import numpy as np
import pytest
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DIAGBENCH", os.path.join(ROOT, "build", "diagbench"))
COLUMNS = [line.split("\t")[0] for line in
           open(os.path.join(ROOT, "harness", "io", "schema.tsv"), encoding="utf-8")]


@pytest.fixture(scope="module", autouse=True)
def binary():
    if not os.access(BIN, os.X_OK):
        pytest.fail(f"{BIN} is missing: build it first (make build/diagbench)")


def run(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=300)


def cell_row(samples=None, strategy="probe", n=100, status="ok", median=None, git_rev="abc",
             workload="seqsin"):
    r = {c: "" for c in COLUMNS}
    r.update(run_id="r", workload=workload, operator="jacobian", jac="fwd", strategy=strategy,
             n=n, threads=1, proc_bind="false", places="unset", status=status, git_rev=git_rev,
             host="h", cpu_model="cpu", compiler="gcc", matrix="-n 100", shard="1/1")
    if status == "ok":
        if samples is not None:
            r["samples_s"] = ";".join(repr(float(x)) for x in samples)
            r["reps"] = len(samples)
            median = float(np.median(samples))
        r["time_median_s"] = repr(median)
    return r


def write(path, rows, columns=COLUMNS):
    """A CSV of rows; rows left with the default run_id "r" get one of their own per file (each
    file is another run: compare refuses two files with rows of one run)."""
    rows = [dict(r, run_id=f"r-{os.path.basename(str(path))}") if r.get("run_id") == "r" else r
            for r in rows]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return str(path)


def compare_json(*args):
    p = run("compare", "--format", "json", *args)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout), p.returncode


def samples_pairs(seed=7):
    """(base, new) samples: sizes around the exact/asymptotic switch (min(m, n) <= 8), with and
    without ties (rounded values), with and without a shift."""
    rng = np.random.default_rng(seed)
    out = []
    for m, n in [(3, 3), (4, 4), (5, 7), (8, 8), (8, 30), (9, 9), (12, 15), (30, 40), (2, 50)]:
        for shift in (0.0, 0.03, 0.3):
            for ties in (False, True):
                b = 1e-5 * rng.lognormal(0, 0.05, m)
                c = 1e-5 * rng.lognormal(shift, 0.05, n)
                if ties:  # a coarse clock: many equal times
                    b, c = np.round(b, 7), np.round(c, 7)
                out.append((b, c))
    return out


def test_p_values_match_scipy_mannwhitneyu(tmp_path):
    pairs = samples_pairs()
    base = [cell_row(b, n=10 + i) for i, (b, _) in enumerate(pairs)]
    new = [cell_row(c, n=10 + i) for i, (_, c) in enumerate(pairs)]
    rep, _ = compare_json(write(tmp_path / "b.csv", base), write(tmp_path / "n.csv", new))
    assert len(rep["cells"]) == len(pairs)
    for cell, (b, c) in zip(rep["cells"], pairs):
        want = stats.mannwhitneyu(b, c, alternative="two-sided").pvalue
        # both sides compute the same formula in double precision: erfc / exact counts agree to
        # a few ulps; 1e-9 leaves room for the normal tail's conditioning (|z| < 8 here)
        assert cell["p_value"] == pytest.approx(want, rel=1e-9, abs=1e-300), (len(b), len(c))
        assert cell["base_samples"] == len(b) and cell["new_samples"] == len(c)
        assert cell["ratio"] == pytest.approx(np.median(c) / np.median(b), rel=1e-15)


def test_benjamini_hochberg_and_verdicts(tmp_path):
    pairs = samples_pairs(seed=3)
    base = [cell_row(b, n=10 + i) for i, (b, _) in enumerate(pairs)]
    new = [cell_row(c, n=10 + i) for i, (_, c) in enumerate(pairs)]
    rep, _ = compare_json(write(tmp_path / "b.csv", base), write(tmp_path / "n.csv", new))
    cells = rep["cells"]
    # the cells tested: those whose sizes can reach p < alpha at all (2 / C(m+n, m) <= alpha)
    tested = [c for c in cells
              if 2 / math.comb(c["base_samples"] + c["new_samples"], c["base_samples"]) <= 0.05]
    untested = [c for c in cells if c not in tested]
    assert untested and all(c["verdict"] == "undecided" and "too few samples" in c["reason"]
                            for c in untested)
    p = np.array([c["p_value"] for c in tested])
    # Benjamini-Hochberg, written out: adj_(i) = min_{j >= i} p_(j) k / j, at most 1
    order = np.argsort(p, kind="stable")
    k = len(p)
    adj_sorted = np.minimum.accumulate((p[order] * k / np.arange(1, k + 1))[::-1])[::-1]
    adj = np.empty(k)
    adj[order] = np.minimum(adj_sorted, 1)
    for c, a in zip(tested, adj):
        assert c["p_adjusted"] == pytest.approx(a, rel=1e-12)
        significant = a < 0.05
        want = ("slower" if c["ratio"] > 1 else "faster") if significant else "no change"
        assert c["verdict"] == want, c
    assert rep["counts"]["undecided"] == len(untested)
    assert sum(rep["counts"].values()) == len(cells)


def test_ratio_interval_coverage(tmp_path):
    """The percentile bootstrap's 95% interval for median(new)/median(base) is approximate: over
    200 independent cells of 20 lognormal samples per side (true ratio exp(0.1) of the population
    medians), its coverage is near 0.95. Bound: if the true coverage were 0.92, fewer than 170
    of 200 covered would be a 3.7-sigma event (binomial sd 3.8); more than 199 would mean
    intervals too wide to tell anything apart."""
    rng = np.random.default_rng(11)
    cells = 200
    truth = math.exp(0.1)
    base = [cell_row(1e-5 * rng.lognormal(0, 0.1, 20), n=i + 1) for i in range(cells)]
    new = [cell_row(1e-5 * rng.lognormal(0.1, 0.1, 20), n=i + 1) for i in range(cells)]
    rep, _ = compare_json(write(tmp_path / "b.csv", base), write(tmp_path / "n.csv", new))
    covered = sum(c["ratio_ci_low"] <= truth <= c["ratio_ci_high"] for c in rep["cells"])
    assert 170 <= covered <= 199, covered
    for c in rep["cells"]:
        assert c["ratio_ci_low"] <= c["ratio"] <= c["ratio_ci_high"]


def test_ratio_interval_matches_scipy_bootstrap(tmp_path):
    """The interval is the percentile bootstrap scipy.stats.bootstrap computes (two samples
    resampled independently, paired=False, method='percentile', type-7 quantiles), up to Monte
    Carlo error: ours uses B = 2000 resamples, scipy's reference 40,000 here. Our 2.5% end is the
    q = 0.025 quantile of B resampled ratios, whose rank scatters by sqrt(q (1 - q) / B) = 0.35%
    of B; the tolerance is the stretch of scipy's own bootstrap distribution between the
    quantiles q -+ 5 such sigmas (plus scipy's own, smaller, error), so a mismatch in method --
    resampling one side only, the wrong quantile, pairing -- fails while resampling luck
    cannot."""
    rng = np.random.default_rng(17)
    cases = [(10, 10), (15, 25), (30, 30), (12, 40), (50, 20)]
    base = [cell_row(1e-5 * rng.lognormal(0, 0.05, m), n=i + 1) for i, (m, _) in enumerate(cases)]
    new = [cell_row(1e-5 * rng.lognormal(0.02, 0.08, k), n=i + 1) for i, (_, k) in enumerate(cases)]
    rep, _ = compare_json(write(tmp_path / "b.csv", base), write(tmp_path / "n.csv", new))
    ours_b, scipy_b = int(rep["statistics"]["ci"].split(", ")[1].split()[0]), 40000
    assert ours_b == 2000, rep["statistics"]
    for cell, rb, rn in zip(rep["cells"], base, new):
        b = np.array([float(x) for x in rb["samples_s"].split(";")])
        c = np.array([float(x) for x in rn["samples_s"].split(";")])
        ref = stats.bootstrap((b, c), lambda x, y, axis: np.median(y, axis=axis)
                              / np.median(x, axis=axis), paired=False, vectorized=True,
                              n_resamples=scipy_b, method="percentile", confidence_level=0.95,
                              random_state=np.random.default_rng(3))
        dist = np.sort(ref.bootstrap_distribution)
        for q, ours in ((0.025, cell["ratio_ci_low"]), (0.975, cell["ratio_ci_high"])):
            sigma = math.sqrt(q * (1 - q) / ours_b) + math.sqrt(q * (1 - q) / scipy_b)
            lo, hi = np.quantile(dist, [max(q - 5 * sigma, 0), min(q + 5 * sigma, 1)])
            assert lo <= ours <= hi, (len(b), len(c), q, ours, lo, hi)


def test_old_csv_without_samples_is_undecided(tmp_path):
    old_columns = [c for c in COLUMNS if c not in ("samples_s", "outliers", "median_ci_pct")]
    base = write(tmp_path / "b.csv", [cell_row(median=2e-6)], old_columns)
    new = write(tmp_path / "n.csv", [cell_row(median=3e-6)], old_columns)
    rep, rc = compare_json(base, new, "--fail-on-regression", "1")
    assert rc == 0
    (c,) = rep["cells"]
    assert c["verdict"] == "undecided" and c["reason"] == "no samples"
    assert c["ratio"] == pytest.approx(1.5, rel=1e-15)
    assert c["p_value"] is None and c["ratio_ci_low"] is None


def test_only_in_one_file_differing_parameters_and_status(tmp_path):
    rng = np.random.default_rng(5)
    s = lambda: 1e-5 * rng.lognormal(0, 0.05, 10)  # noqa: E731
    base = [cell_row(s(), n=1), cell_row(s(), n=2), cell_row(s(), n=3)]
    new = [cell_row(s(), n=1, git_rev="def"), cell_row(n=2, status="error", git_rev="def"),
           cell_row(s(), n=4, git_rev="def")]
    rep, _ = compare_json(write(tmp_path / "b.csv", base), write(tmp_path / "n.csv", new))
    assert [c["n"] for c in rep["only_in_base"]] == [3]
    assert [c["n"] for c in rep["only_in_new"]] == [4]
    assert rep["differing_parameters"] == [{"column": "git_rev", "base": ["abc"], "new": ["def"]}]
    status = [c for c in rep["cells"] if c["n"] == 2][0]
    assert status["verdict"] == "undecided" and "new error" in status["reason"]


def test_min_effect_and_fail_on_regression(tmp_path):
    rng = np.random.default_rng(9)
    b = 1e-5 * rng.lognormal(0, 0.01, 30)
    c = 1e-5 * rng.lognormal(0.04, 0.01, 30)  # about 4% slower, clearly significant
    base = write(tmp_path / "b.csv", [cell_row(b)])
    new = write(tmp_path / "n.csv", [cell_row(c)])
    rep, rc = compare_json(base, new, "--fail-on-regression", "3")
    assert rep["cells"][0]["verdict"] == "slower" and rc == 1 and rep["regression"] is True
    rep, rc = compare_json(base, new, "--fail-on-regression", "10")
    assert rep["cells"][0]["verdict"] == "slower" and rc == 0 and rep["regression"] is False
    rep, rc = compare_json(base, new, "--min-effect", "10", "--fail-on-regression", "3")
    assert rep["cells"][0]["verdict"] == "no change" and rc == 0
    rep, rc = compare_json(new, base, "--fail-on-regression", "0")
    assert rep["cells"][0]["verdict"] == "faster" and rc == 0
    md = run("compare", base, new)
    assert md.returncode == 0 and "| cell | base | new | ratio | 95% CI | p | p_adj | verdict |" \
        in md.stdout and "**slower**" in md.stdout
    rows = list(csv.DictReader(run("compare", "--format", "csv", base, new).stdout.splitlines()))
    assert rows[0]["verdict"] == "slower" and float(rows[0]["ratio"]) > 1


def test_pair_within_one_file(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for n in (10, 20):
        rows.append(cell_row(1e-3 * rng.lognormal(0, 0.02, 12), strategy="materialise+diagonal",
                             n=n, workload="solve:sin"))
        rows.append(cell_row(1e-6 * rng.lognormal(0, 0.02, 12), strategy="probe+diagonal", n=n,
                             workload="solve:sin"))
    path = write(tmp_path / "one.csv", rows)
    rep, _ = compare_json("--pair", "materialise+diagonal:probe+diagonal", path)
    assert rep["pair"] == {"base": "materialise+diagonal", "new": "probe+diagonal"}
    assert [c["verdict"] for c in rep["cells"]] == ["faster", "faster"]
    assert all(c["strategy"] == "materialise+diagonal:probe+diagonal" for c in rep["cells"])
    # the Markdown keeps 3 significant digits of a ratio of ~0.001 (issue 23: it printed
    # '0.000 [0.000, 0.000]' for a ~4,700x speedup)
    md = run("compare", "--pair", "materialise+diagonal:probe+diagonal", path)
    assert md.returncode == 0, md.stderr
    rows = [l for l in md.stdout.splitlines() if "solve:sin" in l and l.startswith("|")]
    assert len(rows) == 2, md.stdout
    def three_digits(x):  # 0.000991, 0.00100: three significant digits
        return re.fullmatch(r"0\.0*[1-9]\d\d", x) is not None

    for line in rows:
        ratio, ci = [f.strip() for f in line.split("|")[4:6]]
        lo, hi = re.fullmatch(r"\[(\S+), (\S+)\]", ci).groups()
        assert all(map(three_digits, (ratio, lo, hi))), line
        assert float(lo) <= float(ratio) <= float(hi) and 5e-4 < float(ratio) < 2e-3


def write_runs(tmp_path, tag, runs):
    """One CSV per run: runs is a list of lists of rows."""
    return [write(tmp_path / f"{tag}-{i}.csv", rows) for i, rows in enumerate(runs)]


def test_runs_are_the_samples_with_several_files_per_side(tmp_path):
    """--base/--new with several files: a cell's samples are its per-run medians (the median of
    each file's samples_s), p is scipy's Mann-Whitney U on those, the ratio the ratio of their
    medians, and the interval resamples runs."""
    rng = np.random.default_rng(21)
    sizes = [(3, 3), (4, 4), (5, 5), (6, 9), (8, 8), (10, 10)]
    base_runs, new_runs, truth = [], [], []
    for j, (kb, kn) in enumerate(sizes):
        b = [1e-5 * rng.lognormal(0, 0.02) * rng.lognormal(0, 0.01, 12) for _ in range(kb)]
        c = [1e-5 * rng.lognormal(0.05 * (j % 2), 0.02) * rng.lognormal(0, 0.01, 12)
             for _ in range(kn)]
        truth.append(([np.median(x) for x in b], [np.median(x) for x in c]))
        base_runs.append(b)
        new_runs.append(c)
    # file i holds run i of every cell that has one (cells with fewer runs are absent from it)
    nb, nn = max(k for k, _ in sizes), max(k for _, k in sizes)
    bfiles = write_runs(tmp_path, "base", [
        [cell_row(base_runs[j][i], n=10 + j) for j in range(len(sizes)) if i < sizes[j][0]]
        for i in range(nb)])
    nfiles = write_runs(tmp_path, "new", [
        [cell_row(new_runs[j][i], n=10 + j) for j in range(len(sizes)) if i < sizes[j][1]]
        for i in range(nn)])
    rep, _ = compare_json("--base", *bfiles, "--new", *nfiles)
    assert rep["unit"] == "run" and rep["base"] == bfiles and rep["new"] == nfiles
    assert len(rep["cells"]) == len(sizes)
    for cell, (bm, cm), (kb, kn) in zip(rep["cells"], truth, sizes):
        assert cell["base_samples"] == kb and cell["new_samples"] == kn
        want = stats.mannwhitneyu(bm, cm, alternative="two-sided").pvalue
        assert cell["p_value"] == pytest.approx(want, rel=1e-9, abs=1e-300)
        assert cell["ratio"] == pytest.approx(np.median(cm) / np.median(bm), rel=1e-15)
        assert cell["base_median_s"] == pytest.approx(np.median(bm), rel=1e-15)
        if cell["ratio_ci_low"] is not None:
            # resampling runs: the interval's ends are ratios of medians of resampled runs
            assert min(cm) / max(bm) <= cell["ratio_ci_low"] <= cell["ratio"]
            assert cell["ratio"] <= cell["ratio_ci_high"] <= max(cm) / min(bm)
    small = rep["cells"][0]  # 3 runs per side: 2 / C(6, 3) = 0.1 > alpha
    assert small["verdict"] == "undecided" and small["reason"].startswith("too few runs: 3 and 3")
    md = run("compare", "--base", *bfiles, "--new", *nfiles)
    assert md.returncode == 0 and "Samples: the median of each run (file)" in md.stdout
    assert f"(6 runs) → `{nfiles[0]}`" not in md.stdout and "(10 runs)" in md.stdout
    one = run("compare", bfiles[0], nfiles[0])
    assert "Samples: the repetitions of one run per side" in one.stdout


def test_runs_a_cell_not_ok_in_one_run_and_old_csvs(tmp_path):
    """A cell that is not ok in any run of a side is undecided (status); CSVs without samples_s
    still give one median per run, so several runs of them are tested."""
    rng = np.random.default_rng(4)
    old_columns = [c for c in COLUMNS if c not in ("samples_s", "outliers", "median_ci_pct")]
    bm = 1e-5 * rng.lognormal(0, 0.01, 6)
    nm = 1.2e-5 * rng.lognormal(0, 0.01, 6)
    base = [write(tmp_path / f"b{i}.csv", [cell_row(median=bm[i], n=1), cell_row(median=1e-5, n=2)],
                  old_columns) for i in range(6)]
    new = [write(tmp_path / f"n{i}.csv",
                 [cell_row(median=nm[i], n=1),
                  cell_row(n=2, status="error" if i == 3 else "ok", median=1e-5)], old_columns)
           for i in range(6)]
    rep, _ = compare_json("--base", *base, "--new", *new)
    c1, c2 = rep["cells"]
    assert c1["verdict"] == "slower" and c1["base_samples"] == 6 and c1["new_samples"] == 6
    assert c1["p_value"] == pytest.approx(stats.mannwhitneyu(bm, nm).pvalue, rel=1e-12)
    assert c2["verdict"] == "undecided" and c2["reason"] == "status: base ok, new error"
    assert c2["new_status"] == "error"


def test_runs_hold_the_false_verdict_rate_where_repetitions_do_not(tmp_path):
    """Why several runs per side: a simulated A/A and a planted 5% slowdown over 40 cells, where
    every run (process) of a cell is off by a factor lognormal(0, 2%) common to its 15
    repetitions (which scatter by 0.5% around it), as between runs on the VMs we measured.
    Repetitions as samples see two runs that differ and call most A/A cells slower or faster;
    per-run medians of 8 runs per side do not. Bounds: the cells are independent and all null in
    the A/A comparison, where Benjamini-Hochberg makes any false verdict at all an event of
    probability <= alpha = 0.05; the target allows 2 of 40 (5%). A 5% shift against a 2%
    run-to-run scatter with 8 runs per side separates the sides completely in most cells
    (p = 2/C(16, 8) = 1.6e-4, and one run out of place still gives 0.01), so at least 36 of 40
    (90%) must be found slower."""
    rng = np.random.default_rng(13)

    def one_run(shift):
        return [cell_row(1e-5 * math.exp(shift) * rng.lognormal(0, 0.02)
                         * rng.lognormal(0, 0.005, 15), n=c + 1) for c in range(40)]

    runs = {side: write_runs(tmp_path, side, [one_run(0.05 if side == "planted" else 0)
                                              for _ in range(8)])
            for side in ("base", "same", "planted")}
    aa, _ = compare_json("--base", *runs["base"], "--new", *runs["same"])
    assert aa["counts"]["faster"] + aa["counts"]["slower"] <= 2, aa["counts"]
    planted, _ = compare_json("--base", *runs["base"], "--new", *runs["planted"])
    assert planted["counts"]["slower"] >= 36, planted["counts"]
    # the same data, one run per side: the repetitions cannot see the run-to-run scatter
    single, _ = compare_json(runs["base"][0], runs["same"][0])
    assert single["unit"] == "repetition"
    assert single["counts"]["faster"] + single["counts"]["slower"] > 10, single["counts"]


@pytest.mark.parametrize("args,needle", [
    (["a.csv"], "expected two files"),
    (["--base", "a.csv", "--new", "b.csv", "c.csv"], "--base has 1 file and --new 2"),
    (["--base", "a.csv", "b.csv", "a.csv", "--new", "c.csv", "d.csv"], "'a.csv' is given twice"),
    (["--base", "a.csv", "b.csv", "--new", "c.csv", "d.csv", "--alpha", "0.1", "e.csv"],
     "'e.csv' belongs to neither --base nor --new"),
    (["--base", "a.csv", "b.csv"], "--new has no file"),
    (["--pair", "probe:materialise", "--new", "a.csv"], "--base and --new do not apply"),
    (["--pair", "probe", "a.csv"], "invalid --pair 'probe'"),
    (["--alpha", "0", "a.csv", "b.csv"], "invalid --alpha '0'"),
    (["--format", "xml", "a.csv", "b.csv"], "invalid --format 'xml'"),
    (["--min-effect", "-1", "a.csv", "b.csv"], "invalid --min-effect '-1'"),
    (["--bogus", "a.csv", "b.csv"], "unknown argument '--bogus'"),
    (["missing.csv", "missing.csv"], "cannot read 'missing.csv'"),
])
def test_bad_usage_exits_2_with_one_line(args, needle):
    p = run("compare", *args)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and needle in p.stderr, p.stderr


def test_a_cell_twice_in_one_file_exits_2(tmp_path):
    r = cell_row([1e-5, 2e-5])
    r2 = dict(r, n="0100")  # the same cell: n is compared as written, 0100 is another cell
    path = write(tmp_path / "dup.csv", [r, cell_row([1e-5, 3e-5]), r2])
    other = write(tmp_path / "other.csv", [r])
    p = run("compare", path, other)
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
    assert "appears twice (lines 2 and 3)" in p.stderr
    ok = write(tmp_path / "ok.csv", [r, r2])
    rep, _ = compare_json(ok, write(tmp_path / "ok2.csv", [r, r2]))
    assert [c["n"] for c in rep["cells"]] == [100, 100]  # JSON numbers, no leading zero


def test_bad_samples_exit_2(tmp_path):
    r = cell_row([1e-5, 2e-5])
    r["samples_s"] = "1e-5;fast"
    bad = write(tmp_path / "bad.csv", [r])
    p = run("compare", write(tmp_path / "good.csv", [cell_row([1e-5, 2e-5])]), bad)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "samples_s" in p.stderr


def test_rows_carry_samples_that_agree_with_their_columns(tmp_path):
    """A real run: samples_s has reps entries whose median, min, max and mean are the row's
    (exactly, as printed: the columns are computed from the printed samples), outliers is the
    Tukey count and median_ci_pct the order-statistic interval: l the largest j with
    2 P(B <= j - 1) <= 0.05, B ~ Binomial(k, 1/2) (scipy.stats.binom)."""
    out = tmp_path / "run.csv"
    p = run("-w", "seqsin", "-s", "probe,materialise", "-j", "fwd", "-n", "8,16", "--reps", "9",
            "--min-time", "1e-4", "--call-cost-us", "0", "-q", "-o", out)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert len(rows) == 4
    for r in rows:
        x = np.array([float(v) for v in r["samples_s"].split(";")])
        k = len(x)
        assert k == int(r["reps"]) == 9
        assert all(f"{v:.9g}" == s for v, s in zip(x, r["samples_s"].split(";")))
        for col, v in [("time_median_s", np.median(x)), ("time_min_s", x.min()),
                       ("time_max_s", x.max())]:
            assert r[col] == f"{v:.9g}", (col, r[col], v)
        # the mean is summed in another order by numpy: one rounding per term, k u relative
        assert float(r["time_mean_s"]) == pytest.approx(x.mean(), rel=k * 2.3e-16 + 1e-8)
        q1, q3 = np.quantile(x, [0.25, 0.75])
        fences = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
        assert int(r["outliers"]) == int(np.sum((x < fences[0]) | (x > fences[1])))
        ls = [j for j in range(1, (k + 1) // 2 + 1) if 2 * stats.binom.cdf(j - 1, k, 0.5) <= 0.05]
        xs = np.sort(x)
        med = np.median(x)
        lo, hi = xs[max(ls) - 1], xs[k - max(ls)]
        want = 100 * max(med - lo, hi - med) / med
        assert float(r["median_ci_pct"]) == pytest.approx(want, rel=1e-8)  # printed %.9g


def test_precision_stops_when_reached_or_capped(tmp_path):
    out = tmp_path / "p.csv"
    # a target no timing can meet (0.001%) stops at the cap, flagged in the note
    p = run("-w", "seqsin", "-s", "probe", "-j", "fwd", "-n", "8", "--reps", "3", "--min-time",
            "1e-4", "--call-cost-us", "0", "--precision", "0.001", "--max-time-per-cell", "0.2",
            "-o", out)
    assert p.returncode == 0, p.stderr
    (r,) = list(csv.DictReader(open(out, encoding="utf-8")))
    assert "--precision 0.001% not reached" in r["note"]
    assert "--precision 0.001% not reached" in p.stderr
    assert int(r["reps"]) % 3 == 0 and int(r["reps"]) >= 6
    assert "--precision 0.001 --max-time-per-cell 0.2" in r["matrix"]
    # a target any timing meets (100%) stops as soon as the interval exists: 6 samples
    p = run("-w", "seqsin", "-s", "probe", "-j", "fwd", "-n", "8", "--reps", "3", "--min-time",
            "1e-4", "--call-cost-us", "0", "--precision", "100", "-q", "-o", out)
    assert p.returncode == 0, p.stderr
    (r,) = list(csv.DictReader(open(out, encoding="utf-8")))
    assert int(r["reps"]) % 3 == 0 and int(r["reps"]) >= 6
    assert "not reached" not in r["note"] and r["median_ci_pct"] != ""


def ab(*args):
    return subprocess.run(["sh", os.path.join(ROOT, "scripts", "ab.sh"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_ab_script_runs_interleaved_runs_and_compares(tmp_path):
    """scripts/ab.sh: RUNS runs per build into DIR, then compare --base/--new on them. The same
    binary on both sides is an A/A of the script's plumbing (its verdicts are the statistics
    tests' business)."""
    out = tmp_path / "ab"
    cells = ["-w", "seqsin", "-s", "probe", "-j", "fwd", "-n", "8,16", "--reps", "5",
             "--min-time", "1e-4", "--call-cost-us", "0", "-t", "1,2"]
    p = ab("-r", 4, "-o", out, "-c", "--format md --alpha 0.1", BIN, BIN, "--", *cells)
    assert p.returncode == 0, p.stderr
    for side in ("base", "new"):
        runs = sorted(out.glob(f"{side}-*.csv"))
        assert [r.name for r in runs] == [f"{side}-{k}.csv" for k in (1, 2, 3, 4)]
        for r in runs:
            rows = list(csv.DictReader(open(r, encoding="utf-8")))
            assert sorted((x["threads"], x["n"], x["status"]) for x in rows) == [
                ("1", "16", "ok"), ("1", "8", "ok"), ("2", "16", "ok"), ("2", "8", "ok")]
    assert p.stdout == (out / "compare.md").read_text(encoding="utf-8")
    assert "(4 runs) → " in p.stdout and "Samples: the median of each run" in p.stdout
    assert "α = 0.1" in p.stdout and "4 cells:" in p.stdout  # a -t 1,2 sweep in every run
    assert p.stderr.count("ab: round") == 4
    # the runs are kept: a second call into the same DIR is refused, nothing replaced
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    again = ab("-r", 4, "-o", out, BIN, BIN, "--", *cells)
    assert again.returncode == 2 and "base-1.csv' exists" in again.stderr
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before


@pytest.mark.parametrize("args,code,needle", [
    (["-r", "3", "{bin}", "{bin}", "--", "-n", "8"], 2, "invalid -r '3'"),
    (["-r", "x", "{bin}", "{bin}", "--", "-n", "8"], 2, "invalid -r 'x'"),
    (["{bin}", "--", "-n", "8"], 2, "expected -- before diagbench's arguments"),
    (["{bin}"], 2, "expected BASE_BIN and NEW_BIN"),
    (["{bin}", "/nonexistent/diagbench", "--", "-n", "8"], 2, "is not an executable file"),
    (["{bin}", "{bin}", "--", "-n", "8", "-o", "x.csv"], 2, "'-o' is not allowed in ARGS"),
    (["{bin}", "{bin}", "--", "-n", "8", "--json", "x.json"], 2, "'--json' is not allowed"),
    (["-r", "4", "{bin}", "{bin}", "--", "-w", "nosuch", "-n", "8"], 2,
     "unknown workload 'nosuch'"),
])
def test_ab_script_bad_usage(tmp_path, args, code, needle):
    p = ab("-o", tmp_path / "ab", *[a.replace("{bin}", BIN) for a in args])
    assert p.returncode == code and needle in p.stderr, p.stderr
    assert not list((tmp_path / "ab").glob("*.csv"))  # nothing half-done looks like a run


# ---------------------------------------------------------------------------------------------
# Other people's files (issue 24 items 6, 7 and 9): copies, samples no run writes, Markdown
# ---------------------------------------------------------------------------------------------

def one_run(tmp_path, name, seed=0, **kw):
    rng = np.random.default_rng(seed)
    return write(tmp_path / name, [cell_row(1e-3 * rng.lognormal(0, 0.02, 10), n=n, **kw)
                                   for n in (10, 20)])


def test_the_same_file_twice_is_refused_also_through_a_link(tmp_path):
    b = one_run(tmp_path, "b.csv")
    os.symlink(b, tmp_path / "link.csv")
    for other in (b, str(tmp_path / "link.csv")):
        p = run("compare", b, other)
        assert p.returncode == 2 and "are the same file" in p.stderr, p.stderr
        assert p.stdout == ""


def test_copies_of_one_run_are_refused(tmp_path):
    base = [one_run(tmp_path, f"b{i}.csv", seed=i) for i in range(3)]
    new = [one_run(tmp_path, f"n{i}.csv", seed=10 + i) for i in range(3)]
    # copies on one side: the same rows (and run_id) under five names
    copies = []
    for i in range(5):
        dst = tmp_path / f"copy{i}.csv"
        dst.write_bytes(open(base[0], "rb").read())
        copies.append(str(dst))
    p = run("compare", "--base", *copies, "--new", *new)
    assert p.returncode == 2 and "hold rows of the same run" in p.stderr, p.stderr
    # a copy across the sides (two-file form too)
    p = run("compare", "--base", *base, "--new", *new[:2], copies[1])
    assert p.returncode == 2 and "hold rows of the same run" in p.stderr, p.stderr
    p = run("compare", base[0], copies[0])
    assert p.returncode == 2 and "hold rows of the same run" in p.stderr, p.stderr
    # distinct runs compare as before
    assert run("compare", "--base", *base, "--new", *new).returncode == 0


@pytest.mark.parametrize("edit,needle", [
    # more samples than the row's reps
    (lambda r: dict(r, samples_s=";".join(["0.001"] * 100000), time_median_s="0.001"),
     "samples_s holds 100000 values, reps says '10'"),
    # values whose median overflows
    (lambda r: dict(r, samples_s=";".join(["1e308"] * 10), time_median_s="1e308"),
     "is not a number of seconds a run writes"),
    (lambda r: dict(r, samples_s=";".join(["0x1p-10"] * 10), time_median_s="0.0009765625"),
     "is not a ';'-separated list of seconds a run writes"),
    (lambda r: dict(r, time_median_s="0x1p-10"), "is not a number of seconds a run writes"),
    (lambda r: dict(r, time_median_s="inf"), "is not a number of seconds a run writes"),
    # a median that its samples contradict
    (lambda r: dict(r, time_median_s="0.5"), "is not the median"),
])
def test_samples_no_run_could_have_written_are_refused(tmp_path, edit, needle):
    rng = np.random.default_rng(5)
    base = write(tmp_path / "b.csv", [cell_row(1e-3 * rng.lognormal(0, 0.02, 10))])
    bad = write(tmp_path / "n.csv", [edit(cell_row(1e-3 * rng.lognormal(0, 0.02, 10)))])
    for args in ((base, bad), ("--fail-on-regression", "5", base, bad)):
        p = run("compare", *args)
        assert p.returncode == 2, (p.returncode, p.stdout[:300])
        assert needle in p.stderr and p.stderr.count("\n") == 1, p.stderr


def test_markdown_escapes_text_from_the_csv(tmp_path):
    """A backtick, '|' or raw HTML in a host or workload name must not open a code span, shift
    the table or reach the Markdown a user pastes into a PR as HTML."""
    rng = np.random.default_rng(9)
    evil = "w|x`<img src=x onerror=alert(1)><script>alert(2)</script>"
    rows_b = [cell_row(1e-3 * rng.lognormal(0, 0.02, 10), workload=evil)]
    rows_n = [cell_row(1e-3 * rng.lognormal(0, 0.02, 10), workload=evil)]
    rows_b[0]["host"], rows_n[0]["host"] = "host`a`<b>", "h2|x"
    p = run("compare", write(tmp_path / "b.csv", rows_b), write(tmp_path / "n.csv", rows_n))
    assert p.returncode == 0, p.stderr
    md = p.stdout
    assert "<img" not in md and "<script" not in md, md
    # '<b>' only inside the code span, where Markdown shows it as text
    assert "<b>" not in md.replace("``host`a`<b>``", ""), md
    header = [l for l in md.splitlines() if l.startswith("| cell |")][0]
    unescaped_pipes = lambda l: len(re.findall(r"(?<!\\)\|", l))
    rows = [l for l in md.splitlines() if l.startswith("| w")]
    assert rows and all(unescaped_pipes(l) == unescaped_pipes(header) for l in rows), md
    # the host's backticks stay inside one code span (a longer fence)
    assert "``host`a`<b>``" in md, md


def test_compare_is_linear_in_its_cells(tmp_path):
    """Issue 24 item 8: 60,000 cells per side did not finish in 300 s (cells were matched by
    linear search: quadratic). Rows that are not ok need no statistics, so this input measures
    the matching alone; at 60,000 cells a quadratic matcher needs minutes, a linear one about a
    second, and the generous timeout separates the two without asserting a time."""
    p = subprocess.run([BIN, "--schema"], capture_output=True, text=True, check=True)
    cols = [line.split("\t")[0] for line in p.stdout.splitlines()]
    for name, rid in (("a.csv", "run-a"), ("b.csv", "run-b")):
        with open(tmp_path / name, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            base = dict.fromkeys(cols, "")
            base.update(run_id=rid, workload="sin", operator="jacobian", jac="fwd",
                        strategy="probe", threads="1", proc_bind="false", places="unset",
                        status="error", note="x")
            for n in range(1, 60001):
                base["n"] = str(n)
                w.writerow([base[c] for c in cols])
    out = subprocess.run([BIN, "compare", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                          "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 60001 and lines[-1].startswith("sin,jacobian,fwd,probe,60000,")
