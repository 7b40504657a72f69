"""Indexing: reading with NumPy's indices (``getitem``), its adjoint (``index_add``, a scatter-add
into zeros) and an out-of-place write (``index_put``), plus ``Tensor.__getitem__/__setitem__``.

The index is a static setting of the op: Tensor and list indices become NumPy arrays, copied and
made read-only, so that changing them afterwards cannot change a recorded graph. Basic indices
(ints, slices, None, ``...``) and boolean masks never select an entry twice; integer arrays may,
and the scatter-add then accumulates the gradient of every occurrence (``np.add.at``).

On another array library's tensors (issue 16) the index stays a NumPy setting: basic indices
go to the library as they are; an index holding arrays, whose combinations the array API
standard leaves out, is turned (on NumPy, from the static index alone) into the flat positions
it selects and read with ``take``; the scatter-add and the write of advanced indices use ``take``
and ``where`` too (the standard has no scatter), so every index NumPy accepts works everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import is_foreign, to_numpy
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
        if is_foreign(item):
            # An index is a static setting, kept as NumPy's whatever library it came from.
            item = to_numpy(item)
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


# ---------------------------------------------------------------- other libraries' arrays
def _has_array(index: Index) -> bool:
    for item in index:
        if type(item) is np.ndarray:
            return True
    return False


def _single_axis(index: Index) -> int | None:
    """The axis of ``index``'s one integer array when everything else is a full slice (the
    form of ``take``, ``x[:, idx]``): it maps to one ``take`` along that axis."""
    axis = None
    full = slice(None)
    for i, item in enumerate(index):
        if type(item) is np.ndarray:
            if axis is not None or item.dtype.kind == "b" or item.ndim == 0:
                return None
            axis = i
        elif item != full or type(item) is not slice:
            return None
    return axis


def _wrapped(idx: np.ndarray, n: int, axis: int) -> np.ndarray:
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"index {int(idx[bad][0])} is out of bounds for axis {axis} with size {n}")
    return np.where(idx < 0, idx + n, idx).astype(np.int64, copy=False)


def _flat_positions(index: Index, shape: tuple[int, ...]) -> np.ndarray:
    """Where in a C-ordered array of ``shape`` each entry of ``a[index]`` comes from, in the
    result's shape. NumPy reads the index (so its rules hold exactly) on a coordinate grid that
    is broadcast, not allocated: the work and memory are the result's size, not the array's."""
    flat = None
    stride = 1
    nd = len(shape)
    for d in range(nd - 1, -1, -1):
        n = shape[d]
        grid = np.broadcast_to(np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (nd - d - 1)), shape)
        coord = grid[index]
        flat = coord * stride if flat is None else flat + coord * stride
        stride *= n
    if flat is None:  # a 0-d array: the index only adds axes
        flat = np.broadcast_to(np.zeros((), np.int64), ())[index]
    return np.asarray(flat, dtype=np.int64)


def _explicit(index: Index) -> Index:
    """A basic index with the trailing ``...`` that NumPy implies and the array API requires."""
    for item in index:
        if item is Ellipsis:
            return index
    return (*index, Ellipsis)


def _region_shape(index: Index, shape: tuple[int, ...]) -> tuple[int, ...]:
    return np.broadcast_to(np.zeros((), bool), shape)[index].shape


def _getitem_xp(x: Any, index: Index, xp: Any) -> Any:
    if not _has_array(index):
        return x[_explicit(index)]
    shape = tuple(x.shape)
    axis = _single_axis(index)
    if axis is not None:
        idx = index[axis]
        picked = xp.take(x, xp.asarray(_wrapped(idx, shape[axis], axis).reshape(-1)), axis=axis)
        if idx.ndim == 1:
            return picked
        return xp.reshape(picked, shape[:axis] + idx.shape + shape[axis + 1 :])
    pos = _flat_positions(index, shape)
    picked = xp.take(xp.reshape(x, (-1,)), xp.asarray(pos.reshape(-1)))
    return xp.reshape(picked, pos.shape)


def _scatter_add(g: Any, pos: np.ndarray, n: int, axis: int, xp: Any) -> Any:
    """Entries of ``g`` along ``axis`` summed into ``n`` slots at positions ``pos`` (NumPy ints).

    The array API has no scatter, so the sum is gathers: the entries sorted by slot, then one
    ``take`` per occurrence rank (the first of each slot, the second...), added in that order,
    which is ``np.add.at``'s order, so the sums are NumPy's to the last bit.
    """
    m = pos.shape[0]
    order = np.argsort(pos, kind="stable")
    slots = pos[order]
    if m:
        run_start = np.r_[True, slots[1:] != slots[:-1]]
        rank = np.arange(m) - np.maximum.accumulate(np.where(run_start, np.arange(m), 0))
        if (order != np.arange(m)).any():
            g = xp.take(g, xp.asarray(order.astype(np.int64)), axis=axis)
    else:
        rank = np.zeros(0, np.int64)
    edge = tuple(g.shape)
    edge = edge[:axis] + (1,) + edge[axis + 1 :]
    padded = xp.concat([xp.zeros(edge, dtype=g.dtype), g], axis=axis)
    out = None
    for k in range(int(rank.max()) + 1 if m else 1):
        source = np.zeros(n, np.int64)  # slot -> 1 + the entry landing there (0: none, a zero)
        chosen = np.nonzero(rank == k)[0]
        source[slots[chosen]] = chosen + 1
        term = xp.take(padded, xp.asarray(source), axis=axis)
        out = term if out is None else out + term
    return out


def _index_add_xp(g: Any, index: Index, shape: tuple[int, ...], xp: Any) -> Any:
    if not _has_array(index):
        out = xp.zeros(shape, dtype=g.dtype)
        # The region written, without the axes that None inserted into g.
        plain = tuple(item for item in index if item is not None)
        out[_explicit(plain)] = xp.reshape(g, _region_shape(plain, shape))
        return out
    axis = _single_axis(index)
    if axis is not None:
        idx = index[axis]
        pos = _wrapped(idx, shape[axis], axis).reshape(-1)
        rows = xp.reshape(g, shape[:axis] + (pos.shape[0],) + shape[axis + 1 :])
        return _scatter_add(rows, pos, shape[axis], axis, xp)
    pos = _flat_positions(index, shape).reshape(-1)
    size = int(np.prod(shape))
    return xp.reshape(_scatter_add(xp.reshape(g, (-1,)), pos, size, 0, xp), shape)


def _index_put_xp(x: Any, values: Any, index: Index, xp: Any) -> Any:
    shape = tuple(x.shape)
    if not hasattr(values, "shape") or isinstance(values, (np.ndarray, np.generic)):
        values = xp.asarray(values, dtype=x.dtype)
    elif values.dtype != x.dtype:
        values = xp.astype(values, x.dtype)  # NumPy's assignment casts too
    region = _region_shape(index, shape)
    extra = values.ndim - len(region)
    if extra > 0:
        # NumPy lets the values carry extra leading size-1 dimensions.
        values = xp.reshape(values, tuple(values.shape)[extra:])
    values = xp.broadcast_to(values, region)
    if not _has_array(index):
        out = xp.asarray(x, copy=True)
        plain = tuple(item for item in index if item is not None)
        out[_explicit(plain)] = xp.reshape(values, _region_shape(plain, shape))
        return out
    pos = _flat_positions(index, shape).reshape(-1)
    size = int(np.prod(shape))
    source = np.zeros(size, np.int64)  # slot -> 1 + the value written there (the last, as NumPy)
    source[pos] = np.arange(1, pos.shape[0] + 1)
    flat_values = xp.concat([xp.zeros((1,), dtype=x.dtype), xp.reshape(values, (-1,))])
    written = xp.take(flat_values, xp.asarray(source))
    flat = xp.where(xp.asarray(source > 0), written, xp.reshape(x, (-1,)))
    return xp.reshape(flat, shape)


# ---------------------------------------------------------------- primitives
def _getitem_impl(x: Any, *, index: Index, xp: Any = np) -> Any:
    if xp is not np:
        return _getitem_xp(x, index, xp)
    return np.asarray(x)[index]


def _index_add_impl(g: Any, *, index: Index, shape: tuple[int, ...], xp: Any = np) -> Any:
    if xp is not np:
        return _index_add_xp(g, index, shape, xp)
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


def _index_put_impl(x: Any, values: Any, *, index: Index, xp: Any = np) -> Any:
    if xp is not np:
        return _index_put_xp(x, values, index, xp)
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


def _zeros_like(x: Any, t: Any) -> Any:
    data = as_array(t)
    if is_foreign(data):
        from chainrule.core.backend import namespace_of

        return namespace_of(data).zeros(tuple(x.shape), dtype=data.dtype)
    return np.zeros(tuple(x.shape), dtype=data.dtype)


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
    idx = to_numpy(as_array(indices))  # (a static setting, whatever its library)
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
    idx = to_numpy(as_array(indices))
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
def _permute_along_impl(x: Any, perm: Any, *, axis: int, xp: Any = np) -> Any:
    if xp is not np:
        along = getattr(xp, "take_along_axis", None)  # (standard since 2024.12; Dask lacks it)
        if along is not None:
            return along(x, perm, axis=axis)
        return _take_along_flat(x, perm, axis, xp)
    return np.take_along_axis(np.asarray(x), np.asarray(perm), axis=axis)


def _take_along_flat(x: Any, perm: Any, axis: int, xp: Any) -> Any:
    # perm has x's shape: the flat position of each entry is perm along `axis`, the entry's own
    # coordinate along the others.
    shape = tuple(x.shape)
    nd = len(shape)
    axis %= nd
    flat = None
    stride = 1
    for d in range(nd - 1, -1, -1):
        if d == axis:
            coord = perm
        else:
            coord = xp.reshape(xp.arange(shape[d], dtype=perm.dtype), (shape[d],) + (1,) * (nd - d - 1))
        term = coord * stride if stride != 1 else coord
        flat = term if flat is None else flat + term
        stride *= shape[d]
    flat = xp.broadcast_to(flat, shape)
    return xp.reshape(xp.take(xp.reshape(x, (-1,)), xp.reshape(flat, (-1,))), shape)


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
