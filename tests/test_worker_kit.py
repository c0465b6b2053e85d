"""The worker kit (workloads/workers/dbworker.py) and the example workers against the C side
(issue 22): every example through diagbench at small n in both encodings (values, call counts per
batching rule, the reference column), the kit's decoder against frames that break the contract,
and the torch workers' test-only faults caught by the verification. Torch tests skip, saying why,
only where python3-torch is missing (make deps installs it)."""
import csv
import os
import socket
import struct
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("DIAGBENCH", str(ROOT / "build" / "diagbench"))
WORKERS = ROOT / "workloads" / "workers"
C_WORKER = Path(BIN).parent / "c_worker"
sys.path.insert(0, str(WORKERS))
import dbworker  # noqa: E402

try:
    import functorch  # noqa: F401
    import torch  # noqa: F401
    TORCH = None
except ImportError as e:
    TORCH = f"python3-torch with functorch is not installed ({e}); make deps installs it"
needs_torch = pytest.mark.skipif(TORCH is not None, reason=TORCH or "")


def run(tmp_path, worker, *extra, sizes="20,64", strategies="materialise,probe", jac="fwd,bwd",
        encoding="binary"):
    marker = uuid.uuid4().hex
    out = tmp_path / f"{marker}.csv"
    env = dict(os.environ, TMPDIR=str(tmp_path), DB_TEST_MARKER=marker)
    p = subprocess.run([BIN, "-w", "worker", "--worker", worker, "--remote-encoding", encoding,
                        "-s", strategies, "-j", jac, "-n", sizes, "--reps", "2",
                        "--min-time", "0.001", "-o", str(out), *extra],
                       capture_output=True, text=True, env=env, timeout=300)
    assert not processes_with_marker(marker), "a worker outlived the run"
    return p, (list(csv.DictReader(out.open())) if out.exists() else [])


def processes_with_marker(marker):
    """Processes whose environment holds this run's DB_TEST_MARKER: only this run's workers
    inherit it, so tests running side by side (pytest -n 2) never see each other's."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if f"DB_TEST_MARKER={marker}".encode() in environ.split(b"\0"):
            found.append(proc.name)
    return found


def expected_calls(batching, strategy, n, rows_per_call):
    if strategy == "probe":
        return 1
    return n if batching == "sequential" else rows_per_call


EXAMPLES = [
    # (command, name, batching); torch ones need torch
    (str(WORKERS / "numpy_sin_worker.py"), "numpy-sin", "sequential", False),
    (str(C_WORKER), "c-sin", "vectorised", False),
    (f"{WORKERS / 'torch_worker.py'} --fn sin", "torch-sin", "vectorised", True),
    (f"{WORKERS / 'torch_worker.py'} --fn sin --batching sequential", "torch-sin", "sequential",
     True),
    (f"{WORKERS / 'torch_worker.py'} --fn split", "torch-split", "vectorised", True),
    (f"{WORKERS / 'torch_worker.py'} --fn split --batching sequential", "torch-split",
     "sequential", True),
    (f"{WORKERS / 'torch_worker.py'} --fn slow", "torch-slow", "sequential", True),
]


# every example in the binary encoding; the JSON encoding with one numpy and one torch worker
# (each torch worker start imports PyTorch, about a second: the cells are few)
CASES = [(*e, "binary") for e in EXAMPLES] + [(*EXAMPLES[0], "json"), (*EXAMPLES[4], "json")]


@pytest.mark.parametrize("cmd,name,batching,torch_needed,encoding", CASES,
                         ids=[f"{c[1]}-{c[2]}-{c[4]}" for c in CASES])
def test_every_example_worker_through_diagbench(tmp_path, cmd, name, batching, torch_needed,
                                                encoding):
    if torch_needed and TORCH:
        pytest.skip(TORCH)
    p, rows = run(tmp_path, cmd, encoding=encoding, sizes="24")
    assert p.returncode == 0, p.stderr
    assert len(rows) == 4
    for r in rows:
        assert r["status"] == "ok", r["note"]
        assert r["worker"] == name and r["remote_encoding"] == encoding
        assert r["worker_checks"] == "jvp-fd ok, dot ok, tag diagonal ok"
        assert r["reference"] == "worker"
        assert float(r["max_abs_err"]) <= 1e-12
        assert float(r["worker_compute_s"]) >= 0
        n, calls = int(r["n"]), int(r["primitive_calls"])
        if r["strategy"] == "probe":
            assert calls == 1
        elif batching == "sequential":
            assert calls == n, "a sequential rule: one request per column"
        else:
            assert 1 <= calls < n, "a vectorised rule: one request per block of columns"


@needs_torch
def test_no_batching_rule_makes_materialise_unsupported(tmp_path):
    p, rows = run(tmp_path, f"{WORKERS / 'torch_worker.py'} --fn sin --batching none",
                  sizes="24", jac="fwd")
    assert p.returncode == 0, p.stderr
    for r in rows:
        if r["strategy"] == "materialise":
            assert r["status"] == "unsupported" and "no batching rule" in r["note"]
        else:
            assert r["status"] == "ok" and int(r["primitive_calls"]) == 1


@needs_torch
@pytest.mark.parametrize("flag,check", [
    ("--wrong-jvp", "JVP off central differences"),
    ("--wrong-vjp", "VJP not the JVP's transpose"),
])
def test_torch_worker_built_to_fail_is_caught(tmp_path, flag, check):
    p, rows = run(tmp_path, f"{WORKERS / 'torch_worker.py'} --fn sin {flag}", sizes="20",
                  strategies="probe", jac="fwd")
    (r,) = rows
    assert r["status"] == "error" and check in r["note"] and r["worker_checks"] == "failed"


@needs_torch
def test_torch_worker_lying_tag_is_refuted(tmp_path):
    p, rows = run(tmp_path, f"{WORKERS / 'torch_worker.py'} --fn sin --lie-tag", sizes="20",
                  strategies="probe", jac="fwd")
    (r,) = rows
    assert r["status"] == "ok" and r["worker_checks"].endswith("tag diagonal refuted")
    assert float(r["max_abs_err"]) <= 1e-12, "untagged: probe materialised, the diagonal is right"
    assert "refuted" in p.stderr


@needs_torch
def test_slow_has_no_vectorised_rule(tmp_path):
    p = subprocess.run([sys.executable, str(WORKERS / "torch_worker.py"), "--fn", "slow",
                        "--batching", "vectorised"], capture_output=True, text=True)
    assert p.returncode == 2 and "no vectorised rule" in p.stderr


# ---- the kit on its own: a client in this test speaks to it over a socket pair ------------------

def spawn(encoding, script):
    a, b = socket.socketpair()
    # diagbench passes fd 3; the kit takes whichever DIAGBENCH_WORKER_FD names
    env = dict(os.environ, DIAGBENCH_WORKER_FD=str(b.fileno()), DIAGBENCH_WORKER_ENCODING=encoding)
    proc = subprocess.Popen([sys.executable, "-c", script], pass_fds=(b.fileno(),), env=env,
                            stderr=subprocess.DEVNULL)
    b.close()
    return a, proc


KIT = f"""
import sys, numpy as np
sys.path.insert(0, {str(WORKERS)!r})
import dbworker
dbworker.main_guard(lambda: dbworker.serve(np.sin, name="kit-sin",
    jvp=lambda x, v: np.cos(x) * v, batching="none", tags="diagonal"))
"""


def frame(payload):
    return struct.pack("<I", len(payload)) + payload


def answer(sock):
    head = sock.recv(4, socket.MSG_WAITALL)
    (length,) = struct.unpack("<I", head)
    return sock.recv(length, socket.MSG_WAITALL)


def binary(op, n, k, body=b""):
    return struct.pack("<3sBIII", b"DB1", op, n, k, 0) + body


def test_the_kit_wants_a_hello_first(tmp_path):
    sock, proc = spawn("binary", KIT)
    x = np.ones(3)
    sock.sendall(frame(binary(1, 3, 0, x.tobytes())))
    reply = answer(sock)
    assert reply[3] == 5 and b"expected a hello of protocol 2 first" in reply
    assert proc.wait(timeout=30) == 1


@pytest.mark.parametrize("bad,why", [
    (binary(2, 3, 1, b"\0" * 8), "payload of"),      # a jvp one column short
    (binary(2, 3, 0, b"\0" * 24), "payload of"),     # a jvp without tangents
    (b"XX1" + binary(0, 0, 0)[3:], "does not start with DB1"),
    (binary(9, 0, 0), "does not start with DB1"),    # an unknown op
    (binary(2, 3, 2, b"\0" * 72), "no batching rule"),
])
def test_the_kit_answers_a_bad_request_with_an_error_and_serves_on(bad, why):
    sock, proc = spawn("binary", KIT)
    sock.sendall(frame(binary(6, 4, 2, b"n=3\n")))
    hello = answer(sock)
    assert hello[3] == 6 and b"name=kit-sin\n" in hello and b"batching=none\n" in hello
    sock.sendall(frame(bad))
    reply = answer(sock)
    assert reply[3] == 5 and why.encode() in reply, reply
    x = np.array([0.5, 1.0, 2.0])
    sock.sendall(frame(binary(1, 3, 0, x.tobytes())))  # still serving
    reply = answer(sock)
    assert reply[3] == 4
    got = np.frombuffer(reply[16:16 + 24], dtype="<f8")
    assert np.array_equal(got, np.sin(x)) and len(reply) == 16 + 32, "compute_s last"
    sock.close()
    assert proc.wait(timeout=30) == 0, "end of stream: exit 0"


def test_the_kit_speaks_json():
    sock, proc = spawn("json", KIT)
    sock.sendall(frame(b'{"op":"hello","protocol":2,"n":3}'))
    hello = dbworker.json.loads(answer(sock))
    assert hello["op"] == "hello" and hello["protocol"] == 2 and hello["name"] == "kit-sin"
    assert hello["vjp"] == 0 and hello["reference"] == 0 and hello["compute_time"] == 1
    sock.sendall(frame(b'{"op":"eval","n":1,"x":"AAAAAAAA4D8="}'))
    r = dbworker.json.loads(answer(sock))
    assert r["op"] == "result" and r["compute_s"] >= 0
    assert np.frombuffer(dbworker.base64.b64decode(r["v"]), "<f8")[0] == np.sin(0.5)
    sock.sendall(frame(b'{"op":"eval","n":1,"x":"AAAAAAAA4D8"}'))  # not canonical base64
    assert dbworker.json.loads(answer(sock))["op"] == "error"
    sock.close()
    assert proc.wait(timeout=30) == 0
