"""`bind`: the single entry point of every operation.

Positional arguments are array-likes (Tensors, NumPy arrays, Python numbers); keyword arguments
are static settings (axis, shape). With no Tensor among the arguments, `bind` runs the forward on
raw arrays and returns a raw array: that is how derivative rules run fast during a first-order
backward pass. With a Tensor among them it wraps the result and, when grad mode is on and an input
is tracked, records a Node. Tapes, forward accumulators, vmap levels and anomaly mode are
interpreters on the stack (core/stack.py): with any of them active, the top one takes the op,
and its work reaches this fast path again one level down.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import (
    PLAIN_TYPES,
    dtype_kind,
    foreign_namespace,
    has_foreign,
    impl_for,
    is_plain,
    library_name,
)
from chainrule.core.modes import BUSY_THREADS, GRAD_OFF_THREADS, state
from chainrule.core.node import Node
from chainrule.core.primitive import OP_ERRORS, VIEW_PRIMITIVES, Primitive, refuse_complex
from chainrule.core.tensor import CUT, Tensor, share_version, wrap_array

__all__ = ["bind", "record", "refresh_view", "ALIAS_HOOKS", "SEQUENCE_TO_TENSOR"]

_ndarray = np.ndarray
_new = object.__new__
_NOTHING_SAVED = (None,)
_asarray = np.asarray
# The usual dtypes, tested by identity before the (slower) dtype.kind read of the complex checks.
_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)

#: Called as ``hook(alias, source)`` when ``alias`` takes ``source``'s history in place (a
#: regenerated view, a tensor written in place). Transforms that key state by array (forward
#: accumulators) register here; the core names none of them.
ALIAS_HOOKS: list[Any] = []

#: Set by ``chainrule.ops``: turns a (nested) list or tuple holding tensors into one tensor by
#: stacking, so that ``cr.mean([x, y])`` differentiates through x and y (as HIPS autograd and
#: ``jnp.stack`` do) instead of reading the list as a constant array.
SEQUENCE_TO_TENSOR: list[Any] = [None]


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` to ``args``; record it when an input is tracked and grad mode is on."""
    if BUSY_THREADS and state.busy:
        return _bind_slow(prim, args, params)
    if len(args) == 1:
        # The common one-input case, without the general loop.
        a = args[0]
        if not isinstance(a, Tensor):
            if type(a) is list or type(a) is tuple:
                return _bind_sequences(prim, args, params)
            return _run(prim, (a,), params)
        if type(a._data) is not _ndarray:
            return _bind_foreign(prim, args, params)
        view = a._view
        if view is not None and view[0]._node is not view[2]:
            refresh_view(a)
        try:
            out = prim.impl(a._data, **params)
        except OP_ERRORS as exc:
            raise _op_error(prim, [a._data], params, exc) from exc
        # wrap_array, inlined (one Python call less per op: this is the library's hottest path).
        t = _new(Tensor)
        t._data = out if type(out) is _ndarray else _asarray(out)
        t._node = t.grad = t._vc = t._view = t._hooks = None
        t._requires_grad = False
        if prim in VIEW_PRIMITIVES:  # (a set lookup: cheaper than reading prim.view)
            _link_view(prim, params, a, t)
        if a._requires_grad:
            if not GRAD_OFF_THREADS or state._grad:
                if prim.differentiable and ((k := t._data.dtype.kind) == "f" or k == "c"):
                    _record(prim, args, params, t, None)
                elif t._view is None:
                    t._view = (CUT, prim.name, None)
        elif view is not None and view[0] is CUT and t._view is None:
            t._view = view  # carried through untracked ops
        return t
    if len(args) == 2:
        a, b = args
        a_is = isinstance(a, Tensor)
        b_is = isinstance(b, Tensor)
        if not (a_is or b_is):
            if type(a) in _SEQUENCES or type(b) in _SEQUENCES:
                return _bind_sequences(prim, args, params)
            return _run(prim, args, params)
        cut = None
        if a_is:
            view = a._view
            if view is not None:
                if view[0] is CUT:
                    cut = view
                elif view[0]._node is not view[2]:
                    refresh_view(a)
        if b_is:
            view = b._view
            if view is not None:
                if view[0] is CUT:
                    cut = view
                elif view[0]._node is not view[2]:
                    refresh_view(b)
        datas = [a._data if a_is else a, b._data if b_is else b]
        if (type(datas[0]) not in PLAIN_TYPES or type(datas[1]) not in PLAIN_TYPES) and has_foreign(datas):
            return _bind_foreign(prim, args, params)
        tracked = (a_is and a._requires_grad) or (b_is and b._requires_grad)
    else:
        datas = []
        tracked = False
        any_tensor = False
        cut = None
        for a in args:
            if isinstance(a, Tensor):
                any_tensor = True
                view = a._view
                if view is not None:
                    if view[0] is CUT:
                        cut = view
                    elif view[0]._node is not view[2]:
                        refresh_view(a)
                datas.append(a._data)
                if a._requires_grad:
                    tracked = True
            else:
                datas.append(a)
        if not any_tensor:
            if any(type(a) in _SEQUENCES for a in args):
                return _bind_sequences(prim, args, params)
            return _run(prim, datas, params)
        if has_foreign(datas):
            return _bind_foreign(prim, args, params)
    try:
        out = prim.impl(*datas, **params)
    except OP_ERRORS as exc:
        raise _op_error(prim, datas, params, exc) from exc
    t = _new(Tensor)  # wrap_array, inlined as above
    t._data = out if type(out) is _ndarray else _asarray(out)
    t._node = t.grad = t._vc = t._view = t._hooks = None
    t._requires_grad = False
    if tracked:
        if not GRAD_OFF_THREADS or state._grad:
            if prim.differentiable and ((k := t._data.dtype.kind) == "f" or k == "c"):
                _record(prim, args, params, t, None)
            else:
                t._view = (CUT, prim.name, None)
    elif cut is not None:
        t._view = cut
    return t


_SEQUENCES = (list, tuple)


def _holds_tensor(seq: Any) -> bool:
    for item in seq:
        if isinstance(item, Tensor) or (type(item) in _SEQUENCES and _holds_tensor(item)):
            return True
    return False


def _bind_sequences(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """bind with a list or tuple among the inputs: stack the ones that hold tensors."""
    convert = SEQUENCE_TO_TENSOR[0]
    if convert is None or not any(type(a) in _SEQUENCES and _holds_tensor(a) for a in args):
        return _run(prim, args, params)
    return bind(prim, *(convert(a) if type(a) in _SEQUENCES and _holds_tensor(a) else a for a in args),
                **params)  # fmt: skip


def _link_view(prim: Primitive, params: dict[str, Any], a: Tensor, t: Tensor) -> None:
    """Make ``t`` an alias of ``a``'s storage when the view op really returned a view."""
    out = t._data
    src = a._data
    if out is not src:
        owner = out.base
        if owner is None:
            return
        if owner is not src and owner is not src.base and not np.may_share_memory(out, src):
            return  # the op had to copy (a reshape of a transposed array, fancy indexing)
    t._vc = share_version(a)
    view = a._view
    step = ((prim, params),)
    if view is None or view[0] is CUT:
        t._view = (a, step, a._node)
    else:
        t._view = (view[0], view[1] + step, view[2])


def refresh_view(t: Tensor) -> None:
    """Give a view the history of its base's current value.

    A recorded in-place write (through the base or through another view) gives the base a new
    history; views taken before it still point to the old one. PyTorch regenerates such a view's
    ``grad_fn`` when it is next used; so does this: the view ops are replayed on the base.
    """
    base, chain, _ = t._view  # type: ignore[misc]
    saved = state.grad_enabled
    state.grad_enabled = True
    try:
        current: Any = base
        for prim, params in chain:
            current = bind(prim, current, **params)
    finally:
        state.grad_enabled = saved
    t._node = current._node
    t._requires_grad = current._requires_grad
    t._view = (base, chain, base._node)
    for hook in ALIAS_HOOKS:
        hook(t, current)


def _run(prim: Primitive, datas: Any, params: dict[str, Any]) -> Any:
    """The forward on raw values (no Tensor among the inputs): what rules use on the fast path."""
    impl = prim.impl
    if has_foreign(datas):
        impl, datas = _foreign_impl(prim, datas)
    try:
        return impl(*datas, **params)
    except OP_ERRORS as exc:
        raise _op_error(prim, list(datas), params, exc) from exc


def _foreign_impl(prim: Primitive, datas: Any) -> tuple[Any, list[Any]]:
    """The forward and the inputs for values among which an array of another library than NumPy
    may be (core/backend.py): that library's forward, with NumPy scalars and 0-d arrays as Python
    numbers."""
    xp = foreign_namespace(datas, prim.name)
    if xp is np:
        return prim.impl, list(datas)
    return impl_for(prim, xp), [d.item() if type(d) is _ndarray or isinstance(d, np.generic) else d for d in datas]


def _bind_foreign(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """bind on an empty stack when an input holds another library's array (CuPy, Dask...).

    The same steps as the NumPy path, taken slowly: the forward comes from the inputs' library,
    the result is kept as that library's array (a Dask result stays lazy), and a tracked input
    gets a node. Such arrays are never views for autodiff (in-place writes into them are refused
    in ops/methods.py), so no view bookkeeping runs.
    """
    # NumPy scalars among the constants become Python numbers, here and in what the node keeps
    # (the rules multiply by them: another library takes Python numbers, not NumPy's).
    args = tuple(a.item() if isinstance(a, np.generic) or (type(a) is _ndarray and a.ndim == 0) else a
                 for a in args)  # fmt: skip
    datas = [a._data if isinstance(a, Tensor) else a for a in args]
    impl, datas = _foreign_impl(prim, datas)
    try:
        out = impl(*datas, **params)
    except OP_ERRORS as exc:
        raise _op_error(prim, datas, params, exc) from exc
    t = wrap_array(out)
    tracked = any(isinstance(a, Tensor) and a._requires_grad for a in args)
    if tracked and (not GRAD_OFF_THREADS or state._grad):
        if prim.differentiable and dtype_kind(t._data.dtype) in "fc":
            _record(prim, args, params, t, None)
        else:
            t._view = (CUT, prim.name, None)
    return t


def _record(
    prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], out: Tensor, watched: Any
) -> Node:
    """Attach a Node to ``out``. ``watched(a)`` says whether a non-requires-grad input is tracked.

    What the node keeps is decided here, once for every path: the inputs the rules of its tracked
    inputs read (``Primitive.reads``, else ``saves``), with their storage versions, and the output
    (``saves_ans``) with its storage's version counter, so that an in-place write to anything the
    rules will read is caught at backward instead of giving a wrong gradient.
    """
    node = _new(Node)
    node.prim = prim
    node.params = params
    if len(args) == 1 and watched is None:
        # One tensor input (the common case): no loops, no lists.
        a = args[0]
        d = a._data
        dt = d.dtype
        node.in_meta = ((d.shape, dt),)
        if dt is not _F64 and dt is not _F32 and dtype_kind(dt) == "c" and not prim.complex_ok:
            refuse_complex(prim, "input")
        node.parents = (a._node if a._node is not None else a,)
        if prim.saves:
            vc = a._vc
            node.saved = args
            node.saved_data = (d,)
            node.versions = ((0, a, 0 if vc is None else vc[0]),)
        else:
            node.saved = node.saved_data = _NOTHING_SAVED
    elif len(args) == 2 and watched is None:
        _fill_two(node, args)
    else:
        _fill_many(node, args, watched)
    if prim.saves_ans:
        node.ans = out._data
        # (out is new: it has no counter yet, and nothing else can have made one. No holder
        # object joins `versions` for it: every allocation here is paid per op, GC included.)
        node.ans_vc = out._vc = [0]
    node.out_shape = out._data.shape
    dt = node.out_dtype = out._data.dtype
    if dt is not _F64 and dt is not _F32 and dtype_kind(dt) == "c" and not prim.complex_ok:
        refuse_complex(prim, "result")
    out._node = node
    out._requires_grad = True
    return node


def _kept(prim: Primitive, tracked: list[bool]) -> tuple[int, ...]:
    """The inputs a node keeps: what the rules of its tracked inputs read."""
    reads = prim.reads
    if reads is None:
        return prim.saves
    kept: tuple[int, ...] = ()
    for i, is_tracked in enumerate(tracked):
        if is_tracked:
            kept += reads[i]
    return kept


def _fill_many(node: Node, args: tuple[Any, ...], watched: Any) -> None:
    parents: list[Any] = []
    for a in args:
        if not isinstance(a, Tensor):
            parents.append(None)
        elif a._node is not None:
            parents.append(a._node)
        elif a._requires_grad or (watched is not None and watched(a)):
            parents.append(a)
        else:
            parents.append(None)
    kept = _kept(node.prim, [p is not None for p in parents])
    metas = []
    saved = []
    saved_data = []
    versions = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            d = a._data
            metas.append((d.shape, d.dtype))
            dt = d.dtype
            if dt is not _F64 and dt is not _F32 and dtype_kind(dt) == "c" and not node.prim.complex_ok:
                refuse_complex(node.prim, "input")
            if i in kept:
                saved.append(a)
                saved_data.append(d)
                entry = ((i, a, a._version),)
                versions = entry if versions is None else versions + entry
            else:
                saved.append(None)
                saved_data.append(None)
        else:
            # Constants (non-tensors) are always kept: they are what the rules multiply by.
            metas.append(None)
            saved.append(a)
            saved_data.append(a)
    node.parents = tuple(parents)
    node.in_meta = tuple(metas)
    node.saved = tuple(saved)
    node.saved_data = tuple(saved_data)
    node.versions = versions


def _fill_two(node: Node, args: tuple[Any, ...]) -> None:
    """_record's bookkeeping for a two-input op (the operators), without the general loop."""
    a, b = args
    versions = None
    prim = node.prim
    a_is = isinstance(a, Tensor)
    b_is = isinstance(b, Tensor)
    parent_a = (a._node if a._node is not None else (a if a._requires_grad else None)) if a_is else None
    parent_b = (b._node if b._node is not None else (b if b._requires_grad else None)) if b_is else None
    reads = prim.reads
    if reads is None:
        saves = prim.saves
    else:
        # Keep only what the rules of the inputs that will receive a gradient read.
        saves = (reads[0] if parent_a is not None else ()) + (reads[1] if parent_b is not None else ())
    if a_is:
        da = a._data
        meta_a = (da.shape, da.dtype)
        dt = meta_a[1]
        if dt is not _F64 and dt is not _F32 and dtype_kind(dt) == "c" and not prim.complex_ok:
            refuse_complex(prim, "input")
        if 0 in saves:
            saved_a = a
            vc = a._vc
            versions = ((0, a, 0 if vc is None else vc[0]),)
        else:
            saved_a = da = None
    else:
        meta_a = None
        saved_a = da = a
    if b_is:
        db = b._data
        meta_b = (db.shape, db.dtype)
        dt = meta_b[1]
        if dt is not _F64 and dt is not _F32 and dtype_kind(dt) == "c" and not prim.complex_ok:
            refuse_complex(prim, "input")
        if 1 in saves:
            saved_b = b
            vc = b._vc
            entry = ((1, b, 0 if vc is None else vc[0]),)
            versions = entry if versions is None else versions + entry
        else:
            saved_b = db = None
    else:
        meta_b = None
        saved_b = db = b
    node.parents = (parent_a, parent_b)
    node.in_meta = (meta_a, meta_b)
    node.saved = (saved_a, saved_b)
    node.saved_data = (da, db)
    if versions is not None:
        node.versions = versions


def _bind_slow(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """bind with interpreters on the stack: the top one takes the op (core/stack.py)."""
    return state.stack[-1].process_primitive(prim, args, params)


def record(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], out: Tensor, watched: Any) -> Node:
    """Give ``out`` (``prim`` applied to ``args``) a node whose parents include the inputs for
    which ``watched(a)`` is true: what a tape does for the values it watches.

    When the op was already recorded (an input requires grad, or another tape watched one), the
    same node takes the new parents too, so every tape shares one node per op.
    """
    node = out._node
    if node is None:
        return _record(prim, args, params, out, watched)
    old = [p for p in node.parents if isinstance(p, Tensor)]
    if all(not isinstance(a, Tensor) or a._node is not None or any(a is p for p in old) or not watched(a)
           for a in args):  # fmt: skip
        return node  # nothing new to follow

    def either(a: Tensor) -> bool:
        return watched(a) or any(a is p for p in old)

    _fill_many(node, args, either)
    return node


def _describe(d: Any) -> str:
    if d is None:
        return "None"
    if not is_plain(d) and hasattr(d, "shape") and hasattr(d, "dtype"):
        return f"{tuple(d.shape)} {d.dtype} ({library_name(d)})"  # (never computes a lazy array)
    try:
        a = np.asarray(d)
    except (ValueError, TypeError):  # a ragged nested list has no array shape
        return f"a {type(d).__name__} that is not an array"
    return f"{a.shape} {a.dtype}"


_BUILTIN_KINDS = (ValueError, TypeError, IndexError, ArithmeticError)


def _op_error(prim: Primitive, datas: list[Any], params: dict[str, Any], exc: Exception) -> Exception:
    """Re-raise a NumPy error with the op's name, the shapes and dtypes, and the settings."""
    described = ", ".join(_describe(d) for d in datas)
    settings = "".join(f", {k}={v!r}" for k, v in params.items() if k != "key")
    reason = str(exc)
    if "could not be broadcast" in reason:
        reason += ("; shapes broadcast when their trailing dimensions are equal or 1: reshape "
                   "an input or insert an axis (x[:, None]) to line them up")
    elif "inhomogeneous" in reason:
        reason += "; an input is a ragged nested list: give every row the same length"
    elif "did not contain a loop" in reason:
        reason += "; use numeric (float, int or bool) inputs"
    message = f"{prim.name}: cannot apply to inputs of shape/dtype [{described}]{settings}: {reason}"
    kind = type(exc)
    if kind is np.linalg.LinAlgError:
        return np.linalg.LinAlgError(message)
    try:
        return kind(message)
    except Exception:  # NumPy's private subclasses (_UFuncNoLoopError) take other arguments
        base = next((k for k in _BUILTIN_KINDS if isinstance(exc, k)), RuntimeError)
        return base(message)
