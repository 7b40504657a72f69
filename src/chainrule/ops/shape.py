"""Shape primitives: they move or copy values without arithmetic.

Their rules read only the input's shape (``uses_shapes``), so no input array is kept. Most are
linear in their input (``def_linear``: the JVP is the op on the tangent); ``pad`` (its fill value)
and ``concat2`` (linear in both inputs together) write their JVPs out. Their vmap rules mostly
prefix the batch axes to a ``shape``/``axes``/``widths`` setting.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, has_foreign, namespace_of, to_numpy
from chainrule.core.dispatch import SEQUENCE_TO_TENSOR
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_array, ensure_tensor
from chainrule.transforms.batching_rules import (
    batch_sizes,
    full_batch,
    shift_axes,
    shift_axis,
    with_example_ndim,
)  # fmt: skip

__all__ = [
    "reshape", "broadcast_to", "sum_to", "transpose", "astype", "expand_dims", "flatten",
    "swapaxes", "moveaxis", "permute", "squeeze", "concatenate", "stack", "split", "tile", "repeat",
    "pad", "flip", "roll",
]  # fmt: skip
# NumPy's further shape functions (the block at the end of this file).
__all__ += [
    "tril", "triu", "append", "vstack", "hstack", "column_stack", "row_stack", "dstack",
    "array_split", "vsplit", "hsplit", "dsplit", "rot90", "flipud", "fliplr", "rollaxis",
    "atleast_1d", "atleast_2d", "atleast_3d", "r_", "c_",
]  # fmt: skip


def _normalize_shape(shape: Any, op: str = "reshape") -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: the shape must be an int or a sequence of ints, got {shape!r}") from None


# ---------------------------------------------------------------- reshape
def _reshape_impl(x: Any, *, shape: tuple[int, ...], xp: Any = np) -> Any:
    if xp is np:
        # (The method on a NumPy array: np.reshape is a Python wrapper that calls it.)
        return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)
    try:
        return xp.reshape(x, shape)
    except NotImplementedError:
        # Dask reshapes only by merging or splitting whole dimensions: flattening first is both.
        return xp.reshape(xp.reshape(x, (-1,)), shape)


def _reshape_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    return prim(x, shape=x._data.shape[:nb] + tuple(params["shape"]))


reshape_p = Primitive("reshape", _reshape_impl, nin=1, saves=(), uses_shapes=True, view=True,
                      grad_fn_name="ViewBackward0", batching=_reshape_batch)  # fmt: skip
reshape_p.def_vjp(lambda g, ans, x, shape: reshape_p(g, shape=x.shape)).def_linear()
reshape_p.def_view(lambda base, value, shape: reshape_p(value, shape=base.shape))


# ---------------------------------------------------------------- broadcast_to and sum_to
def _broadcast_to_impl(x: Any, *, shape: tuple[int, ...], xp: Any = np) -> Any:
    if (xp is np and type(x) is np.ndarray and x.ndim == 0 and x.dtype.kind in "biufc"
            and min(shape, default=0) >= 0):  # fmt: skip
        # A scalar spread over ``shape`` (a full reduction's cotangent): the read-only view
        # np.broadcast_to makes, every stride 0, without its Python wrapper and nditer.
        out = np.ndarray(shape, x.dtype, x, 0, (0,) * len(shape))
        out.flags.writeable = False
        return out
    return xp.broadcast_to(x, shape)


_ONES: dict[tuple[int, Any], np.ndarray] = {}
_GEMV_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def sum_leading(x: np.ndarray, lead: int) -> np.ndarray:
    """``x`` summed over its first ``lead`` axes (a bias's gradient), as a new array.

    A C-contiguous float32/float64 array is summed as ``ones @ x``: a matrix-vector product in
    the BLAS, 2-3x NumPy's axis-0 reduction at a batch of 128 (the same sums, in the BLAS's order:
    equal to rounding). Eager backward passes and jitted replays both sum this way, so they agree
    to the last bit.
    """
    if x.dtype in _GEMV_DTYPES and x.flags.c_contiguous and x.ndim > lead:
        rows = math.prod(x.shape[:lead])
        if 1 < rows <= 65536:  # (the vectors of ones are kept: at most 16 of at most 512 KiB)
            key = (rows, x.dtype)
            ones = _ONES.get(key)
            if ones is None:
                if len(_ONES) >= 16:
                    _ONES.clear()
                ones = _ONES[key] = np.ones(rows, x.dtype)
            if x.ndim - lead == 1:
                return ones @ (x if lead == 1 else x.reshape(rows, x.shape[-1]))
            out = np.empty(x.shape[lead:], x.dtype)  # (an array of its own, not a reshaped view)
            np.matmul(ones, x.reshape(rows, out.size), out=out.reshape(out.size))
            return out
    return np.add.reduce(x, axis=tuple(range(lead)))


def _sum_to_impl(x: Any, *, shape: tuple[int, ...], xp: Any = np) -> Any:
    if xp is not np:
        return _sum_to_xp(x, shape, xp)
    x = np.asarray(x)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead > 0 and shape and x.shape[lead:] == shape:
        # Only leading axes go (a bias's gradient): one reduction straight to the shape, an array
        # of its own, so the engine need not copy it into ``.grad``.
        return sum_leading(x, lead)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


def _sum_to_xp(x: Any, shape: tuple[int, ...], xp: Any) -> Any:
    # The same reduction in the array API's terms (xp.sum takes an axis tuple and keepdims).
    if tuple(x.shape) == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    out = xp.sum(x, axis=axes, keepdims=True) if axes else x
    return xp.reshape(out, shape)


def _broadcast_to_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                        params: dict[str, Any]) -> Any:  # fmt: skip
    shape = tuple(params["shape"])
    x = with_example_ndim(vals[0], nb, len(shape))
    return prim(x, shape=x._data.shape[:nb] + shape)


def _sum_to_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    shape = tuple(params["shape"])
    shp = x._data.shape
    lead = len(shp) - nb - len(shape)
    if lead > 0:
        x = registry["sum"](x, axis=tuple(range(nb, nb + lead)), keepdims=False)
        shp = x._data.shape
    return prim(x, shape=shp[:nb] + shape)


broadcast_to_p = Primitive("broadcast_to", _broadcast_to_impl, nin=1, saves=(), uses_shapes=True, view=True,
                           grad_fn_name="ExpandBackward0", batching=_broadcast_to_batch)  # fmt: skip
sum_to_p = Primitive("sum_to", _sum_to_impl, nin=1, saves=(), uses_shapes=True,
                     grad_fn_name="SumToBackward0", batching=_sum_to_batch)  # fmt: skip
broadcast_to_p.def_vjp(lambda g, ans, x, shape: sum_to_p(g, shape=x.shape)).def_linear()
sum_to_p.def_vjp(lambda g, ans, x, shape: broadcast_to_p(g, shape=x.shape)).def_linear()


# ---------------------------------------------------------------- transpose
def _transpose_impl(x: Any, *, axes: tuple[int, ...] | None = None, xp: Any = np) -> Any:
    if xp is np:
        # (The method: np.transpose is a Python wrapper around it, and rules transpose a lot.)
        return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)
    nd = x.ndim
    return xp.permute_dims(x, tuple(range(nd - 1, -1, -1)) if axes is None else tuple(a % nd for a in axes))


def _inverse_axes(axes: tuple[int, ...] | None, ndim: int) -> tuple[int, ...] | None:
    if axes is None:
        return None
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


def _transpose_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                     params: dict[str, Any]) -> Any:  # fmt: skip
    x = vals[0]
    ex = x._data.ndim - nb
    axes = params.get("axes")
    if axes is None:
        per = tuple(range(ex - 1, -1, -1))
    else:
        per = tuple(int(a) % ex for a in axes)
    return prim(x, axes=tuple(range(nb)) + tuple(a + nb for a in per))


transpose_p = Primitive("transpose", _transpose_impl, nin=1, saves=(), uses_shapes=True,
                        view=True, grad_fn_name="PermuteBackward0", batching=_transpose_batch)  # fmt: skip
transpose_p.def_vjp(
    lambda g, ans, x, axes=None: transpose_p(g, axes=_inverse_axes(axes, len(x.shape)))
).def_linear()
transpose_p.def_view(
    lambda base, value, axes=None: transpose_p(value, axes=_inverse_axes(axes, base.ndim))
)


# ---------------------------------------------------------------- astype
def _astype_impl(x: Any, *, dtype: Any, xp: Any = np) -> Any:
    if xp is not np:
        target = library_dtype(xp, dtype)
        if dtype_kind(x.dtype) == "c" and dtype_kind(target) != "c":
            x = xp.real(x)
        return xp.astype(x, target, copy=False)
    x = np.asarray(x)
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        # Complex to real keeps the real part, which is also a real input's cotangent under
        # JAX's complex convention (the engine casts cotangents with this op); NumPy would warn.
        x = x.real
    return x.astype(dtype, copy=False)


def library_dtype(xp: Any, dtype: Any) -> Any:
    """``dtype`` (a NumPy dtype, its name, or already one of ``xp``'s) as namespace ``xp``'s dtype."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1]
    found = getattr(xp, name, None)
    if found is None:
        from chainrule.core.backend import UnsupportedOnLibrary

        raise UnsupportedOnLibrary(f"astype: {getattr(xp, '__name__', xp)} has no dtype {name}")
    return found


astype_p = Primitive("astype", _astype_impl, nin=1, saves=(), uses_shapes=True, view=True,
                     grad_fn_name="ToCopyBackward0", batching="elementwise")  # fmt: skip
astype_p.def_vjp(lambda g, ans, x, dtype: astype_p(g, dtype=x.dtype)).def_linear()
# (A view only when the dtype does not change: the result is then the input itself.)
astype_p.def_view(lambda base, value, dtype: astype_p(value, dtype=base.dtype))


# ---------------------------------------------------------------- public functions
def reshape(x: Any, *shape: Any) -> Any:
    """The same values in a new shape; one dimension may be -1.

    >>> import chainrule as cr
    >>> cr.reshape(cr.arange(6.0), (2, 3)).shape
    (2, 3)
    """
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = shape[0]
    target = _normalize_shape(shape)
    size = math.prod(np.shape(as_array(x)))
    if target.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got shape {target}")
    known = int(np.prod([s for s in target if s != -1])) if target else 1
    if -1 in target:
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {np.shape(as_array(x))} "
                f"({size} elements) into shape {target}"
            )
        target = tuple(size // known if s == -1 else s for s in target)
    elif known != size:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {np.shape(as_array(x))} ({size} elements) "
            f"into shape {target} ({known} elements)"
        )
    if any(s < 0 for s in target):
        raise ValueError(f"reshape: negative dimension in shape {target}")
    return ensure_tensor(reshape_p(x, shape=target))


def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge dimensions ``start_dim..end_dim`` into one (all of them by default).

    >>> import chainrule as cr
    >>> cr.flatten(cr.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    shape = np.shape(as_array(x))
    if not shape:
        return reshape(x, (1,))
    nd = len(shape)
    s, e = start_dim % nd, end_dim % nd
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {shape}")
    merged = int(np.prod(shape[s : e + 1]))
    return reshape(x, shape[:s] + (merged,) + shape[e + 1 :])


def broadcast_to(x: Any, shape: Any) -> Any:
    """Repeat ``x`` along new or size-1 dimensions to ``shape`` (NumPy's rules).

    >>> import chainrule as cr
    >>> cr.broadcast_to(cr.tensor([1., 2.]), (3, 2)).shape
    (3, 2)
    """
    target = _normalize_shape(shape)
    src = np.shape(as_array(x))
    try:
        np.broadcast_shapes(src, target)
        if len(src) > len(target) or np.broadcast_shapes(src, target) != target:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {src} to {target}") from None
    return ensure_tensor(broadcast_to_p(x, shape=target))


def sum_to(x: Any, shape: Any) -> Any:
    """Sum ``x`` down to ``shape``: the inverse of broadcasting to ``x``'s shape.

    >>> import chainrule as cr
    >>> cr.sum_to(cr.ones((3, 2)), (2,))
    tensor([3., 3.], dtype=float64)
    """
    target = _normalize_shape(shape)
    src = np.shape(as_array(x))
    try:
        ok = np.broadcast_shapes(src, target) == src
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"sum_to: shape {target} does not broadcast to {src}")
    return ensure_tensor(sum_to_p(x, shape=target))


def transpose(x: Any, axes: Any = None) -> Any:
    """Permute the dimensions (reverse them when ``axes`` is None), as ``numpy.transpose``.

    >>> import chainrule as cr
    >>> cr.transpose(cr.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    ndim = np.ndim(as_array(x))
    if axes is not None:
        axes = tuple(int(a) for a in axes)
        if sorted(a % ndim if ndim else a for a in axes) != list(range(ndim)) or any(
            not -ndim <= a < ndim for a in axes
        ):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {ndim} dimensions of a "
                f"tensor of shape {np.shape(as_array(x))}"
            )
    return ensure_tensor(transpose_p(x, axes=axes))


def astype(x: Any, dtype: Any) -> Any:
    """The values converted to ``dtype``; differentiable between float dtypes.

    >>> import chainrule as cr
    >>> cr.astype(cr.tensor([1.5]), "float32").dtype
    dtype('float32')
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"astype: {dtype!r} is not a dtype; use 'float32', 'float64', an integer type or 'bool'"
        ) from None
    if dt.kind not in "fciub":
        raise TypeError(f"astype: unsupported dtype {dt}; use float32, float64, complex64, complex128, an integer or bool")
    return ensure_tensor(astype_p(x, dtype=dt))


def expand_dims(x: Any, axis: int | tuple[int, ...]) -> Any:
    """Insert size-1 dimensions at ``axis``.

    >>> import chainrule as cr
    >>> cr.expand_dims(cr.zeros(3), 0).shape
    (1, 3)
    """
    shape = np.shape(as_array(x))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out_ndim = len(shape) + len(axes)
    try:
        norm = sorted(int(a) % out_ndim if -out_ndim <= a < out_ndim else 1 / 0 for a in axes)
    except ZeroDivisionError:
        raise ValueError(f"expand_dims: axis {axis} is out of range for a result of {out_ndim} dimensions") from None
    it = iter(shape)
    new_shape = tuple(1 if i in norm else next(it) for i in range(out_ndim))
    return ensure_tensor(reshape_p(x, shape=new_shape))


# ---------------------------------------------------------------- pad (and crop)
def _pad_impl(x: Any, *, widths: tuple[tuple[int, int], ...], value: float = 0.0, xp: Any = np) -> Any:
    # Negative widths crop: pad(., w) and pad(., -w) are adjoint, so one primitive serves padding,
    # slicing out a block (split, the VJP of concatenation) and the VJP of both.
    if xp is not np:
        return _pad_xp(x, widths, value, xp)
    x = np.asarray(x)
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        x = x[tuple(slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n)
                    for (lo, hi), n in zip(widths, x.shape))]  # fmt: skip
    if not any(lo > 0 or hi > 0 for lo, hi in widths):
        return x
    out_shape = tuple(n + (lo if lo > 0 else 0) + (hi if hi > 0 else 0)
                      for (lo, hi), n in zip(widths, x.shape))  # fmt: skip
    out = np.full(out_shape, value, dtype=x.dtype)
    out[tuple(slice(lo if lo > 0 else 0, (lo if lo > 0 else 0) + n) for (lo, _), n in zip(widths, x.shape))] = x
    return out


def _pad_xp(x: Any, widths: tuple[tuple[int, int], ...], value: float, xp: Any) -> Any:
    # The array API has no pad and no guaranteed writable output (Dask): crop by slicing, then
    # join blocks of the fill value on each side, one axis at a time.
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        x = x[tuple(slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n)
                    for (lo, hi), n in zip(widths, x.shape))]  # fmt: skip
    kind = dtype_kind(x.dtype)
    fill: Any = value if kind in "fc" else (bool(value) if kind == "b" else int(value))
    for axis, (lo, hi) in enumerate(widths):
        if lo <= 0 and hi <= 0:
            continue
        parts = []
        shape = tuple(x.shape)
        if lo > 0:
            parts.append(xp.full(shape[:axis] + (lo,) + shape[axis + 1 :], fill, dtype=x.dtype))
        parts.append(x)
        if hi > 0:
            parts.append(xp.full(shape[:axis] + (hi,) + shape[axis + 1 :], fill, dtype=x.dtype))
        x = xp.concat(parts, axis=axis)
    return x


def _negate_widths(widths: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    return tuple((-lo, -hi) for lo, hi in widths)


def _pad_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    new = dict(params)
    new["widths"] = ((0, 0),) * nb + tuple(params["widths"])
    return prim(vals[0], **new)


pad_p = Primitive("pad", _pad_impl, nin=1, saves=(), grad_fn_name="ConstantPadNdBackward0",
                  batching=_pad_batch)  # fmt: skip
pad_p.def_vjp(lambda g, ans, x, widths, value=0.0: pad_p(g, widths=_negate_widths(widths)))
# Affine in x when the fill value is not 0: the tangent is padded with zeros (not def_linear).
pad_p.def_jvp(lambda t, ans, x, widths, value=0.0: pad_p(t, widths=widths))
pad_p.def_jet(T.zero_filled(_pad_impl, value=0.0))


def _axis_widths(ndim: int, axis: int, lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    return tuple((lo, hi) if i == axis else (0, 0) for i in range(ndim))


# ---------------------------------------------------------------- concatenation of two
def _concat2_impl(a: Any, b: Any, *, axis: int, xp: Any = np) -> Any:
    return xp.concat((a, b), axis=axis)


def _concat2_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                   params: dict[str, Any]) -> Any:  # fmt: skip
    batch = batch_sizes(vals, flags, nb)
    a, b = (full_batch(v, f, nb, batch) for v, f in zip(vals, flags))
    ex = a._data.ndim - nb
    return prim(a, b, axis=shift_axis(int(params["axis"]), ex, nb))


# A primitive has a fixed number of inputs, so `concatenate` of k tensors is a balanced tree of
# two-input concatenations: O(total size x log k) copying, and each node's VJP is two crops.
concat2_p = Primitive("concat2", _concat2_impl, nin=2, saves=(), uses_shapes=True,
                      grad_fn_name="CatBackward0", batching=_concat2_batch)  # fmt: skip
concat2_p.def_vjp(
    lambda g, ans, a, b, axis: pad_p(g, widths=_axis_widths(len(a.shape), axis, 0, -b.shape[axis])),
    lambda g, ans, a, b, axis: pad_p(g, widths=_axis_widths(len(a.shape), axis, -a.shape[axis], 0)),
)
# Linear in (a, b) together, not in each with the other fixed: the tangent is padded with zeros.
concat2_p.def_jvp(
    lambda t, ans, a, b, axis: pad_p(t, widths=_axis_widths(len(a.shape), axis, 0, b.shape[axis])),
    lambda t, ans, a, b, axis: pad_p(t, widths=_axis_widths(len(a.shape), axis, a.shape[axis], 0)),
)
concat2_p.def_jet(T.zero_filled(_concat2_impl))


# ---------------------------------------------------------------- flip and roll
def _flip_impl(x: Any, *, axis: tuple[int, ...] | None = None, xp: Any = np) -> Any:
    return xp.flip(x, axis=axis)


flip_p = Primitive("flip", _flip_impl, nin=1, saves=(), grad_fn_name="FlipBackward0", batching="axis")
flip_p.def_vjp(lambda g, ans, x, axis=None: flip_p(g, axis=axis)).def_linear()


def _roll_impl(x: Any, *, shift: int | tuple[int, ...], axis: int | tuple[int, ...] | None = None,
               xp: Any = np) -> Any:  # fmt: skip
    return xp.roll(x, shift, axis=axis)


def _negate_shift(shift: int | tuple[int, ...]) -> int | tuple[int, ...]:
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


def _roll_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    shp = x._data.shape
    axis = params.get("axis")
    if axis is None:
        flat = reshape_p(x, shape=shp[:nb] + (-1,) if len(shp) > nb else shp[:nb] + (1,))
        rolled = prim(flat, shift=params["shift"], axis=nb)
        return reshape_p(rolled, shape=shp)
    return prim(x, shift=params["shift"], axis=shift_axes(axis, len(shp) - nb, nb))


roll_p = Primitive("roll", _roll_impl, nin=1, saves=(), grad_fn_name="RollBackward0", batching=_roll_batch)
roll_p.def_vjp(lambda g, ans, x, shift, axis=None: roll_p(g, shift=_negate_shift(shift), axis=axis)).def_linear()


# ---------------------------------------------------------------- more public functions
def _axis(axis: Any, ndim: int, op: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return int(axis) % ndim


def _axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(_axis(a, ndim, op) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return out


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    """Exchange two dimensions (a composite of ``transpose``).

    >>> import chainrule as cr
    >>> cr.swapaxes(cr.zeros((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    ndim = np.ndim(as_array(x))
    a, b = _axis(axis1, ndim, "swapaxes"), _axis(axis2, ndim, "swapaxes")
    perm = list(range(ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return ensure_tensor(transpose_p(x, axes=tuple(perm)))


def moveaxis(x: Any, source: Any, destination: Any) -> Any:
    """Move dimensions ``source`` to positions ``destination`` (a composite of ``transpose``).

    >>> import chainrule as cr
    >>> cr.moveaxis(cr.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    ndim = np.ndim(as_array(x))
    src = _axes(source, ndim, "moveaxis")
    dst = _axes(destination, ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length")
    order = [i for i in range(ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return ensure_tensor(transpose_p(x, axes=tuple(order)))


def permute(x: Any, *dims: Any) -> Any:
    """``transpose`` with PyTorch's spelling: ``permute(x, 2, 0, 1)`` or ``permute(x, (2, 0, 1))``.

    >>> import chainrule as cr
    >>> cr.permute(cr.zeros((2, 3, 4)), 2, 0, 1).shape
    (4, 2, 3)
    """
    if len(dims) == 1 and not isinstance(dims[0], (int, np.integer)):
        dims = tuple(dims[0])
    return transpose(x, dims)


def squeeze(x: Any, axis: Any = None) -> Any:
    """Remove size-1 dimensions: all of them, or those in ``axis`` (which must have size 1).

    A composite of ``reshape``.

    >>> import chainrule as cr
    >>> cr.squeeze(cr.zeros((1, 3, 1)), axis=0).shape
    (3, 1)
    """
    shape = np.shape(as_array(x))
    if axis is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = _axes(axis, len(shape), "squeeze")
        for a in axes:
            if shape[a] != 1:
                raise ValueError(
                    f"squeeze: cannot squeeze axis {a} of a tensor of shape {shape}: its size is "
                    f"{shape[a]}, not 1"
                )
    return ensure_tensor(reshape_p(x, shape=tuple(n for i, n in enumerate(shape) if i not in axes)))


def _needs_recording(xs: Any) -> bool:
    """Whether some input may be recorded (otherwise one NumPy call does the whole job)."""
    if state.busy:
        return True
    return state.grad_enabled and any(isinstance(a, Tensor) and a._requires_grad for a in xs)


def _as_list(xs: Any, op: str) -> list[Any]:
    if isinstance(xs, (Tensor, np.ndarray)) or not hasattr(xs, "__len__"):
        raise TypeError(f"{op}: expects a sequence (list or tuple) of tensors, got {type(xs).__name__}")
    xs = list(xs)
    if not xs:
        raise ValueError(f"{op}: needs at least one tensor")
    return xs


def concatenate(xs: Any, axis: int | None = 0) -> Any:
    """Join tensors along an existing dimension (all of them flattened when ``axis`` is None).

    A composite: a balanced tree of the two-input primitive ``concat2`` (a primitive's number of
    inputs is fixed), so the copying costs O(total size x log k) for k tensors.

    >>> import chainrule as cr
    >>> cr.concatenate([cr.ones((2, 2)), cr.zeros((1, 2))]).shape
    (3, 2)
    """
    xs = _as_list(xs, "concatenate")
    if axis is None:
        xs = [reshape_p(a, shape=(-1,)) for a in xs]
        axis = 0
    shapes = [np.shape(as_array(a)) for a in xs]
    ndim = len(shapes[0])
    if ndim == 0 or any(len(s) != ndim for s in shapes):
        raise ValueError(
            f"concatenate: all tensors need the same number of dimensions (at least 1), got shapes "
            f"{shapes}; use stack to join along a new dimension"
        )
    ax = _axis(axis, ndim, "concatenate")
    for s in shapes[1:]:
        if any(n != m for i, (n, m) in enumerate(zip(s, shapes[0])) if i != ax):
            raise ValueError(
                f"concatenate: shapes {shapes} differ outside axis {ax}; all dimensions except the "
                "concatenation axis must match"
            )
    if not _needs_recording(xs):
        datas = [as_array(a) for a in xs]
        if has_foreign(datas):
            return ensure_tensor(namespace_of(*datas).concat(datas, axis=ax))
        return ensure_tensor(np.concatenate(datas, axis=ax))
    if len(xs) == 1:
        return ensure_tensor(reshape_p(xs[0], shape=shapes[0]))
    while len(xs) > 1:
        pairs = [concat2_p(xs[i], xs[i + 1], axis=ax) for i in range(0, len(xs) - 1, 2)]
        xs = pairs + xs[-1:] if len(xs) % 2 else pairs
    return ensure_tensor(xs[0])


def stack(xs: Any, axis: int = 0) -> Any:
    """Join same-shape tensors along a new dimension ``axis`` (a composite of ``concatenate``).

    >>> import chainrule as cr
    >>> cr.stack([cr.ones(3), cr.zeros(3)], axis=1).shape
    (3, 2)
    """
    xs = _as_list(xs, "stack")
    shapes = [np.shape(as_array(a)) for a in xs]
    if any(s != shapes[0] for s in shapes):
        raise ValueError(f"stack: all tensors must have the same shape, got {shapes}")
    shape = shapes[0]
    ax = _axis(axis, len(shape) + 1, "stack")
    if not _needs_recording(xs):
        datas = [as_array(a) for a in xs]
        if has_foreign(datas):
            return ensure_tensor(namespace_of(*datas).stack(datas, axis=ax))
        return ensure_tensor(np.stack(datas, axis=ax))
    new_shape = shape[:ax] + (1,) + shape[ax:]
    return concatenate([reshape_p(a, shape=new_shape) for a in xs], axis=ax)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into a list of tensors along ``axis``, as ``numpy.split``.

    An int ``k`` makes k equal parts (the size must divide); a sequence of indices gives the cut
    points. Each part is a crop (``pad`` with negative widths), so its gradient lands in place.

    >>> import chainrule as cr
    >>> [p.shape for p in cr.split(cr.zeros((5, 2)), [2, 3])]
    [(2, 2), (1, 2), (2, 2)]
    """
    shape = np.shape(as_array(x))
    ax = _axis(axis, len(shape), "split")
    n = shape[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"split: the number of sections must be positive, got {k}")
        if n % k:
            raise ValueError(
                f"split: an axis of size {n} cannot be split into {k} equal sections; pass cut "
                "indices instead"
            )
        bounds = [(i * (n // k), (i + 1) * (n // k)) for i in range(k)]
    else:
        cuts = [int(c) for c in indices_or_sections]
        edges = [0, *cuts, n]
        bounds = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            start, stop, _ = slice(lo, hi).indices(n)
            bounds.append((start, stop if stop > start else start))
    return [
        ensure_tensor(pad_p(x, widths=_axis_widths(len(shape), ax, -start, stop - n)))
        for start, stop in bounds
    ]


def tile(x: Any, reps: Any) -> Any:
    """Repeat the whole tensor ``reps`` times along each dimension, as ``numpy.tile``.

    A composite of ``reshape`` and ``broadcast_to``.

    >>> import chainrule as cr
    >>> cr.tile(cr.tensor([1., 2.]), 2)
    tensor([1., 2., 1., 2.], dtype=float64)
    """
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    reps = tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative, got {reps}")
    shape = np.shape(as_array(x))
    d = len(shape) if len(shape) > len(reps) else len(reps)
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    interleaved = tuple(v for pair in zip((1,) * d, shape) for v in pair)
    target = tuple(v for pair in zip(reps, shape) for v in pair)
    y = broadcast_to_p(reshape_p(x, shape=interleaved), shape=target)
    return ensure_tensor(reshape_p(y, shape=tuple(r * n for r, n in zip(reps, shape))))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``axis`` (flattened first when None).

    As ``numpy.repeat`` (not ``torch.Tensor.repeat``, which is ``tile``). An int ``repeats`` is a
    composite of ``reshape``/``broadcast_to``; a per-element sequence uses ``take``.

    >>> import chainrule as cr
    >>> cr.repeat(cr.tensor([1., 2.]), 2)
    tensor([1., 1., 2., 2.], dtype=float64)
    """
    if axis is None:
        x = reshape_p(x, shape=(-1,))
        axis = 0
    shape = np.shape(as_array(x))
    ax = _axis(axis, len(shape), "repeat")
    if not isinstance(repeats, (int, np.integer)):
        # (A static setting, as NumPy's. A tensor is read through np.asarray, which cr.jit
        # refuses for a traced value: the program would keep the first call's counts.)
        counts = np.asarray(repeats) if isinstance(repeats, Tensor) else to_numpy(as_array(repeats))
        if counts.dtype.kind not in "iu" or counts.ndim > 1:
            raise TypeError(f"repeat: repeats must be an int or a 1-d sequence of ints, got {repeats!r}")
        if counts.size == 1:
            repeats = int(counts.reshape(()))
        else:
            if counts.shape[0] != shape[ax] or np.any(counts < 0):
                raise ValueError(
                    f"repeat: {counts.shape[0]} repeat counts for an axis of size {shape[ax]}; give "
                    "one non-negative count per element"
                )
            from chainrule.ops.indexing import take

            return take(x, np.repeat(np.arange(shape[ax]), counts), axis=ax)
    r = int(repeats)
    if r < 0:
        raise ValueError(f"repeat: repeats must be non-negative, got {r}")
    widened = shape[: ax + 1] + (1,) + shape[ax + 1 :]
    target = shape[: ax + 1] + (r,) + shape[ax + 1 :]
    y = broadcast_to_p(reshape_p(x, shape=widened), shape=target)
    return ensure_tensor(reshape_p(y, shape=shape[:ax] + (shape[ax] * r,) + shape[ax + 1 :]))


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float = 0) -> Any:
    """Pad with a constant, as ``numpy.pad(x, pad_width, constant_values=c)``.

    ``pad_width`` takes NumPy's forms: ``n``, ``(n,)``, ``(before, after)`` or one
    ``(before, after)`` pair per dimension. The gradient is the cotangent's inner block.

    >>> import chainrule as cr
    >>> cr.pad(cr.tensor([1., 2.]), (1, 2))
    tensor([0., 1., 2., 0., 0.], dtype=float64)
    """
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    if isinstance(constant_values, (list, tuple, np.ndarray)):
        raise TypeError("pad: constant_values must be a single number")
    value = float(np.asarray(constant_values)) if isinstance(constant_values, Tensor) else float(as_array(constant_values))
    ndim = np.ndim(as_array(x))
    widths = np.asarray(pad_width if isinstance(pad_width, Tensor) else as_array(pad_width))
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must hold integers, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: pad_width {pad_width!r} does not fit a tensor with {ndim} dimensions; give n, "
            "(before, after) or one (before, after) pair per dimension"
        ) from None
    if np.any(pairs < 0):
        raise ValueError(f"pad: pad_width must be non-negative, got {pad_width!r}")
    return ensure_tensor(pad_p(x, widths=tuple((int(a), int(b)) for a, b in pairs), value=value))


def flip(x: Any, axis: Any = None) -> Any:
    """Reverse the order of elements along ``axis`` (all dimensions when None).

    >>> import chainrule as cr
    >>> cr.flip(cr.tensor([1., 2., 3.]))
    tensor([3., 2., 1.], dtype=float64)
    """
    ndim = np.ndim(as_array(x))
    axes = None if axis is None else tuple(sorted(_axes(axis, ndim, "flip")))
    return ensure_tensor(flip_p(x, axis=axes))


def roll(x: Any, shift: Any, axis: Any = None) -> Any:
    """Shift elements cyclically along ``axis`` (over the flattened tensor when None).

    >>> import chainrule as cr
    >>> cr.roll(cr.tensor([1., 2., 3.]), 1)
    tensor([3., 1., 2.], dtype=float64)
    """
    ndim = np.ndim(as_array(x))
    if isinstance(shift, (int, np.integer)):
        shifts: int | tuple[int, ...] = int(shift)
    else:
        shifts = tuple(int(s) for s in shift)
    if axis is None:
        if isinstance(shifts, tuple):
            raise ValueError("roll: a sequence of shifts needs a matching sequence of axes")
        return ensure_tensor(roll_p(x, shift=shifts, axis=None))
    if isinstance(axis, (int, np.integer)):
        axes: int | tuple[int, ...] = _axis(axis, ndim, "roll")
        if isinstance(shifts, tuple):
            # NumPy rolls the same axis once per shift.
            axes = (axes,) * len(shifts)
    else:
        axes = tuple(_axis(a, ndim, "roll") for a in axis)
        if isinstance(shifts, int):
            shifts = (shifts,) * len(axes)
        elif len(shifts) != len(axes):
            raise ValueError(f"roll: shift {shift} and axis {axis} must have the same length")
    return ensure_tensor(roll_p(x, shift=shifts, axis=axes))


def stack_sequence(seq: Any) -> Any:
    """A (nested) list or tuple of tensors and numbers as one tensor, differentiably (stacked)."""
    items = [stack_sequence(item) if isinstance(item, (list, tuple)) else item for item in seq]
    if not items:
        return ensure_tensor(np.asarray(seq, dtype=np.float64))
    shapes = {np.shape(as_array(item)) for item in items}
    if len(shapes) > 1:
        raise ValueError(
            f"a list of tensors is stacked into one array, but its entries have different shapes "
            f"{sorted(shapes)}; give them one shape (pad or reshape), or stack them yourself"
        )
    return stack(items)


def install() -> None:
    """Attach the shape methods to Tensor (NumPy names, plus PyTorch's permute/unsqueeze)."""
    SEQUENCE_TO_TENSOR[0] = stack_sequence
    Tensor.swapaxes = lambda self, axis1, axis2: swapaxes(self, axis1, axis2)
    Tensor.moveaxis = lambda self, source, destination: moveaxis(self, source, destination)
    Tensor.squeeze = lambda self, axis=None: squeeze(self, axis)
    Tensor.flip = lambda self, *axis: flip(self, _varargs_axes(axis))
    Tensor.roll = lambda self, shift, axis=None: roll(self, shift, axis)
    Tensor.tile = lambda self, *reps: tile(self, reps[0] if len(reps) == 1 else reps)
    Tensor.permute = lambda self, *dims: permute(self, *dims)
    Tensor.unsqueeze = lambda self, dim: expand_dims(self, dim)
    # NumPy's ravel method (chainrule.numpy): a C-order flat copy of the values, differentiable.
    Tensor.ravel = _ravel_method


def _ravel_method(self: Tensor, order: str = "C") -> Any:
    if order != "C":
        raise ValueError(f"Tensor.ravel: order={order!r} is not supported; chainrule tensors are C-ordered")
    return reshape(self, -1)


def _varargs_axes(axes: tuple[Any, ...]) -> Any:
    if not axes:
        return None
    if len(axes) == 1:
        return axes[0]
    return axes


# ---------------------------------------------------------------- NumPy's further shape functions
# Composites of the primitives above (and of where): each is exact, and its rules are theirs.
def _operand(x: Any) -> Any:
    """A Tensor (or a list holding tensors, stacked) as is; anything else as an ndarray."""
    from chainrule.ops._api import as_operand

    return as_operand(x)


def _triangle(x: Any, k: Any, op: str, lower: bool) -> Any:
    from chainrule.ops.binary import where_p

    x = _operand(x)
    shape = np.shape(as_array(x))
    if not shape:
        raise ValueError(f"{op}: needs at least 1 dimension, got a 0-d tensor; reshape it first")
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"{op}: k must be an int (the diagonal offset), got {k!r}")
    n, m = shape[-2:] if len(shape) >= 2 else (shape[0], shape[0])
    mask = np.tri(n, m, int(k), dtype=bool) if lower else ~np.tri(n, m, int(k) - 1, dtype=bool)
    data = as_array(x)
    if has_foreign((data,)):
        # The mask and the zero in the tensor's own library (they cannot mix with NumPy's).
        xp = namespace_of(data)
        return ensure_tensor(where_p(xp.asarray(mask), x, xp.zeros((), dtype=data.dtype)))
    zero = np.zeros((), dtype=np.asarray(data).dtype)
    # Selected, not multiplied by the mask: an inf or NaN above the diagonal gives 0, as NumPy.
    return ensure_tensor(where_p(mask, x, zero))


def tril(m: Any, k: int = 0) -> Any:
    """The lower triangle: entries above diagonal ``k`` set to 0 (``numpy.tril``), over the last
    two axes; a 1-d input is repeated as rows first.

    >>> import chainrule as cr
    >>> cr.tril(cr.ones((3, 3)), k=-1)
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.]], dtype=float64)
    """
    return _triangle(m, k, "tril", lower=True)


def triu(m: Any, k: int = 0) -> Any:
    """The upper triangle: entries below diagonal ``k`` set to 0 (``numpy.triu``), over the last
    two axes; a 1-d input is repeated as rows first.

    >>> import chainrule as cr
    >>> cr.triu(cr.ones((2, 3)), k=1)
    tensor([[0., 1., 1.],
            [0., 0., 1.]], dtype=float64)
    """
    return _triangle(m, k, "triu", lower=False)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` joined after ``arr`` (``numpy.append``): both flattened when ``axis`` is None,
    else along ``axis``, where their other dimensions must match.

    >>> import chainrule as cr
    >>> cr.append(cr.tensor([[1., 2.]]), [[3., 4.]], axis=0).shape
    (2, 2)
    >>> cr.append(cr.tensor([[1., 2.]]), 3.0)
    tensor([1., 2., 3.], dtype=float64)
    """
    arr, values = _operand(arr), _operand(values)
    if axis is None:
        arr = reshape_p(arr, shape=(-1,))
        values = reshape_p(values, shape=(-1,))
        axis = 0
    a_shape, v_shape = np.shape(as_array(arr)), np.shape(as_array(values))
    if len(a_shape) != len(v_shape):
        raise ValueError(
            f"append: arr of shape {a_shape} and values of shape {v_shape} differ in their number "
            "of dimensions; with an axis they must match (or pass axis=None to flatten both)"
        )
    return concatenate([arr, values], axis=axis)


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least 1 dimension (a 0-d one becomes shape ``(1,)``); one input gives
    one tensor, several a tuple (``numpy.atleast_1d``).

    >>> import chainrule as cr
    >>> cr.atleast_1d(cr.tensor(2.0)).shape
    (1,)
    """
    return _at_least(arys, 1, "atleast_1d")


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least 2 dimensions: ``(n,)`` becomes ``(1, n)`` (``numpy.atleast_2d``).

    >>> import chainrule as cr
    >>> cr.atleast_2d(cr.tensor([1., 2.])).shape
    (1, 2)
    """
    return _at_least(arys, 2, "atleast_2d")


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least 3 dimensions: ``(n,)`` becomes ``(1, n, 1)`` and ``(m, n)``
    becomes ``(m, n, 1)`` (``numpy.atleast_3d``).

    >>> import chainrule as cr
    >>> cr.atleast_3d(cr.ones((2, 3))).shape
    (2, 3, 1)
    """
    return _at_least(arys, 3, "atleast_3d")


def _at_least(arys: tuple[Any, ...], ndim: int, op: str) -> Any:
    if not arys:
        raise TypeError(f"{op}: needs at least one array")
    outs = []
    for a in arys:
        a = _operand(a)
        shape = np.shape(as_array(a))
        if len(shape) < ndim:
            if ndim == 3 and len(shape) == 1:
                shape = (1, *shape, 1)
            elif ndim == 3 and len(shape) == 2:
                shape = (*shape, 1)
            else:
                shape = (1,) * (ndim - len(shape)) + shape
            a = reshape_p(a, shape=shape)
        outs.append(ensure_tensor(a))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _sequence(tup: Any, op: str) -> list[Any]:
    return _as_list(_rows(tup, op), op)


def _rows(seq: Any, op: str) -> Any:
    """A tensor or array given where a sequence is expected is the sequence of its rows (NumPy
    iterates it); anything else is returned as is."""
    if isinstance(seq, (Tensor, np.ndarray)):
        shape = np.shape(as_array(seq))
        if not shape:
            raise TypeError(
                f"{op}: expects a sequence of arrays, got a 0-d {type(seq).__name__}; wrap it in a "
                "list ([x])"
            )
        from chainrule.ops.indexing import getitem

        return [getitem(seq, i) for i in range(shape[0])]
    return seq


def _cast(out: Any, dtype: Any, casting: str, op: str) -> Any:
    if casting != "same_kind":
        raise ValueError(f"{op}: only casting='same_kind' is supported, got casting={casting!r}")
    return out if dtype is None else astype(out, dtype)


def vstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join along the first axis after ``atleast_2d`` (``numpy.vstack``): 1-d inputs are rows.

    >>> import chainrule as cr
    >>> cr.vstack([cr.tensor([1., 2.]), cr.tensor([3., 4.])]).shape
    (2, 2)
    """
    xs = [atleast_2d(a) for a in _sequence(tup, "vstack")]
    return _cast(concatenate(xs, axis=0), dtype, casting, "vstack")


def row_stack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """``vstack`` under its older NumPy name.

    >>> import chainrule as cr
    >>> cr.row_stack([cr.tensor([1., 2.]), cr.tensor([3., 4.])]).shape
    (2, 2)
    """
    return vstack(tup, dtype=dtype, casting=casting)


def hstack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """Join along the second axis, or the first for 1-d inputs (``numpy.hstack``).

    >>> import chainrule as cr
    >>> cr.hstack([cr.tensor([1., 2.]), cr.tensor([3.])])
    tensor([1., 2., 3.], dtype=float64)
    """
    xs = [atleast_1d(a) for a in _sequence(tup, "hstack")]
    axis = 0 if xs[0].ndim == 1 else 1
    return _cast(concatenate(xs, axis=axis), dtype, casting, "hstack")


def dstack(tup: Any) -> Any:
    """Join along the third axis after ``atleast_3d`` (``numpy.dstack``).

    >>> import chainrule as cr
    >>> cr.dstack([cr.ones((2, 3)), cr.zeros((2, 3))]).shape
    (2, 3, 2)
    """
    xs = [atleast_3d(a) for a in _sequence(tup, "dstack")]
    return concatenate(xs, axis=2)


def column_stack(tup: Any) -> Any:
    """1-d inputs as columns, 2-d ones as they are, joined along the second axis
    (``numpy.column_stack``).

    >>> import chainrule as cr
    >>> cr.column_stack([cr.tensor([1., 2.]), cr.tensor([3., 4.])])
    tensor([[1., 3.],
            [2., 4.]], dtype=float64)
    """
    xs = []
    for a in _sequence(tup, "column_stack"):  # (rows of a tensor, as NumPy iterates it)
        a = _operand(a)
        shape = np.shape(as_array(a))
        if len(shape) < 2:
            a = reshape_p(a, shape=(int(np.prod(shape)), 1))
        xs.append(a)
    return concatenate(xs, axis=1)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """``split`` that allows unequal parts (``numpy.array_split``): ``k`` sections of an axis of
    size ``n`` are ``n % k`` parts of size ``n // k + 1``, then parts of size ``n // k``.

    >>> import chainrule as cr
    >>> [p.shape for p in cr.array_split(cr.arange(5.0), 3)]
    [(2,), (2,), (1,)]
    """
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(indices_or_sections, bool):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {k}")
        shape = np.shape(as_array(ary))
        n = shape[_axis(axis, len(shape), "array_split")] if shape else 0
        each, extras = divmod(n, k)
        sizes = [each + 1] * extras + [each] * (k - extras)
        indices_or_sections = [int(c) for c in np.cumsum(sizes)[:-1]]
    return split(ary, indices_or_sections, axis=axis)


def _split_family(ary: Any, indices_or_sections: Any, axis: int, need: int, op: str) -> list[Any]:
    ndim = np.ndim(as_array(ary))
    if ndim < need:
        raise ValueError(
            f"{op}: needs a tensor of at least {need} dimension(s), got shape {np.shape(as_array(ary))}"
        )
    return split(ary, indices_or_sections, axis=axis)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along the first axis of a tensor of at least 2 dimensions (``numpy.vsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.vsplit(cr.ones((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    return _split_family(ary, indices_or_sections, 0, 2, "vsplit")


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along the second axis (the first of a 1-d tensor) (``numpy.hsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.hsplit(cr.ones((2, 4)), [1])]
    [(2, 1), (2, 3)]
    """
    ndim = np.ndim(as_array(ary))
    return _split_family(ary, indices_or_sections, 1 if ndim > 1 else 0, 1, "hsplit")


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along the third axis of a tensor of at least 3 dimensions (``numpy.dsplit``).

    >>> import chainrule as cr
    >>> [p.shape for p in cr.dsplit(cr.ones((1, 2, 4)), 2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    return _split_family(ary, indices_or_sections, 2, 3, "dsplit")


def flipud(m: Any) -> Any:
    """Reverse the first axis (``numpy.flipud``).

    >>> import chainrule as cr
    >>> cr.flipud(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[3., 4.],
            [1., 2.]], dtype=float64)
    """
    m = _operand(m)
    if np.ndim(as_array(m)) < 1:
        raise ValueError("flipud: needs a tensor of at least 1 dimension, got a 0-d tensor")
    return flip(m, 0)


def fliplr(m: Any) -> Any:
    """Reverse the second axis (``numpy.fliplr``).

    >>> import chainrule as cr
    >>> cr.fliplr(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[2., 1.],
            [4., 3.]], dtype=float64)
    """
    m = _operand(m)
    if np.ndim(as_array(m)) < 2:
        raise ValueError(f"fliplr: needs a tensor of at least 2 dimensions, got shape {np.shape(as_array(m))}")
    return flip(m, 1)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, from the first axis towards the
    second (``numpy.rot90``); a composite of ``flip`` and ``transpose``.

    >>> import chainrule as cr
    >>> cr.rot90(cr.tensor([[1., 2.], [3., 4.]]))
    tensor([[2., 4.],
            [1., 3.]], dtype=float64)
    """
    m = _operand(m)
    ndim = np.ndim(as_array(m))
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes}")
    if ndim < 2:
        raise ValueError(f"rot90: needs a tensor of at least 2 dimensions, got shape {np.shape(as_array(m))}")
    a0, a1 = _axis(axes[0], ndim, "rot90"), _axis(axes[1], ndim, "rot90")
    if a0 == a1:
        raise ValueError(f"rot90: the two axes must differ, got {axes}")
    k = int(k) % 4
    if k == 0:
        return ensure_tensor(reshape_p(m, shape=np.shape(as_array(m))))
    if k == 2:
        return flip(m, (a0, a1))
    perm = list(range(ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), perm)
    return flip(transpose(m, perm), a1)


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Move ``axis`` to come before position ``start`` (``numpy.rollaxis``; ``moveaxis`` is the
    clearer spelling).

    >>> import chainrule as cr
    >>> cr.rollaxis(cr.zeros((3, 4, 5, 6)), 3, 1).shape
    (3, 6, 4, 5)
    """
    a = _operand(a)
    ndim = np.ndim(as_array(a))
    ax = _axis(axis, ndim, "rollaxis")
    if not isinstance(start, (int, np.integer)) or isinstance(start, bool):
        raise TypeError(f"rollaxis: start must be an int, got {type(start).__name__}")
    st = int(start) + ndim if start < 0 else int(start)
    if not 0 <= st < ndim + 1:
        raise ValueError(f"rollaxis: start {start} is out of range; it needs {-ndim} <= start < {ndim + 1}")
    if ax < st:
        st -= 1
    order = [i for i in range(ndim) if i != ax]
    order.insert(st, ax)
    return ensure_tensor(transpose_p(a, axes=tuple(order)))


# ---------------------------------------------------------------- r_ and c_
def _holds_tensor(item: Any) -> bool:
    if isinstance(item, Tensor):
        return True
    return isinstance(item, (list, tuple)) and any(_holds_tensor(i) for i in item)


class _Concatenator:
    """NumPy's ``r_``/``c_`` index tricks, differentiable in the tensors they join.

    >>> import chainrule as cr
    >>> x = cr.tensor([1., 2.], requires_grad=True)
    >>> cr.r_[x, 0.0, 5:7]
    tensor([1., 2., 0., 5., 6.], dtype=float64, grad_fn=<CatBackward0>)
    >>> cr.c_[x, x].shape
    (2, 2)
    """

    def __init__(self, name: str, axis: int, ndmin: int, trans1d: int) -> None:
        self._name, self._axis, self._ndmin, self._trans1d = name, axis, ndmin, trans1d

    def __repr__(self) -> str:
        return f"chainrule.{self._name}"

    def __len__(self) -> int:
        return 0

    def __getitem__(self, key: Any) -> Any:
        name = self._name
        key = key if isinstance(key, tuple) else (key,)
        if key and isinstance(key[0], str) and key[0] in ("r", "c"):
            raise ValueError(
                f"{name}: the matrix directives 'r' and 'c' (numpy.matrix output) are not supported; "
                f"build the array with {name}[...] and reshape it"
            )
        if not any(_holds_tensor(item) for item in key):
            # Constants only: NumPy's own result, as a tensor.
            return ensure_tensor(np.asarray((np.r_ if name == "r_" else np.c_)[key]))
        axis, ndmin, trans1d = self._axis, self._ndmin, self._trans1d
        objs: list[Any] = []
        kinds: list[Any] = []  # dtypes, or the scalars themselves (NumPy's weak scalars)
        for k, item in enumerate(key):
            if isinstance(item, str):
                if k != 0:
                    raise ValueError(f"{name}: a directive string must be the first entry, got {item!r} at {k}")
                try:
                    parts = [int(v) for v in item.split(",")]
                except ValueError:
                    raise ValueError(
                        f"{name}: unknown directive {item!r}; give 'axis', 'axis,ndmin' or "
                        "'axis,ndmin,trans1d' as integers"
                    ) from None
                if not 1 <= len(parts) <= 3:
                    raise ValueError(f"{name}: unknown directive {item!r}")
                axis = parts[0]
                if len(parts) > 1:
                    ndmin = parts[1]
                if len(parts) > 2:
                    trans1d = parts[2]
                continue
            if isinstance(item, slice):
                const = np.asarray(np.r_[item])
                if ndmin > 1:
                    const = np.array(const, ndmin=ndmin)
                    if trans1d != -1:
                        const = const.swapaxes(-1, trans1d)
                objs.append(const)
                kinds.append(const.dtype)
                continue
            if isinstance(item, (bool, int, float, np.generic)):
                objs.append(item)
                kinds.append(item)
                continue
            obj = as_operand_like(item)
            shape = np.shape(as_array(obj))
            if len(shape) < ndmin:
                obj = reshape_p(obj, shape=(1,) * (ndmin - len(shape)) + shape)
                if trans1d != -1:
                    k2 = ndmin - len(shape)
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    order = list(range(ndmin))
                    obj = transpose_p(obj, axes=tuple(order[:k1] + order[k2:] + order[k1:k2]))
            objs.append(obj)
            kinds.append(_numpy_dtype(as_array(obj).dtype))
        if not objs:
            raise ValueError(f"{name}: nothing to join")
        dtype = np.result_type(*kinds)
        datas = [as_array(obj) for obj in objs if isinstance(obj, Tensor)]
        xp = namespace_of(*datas) if has_foreign(datas) else np
        joined = []
        for obj in objs:
            if isinstance(obj, (bool, int, float, np.generic)):
                obj = np.array(obj, ndmin=ndmin, dtype=dtype)
            elif _numpy_dtype(as_array(obj).dtype) != dtype:
                obj = astype_p(obj, dtype=dtype)
            if xp is not np and isinstance(obj, np.ndarray):
                # Constants join the tensors' library (NumPy arrays do not mix with another's).
                obj = xp.asarray(obj, dtype=library_dtype(xp, dtype))
            joined.append(obj)
        return concatenate(joined, axis=axis)


def _numpy_dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:  # another library's dtype: NumPy's of the same name
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def as_operand_like(item: Any) -> Any:
    from chainrule.ops._api import as_operand

    return as_operand(item)


r_ = _Concatenator("r_", axis=0, ndmin=1, trans1d=-1)
r_.__doc__ = """Join along the first axis with NumPy's ``r_`` syntax, differentiably in tensors.

Slices become ranges (``1:4``, or ``0:1:5j`` for 5 points), scalars and arrays are joined; a
leading string ``'axis'``, ``'axis,ndmin'`` or ``'axis,ndmin,trans1d'`` sets how. NumPy's own
``numpy.r_`` reads tensors as plain arrays and drops their gradients: use this one.

>>> import chainrule as cr
>>> x = cr.tensor([1., 2.], requires_grad=True)
>>> y = cr.r_[x, 0.0, 5:7]
>>> y
tensor([1., 2., 0., 5., 6.], dtype=float64, grad_fn=<CatBackward0>)
"""
c_ = _Concatenator("c_", axis=-1, ndmin=2, trans1d=0)
c_.__doc__ = """Join along the last axis with NumPy's ``c_`` syntax (1-d inputs become columns),
differentiably in tensors.

>>> import chainrule as cr
>>> cr.c_[cr.tensor([1., 2.]), cr.tensor([3., 4.])]
tensor([[1., 3.],
        [2., 4.]], dtype=float64)
"""
