"""Runs never make the tree dirty: make bench, bench-pr and plot write only below the results
folder, which git ignores; the committed example run lives in examples/results/.

Cheap on purpose: the Makefile's recipes are read with `make -n` (nothing runs), and one tiny
diagbench run writes where `make bench` writes."""
import os
import shlex
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIAGBENCH = os.environ.get("DIAGBENCH", os.path.join(ROOT, "build", "diagbench"))


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def checkout():
    if git("rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        pytest.skip("not a git checkout")


def recipe_outputs(targets, results="results"):
    """The paths the recipes of targets write (--out FILE, cp ... DEST, plot.py -o DIR)."""
    r = subprocess.run(["make", "-n", "-C", ROOT, "--no-print-directory", *targets,
                        "RUN=pytest-run", f"RESULTS={results}"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    outs = []
    for line in r.stdout.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:  # a shell fragment of another recipe
            continue
        if words and words[0] == "cp":
            outs.append((words[-1], False))
        runs = words and (words[0].endswith("/diagbench") or
                          (len(words) > 1 and words[1].endswith("plot.py")))
        if runs:
            outs += [(words[i + 1], w == "-o") for i, w in enumerate(words[:-1])
                     if w in ("--out", "-o")]
    return outs


def ignored(path):
    return git("check-ignore", "-q", "--no-index", path).returncode == 0


def test_bench_outputs_are_ignored(checkout):
    outs = recipe_outputs(["bench", "bench-pr", "plot"])
    # bench: --out, cp, plot.py -o; bench-pr: --out, plot.py -o; plot: plot.py -o
    assert len(outs) >= 6, outs
    for path, is_dir in outs:
        probe = os.path.join(path, "x_headline.png") if is_dir else path
        assert not os.path.isabs(probe) or probe.startswith(ROOT), probe
        assert ignored(probe), f"make bench writes {probe}, which git does not ignore"


def test_examples_are_tracked_apart(checkout):
    tracked = git("ls-files", "examples/results", "results").stdout.split()
    assert any(f.endswith(".csv") for f in tracked if f.startswith("examples/results/"))
    kept = {"results/.gitignore", "results/README.md"}
    assert not [f for f in tracked if f.startswith("results/") and f not in kept], \
        "only results/README.md and results/.gitignore are tracked"
    assert not ignored("examples/results/latest.csv")


def test_results_folder_exists_in_every_clone(checkout):
    """results/ is where the design puts runs: a fresh clone has it (its README and .gitignore
    are tracked), and everything else written there is ignored."""
    tracked = git("ls-files", "results").stdout.split()
    assert "results/.gitignore" in tracked and "results/README.md" in tracked, tracked
    assert ignored("results/latest.csv") and ignored("results/sub/x.png")
    assert not ignored("results/README.md") and not ignored("results/.gitignore")


def test_a_run_into_results_leaves_git_status_unchanged(checkout):
    if not os.access(DIAGBENCH, os.X_OK):
        pytest.skip(f"{DIAGBENCH} not built")
    before = git("status", "--porcelain").stdout
    results = os.path.join(ROOT, "results")
    assert os.path.isdir(results), "results/ is tracked: every clone has it"
    out = os.path.join(results, f"pytest-clean-{os.getpid()}.csv")
    try:
        r = subprocess.run([DIAGBENCH, "-w", "sin", "-s", "probe", "-j", "fwd", "-n", "10",
                            "--reps", "1", "--min-time", "1e-6", "-q", "--out", out],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert os.path.getsize(out) > 0
        assert git("status", "--porcelain").stdout == before
    finally:
        for f in (out, out + ".partial"):
            if os.path.exists(f):
                os.remove(f)
