"""Fused elementwise kernels for the compiled replay (optional: they need Numba).

A jitted training step spends what is not matrix products in elementwise passes that NumPy
makes one call at a time: a bias add and then ReLU, a comparison for ReLU's mask and then the
product with it. Each pass reads and writes the whole activation, and right after a
multithreaded matrix product half of it sits in the other core's cache. Two passes fused into one
loop read it once, which NumPy cannot do; a loop compiled by Numba can.

Each kernel computes exactly what the two NumPy calls it replaces compute, value for value, in
the same floating-point operations (NaN, infinities and signed zeros included), so a replay
with them is bit-identical to one without. They are compiled (and cached on disk) the first time
a program needs them; without Numba, with ``CHAINRULE_JIT_KERNELS=0``, or for arrays they do not
take (not C-contiguous, not float32/float64), the NumPy calls run instead.

- ``bias_relu(x, b)``: ``np.maximum(x + b, 0)`` for ``b`` along the last axis (``x + b`` rounded
  as ``np.add`` rounds it; a NaN stays that NaN and ``-0.0`` becomes ``+0.0``, as
  ``np.maximum`` against zeros gives them).
- ``relu_grad(g, a)``: ``g * (a > 0)`` (a product with 1 or 0: ``NaN * 0`` is NaN and ``-g * 0``
  is ``-0.0``, as multiplying by NumPy's boolean mask gives).

One kernel is not bit-identical, by choice: ``cross_entropy_with_grad``, a classifier's hard-label
cross-entropy and its gradient in one pass over the logits, replaces about a dozen small NumPy
calls (about 30 µs in a training step, most of it per-call cost) with one. It sums in float64 and
rounds each stored value once, so its loss and gradient agree with NumPy's to float rounding (a
few ulp in float32), as a compiler's fusion does. Rows that are not finite are left to NumPy.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["available", "bias_relu", "relu_grad", "cross_entropy_with_grad"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_LARGEST = {d: float(np.finfo(d).max) for d in _FLOATS}
_lock = threading.Lock()
_numba: Any = None  # the module once imported; False when it cannot be
_compiled: dict[str, Any] = {}


def available() -> bool:
    """Whether the fused kernels can be used here (Numba importable, not switched off)."""
    global _numba
    if os.environ.get("CHAINRULE_JIT_KERNELS", "1") == "0":
        return False
    if _numba is None:
        try:
            import numba  # noqa: PLC0415  (an optional dependency, imported on first need)
        except Exception:  # (not installed, or built for another NumPy: the NumPy steps stay)
            _numba = False
        else:
            _numba = numba
    return _numba is not False


# Each loop in two forms: into a separate output, and in place. (One loop given the same array
# as input and output is not vectorised: the compiler must assume they overlap.)
def _bias_relu_to(x: Any, b: Any, out: Any) -> None:  # pragma: no cover (compiled by Numba)
    n, m = x.shape
    for i in range(n):
        for j in range(m):
            v = x[i, j] + b[j]
            # np.maximum(v, 0): v when v > 0 or v is NaN, else +0.0 (also for v = -0.0).
            out[i, j] = v if (v > 0 or v != v) else 0


def _bias_relu_in(x: Any, b: Any) -> None:  # pragma: no cover (compiled by Numba)
    n, m = x.shape
    for i in range(n):
        for j in range(m):
            v = x[i, j] + b[j]
            x[i, j] = v if (v > 0 or v != v) else 0


def _relu_grad_to(g: Any, a: Any, out: Any) -> None:  # pragma: no cover (compiled by Numba)
    for k in range(g.shape[0]):
        out[k] = g[k] * (a[k] > 0)


def _relu_grad_in(g: Any, a: Any) -> None:  # pragma: no cover (compiled by Numba)
    for k in range(g.shape[0]):
        g[k] = g[k] * (a[k] > 0)


def _xent_rows(v: Any, labels: Any, scale: float, grad: Any) -> tuple[float, int]:  # pragma: no cover
    # Per row: the shift by the row's maximum, exp, the row sum, the loss log(sum) - shifted
    # target, and the gradient (softmax - onehot) * scale; sums and the gradient in float64, each
    # stored value rounded once. Gives (sum of the row losses, -1), or (0, row) at the first row
    # whose label is outside [0, classes) (the caller raises the library's error).
    n, c = v.shape
    total = 0.0
    for i in range(n):
        k = labels[i]
        if k < 0 or k >= c:
            return 0.0, i
        m = v[i, 0]
        for j in range(1, c):
            if v[i, j] > m:
                m = v[i, j]
        s = 0.0
        for j in range(c):
            e = np.exp(v[i, j] - m)
            grad[i, j] = e
            s += e
        total += np.log(s) - (v[i, k] - m)
        inv = 1.0 / s
        for j in range(c):
            p = grad[i, j] * inv
            if j == k:
                p -= 1.0
            grad[i, j] = p * scale
    return total, -1


_LOOPS: dict[str, Callable[..., Any]] = {
    "bias_relu_to": _bias_relu_to, "bias_relu_in": _bias_relu_in,
    "relu_grad_to": _relu_grad_to, "relu_grad_in": _relu_grad_in,
    "xent_rows": _xent_rows,
}


def _loop(name: str) -> Any:
    """The compiled loop ``name``, or None where it cannot be built."""
    fn = _compiled.get(name, _compiled)
    if fn is not _compiled:
        return fn
    with _lock:
        if name not in _compiled:
            fn = None
            if available():
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # (a cache directory that is not writable)
                        # (Compiled for each dtype and layout at its first call, then cached.)
                        fn = _numba.njit(cache=True, nogil=True)(_LOOPS[name])
                except Exception:  # (a Numba that cannot compile here: keep the NumPy steps)
                    fn = None
            _compiled[name] = fn
        return _compiled[name]


def _takes(a: Any, b: Any) -> bool:
    """Whether the loops take ``a`` and ``b``: NumPy arrays of one float dtype, C-contiguous."""
    return (type(a) is np.ndarray and type(b) is np.ndarray and a.dtype == b.dtype and a.dtype in _FLOATS
            and a.flags.c_contiguous and b.flags.c_contiguous)  # fmt: skip


def bias_relu(x: Any, b: Any, out: Any = None) -> np.ndarray:
    """``np.maximum(x + b, 0)``, into ``out`` when given (which may be ``x``)."""
    if (not _takes(x, b) or x.ndim < 1 or b.ndim != 1 or x.shape[-1:] != b.shape or x.size == 0
            or (out is not None and not (_takes(x, out) and out.shape == x.shape))):  # fmt: skip
        return _bias_relu_numpy(x, b, out)
    m = b.shape[0]
    return _in_place_or_not("bias_relu", _bias_relu_numpy, x, b, out, lambda a: a.reshape(-1, m), b)


def _bias_relu_numpy(x: Any, b: Any, out: Any) -> np.ndarray:
    result = np.add(x, b, out=out)
    return np.maximum(result, 0, out=result)


def relu_grad(g: Any, a: Any, out: Any = None) -> np.ndarray:
    """``g * (a > 0)``, into ``out`` when given (which may be ``g``)."""
    if (not _takes(g, a) or g.shape != a.shape or g.size == 0
            or (out is not None and not (_takes(g, out) and out.shape == g.shape))):  # fmt: skip
        return _relu_grad_numpy(g, a, out)
    return _in_place_or_not("relu_grad", _relu_grad_numpy, g, a, out, lambda v: v.reshape(-1), a.reshape(-1))


def _relu_grad_numpy(g: Any, a: Any, out: Any) -> np.ndarray:
    return np.multiply(g, np.greater(a, 0), out=out)


def _in_place_or_not(name: str, numpy_steps: Callable[..., np.ndarray], x: np.ndarray, other: Any, out: Any,
                     view: Callable[[np.ndarray], np.ndarray], other_view: np.ndarray) -> np.ndarray:  # fmt: skip
    """Loop ``name`` on ``x`` and ``other``: its in-place form when ``out`` is ``x``, else its form
    with a separate output (``out``, or a new array); ``view`` gives the loop's shape of ``x`` and
    ``out``. The NumPy steps run where the loop cannot be built."""
    loop = _loop(f"{name}_in" if out is x else f"{name}_to")
    if loop is None:
        return numpy_steps(x, other, out)
    if out is x:
        loop(view(x), other_view)
        return x
    if out is None:
        out = np.empty_like(x)
    loop(view(x), other_view, view(out))
    return out


def cross_entropy_with_grad(v: Any, labels: Any, scale: Any, reduction: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(loss, (softmax(v) - onehot(labels)) * scale)`` for 2-D logits ``v`` with classes on axis
    1 and ``reduction`` "mean" or "sum", in one loop; None when the loop does not take the
    arguments or a value is not finite (the caller's NumPy path then computes, and raises)."""
    if (reduction not in ("mean", "sum") or type(v) is not np.ndarray or v.dtype not in _FLOATS
            or v.ndim != 2 or not v.flags.c_contiguous or v.shape[0] == 0 or v.shape[1] == 0
            or type(labels) is not np.ndarray or labels.dtype.kind not in "iu" or labels.shape != v.shape[:1]):  # fmt: skip
        return None
    loop = _loop("xent_rows")
    if loop is None:
        return None
    grad = np.empty_like(v)
    total, bad = loop(v, labels, float(scale), grad)
    # (A sum beyond the dtype's range is inf in NumPy's float32 sum: left to NumPy, like bad
    # labels and values that are not finite.)
    if bad >= 0 or not abs(total) <= _LARGEST[v.dtype]:
        return None
    loss = total / v.shape[0] if reduction == "mean" else total
    return np.asarray(loss, dtype=v.dtype), grad
