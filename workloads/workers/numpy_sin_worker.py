#!/usr/bin/python3
"""sin served to diagbench with numpy, sequential batching rule (docs/workers.md):

    build/diagbench -w worker --worker workloads/workers/numpy_sin_worker.py -n 100,1000
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbworker  # noqa: E402

if __name__ == "__main__":
    dbworker.main_guard(lambda: dbworker.serve(
        np.sin, name="numpy-sin",
        jvp=lambda x, v: np.cos(x) * v, vjp=lambda x, w: np.cos(x) * w,
        batching="sequential", tags="diagonal", reference=np.cos))
