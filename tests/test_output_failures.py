"""Issue 24 item 10: output failures are not regressions. A report, --schema, --list, --help or
--env that cannot reach standard output (a full disk) gives one line and exit status 4, which CI
cannot mistake for compare's 1 (a regression)."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("DIAGBENCH", str(ROOT / "build" / "diagbench"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    for name in ("a", "b"):
        subprocess.run([BIN, "-w", "sin", "-s", "probe", "-j", "fwd", "-n", "10", "--reps", "2",
                        "--min-time", "0.001", "-q", "-o", str(d / f"{name}.csv")], check=True)
    return d


@pytest.mark.parametrize("args", [
    ["compare", "{a}", "{b}"],
    ["compare", "{a}", "{b}", "--format", "json"],
    ["compare", "--help"],
    ["--schema"],
    ["--list"],
    ["--help"],
    ["--env"],
])
def test_standard_output_on_a_full_disk_is_exit_4_and_one_line(runs, args):
    args = [a.format(a=runs / "a.csv", b=runs / "b.csv") for a in args]
    with open("/dev/full", "w") as full:
        p = subprocess.run([BIN, *args], stdout=full, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 4, p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines[-1].startswith("diagbench: cannot write to standard output"), p.stderr
    assert sum("standard output" in line for line in lines) == 1
