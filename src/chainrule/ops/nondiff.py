"""Operations without a derivative: comparisons, logical ops, argmax/argmin, floor division.

Their outputs never carry a gradient (they are integer or bool, or piecewise constant); a
gradient that has to pass through one of them is None, and ``viz.why_none`` says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import extension
from chainrule.core.primitive import Primitive
from chainrule.ops._api import binary_function, ensure_tensor, unary_function
from chainrule.ops.shape import reshape_p
from chainrule.transforms.batching_rules import shift_axis

__all__ = [
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
    "logical_and", "logical_or", "logical_not", "logical_xor", "isfinite", "isnan", "isinf",
    "argmax", "argmin", "floor_divide", "floor", "ceil", "round",
]  # fmt: skip
# The sorting permutations (the block at the end of this file).
__all__ += ["argsort", "argpartition"]


def _nondiff(name: str, impl: Any, nin: int, batching: Any = "elementwise") -> Primitive:
    return Primitive(name, impl, nin=nin, saves=(), differentiable=False, batching=batching)


equal_p = _nondiff("equal", np.equal, 2)
not_equal_p = _nondiff("not_equal", np.not_equal, 2)
less_p = _nondiff("less", np.less, 2)
less_equal_p = _nondiff("less_equal", np.less_equal, 2)
greater_p = _nondiff("greater", np.greater, 2)
greater_equal_p = _nondiff("greater_equal", np.greater_equal, 2)
logical_and_p = _nondiff("logical_and", np.logical_and, 2)
logical_or_p = _nondiff("logical_or", np.logical_or, 2)
logical_xor_p = _nondiff("logical_xor", np.logical_xor, 2)
logical_not_p = _nondiff("logical_not", np.logical_not, 1)
isfinite_p = _nondiff("isfinite", np.isfinite, 1)
isnan_p = _nondiff("isnan", np.isnan, 1)
isinf_p = _nondiff("isinf", np.isinf, 1)
floor_divide_p = _nondiff("floor_divide", np.floor_divide, 2)
floor_p = _nondiff("floor", np.floor, 1)
ceil_p = _nondiff("ceil", np.ceil, 1)
def _round_impl(x: Any, *, xp: Any = np) -> Any:
    # np.round is a Python function, not a ufunc: the standard's name is the same.
    return xp.round(x)


round_p = _nondiff("round", _round_impl, 1)


def _argmax_impl(x: np.ndarray, *, axis: int | None = None, keepdims: bool = False, xp: Any = np) -> np.ndarray:
    return xp.argmax(x, axis=axis, keepdims=keepdims)


def _argmin_impl(x: np.ndarray, *, axis: int | None = None, keepdims: bool = False, xp: Any = np) -> np.ndarray:
    return xp.argmin(x, axis=axis, keepdims=keepdims)


def _arg_reduction_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                         params: dict[str, Any]) -> Any:  # fmt: skip
    """vmap: the axis shifts past the batch axes; with axis=None each example is flattened."""
    x = vals[0]
    shp = x._data.shape
    ex = len(shp) - nb
    axis = params.get("axis")
    keepdims = params.get("keepdims", False)
    if axis is None:
        flat = reshape_p(x, shape=shp[:nb] + (-1,) if ex else shp[:nb] + (1,))
        out = prim(flat, axis=nb, keepdims=False)
        if keepdims:
            out = reshape_p(out, shape=shp[:nb] + (1,) * ex)
        return out
    return prim(x, axis=shift_axis(int(axis), ex, nb), keepdims=keepdims)


argmax_p = _nondiff("argmax", _argmax_impl, 1, batching=_arg_reduction_batch)
argmin_p = _nondiff("argmin", _argmin_impl, 1, batching=_arg_reduction_batch)

equal = binary_function(equal_p, "Elementwise x == y, as a bool tensor.\n\n>>> import chainrule as cr\n>>> cr.equal(cr.tensor([1., 2.]), 2.0)\ntensor([False,  True], dtype=bool)")
not_equal = binary_function(not_equal_p, "Elementwise x != y, as a bool tensor.")
less = binary_function(less_p, "Elementwise x < y, as a bool tensor.")
less_equal = binary_function(less_equal_p, "Elementwise x <= y, as a bool tensor.")
greater = binary_function(greater_p, "Elementwise x > y, as a bool tensor.")
greater_equal = binary_function(greater_equal_p, "Elementwise x >= y, as a bool tensor.")
logical_and = binary_function(logical_and_p, "Elementwise logical and.")
logical_or = binary_function(logical_or_p, "Elementwise logical or.")
logical_xor = binary_function(logical_xor_p, "Elementwise logical exclusive or.")
logical_not = unary_function(logical_not_p, "Elementwise logical not.")
isfinite = unary_function(isfinite_p, "Elementwise test for finite values.")
isnan = unary_function(isnan_p, "Elementwise test for NaN.")
isinf = unary_function(isinf_p, "Elementwise test for ±inf.")
floor_divide = binary_function(floor_divide_p, "Elementwise x // y (no gradient).")
floor = unary_function(floor_p, "Elementwise floor (no gradient).")
ceil = unary_function(ceil_p, "Elementwise ceiling (no gradient).")
round = unary_function(round_p, "Elementwise rounding to the nearest integer, halves to even (no gradient).")  # noqa: A001


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """Index of the largest value (over the flattened tensor when ``axis`` is None).

    >>> import chainrule as cr
    >>> cr.argmax(cr.tensor([1., 5., 2.]))
    tensor(1, dtype=int64)
    """
    return ensure_tensor(argmax_p(x, axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """Index of the smallest value (over the flattened tensor when ``axis`` is None).

    >>> import chainrule as cr
    >>> cr.argmin(cr.tensor([1., 5., 2.]))
    tensor(0, dtype=int64)
    """
    return ensure_tensor(argmin_p(x, axis=axis, keepdims=keepdims))


# ---------------------------------------------------------------- sorting permutations
# Always along one axis (the public functions flatten for axis=None), so the generic "axis" rule
# batches them.
def _argsort_impl(x: np.ndarray, *, axis: int, xp: Any = np) -> np.ndarray:
    # Stable, so that sort's gradient at ties is fixed by position (as NumPy's stable sort).
    if xp is np:
        return np.argsort(x, axis=axis, kind="stable")
    return xp.argsort(x, axis=axis, stable=True)


def _argpartition_impl(x: np.ndarray, *, kth: Any, axis: int, xp: Any = np) -> np.ndarray:
    if xp is np:
        return np.argpartition(x, kth, axis=axis)
    return extension(xp, "argpartition", op="argpartition")(x, kth, axis=axis)


argsort_p = _nondiff("argsort", _argsort_impl, 1, batching="axis")
argpartition_p = _nondiff("argpartition", _argpartition_impl, 1, batching="axis")


def sort_axis(x: Any, axis: Any, op: str) -> tuple[Any, int]:
    """``x`` flattened when ``axis`` is None, and the axis checked and made non-negative."""
    from chainrule.ops._api import as_array, as_operand

    x = as_operand(x)
    if axis is None:
        return reshape_p(x, shape=(-1,)), 0
    ndim = np.ndim(as_array(x))
    if ndim == 0:
        raise ValueError(f"{op}: needs an input of at least 1 dimension (or axis=None), got a 0-d tensor")
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int or None, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return x, int(axis) % ndim


def check_kth(kth: Any, size: int, op: str) -> Any:
    """``kth`` (an int or a sequence of ints) checked against the axis size, NumPy's form kept."""
    ks = np.asarray(kth)
    if ks.dtype.kind not in "iu" or ks.ndim > 1:
        raise TypeError(f"{op}: kth must be an int or a sequence of ints, got {kth!r}")
    if np.any((ks < -size) | (ks >= size)):
        raise ValueError(f"{op}: kth {kth!r} is out of range for an axis of size {size}")
    return int(ks) if ks.ndim == 0 else tuple(int(k) for k in ks)


def argsort(a: Any, axis: int | None = -1, kind: str | None = None, order: Any = None, *,
            stable: bool | None = None) -> Any:  # fmt: skip
    """Indices that sort ``a`` along ``axis`` (the flattened input when None), as
    ``numpy.argsort``; always a stable sort (ties keep their order), whatever ``kind``.

    >>> import chainrule as cr
    >>> cr.argsort(cr.tensor([3., 1., 2.]))
    tensor([1, 2, 0], dtype=int64)
    """
    if order is not None:
        raise ValueError("argsort: order= sorts structured arrays, which chainrule does not have")
    x, ax = sort_axis(a, axis, "argsort")
    return ensure_tensor(argsort_p(x, axis=ax))


def argpartition(a: Any, kth: Any, axis: int | None = -1, kind: str = "introselect", order: Any = None) -> Any:
    """Indices that partition ``a`` around its ``kth`` smallest entries along ``axis``, as
    ``numpy.argpartition``.

    >>> import chainrule as cr
    >>> int(cr.argpartition(cr.tensor([3., 1., 2.]), 0)[0])
    1
    """
    if order is not None:
        raise ValueError("argpartition: order= sorts structured arrays, which chainrule does not have")
    from chainrule.ops._api import as_array

    x, ax = sort_axis(a, axis, "argpartition")
    k = check_kth(kth, np.shape(as_array(x))[ax], "argpartition")
    return ensure_tensor(argpartition_p(x, kth=k, axis=ax))
