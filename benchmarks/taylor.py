"""taylor: the k-th derivative of sin(x) * exp(x) at a scalar by Taylor mode, k = 1..8.

chainrule's ``taylor`` pushes a truncated Taylor series through the function once (all
derivatives up to k in one pass, O(k²) work per op); PyTorch nests
``autograd.grad(create_graph=True)`` k times, whose graphs grow geometrically with k. Every value
is checked against 2^(k/2) e^x sin(x + k pi/4). Reported in ms per call.

Target (from the issue): chainrule's k = 8 time at most 0.05x PyTorch's nested k = 8, and its
growth per order (the geometric mean of t(k+1)/t(k)) at most 1.3x.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks import libraries
from benchmarks.higher_order import ORDERS, X, exact
from benchmarks.higher_order import _torch as torch_nested
from benchmarks.timing import CheckFailed, Row, WorkloadResult, run_candidate

__all__ = ["NAME", "TITLE", "TARGET_RATIO", "TARGET_GROWTH", "run", "chainrule_taylor", "torch_nested",
           "check_order", "growth"]  # fmt: skip

NAME = "taylor"
TITLE = "k-th derivative of sin(x) exp(x) at x = 0.5 by Taylor mode (k = 1..8) vs PyTorch nested"
TARGET_RATIO = 0.05
TARGET_GROWTH = 1.3


def chainrule_taylor(k: int) -> Callable[[], object]:
    """One call: the k-th derivative by ``cr.taylor`` (the form the shared harness times)."""
    cr = libraries.load_chainrule()
    x = cr.tensor(X)

    def f(x):  # type: ignore[no-untyped-def]
        return cr.sin(x) * cr.exp(x)

    return lambda: cr.taylor(f, x, k)[k]


def check_order(k: int) -> Callable[[Callable[[], object]], None]:
    """The check of a k-th derivative against the closed form."""
    import math

    import numpy as np

    want = exact(k)

    def check(fn: Callable[[], object]) -> None:
        value = fn()
        got = float(np.asarray(value.detach() if hasattr(value, "detach") else value))  # type: ignore[attr-defined]
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12):
            raise CheckFailed(f"derivative {k} is {got!r}, expected {want!r}")

    return check


def growth(times: dict[int, float]) -> float | None:
    """The geometric mean of t(k+1)/t(k) over ORDERS: (t(last)/t(first))^(1/(last-first))."""
    first, last = ORDERS[0], ORDERS[-1]
    if not (times.get(first) and times.get(last)):
        return None
    return (times[last] / times[first]) ** (1 / (last - first))


def run(quick: bool = False) -> WorkloadResult:
    """Time chainrule's taylor and PyTorch's nested grad at each order; check both targets."""
    rows: list[Row] = []
    times: dict[str, dict[int, float]] = {"chainrule taylor": {}, "PyTorch nested": {}}
    makers = {"chainrule taylor": chainrule_taylor, "PyTorch nested": torch_nested}
    for k in ORDERS:
        for name, make in makers.items():
            row = run_candidate(f"{name} k={k}", lambda make=make, k=k: make(k), check_order(k),
                                quick=quick, pending_on=(AttributeError, ImportError))  # fmt: skip
            rows.append(row)
            if row.seconds:
                times[name][k] = row.seconds
    mine, theirs = times["chainrule taylor"], times["PyTorch nested"]
    for row in rows:
        name, _, order = row.library.rpartition(" k=")
        if row.seconds and theirs.get(int(order)):
            ratio = f"{row.seconds / theirs[int(order)]:.3f}x PyTorch nested"
            row.note = f"{ratio}; {row.note}" if row.note else ratio
    result = WorkloadResult(
        name=NAME, title=TITLE, unit="ms", scale=1e3, rows=rows, ratio_to=[],
        target=f"chainrule taylor k=8 <= {TARGET_RATIO}x PyTorch nested k=8; growth <= {TARGET_GROWTH}x per order",
    )
    g_mine, g_theirs = growth(mine), growth(theirs)
    last = ORDERS[-1]
    if g_mine and mine.get(last) and theirs.get(last):
        ratio = mine[last] / theirs[last]
        result.target_met = ratio <= TARGET_RATIO and g_mine <= TARGET_GROWTH
        result.target_line = (
            f"k={last}: {ratio:.3f}x PyTorch nested; growth {g_mine:.2f}x per order"
            + (f" (PyTorch nested: {g_theirs:.2f}x)" if g_theirs else "")
        )
    else:
        result.target_line = "cannot check: chainrule or PyTorch rows missing"
    return result
