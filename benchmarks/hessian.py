"""hessian: the Hessian of f(x) = sum(sin(x) * x**2) + x^T A x, float64, n = 128.

The closed form diag(2 sin x + 4 x cos x - x^2 sin x) + A + A^T is the floor. PyTorch's
torch.func.hessian and autograd.functional.hessian (vectorised or row by row), JAX's hessian
(eager and jitted), HIPS autograd's and chainrule's hessian (forward-over-reverse, both sweeps
batched), plus chainrule's reverse-over-reverse and nested-tape forms. Reported in ms per Hessian,
with each row's time over the closed form and over PyTorch's fastest in the note.

Target (from the issue): chainrule's hessian at most PyTorch's fastest path; aim for jitted JAX.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from benchmarks import libraries
from benchmarks.timing import WorkloadResult, compare_arrays, run_candidate

__all__ = ["NAME", "TITLE", "N", "run", "closed_form", "problem"]

NAME = "hessian"
TITLE = "Hessian of sum(sin(x) x^2) + x^T A x, float64, n = 128"
N = 128
TORCH_ROWS = ("torch.func.hessian", "PyTorch autograd.functional (vectorize=True)",
              "PyTorch autograd.functional (vectorize=False)")  # fmt: skip


def problem(n: int = N) -> tuple[np.ndarray, np.ndarray]:
    """A and x, seeded.

    >>> a, x = problem(3)
    >>> a.shape, x.shape
    ((3, 3), (3,))
    """
    rng = np.random.default_rng(128)
    return rng.standard_normal((n, n)) / np.sqrt(n), rng.uniform(-2.0, 2.0, n)


def closed_form(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The Hessian by hand.

    >>> a, x = problem(2)
    >>> closed_form(a, x).shape
    (2, 2)
    """
    d = 2.0 * np.sin(x) + 4.0 * x * np.cos(x) - x * x * np.sin(x)
    return np.diag(d) + a + a.T


def _setups(a0: np.ndarray, x0: np.ndarray) -> dict[str, Callable[[], Callable[[], object]]]:
    def torch_base():
        torch = libraries.load_torch()
        a = torch.tensor(a0)
        return torch, (lambda x: torch.sum(torch.sin(x) * x**2) + x @ (a @ x)), torch.tensor(x0)

    def torch_func():
        torch, f, x = torch_base()
        h = torch.func.hessian(f)
        return lambda: h(x)

    def torch_functional(vectorize: bool):
        def setup():
            torch, f, x = torch_base()
            return lambda: torch.autograd.functional.hessian(f, x, vectorize=vectorize)

        return setup

    def jax_hessian(jit: bool):
        def setup():
            jax = libraries.load_jax()
            jnp = jax.numpy
            a = jnp.asarray(a0)
            h = jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x**2) + x @ (a @ x))
            x = jnp.asarray(x0)
            if jit:
                h = jax.jit(h)
                h(x).block_until_ready()
            return lambda: h(x).block_until_ready()

        return setup

    def hips():
        autograd = libraries.load_autograd()
        anp = autograd.numpy
        h = autograd.hessian(lambda x: anp.sum(anp.sin(x) * x**2) + anp.dot(x, anp.dot(a0, x)))
        x = x0.copy()
        return lambda: h(x)

    def chainrule_base():
        cr = libraries.load_chainrule()
        a = cr.tensor(a0)
        return cr, (lambda x: cr.sum(cr.sin(x) * x**2) + x @ (a @ x)), cr.tensor(x0)

    def cr_hessian():
        from chainrule.transforms import hessian

        _, f, x = chainrule_base()
        h = hessian(f)
        return lambda: h(x)

    def cr_rev_rev():
        from chainrule.transforms import jacrev

        _, f, x = chainrule_base()
        h = jacrev(jacrev(f))
        return lambda: h(x)

    def cr_tapes():
        from chainrule.tape import GradientTape, Variable

        cr, f, _ = chainrule_base()
        x = Variable(x0)

        def step():
            with GradientTape() as outer:
                with GradientTape() as inner:
                    y = f(x)
                g = inner.gradient(y, x)
            return outer.jacobian(g, x)

        return step

    # NumPy-based rows first: PyTorch's and XLA's thread pools keep spinning for a while after
    # they ran, which on a small machine slows whatever BLAS call comes next.
    return {
        "NumPy closed form": lambda: (lambda: closed_form(a0, x0)),
        "chainrule hessian": cr_hessian,
        "chainrule jacrev(jacrev)": cr_rev_rev,
        "chainrule nested tapes": cr_tapes,
        "HIPS autograd hessian": hips,
        "torch.func.hessian": torch_func,
        "PyTorch autograd.functional (vectorize=True)": torch_functional(True),
        "PyTorch autograd.functional (vectorize=False)": torch_functional(False),
        "JAX hessian (eager)": jax_hessian(False),
        "JAX jit(hessian)": jax_hessian(True),
    }


def _to_numpy(value: object) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach()  # type: ignore[union-attr]
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())  # type: ignore[union-attr]
    return np.asarray(value)


def run(quick: bool = False) -> WorkloadResult:
    """Time every library's Hessian and check chainrule's hessian against PyTorch's fastest."""
    a, x = problem()
    reference = closed_form(a, x)

    def check(fn: Callable[[], object]) -> None:
        compare_arrays("Hessian", _to_numpy(fn()), reference, rtol=1e-9, atol=1e-10)

    rows = [
        run_candidate(name, setup, check, quick=quick,
                      pending_on=(AttributeError, ImportError, NotImplementedError))  # fmt: skip
        for name, setup in _setups(a, x).items()
    ]
    by = {r.library: r for r in rows}
    floor = by["NumPy closed form"]
    torch_times = [(by[name].seconds, name) for name in TORCH_ROWS if by[name].seconds]
    fastest = min(torch_times) if torch_times else None
    for row in rows:
        if row.seconds is None:
            continue
        parts = []
        if floor.seconds:
            parts.append(f"{row.seconds / floor.seconds:.1f}x closed form")
        if fastest:
            parts.append(f"{row.seconds / fastest[0]:.2f}x PyTorch's fastest")
        row.note = "; ".join(parts + ([row.note] if row.note else []))
    result = WorkloadResult(
        name=NAME, title=TITLE, unit="ms", scale=1e3, rows=rows, ratio_to=[],
        target="chainrule hessian <= PyTorch's fastest Hessian (aim: jitted JAX)",
    )
    mine = by["chainrule hessian"]
    jit = by["JAX jit(hessian)"]
    if mine.seconds and fastest:
        ratio = mine.seconds / fastest[0]
        result.target_met = ratio <= 1.0
        aim = f", {mine.seconds / jit.seconds:.2f}x jitted JAX" if jit.seconds else ""
        result.target_line = f"chainrule hessian / {fastest[1]} = {ratio:.2f}x{aim}"
    else:
        result.target_line = "cannot check: chainrule or PyTorch rows missing"
    result.details.append("every row's Hessian is checked against the closed form (rtol 1e-9)")
    return result
