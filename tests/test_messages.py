"""Issue 24 item 14: messages that can be followed. A size that a range also gives is kept once
in either order; the resume advice pastes back into a shell whatever the file's name."""
import csv
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("DIAGBENCH", str(ROOT / "build" / "diagbench"))
SMALL = ["-w", "sin", "-s", "probe", "-j", "fwd", "--reps", "1", "--min-time", "1e-4", "-q"]


def sizes_run(tmp_path, sizes):
    out = tmp_path / f"n{abs(hash(sizes))}.csv"
    p = subprocess.run([BIN, *SMALL, "-n", sizes, "-o", str(out)], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    return sorted(int(r["n"]) for r in csv.DictReader(out.open()))


def test_a_size_a_range_also_gives_is_kept_once_in_either_order(tmp_path):
    a = sizes_run(tmp_path, "100:1000:lin:10,500")
    b = sizes_run(tmp_path, "500,100:1000:lin:10")
    assert a == b == [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def test_the_resume_advice_pastes_back_into_a_shell(tmp_path):
    folder = tmp_path / "a b'c"
    folder.mkdir()
    out = folder / "r $x.csv"
    (folder / "r $x.csv.partial").write_text("")
    p = subprocess.run([BIN, *SMALL, "-n", "10", "-o", str(out)], capture_output=True,
                       text=True)
    assert p.returncode == 2
    advice = p.stderr.split("adding --resume ", 1)[1].split(" to this command")[0]
    pasted = subprocess.run(["sh", "-c", f"printf %s {advice}"], capture_output=True,
                            text=True).stdout
    assert pasted == f"{out}.partial"
