"""The compiled (``cr.jit``) forms of the workloads, kept apart from the eager ones.

``op_overhead``: ``cr.jit(cr.grad(f))`` of the chain's sum, traced once outside the timing, so a
step replays one program of NumPy calls (forward and backward together). ``mlp_step``: forward,
backward and the SGD update in one jitted ``step(params, x, y) -> (loss, new_params)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks import libraries

__all__ = ["op_overhead", "mlp_step"]


def op_overhead(x0: np.ndarray) -> Callable[[], object]:
    """A step of the op_overhead chain: the gradient of its sum, by the jitted program."""
    from benchmarks.op_overhead import _chain_ops

    cr = libraries.load_chainrule()
    ops = _chain_ops(cr.sin, cr.tanh, cr.exp, cr.cos)

    def chain_sum(x):
        y = x
        for op in ops:
            y = op(y)
        return cr.sum(y)

    grad = cr.jit(cr.grad(chain_sum))
    x = cr.tensor(x0.copy())
    grad(x)  # trace outside the timing
    return lambda: grad(x)


def mlp_step(init: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> object:
    """The MLP's SGD step as one jitted function of (params, x, y)."""
    from benchmarks.mlp_step import LR, Trainer

    cr = libraries.load_chainrule()
    relu, cross_entropy = cr.relu, cr.cross_entropy

    def loss_fn(params, xb, yb):
        w1, b1, w2, b2, w3, b3 = params
        h1 = relu(xb @ w1 + b1)
        h2 = relu(h1 @ w2 + b2)
        return cross_entropy(h2 @ w3 + b3, yb)

    value_and_grad = cr.value_and_grad(loss_fn)

    def sgd(params, xb, yb):
        loss, grads = value_and_grad(params, xb, yb)
        return loss, [p - LR * g for p, g in zip(params, grads)]

    step_fn = cr.jit(sgd)
    xc, yc = cr.tensor(x), cr.tensor(y)
    step_fn([cr.tensor(p.copy()) for p in init], xc, yc)  # trace outside the timing, on copies
    state = {"params": [cr.tensor(p.copy()) for p in init]}

    def step():
        loss, state["params"] = step_fn(state["params"], xc, yc)
        return loss

    return Trainer(step, lambda: [p.numpy().copy() for p in state["params"]], lambda v: float(v.item()))
