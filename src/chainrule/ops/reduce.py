"""Reductions over axes, with ``axis`` and ``keepdims`` as NumPy defines them.

Ties in max/min reductions share the gradient evenly among the tied entries (PyTorch's ``amax``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive
from chainrule.ops._api import as_array, ensure_tensor
from chainrule.ops.shape import broadcast_to_p, reshape_p

__all__ = ["sum"]


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Axis argument as a sorted tuple of non-negative ints (None means all axes)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def expand_to(g: Any, shape: tuple[int, ...], axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """Broadcast a reduction's cotangent back over the reduced axes (differentiable)."""
    if not keepdims:
        g = reshape_p(g, shape=keepdims_shape(shape, axis))
    return broadcast_to_p(g, shape=shape)


def _sum_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


sum_p = Primitive("sum", _sum_impl, nin=1, saves=(), uses_shapes=True)
sum_p.def_vjp(lambda g, ans, x, axis=None, keepdims=False: expand_to(g, x.shape, axis, keepdims))
sum_p.def_jvp(lambda t, ans, x, axis=None, keepdims=False: sum_p(t, axis=axis, keepdims=keepdims))


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum over ``axis`` (all axes when None).

    >>> import chainrule as cr
    >>> cr.sum(cr.tensor([[1., 2.], [3., 4.]]), axis=0)
    tensor([4., 6.], dtype=float64)
    """
    axes = normalize_axis(axis, np.ndim(as_array(x)), "sum")
    return ensure_tensor(sum_p(x, axis=axes, keepdims=bool(keepdims)))
