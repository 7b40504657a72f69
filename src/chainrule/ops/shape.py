"""Shape primitives: they move or copy values without arithmetic.

Their rules read only the input's shape (``uses_shapes``), so no input array is kept. Most are
linear in their input (``def_linear``: the JVP is the op on the tangent); ``pad`` (its fill value)
and ``concat2`` (linear in both inputs together) write their JVPs out. Their vmap rules mostly
prefix the batch axes to a ``shape``/``axes``/``widths`` setting.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from chainrule.core.dispatch import SEQUENCE_TO_TENSOR
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor
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


def _normalize_shape(shape: Any, op: str = "reshape") -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{op}: the shape must be an int or a sequence of ints, got {shape!r}") from None


# ---------------------------------------------------------------- reshape
def _reshape_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape)


def _reshape_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    return prim(x, shape=x._data.shape[:nb] + tuple(params["shape"]))


reshape_p = Primitive("reshape", _reshape_impl, nin=1, saves=(), uses_shapes=True, view=True,
                      grad_fn_name="ViewBackward0", batching=_reshape_batch)  # fmt: skip
reshape_p.def_vjp(lambda g, ans, x, shape: reshape_p(g, shape=x.shape)).def_linear()
reshape_p.def_view(lambda base, value, shape: reshape_p(value, shape=base.shape))


# ---------------------------------------------------------------- broadcast_to and sum_to
def _broadcast_to_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape)


def _sum_to_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    if lead > 0 and shape and x.shape[lead:] == shape:
        # Only leading axes go (a bias's gradient): one reduction straight to the shape, an array
        # of its own, so the engine need not copy it into ``.grad``.
        return np.add.reduce(x, axis=tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


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
def _transpose_impl(x: Any, *, axes: tuple[int, ...] | None = None) -> Any:
    return np.transpose(x, axes)


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
def _astype_impl(x: Any, *, dtype: Any) -> Any:
    return np.asarray(x).astype(dtype, copy=False)


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
    size = int(np.size(as_array(x)))
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
    if dt.kind not in "fiub":
        raise TypeError(f"astype: unsupported dtype {dt}; use float32, float64, an integer or bool")
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
def _pad_impl(x: Any, *, widths: tuple[tuple[int, int], ...], value: float = 0.0) -> Any:
    # Negative widths crop: pad(., w) and pad(., -w) are adjoint, so one primitive serves padding,
    # slicing out a block (split, the VJP of concatenation) and the VJP of both.
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


def _axis_widths(ndim: int, axis: int, lo: int, hi: int) -> tuple[tuple[int, int], ...]:
    return tuple((lo, hi) if i == axis else (0, 0) for i in range(ndim))


# ---------------------------------------------------------------- concatenation of two
def _concat2_impl(a: Any, b: Any, *, axis: int) -> Any:
    return np.concatenate((a, b), axis=axis)


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


# ---------------------------------------------------------------- flip and roll
def _flip_impl(x: Any, *, axis: tuple[int, ...] | None = None) -> Any:
    return np.flip(x, axis)


flip_p = Primitive("flip", _flip_impl, nin=1, saves=(), grad_fn_name="FlipBackward0", batching="axis")
flip_p.def_vjp(lambda g, ans, x, axis=None: flip_p(g, axis=axis)).def_linear()


def _roll_impl(x: Any, *, shift: int | tuple[int, ...], axis: int | tuple[int, ...] | None = None) -> Any:
    return np.roll(x, shift, axis)


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
        return ensure_tensor(np.concatenate([as_array(a) for a in xs], axis=ax))
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
        return ensure_tensor(np.stack([as_array(a) for a in xs], axis=ax))
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
        counts = np.asarray(as_array(repeats))
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
    value = float(as_array(constant_values))
    ndim = np.ndim(as_array(x))
    widths = np.asarray(as_array(pad_width))
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


def _varargs_axes(axes: tuple[Any, ...]) -> Any:
    if not axes:
        return None
    if len(axes) == 1:
        return axes[0]
    return axes
