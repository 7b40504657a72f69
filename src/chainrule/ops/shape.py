"""Shape primitives: they move or copy values without arithmetic.

Their rules read only the input's shape (``uses_shapes``), so no input array is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive
from chainrule.ops._api import as_array, ensure_tensor

__all__ = ["reshape", "broadcast_to", "sum_to", "transpose", "astype", "expand_dims", "flatten"]


def _normalize_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


# ---------------------------------------------------------------- reshape
def _reshape_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    return np.reshape(x, shape)


reshape_p = Primitive("reshape", _reshape_impl, nin=1, saves=(), uses_shapes=True,
                      grad_fn_name="ViewBackward0")  # fmt: skip
reshape_p.def_vjp(lambda g, ans, x, shape: reshape_p(g, shape=x.shape))
reshape_p.def_jvp(lambda t, ans, x, shape: reshape_p(t, shape=shape))


# ---------------------------------------------------------------- broadcast_to and sum_to
def _broadcast_to_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    return np.broadcast_to(x, shape)


def _sum_to_impl(x: Any, *, shape: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1
    )
    out = np.sum(x, axis=axes, keepdims=True) if axes else x
    return np.reshape(out, shape)


broadcast_to_p = Primitive("broadcast_to", _broadcast_to_impl, nin=1, saves=(), uses_shapes=True,
                           grad_fn_name="ExpandBackward0")  # fmt: skip
sum_to_p = Primitive("sum_to", _sum_to_impl, nin=1, saves=(), uses_shapes=True,
                     grad_fn_name="SumToBackward0")  # fmt: skip
broadcast_to_p.def_vjp(lambda g, ans, x, shape: sum_to_p(g, shape=x.shape))
broadcast_to_p.def_jvp(lambda t, ans, x, shape: broadcast_to_p(t, shape=shape))
sum_to_p.def_vjp(lambda g, ans, x, shape: broadcast_to_p(g, shape=x.shape))
sum_to_p.def_jvp(lambda t, ans, x, shape: sum_to_p(t, shape=shape))


# ---------------------------------------------------------------- transpose
def _transpose_impl(x: Any, *, axes: tuple[int, ...] | None = None) -> Any:
    return np.transpose(x, axes)


def _inverse_axes(axes: tuple[int, ...] | None, ndim: int) -> tuple[int, ...] | None:
    if axes is None:
        return None
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


transpose_p = Primitive("transpose", _transpose_impl, nin=1, saves=(), uses_shapes=True,
                        grad_fn_name="PermuteBackward0")  # fmt: skip
transpose_p.def_vjp(
    lambda g, ans, x, axes=None: transpose_p(g, axes=_inverse_axes(axes, len(x.shape)))
)
transpose_p.def_jvp(lambda t, ans, x, axes=None: transpose_p(t, axes=axes))


# ---------------------------------------------------------------- astype
def _astype_impl(x: Any, *, dtype: Any) -> Any:
    return np.asarray(x).astype(dtype, copy=False)


astype_p = Primitive("astype", _astype_impl, nin=1, saves=(), uses_shapes=True,
                     grad_fn_name="ToCopyBackward0")  # fmt: skip
astype_p.def_vjp(lambda g, ans, x, dtype: astype_p(g, dtype=x.dtype))
astype_p.def_jvp(lambda t, ans, x, dtype: astype_p(t, dtype=dtype))


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
    dt = np.dtype(dtype)
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
