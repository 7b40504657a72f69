"""op_overhead: what one cheap op costs to record and differentiate.

A chain of 300 elementwise ops on a 16-element float64 array, cycling through
sin, *0.9, +0.1, tanh, y*y, neg, exp, cos; the work is forward + backward of the chain's sum.
The arrays are so small that the arithmetic is negligible: the time is the per-op bookkeeping
of each library (dispatch, graph recording, the backward sweep). Reported in microseconds per op.

Target (from the issue): chainrule's time per op <= PyTorch's in the same run; aim for 0.6x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks import jit_forms, libraries
from benchmarks.timing import CheckFailed, Row, WorkloadResult, compare_arrays, run_candidate

__all__ = ["NAME", "TITLE", "run", "CHAIN", "numpy_by_hand"]

NAME = "op_overhead"
TITLE = "300 elementwise ops on 16 float64 values, forward + backward of the sum"

N_OPS = 300
SIZE = 16
MUL_C = 0.9
ADD_C = 0.1
CYCLE = ("sin", "mul_c", "add_c", "tanh", "square", "neg", "exp", "cos")
CHAIN = tuple(CYCLE[i % len(CYCLE)] for i in range(N_OPS))

TARGET_RATIO = 1.0  # chainrule / PyTorch, must not exceed
AIM_RATIO = 0.6


def _input() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, SIZE)


def _chain_ops(sin, tanh, exp, cos, chain: tuple[str, ...] = CHAIN) -> list[Callable]:
    """The chain as a list of one-argument callables, the same shape for every library."""
    table = {
        "sin": sin,
        "mul_c": lambda y: y * MUL_C,
        "add_c": lambda y: y + ADD_C,
        "tanh": tanh,
        "square": lambda y: y * y,
        "neg": lambda y: -y,
        "exp": exp,
        "cos": cos,
    }
    return [table[name] for name in chain]


# Hand-written backprop: the forward keeps exactly what the backward needs (the input for
# sin/cos/square, the output for tanh/exp), the backward applies each local derivative.
_NP_FORWARD = {
    "sin": lambda y: (np.sin(y), y),
    "mul_c": lambda y: (y * MUL_C, None),
    "add_c": lambda y: (y + ADD_C, None),
    "tanh": lambda y: ((t := np.tanh(y)), t),
    "square": lambda y: (y * y, y),
    "neg": lambda y: (-y, None),
    "exp": lambda y: ((e := np.exp(y)), e),
    "cos": lambda y: (np.cos(y), y),
}
_NP_BACKWARD = {
    "sin": lambda g, x: g * np.cos(x),
    "mul_c": lambda g, _: g * MUL_C,
    "add_c": lambda g, _: g,
    "tanh": lambda g, t: g * (1.0 - t * t),
    "square": lambda g, x: g * (x + x),
    "neg": lambda g, _: -g,
    "exp": lambda g, e: g * e,
    "cos": lambda g, x: g * -np.sin(x),
}


def numpy_by_hand(x: np.ndarray) -> np.ndarray:
    """Gradient of sum(chain(x)) by hand-written backprop (the floor every library is held to).

    >>> g = numpy_by_hand(np.zeros(2))
    >>> g.shape
    (2,)
    """
    forward = [_NP_FORWARD[name] for name in CHAIN]
    backward = [_NP_BACKWARD[name] for name in reversed(CHAIN)]
    return _make_numpy_step(x, forward, backward)()


def _make_numpy_step(x, forward, backward) -> Callable[[], np.ndarray]:
    def step() -> np.ndarray:
        saved = []
        y = x
        for op in forward:
            y, keep = op(y)
            saved.append(keep)
        g = np.ones_like(y)
        for op, keep in zip(backward, reversed(saved)):
            g = op(g, keep)
        return g

    return step


def _setup_numpy(x0: np.ndarray) -> Callable[[], np.ndarray]:
    forward = [_NP_FORWARD[name] for name in CHAIN]
    backward = [_NP_BACKWARD[name] for name in reversed(CHAIN)]
    return _make_numpy_step(x0.copy(), forward, backward)


def _setup_torch(x0: np.ndarray) -> Callable[[], object]:
    torch = libraries.load_torch()
    ops = _chain_ops(torch.sin, torch.tanh, torch.exp, torch.cos)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)

    def step():
        x.grad = None
        y = x
        for op in ops:
            y = op(y)
        y.sum().backward()
        return x.grad

    return step


def _setup_autograd(x0: np.ndarray) -> Callable[[], object]:
    autograd = libraries.load_autograd()
    anp = autograd.numpy
    ops = _chain_ops(anp.sin, anp.tanh, anp.exp, anp.cos)

    def chain_sum(x):
        y = x
        for op in ops:
            y = op(y)
        return anp.sum(y)

    grad = autograd.grad(chain_sum)
    x = x0.copy()
    return lambda: grad(x)


def _jax_chain(jax):
    jnp = jax.numpy
    ops = _chain_ops(jnp.sin, jnp.tanh, jnp.exp, jnp.cos)

    def chain_sum(x):
        y = x
        for op in ops:
            y = op(y)
        return jnp.sum(y)

    return chain_sum


def _setup_jax_eager(x0: np.ndarray) -> Callable[[], object]:
    jax = libraries.load_jax()
    grad = jax.grad(_jax_chain(jax))
    x = jax.numpy.asarray(x0, dtype=jax.numpy.float64)
    return lambda: grad(x).block_until_ready()


def _setup_jax_jit(x0: np.ndarray) -> Callable[[], object]:
    jax = libraries.load_jax()
    grad = jax.jit(jax.grad(_jax_chain(jax)))
    x = jax.numpy.asarray(x0, dtype=jax.numpy.float64)
    grad(x).block_until_ready()  # compile outside the timing
    return lambda: grad(x).block_until_ready()


def _setup_chainrule(x0: np.ndarray) -> Callable[[], object]:
    cr = libraries.load_chainrule()
    ops = _chain_ops(cr.sin, cr.tanh, cr.exp, cr.cos)
    x = cr.tensor(x0.copy(), requires_grad=True)

    def step():
        x.grad = None
        y = x
        for op in ops:
            y = op(y)
        y.sum().backward()
        return x.grad

    return step


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # torch / chainrule tensors
        value = value.detach()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def run(quick: bool = False) -> WorkloadResult:
    """Run every library on the chain and compare their time per op."""
    x0 = _input()
    reference = numpy_by_hand(x0)
    scale = float(np.max(np.abs(reference)))
    if not np.all(np.isfinite(reference)) or scale == 0.0:
        raise CheckFailed(f"reference gradient is degenerate: {reference}")

    def check_with(rtol: float) -> Callable[[Callable[[], object]], None]:
        def check(fn: Callable[[], object]) -> None:
            # atol relative to the gradient's own size: the chain's gradient is small (~1e-3), so
            # np.allclose's default atol=1e-8 alone would hardly check anything.
            compare_arrays("gradient", _to_numpy(fn()), reference, rtol=rtol, atol=rtol * scale)

        return check

    exact = check_with(1e-9)
    # NumPy-based rows first, as in every workload (PyTorch's and XLA's pools spin after use).
    candidates = [
        ("NumPy (by hand)", lambda: _setup_numpy(x0), exact, (), "the floor"),
        ("chainrule", lambda: _setup_chainrule(x0), exact,
         (AttributeError, TypeError, NotImplementedError), ""),
        ("chainrule (jit)", lambda: jit_forms.op_overhead(x0), exact,
         (AttributeError, TypeError, NotImplementedError), "cr.jit(cr.grad(f)): traced once"),
        ("HIPS autograd", lambda: _setup_autograd(x0), exact, (), ""),
        ("PyTorch (eager)", lambda: _setup_torch(x0), exact, (), ""),
        ("JAX (grad, no jit)", lambda: _setup_jax_eager(x0), exact, (), ""),
        # XLA may fuse and reassociate: allow a little more rounding than op-by-op libraries.
        ("JAX (jit(grad))", lambda: _setup_jax_jit(x0), check_with(1e-7), (),
         "compiled, fused: not per-op dispatch"),
    ]
    rows: list[Row] = []
    for library, setup, check, pending_on, note in candidates:
        rows.append(run_candidate(library, setup, check, quick=quick, per_call_units=N_OPS,
                                  note=note, pending_on=pending_on))

    result = WorkloadResult(
        name=NAME, title=TITLE, unit="µs/op", scale=1e6, rows=rows,
        ratio_to=["NumPy (by hand)", "PyTorch (eager)"],
        target=f"chainrule <= {TARGET_RATIO:.2f}x PyTorch per op (aim {AIM_RATIO:.2f}x)",
    )
    mine, theirs = result.row("chainrule"), result.row("PyTorch (eager)")
    if mine and theirs and mine.seconds and theirs.seconds:
        ratio = mine.seconds / theirs.seconds
        result.target_met = ratio <= TARGET_RATIO
        aim = "aim reached" if ratio <= AIM_RATIO else f"aim {AIM_RATIO:.2f}x not reached"
        result.target_line = (
            f"chainrule / PyTorch = {ratio:.2f}x per op -> "
            f"{'MET' if result.target_met else 'NOT MET'} ({aim})"
        )
    else:
        result.target_line = "cannot check: chainrule or PyTorch row missing"
    result.details.append(
        f"chain: {N_OPS} ops cycling {', '.join(CYCLE)} (c={MUL_C}, {ADD_C}); "
        f"|grad| max {scale:.3g}; every row's gradient checked against NumPy (rtol 1e-9)"
    )
    return result
