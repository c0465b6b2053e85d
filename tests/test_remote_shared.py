"""Issue 24 item 11: the remote workload's TCP worker on a shared machine. Another local user who
connects to the worker's port first is dropped: the connection must carry the instance's secret
(docs/PROTOCOL.md). The attacker here watches /proc/net/tcp for new listening ports on
127.0.0.1 and connects to each at once, sending junk and holding the connection open; before the
fix most cells failed this way."""
import csv
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("DIAGBENCH", str(ROOT / "build" / "diagbench"))


def listening_ports():
    ports = set()
    for table in ("/proc/net/tcp",):
        with open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                local, state = parts[1], parts[3]
                if state == "0A" and local.startswith("0100007F:"):  # LISTEN on 127.0.0.1
                    ports.add(int(local.split(":")[1], 16))
    return ports


def attacker(stop, seen):
    before = listening_ports()
    held = []
    while not stop.is_set():
        for port in listening_ports() - before:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=0.2)
                s.sendall(b"\x10\x00\x00\x00junk-junk-junk-j")
                held.append(s)
                seen.append(port)
            except OSError:
                pass
            before.add(port)
        time.sleep(0.0005)
    for s in held:
        s.close()


def test_a_stranger_who_connects_first_is_dropped(tmp_path):
    stop, seen = threading.Event(), []
    t = threading.Thread(target=attacker, args=(stop, seen), daemon=True)
    t.start()
    out = tmp_path / "tcp.csv"
    try:
        p = subprocess.run([BIN, "-w", "remote", "--remote-transport", "tcp", "-s", "probe",
                            "-j", "fwd,bwd", "-n", "20,40,60,80,100", "--reps", "2",
                            "--min-time", "0.001", "-q", "-o", str(out)],
                           capture_output=True, text=True, timeout=300)
    finally:
        stop.set()
        t.join()
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 10
    assert all(r["status"] == "ok" for r in rows), [r["note"] for r in rows]
    assert seen, "the attacker reached at least one worker first (else the test proves nothing)"


def run_remote(tmp_path, env_tmpdir, name):
    out = tmp_path / f"{name}.csv"
    env = dict(os.environ, TMPDIR=env_tmpdir)
    p = subprocess.run([BIN, "-w", "remote", "-s", "probe", "-j", "fwd", "-n", "20,40",
                        "--reps", "2", "--min-time", "0.001", "-q", "-o", str(out)],
                       capture_output=True, text=True, env=env, timeout=120)
    return p, list(csv.DictReader(out.open())) if out.exists() else []


def test_a_tmpdir_that_cannot_hold_a_socket_is_named_once_and_tmp_used(tmp_path):
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o500)
    cases = {"missing": str(tmp_path / "no-such-dir"), "long": str(tmp_path / ("x" * 120))}
    if os.geteuid() != 0:  # root writes anywhere
        cases["readonly"] = str(ro)
    for name, tmpdir in cases.items():
        p, rows = run_remote(tmp_path, tmpdir, name)
        assert p.returncode == 0, p.stderr
        assert [r["status"] for r in rows] == ["ok", "ok"], [r["note"] for r in rows]
        warnings = [line for line in p.stderr.splitlines() if "TMPDIR" in line]
        assert len(warnings) == 1 and tmpdir in warnings[0] and "using /tmp" in warnings[0], \
            p.stderr


def test_an_interrupted_run_leaves_no_socket_folder(tmp_path):
    import signal
    private = tmp_path / "tmp"
    private.mkdir()
    env = dict(os.environ, TMPDIR=str(private))
    for i in range(12):
        proc = subprocess.Popen([BIN, "-w", "remote", "-s", "probe,materialise", "-j", "fwd",
                                 "-n", "20:200:lin:10", "--reps", "2", "--min-time", "0.001",
                                 "-q", "-o", str(tmp_path / f"i{i}.csv")], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.05 + 0.03 * i)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert not list(private.glob("diagbench-remote-*")), list(private.iterdir())
