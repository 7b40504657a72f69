"""vmap: batching levels, batched tensors, and ``bind_batched``.

A value batched by one or more active ``vmap`` levels is a :class:`BatchedTensor`: a Tensor whose
``shape`` is the shape of *one example*, and which carries the whole batch as a plain Tensor
(its ``base``) with one leading axis per level, oldest level first. Every op on batched values
goes through ``bind`` to :func:`bind_batched`, which lines the inputs' batch axes up and applies
the primitive's batching rule (``batching_rules.py``): the rule turns the per-example op into one
op on the whole batch, written with chainrule primitives on the bases. Those ops run "below" the
batching levels, where tapes record them and forward accumulators push tangents through them as
through any other op; that is how ``vmap`` composes with ``grad``, ``jvp``, tapes and itself.

Reverse mode always records on the bases (the full batch). So a gradient taken *inside* a vmap is
computed on the batch: the transforms convert cotangents and results between a value's
per-example view and the batch (:func:`to_base_world` / :func:`from_base_world`), and ``grad``
lifts its inputs to every active user ``vmap`` level so that an example's gradient never mixes with
another's. The Jacobian transforms use a batching level of their own for the basis vectors: one
batched backward (``jacrev``, ``GradientTape.jacobian``) or forward (``jacfwd``) sweep.

Primitives without a batching rule fall back to a Python loop over the examples (slicing with
``getitem`` and stacking the results), recorded like any other op; ``FALLBACK_USED`` names the
primitives that took that path in this process.

>>> import chainrule as cr
>>> cr.vmap(lambda row: cr.sum(row * row))(cr.tensor([[1., 2.], [3., 4.]]))
tensor([ 5., 25.], dtype=float64)
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive, registry
from chainrule.core.stack import Interpreter, pop, push, set_stack
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.pytree import broadcast_prefix, flatten, unflatten

__all__ = [
    "vmap", "BatchedTensor", "BatchLevel", "bind_batched", "FALLBACK_USED", "push_level",
    "pop_level", "add_level", "remove_level", "to_base_world", "from_base_world", "below",
    "user_levels", "lift_to_levels", "is_batched", "active_levels", "batching_active",
]  # fmt: skip

_new = object.__new__
_ids = itertools.count(1)

#: Names of the primitives that went through the per-example loop (no batching rule).
FALLBACK_USED: set[str] = set()


class BatchLevel(Interpreter):
    """One active batching level: an id (creation order) and the batch size.

    On the interpreter stack the vmap levels sit on top (rank 2), and the topmost takes every op:
    it applies the op's batching rule to the batched bases (all levels at once) with the levels
    set aside, so the tapes and accumulators under them see, and record, ops on whole batches.
    """

    __slots__ = ("id", "size", "user", "split")

    rank = 2
    tensor_rules = True

    def __init__(self, size: int, user: bool) -> None:
        self.id = next(_ids)
        self.size = int(size)
        # User levels come from vmap; internal ones from the Jacobian transforms (they batch
        # basis vectors only, never the values a user function sees).
        self.user = user
        #: ``(stack, lower, levels)``: the last stack this level topped, split (see
        #: :func:`_split_top`). Every batched op splits the stack, and it rarely changes in between.
        self.split: tuple[Any, ...] | None = None

    def process_primitive(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        return _bind_batched(self, prim, args, params)

    def lower(self, stack: tuple[Interpreter, ...]) -> tuple[Interpreter, ...]:
        return _split_top(stack)[0]

    def __repr__(self) -> str:
        return f"<BatchLevel {self.id} size={self.size}{'' if self.user else ' internal'}>"


class _Local(threading.local):
    def __init__(self) -> None:
        # The batching levels set aside while a batched op runs on the bases (innermost last).
        self.suspended: list[list[BatchLevel]] = []


_local = _Local()


def _split(stack: tuple[Interpreter, ...]) -> tuple[tuple[Interpreter, ...], list[BatchLevel]]:
    """The stack under the vmap levels, and the levels (they are its top, by rank)."""
    i = len(stack)
    while i > 0 and type(stack[i - 1]) is BatchLevel:
        i -= 1
    return stack[:i], list(stack[i:])  # type: ignore[arg-type]


def _split_top(stack: tuple[Interpreter, ...]) -> tuple[tuple[Interpreter, ...], list[BatchLevel]]:
    """:func:`_split`, remembered by the top level for the stack it last saw (the split depends on
    the stack only; the levels list is shared, and read, never changed, by its users).

    Only a stack of levels alone is remembered: the memo refers back to the level (pop_level
    drops it), and it must not keep the tapes or accumulators under the levels alive after them.
    """
    if stack:
        top = stack[-1]
        if type(top) is BatchLevel:
            memo = top.split
            if memo is not None and memo[0] is stack:
                return memo[1], memo[2]
            lower, levels = _split(stack)
            if not lower:
                top.split = (stack, lower, levels)
            return lower, levels
    return _split(stack)


def active_levels() -> list[BatchLevel]:
    """The vmap levels on this thread's stack, oldest first (none while they are set aside)."""
    return _split(state.stack)[1]


def batching_active() -> bool:
    """Whether a vmap level is on this thread's stack."""
    stack = state.stack
    return bool(stack) and type(stack[-1]) is BatchLevel


# ---------------------------------------------------------------- the placeholder behind ._data
_RAW_MESSAGE = (
    "a value batched by vmap has no single array: its ._data stands for one example's shape "
    "and dtype. This happens when a batched value escapes its vmap (it was stored, then used "
    "after vmap returned), or when code computes with NumPy on ._data inside vmap beyond "
    "elementwise ufuncs and whole-array checks (or calls .numpy()/float()/bool() on it). Return "
    "the value from the vmapped function, and write rules with chainrule primitives."
)

_SHAPE_FUNCTIONS = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj}
# Whole-array reductions: on the batch they answer the question for every example at once,
# which is what argument checks (``indices.max() < n``) need.
_WHOLE_REDUCTIONS = {np.any, np.all, np.max, np.min, np.amax, np.amin, np.sum, np.count_nonzero}


def _sentinel(dtype: np.dtype) -> Any:
    if dtype.kind == "f":
        return np.nan
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return np.zeros((), dtype)


def _placeholder(payload: np.ndarray, levels: tuple[int, ...]) -> _ShapeOnly:
    """One example's shape and dtype, filled with an invalid value (NaN, the smallest integer)
    so that data read from it by mistake fails loudly; the whole batch rides along."""
    fill = np.array(_sentinel(payload.dtype), dtype=payload.dtype)
    ph = np.broadcast_to(fill, payload.shape[len(levels):]).view(_ShapeOnly)
    ph._payload = payload
    ph._nb = len(levels)
    ph._levels = levels
    return ph


def _check_alive(levels: tuple[int, ...]) -> None:
    active = active_levels() or (_local.suspended[-1] if _local.suspended else ())
    ids = {lv.id for lv in active}
    if not ids.issuperset(levels):
        raise TypeError(_RAW_MESSAGE)


class _ShapeOnly(np.ndarray):
    """What ``BatchedTensor._data`` gives: shape and dtype of one example.

    Elementwise ufuncs (and ``np.where``) apply to every example and give another placeholder;
    whole-array reductions (``.max()``, ``np.any``) look at every example; anything else raises.
    """

    _payload: np.ndarray
    _nb: int
    _levels: tuple[int, ...]

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        _check_alive(self._levels)
        if method == "__call__" and not kwargs.get("out") and ufunc.nout == 1:
            return _elementwise_on_payloads(lambda *a: ufunc(*a, **kwargs), inputs)
        if method == "reduce" and kwargs.get("axis", 0) is None and not kwargs.get("out"):
            (x,) = inputs
            return ufunc.reduce(x._payload, **kwargs)
        raise TypeError(_RAW_MESSAGE)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in _SHAPE_FUNCTIONS:
            return super().__array_function__(func, types, args, kwargs)
        _check_alive(self._levels)
        if func in _WHOLE_REDUCTIONS and kwargs.get("axis") is None and len(args) == 1:
            return func(args[0]._payload, **kwargs)
        if func is np.where and len(args) == 3 and not kwargs:
            return _elementwise_on_payloads(np.where, args)
        raise TypeError(_RAW_MESSAGE)

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return _placeholder(self._payload.astype(dtype, *args, **kwargs), self._levels)

    def copy(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return _placeholder(self._payload.copy(), self._levels)

    def __bool__(self) -> bool:
        raise TypeError(_RAW_MESSAGE)

    def __reduce__(self) -> Any:
        raise TypeError(_RAW_MESSAGE)


def _elementwise_on_payloads(fn: Callable[..., Any], inputs: Any) -> Any:
    nb = None
    levels: tuple[int, ...] = ()
    top = 0
    for x in inputs:
        if isinstance(x, _ShapeOnly):
            if nb is None:
                nb = x._nb
                levels = x._levels
            elif x._levels != levels:
                raise TypeError(_RAW_MESSAGE)
            top = max(top, x._payload.ndim - x._nb)
        else:
            top = max(top, np.ndim(x))
    assert nb is not None
    args = []
    for x in inputs:
        if isinstance(x, _ShapeOnly):
            p = x._payload
            have = p.ndim - nb
            if have < top:
                p = p.reshape(p.shape[:nb] + (1,) * (top - have) + p.shape[nb:])
            args.append(p)
        else:
            args.append(np.asarray(x) if isinstance(x, np.ndarray) else x)
    return _placeholder(np.asarray(fn(*args)), levels)


class BatchedTensor(Tensor):
    """A value inside ``vmap``: ``shape`` is one example's, ``base`` holds the whole batch.

    ``base`` is a plain Tensor whose leading axes are the batch axes of ``levels`` (level ids,
    oldest first); the rest is the example's shape. A subclass (a dialect's, adding method names
    and printing but no storage) is a batched value too: the transforms test with
    ``isinstance``.
    """

    __slots__ = ("_base", "_levels", "_placeholder")

    #: True for a batch kept in a structured form (``structured.DiagonalBatch``): ops on it try
    #: its structured rules first.
    _structured = False

    # ._data is what shape checks in the public functions read: an array with one example's
    # shape and dtype that refuses arithmetic.
    @property  # type: ignore[override]
    def _data(self) -> np.ndarray:
        ph = self._placeholder
        if ph is None:
            ph = self._placeholder = _placeholder(self._base._data, self._levels)
        return ph

    @_data.setter
    def _data(self, value: Any) -> None:
        raise RuntimeError(
            "in-place changes of a batched value inside vmap are not supported; compute a new "
            "value instead (y = x + 1 rather than x += 1)"
        )

    @property
    def shape(self) -> tuple[int, ...]:
        return self._base._data.shape[len(self._levels):]

    @property
    def dtype(self) -> np.dtype:
        return self._base._data.dtype

    @property
    def ndim(self) -> int:
        return self._base._data.ndim - len(self._levels)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def base(self) -> Tensor:
        """The whole batch, batch axes first."""
        return self._base

    @property
    def levels(self) -> tuple[int, ...]:
        return self._levels

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(_RAW_MESSAGE)

    numpy = item = tolist = __array__ = __float__ = __int__ = __index__ = __bool__ = _refuse  # type: ignore[assignment]

    def detach(self) -> BatchedTensor:
        """The same batched values without history (each example detached)."""
        return _batched(self._base.detach(), self._levels)

    def clone(self) -> Tensor:
        """A copy of every example, in the graph when the value requires grad."""
        return bind(registry["astype"], self, dtype=self.dtype)

    # In-place ops inside vmap: computed out of place, then this value takes the new batch.
    def _rebase(self, result: Any, op: str) -> BatchedTensor:
        if not isinstance(result, Tensor):
            result = _plain(np.asarray(result))
        if tuple(result.shape) != tuple(self.shape):
            raise ValueError(
                f"{op}: the result has shape {tuple(result.shape)} but the tensor has shape "
                f"{tuple(self.shape)}; an in-place op cannot change the shape"
            )
        if result.dtype != self.dtype:
            result = bind(registry["astype"], result, dtype=self.dtype)
        if not isinstance(result, BatchedTensor):
            raise RuntimeError(f"{op}: internal error: a batched in-place op lost its batch")
        self._base = result._base
        self._levels = result._levels
        self._placeholder = None
        self._requires_grad = result._base._requires_grad
        self._version += 1
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        from chainrule.ops.indexing import normalize_index

        idx = normalize_index(index, "__setitem__")
        self._rebase(bind(registry["index_put"], self, value, index=idx), "__setitem__")

    def __iadd__(self, other: Any) -> BatchedTensor:
        return self._rebase(bind(registry["add"], self, other), "__iadd__")

    def __isub__(self, other: Any) -> BatchedTensor:
        return self._rebase(bind(registry["sub"], self, other), "__isub__")

    def __imul__(self, other: Any) -> BatchedTensor:
        return self._rebase(bind(registry["mul"], self, other), "__imul__")

    def __itruediv__(self, other: Any) -> BatchedTensor:
        return self._rebase(bind(registry["div"], self, other), "__itruediv__")

    add_ = __iadd__
    sub_ = subtract_ = __isub__
    mul_ = __imul__
    div_ = __itruediv__

    def __repr__(self) -> str:
        d = self._base._data
        sizes = d.shape[: len(self._levels)]
        return (
            f"BatchedTensor(example shape={self.shape}, dtype={d.dtype}, batch sizes={sizes}, "
            f"values=\n{d})"
        )

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


def _batched(base: Any, levels: tuple[int, ...]) -> BatchedTensor:
    if not isinstance(base, Tensor):
        base = _plain(base)
    b = _new(BatchedTensor)
    b._base = base
    b._levels = levels
    b._placeholder = None
    b._node = None
    b._requires_grad = base._requires_grad
    b.grad = None
    b._vc = None
    b._view = None
    b._hooks = None
    return b


_plain = wrap_array


def is_batched(x: Any) -> bool:
    """True for a value batched by an active vmap level."""
    return isinstance(x, BatchedTensor)


# ---------------------------------------------------------------- levels
def push_level(size: int, user: bool = True) -> BatchLevel:
    """Open a batching level (innermost)."""
    level = BatchLevel(size, user)
    push(level)
    return level


def pop_level(level: BatchLevel) -> None:
    """Close ``level`` (it is normally the innermost)."""
    level.split = None
    pop(level)


def user_levels() -> list[BatchLevel]:
    """The active vmap levels (not the Jacobian transforms' own), oldest first."""
    stack = state.stack
    if stack and type(stack[-1]) is BatchLevel:
        levels = _split_top(stack)[1]
    elif _local.suspended:
        levels = _local.suspended[-1]
    else:
        return []
    return [lv for lv in levels if lv.user]


def _set_aside(saved: tuple[Interpreter, ...]) -> None:
    """Make the stack under the vmap levels of ``saved`` (this thread's stack) the stack, the
    levels noted as suspended; :func:`_give_back` undoes it. Every batched op does this twice, so
    the stack is written directly: the thread keeps its entry in ``BUSY_THREADS`` meanwhile
    (which core/modes.py allows while a stack is briefly emptied), and ``_give_back`` counts it
    again if something in between took it away."""
    top = saved[-1] if saved else None
    memo = top.split if type(top) is BatchLevel else None  # type: ignore[union-attr]
    if memo is not None and memo[0] is saved:
        lower = memo[1]
        levels = memo[2]
    else:
        lower, levels = _split_top(saved)
    _local.suspended.append(levels)
    state.stack = lower
    state.busy = bool(lower)


def _give_back(saved: tuple[Interpreter, ...]) -> None:
    _local.suspended.pop()
    if saved and state.counted:
        state.stack = saved
        state.busy = True
    else:
        set_stack(saved)


class below:
    """Run ops directly on bases: the batching levels are set aside (and given back after).

    Forward accumulators put them back while they compute tangents, which may be batched.
    """

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        self._saved = saved = state.stack
        if saved and not state.counted:
            set_stack(saved)  # (the invariant _give_back relies on; never expected to run)
        _set_aside(saved)

    def __exit__(self, *exc: object) -> None:
        _give_back(self._saved)


def suspended_levels() -> list[BatchLevel] | None:
    """The levels set aside by the innermost ``below`` block (None outside one)."""
    return _local.suspended[-1] if _local.suspended else None


# ---------------------------------------------------------------- bind_batched
def bind_batched(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Apply ``prim`` to possibly batched ``args`` (called by ``bind`` while vmap is active)."""
    return _bind_batched(None, prim, args, params)


def _bind_batched(level: Any, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """:func:`bind_batched`, which ``BatchLevel.process_primitive`` calls without the extra step
    (``level``, the level that took the op, is not needed: the stack tells)."""
    levels = None
    mixed = False
    first = None
    structured = False
    for a in args:
        t = type(a)
        if isinstance(a, BatchedTensor):
            if a._structured:
                structured = True
            if levels is None:
                levels = a._levels
                first = a
            elif a._levels != levels:
                mixed = True
        elif t is _ShapeOnly:
            # A mask a rule computed with NumPy from a batched value's ._data: batched too.
            args = tuple(_batched(_plain(a._payload), a._levels) if type(a) is _ShapeOnly else a
                         for a in args)  # fmt: skip
            return _bind_batched(level, prim, args, params)
    if levels is None:
        # The direct route: no input is batched, so the op itself runs below the levels.
        saved = state.stack
        _set_aside(saved)
        try:
            return bind(prim, *args, **params)
        finally:
            _give_back(saved)
    if structured and not mixed:
        apply = _STRUCTURED[0]
        if apply is None:
            from chainrule.transforms.structured import apply

            _STRUCTURED[0] = apply
        out = apply(prim, args, params)
        if out is not NotImplemented:
            return out
        # No structured rule for this op or form: it runs on the dense batches below.
    if mixed:
        levels = tuple(sorted({lv for a in args if isinstance(a, BatchedTensor) for lv in a._levels}))
    rules = _RULES[0]
    if rules is None:
        from chainrule.transforms.batching_rules import RULES, rule_of

        rules = _RULES[0] = RULES
        _RULES.append(rule_of)
    nb = len(levels)
    saved = state.stack
    _set_aside(saved)
    try:
        vals = []
        flags = []
        for a in args:
            if isinstance(a, BatchedTensor):
                base = a._base
                if mixed and a._levels != levels:
                    base = _insert_level_axes(base, a._levels, levels)
                vals.append(base)
                flags.append(True)
            else:
                vals.append(a)
                flags.append(False)
        # (The registered primitive's own rule, read directly; the mapping for anything else.)
        rule = _RULES[1](prim) if registry.get(prim.name) is prim else rules.get(prim.name)
        if rule is not None:
            out = rule(prim, vals, flags, nb, params)
        elif prim.batch_rule is not None:
            out = _declared_rule(prim, vals, flags, nb, params)
        else:
            out = fallback_rule(prim, vals, flags, nb, params)
        if not isinstance(out, Tensor):
            out = _plain(out)
        sizes = _batch_sizes(vals, flags, nb) if mixed else first._base._data.shape[:nb]  # type: ignore[union-attr]
        if out._data.shape[:nb] != sizes:
            # A rule may leave a size-1 batch axis (an input that did not vary along it).
            out = bind(registry["broadcast_to"], out, shape=sizes + out._data.shape[nb:])
    finally:
        _give_back(saved)
    return _batched(out, levels)


# ``bind`` calls the top level's process_primitive: the batched bind itself, one call less.
BatchLevel.process_primitive = _bind_batched  # type: ignore[assignment]

# The batching rules' mapping and rule_of, and structured.apply: imported on first use
# (those modules import this one), then kept here.
_RULES: list[Any] = [None]
_STRUCTURED: list[Any] = [None]


def _batch_sizes(vals: list[Any], flags: list[bool], nb: int) -> tuple[int, ...]:
    sizes = [1] * nb
    for v, f in zip(vals, flags):
        if f:
            shp = v._data.shape
            for i in range(nb):
                if shp[i] != 1:
                    sizes[i] = shp[i]
    return tuple(sizes)


def _insert_level_axes(base: Tensor, have: tuple[int, ...], want: tuple[int, ...]) -> Tensor:
    """Give ``base`` (batch axes ``have``) a size-1 axis for each level of ``want`` it lacks."""
    shp = base._data.shape
    k = len(have)
    it = iter(shp[:k])
    batch = tuple(next(it) if lv in have else 1 for lv in want)
    return bind(registry["reshape"], base, shape=batch + shp[k:])


def _example_ndim(v: Any, flag: bool, nb: int) -> int:
    if flag:
        return v._data.ndim - nb
    if isinstance(v, Tensor):
        return v._data.ndim
    return np.ndim(v)


def _declared_rule(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                   params: dict[str, Any]) -> Any:  # fmt: skip
    """A rule declared with ``Primitive.def_batch``: one batch axis per argument (or None)."""
    batch = _batch_sizes(vals, flags, nb)
    merged, dims = _merge_batch_axes(vals, flags, nb, batch)
    out, out_dim = prim.batch_rule(merged, dims, **params)  # type: ignore[misc]
    if not isinstance(out, Tensor):
        out = _plain(out)
    nd = out._data.ndim
    if out_dim is None:
        out = bind(registry["broadcast_to"], out, shape=(math.prod(batch),) + out._data.shape)
    elif out_dim % nd != 0:
        order = (out_dim % nd,) + tuple(i for i in range(nd) if i != out_dim % nd)
        out = bind(registry["transpose"], out, axes=order)
    return bind(registry["reshape"], out, shape=batch + out._data.shape[1:])


def _merge_batch_axes(vals: list[Any], flags: list[bool], nb: int,
                      batch: tuple[int, ...]) -> tuple[list[Any], list[int | None]]:  # fmt: skip
    """Each batched value with its nb batch axes broadcast to ``batch`` and merged into one."""
    n = math.prod(batch)
    merged: list[Any] = []
    dims: list[int | None] = []
    for v, f in zip(vals, flags):
        if not f:
            merged.append(v)
            dims.append(None)
            continue
        shp = v._data.shape
        if shp[:nb] != batch:
            v = bind(registry["broadcast_to"], v, shape=batch + shp[nb:])
        if nb != 1:
            v = bind(registry["reshape"], v, shape=(n,) + shp[nb:])
        merged.append(v)
        dims.append(0)
    return merged, dims


def fallback_rule(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                  params: dict[str, Any]) -> Any:  # fmt: skip
    """The per-example loop for primitives without a batching rule (recorded op by op)."""
    FALLBACK_USED.add(prim.name)
    from chainrule.ops.shape import stack

    batch = _batch_sizes(vals, flags, nb)
    merged, dims = _merge_batch_axes(vals, flags, nb, batch)
    getitem = registry["getitem"]
    outs = []
    for i in range(math.prod(batch)):
        args_i = [bind(getitem, v, index=(i,)) if d is not None else v for v, d in zip(merged, dims)]
        out = bind(prim, *args_i, **params)
        outs.append(out if isinstance(out, Tensor) else _plain(out))
    stacked = stack(outs, axis=0) if len(outs) != 1 else bind(
        registry["reshape"], outs[0], shape=(1,) + outs[0]._data.shape
    )
    return bind(registry["reshape"], stacked, shape=batch + stacked._data.shape[1:])


# ---------------------------------------------------------------- moving between views
def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"vmap: cannot batch a value of type {type(x).__name__} (dtype {arr.dtype})")
    return _plain(arr)


def add_level(x: Any, axis: int, level: BatchLevel) -> BatchedTensor:
    """``x`` batched along its (per-example) ``axis`` at the new innermost ``level``."""
    x = _as_tensor(x)
    if isinstance(x, BatchedTensor):
        base, levels = x._base, x._levels
    else:
        base, levels = x, ()
    nb = len(levels)
    shp = base._data.shape
    ex_ndim = len(shp) - nb
    if not -ex_ndim <= axis < ex_ndim:
        raise ValueError(
            f"vmap: in_axes {axis} is out of range for an argument of shape {shp[nb:]} "
            f"({ex_ndim} dimensions)"
        )
    src = nb + axis % ex_ndim
    if shp[src] != level.size:
        raise ValueError(
            f"vmap: an argument of shape {shp[nb:]} has size {shp[src]} along in_axes {axis}, "
            f"but the batch size is {level.size}; all batched arguments must agree"
        )
    if src != nb:
        order = tuple(range(nb)) + (src,) + tuple(i for i in range(nb, len(shp)) if i != src)
        with below():
            base = bind(registry["transpose"], base, axes=order)
    return _batched(base, levels + (level.id,))


def remove_level(x: Any, level: BatchLevel, axis: int | None) -> Any:
    """The value seen outside ``level``: its batch axis moved to (per-example) ``axis``."""
    x = _as_tensor(x)
    if isinstance(x, BatchedTensor) and level.id in x._levels:
        if axis is None:
            raise ValueError(
                "vmap: out_axes is None for an output that varies along the batch; give an "
                "axis for it (out_axes=0) or return a value that does not depend on the batch"
            )
        levels = x._levels
        base = x._base
        p = levels.index(level.id)
        rest = levels[:p] + levels[p + 1 :]
        nb = len(rest)
        ndim = base._data.ndim
        ex_ndim = ndim - len(levels) + 1
        if not -ex_ndim <= axis < ex_ndim:
            raise ValueError(f"vmap: out_axes {axis} is out of range for an output of {ex_ndim - 1} dimensions")
        dst = nb + axis % ex_ndim
        if dst != p:
            order = [i for i in range(ndim) if i != p]
            order.insert(dst, p)
            with below():
                base = bind(registry["transpose"], base, axes=tuple(order))
        return _batched(base, rest) if rest else base
    if axis is None:
        return x
    # Not batched along this level: every example is the same, so repeat it.
    if isinstance(x, BatchedTensor):
        base, levels = x._base, x._levels
    else:
        base, levels = x, ()
    nb = len(levels)
    shp = base._data.shape
    ex_ndim = len(shp) - nb + 1
    if not -ex_ndim <= axis < ex_ndim:
        raise ValueError(f"vmap: out_axes {axis} is out of range for an output of {ex_ndim - 1} dimensions")
    dst = nb + axis % ex_ndim
    with below():
        grown = bind(registry["reshape"], base, shape=shp[:dst] + (1,) + shp[dst:])
        base = bind(registry["broadcast_to"], grown, shape=shp[:dst] + (level.size,) + shp[dst:])
    return _batched(base, levels) if levels else base


def _sizes_of(levels: tuple[int, ...]) -> dict[int, int]:
    active = active_levels() or (suspended_levels() or [])
    return {lv.id: lv.size for lv in active if lv.id in levels}


def to_base_world(v: Any, levels: tuple[int, ...], sizes: dict[int, int] | None = None) -> Any:
    """Express ``v`` (a per-example value) in the world of a base batched at ``levels``.

    The result has the base's shape (the ``levels`` axes first, broadcast where ``v`` does not
    vary along them); ``v``'s other levels stay as batching levels of the result.
    """
    if not levels:
        return v
    v = _as_tensor(v)
    if isinstance(v, BatchedTensor):
        base, have = v._base, v._levels
    else:
        base, have = v, ()
    keep = tuple(lv for lv in have if lv not in levels)
    shp = base._data.shape
    k = len(have)
    order = [have.index(lv) for lv in keep] + [have.index(lv) for lv in levels if lv in have]
    order += list(range(k, len(shp)))
    with below():
        if order != list(range(len(shp))):
            base = bind(registry["transpose"], base, axes=tuple(order))
        if any(lv not in have for lv in levels):
            if sizes is None:
                sizes = _sizes_of(levels)
            kept_sizes = tuple(shp[have.index(lv)] for lv in keep)
            inner = tuple(shp[have.index(lv)] if lv in have else 1 for lv in levels)
            full = tuple(sizes[lv] for lv in levels)
            example = shp[k:]
            base = bind(registry["reshape"], base, shape=kept_sizes + inner + example)
            base = bind(registry["broadcast_to"], base, shape=kept_sizes + full + example)
    return _batched(base, keep) if keep else base


def from_base_world(w: Any, levels: tuple[int, ...]) -> Any:
    """The inverse of :func:`to_base_world`: a base-world value seen per example."""
    if not levels or w is None:
        return w
    w = _as_tensor(w)
    if isinstance(w, BatchedTensor):
        base, extra = w._base, w._levels
    else:
        base, extra = w, ()
    if set(extra) & set(levels):
        raise RuntimeError("internal error: a value is batched twice along the same vmap level")
    combined = extra + levels
    order = sorted(range(len(combined)), key=lambda i: combined[i])
    ndim = base._data.ndim
    if order != list(range(len(combined))):
        with below():
            base = bind(registry["transpose"], base,
                        axes=tuple(order) + tuple(range(len(combined), ndim)))  # fmt: skip
    return _batched(base, tuple(sorted(combined)))


def lift_to_levels(x: Tensor, levels: list[BatchLevel]) -> Tensor:
    """``x`` batched along every level of ``levels`` too (repeated where it did not vary)."""
    have = x._levels if isinstance(x, BatchedTensor) else ()
    missing = [lv for lv in levels if lv.id not in have]
    if not missing:
        return x
    want = tuple(sorted(set(have) | {lv.id for lv in missing}))
    sizes = {lv.id: lv.size for lv in missing}
    base = x._base if isinstance(x, BatchedTensor) else x
    shp = base._data.shape
    k = len(have)
    for lv, n in zip(have, shp[:k]):
        sizes[lv] = n
    with below():
        grown = _insert_level_axes(base, have, want) if have else bind(
            registry["reshape"], base, shape=(1,) * len(want) + shp
        )
        full = tuple(sizes[lv] for lv in want) + shp[k:]
        base = bind(registry["broadcast_to"], grown, shape=full)
    return _batched(base, want)


# ---------------------------------------------------------------- vmap
def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0) -> Callable[..., Any]:
    """Vectorise ``f`` over a batch axis of its arguments: ``f`` is written for one example.

    ``in_axes`` gives, for each positional argument, the axis that holds the batch (``None``:
    not batched); an int applies to every argument, a tuple gives one entry per argument (each
    an int, None, or a container matching that argument). ``out_axes`` says where the batch axis
    goes in each output. vmap composes with itself, ``grad``, ``jvp`` and the tapes.

    >>> import chainrule as cr
    >>> x = cr.tensor([[1., 2.], [3., 4.], [5., 6.]])
    >>> cr.vmap(lambda row, w: cr.sum(row * w), in_axes=(0, None))(x, cr.tensor([1., -1.]))
    tensor([-1., -1., -1.], dtype=float64)
    """

    def vmapped(*args: Any, **kwargs: Any) -> Any:
        leaves, treedef = flatten(args)
        if isinstance(in_axes, (list, dict)) and len(args) == 1 and not isinstance(in_axes, tuple):
            axes = broadcast_prefix(in_axes, args[0])
        elif isinstance(in_axes, tuple):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap: in_axes has {len(in_axes)} entries but the function got {len(args)} "
                    "positional arguments; give one entry per argument (or a single int/None)"
                )
            axes = broadcast_prefix(in_axes, args)
        else:
            axes = broadcast_prefix(in_axes, args)
        size = None
        for leaf, ax in zip(leaves, axes):
            if ax is None:
                continue
            if not isinstance(ax, (int, np.integer)) or isinstance(ax, bool):
                raise TypeError(f"vmap: in_axes entries must be ints or None, got {ax!r}")
            t = _as_tensor(leaf)
            shape = t.shape
            if not -len(shape) <= ax < len(shape) or not shape:
                raise ValueError(
                    f"vmap: in_axes {ax} is out of range for an argument of shape {tuple(shape)}"
                )
            n = shape[ax]
            if size is None:
                size = n
            elif n != size:
                raise ValueError(
                    f"vmap: the batched arguments disagree on the batch size: {size} and {n} "
                    f"(an argument of shape {tuple(shape)} along axis {ax})"
                )
        if size is None:
            raise ValueError(
                "vmap: no argument is batched (in_axes is None for all of them); give at least "
                "one argument a batch axis"
            )
        level = push_level(size, user=True)
        try:
            batched = [leaf if ax is None else add_level(leaf, int(ax), level)
                       for leaf, ax in zip(leaves, axes)]  # fmt: skip
            out = f(*unflatten(treedef, batched), **kwargs)
        finally:
            pop_level(level)
        out_leaves, out_def = flatten(out)
        if isinstance(out_axes, (list, tuple, dict)):
            oaxes = broadcast_prefix(out_axes, out, "out_axes")
        else:
            oaxes = [out_axes] * len(out_leaves)
        results = [remove_level(o, level, None if ax is None else int(ax))
                   for o, ax in zip(out_leaves, oaxes)]  # fmt: skip
        return unflatten(out_def, results)

    vmapped.__name__ = f"vmap({getattr(f, '__name__', 'f')})"
    vmapped.__doc__ = f.__doc__
    return vmapped

