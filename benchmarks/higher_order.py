"""higher_order: the k-th derivative of sin(x) * exp(x) at a scalar, k = 1..8.

Each derivative differentiates the graph of the previous one, so the work grows geometrically
with k. PyTorch nests ``autograd.grad(create_graph=True)``; chainrule nests ``grad``; HIPS
autograd nests ``grad`` too, and JAX nests ``grad`` (eager, and jitted as a compiled reference).
Every value is checked against 2^(k/2) e^x sin(x + k pi/4). Reported in ms per derivative.

Target (from the issue): chainrule's growth per order (the geometric mean of t(k+1)/t(k)) and its
k = 8 time at most PyTorch's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from benchmarks import libraries
from benchmarks.timing import CheckFailed, Row, WorkloadResult, run_candidate

__all__ = ["NAME", "TITLE", "ORDERS", "X", "run", "exact", "chainrule_create_graph"]

NAME = "higher_order"
TITLE = "k-th derivative of sin(x) exp(x) at x = 0.5, k = 1..8, nested reverse mode"
ORDERS = tuple(range(1, 9))
X = 0.5


def exact(k: int, x: float = X) -> float:
    """The k-th derivative in closed form.

    >>> round(exact(1, 0.0), 12)
    1.0
    """
    return 2 ** (k / 2) * math.exp(x) * math.sin(x + k * math.pi / 4)


def _torch(k: int) -> Callable[[], object]:
    torch = libraries.load_torch()

    def step():
        x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        y = torch.sin(x) * torch.exp(x)
        for _ in range(k):
            (y,) = torch.autograd.grad(y, x, create_graph=True)
        return y

    return step


def _chainrule(k: int) -> Callable[[], object]:
    cr = libraries.load_chainrule()
    from chainrule.transforms import grad

    f = lambda x: cr.sin(x) * cr.exp(x)  # noqa: E731
    for _ in range(k):
        f = grad(f)
    return lambda: f(X)


def chainrule_create_graph(k: int) -> Callable[[], object]:
    """chainrule nesting ``autograd.grad(create_graph=True)``, as PyTorch does (the issue's form)."""
    cr = libraries.load_chainrule()

    def step():
        x = cr.tensor(X, requires_grad=True)
        y = cr.sin(x) * cr.exp(x)
        for _ in range(k):
            (y,) = cr.autograd.grad(y, [x], create_graph=True)
        return y

    return step


def _hips(k: int) -> Callable[[], object]:
    autograd = libraries.load_autograd()
    anp = autograd.numpy
    f = lambda x: anp.sin(x) * anp.exp(x)  # noqa: E731
    for _ in range(k):
        f = autograd.grad(f)
    return lambda: f(X)


def _jax(k: int, jit: bool) -> Callable[[], object]:
    jax = libraries.load_jax()
    jnp = jax.numpy
    f = lambda x: jnp.sin(x) * jnp.exp(x)  # noqa: E731
    for _ in range(k):
        f = jax.grad(f)
    x = jnp.asarray(X, dtype=jnp.float64)
    if jit:
        f = jax.jit(f)
        f(x).block_until_ready()
    return lambda: f(x).block_until_ready()


LIBRARIES: dict[str, Callable[[int], Callable[[], object]]] = {
    "PyTorch": _torch,
    "chainrule": _chainrule,
    "chainrule create_graph": chainrule_create_graph,
    "HIPS autograd": _hips,
    "JAX (eager)": lambda k: _jax(k, False),
    "JAX (jit)": lambda k: _jax(k, True),
}


def _growth(times: dict[int, float]) -> float | None:
    if not all(times.get(k) for k in (ORDERS[0], ORDERS[-1])):
        return None
    return (times[ORDERS[-1]] / times[ORDERS[0]]) ** (1 / (ORDERS[-1] - ORDERS[0]))


def run(quick: bool = False) -> WorkloadResult:
    """Time each library at each order, then compare growth per order and the k = 8 time."""
    rows: list[Row] = []
    times: dict[str, dict[int, float]] = {name: {} for name in LIBRARIES}
    for k in ORDERS:
        want = exact(k)

        def check(fn: Callable[[], object], want: float = want, k: int = k) -> None:
            value = fn()
            got = float(np.asarray(value.detach() if hasattr(value, "detach") else value))  # type: ignore[attr-defined]
            if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
                raise CheckFailed(f"derivative {k} is {got!r}, expected {want!r}")

        for name, make in LIBRARIES.items():
            row = run_candidate(f"{name} k={k}", lambda make=make, k=k: make(k), check,
                                quick=quick, pending_on=(AttributeError, ImportError))  # fmt: skip
            rows.append(row)
            if row.seconds:
                times[name][k] = row.seconds
    torch_times, mine = times["PyTorch"], times["chainrule"]
    for row in rows:
        name, _, order = row.library.rpartition(" k=")
        k = int(order)
        if row.seconds and torch_times.get(k):
            ratio = f"{row.seconds / torch_times[k]:.2f}x PyTorch"
            row.note = f"{ratio}; {row.note}" if row.note else ratio
    result = WorkloadResult(
        name=NAME, title=TITLE, unit="ms", scale=1e3, rows=rows, ratio_to=[],
        target="chainrule's growth per order and k = 8 time <= PyTorch's",
    )
    growth = {name: _growth(t) for name, t in times.items()}
    result.details.append(
        "growth per order (t(8)/t(1))^(1/7): "
        + ", ".join(f"{name} {g:.2f}x" for name, g in growth.items() if g is not None)
    )
    last = ORDERS[-1]
    if growth["chainrule"] and growth["PyTorch"] and mine.get(last) and torch_times.get(last):
        ok_growth = growth["chainrule"] <= growth["PyTorch"]
        ok_last = mine[last] <= torch_times[last]
        result.target_met = ok_growth and ok_last
        result.target_line = (
            f"growth {growth['chainrule']:.2f}x vs PyTorch {growth['PyTorch']:.2f}x per order; "
            f"k={last}: {1e3 * mine[last]:.2f} ms vs {1e3 * torch_times[last]:.2f} ms "
            f"({mine[last] / torch_times[last]:.2f}x)"
        )
    else:
        result.target_line = "cannot check: chainrule or PyTorch rows missing"
    return result
