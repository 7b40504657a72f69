"""Structured batches: the Jacobian transforms' basis kept symbolic while it is sparse.

``jacrev`` pulls the identity basis back through ``f`` as one batched cotangent, and ``jacfwd``
pushes it forward as one batched tangent. Materialised, the basis is an ``N x N`` array and
every op on it costs ``N`` times the op on one example: for ``tanh(W @ x) + sin(x)`` the
pull-back through ``W @ x`` becomes an ``N x N x N`` matrix product, where the closed form
``(1 - t**2)[:, None] * W`` costs ``N**2``.

A :class:`DiagonalBatch` is a batched value whose batch is ``N = prod(S)`` examples of shape
``S``, example ``i`` being ``d.flat[i] * e_i`` (``e_i`` the ``i``-th basis array of shape
``S``); it stores only ``d``. The identity is ``d = 1``; multiplying by a per-example factor
(the chain rule of every elementwise op) scales ``d``. The rules below (:data:`RULES`) keep it
diagonal through products with unbatched values, sums of diagonals, reshapes, casts and full
reductions, and turn it dense only where the result is dense anyway, at the cost of that
result: ``diag(d) @ W`` is ``d[:, None] * W``. Every op without a rule here, or outside the
forms a rule handles, sees the dense batch: reading ``._base`` builds it (with chainrule ops on
``d``, so tapes and forward accumulators follow it), and the op's ordinary batching rule runs.
So a result is always the dense path's, computed faster where the structure allows.

The results are the dense path's even where that path makes a NaN from a basis zero (``0 * inf``
off the diagonal, ``0 / 0``): a rule whose other operand is not finite (or, for a division,
has a zero) leaves the op to the dense path, as JAX's and PyTorch's materialised bases do.

:data:`DENSIFIED` counts, per primitive, how often a structured batch had to be made dense
(:data:`APPLIED`, how often a structured rule ran);
:func:`disabled` turns the structure off in a block (the tests compare both paths).

>>> import chainrule as cr
>>> cr.jacrev(lambda x: cr.sin(x) * 2)(cr.tensor([0.0, 0.0]))
tensor([[2., 0.],
        [0., 2.]], dtype=float64)
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import state as _state
from chainrule.core.primitive import registry
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.batching import BatchedTensor, _batched, _give_back, _set_aside

__all__ = ["DiagonalBatch", "diagonal_batch", "identity_batch", "RULES", "DENSIFIED", "APPLIED", "disabled", "enabled"]

_new = object.__new__

#: Primitive name -> how many times a structured batch was made dense for it.
DENSIFIED: Counter[str] = Counter()
#: Primitive name -> how many times its structured rule kept a batch structured or computed a
#: dense result directly from the diagonal.
APPLIED: Counter[str] = Counter()


class _Local(threading.local):
    def __init__(self) -> None:
        self.off = 0


_local = _Local()


def enabled() -> bool:
    """Whether the Jacobian transforms seed with structured batches (the default)."""
    return _local.off == 0


@contextmanager
def disabled() -> Iterator[None]:
    """Seed the Jacobian transforms with the materialised basis in this block (this thread).

    >>> import chainrule as cr
    >>> from chainrule.transforms import structured
    >>> with structured.disabled():
    ...     J = cr.jacrev(lambda x: x * x)(cr.tensor([1.0, 2.0]))
    >>> J
    tensor([[2., 0.],
            [0., 4.]], dtype=float64)
    """
    _local.off += 1
    try:
        yield
    finally:
        _local.off -= 1


def _p(name: str) -> Any:
    return registry[name]


class DiagonalBatch(BatchedTensor):
    """A batch of ``N = prod(S)`` examples of shape ``S``: example ``i`` is ``d.flat[i] * e_i``.

    ``shape`` and ``dtype`` are one example's (``d``'s); ``._base``, the dense batch, is built on
    first use and kept, so code that knows nothing of the structure gets the dense value.
    """

    __slots__ = ("_diag", "_dense")

    _structured = True

    @property  # type: ignore[override]
    def _base(self) -> Tensor:
        dense = self._dense
        if dense is None:
            dense = self._dense = _densify(self._diag)
        return dense

    @_base.setter
    def _base(self, value: Tensor) -> None:
        # An in-place op replaced the batch (BatchedTensor._rebase): it is dense from now on.
        self._dense = value
        self._diag = None

    @property
    def shape(self) -> tuple[int, ...]:
        d = self._diag
        if d is None:
            return self._dense._data.shape[1:]
        return d._data.shape

    @property
    def dtype(self) -> np.dtype:
        d = self._diag
        return (self._dense if d is None else d)._data.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def diag(self) -> Tensor | None:
        """``d``: example ``i`` is ``d.flat[i] * e_i`` (None once the batch was replaced)."""
        return self._diag

    def __repr__(self) -> str:
        d = self._diag
        if d is None:
            return super().__repr__()
        return f"DiagonalBatch(example shape={self.shape}, dtype={self.dtype}, diagonal=\n{d._data})"

    __str__ = __repr__


def diagonal_batch(d: Tensor, levels: tuple[int, ...]) -> DiagonalBatch:
    """The structured batch with diagonal ``d`` (a plain Tensor) along ``levels`` (one level)."""
    b = _new(DiagonalBatch)
    b._diag = d
    b._dense = None
    b._levels = levels
    b._placeholder = None
    b._node = None
    b._requires_grad = d._requires_grad
    b.grad = None
    b._vc = None
    b._view = None
    b._hooks = None
    return b


def identity_batch(shape: tuple[int, ...], dtype: Any, levels: tuple[int, ...]) -> DiagonalBatch:
    """The basis of arrays of ``shape`` as a structured batch (the seed of jacrev / jacfwd)."""
    ones = np.empty(shape, dtype=dtype)
    ones.fill(1)  # (np.ones, without its Python wrapper)
    return diagonal_batch(wrap_array(ones), levels)


def _densify(d: Tensor) -> Tensor:
    """The dense batch ``(N, *S)`` of the diagonal ``d`` (shape ``S``), with chainrule ops."""
    shape = d._data.shape
    n = math.prod(shape)
    flat = d if len(shape) == 1 else bind(_p("reshape"), d, shape=(n,))
    dense = bind(_p("diagonal_scatter"), flat, shape=(n, n), offset=0, axis1=0, axis2=1)
    if len(shape) != 1:
        dense = bind(_p("reshape"), dense, shape=(n,) + shape)
    return dense


# ---------------------------------------------------------------- the rules
# A rule gets the op's arguments as (value, kind) pairs: kind "D" for a DiagonalBatch (the value
# is its diagonal d), "B" for another batch on the same level (the value is its base, batch axis
# first), None for an unbatched argument. It returns ("D", d) for a diagonal result, ("B", base)
# for a dense one, or None when its op needs the dense batch.
Arg = tuple[Any, Any]
Result = tuple[str, Any] | None
StructuredRule = Callable[[list[Arg], dict[str, Any]], Result]


def _shape(v: Any) -> tuple[int, ...]:
    if isinstance(v, Tensor):
        return v._data.shape
    return () if type(v) is float or type(v) is int else np.shape(v)


def _broadcasts_into(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    if small == shape or not small:
        return True
    try:
        return np.broadcast_shapes(small, shape) == shape
    except ValueError:
        return False


def _batch_diagonal(base: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Example ``i``'s entry at flat position ``i``, for a dense batch ``(N, *shape)``."""
    n = math.prod(shape)
    square = base if len(shape) == 1 else bind(_p("reshape"), base, shape=(n, n))
    diag = bind(_p("diagonal"), square, offset=0, axis1=0, axis2=1)
    return diag if len(shape) == 1 else bind(_p("reshape"), diag, shape=shape)


def _data_of(v: Any) -> Any:
    return v._data if isinstance(v, Tensor) else np.asarray(v)


def _finite(v: Any) -> bool:
    """Whether every entry of ``v`` is finite: a basis zero times it is then zero, as the
    structured rules assume (``0 * inf`` is NaN on the dense path)."""
    if type(v) is float or type(v) is int:
        return math.isfinite(v)
    data = v._data if isinstance(v, Tensor) else np.asarray(v)
    if data.dtype.kind not in "fc":
        return True
    # (Measured against a sum under errstate, which cannot overflow-warn: as fast on a million
    # entries, three times faster on the small factors of a Hessian, and exact. On NumPy arrays
    # the reduction is called directly: ``.all()`` goes through a Python wrapper in NumPy.)
    if type(data) is np.ndarray:
        return bool(_all(np.isfinite(data), axis=None))
    return bool(np.isfinite(data).all())


_all = np.logical_and.reduce


def _factor(value: Any, kind: Any, shape: tuple[int, ...]) -> Any:
    """What a diagonal batch of example shape ``shape`` is multiplied by, elementwise, as an
    array broadcasting into ``shape`` (None when the product is not diagonal)."""
    if kind is None:
        return value if _broadcasts_into(_shape(value), shape) and _finite(value) else None
    if kind == "B":
        if _shape(value)[0] != math.prod(shape) or not _finite(value):
            return None
        ex = _shape(value)[1:]
        if ex == shape:
            return _batch_diagonal(value, shape)
        if math.prod(ex) == 1 and len(ex) <= len(shape):
            # One number per example: example i's number scales its entry i.
            return bind(_p("reshape"), value, shape=shape)
    return None


def _mul(args: list[Arg], params: dict[str, Any]) -> Result:
    (a, ka), (b, kb) = args
    if ka == "D":
        if kb is None and type(b) is Tensor and b._data.shape == a._data.shape:
            # The chain rule of an elementwise op: a plain factor of the example's shape (its
            # finiteness read at once when it is a float NumPy array, as _finite does).
            data = b._data
            if type(data) is np.ndarray and data.dtype.kind == "f":
                finite = bool(_all(np.isfinite(data), axis=None))
            else:
                finite = _finite(b)
            return ("D", bind(_p("mul"), a, b)) if finite else None
        if kb == "D":
            return ("D", bind(_p("mul"), a, b)) if a._data.shape == b._data.shape else None
        f = _factor(b, kb, a._data.shape)
        return None if f is None else ("D", bind(_p("mul"), a, f))
    f = _factor(a, ka, b._data.shape)
    return None if f is None else ("D", bind(_p("mul"), f, b))


def _div(args: list[Arg], params: dict[str, Any]) -> Result:
    (a, ka), (b, kb) = args
    if ka == "D" and kb is None and _broadcasts_into(_shape(b), a._data.shape):
        data = _data_of(b)
        # 0 / 0 and 0 / NaN are NaN on the dense path: only a finite, nonzero divisor keeps the
        # zeros off the diagonal.
        if _finite(data) and bool(np.all(data != 0)):
            return ("D", bind(_p("div"), a, b))
    return None


def _add(args: list[Arg], params: dict[str, Any]) -> Result:
    (a, ka), (b, kb) = args
    if ka == "D" and kb == "D" and a._data.shape == b._data.shape:
        return ("D", bind(_p("add"), a, b))
    return None


def _neg(args: list[Arg], params: dict[str, Any]) -> Result:
    return ("D", bind(_p("neg"), args[0][0]))


def _all_axes_result(d: Tensor, out_example: tuple[int, ...]) -> Result:
    """A reduction over every example axis: example ``i`` leaves ``d.flat[i]``."""
    n = math.prod(d._data.shape)
    return ("B", bind(_p("reshape"), d, shape=(n,) + out_example))


def _sum_to(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    shape = tuple(params["shape"])
    S = d._data.shape
    if shape == S:
        return ("D", d)
    if math.prod(shape) == math.prod(S):
        # Only size-1 axes go or come: a reshape, which keeps the diagonal.
        return ("D", bind(_p("reshape"), d, shape=shape))
    if math.prod(shape) == 1 and len(shape) <= len(S):
        return _all_axes_result(d, shape)
    return None


def _sum(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    S = d._data.shape
    axis = params.get("axis")
    if axis is None or set(axis) == set(range(len(S))):
        keep = params.get("keepdims", False)
        return _all_axes_result(d, (1,) * len(S) if keep else ())
    return None


def _reshape(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    return ("D", bind(_p("reshape"), d, **params))


def _broadcast_to(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    return ("D", d) if tuple(params["shape"]) == d._data.shape else None


def _astype(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    dtype = np.dtype(params["dtype"])
    if dtype == d._data.dtype:
        return ("D", d)
    return ("D", bind(_p("astype"), d, **params)) if dtype.kind == "f" else None


def _transpose(args: list[Arg], params: dict[str, Any]) -> Result:
    d = args[0][0]
    return ("D", d) if d._data.ndim <= 1 else None


def _matmul(args: list[Arg], params: dict[str, Any]) -> Result:
    (a, ka), (b, kb) = args
    if not _finite(b if ka == "D" else a):
        return None  # the dense product sums 0 * inf into NaN
    if ka == "D" and kb is None and a._data.ndim == 1:
        # (d_i e_i) @ b: row i of b, scaled by d_i.
        if len(_shape(b)) == 1:
            return ("B", bind(_p("mul"), a, b))
        if len(_shape(b)) == 2:
            return ("B", bind(_p("mul"), bind(_p("reshape"), a, shape=(a._data.shape[0], 1)), b))
    if kb == "D" and ka is None and b._data.ndim == 1:
        # a @ (d_i e_i): column i of a, scaled by d_i.
        if len(_shape(a)) == 1:
            return ("B", bind(_p("mul"), a, b))
        if len(_shape(a)) == 2:
            col = bind(_p("reshape"), b, shape=(b._data.shape[0], 1))
            return ("B", bind(_p("mul"), col, bind(_p("transpose"), a, axes=(1, 0))))
    return None


#: Primitive name -> its structured rule.
RULES: dict[str, StructuredRule] = {
    "mul": _mul,
    "div": _div,
    "add": _add,
    "neg": _neg,
    "sum_to": _sum_to,
    "sum": _sum,
    "reshape": _reshape,
    "broadcast_to": _broadcast_to,
    "astype": _astype,
    "transpose": _transpose,
    "matmul": _matmul,
}


def apply(prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """``prim`` on ``args``, at least one of them a DiagonalBatch, by its structured rule:
    the batched result, or NotImplemented (the caller then runs the dense path)."""
    name = prim.name
    rule = RULES.get(name)
    if rule is None:
        DENSIFIED[name] += 1
        return NotImplemented
    levels = None
    pairs: list[Arg] = []
    for a in args:
        if isinstance(a, BatchedTensor):
            if levels is None:
                levels = a._levels
            elif a._levels != levels:
                DENSIFIED[name] += 1
                return NotImplemented
            if type(a) is DiagonalBatch and a._diag is not None:
                pairs.append((a._diag, "D"))
            else:
                pairs.append((a._base, "B"))
        else:
            pairs.append((a, None))
    if levels is None or len(levels) != 1:
        DENSIFIED[name] += 1
        return NotImplemented
    saved = _state.stack
    _set_aside(saved)  # (what ``with below()`` does, without the context manager's calls)
    try:
        out = rule(pairs, params)
    finally:
        _give_back(saved)
    if out is None:
        DENSIFIED[name] += 1
        return NotImplemented
    APPLIED[name] += 1
    kind, value = out
    if type(value) is not Tensor and not isinstance(value, Tensor):
        value = wrap_array(np.asarray(value))
    if kind == "D":
        # diagonal_batch, inlined (one call less on every structured op).
        b = _new(DiagonalBatch)
        b._diag = value
        b._dense = None
        b._levels = levels
        b._placeholder = b._node = b.grad = b._vc = b._view = b._hooks = None
        b._requires_grad = value._requires_grad
        return b
    return _batched(value, levels)
