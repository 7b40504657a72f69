"""Creating tensors: from data, filled, ranges. Floats default to float64 in the native API."""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, is_plain, namespace_of
from chainrule.core.tensor import Tensor
from chainrule.ops._api import bind_sequence

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "eye", "arange", "linspace",
    "zeros_like", "ones_like", "full_like", "empty",
]  # fmt: skip


def _shape(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"{op}: negative dimension in shape {out}; sizes must be >= 0")
    return out


def _dtype(dtype: Any, default: Any = np.float64) -> np.dtype:
    dt = np.dtype(default if dtype is None else dtype)
    if dt.kind not in "fciub":
        raise TypeError(f"unsupported dtype {dt}: use float32, float64, complex64, complex128, an integer type or bool")
    return dt


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, NumPy arrays, numbers, tensors).

    >>> import chainrule as cr
    >>> cr.tensor([1, 2]).dtype, cr.tensor([1.0, 2.0]).dtype
    (dtype('int64'), dtype('float64'))
    """
    if isinstance(data, Tensor):
        data = data._data
    return Tensor(data, dtype=None if dtype is None else _dtype(dtype), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a tensor, without copying when it already is one of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, (list, tuple)):
        stacked = bind_sequence(data)  # a list of tensors keeps their history, as jnp.asarray
        if stacked is not None:
            return stacked if dtype is None else stacked.astype(_dtype(dtype))
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares memory with ``array``: no copy, so writes to either show in both.

    The array's dtype is kept (float, integer or bool). NumPy-side writes are not seen by the
    engine's version counter, so do not change an array whose tensor an op has saved for backward.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> a = np.zeros(2)
    >>> t = cr.from_numpy(a)
    >>> a[0] = 5.0
    >>> t
    tensor([5., 0.], dtype=float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy ndarray, got {type(array).__name__}")
    if array.dtype.kind not in "fciub":
        raise TypeError(
            f"from_numpy: unsupported dtype {array.dtype}; chainrule tensors hold float, complex, "
            "integer or bool data"
        )
    if not array.dtype.isnative:
        raise TypeError(
            f"from_numpy: the array has non-native byte order ({array.dtype}); convert it with "
            "array.astype(array.dtype.newbyteorder('='))"
        )
    t = Tensor(np.empty(0, array.dtype))
    t._data = array
    return t


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros.

    >>> import chainrule as cr
    >>> cr.zeros(2, 3).shape
    (2, 3)
    """
    return Tensor(np.zeros(_shape(shape, "zeros"), _dtype(dtype)), requires_grad=requires_grad)


def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given shape (filled with zeros: chainrule never hands out garbage)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones.

    >>> import chainrule as cr
    >>> cr.ones(2)
    tensor([1., 1.], dtype=float64)
    """
    return Tensor(np.ones(_shape(shape, "ones"), _dtype(dtype)), requires_grad=requires_grad)


def full(shape: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value``.

    >>> import chainrule as cr
    >>> cr.full((2,), 7.0)
    tensor([7., 7.], dtype=float64)
    """
    shp = _shape((shape,), "full") if not isinstance(shape, (int, np.integer)) else _shape((shape,), "full")
    if dtype is None:
        dtype = np.asarray(fill_value).dtype if not isinstance(fill_value, float) else np.float64
    return Tensor(np.full(shp, fill_value, _dtype(dtype)), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (``n`` by ``m``).

    >>> import chainrule as cr
    >>> cr.eye(2)
    tensor([[1., 0.],
            [0., 1.]], dtype=float64)
    """
    for size in (n, m):
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))):
            raise TypeError(f"eye: n and m must be integers, got n={n!r}, m={m!r}")
    if n < 0 or (m is not None and m < 0):
        raise ValueError(f"eye: sizes must be >= 0, got n={n}, m={m}")
    return Tensor(np.eye(n, m, dtype=_dtype(dtype)), requires_grad=requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Evenly spaced values in ``[start, stop)``, as ``numpy.arange``.

    >>> import chainrule as cr
    >>> cr.arange(3)
    tensor([0, 1, 2], dtype=int64)
    """
    if step == 0:
        raise ValueError("arange: step must not be zero")
    data = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is not None:
        data = data.astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``num`` evenly spaced values from ``start`` to ``stop`` (inclusive when ``endpoint``).

    The values are NumPy's. When ``start`` or ``stop`` is a Tensor, the result is computed from
    it with differentiable ops (``start + i * (stop - start) / div``, the last entry ``stop``
    itself), so it is differentiable in both, as ``jax.numpy.linspace`` is. Arrays of starts and
    stops give one sequence per entry, along a new first axis.

    >>> import chainrule as cr
    >>> cr.linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ], dtype=float64)
    >>> b = cr.tensor(2.0, requires_grad=True)
    >>> cr.linspace(0.0, b, 5).sum().backward()
    >>> b.grad
    tensor(2.5, dtype=float64)
    """
    try:
        num = operator.index(num)
    except TypeError:
        raise TypeError(f"linspace: num must be an integer, got {num!r}") from None
    if num < 0:
        raise ValueError(f"linspace: num must be >= 0, got {num}")
    if not isinstance(endpoint, (bool, np.bool_)):
        raise TypeError(
            f"linspace: endpoint must be True or False, got {endpoint!r} (pass dtype by keyword: "
            "linspace(start, stop, num, dtype=...))"
        )
    dt = _dtype(dtype)
    tensors = [v for v in (start, stop) if isinstance(v, Tensor)]
    if not tensors or dt.kind != "f":
        # Integer results carry no gradient; plain numbers need no graph.
        values = [v._data if isinstance(v, Tensor) else v for v in (start, stop)]
        data = np.linspace(values[0], values[1], num, endpoint=bool(endpoint), dtype=dt)
        return Tensor(data, requires_grad=requires_grad)
    if requires_grad and any(t.requires_grad for t in tensors):
        raise ValueError(
            "linspace: requires_grad=True asks for a new leaf, but start/stop already require "
            "grad, so the result is computed from them and tracks them; drop requires_grad=True"
        )
    out = _linspace_from(start, stop, num, bool(endpoint), dt)
    return out.requires_grad_() if requires_grad else out


def _linspace_from(start: Any, stop: Any, num: int, endpoint: bool, dt: np.dtype) -> Tensor:
    """linspace composed from primitives, following NumPy's arithmetic step by step (so the
    values agree with ``np.linspace``) with the start and stop kept differentiable."""
    from chainrule.ops.binary import where_p
    from chainrule.ops.shape import astype_p

    raw = [v._data if isinstance(v, Tensor) else np.asarray(v) for v in (start, stop)]
    xp = namespace_of(*raw)
    if xp is not np:
        return _linspace_xp(start, stop, num, endpoint, dt, raw, xp)
    work = np.result_type(*raw, 1.0)  # at least a float, as np.linspace computes
    start = astype_p(start, dtype=work) if raw[0].dtype != work else start
    stop = astype_p(stop, dtype=work) if raw[1].dtype != work else stop
    delta = stop - start
    extra = np.shape(delta._data if isinstance(delta, Tensor) else delta)
    grid = np.arange(num, dtype=work).reshape((num,) + (1,) * len(extra))
    div = num - 1 if endpoint else num
    if div > 0:
        step = delta / div
        step_data = step._data if isinstance(step, Tensor) else np.asarray(step)
        # NumPy's fallback when the step underflows to 0: scale the grid first.
        y = (grid / div) * delta if np.any(step_data == 0) else grid * step
    else:
        # num == 1 with endpoint (or num == 0): no step; y is start.
        y = grid * delta
    y = y + start
    if endpoint and num > 1:
        y = where_p(np.arange(num).reshape(grid.shape) == num - 1, stop, y)
    if not isinstance(y, Tensor):
        y = Tensor(np.asarray(y))
    return astype_p(y, dtype=dt) if y.dtype != dt else y


def _linspace_xp(start: Any, stop: Any, num: int, endpoint: bool, dt: np.dtype, raw: list[Any], xp: Any) -> Tensor:
    """_linspace_from for another library's start or stop: the same arithmetic in its namespace."""
    from chainrule.ops.binary import where_p
    from chainrule.ops.shape import astype_p

    kinds = [dtype_kind(r.dtype) for r in raw]
    work = np.dtype(np.float64) if "c" not in kinds else np.dtype(np.complex128)
    floats = [r for r in raw if dtype_kind(r.dtype) in "fc" and not is_plain(r)]
    if floats and "c" not in kinds and all(str(r.dtype).endswith("float32") for r in floats):
        work = np.dtype(np.float32)
    xdt = getattr(xp, work.name)
    ends = []
    for v, r in zip((start, stop), raw):
        if is_plain(r):  # a number (or a 0-d NumPy value) joins the other end's library
            v = Tensor(xp.asarray(np.asarray(r).item()))
        ends.append(v if v._data.dtype == xdt else astype_p(v, dtype=work))
    start, stop = ends
    delta = stop - start
    extra = tuple(delta.shape)
    grid = Tensor(xp.reshape(xp.arange(num, dtype=xdt), (num,) + (1,) * len(extra)))
    div = num - 1 if endpoint else num
    # (NumPy's fallback for a step that underflows to 0 would read the values, computing a lazy
    # array here; the step is used as is.)
    y = grid * (delta / div) if div > 0 else grid * delta
    y = y + start
    if endpoint and num > 1:
        last = xp.reshape(xp.arange(num), tuple(grid.shape)) == num - 1
        y = where_p(last, stop, y)
    y = y if isinstance(y, Tensor) else Tensor(y)
    return astype_p(y, dtype=dt) if y.dtype != getattr(xp, dt.name) else y


def _like(x: Any, fill: Any, dtype: Any, requires_grad: bool) -> Tensor:
    data = x._data if isinstance(x, Tensor) else np.asarray(x)
    if not is_plain(data):
        # Another library's array: the new tensor is made in its library.
        xp = namespace_of(data)
        dt = data.dtype if dtype is None else getattr(xp, _dtype(dtype).name)
        return Tensor(xp.full(tuple(data.shape), fill, dtype=dt), requires_grad=requires_grad)
    return Tensor(np.full(data.shape, fill, dtype=_dtype(dtype, data.dtype)), requires_grad=requires_grad)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype) of ``x``."""
    return _like(x, 0, dtype, requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype) of ``x``."""
    return _like(x, 1, dtype, requires_grad)


def full_like(x: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape (and dtype) of ``x``."""
    return _like(x, fill_value, dtype, requires_grad)
