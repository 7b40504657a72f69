"""mlp_floor: how far below the hand-written NumPy step any NumPy program of it can go here.

The issues' training-step targets compare chainrule with a hand-written NumPy step that calls the
same BLAS for the same eight matrix products. This measures, in one process and alternating, the
floors under such a target:

- ``products only``: the step's eight matrix products and nothing else (no bias, ReLU, softmax,
  reductions or update): what no NumPy program of the step can go below;
- ``tightest NumPy``: the whole step as the shortest straight-line NumPy program I could write:
  in-place bias and ReLU, the softmax cross-entropy and its gradient fused in one buffer, ReLU
  masks multiplied in place, bias gradients as matrix-vector products with a vector of ones,
  the learning rate folded into the gradient's scale, each weight updated in one pass;
- the project's careful hand-written step (:func:`benchmarks.mlp_step.numpy_step`);
- with ``--bench DIR`` (the shared harness, e.g. ``../shared/bench``), its ``numpy-manual`` step,
  which the issues' targets are measured against, and its chainrule ``step`` and ``jit_step``.

Every form is timed in the same process, round after round, so each ratio compares like with
like: on a small shared machine, whole processes land in faster or slower states (a second core
that is busy elsewhere, memory bandwidth), and ratios of fresh processes mix them. The targets
themselves are checked with the harness's ``perfbar.py``, which runs each library in its own
fresh process; this script says what limits them.

    python -m benchmarks.mlp_floor --bench ../shared/bench --rounds 9
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.mlp_step import BATCH, LR, initial_parameters, numpy_step

__all__ = ["products_only", "tightest_step", "main"]


def products_only(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """The step's eight matrix products, with the same shapes and layouts as the step's."""
    w1, _, w2, _, w3, _ = params

    def step() -> object:
        h1 = x @ w1
        h2 = h1 @ w2
        z = h2 @ w3
        d2 = z @ w3.T
        g3 = h2.T @ z
        d1 = d2 @ w2.T
        g2 = h1.T @ d2
        g1 = x.T @ d1
        return g1, g2, g3

    return step


def tightest_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable[[], object]:
    """The whole SGD step in as few NumPy passes as I could write it; returns the loss.

    ``params`` is replaced by the new parameters at each call (as a jitted step returns them).
    """
    batch, classes = x.shape[0], params[-1].shape[0]
    zeros1 = np.zeros((batch, params[0].shape[1]), np.float32)
    zeros2 = np.zeros((batch, params[2].shape[1]), np.float32)
    ones = np.ones(batch, np.float32)
    starts = np.arange(0, batch * classes, classes)
    scale = np.float32(LR / batch)

    def step() -> object:
        w1, b1, w2, b2, w3, b3 = params
        h1 = x @ w1
        h1 += b1
        np.maximum(h1, zeros1, out=h1)
        h2 = h1 @ w2
        h2 += b2
        np.maximum(h2, zeros2, out=h2)
        z = h2 @ w3
        z += b3
        z -= np.maximum.reduce(np.ascontiguousarray(z.T), 0)[:, None]
        d = np.exp(z)
        total = d.sum(axis=1, keepdims=True)
        at = starts + y
        loss = float(np.mean(np.log(total[:, 0]) - z.take(at)))
        d /= total
        d.ravel()[at] -= 1
        d *= scale  # (softmax - onehot) * lr / batch
        g_b3 = ones @ d
        d2 = d @ w3.T
        g_w3 = h2.T @ d
        d2 *= np.greater(h2, 0)
        g_b2 = ones @ d2
        d1 = d2 @ w2.T
        g_w2 = h1.T @ d2
        d1 *= np.greater(h1, 0)
        g_b1 = ones @ d1
        g_w1 = x.T @ d1
        params[:] = [np.subtract(w1, g_w1, out=g_w1), b1 - g_b1, np.subtract(w2, g_w2, out=g_w2),
                     b2 - g_b2, w3 - g_w3, b3 - g_b3]  # fmt: skip
        return loss

    return step


def _forms(bench: Path | None) -> dict[str, Callable[[], object]]:
    init, x, y = initial_parameters()
    forms: dict[str, Callable[[], object]] = {}
    if bench is not None:
        sys.path.insert(0, str(bench))
        import adapters  # the shared harness's adapters  # noqa: PLC0415
        import workloads  # noqa: PLC0415

        spec = workloads.cases("mlp_step")[0]
        forms["harness numpy-manual step"] = adapters.ADAPTERS[("mlp_step", "numpy-manual")](spec)["step"]
        theirs = adapters.ADAPTERS[("mlp_step", "chainrule")](spec)
        forms["harness chainrule step"] = theirs["step"]
        if "jit_step" in theirs:
            forms["harness chainrule jit_step"] = theirs["jit_step"]
        params0, x, y, _ = adapters._mlp_np(spec)  # (the harness's data: the same shapes)
        init = list(params0)
    own = [p.copy() for p in init]
    forms["project numpy_step"] = lambda: numpy_step(own, x, y)
    forms["tightest NumPy"] = tightest_step([p.copy() for p in init], x, y)
    forms["products only"] = products_only([p.copy() for p in init], x, y)
    return forms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, help="the shared harness's directory (../shared/bench)")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--calls", type=int, default=100, help="calls per form per round (default 100)")
    args = parser.parse_args(argv)
    forms = _forms(args.bench)
    for f in forms.values():  # warm-up (and the jitted step's trace)
        for _ in range(10):
            f()
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(args.rounds):
        for name, f in forms.items():
            t0 = time.perf_counter()
            for _ in range(args.calls):
                f()
            times[name].append((time.perf_counter() - t0) / args.calls)
    ref = "harness numpy-manual step" if args.bench is not None else "project numpy_step"
    ref_median = statistics.median(times[ref])
    print(f"batch {BATCH}, {args.rounds} alternating rounds of {args.calls} calls; ratios to {ref}")
    for name, ts in times.items():
        med = statistics.median(ts)
        # Each round's ratio to the reference's time in the same round, then their range.
        per_round = [t / r for t, r in zip(ts, times[ref])]
        print(f"  {name:28s} {med * 1e3:7.3f} ms   x{med / ref_median:5.3f}   "
              f"(rounds x{min(per_round):.3f}-x{max(per_round):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
