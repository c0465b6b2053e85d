"""The worker workload (issue 22) through diagbench with a worker built to fail
(tests/workers/fault_worker.py): verification before timing, every fault of the contract
(docs/PROTOCOL.md, "Version 2: external workers") as one line and an error row, bad command lines
as exit 2, and no worker process left behind."""
import csv
import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("DIAGBENCH", str(ROOT / "build" / "diagbench"))
FAULT = ROOT / "tests" / "workers" / "fault_worker.py"


def workers_alive(marker):
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def run(tmp_path, mode, *extra, sizes="20", strategies="probe", jac="fwd", timeout=120):
    """Run diagbench on the fault worker in MODE; returns (completed process, rows)."""
    marker = uuid.uuid4().hex
    out = tmp_path / f"{mode}-{marker[:8]}.csv"
    env = dict(os.environ, TMPDIR=str(tmp_path))
    cmd = [BIN, "-w", "worker", "--worker", f"{FAULT} {mode} {marker}", "-s", strategies,
           "-j", jac, "-n", sizes, "--reps", "2", "--min-time", "0.001", "-o", str(out),
           *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    assert not workers_alive(marker), f"a worker outlived the run ({mode})"
    rows = list(csv.DictReader(out.open())) if out.exists() else []
    return p, rows


def test_a_correct_worker_is_verified_and_timed(tmp_path):
    p, rows = run(tmp_path, "ok", strategies="materialise,probe,probe-checked", jac="fwd,bwd",
                  sizes="20,64")
    assert p.returncode == 0, p.stderr
    assert len(rows) == 12
    for r in rows:
        assert r["status"] == "ok", r["note"]
        assert float(r["max_abs_err"]) <= 1e-12
        assert r["worker"] == "fault-sin"
        assert r["worker_checks"] == "jvp-fd ok, dot ok, tag diagonal ok"
        assert r["reference"] == "worker"
        assert float(r["worker_compute_s"]) > 0
        assert r["worker_threads"] == "1"
        assert r["remote_transport"] == "unix" and r["remote_encoding"] == "binary"
        assert float(r["round_trip_s"]) > 0
        calls = int(r["primitive_calls"])
        n = int(r["n"])
        # sequential rule: materialise makes n single calls; probe one; probe-checked two
        assert calls == {"materialise": n, "probe": 1, "probe-checked": 2}[r["strategy"]]
    assert not list(tmp_path.glob("diagbench-worker-*.log")), "logs of good workers are removed"


def test_a_vectorised_rule_batches_over_the_wire(tmp_path):
    p, rows = run(tmp_path, "vec", strategies="materialise", sizes="64")
    assert p.returncode == 0, p.stderr
    (r,) = rows
    assert r["status"] == "ok" and float(r["max_abs_err"]) <= 1e-12
    assert 1 <= int(r["primitive_calls"]) < 64, "one request per block of columns"


def test_without_a_reference_the_diagonal_is_materialised_once(tmp_path):
    p, rows = run(tmp_path, "noref")
    assert p.returncode == 0, p.stderr
    (r,) = rows
    assert r["status"] == "ok" and r["reference"] == "materialised"
    assert float(r["max_abs_err"]) <= 1e-12


FAULTS = [
    ("exit", "exited with status 1 without answering a hello request"),
    ("proto3", "speaks protocol 3, not 2"),
    ("badhello", "its hello lacks 'batching'"),
    ("nocompute", "did not send compute_s in a result although its hello said compute_time=1"),
    ("nan", "answered nan at element 0 of column 0 of a jvp"),
    ("wrongsize", "answered 19 x 1 values to a jvp of 20 x 1"),
    ("slow", "did not answer within 500 ms (--remote-timeout-ms)"),
    ("wrongjvp", "failed verification: JVP off central differences"),
    ("wrongvjp", "failed verification: VJP not the JVP's transpose"),
    ("badref", "failed verification: reference diagonal off its JVP"),
]


@pytest.mark.parametrize("mode,cause", FAULTS, ids=[m for m, _ in FAULTS])
def test_every_fault_is_one_line_and_an_error_row(tmp_path, mode, cause):
    p, rows = run(tmp_path, mode, "--remote-timeout-ms", "500")
    assert p.returncode == 0, p.stderr  # a failed cell is a row, not a failed run
    (r,) = rows
    assert r["status"] == "error"
    note = r["note"]
    assert "worker 'fault_worker.py'" in note and cause in note, note
    assert "\n" not in note
    log = note.split("(its output: ")[1].rstrip(")")
    assert Path(log).parent == tmp_path and Path(log).exists(), "the worker's output is kept"
    if mode == "exit":
        assert "exiting at start" in Path(log).read_text()
    if mode in ("wrongjvp", "wrongvjp", "badref"):
        assert r["worker_checks"] == "failed"
    # the progress line says it once
    assert sum(cause in line for line in p.stderr.splitlines()) == 1, p.stderr


def test_a_lying_tag_is_refuted_and_never_trusted(tmp_path):
    p, rows = run(tmp_path, "lie", strategies="probe,probe-checked")
    assert p.returncode == 0, p.stderr
    assert "claims a diagonal Jacobian at n=20, refuted" in p.stderr
    for r in rows:
        assert r["status"] == "ok", r["note"]
        assert r["worker_checks"] == "jvp-fd ok, dot ok, tag diagonal refuted"
        # untagged: probe materialised, so the diagonal is right; n single calls
        assert float(r["max_abs_err"]) <= 1e-12
        assert int(r["primitive_calls"]) == 20


def test_a_size_the_worker_refuses_is_unsupported(tmp_path):
    p, rows = run(tmp_path, "bign", sizes="20,50")
    assert p.returncode == 0, p.stderr
    by_n = {r["n"]: r for r in rows}
    assert by_n["20"]["status"] == "ok"
    assert by_n["50"]["status"] == "unsupported"
    assert "accepts n from 1 to 30, not 50" in by_n["50"]["note"]


@pytest.mark.parametrize("args,message", [
    (["-w", "worker", "--worker", "no-such-worker-program"],
     "worker program 'no-such-worker-program' not found in PATH"),
    (["-w", "worker", "--worker", "{tmp}/plain.py"], "worker program '{tmp}/plain.py' is not executable"),
    (["-w", "worker", "--worker", "/"], "worker program '/' is not a regular file"),
    (["-w", "worker"], "-w worker needs --worker 'PROGRAM ARGS...'"),
    (["-w", "sin", "--worker", str(FAULT)], "is for the worker workload: add -w worker"),
    (["-w", "worker", "--worker", "'unterminated"], "an unterminated quote"),
    (["-w", "worker", "--worker", "  "], "no program named"),
    (["-w", "worker", "--worker", str(FAULT), "--worker-cpus", "3-1"], "invalid --worker-cpus '3-1'"),
    (["-w", "worker", "--worker", str(FAULT), "--worker-cpus", "1023"],
     "none of these CPUs is available"),
    (["-w", "worker", "--worker", str(FAULT), "--worker-threads", "0"],
     "invalid --worker-threads '0'"),
    (["-w", "sin", "--worker-threads", "2"], "--worker-threads places a worker"),
])
def test_a_bad_worker_command_line_exits_2_before_any_cell(tmp_path, args, message):
    plain = tmp_path / "plain.py"  # a worker script without its executable bits
    plain.write_text(FAULT.read_text())
    plain.chmod(0o644)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    message = message.replace("{tmp}", str(tmp_path))
    out = tmp_path / "x.csv"
    p = subprocess.run([BIN, *args, "-n", "10", "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], p.stderr
    assert sorted(f.name for f in tmp_path.iterdir()) == ["plain.py"], "nothing written"


def test_the_worker_is_pinned_and_its_threads_recorded(tmp_path):
    cpus = sorted(os.sched_getaffinity(0))
    p, rows = run(tmp_path, "ok", "--worker-cpus", str(cpus[-1]), "--worker-threads", "1")
    assert p.returncode == 0, p.stderr
    (r,) = rows
    assert r["worker_cpus"] == str(cpus[-1]) and r["worker_threads"] == "1"
    assert f"--worker-cpus {cpus[-1]}" in r["matrix"] and "--worker-threads 1" in r["matrix"]
