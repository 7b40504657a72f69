"""Indexing: reading with NumPy's indices (``getitem``), its adjoint (``index_add``, a scatter-add
into zeros) and an out-of-place write (``index_put``), plus ``Tensor.__getitem__/__setitem__``.

The index is a static setting of the op: Tensor and list indices become NumPy arrays, copied and
made read-only, so that changing them afterwards cannot change a recorded graph. Basic indices
(ints, slices, None, ``...``) and boolean masks never select an entry twice; integer arrays may,
and the scatter-add then accumulates the gradient of every occurrence (``np.add.at``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.modes import state
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor, bump_version
from chainrule.ops import _taylor as T
from chainrule.ops._api import as_array, ensure_tensor
from chainrule.ops.methods import check_inplace, inplace_update
from chainrule.ops.shape import reshape_p
from chainrule.transforms.batching_rules import (
    batch_sizes,
    full_batch,
    per_example,
    with_example_ndim,
)

__all__ = ["getitem", "index_put", "take", "take_along_axis"]
# Sorting, differentiable through its permutation (the block at the end of this file).
__all__ += ["sort", "partition"]

Index = tuple[Any, ...]


# ---------------------------------------------------------------- the index as a static setting
def _frozen(arr: np.ndarray) -> np.ndarray:
    if arr.flags.writeable or arr.base is not None:
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


#: Called as ``hook(source, frozen)`` for each Tensor or array index (``source``) and the
#: read-only array the index holds in its place: ``cr.jit`` reads the index from the traced
#: value at every call instead of keeping the first call's (transforms/jit.py).
INDEX_HOOKS: list[Any] = []


def normalize_index(index: Any, op: str = "getitem") -> Index:
    """The index as a tuple of ints, slices, None, Ellipsis and read-only int/bool arrays."""
    if not isinstance(index, tuple):
        index = (index,)
    out: list[Any] = []
    for item in index:
        source = item
        if isinstance(item, Tensor):
            item = item._data
        if item is None or item is Ellipsis:
            out.append(item)
        elif isinstance(item, slice):
            if any(isinstance(b, Tensor) for b in (item.start, item.stop, item.step)):
                item = slice(*(b.__index__() if isinstance(b, Tensor) else b
                               for b in (item.start, item.stop, item.step)))  # fmt: skip
            out.append(item)
        elif isinstance(item, (bool, np.bool_)):
            out.append(_frozen(np.asarray(item)))
        elif isinstance(item, (int, np.integer)):
            out.append(int(item))
        elif isinstance(item, (np.ndarray, list, tuple)):
            arr = np.asarray(item)
            if arr.dtype.kind == "f" and arr.size == 0:
                arr = arr.astype(np.intp)
            if arr.dtype.kind not in "iub":
                raise IndexError(
                    f"{op}: only integers, slices (:), ellipsis (...), None and integer or boolean "
                    f"arrays are valid indices; got an array of dtype {arr.dtype}"
                )
            out.append(_frozen(arr))
            if INDEX_HOOKS and isinstance(source, (Tensor, np.ndarray)):
                for hook in INDEX_HOOKS:
                    hook(source, out[-1])
        else:
            raise IndexError(
                f"{op}: only integers, slices (:), ellipsis (...), None and integer or boolean "
                f"arrays are valid indices; got {type(item).__name__} {item!r}"
            )
    return tuple(out)


def describe_index(index: Index) -> str:
    """A short readable form of a normalized index, for error messages."""
    parts = []
    for item in index:
        if item is None:
            parts.append("None")
        elif item is Ellipsis:
            parts.append("...")
        elif isinstance(item, slice):
            text = ":".join("" if b is None else str(b) for b in (item.start, item.stop))
            parts.append(text if item.step is None else f"{text}:{item.step}")
        elif isinstance(item, np.ndarray):
            if item.size <= 8:
                parts.append(repr(item.tolist()))
            else:
                parts.append(f"<{item.dtype} array of shape {item.shape}>")
        else:
            parts.append(repr(item))
    return "[" + ", ".join(parts) + "]"


def _may_repeat(index: Index) -> bool:
    """Whether the index can select an entry more than once (it holds an integer array)."""
    for item in index:
        if type(item) is np.ndarray and item.dtype.kind != "b":
            return True
    return False


# ---------------------------------------------------------------- vmap: the index gains leading full slices
def _simple_index(index: Index) -> bool:
    """Whether prefixing full slices keeps NumPy's placement of the result's axes.

    Array indices separated by a slice, None or ``...`` send their axes to the front; that case
    is left to the per-example loop. Once an index holds an array, its integers are advanced
    indices too (NumPy broadcasts them with the arrays), so they count in that placement.
    """
    has_array = any(isinstance(item, np.ndarray) for item in index)
    positions = [i for i, item in enumerate(index)
                 if isinstance(item, np.ndarray) or (has_array and isinstance(item, (int, np.integer)))]  # fmt: skip
    return not positions or positions[-1] - positions[0] + 1 == len(positions)


def _prefixed(index: Index, nb: int) -> Index:
    return (slice(None),) * nb + tuple(index)


def _getitem_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    index = params["index"]
    if not _simple_index(index):
        return per_example(prim, vals, flags, nb, params)
    return prim(vals[0], index=_prefixed(index, nb))


def _index_add_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                     params: dict[str, Any]) -> Any:  # fmt: skip
    index = params["index"]
    if not _simple_index(index):
        return per_example(prim, vals, flags, nb, params)
    g = vals[0]
    return prim(g, index=_prefixed(index, nb), shape=g._data.shape[:nb] + tuple(params["shape"]))


def _index_put_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                     params: dict[str, Any]) -> Any:  # fmt: skip
    index = params["index"]
    if not _simple_index(index):
        return per_example(prim, vals, flags, nb, params)
    batch = batch_sizes(vals, flags, nb)
    x = full_batch(vals[0], flags[0], nb, batch)
    values = vals[1]
    if flags[1]:
        example = x._data.shape[nb:]
        region = np.broadcast_to(np.zeros((), bool), example)[index].ndim
        shp = values._data.shape
        extra = len(shp) - nb - region
        if extra > 0:
            # NumPy lets the values carry extra leading size-1 axes; they would sit between
            # the batch axes and the region's, so drop them.
            values = reshape_p(values, shape=shp[:nb] + shp[nb + extra :])
        else:
            values = with_example_ndim(values, nb, region)
    return prim(x, values, index=_prefixed(index, nb))


# ---------------------------------------------------------------- primitives
def _getitem_impl(x: Any, *, index: Index) -> Any:
    return np.asarray(x)[index]


def _index_add_impl(g: Any, *, index: Index, shape: tuple[int, ...]) -> Any:
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    if _may_repeat(index):
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


getitem_p = Primitive("getitem", _getitem_impl, nin=1, saves=(), uses_shapes=True, view=True,
                      grad_fn_name="IndexBackward0", batching=_getitem_batch)  # fmt: skip
# The adjoint of reading entries: put the cotangent back where they came from, summing repeats.
index_add_p = Primitive("index_add", _index_add_impl, nin=1, saves=(),
                        grad_fn_name="IndexAddBackward0", batching=_index_add_batch)  # fmt: skip
getitem_p.def_vjp(lambda g, ans, x, index: index_add_p(g, index=index, shape=tuple(x.shape))).def_linear()
index_add_p.def_vjp(lambda g, ans, v, index, shape: getitem_p(g, index=index)).def_linear()


def _index_put_impl(x: Any, values: Any, *, index: Index) -> Any:
    out = np.array(x, copy=True)
    out[index] = values
    return out


def _values_cotangent(g: Any, values: Any, index: Index) -> Any:
    picked = getitem_p(g, index=index)
    extra = len(values.shape) - len(picked.shape)
    if extra > 0:
        # NumPy lets the values carry extra leading size-1 dimensions.
        picked = reshape_p(picked, shape=(1,) * extra + tuple(picked.shape))
    return picked


def _zeros_like(x: Any, t: Any) -> np.ndarray:
    return np.zeros(tuple(x.shape), dtype=as_array(t).dtype)


index_put_p = Primitive("index_put", _index_put_impl, nin=2, saves=(), uses_shapes=True,
                        grad_fn_name="IndexPutBackward0", batching=_index_put_batch)  # fmt: skip
index_put_p.def_vjp(
    lambda g, ans, x, values, index: index_put_p(g, 0.0, index=index),
    lambda g, ans, x, values, index: _values_cotangent(g, values, index),
)
getitem_p.def_view(lambda base, value, index: index_put_p(base, value, index=index))
# Linear in (x, values) together, not in each with the other fixed: the other one's place is 0.
index_put_p.def_jvp(
    lambda t, ans, x, values, index: index_put_p(t, 0.0, index=index),
    lambda t, ans, x, values, index: index_put_p(_zeros_like(x, t), t, index=index),
)
index_put_p.def_jet(T.zero_filled(_index_put_impl))


# ---------------------------------------------------------------- public functions
def _index_error(x: Any, index: Index, exc: BaseException, op: str) -> IndexError:
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return IndexError(
        f"{op}: index {describe_index(index)} does not fit a tensor of shape "
        f"{np.shape(as_array(x))}: {cause}"
    )


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with NumPy's rules: ints, slices (negative steps too), None, ``...``,
    integer arrays (repeats accumulate their gradients) and boolean masks.

    >>> import chainrule as cr
    >>> x = cr.tensor([1., 2., 3.], requires_grad=True)
    >>> cr.getitem(x, [0, 0, 2]).sum().backward()
    >>> x.grad
    tensor([2., 0., 1.], dtype=float64)
    """
    idx = normalize_index(index)
    try:
        return ensure_tensor(getitem_p(x, index=idx))
    except IndexError as exc:
        raise _index_error(x, idx, exc, "getitem") from None


def index_put(x: Any, index: Any, values: Any) -> Any:
    """A copy of ``x`` with ``x[index] = values`` (out of place); differentiable in both.

    Where an integer-array index repeats an entry, which value lands there is NumPy's choice,
    and each repeated value still receives the cotangent of that entry.

    >>> import chainrule as cr
    >>> cr.index_put(cr.zeros(3), 1, 5.0)
    tensor([0., 5., 0.], dtype=float64)
    """
    idx = normalize_index(index, "index_put")
    try:
        return ensure_tensor(index_put_p(x, values, index=idx))
    except IndexError as exc:
        raise _index_error(x, idx, exc, "index_put") from None


def take(x: Any, indices: Any, axis: int | None = None) -> Any:
    """Entries at integer ``indices`` along ``axis`` (of the flattened tensor when None).

    As ``numpy.take``; a composite of ``getitem``.

    >>> import chainrule as cr
    >>> cr.take(cr.tensor([[1., 2.], [3., 4.]]), [1, 1], axis=1)
    tensor([[2., 2.],
            [4., 4.]], dtype=float64)
    """
    idx = np.asarray(as_array(indices))
    if idx.dtype.kind not in "iu" and not (idx.size == 0 and idx.dtype.kind == "f"):
        raise TypeError(f"take: indices must be integers, got dtype {idx.dtype}")
    if axis is None:
        x = reshape_p(x, shape=(-1,))
        axis = 0
    ndim = np.ndim(as_array(x))
    if not -ndim <= axis < ndim:
        raise ValueError(f"take: axis {axis} is out of range for a tensor with {ndim} dimensions")
    return getitem(x, (slice(None),) * (axis % ndim) + (indices if isinstance(indices, Tensor) else idx,))


def take_along_axis(x: Any, indices: Any, axis: int | None) -> Any:
    """Pick entries along ``axis`` at ``indices``, which has x's number of dimensions.

    As ``numpy.take_along_axis`` (``torch.gather``); other dimensions broadcast. A composite of
    ``getitem`` with integer arrays, so repeated indices accumulate their gradients.

    >>> import chainrule as cr
    >>> logits = cr.tensor([[1., 2., 3.], [4., 5., 6.]])
    >>> cr.take_along_axis(logits, cr.tensor([[2], [0]]), axis=1)
    tensor([[3.],
            [4.]], dtype=float64)
    """
    idx = np.asarray(as_array(indices))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got dtype {idx.dtype}")
    if axis is None:
        if idx.ndim != 1:
            raise ValueError(
                f"take_along_axis: with axis=None the indices must be 1-d, got shape {idx.shape}"
            )
        return getitem(reshape_p(x, shape=(-1,)), (indices if isinstance(indices, Tensor) else idx,))
    shape = np.shape(as_array(x))
    ndim = len(shape)
    if idx.ndim != ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} need as many dimensions as the tensor "
            f"of shape {shape}"
        )
    if not -ndim <= axis < ndim:
        raise ValueError(f"take_along_axis: axis {axis} is out of range for {ndim} dimensions")
    axis = axis % ndim
    full: list[Any] = []
    for d, n in enumerate(shape):
        if d == axis:
            full.append(indices if isinstance(indices, Tensor) else idx)
        else:
            full.append(np.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1)))
    try:
        np.broadcast_shapes(*(a.shape for a in full))
    except ValueError:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} do not broadcast against the tensor "
            f"of shape {shape} outside axis {axis}"
        ) from None
    return getitem(x, tuple(full))


# ---------------------------------------------------------------- Tensor.__getitem__/__setitem__
def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``.

    The values are always written into ``x``'s storage (views and aliases see them) and its
    version counter is bumped. A leaf that requires grad refuses the write while grad mode is on.
    When ``x`` or ``value`` has a history, the write is also recorded as ``index_put`` and ``x``
    takes the new history (through its base, when ``x`` is a view).
    """
    idx = normalize_index(index, "__setitem__")
    if state.grad_enabled:
        if self._node is None and self._requires_grad:
            raise RuntimeError(
                "__setitem__: a leaf tensor that requires grad cannot be written in place while "
                "grad mode is on. Wrap the write in `with chainrule.no_grad():` (as optimizers "
                "do), or write into a copy: y = x.clone(); y[...] = value."
            )
    check_inplace(self, "__setitem__")
    if state.grad_enabled:
        if self.requires_grad or state.busy or (isinstance(value, Tensor) and value._requires_grad):
            try:
                result = index_put_p(self, value, index=idx)
            except IndexError as exc:
                raise _index_error(self, idx, exc, "__setitem__") from None
            inplace_update(self, result, "__setitem__")
            return
    data = value._data if isinstance(value, Tensor) else value
    try:
        self._data[idx] = data
    except IndexError as exc:
        raise _index_error(self, idx, exc, "__setitem__") from None
    except ValueError as exc:
        raise ValueError(
            f"__setitem__: cannot write a value of shape {np.shape(data)} at index "
            f"{describe_index(idx)} of a tensor of shape {self.shape}: {exc}"
        ) from None
    bump_version(self)


def install() -> None:
    """Attach ``x[index]`` and ``x[index] = value`` to Tensor."""
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = _setitem


# ---------------------------------------------------------------- sort and partition
# Both are a permutation along one axis, found by a non-differentiable primitive (argsort,
# argpartition) and applied by ``permute_along``: the gradient flows back through the inverse
# permutation, so every order of derivative is the permutation's (no scatter-add needed).
def _permute_along_impl(x: Any, perm: Any, *, axis: int) -> Any:
    return np.take_along_axis(np.asarray(x), np.asarray(perm), axis=axis)


def _permute_along_batch(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                         params: dict[str, Any]) -> Any:  # fmt: skip
    batch = batch_sizes(vals, flags, nb)
    x, perm = (full_batch(v, f, nb, batch) for v, f in zip(vals, flags))
    return prim(x, perm, axis=int(params["axis"]) + nb)


def _inverse_permutation(perm: Any, axis: int) -> Any:
    from chainrule.ops.nondiff import argsort_p

    return argsort_p(perm, axis=axis)


permute_along_p = Primitive("permute_along", _permute_along_impl, nin=2, saves=(1,),
                            grad_fn_name="SortBackward0", batching=_permute_along_batch)  # fmt: skip
permute_along_p.def_vjp(
    lambda g, ans, x, perm, axis: permute_along_p(g, _inverse_permutation(perm, axis), axis=axis), None
)
permute_along_p.def_jvp(lambda t, ans, x, perm, axis: permute_along_p(t, perm, axis=axis), None)
# Linear in x; perm (integers) is a constant, so every coefficient is permuted alike.
permute_along_p.def_jet("linear")


def sort(a: Any, axis: int | None = -1, kind: str | None = None, order: Any = None, *,
         stable: bool | None = None) -> Any:  # fmt: skip
    """``a`` sorted along ``axis`` (the flattened input when None), as ``numpy.sort``; NaNs last.
    The gradient of each output entry goes to the entry it came from (ties: by position, a
    stable sort whatever ``kind``).

    >>> import chainrule as cr
    >>> x = cr.tensor([3., 1., 2.], requires_grad=True)
    >>> y = cr.sort(x)
    >>> y
    tensor([1., 2., 3.], dtype=float64, grad_fn=<SortBackward0>)
    >>> (y * cr.tensor([1., 10., 100.])).sum().backward()
    >>> x.grad
    tensor([100.,   1.,  10.], dtype=float64)
    """
    from chainrule.ops.nondiff import argsort_p, sort_axis

    if order is not None:
        raise ValueError("sort: order= sorts structured arrays, which chainrule does not have")
    x, ax = sort_axis(a, axis, "sort")
    return ensure_tensor(permute_along_p(x, argsort_p(x, axis=ax), axis=ax))


def partition(a: Any, kth: Any, axis: int | None = -1, kind: str = "introselect", order: Any = None) -> Any:
    """``a`` rearranged along ``axis`` so that the entry at ``kth`` is where a sort would put it,
    smaller ones before it and larger ones after (in no set order), as ``numpy.partition``; the
    gradient follows the entries.

    >>> import chainrule as cr
    >>> float(cr.partition(cr.tensor([5., 1., 4., 2.]), 1)[1])
    2.0
    """
    from chainrule.ops.nondiff import argpartition_p, check_kth, sort_axis

    if order is not None:
        raise ValueError("partition: order= sorts structured arrays, which chainrule does not have")
    x, ax = sort_axis(a, axis, "partition")
    k = check_kth(kth, np.shape(as_array(x))[ax], "partition")
    return ensure_tensor(permute_along_p(x, argpartition_p(x, kth=k, axis=ax), axis=ax))
