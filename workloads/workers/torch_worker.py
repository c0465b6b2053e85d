#!/usr/bin/python3
"""PyTorch primitives served to diagbench through functorch (docs/workers.md).

    build/diagbench -w worker --worker 'workloads/workers/torch_worker.py --fn sin' -n 100,1000

--fn sin      y = sin(x)
--fn split    the seed's split sin/cos: y = sin(x) on the first n/2 entries, cos(x) on the rest
              (diagbench's own `split` workload)
--fn slow     sin whose JVP and VJP go through a host callback (numpy, outside PyTorch), as a
              remote or FFI primitive does: a torch.autograd.Function, which functorch cannot
              vmap, so its batching rule is sequential
--batching    vectorised: functorch.vmap over the tangents of one functorch.jvp (this is how
              jacfwd builds a Jacobian) and over the cotangents of one functorch.vjp;
              sequential: a loop of single functorch.jvp / vjp calls; none: single calls only.
              Default: vectorised (sequential for slow, which has no vectorised rule).

The functions are written as a user writes them (`def f(x): return torch.sin(x)`) and handed to
the kit unchanged; the kit gets their derivatives from functorch. Computations are float64;
torch.set_num_threads follows --worker-threads (DIAGBENCH_WORKER_THREADS).

TEST ONLY, to build workers that verification must catch: --lie-tag (f gains 0.1 x_{i-1} while
still claiming a diagonal Jacobian), --wrong-jvp (JVP 0.1% off), --wrong-vjp (VJP twice the
transpose).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dbworker  # noqa: E402

try:
    import functorch
    import torch
except ImportError as e:  # one line for the worker's log, which diagbench names
    print(f"torch_worker: PyTorch with functorch is not installed ({e}): apt-get install "
          "python3-torch", file=sys.stderr)
    sys.exit(2)

torch.set_default_dtype(torch.float64)


# ---- the user's functions, as written for PyTorch -------------------------------------------

def f_sin(x):
    return torch.sin(x)


def f_split(x):
    h = x.shape[0] // 2
    return torch.cat([torch.sin(x[:h]), torch.cos(x[h:])])


class HostSin(torch.autograd.Function):
    """sin computed on the host by numpy: a callback out of PyTorch (forward and backward)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return torch.from_numpy(np.sin(x.detach().numpy()))

    @staticmethod
    def backward(ctx, w):
        (x,) = ctx.saved_tensors
        return torch.from_numpy(np.cos(x.detach().numpy()) * w.detach().numpy())

    @staticmethod
    def jvp(ctx, v):
        (x,) = ctx.saved_tensors
        return torch.from_numpy(np.cos(x.detach().numpy()) * v.detach().numpy())


def f_slow(x):
    return HostSin.apply(x)


def reference_sin(x):
    return np.cos(x)


def reference_split(x):
    h = x.shape[0] // 2
    return np.concatenate([np.cos(x[:h]), -np.sin(x[h:])])


# ---- derivatives from the framework ----------------------------------------------------------

def functorch_rules(f):
    def jvp(x, v):
        return functorch.jvp(f, (x,), (v,))[1]

    def vjp(x, w):
        return functorch.vjp(f, x)[1](w)[0]

    def jvp_batch(x, V):  # tangents as columns: vmap over dimension 1 (jacfwd's mechanism)
        return functorch.vmap(lambda v: jvp(x, v), in_dims=1, out_dims=1)(V)

    def vjp_batch(x, W):
        pullback = functorch.vjp(f, x)[1]
        return functorch.vmap(lambda w: pullback(w)[0], in_dims=1, out_dims=1)(W)

    return jvp, vjp, jvp_batch, vjp_batch


def forward_ad_rules(f):
    """PyTorch's own forward and reverse mode for f, one tangent at a time (the host callback
    cannot be vmapped)."""
    import torch.autograd.forward_ad as fwAD

    def jvp(x, v):
        with fwAD.dual_level():
            return fwAD.unpack_dual(f(fwAD.make_dual(x, v))).tangent

    def vjp(x, w):
        x = x.detach().requires_grad_(True)
        return torch.autograd.grad(f(x), x, w)[0]

    return jvp, vjp, None, None


def numpy_io(fn):
    """fn on torch tensors, called with numpy arrays."""
    def call(*args):
        out = fn(*(torch.from_numpy(np.ascontiguousarray(a)) for a in args))
        return out.detach().numpy()
    return call


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fn", choices=["sin", "split", "slow"], required=True)
    p.add_argument("--batching", choices=["vectorised", "sequential", "none"])
    p.add_argument("--lie-tag", action="store_true", help="TEST ONLY: f is not diagonal")
    p.add_argument("--wrong-jvp", action="store_true", help="TEST ONLY: JVP 0.1%% off")
    p.add_argument("--wrong-vjp", action="store_true", help="TEST ONLY: VJP twice the transpose")
    a = p.parse_args()
    batching = a.batching or ("sequential" if a.fn == "slow" else "vectorised")
    if a.fn == "slow" and batching == "vectorised":
        p.error("--fn slow has no vectorised rule (functorch cannot vmap its host callback): "
                "use --batching sequential or none")
    f = {"sin": f_sin, "split": f_split, "slow": f_slow}[a.fn]
    if a.lie_tag:
        g = f

        def f(x):
            return g(x) + 0.1 * torch.cat([torch.zeros(1), x[:-1]])
    jvp, vjp, jvp_batch, vjp_batch = (forward_ad_rules if a.fn == "slow" else functorch_rules)(f)
    if a.wrong_jvp:
        good_jvp, good_jvp_batch = jvp, jvp_batch
        jvp = lambda x, v: 1.001 * good_jvp(x, v)  # noqa: E731
        jvp_batch = good_jvp_batch and (lambda x, V: 1.001 * good_jvp_batch(x, V))
    if a.wrong_vjp:
        good_vjp, good_vjp_batch = vjp, vjp_batch
        vjp = lambda x, w: 2 * good_vjp(x, w)  # noqa: E731
        vjp_batch = good_vjp_batch and (lambda x, W: 2 * good_vjp_batch(x, W))

    def threads(n):
        torch.set_num_threads(n)
        return torch.get_num_threads()

    name = f"torch-{a.fn}"
    return dbworker.serve(
        numpy_io(f), name=name, jvp=numpy_io(jvp), vjp=numpy_io(vjp), batching=batching,
        jvp_batch=jvp_batch and numpy_io(jvp_batch), vjp_batch=vjp_batch and numpy_io(vjp_batch),
        tags="diagonal", reference=reference_split if a.fn == "split" else reference_sin,
        threads=threads)


if __name__ == "__main__":
    dbworker.main_guard(main)
