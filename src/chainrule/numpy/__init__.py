"""NumPy you can differentiate: ``import chainrule.numpy as np``.

NumPy's names, signatures and semantics over chainrule's ops, so that NumPy code (and code
written for HIPS autograd's ``autograd.numpy``) runs unchanged and every result is a tensor that
``grad``, ``jvp``, ``vmap`` and the rest can see through:

>>> import chainrule.numpy as np
>>> from chainrule import grad
>>> def f(x):
...     return np.sum(np.tanh(x) ** 2)
>>> grad(f)(np.array([0.0, 1.0])).shape
(2,)

Which name comes from where (the rule, in :mod:`chainrule.numpy._resolve`): the wrappers in this
module first (where the native signature differs from NumPy's), then the NumPy protocol's
NumPy-signature handlers and ufunc table, then any native op ``chainrule.X`` whose name is a
NumPy name, then NumPy itself for what carries no derivative (dtypes, ``pi``, ``shape``,
``allclose``, ``argsort``...). A NumPy name chainrule does not implement raises
``AttributeError: chainrule.numpy has no X yet``. Native ops added later appear here by
themselves. ``np.linalg`` and ``np.fft`` follow the same rule; ``np.random`` is NumPy's random
module (its draws are plain constants, as in autograd).

What differs from NumPy: results are chainrule tensors (``np.sin(0.5)`` too); ``out=`` is
refused (an in-place write the derivative cannot follow); complex dtypes are not supported.
"""

from __future__ import annotations

from typing import Any

import numpy as _numpy

import chainrule as _cr
from chainrule.core.backend import is_foreign as _is_foreign
from chainrule.core.dispatch import bind as _bind
from chainrule.core.primitive import registry as _registry
from chainrule.core.tensor import Tensor as _Tensor
from chainrule.numpy import fft, linalg, random
from chainrule.numpy._resolve import resolve as _lookup
from chainrule.ops._api import bind_sequence as _bind_sequence
from chainrule.ops._api import ensure_tensor as _ensure_tensor
from chainrule.ops.binary import where as _where
from chainrule.ops.shape import astype as _astype
from chainrule.ops.shape import reshape as _reshape

__all__ = ["array", "asarray", "where", "zeros", "ones", "empty", "eye", "identity", "make_diagonal", "linalg",
           "fft", "random"]  # fmt: skip

_NO = object()


def _check_dtype(dtype: Any, op: str) -> Any:
    if dtype is None:
        return None
    dt = _numpy.dtype(dtype)
    if dt.kind not in "fiub":
        raise TypeError(
            f"chainrule.numpy.{op}: dtype {dt} is not supported (chainrule computes with float, "
            "integer and bool arrays; complex numbers are not supported)"
        )
    return dt


def _copy(t: _Tensor) -> _Tensor:
    # A differentiable copy with its own data array (a later in-place write into the result must
    # not reach ``t``); an op, so reverse and forward transforms both see through it.
    return _ensure_tensor(_bind(_registry["reshape"], t, shape=tuple(t.shape)))


def array(object: Any, dtype: Any = None, *, copy: bool = True, order: Any = None,  # noqa: A002
          subok: bool = False, ndmin: int = 0, like: Any = None) -> _Tensor:  # fmt: skip
    """NumPy's ``array``: a (nested) list holding tensors is stacked into one differentiable
    tensor; a tensor is copied and keeps its history; anything else becomes a new tensor.

    >>> import chainrule as cr
    >>> import chainrule.numpy as np
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> y = np.array([[x, 1.0], [3.0, x * x]])
    >>> y.shape, y.requires_grad
    ((2, 2), True)
    """
    if like is not None:
        raise TypeError("chainrule.numpy.array: like= is not supported; leave it out")
    if order not in (None, "K", "A", "C"):
        raise TypeError(f"chainrule.numpy.array: order={order!r} is not supported (arrays are C-ordered)")
    dt = _check_dtype(dtype, "array")
    if isinstance(object, _Tensor):
        out = _copy(object) if copy else object
    elif isinstance(object, (list, tuple)) and (stacked := _bind_sequence(object)) is not None:
        out = stacked
    else:
        raw = _numpy.array(object, dtype=dt)
        if raw.dtype.kind not in "fiub":
            raise TypeError(
                f"chainrule.numpy.array: cannot make a tensor of dtype {raw.dtype} from "
                f"{type(object).__name__} (chainrule supports float, integer and bool data)"
            )
        out = _cr.tensor(raw)
    if dt is not None and out.dtype != dt:
        out = _astype(out, dt)
    if ndmin > out.ndim:
        out = _reshape(out, (1,) * (ndmin - out.ndim) + tuple(out.shape))
    return out


def asarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> _Tensor:
    """NumPy's ``asarray``: like :func:`array`, but a tensor of the right dtype comes back as is.

    >>> import chainrule.numpy as np
    >>> t = np.asarray([1.0, 2.0])
    >>> np.asarray(t) is t
    True

    ``like=`` (a tensor or array of another library, or its name) moves the data to that
    array library, differentiably: ``cr.asarray(a, like=...)``.
    """
    like = kwargs.pop("like", None)
    if like is not None:
        base = a if isinstance(a, _Tensor) or _is_foreign(a) else asarray(a, dtype, order, **kwargs)
        return _cr.asarray(base, dtype if base is a else None, like=like)
    if isinstance(a, _Tensor) and (dtype is None or _numpy.dtype(dtype) == a.dtype):
        return a
    return array(a, dtype, copy=False, order=order, **kwargs)


def where(condition: Any, x: Any = _NO, y: Any = _NO) -> Any:
    """NumPy's ``where``: ``where(c, x, y)`` picks differentiably; ``where(c)`` is ``nonzero(c)``.

    >>> import chainrule.numpy as np
    >>> np.where(np.array([1.0, -2.0]) > 0, 1.0, 0.0)
    tensor([1., 0.], dtype=float64)
    >>> np.where([True, False, True])
    (array([0, 2]),)
    """
    if x is _NO and y is _NO:
        cond = condition._data if isinstance(condition, _Tensor) else condition
        return _numpy.nonzero(cond)
    if x is _NO or y is _NO:
        raise TypeError("chainrule.numpy.where: give either only the condition, or the condition, x and y")
    return _where(condition, x, y)


def _shape_of(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, _numpy.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _filled(fill: str, shape: Any, dtype: Any, order: str, like: Any) -> _Tensor:
    if order not in ("C", "F") or like is not None:
        raise TypeError(f"chainrule.numpy.{fill}: order={order!r} / like= are not supported")
    dt = _check_dtype(float if dtype is None else dtype, fill)
    maker = _numpy.zeros if fill in ("zeros", "empty") else _numpy.ones
    return _cr.tensor(maker(_shape_of(shape), dtype=dt))


def zeros(shape: Any, dtype: Any = None, order: str = "C", *, like: Any = None) -> _Tensor:
    """NumPy's ``zeros(shape, dtype=float)``.

    >>> import chainrule.numpy as np
    >>> np.zeros((2, 1), np.float32)
    tensor([[0.],
            [0.]], dtype=float32)
    """
    return _filled("zeros", shape, dtype, order, like)


def ones(shape: Any, dtype: Any = None, order: str = "C", *, like: Any = None) -> _Tensor:
    """NumPy's ``ones(shape, dtype=float)``.

    >>> import chainrule.numpy as np
    >>> np.ones(2)
    tensor([1., 1.], dtype=float64)
    """
    return _filled("ones", shape, dtype, order, like)


def empty(shape: Any, dtype: Any = None, order: str = "C", *, like: Any = None) -> _Tensor:
    """NumPy's ``empty`` (filled with zeros: chainrule never hands out uninitialised memory).

    >>> import chainrule.numpy as np
    >>> np.empty(3).shape
    (3,)
    """
    return _filled("empty", shape, dtype, order, like)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, order: str = "C",  # noqa: N803
        *, like: Any = None) -> _Tensor:  # fmt: skip
    """NumPy's ``eye(N, M=None, k=0, dtype=float)``: ones on the ``k``-th diagonal.

    >>> import chainrule.numpy as np
    >>> np.eye(2, 3, 1)
    tensor([[0., 1., 0.],
            [0., 0., 1.]], dtype=float64)
    """
    if like is not None:
        raise TypeError("chainrule.numpy.eye: like= is not supported")
    return _cr.tensor(_numpy.eye(N, M, k, dtype=_check_dtype(dtype, "eye"), order=order))


def identity(n: int, dtype: Any = None, *, like: Any = None) -> _Tensor:
    """NumPy's ``identity(n)``.

    >>> import chainrule.numpy as np
    >>> np.identity(2)
    tensor([[1., 0.],
            [0., 1.]], dtype=float64)
    """
    return eye(n, dtype=float if dtype is None else dtype, like=like)


def make_diagonal(D: Any, offset: int = 0, axis1: int = -1, axis2: int = -2) -> _Tensor:  # noqa: N803
    """HIPS autograd's extension (not a NumPy name): the last axis of ``D`` spread onto the
    diagonal of new trailing square matrices, so ``diagonal(make_diagonal(D)) == D``.

    >>> import chainrule.numpy as np
    >>> np.make_diagonal(np.array([1.0, 2.0]))
    tensor([[1., 0.],
            [0., 2.]], dtype=float64)
    """
    if offset != 0 or {axis1, axis2} != {-1, -2}:
        raise NotImplementedError(
            f"chainrule.numpy.make_diagonal: only offset=0 with axis1, axis2 = -1, -2 is supported "
            f"(got offset={offset}, axis1={axis1}, axis2={axis2})"
        )
    d = asarray(D)
    n = int(d.shape[-1]) if d.ndim else 1
    return _ensure_tensor(_reshape(d, tuple(d.shape) + (1,)) * eye(n, dtype=d.dtype))


def __getattr__(name: str) -> Any:
    value = _lookup(name, _numpy, [_cr], "chainrule.numpy")
    if not name.startswith("__"):
        globals()[name] = value  # resolved once: later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    names = {n for n in globals() if not n.startswith("_") and n not in ("Any", "annotations")}
    for name in dir(_numpy):
        if name.startswith("_") or name in names:
            continue
        try:
            __getattr__(name)
        except AttributeError:
            continue
        names.add(name)
    return sorted(names)

