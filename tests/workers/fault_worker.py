#!/usr/bin/python3
"""A worker built to fail (tests/test_workers.py): sin served over the protocol of
docs/PROTOCOL.md ("Version 2: external workers"), binary encoding only, written without the kit
so that it can break the protocol on purpose. The first argument picks what it does:

  ok        sin, sequential rule, tags diagonal, exact reference, compute time
  vec       the same with a vectorised rule
  noref     no reference diagonal (diagbench materialises one through single JVPs)
  exit      exits with status 1 before the hello (after a line on stderr)
  proto3    answers the hello with protocol 3
  badhello  a hello without 'batching'
  nocompute declares compute_time=1 but sends results without compute_s
  nan       a NaN in every JVP result
  wrongsize a JVP result one element short
  slow      never answers a JVP
  wrongjvp  its JVP is 0.1% off
  wrongvjp  its VJP is twice the transpose
  lie       f_i = sin x_i + 0.1 x_{i-1} (JVP and VJP consistent) while claiming a diagonal
  badref    its reference diagonal is 1% off
  bign      accepts only n <= 30
"""
import os
import struct
import sys
import time

import numpy as np

MODE = sys.argv[1] if len(sys.argv) > 1 else "ok"
FD = int(os.environ.get("DIAGBENCH_WORKER_FD", "3"))


def read_exact(n):
    chunks, got = [], 0
    while got < n:
        c = os.read(FD, n - got)
        if not c:
            sys.exit(0)
        chunks.append(c)
        got += len(c)
    return b"".join(chunks)


def send(op, n, k, payload):
    body = b"DB1" + bytes([op]) + struct.pack("<III", n, k, 0) + payload
    os.write(FD, struct.pack("<I", len(body)) + body)


def main():
    if MODE == "exit":
        print("fault_worker: exiting at start, as asked", file=sys.stderr)
        sys.exit(1)
    batching = "vectorised" if MODE == "vec" else "sequential"
    while True:
        (length,) = struct.unpack("<I", read_exact(4))
        p = read_exact(length)
        op = p[3]
        n, k, _ = struct.unpack("<III", p[4:16])
        t0 = time.perf_counter()
        if op == 6:  # hello
            keys = {"name": "fault-sin", "batching": batching, "tags": "diagonal",
                    "n_min": 1, "n_max": 30 if MODE == "bign" else 0, "vjp": 1,
                    "reference": 0 if MODE == "noref" else 1, "compute_time": 1,
                    "threads": 1}
            if MODE == "badhello":
                del keys["batching"]
            text = "".join(f"{a}={b}\n" for a, b in keys.items()).encode()
            send(6, len(text), 3 if MODE == "proto3" else 2, text)
            continue
        if op == 0:  # ping
            send(4, 0, 0, b"")
            continue
        x = np.frombuffer(p[16:16 + 8 * n], dtype="<f8")
        d = np.cos(x)
        if op == 1:  # eval
            out, kk = np.sin(x), 1
            if MODE == "lie":
                out = out.copy()
                out[1:] += 0.1 * x[:-1]
        elif op == 7:  # reference
            out, kk = d * (1.01 if MODE == "badref" else 1.0), 1
        else:  # jvp (2) or vjp (3): k columns of n
            if MODE == "slow" and op == 2:
                time.sleep(3600)
            V = np.frombuffer(p[16 + 8 * n:16 + 8 * n * (k + 1)], dtype="<f8").reshape(k, n)
            W = d * V
            if MODE == "lie":
                if op == 2:
                    W[:, 1:] += 0.1 * V[:, :-1]
                else:
                    W[:, :-1] += 0.1 * V[:, 1:]
            if MODE == "wrongjvp" and op == 2:
                W = W * 1.001
            if MODE == "wrongvjp" and op == 3:
                W = W * 2
            if MODE == "nan" and op == 2:
                W[0, 0] = np.nan
            out, kk = W.ravel(), k
        data = np.ascontiguousarray(out, dtype="<f8").tobytes()
        if MODE == "wrongsize" and op == 2:
            data = data[:-8]
            n = n - 1
        extra = b"" if MODE == "nocompute" else struct.pack("<d", time.perf_counter() - t0)
        send(4, n, kk, data + extra)


main()
