"""Reductions over axes, with ``axis`` and ``keepdims`` as NumPy defines them, and scans.

Ties in max/min reductions share the gradient evenly among the tied entries (PyTorch's ``amax``);
where a group holds NaNs, the result is NaN and the NaN entries share its gradient.
``prod`` and ``cumprod`` differentiate correctly at zeros (products of the other entries, never
``ans / x``); ``norm``'s gradient at the zero vector is 0 (PyTorch's convention).
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, extension, namespace_of
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive
from chainrule.core.stack import tracked
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_array, ensure_tensor
from chainrule.ops.binary import where_p
from chainrule.ops.nondiff import isfinite_p
from chainrule.ops.shape import broadcast_to_p, flip_p, reshape_p, transpose_p
from chainrule.ops.unary import abs_p, exp_p, sqrt_p

__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "logsumexp", "norm",
    "cumsum", "cumprod",
]  # fmt: skip
# NumPy's finite differences (the block at the end of this file).
__all__ += ["diff", "gradient"]


def normalize_axis(axis: Any, ndim: int, op: str) -> tuple[int, ...] | None:
    """Axis argument as a sorted tuple of non-negative ints (None means all axes)."""
    if axis is None:
        return None
    try:
        if isinstance(axis, (tuple, list)):
            axes = tuple(operator.index(a) for a in axis)
        else:
            axes = (operator.index(axis),)
    except TypeError:
        raise TypeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}") from None
    out = []
    for a in axes:
        a = int(a)
        if not -builtins.max(ndim, 1) <= a < builtins.max(ndim, 1):
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
    if not keepdims and not (axis is None or len(set(axis)) == len(shape)):
        # (A reduction over every axis leaves a scalar, which broadcasts as it is: no reshape.)
        g = reshape_p(g, shape=keepdims_shape(shape, axis))
    return broadcast_to_p(g, shape=shape)


def _sum_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    if xp is np and type(x) is np.ndarray:
        # (The reduction np.sum calls on a NumPy array, without its Python wrapper.)
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return xp.sum(x, axis=axis, keepdims=keepdims)


# vmap: every reduction and scan here works along its `axis` param (batching="axis").
sum_p = Primitive("sum", _sum_impl, nin=1, saves=(), uses_shapes=True, batching="axis")
sum_p.def_vjp(lambda g, ans, x, axis=None, keepdims=False: expand_to(g, x.shape, axis, keepdims)).def_linear()


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Sum over ``axis`` (all axes when None).

    >>> import chainrule as cr
    >>> cr.sum(cr.tensor([[1., 2.], [3., 4.]]), axis=0)
    tensor([4., 6.], dtype=float64)
    """
    axes = normalize_axis(axis, np.ndim(as_array(x)), "sum")
    return ensure_tensor(sum_p(x, axis=axes, keepdims=bool(keepdims)))


# ---------------------------------------------------------------- helpers for the rules
def _data(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x._data
    return x if hasattr(x, "shape") and hasattr(x, "dtype") else np.asarray(x)


def _count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many entries each output of a reduction over ``axis`` combines."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axis)


def _reduce_back(t: Any, weights: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """The JVP of a reduction whose VJP is ``expand(g) * weights``: ``sum(t * weights)``."""
    return sum_p(t * weights, axis=axis, keepdims=keepdims)


# ---------------------------------------------------------------- mean
def _mean_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    if xp is not np and dtype_kind(x.dtype) not in "fc":
        # The standard's mean takes floating arrays only; NumPy averages integers in float64.
        x = xp.astype(x, xp.float64)
    return xp.mean(x, axis=axis, keepdims=keepdims)


mean_p = Primitive("mean", _mean_impl, nin=1, saves=(), uses_shapes=True, batching="axis")
mean_p.def_vjp(
    lambda g, ans, x, axis=None, keepdims=False: expand_to(g, x.shape, axis, keepdims)
    / builtins.max(_count(x.shape, axis), 1)
).def_linear()


# ---------------------------------------------------------------- prod
def _prod_others_impl(x: Any, *, xp: Any = np) -> Any:
    """Along the last axis: entry i is the product of all the other entries (no division)."""
    if xp is np:
        x = np.asarray(x)
        if x.shape[-1] == 0:
            return x.copy()
        ones = np.ones(x.shape[:-1] + (1,), dtype=x.dtype)
        before = np.cumprod(np.concatenate((ones, x[..., :-1]), axis=-1), axis=-1)
        after = np.cumprod(np.concatenate((ones, x[..., :0:-1]), axis=-1), axis=-1)[..., ::-1]
        return before * after
    if x.shape[-1] == 0:
        return xp.asarray(x, copy=True)
    scan = _cumulative_prod(xp)
    ones = xp.ones(tuple(x.shape[:-1]) + (1,), dtype=x.dtype)
    before = scan(xp.concat((ones, x[..., :-1]), axis=-1), axis=-1)
    after = xp.flip(scan(xp.concat((ones, xp.flip(x, axis=-1)[..., :-1]), axis=-1), axis=-1), axis=-1)
    return before * after


def _cumulative_prod(xp: Any) -> Any:
    """The namespace's running product (the standard's ``cumulative_prod``, else ``cumprod``)."""
    fn = getattr(xp, "cumulative_prod", None)
    return fn if fn is not None else extension(xp, "cumprod", op="cumprod")


def _safe_to_divide(xd: np.ndarray, axis: int) -> bool:
    """Whether shortcuts that divide by ``x`` are accurate for these entries.

    Not when an entry is zero or subnormal (``1 / x`` overflows, ``g * ans`` rounds away), nor
    when one is far smaller than the largest along ``axis``: ``sum(g / x) - g / x`` then cancels,
    with an error of about ``eps * max|x| / min|x|`` of the result (kept below ``eps ** 0.75``).
    """
    xp = namespace_of(xd)
    if xp is not np:
        if _is_lazy(xd):
            # Deciding would compute the data; the exact path is right for every input.
            return False
        a = xp.abs(xd)
        if math.prod(a.shape) == 0:
            return True
        info = xp.finfo(a.dtype if dtype_kind(a.dtype) == "f" else xp.float64)
        if not bool(xp.all(a >= info.smallest_normal)):
            return False
        return bool(xp.all(a >= info.eps**0.25 * xp.max(a, axis=axis, keepdims=True)))
    a = np.abs(xd)
    if a.size == 0:
        return True
    info = np.finfo(a.dtype if a.dtype.kind == "f" else np.float64)
    if not np.all(a >= info.tiny):
        return False
    return bool(np.all(a >= info.eps**0.25 * a.max(axis=axis, keepdims=True)))


def _is_lazy(a: Any) -> bool:
    """Whether ``a`` (another library's array) is lazy (Dask): reading its values computes it."""
    import array_api_compat

    return bool(array_api_compat.is_lazy_array(a))


def _differentiated_further(x: Any) -> bool:
    """Whether a rule's result will itself be differentiated with respect to ``x`` (recorded by
    reverse mode, or followed by an outer forward accumulator): dividing by ``x`` and then
    differentiating cancels (terms of size g / x**2), so such rules take the exact path."""
    if not isinstance(x, Tensor):
        return False
    return x._node is not None or x._requires_grad or (state.busy and tracked(x))


def _prod_others_rule(g: Any, ans: Any, x: Any) -> Any:
    """VJP (and JVP: the Jacobian is symmetric) of prod_others.

    d others_i / d x_k = product of the entries other than i and k (0 when i == k).
    """
    xd = _data(x)
    last = xd.ndim - 1
    if xd.size == 0 or (_safe_to_divide(xd, last) and not _differentiated_further(x)):
        # No zeros: others_k * sum_{i != k} g_i / x_i.
        r = g / x
        return ans * (sum_p(r, axis=(last,), keepdims=True) - r)
    # With zeros: row i of `a` is x with entry i replaced by 1; its own "others" give the
    # products without i and k, exactly.
    n = xd.shape[-1]
    lead = tuple(xd.shape[:-1])
    xp = namespace_of(xd)
    diagonal = xp.eye(n, dtype=xp.bool)
    rows = broadcast_to_p(reshape_p(x, shape=lead + (1, n)), shape=lead + (n, n))
    pairs = prod_others_p(where_p(diagonal, 1.0, rows))
    weighted = where_p(diagonal, 0.0, reshape_p(g, shape=lead + (n, 1)) * pairs)
    return sum_p(weighted, axis=(last,), keepdims=False)


prod_others_p = Primitive("prod_others", _prod_others_impl, nin=1, saves_ans=True,
                          grad_fn_name="ProdBackward1", batching="trailing")  # fmt: skip
prod_others_p.def_chain(_prod_others_rule)
prod_others_p.def_jet(T.prod_others)


def _others(x: Any, axis: tuple[int, ...] | None) -> Any:
    """For each entry of x, the product of the other entries of its reduction group."""
    shape = tuple(x.shape)
    ndim = len(shape)
    axes = tuple(range(ndim)) if axis is None else axis
    if not axes:
        xd = _data(x)
        return namespace_of(xd).ones(shape, dtype=xd.dtype)
    kept = tuple(i for i in range(ndim) if i not in axes)
    order = kept + axes
    moved = x if order == tuple(range(ndim)) else transpose_p(x, axes=order)
    kept_shape = tuple(shape[i] for i in kept)
    grouped = reshape_p(moved, shape=kept_shape + (_count(shape, axes),))
    others = reshape_p(prod_others_p(grouped), shape=tuple(shape[i] for i in order))
    if order == tuple(range(ndim)):
        return others
    return transpose_p(others, axes=tuple(int(i) for i in np.argsort(order)))


def _prod_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    return xp.prod(x, axis=axis, keepdims=keepdims)


prod_p = Primitive("prod", _prod_impl, nin=1, batching="axis")
prod_p.def_vjp(
    lambda g, ans, x, axis=None, keepdims=False: expand_to(g, x.shape, axis, keepdims) * _others(x, axis)
)
prod_p.def_jvp(
    lambda t, ans, x, axis=None, keepdims=False: _reduce_back(t, _others(x, axis), axis, keepdims)
)
prod_p.def_jet(T.prod)


# ---------------------------------------------------------------- max and min
def _max_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    return xp.max(x, axis=axis, keepdims=keepdims)


def _min_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    return xp.min(x, axis=axis, keepdims=keepdims)


def _tie_share(ans: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """1/k at each of the k entries equal to the extreme, 0 elsewhere (a constant).

    A group holding a NaN has NaN as its extreme; ``NaN == NaN`` is false, so its NaN entries
    are matched explicitly (PyTorch's ``max()``: the gradient goes to the NaN, not NaN everywhere).
    """
    xd = _data(x)
    ad = _data(ans)
    xp = namespace_of(xd)
    if xp is not np:
        if not keepdims:
            ad = xp.reshape(ad, keepdims_shape(tuple(xd.shape), axis))
        hit = xd == ad
        if dtype_kind(xd.dtype) in "fc":
            hit = hit | (xp.isnan(xd) & xp.isnan(ad))
        hit = xp.astype(hit, xd.dtype)
        return hit / xp.sum(hit, axis=axis, keepdims=True)
    if not keepdims:
        ad = ad.reshape(keepdims_shape(xd.shape, axis))
    hit = xd == ad
    if xd.dtype.kind in "fc":
        nan_groups = np.isnan(ad)
        if nan_groups.any():
            hit |= np.isnan(xd) & nan_groups
    with np.errstate(invalid="ignore", divide="ignore"):
        share = hit / np.sum(hit, axis=axis, keepdims=True)
    return share.astype(xd.dtype, copy=False)


def _extreme_vjp(g: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return expand_to(g, x.shape, axis, keepdims) * _tie_share(ans, x, axis, keepdims)


def _extreme_jvp(t: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _reduce_back(t, _tie_share(ans, x, axis, keepdims), axis, keepdims)


max_p = Primitive("max", _max_impl, nin=1, saves_ans=True, grad_fn_name="AmaxBackward0", batching="axis")
max_p.def_vjp(_extreme_vjp)
max_p.def_jvp(_extreme_jvp)
max_p.def_jet(T.select_reduce(np.max))
min_p = Primitive("min", _min_impl, nin=1, saves_ans=True, grad_fn_name="AminBackward0", batching="axis")
min_p.def_vjp(_extreme_vjp)
min_p.def_jvp(_extreme_jvp)
min_p.def_jet(T.select_reduce(np.min))


# ---------------------------------------------------------------- var
def _var_impl(
    x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, ddof: int = 0, xp: Any = np
) -> Any:
    if xp is not np:
        if dtype_kind(x.dtype) not in "fc":
            x = xp.astype(x, xp.float64)
        return xp.var(x, axis=axis, keepdims=keepdims, correction=ddof)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.var(x, axis=axis, keepdims=keepdims, ddof=ddof)


def _var_weights(x: Any, axis: tuple[int, ...] | None, ddof: int) -> Any:
    """d var / d x = 2 (x - mean) / (n - ddof)."""
    dof = _count(tuple(x.shape), axis) - ddof
    scale = 2.0 / dof if dof > 0 else math.nan
    return (x - mean_p(x, axis=axis, keepdims=True)) * scale


var_p = Primitive("var", _var_impl, nin=1, batching="axis")
var_p.def_vjp(
    lambda g, ans, x, axis=None, keepdims=False, ddof=0: expand_to(g, x.shape, axis, keepdims)
    * _var_weights(x, axis, ddof)
)
var_p.def_jvp(
    lambda t, ans, x, axis=None, keepdims=False, ddof=0: _reduce_back(
        t, _var_weights(x, axis, ddof), axis, keepdims
    )
)
var_p.def_jet(T.var)


# ---------------------------------------------------------------- logsumexp
def _logsumexp_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    if xp is not np:
        return _logsumexp_xp(x, axis, keepdims, xp)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    top = np.max(x, axis=axis, keepdims=True)
    # All -inf (or an inf) in a group: shifting by it would give nan; shift by 0 instead.
    top = np.where(np.isfinite(top), top, 0).astype(x.dtype, copy=False)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(out.shape) if axis is not None and i not in axis))


def _logsumexp_xp(x: Any, axis: tuple[int, ...] | None, keepdims: bool, xp: Any) -> Any:
    if dtype_kind(x.dtype) != "f":
        x = xp.astype(x, xp.float64)
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, xp.zeros_like(top))
    out = xp.log(xp.sum(xp.exp(x - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return out
    return xp.reshape(out, tuple(n for i, n in enumerate(out.shape) if axis is not None and i not in axis))


def _softmax_weights(ans: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    # softmax(x) along axis. exp(x - ans) would cancel catastrophically at |x| ~ 1e4 in float32
    # (ans rounds to x's ulp); shifting by the max is exact, and softmax does not depend on the
    # shift, so the shift's own derivative path contributes zero at every order.
    shift = max_p(x, axis=axis, keepdims=True)
    shift = where_p(isfinite_p(shift), shift, 0.0)
    e = exp_p(x - shift)
    return e / sum_p(e, axis=axis, keepdims=True)


logsumexp_p = Primitive("logsumexp", _logsumexp_impl, nin=1, saves_ans=True, batching="axis")
logsumexp_p.def_vjp(
    lambda g, ans, x, axis=None, keepdims=False: expand_to(g, x.shape, axis, keepdims)
    * _softmax_weights(ans, x, axis, keepdims)
)
logsumexp_p.def_jvp(
    lambda t, ans, x, axis=None, keepdims=False: _reduce_back(
        t, _softmax_weights(ans, x, axis, keepdims), axis, keepdims
    )
)
logsumexp_p.def_jet(T.logsumexp)


# ---------------------------------------------------------------- 2-norm
def _norm_impl(x: Any, *, axis: tuple[int, ...] | None = None, keepdims: bool = False, xp: Any = np) -> Any:
    if xp is np:
        x = np.asarray(x)
    return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))


def _safe_norm(ans: Any) -> Any:
    """The norm with its zeros replaced by 1: x / norm is then 0 at the zero vector."""
    return where_p(_data(ans) == 0, 1.0, ans)


norm_p = Primitive("norm", _norm_impl, nin=1, saves_ans=True, grad_fn_name="NormBackward1", batching="axis")
norm_p.def_vjp(
    lambda g, ans, x, axis=None, keepdims=False: expand_to(g / _safe_norm(ans), x.shape, axis, keepdims) * x
)
norm_p.def_jvp(
    lambda t, ans, x, axis=None, keepdims=False: sum_p(t * x, axis=axis, keepdims=keepdims)
    / _safe_norm(ans)
)
norm_p.def_jet(T.norm)


# ---------------------------------------------------------------- cumsum and cumprod
def _cumsum_impl(x: Any, *, axis: int, xp: Any = np) -> Any:
    if xp is np:
        return np.cumsum(x, axis=axis)
    return xp.cumulative_sum(x, axis=axis)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    """Entry k is the sum of entries k, k+1, ... along ``axis``."""
    return flip_p(cumsum_p(flip_p(g, axis=(axis,)), axis=axis), axis=(axis,))


cumsum_p = Primitive("cumsum", _cumsum_impl, nin=1, saves=(), batching="axis")
cumsum_p.def_vjp(lambda g, ans, x, axis: _reverse_cumsum(g, axis)).def_linear()


def _cumprod_impl(x: Any, *, axis: int, xp: Any = np) -> Any:
    if xp is np:
        return np.cumprod(x, axis=axis)
    return _cumulative_prod(xp)(x, axis=axis)


def _cumprod_pairs(x: Any, axis: int) -> tuple[Any, Any]:
    """With the scan axis moved last: ``c[..., k, i]`` = product of x_j for j <= i, j != k.

    Returns ``c`` and the move used, for inputs that contain zeros (O(n^2) in the axis length).
    """
    ndim = len(x.shape)
    order = tuple(i for i in range(ndim) if i != axis) + (axis,)
    moved = x if axis == ndim - 1 else transpose_p(x, axes=order)
    shape = tuple(x.shape[i] for i in order)
    n, lead = shape[-1], shape[:-1]
    rows = broadcast_to_p(reshape_p(moved, shape=lead + (1, n)), shape=lead + (n, n))
    xp = namespace_of(_data(x))
    return cumprod_p(where_p(xp.eye(n, dtype=xp.bool), 1.0, rows), axis=ndim), order


def _upper(x: Any, n: int) -> Any:
    """The (n, n) boolean mask of ``i <= j``, in the library of ``x``'s data."""
    xp = namespace_of(_data(x))
    if xp is np:
        return np.triu(np.ones((n, n), dtype=bool))
    k = xp.arange(n)
    return xp.reshape(k, (n, 1)) <= xp.reshape(k, (1, n))


def _unmove(y: Any, order: tuple[int, ...]) -> Any:
    if order == tuple(range(len(order))):
        return y
    return transpose_p(y, axes=tuple(int(i) for i in np.argsort(order)))


def _move(y: Any, order: tuple[int, ...]) -> Any:
    if order == tuple(range(len(order))):
        return y
    return transpose_p(y, axes=order)


def _cumprod_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    xd = _data(x)
    if _safe_to_divide(xd, axis) and not _differentiated_further(x):
        return _reverse_cumsum(g * ans, axis) / x
    # dL/dx_k = sum_{i >= k} g_i prod_{j <= i, j != k} x_j.
    pairs, order = _cumprod_pairs(x, axis)
    n = xd.shape[axis]
    gm = _move(g, order)
    lead = tuple(gm.shape[:-1])
    upper = _upper(x, n)
    terms = where_p(upper, reshape_p(gm, shape=lead + (1, n)) * pairs, 0.0)
    return _unmove(sum_p(terms, axis=(len(lead) + 1,)), order)


def _cumprod_jvp(t: Any, ans: Any, x: Any, axis: int) -> Any:
    xd = _data(x)
    if _safe_to_divide(xd, axis) and not _differentiated_further(x):
        return ans * cumsum_p(t / x, axis=axis)
    # d y_i = sum_{k <= i} t_k prod_{j <= i, j != k} x_j.
    pairs, order = _cumprod_pairs(x, axis)
    n = xd.shape[axis]
    tm = _move(t, order)
    lead = tuple(tm.shape[:-1])
    upper = _upper(x, n)
    terms = where_p(upper, reshape_p(tm, shape=lead + (n, 1)) * pairs, 0.0)
    return _unmove(sum_p(terms, axis=(len(lead),)), order)


cumprod_p = Primitive("cumprod", _cumprod_impl, nin=1, saves_ans=True, batching="axis")
cumprod_p.def_vjp(_cumprod_vjp)
cumprod_p.def_jvp(_cumprod_jvp)
cumprod_p.def_jet(T.cumprod)


# ---------------------------------------------------------------- public functions
def _axes(x: Any, axis: Any, op: str) -> tuple[int, ...] | None:
    return normalize_axis(axis, np.ndim(as_array(x)), op)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Arithmetic mean over ``axis`` (all axes when None).

    >>> import chainrule as cr
    >>> cr.mean(cr.tensor([[1., 2.], [3., 4.]]), axis=1)
    tensor([1.5, 3.5], dtype=float64)
    """
    return ensure_tensor(mean_p(x, axis=_axes(x, axis, "mean"), keepdims=bool(keepdims)))


def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Product over ``axis``. The gradient is the product of the other entries, exact at zeros.

    >>> import chainrule as cr
    >>> x = cr.tensor([2., 0., 3.], requires_grad=True)
    >>> cr.prod(x).backward()
    >>> x.grad
    tensor([0., 6., 0.], dtype=float64)
    """
    return ensure_tensor(prod_p(x, axis=_axes(x, axis, "prod"), keepdims=bool(keepdims)))


def _check_nonempty(x: Any, axes: tuple[int, ...] | None, op: str) -> None:
    shape = np.shape(as_array(x))
    if _count(shape, axes) == 0:
        raise ValueError(
            f"{op}: cannot reduce over an empty axis (tensor of shape {shape}, axis {axes}): the "
            "result has no identity value"
        )


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Largest value over ``axis``; tied maxima share the gradient evenly (PyTorch's ``amax``).

    A NaN makes the result NaN, and the gradient goes to the NaN entries (as PyTorch's ``max()``).

    >>> import chainrule as cr
    >>> x = cr.tensor([1., 3., 3.], requires_grad=True)
    >>> cr.max(x).backward()
    >>> x.grad
    tensor([0. , 0.5, 0.5], dtype=float64)
    """
    axes = _axes(x, axis, "max")
    _check_nonempty(x, axes, "max")
    return ensure_tensor(max_p(x, axis=axes, keepdims=bool(keepdims)))


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """Smallest value over ``axis``; tied minima share the gradient evenly; a NaN wins, as in
    :func:`max`.

    >>> import chainrule as cr
    >>> cr.min(cr.tensor([[1., 5.], [0., 2.]]), axis=0)
    tensor([0., 2.], dtype=float64)
    """
    axes = _axes(x, axis, "min")
    _check_nonempty(x, axes, "min")
    return ensure_tensor(min_p(x, axis=axes, keepdims=bool(keepdims)))


amax = max
amin = min


def _check_ddof(ddof: Any, op: str) -> int:
    if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
        raise TypeError(f"{op}: ddof must be a non-negative int, got {ddof!r}")
    return int(ddof)


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """Variance over ``axis``: ``sum((x - mean)**2) / (n - ddof)``; ddof=0 as NumPy.

    With ``n - ddof <= 0`` the result (and gradient) is nan, as in NumPy.

    >>> import chainrule as cr
    >>> cr.var(cr.tensor([1., 2., 3., 4.]), ddof=1)
    tensor(1.66666667, dtype=float64)
    """
    ddof = _check_ddof(ddof, "var")
    return ensure_tensor(var_p(x, axis=_axes(x, axis, "var"), keepdims=bool(keepdims), ddof=ddof))


def std(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
    """Standard deviation over ``axis``: ``sqrt(var(x, axis, ddof))`` (a composite).

    Over groups of one entry (with ddof=0) the standard deviation is identically 0, and so are
    all its derivatives (as in HIPS autograd and PyTorch). Where two or more entries are equal
    the gradient is nan: std is not differentiable there (PyTorch returns 0, a subgradient).

    >>> import chainrule as cr
    >>> cr.std(cr.tensor([1., 3.]))
    tensor(1., dtype=float64)
    >>> x = cr.tensor([[2.], [5.]], requires_grad=True)
    >>> cr.std(x, axis=1).sum().backward()
    >>> x.grad
    tensor([[0.],
            [0.]], dtype=float64)
    """
    ddof = _check_ddof(ddof, "std")
    axes = _axes(x, axis, "std")
    v = var_p(x, axis=axes, keepdims=bool(keepdims), ddof=ddof)
    if ddof == 0 and _count(np.shape(as_array(x)), axes) == 1:
        # sqrt's derivative at 0 is infinite, and inf * 0 = nan. Here var is x - mean(x) = 0
        # for every x, exactly, with derivatives 0 at every order: it equals std and can stand
        # for it.
        return ensure_tensor(v)
    return ensure_tensor(sqrt_p(v))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(exp(x)))`` over ``axis``, computed stably by shifting by the maximum.

    Its gradient is ``softmax(x)`` over the reduced axes.

    >>> import chainrule as cr
    >>> cr.logsumexp(cr.tensor([1000., 1000.]))
    tensor(1000.69314718, dtype=float64)
    """
    axes = _axes(x, axis, "logsumexp")
    _check_nonempty(x, axes, "logsumexp")
    return ensure_tensor(logsumexp_p(x, axis=axes, keepdims=bool(keepdims)))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """Vector norm of the entries over ``axis`` (of all entries when None, i.e. Frobenius).

    ``ord`` is None/2/"fro" (Euclidean; a primitive whose gradient is 0 at the zero vector, as in
    PyTorch), 1 (sum of absolute values) or ``inf`` (largest absolute value); the last two are
    composites. Matrix norms that are not entrywise (spectral, nuclear) are not offered here.

    >>> import chainrule as cr
    >>> cr.norm(cr.tensor([3., 4.]))
    tensor(5., dtype=float64)
    """
    axes = _axes(x, axis, "norm")
    keepdims = bool(keepdims)
    if ord is None or ord == 2 or ord == "fro":
        if ord == "fro" and axes is not None and len(axes) != 2:
            raise ValueError(f"norm: ord='fro' needs axis=None or two axes, got axis={axis}")
        return ensure_tensor(norm_p(x, axis=axes, keepdims=keepdims))
    if ord == 1:
        return ensure_tensor(sum_p(abs_p(x), axis=axes, keepdims=keepdims))
    if ord == math.inf:
        _check_nonempty(x, axes, "norm")
        return ensure_tensor(max_p(abs_p(x), axis=axes, keepdims=keepdims))
    raise ValueError(f"norm: unsupported ord={ord!r}; use None, 2, 'fro', 1 or inf")


def _scan_axis(x: Any, axis: Any, op: str) -> tuple[Any, int]:
    if axis is None:
        return reshape_p(x, shape=(-1,)), 0
    ndim = np.ndim(as_array(x))
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int or None, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return x, int(axis) % ndim


def cumsum(x: Any, axis: int | None = None) -> Any:
    """Running sum along ``axis`` (over the flattened tensor when None, as NumPy).

    >>> import chainrule as cr
    >>> cr.cumsum(cr.tensor([1., 2., 3.]))
    tensor([1., 3., 6.], dtype=float64)
    """
    x, ax = _scan_axis(x, axis, "cumsum")
    return ensure_tensor(cumsum_p(x, axis=ax))


def cumprod(x: Any, axis: int | None = None) -> Any:
    """Running product along ``axis`` (over the flattened tensor when None, as NumPy).

    The gradient uses ``ans / x`` when no entry is 0 and, when some are, the exact products of
    the other entries (O(n^2) in the length of the axis), so zeros are handled correctly.

    >>> import chainrule as cr
    >>> cr.cumprod(cr.tensor([1., 2., 3.]))
    tensor([1., 2., 6.], dtype=float64)
    """
    x, ax = _scan_axis(x, axis, "cumprod")
    return ensure_tensor(cumprod_p(x, axis=ax))


def install() -> None:
    """Attach the reductions to Tensor as methods (NumPy signatures)."""
    T = Tensor
    T.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    T.prod = lambda self, axis=None, keepdims=False: prod(self, axis, keepdims)
    T.max = lambda self, axis=None, keepdims=False: max(self, axis, keepdims)
    T.min = lambda self, axis=None, keepdims=False: min(self, axis, keepdims)
    T.var = lambda self, axis=None, ddof=0, keepdims=False: var(self, axis, ddof, keepdims)
    T.std = lambda self, axis=None, ddof=0, keepdims=False: std(self, axis, ddof, keepdims)
    T.logsumexp = lambda self, axis=None, keepdims=False: logsumexp(self, axis, keepdims)
    T.norm = lambda self, ord=None, axis=None, keepdims=False: norm(self, ord, axis, keepdims)  # noqa: A002
    T.cumsum = lambda self, axis=None: cumsum(self, axis)
    T.cumprod = lambda self, axis=None: cumprod(self, axis)


# ---------------------------------------------------------------- NumPy's finite differences
# Composites of crops (pad with negative widths), sub/mul and concatenation: exact and linear.
_NO_VALUE: Any = object()


def _crop(x: Any, ndim: int, axis: int, start: int, stop: int, n: int) -> Any:
    """``x[start:stop]`` along ``axis`` (of size ``n``), with 0 <= start <= stop <= n."""
    from chainrule.ops.shape import pad_p

    widths = tuple((-start, stop - n) if i == axis else (0, 0) for i in range(ndim))
    return pad_p(x, widths=widths)


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _NO_VALUE, append: Any = _NO_VALUE) -> Any:
    """The ``n``-th discrete difference along ``axis``, ``a[1:] - a[:-1]`` applied n times, after
    joining ``prepend``/``append`` (a scalar is repeated across the other axes) (``numpy.diff``).

    >>> import chainrule as cr
    >>> cr.diff(cr.tensor([1., 4., 9., 16.]))
    tensor([3., 5., 7.], dtype=float64)
    >>> cr.diff(cr.tensor([1., 4., 9.]), n=2, prepend=0.0)
    tensor([2., 2.], dtype=float64)
    """
    from chainrule.ops._api import as_operand
    from chainrule.ops.binary import sub_p
    from chainrule.ops.shape import _axis, concatenate

    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"diff: n must be an int, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"diff: the order n must be non-negative, got {n}")
    a = as_operand(a)
    shape = np.shape(as_array(a))
    if not shape:
        raise ValueError("diff: needs an input of at least 1 dimension, got a 0-d tensor")
    nd = len(shape)
    ax = _axis(axis, nd, "diff")
    if n == 0:
        return ensure_tensor(a)
    pieces = []
    for name, extra in (("prepend", prepend), (None, a), ("append", append)):
        if extra is _NO_VALUE:
            continue
        extra = as_operand(extra)
        if name is not None and np.ndim(as_array(extra)) == 0:
            xp = namespace_of(as_array(a))
            if xp is not np and namespace_of(as_array(extra)) is np and not getattr(extra, "requires_grad", False):
                # A constant scalar joins a's library (a NumPy block would not concatenate with it).
                extra = Tensor(xp.asarray(np.asarray(as_array(extra)).item(), dtype=as_array(a).dtype))
            extra = broadcast_to_p(extra, shape=shape[:ax] + (1,) + shape[ax + 1 :])
        pieces.append(extra)
    if len(pieces) > 1:
        a = concatenate(pieces, axis=ax)
    shape = np.shape(as_array(a))
    size = shape[ax]
    for _ in range(n):
        if size == 0:
            break
        a = sub_p(_crop(a, nd, ax, 1, size, size), _crop(a, nd, ax, 0, size - 1, size))
        size -= 1
    return ensure_tensor(a)


def _spacings(f_shape: tuple[int, ...], axes: tuple[int, ...], varargs: tuple[Any, ...]) -> list[Any]:
    """Per axis: a uniform step (a float) or the steps between coordinates (a 1-d array)."""
    if not varargs:
        return [1.0] * len(axes)
    if len(varargs) == 1 and np.ndim(_constant_spacing(varargs[0])) == 0:
        return [float(_constant_spacing(varargs[0]))] * len(axes)
    if len(varargs) != len(axes):
        raise TypeError(
            f"gradient: {len(varargs)} spacings for {len(axes)} axes; give none, one scalar, or one "
            "per axis (a scalar step or the coordinates along that axis)"
        )
    out: list[Any] = []
    for ax, v in zip(axes, varargs):
        v = _constant_spacing(v)
        if np.ndim(v) == 0:
            out.append(float(v))
            continue
        if np.ndim(v) != 1:
            raise ValueError(f"gradient: the coordinates along an axis must be 1-d, got shape {np.shape(v)}")
        if len(v) != f_shape[ax]:
            raise ValueError(
                f"gradient: {len(v)} coordinates along axis {ax}, whose size is {f_shape[ax]}; give "
                "one coordinate per entry"
            )
        steps = np.diff(np.asarray(v, dtype=np.float64))
        out.append(float(steps[0]) if steps.size and np.all(steps == steps[0]) else steps)
    return out


def _constant_spacing(v: Any) -> Any:
    if isinstance(v, Tensor):
        if v.requires_grad:
            raise TypeError(
                "gradient: a spacing that requires grad is not supported (the result is not "
                "differentiated with respect to the coordinates); pass v.detach()"
            )
        return v._data
    return np.asarray(v)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Central differences in the interior, one-sided ones of order ``edge_order`` (1 or 2) at the
    ends, per axis (``numpy.gradient``). Spacing: none (1), one scalar for all axes, or per axis
    a scalar step or the coordinates. One axis gives one tensor, several a tuple.

    >>> import chainrule as cr
    >>> cr.gradient(cr.tensor([1., 4., 9., 16.]))
    tensor([3., 4., 6., 7.], dtype=float64)
    >>> cr.gradient(cr.tensor([1., 4., 9., 16.]), 2.0, edge_order=2)
    tensor([1., 2., 3., 4.], dtype=float64)
    """
    from chainrule.ops._api import as_operand
    from chainrule.ops.binary import add_p, mul_p, sub_p
    from chainrule.ops.shape import _axes, astype_p, concatenate

    f = as_operand(f)
    shape = np.shape(as_array(f))
    nd = len(shape)
    if nd == 0:
        raise ValueError("gradient: needs an input of at least 1 dimension, got a 0-d tensor")
    axes = tuple(range(nd)) if axis is None else _axes(axis, nd, "gradient")
    if edge_order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order!r}")
    xp = namespace_of(as_array(f))
    if dtype_kind(as_array(f).dtype) in "biu":
        f = astype_p(f, dtype=np.dtype(np.float64))
    steps = _spacings(shape, axes, varargs)
    outs = []
    for ax, dx in zip(axes, steps):
        n = shape[ax]
        if n < edge_order + 1:
            raise ValueError(
                f"gradient: axis {ax} has {n} entries; edge_order={edge_order} needs at least "
                f"{edge_order + 1}"
            )

        def part(start: int, stop: int, ax: int = ax, n: int = n) -> Any:
            return _crop(f, nd, ax, start, stop, n)

        def along(c: Any, ax: int = ax) -> Any:
            # Per-position coefficients as a column along this axis, in f's library.
            return xp.asarray(np.reshape(c, tuple(-1 if i == ax else 1 for i in range(nd))))

        uniform = np.ndim(dx) == 0
        if uniform:
            inner = mul_p(sub_p(part(2, n), part(0, n - 2)), 1.0 / (2.0 * dx))
        else:
            d1, d2 = dx[:-1], dx[1:]
            ca = along(-d2 / (d1 * (d1 + d2)))
            cb = along((d2 - d1) / (d1 * d2))
            cc = along(d1 / (d2 * (d1 + d2)))
            inner = add_p(add_p(mul_p(part(0, n - 2), ca), mul_p(part(1, n - 1), cb)), mul_p(part(2, n), cc))
        if edge_order == 1:
            h0 = dx if uniform else dx[0]
            h1 = dx if uniform else dx[-1]
            first = mul_p(sub_p(part(1, 2), part(0, 1)), 1.0 / h0)
            last = mul_p(sub_p(part(n - 1, n), part(n - 2, n - 1)), 1.0 / h1)
        else:
            if uniform:
                a0, b0, c0 = -1.5 / dx, 2.0 / dx, -0.5 / dx
                a1, b1, c1 = 0.5 / dx, -2.0 / dx, 1.5 / dx
            else:
                h1, h2 = dx[0], dx[1]
                a0 = -(2.0 * h1 + h2) / (h1 * (h1 + h2))
                b0 = (h1 + h2) / (h1 * h2)
                c0 = -h1 / (h2 * (h1 + h2))
                h1, h2 = dx[-2], dx[-1]
                a1 = h2 / (h1 * (h1 + h2))
                b1 = -(h2 + h1) / (h1 * h2)
                c1 = (2.0 * h2 + h1) / (h2 * (h1 + h2))
            first = add_p(add_p(mul_p(part(0, 1), a0), mul_p(part(1, 2), b0)), mul_p(part(2, 3), c0))
            last = add_p(add_p(mul_p(part(n - 3, n - 2), a1), mul_p(part(n - 2, n - 1), b1)),
                         mul_p(part(n - 1, n), c1))  # fmt: skip
        outs.append(concatenate([first, inner, last], axis=ax))
    return outs[0] if len(outs) == 1 else tuple(outs)
