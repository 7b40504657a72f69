"""Custom derivatives with JAX's names and semantics: ``custom_vjp`` and ``custom_jvp``.

``custom_vjp(fun)`` with ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` runs in
place of ``fun`` when an argument is being differentiated, ``bwd(residuals, g)`` returns one
cotangent per argument. A call records ONE node whose parents are the arguments; its VJP calls
``bwd`` once per backward sweep, whichever inputs ask. ``fwd`` runs with recording on, so the
residuals keep their history: when ``bwd`` is written with chainrule ops, a recorded backward
(``create_graph``, nested ``grad``) differentiates the rule itself, which gives higher orders.
Outputs may be any container of tensors: the floating-point ones are packed into one array (the
node's output) and unpacked with ordinary ops, so one node serves them all.

``custom_jvp(fun)`` with ``f.defjvp(rule)``: ``rule(primals, tangents) -> (out, tangent_out)``.
Forward mode (``jvp``, ``jacfwd``, ``ForwardAccumulator``) uses the rule. Reverse mode transposes
it: the rule is run with the tangents as watched zeros, and the cotangent is pulled back through
the recorded tangent computation only (the primal parts are never differentiated, so a rule that
avoids an overflow keeps avoiding it: JAX's ``log1pexp``). ``grad``, ``jacrev`` and ``hessian``
of a ``custom_jvp`` function therefore use the rule too.

Under ``vmap`` the node is recorded on the whole batch (the bases of the batched values) and its
VJP re-enters the batching levels to call ``bwd`` per example, so ``vmap(grad(f))`` works and
``bwd`` is written for one example, as in JAX.

>>> import chainrule as cr
>>> @cr.custom_vjp
... def clip_gradient(x):
...     return x
>>> def fwd(x):
...     return x, None
>>> def bwd(_, g):
...     return (cr.clip(g, -1.0, 1.0),)
>>> clip_gradient.defvjp(fwd, bwd)
>>> cr.grad(lambda x: 5.0 * clip_gradient(x))(2.0)
tensor(1., dtype=float64)
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import enable_grad, is_grad_enabled, set_grad_enabled, state
from chainrule.core.node import Node
from chainrule.core.primitive import Primitive, registry
from chainrule.core.stack import of_type, set_stack
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms.batching import (
    BatchedTensor,
    BatchLevel,
    active_levels,
    below,
    from_base_world,
    lift_to_levels,
    to_base_world,
    user_levels,
)
from chainrule.transforms.forward import ForwardAccumulator
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["custom_vjp", "custom_jvp"]

_plain = wrap_array


class _Local(threading.local):
    def __init__(self) -> None:
        # The custom functions whose fwd is running in this thread: a call to one of them from
        # inside its own fwd (JAX's idiom ``return f(x), res``) computes the plain function.
        self.in_fwd: set[int] = set()


_local = _Local()


# ---------------------------------------------------------------- small helpers
def _name(fun: Any) -> str:
    return getattr(fun, "__name__", None) or type(fun).__name__


def _camel(name: str) -> str:
    parts = [p for p in name.replace("<", "").replace(">", "").split("_") if p]
    return "".join(p[:1].upper() + p[1:] for p in parts) or "Custom"


def _base_of(t: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    if isinstance(t, BatchedTensor):
        return t._base, t._levels
    return t, ()


def _is_float_tensor(x: Any) -> bool:
    return isinstance(x, Tensor) and x.dtype.kind == "f"


def _alias_impl(x: Any) -> Any:
    return x.view() if isinstance(x, np.ndarray) else np.asarray(x)


# The identity as a view op (same memory, same version counter, writes go through): a call's
# fresh copy of an input. Its VJP hands the cotangent on unchanged (no new array object, so the
# leaf's .grad does not need a copy).
_alias_p = Primitive("custom_alias", _alias_impl, nin=1, saves=(), view=True,
                     grad_fn_name="AliasBackward0", register=False)  # fmt: skip
_alias_p.def_vjp(lambda g, ans, x: g)
_alias_p.def_jvp(lambda t, ans, x: t)
_alias_p.def_view(lambda base, value: value)
_alias_p.def_batch(lambda args, dims: (bind(_alias_p, args[0]), dims[0]))


def _alias(x: Tensor) -> Tensor:
    """The same values through one recorded op: a fresh node that marks "this call's input"."""
    with enable_grad():
        return bind(_alias_p, x)


def _describe_shape(x: Any) -> str:
    return str(tuple(np.shape(x._data if isinstance(x, Tensor) and not isinstance(x, BatchedTensor) else x)))


_PROBES: dict[int, Primitive] = {}


def _probe(n: int) -> Primitive:
    """A do-nothing op on ``n`` inputs: the engine records it exactly when it would record a
    real op on them (a tracked input, grad mode on, or an open tape that tracks one)."""
    prim = _PROBES.get(n)
    if prim is None:
        prim = Primitive("custom_probe", lambda *a: np.zeros(()), nin=n, saves=(), register=False)
        prim.def_vjp(*([None] * n))
        prim.def_jvp(*([None] * n))
        _PROBES[n] = prim
    return prim


def reverse_tracked(tensors: Sequence[Tensor]) -> bool:
    """Whether reverse mode is following any of ``tensors`` (requires grad, or an open tape)."""
    if not tensors or not is_grad_enabled():
        return False
    bases = [_base_of(t)[0] for t in tensors]
    if any(b._requires_grad for b in bases):
        return True
    from chainrule.tape import GradientTape  # (tape.py imports this package)

    if not of_type(GradientTape):
        return False
    with below():
        return bool(bind(_probe(len(bases)), *bases)._requires_grad)


def forward_tracking(tensors: Sequence[Tensor]) -> list[Any]:
    """The active forward accumulators that hold a tangent for one of ``tensors``, outermost first."""
    return [acc for acc in of_type(ForwardAccumulator) if any(acc.jvp(t) is not None for t in tensors)]


def _signature(fun: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _resolve(sig: inspect.Signature | None, name: str, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> tuple[Any, ...]:  # fmt: skip
    """Keyword arguments turned into positions (defaults filled in), as JAX does."""
    if sig is None:
        if kwargs:
            raise TypeError(f"{name}: keyword arguments need a function with a signature; pass them by position")
        return args
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}: {error}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(
            f"{name}: keyword-only arguments ({', '.join(bound.kwargs)}) cannot be differentiated "
            "by a custom rule: make them positional, or close over them"
        )
    return tuple(bound.args)


def _arg_names(sig: inspect.Signature | None, count: int) -> list[str]:
    names: list[str] = []
    if sig is not None:
        for p in sig.parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
            elif p.kind == p.VAR_POSITIONAL:
                names += [f"{p.name}[{i}]" for i in range(count - len(names))]
                break
    return (names + [f"#{i}" for i in range(len(names), count)])[:count]


def _nondiff(nondiff_argnums: Any, name: str) -> tuple[int, ...]:
    if isinstance(nondiff_argnums, int):
        nondiff_argnums = (nondiff_argnums,)
    nums = tuple(nondiff_argnums)
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in nums):
        raise TypeError(f"{name}: nondiff_argnums must be non-negative ints, got {nondiff_argnums!r}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{name}: nondiff_argnums {nums!r} repeats an argument")
    return tuple(sorted(nums))


class _Args:
    """A call's positional arguments split into the differentiated ones and the others."""

    def __init__(self, args: tuple[Any, ...], nondiff: tuple[int, ...], names: list[str], fname: str) -> None:
        for i in nondiff:
            if i >= len(args):
                raise ValueError(
                    f"{fname}: nondiff_argnums names argument {i}, but the function was called "
                    f"with {len(args)} argument(s)"
                )
        self.args = args
        self.names = names
        self.nondiff = nondiff
        self.diff_pos = [i for i in range(len(args)) if i not in nondiff]
        self.defs = []
        self.leaves: list[Any] = []
        self.owner: list[tuple[int, int]] = []  # per leaf: (index among diff args, leaf index in it)
        for k, i in enumerate(self.diff_pos):
            leaves, tree = flatten(args[i])
            self.defs.append(tree)
            self.owner += [(k, j) for j in range(len(leaves))]
            self.leaves += leaves
        self.cand = [n for n, v in enumerate(self.leaves) if _is_float_tensor(v)]

    def nondiff_values(self) -> list[Any]:
        return [self.args[i] for i in self.nondiff]

    def diff_trees(self, leaves: list[Any]) -> list[Any]:
        out, pos = [], 0
        for tree in self.defs:
            n = tree.num_leaves
            out.append(unflatten(tree, leaves[pos : pos + n]))
            pos += n
        return out

    def with_leaves(self, leaves: list[Any]) -> list[Any]:
        full = list(self.args)
        for i, tree in zip(self.diff_pos, self.diff_trees(leaves)):
            full[i] = tree
        return full

    def light(self) -> _Args:
        """A copy that keeps what the backward checks need (shapes, dtypes, names, the
        non-differentiated arguments), not the differentiated tensors themselves: a node must
        not keep its inputs alive unless its rule saved them."""
        light = object.__new__(_Args)
        light.__dict__.update(self.__dict__)
        light.args = tuple(v if i in self.nondiff else None for i, v in enumerate(self.args))
        cand = set(self.cand)
        light.leaves = [_Meta(tuple(v.shape), v.dtype) if n in cand else None for n, v in enumerate(self.leaves)]
        return light

    def leaf_label(self, n: int) -> str:
        k, j = self.owner[n]
        i = self.diff_pos[k]
        label = f"argument {i} ({self.names[i]!r})"
        if self.defs[k].kind != "leaf":
            label += f", leaf {j}"
        return label


class _Meta:
    """An input's shape and dtype (what a cotangent is checked against)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype


# ---------------------------------------------------------------- the graph walk
def closed_over(outputs: Sequence[Any], stop_nodes: set[Node], stop_leaves: set[int],
                first_only: bool) -> list[Tensor]:  # fmt: skip
    """Tracked leaf tensors that ``outputs`` depend on without going through ``stop_nodes`` or the
    tensors whose ids are in ``stop_leaves``: what a function read from its closure."""
    found: list[Tensor] = []
    seen_leaves: set[int] = set()
    seen: set[Node] = set()
    stack: list[Node] = []
    for o in outputs:
        if not isinstance(o, Tensor):
            continue
        base = _base_of(o)[0]
        node = base._node
        if node is None:
            if base._requires_grad and id(base) not in stop_leaves and id(base) not in seen_leaves:
                seen_leaves.add(id(base))
                found.append(base)
        elif node not in stop_nodes and node not in seen:
            seen.add(node)
            stack.append(node)
    while stack and not (first_only and found):
        node = stack.pop()
        for parent in node.parents:
            if parent is None:
                continue
            if type(parent) is Node:
                if parent not in stop_nodes and parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
            elif id(parent) not in stop_leaves and id(parent) not in seen_leaves:
                seen_leaves.add(id(parent))
                found.append(parent)
    return found


# ---------------------------------------------------------------- the recorded call
class _Call:
    """One recorded ``custom_vjp`` call: its output layout, residuals and cached cotangents."""

    def __init__(self, fname: str, kind: str, xs: list[Tensor], extra: list[Tensor],
                 out: Any, res: Any, bwd: Callable[..., Any], with_extra: bool) -> None:  # fmt: skip
        self.fname = fname
        self.kind = kind
        self.bwd = bwd
        self.with_extra = with_extra
        self.res = res
        self.extra = extra
        out_leaves, self.out_def = flatten(out)
        self.out_leaves = out_leaves
        self.float_out = [j for j, o in enumerate(out_leaves) if _is_float_tensor(o)]
        # Per-example shapes and dtypes of the inputs (aliases, then closed-over tensors).
        self.inputs = xs + extra
        self.in_meta = [(tuple(x.shape), x.dtype, _base_of(x)[1]) for x in self.inputs]
        self.versions = [(k, t, t._version) for k, t in enumerate(flatten(res)[0]) if isinstance(t, Tensor)]
        levels: set[int] = set()
        for t in self.inputs + [out_leaves[j] for j in self.float_out] + [t for _, t, _ in self.versions]:
            levels.update(_base_of(t)[1])
        self.level_ids = tuple(sorted(levels))
        self.level_objs: list[Any] = []
        if self.level_ids:
            active = {lv.id: lv for lv in active_levels() + list(user_levels())}
            missing = [i for i in self.level_ids if i not in active]
            if missing:
                raise RuntimeError(
                    f"{kind} function '{fname}': a value batched by a vmap that has already "
                    "returned reached the call (it was stored, then used later); return batched "
                    "values from the vmapped function instead of keeping them"
                )
            self.level_objs = [active[i] for i in self.level_ids]
        self._g: Any = None
        self._last = -1
        self._cts: list[Any] = []
        self._final = -1

    # ------------------------------------------------------------ forward: the node
    def _aligned(self, t: Tensor) -> np.ndarray:
        """``t``'s whole-batch array with one axis per level of the call (broadcast where it
        does not vary)."""
        base, levels = _base_of(t)
        data = base._data
        if not self.level_ids:
            return data
        sizes = tuple(lv.size for lv in self.level_objs)
        it = iter(data.shape[: len(levels)])
        grown = tuple(next(it) if lv in levels else 1 for lv in self.level_ids)
        data = data.reshape(grown + data.shape[len(levels) :])
        return np.broadcast_to(data, sizes + data.shape[len(self.level_ids) :])


    def _unpack(self, packed: Any, leaves: list[Any]) -> None:
        """Put each output's piece of the packed (flat) value into ``leaves``, differentiably."""
        for j, offset, size, shape, dtype in self.layout:
            piece = bind(registry["getitem"], packed, index=(slice(offset, offset + size),))
            piece = bind(registry["reshape"], piece, shape=shape)
            if piece.dtype != dtype:
                piece = bind(registry["astype"], piece, dtype=dtype)
            leaves[j] = piece
    def record(self) -> Any:
        """Record the node and return the outputs (``fun``'s structure)."""
        if not self.float_out:
            return unflatten(self.out_def, self.out_leaves)
        nb = len(self.level_ids)
        kept = [_base_of(x)[0]._data for x in self.inputs]
        kept += [_base_of(t)[0]._data for _, t, _ in self.versions]
        if len(self.float_out) == 1 and len(self.out_leaves) == 1:
            self.packed = False
            carried = self._aligned(self.out_leaves[0])
            if not carried.flags.writeable or any(np.may_share_memory(carried, k) for k in kept):
                # The output is a new value: writing into it must not change an input or a residual.
                carried = carried.copy()
        else:
            self.packed = True
            self.layout = []
            dtype = np.result_type(*[self.out_leaves[j].dtype for j in self.float_out])
            parts = []
            offset = 0
            for j in self.float_out:
                o = self.out_leaves[j]
                arr = self._aligned(o)
                size = int(np.prod(o.shape))
                parts.append(arr.reshape(arr.shape[:nb] + (size,)).astype(dtype, copy=False))
                self.layout.append((j, offset, size, tuple(o.shape), o.dtype))
                offset += size
            carried = np.concatenate(parts, axis=-1)
        # The node's forward hands out the output computed by fwd; the box is emptied once the
        # output exists, so a node that outlives its output does not keep the array alive.
        box = [carried]
        del carried
        prim = Primitive(
            f"{self.kind}_call", lambda *_: box[0], nin=len(self.inputs), saves=(),
            grad_fn_name=f"{_camel(self.fname)}Backward", register=False,
        )  # fmt: skip
        prim.def_vjp(*[self._rule(i) for i in range(len(self.inputs))])
        prim.def_jvp(*[self._no_forward] * len(self.inputs))
        bases = [_base_of(x)[0] for x in self.inputs]
        with enable_grad():
            if nb:
                with below():
                    y = bind(prim, *bases)
                y = from_base_world(y, self.level_ids)
            else:
                y = bind(prim, *bases)
        box[0] = None
        node = _base_of(y)[0]._node
        if node is not None:
            self._final = max((i for i, p in enumerate(node.parents) if p is not None), default=-1)
        self.inputs = []  # the node keeps the inputs' shapes, not the inputs
        leaves = list(self.out_leaves)
        if not self.packed:
            leaves[self.float_out[0]] = y
        else:
            self._unpack(y, leaves)
        self.out_leaves = []  # the call no longer needs fwd's outputs
        return unflatten(self.out_def, leaves)

    def _no_forward(self, *_: Any, **__: Any) -> Any:
        raise TypeError(_forward_message(self.fname))

    # ------------------------------------------------------------ backward: the rule
    def _rule(self, i: int) -> Callable[..., Any]:
        def rule(g: Any, ans: Any, *args: Any) -> Any:
            # The engine runs a node's rules one after the other, inputs in order, with the
            # same cotangent: bwd runs on the first, the others read its answer. A cotangent
            # object seen before, or an input index not after the last one, is a new sweep.
            if self._g is not g or i <= self._last:
                self._cts = self._cotangents(g)
                self._g = g
            self._last = i
            ct = self._cts[i]
            if i >= self._final:
                self._g, self._cts, self._last = None, [], -1
            return ct

        return rule

    def _cotangents(self, g: Any) -> list[Any]:
        tensor_mode = isinstance(g, Tensor)
        gt = g if tensor_mode else _plain(np.asarray(g))
        for k, t, version in self.versions:
            if t._version != version:
                raise RuntimeError(
                    f"{self.kind} function '{self.fname}': residual {k} (a tensor of shape "
                    f"{tuple(t.shape)}) was modified by an in-place operation after the forward "
                    f"(it is at version {t._version}; expected version {version}), so the "
                    "backward would read the new values. Do the in-place change after backward, "
                    "or keep a copy (.clone()) as the residual."
                )
        saved_stack = None
        if self.level_ids:
            # The rule sees per-example values: the vmap levels it was called under come back.
            saved_stack = state.stack
            levels = active_levels()
            active = {lv.id for lv in levels}
            levels = sorted(levels + [lv for lv in self.level_objs if lv.id not in active], key=lambda lv: lv.id)
            set_stack(tuple(i for i in saved_stack if not isinstance(i, BatchLevel)) + tuple(levels))
        try:
            g_ex = from_base_world(gt, self.level_ids) if self.level_ids else gt
            g_leaves: list[Any] = [None] * self.out_def.num_leaves
            if not self.packed:
                g_leaves[self.float_out[0]] = g_ex
            else:
                self._unpack(g_ex, g_leaves)
            g_tree = unflatten(self.out_def, g_leaves)
            cts = self.bwd(self.res, g_tree, self.extra) if self.with_extra else self.bwd(self.res, g_tree)
            out = []
            for i, ct in enumerate(cts):
                if ct is None:
                    out.append(None)
                    continue
                if self.level_ids:
                    ct = self._to_base(ct, i)
                if not tensor_mode:
                    ct = ct._data if isinstance(ct, Tensor) else np.asarray(ct)
                out.append(ct)
            return out
        finally:
            if saved_stack is not None:
                set_stack(saved_stack)

    def _to_base(self, ct: Any, i: int) -> Any:
        """A per-example cotangent as the whole-batch cotangent of input ``i``'s base: summed over
        the levels that input does not vary along."""
        _, _, levels = self.in_meta[i]
        w = to_base_world(ct, self.level_ids)
        drop = tuple(k for k, lv in enumerate(self.level_ids) if lv not in levels)
        if drop:
            w = bind(registry["sum"], w, axis=drop)
        return w


def _forward_message(fname: str) -> str:
    return (
        f"can't apply forward-mode autodiff (jvp) to a custom_vjp function: '{fname}' has a custom "
        "VJP only (as in JAX). Use reverse mode (grad, vjp, jacrev, hessian, backward, "
        "GradientTape.gradient), or give it a forward rule too with f.defjvp(rule), or use custom_jvp."
    )


# ---------------------------------------------------------------- checking bwd's answer
def _check_cotangents(fname: str, what: str, a: _Args, xs_index: list[int], cts: Any,
                      extra: list[Tensor] | None = None) -> list[Any]:  # fmt: skip
    """``bwd``'s answer as one cotangent per differentiated leaf (aliases order, then extras),
    after checking its count, structure, shapes and dtypes."""
    m = len(a.diff_pos)
    diff_names = ", ".join(repr(a.names[i]) for i in a.diff_pos) or "none"
    if not isinstance(cts, (tuple, list)):
        raise TypeError(
            f"custom_vjp function '{fname}': {what} must return a tuple with one cotangent per "
            f"differentiable argument ({m}: {diff_names}; None for a zero cotangent), got a "
            f"{type(cts).__name__}"
        )
    if len(cts) != m:
        raise TypeError(
            f"custom_vjp function '{fname}': {what} returned {len(cts)} cotangent(s), but "
            f"'{fname}' has {m} differentiable argument(s) ({diff_names}); return one per "
            "argument (None for a zero cotangent)"
        )
    ct_leaves: list[Any] = []
    for k, (ct, tree) in enumerate(zip(cts, a.defs)):
        i = a.diff_pos[k]
        if ct is None:
            ct_leaves += [None] * tree.num_leaves
            continue
        leaves, ct_def = flatten(ct)
        if ct_def != tree:
            raise TypeError(
                f"custom_vjp function '{fname}': the cotangent {what} returned for argument {i} "
                f"({a.names[i]!r}) has structure {ct_def!r}, but the argument has {tree!r}"
            )
        ct_leaves += leaves
    out = []
    for n in xs_index:
        out.append(_checked_leaf(fname, what, a.leaf_label(n), a.leaves[n], ct_leaves[n]))
    return out


def _checked_leaf(fname: str, what: str, label: str, x: Tensor, ct: Any) -> Any:
    if ct is None:
        return None
    if not isinstance(ct, Tensor):
        arr = np.asarray(ct)
        if arr.dtype.kind not in "fiub":
            raise TypeError(
                f"custom_vjp function '{fname}': {what} returned a {type(ct).__name__} as the "
                f"cotangent of {label}; return a tensor (or None for zero)"
            )
        if isinstance(ct, (int, float)) and not isinstance(ct, bool):
            arr = arr.astype(x.dtype)
        ct = _plain(arr)
    shape, want = tuple(ct.shape), tuple(x.shape)
    if shape != want:
        raise ValueError(
            f"custom_vjp function '{fname}': {what} returned a cotangent of shape {shape} for "
            f"{label}, which has shape {want}; the cotangent must have its argument's shape"
        )
    if ct.dtype != x.dtype:
        raise ValueError(
            f"custom_vjp function '{fname}': {what} returned a cotangent of dtype {ct.dtype} for "
            f"{label}, which has dtype {x.dtype}; convert it (.astype({str(x.dtype)!r}))"
        )
    return ct


# ---------------------------------------------------------------- custom_vjp
def _closure_error(kind: str, fname: str, what: str, t: Tensor) -> RuntimeError:
    return RuntimeError(
        f"{kind} function '{fname}': {what} used a tensor that is being differentiated but is not "
        f"one of its arguments (shape {tuple(t.shape)}, read from the function's closure), so "
        "its gradient would be lost. Pass it as an argument (the rule then gives its cotangent), "
        "or detach it if it is a constant."
    )


def vjp_call(fname: str, sig: Any, nondiff: tuple[int, ...], fun: Callable[..., Any],
             fwd: Callable[..., Any], bwd: Callable[..., Any], args: tuple[Any, ...],
             kind: str = "custom_vjp", closure: bool = False, key: Any = None) -> Any:  # fmt: skip
    """Call a function with a custom VJP (the shared path of custom_vjp and custom_jvp).

    With ``closure``, tensors being differentiated that ``fwd`` reads from its closure become
    extra inputs of the node, and ``bwd(res, g, tensors)`` returns ``(cotangents,
    tensor_cotangents)``; without, reading one is an error.
    """
    a = _Args(args, nondiff, _arg_names(sig, len(args)), fname)
    cand = [a.leaves[n] for n in a.cand]
    if not cand and not closure:
        return fun(*args)
    if cand and forward_tracking(cand):
        raise TypeError(_forward_message(fname))
    if not reverse_tracked(cand) and not (closure and is_grad_enabled()):
        return fun(*args)
    xs = [_alias(x) for x in cand]
    leaves = list(a.leaves)
    for n, x in zip(a.cand, xs):
        leaves[n] = x
    token = id(key if key is not None else fwd)
    if token in _local.in_fwd:
        return fun(*args)
    _local.in_fwd.add(token)
    try:
        with enable_grad():
            result = fwd(*a.with_leaves(leaves))
    finally:
        _local.in_fwd.discard(token)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(
            f"{kind} function '{fname}': fwd must return a pair (output, residuals), the output "
            f"and the values bwd needs; got {type(result).__name__}"
            + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        )
    out, res = result
    out_leaves, out_def = flatten(out)
    out_leaves = [o if isinstance(o, Tensor) or o is None else _as_output(o) for o in out_leaves]
    out = unflatten(out_def, out_leaves)
    stop_nodes = {_base_of(x)[0]._node for x in xs} - {None}
    stop_leaves = {id(_base_of(t)[0]) for t in cand}
    floats = [o for o in out_leaves if _is_float_tensor(o)]
    extra: list[Tensor] = []
    found = closed_over(floats, stop_nodes, stop_leaves, first_only=not closure)
    if found:
        if not closure:
            raise _closure_error(kind, fname, "fwd", found[0])
        extra = found
    if not xs and not extra:
        return out

    def checked_bwd(res: Any, g: Any, tensors: Any = None) -> list[Any]:
        if closure:
            answer = bwd(*light.nondiff_values(), res, g, tensors)
            if not isinstance(answer, (tuple, list)) or len(answer) != 2:
                raise TypeError(f"{kind} function '{fname}': bwd must return (cotangents, closed-over cotangents)")
            cts, extra_cts = answer
            extra_cts = list(extra_cts) if extra_cts is not None else [None] * len(tensors)
            if len(extra_cts) != len(tensors):
                raise TypeError(
                    f"{kind} function '{fname}': bwd returned {len(extra_cts)} cotangent(s) for the "
                    f"{len(tensors)} closed-over tensor(s) it was given"
                )
        else:
            cts = bwd(*light.nondiff_values(), res, g)
            extra_cts = []
        main = _check_cotangents(fname, "bwd", light, light.cand, cts)
        more = [_checked_leaf(fname, "bwd", f"closed-over tensor {k} (shape {tuple(t.shape)})", t, c)
                for k, (t, c) in enumerate(zip(tensors or [], extra_cts))]  # fmt: skip
        return main + more

    light = a.light()
    del a, cand, leaves, found
    call = _Call(fname, kind, xs, extra, out, res, checked_bwd, with_extra=closure)
    return call.record()


def _as_output(o: Any) -> Any:
    arr = np.asarray(o)
    return _plain(arr) if arr.dtype.kind in "fiub" else o


class custom_vjp:  # noqa: N801 - JAX's name
    """A function with a custom reverse-mode derivative (JAX's ``jax.custom_vjp``).

    Define the rule with ``f.defvjp(fwd, bwd)``: ``fwd`` takes ``f``'s arguments and returns
    ``(output, residuals)``; ``bwd(residuals, g)`` takes the cotangent ``g`` of the output (same
    structure) and returns a tuple with one cotangent per argument (a container argument gets a
    container; ``None`` means zero). Arguments in ``nondiff_argnums`` are passed to ``bwd``
    first (``bwd(*nondiff, residuals, g)``) and get no cotangent.

    When no argument is being differentiated, ``f`` just calls ``fun``. Otherwise ``fwd`` runs
    (recorded, so residuals keep their history for higher derivatives) and one node is recorded;
    ``bwd`` runs once per backward sweep. It works with ``.backward()``, ``autograd.grad``,
    ``GradientTape``, ``grad``/``vjp``/``jacrev``/``hessian`` and ``vmap`` (``bwd`` sees one
    example). Forward mode raises ``TypeError``, as in JAX, unless ``f.defjvp(rule)`` gave it a
    forward rule (a chainrule extension, below).

    ``closed_over`` (a chainrule extension): by default ``fwd`` may not read a tensor that is
    being differentiated from its closure (its gradient would be lost; the error says so). With
    ``closed_over=True`` such tensors (a layer's weights, TensorFlow's variables) are found while
    ``fwd`` runs and become inputs of the node too: ``bwd`` is then called as ``bwd(residuals,
    g, tensors)`` and returns ``(cotangents, tensor_cotangents)``, one per tensor of ``tensors``.

    >>> import chainrule as cr
    >>> @cr.custom_vjp
    ... def f(x, y):
    ...     return cr.sin(x) * y
    >>> def f_fwd(x, y):
    ...     return f(x, y), (cr.cos(x), cr.sin(x), y)
    >>> def f_bwd(res, g):
    ...     cos_x, sin_x, y = res
    ...     return (cos_x * g * y, sin_x * g)
    >>> f.defvjp(f_fwd, f_bwd)
    >>> cr.grad(f)(0.0, 2.0)
    tensor(2., dtype=float64)
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = (), *,
                 closed_over: bool = False) -> None:  # fmt: skip
        if not callable(fun):
            raise TypeError(f"custom_vjp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = _nondiff(nondiff_argnums, f"custom_vjp({_name(fun)})")
        self.closed_over = bool(closed_over)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        self.jvp: Callable[..., Any] | None = None
        self._sig = _signature(fun)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any], symbolic_zeros: bool = False) -> None:
        """Set the rule: ``fwd(*args) -> (out, residuals)``, ``bwd(residuals, g) -> cotangents``."""
        if not callable(fwd) or not callable(bwd):
            raise TypeError(f"custom_vjp {_name(self.fun)}.defvjp: fwd and bwd must be functions")
        if symbolic_zeros:
            raise NotImplementedError("custom_vjp.defvjp: symbolic_zeros=True is not supported; zero cotangents arrive as zeros")
        self.fwd = fwd
        self.bwd = bwd

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Give forward mode a rule too (a chainrule extension; JAX's ``custom_vjp`` has none):
        ``rule(primals, tangents) -> (output, tangent_out)``, as for ``custom_jvp.defjvp``
        (non-differentiated arguments first). Forward mode (``jvp``, ``jacfwd``,
        ``ForwardAccumulator``) then uses it, reverse mode keeps ``fwd``/``bwd``; without it,
        forward mode raises ``TypeError``. Returns the rule, so it can decorate.

        >>> import chainrule as cr
        >>> @cr.custom_vjp
        ... def cube(x):
        ...     return x ** 3
        >>> cube.defvjp(lambda x: (cube(x), x), lambda x, g: (3 * x ** 2 * g,))
        >>> @cube.defjvp
        ... def cube_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return cube(x), 3 * x ** 2 * t
        >>> float(cr.jvp(cube, (2.0,), (1.0,))[1])
        12.0
        """
        if not callable(jvp):
            raise TypeError(f"custom_vjp {_name(self.fun)}.defjvp: the rule must be a function")
        self.jvp = jvp
        return jvp

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = _name(self.fun)
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _resolve(self._sig, name, args, kwargs)
        if self.jvp is not None:
            a = _Args(args, self.nondiff_argnums, _arg_names(self._sig, len(args)), name)
            accs = forward_tracking([a.leaves[n] for n in a.cand])
            if accs:
                return rule_forward(self, "custom_vjp", a, accs[-1])
        return vjp_call(name, self._sig, self.nondiff_argnums, self.fun, self.fwd, self.bwd, args, key=self,
                        closure=self.closed_over)  # fmt: skip

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # Used as a method: the instance is the first (non-differentiated) argument.
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<custom_vjp {_name(self.fun)}>"


# ---------------------------------------------------------------- custom_jvp
class custom_jvp:  # noqa: N801 - JAX's name
    """A function with a custom forward-mode derivative (JAX's ``jax.custom_jvp``).

    Define the rule with ``f.defjvp(rule)`` (usable as a decorator): ``rule(primals, tangents)``
    gets two tuples, one entry per argument, and returns ``(output, tangent_out)``. Arguments in
    ``nondiff_argnums`` are passed first: ``rule(*nondiff, primals, tangents)``. ``defjvps``
    gives one rule per argument instead, ``rule_i(tangent_i, output, *primals)``.

    Forward mode uses the rule; reverse mode (``grad``, ``jacrev``, ``hessian``, ``backward``,
    tapes) transposes it, so the rule must be linear in the tangents, as in JAX. When no
    argument is being differentiated, ``f`` calls ``fun``.

    >>> import chainrule as cr
    >>> @cr.custom_jvp
    ... def log1pexp(x):
    ...     return cr.log(1.0 + cr.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (x_dot,) = primals, tangents
    ...     return log1pexp(x), (1.0 - 1.0 / (1.0 + cr.exp(x))) * x_dot
    >>> cr.grad(log1pexp)(100.0)
    tensor(1., dtype=float64)
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        if not callable(fun):
            raise TypeError(f"custom_jvp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = _nondiff(nondiff_argnums, f"custom_jvp({_name(fun)})")
        self.jvp: Callable[..., Any] | None = None
        self._sig = _signature(fun)

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Set the rule ``rule(primals, tangents) -> (out, tangent_out)``; returns it."""
        if not callable(jvp):
            raise TypeError(f"custom_jvp {_name(self.fun)}.defjvp: the rule must be a function")
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp.defjvp: symbolic_zeros=True is not supported; zero tangents arrive as zeros")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """One rule per argument: ``rule_i(tangent_i, out, *primals)``, ``None`` for none."""
        fun = self.fun

        def rule(*args: Any) -> Any:
            primals, tangents = args[-2], args[-1]
            if len(jvps) != len(primals):
                raise TypeError(
                    f"custom_jvp function '{_name(fun)}': defjvps got {len(jvps)} rule(s) for "
                    f"{len(primals)} differentiable argument(s)"
                )
            out = fun(*args[:-2], *primals)
            total = None
            for r, t in zip(jvps, tangents):
                if r is None or t is None:
                    continue
                term = r(t, out, *primals)
                total = term if total is None else total + term
            if total is None:
                total = _zeros_tree(out)
            return out, total

        self.jvp = rule

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = _name(self.fun)
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _resolve(self._sig, name, args, kwargs)
        a = _Args(args, self.nondiff_argnums, _arg_names(self._sig, len(args)), name)
        cand = [a.leaves[n] for n in a.cand]
        if not cand:
            return self.fun(*args)
        accs = forward_tracking(cand)
        if accs:
            return self._forward(a, accs[-1])
        if not reverse_tracked(cand):
            return self.fun(*args)
        # The residuals are the arguments as given (not fwd's fresh copies): under forward-over-
        # reverse they carry the outer accumulator's tangents into the transposed rule.
        primals = tuple(a.diff_trees(list(a.leaves)))

        def fwd(*fresh: Any) -> Any:
            return self.fun(*fresh), primals

        return vjp_call(name, self._sig, self.nondiff_argnums, self.fun, fwd, self._bwd_for(a), args,
                        kind="custom_jvp", key=self)  # fmt: skip

    # ------------------------------------------------------------ forward mode
    def _forward(self, a: _Args, acc: Any) -> Any:
        return rule_forward(self, "custom_jvp", a, acc)

    # ------------------------------------------------------------ reverse mode: the transposed rule
    def _bwd_for(self, a: _Args) -> Callable[..., Any]:
        name = _name(self.fun)
        nondiff_n = len(a.nondiff)

        def bwd(*args: Any) -> Any:
            nondiff, primals, g = args[:nondiff_n], args[nondiff_n], args[nondiff_n + 1]
            return self._transpose(name, nondiff, primals, g)

        return bwd

    def _transpose(self, name: str, nondiff: tuple[Any, ...], primals: tuple[Any, ...], g: Any) -> tuple[Any, ...]:
        from chainrule.tape import GradientTape

        record = is_grad_enabled()
        p_leaves, p_def = flatten(list(primals))
        levels = user_levels()
        t_leaves: list[Any] = []
        watched: list[tuple[int, Tensor]] = []
        for n, p in enumerate(p_leaves):
            if _is_float_tensor(p):
                t = _zeros(p)
                if levels:
                    # Each example's tangent on its own: a tangent shared by the batch would sum
                    # the examples' cotangents together.
                    t = lift_to_levels(t, levels)
                watched.append((n, t))
                t_leaves.append(t)
            elif isinstance(p, (float, np.floating)) or (isinstance(p, np.ndarray) and p.dtype.kind == "f"):
                t_leaves.append(_plain(np.zeros(np.shape(p), dtype=np.result_type(p))))
            else:
                t_leaves.append(None)
        tangents = tuple(unflatten(p_def, t_leaves))
        g_leaves, _ = flatten(g)
        with enable_grad(), GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([t for _, t in watched])
            result = self.jvp(*nondiff, tuple(primals), tangents)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(
                    f"custom_jvp function '{name}': the JVP rule must return a pair (output, "
                    f"tangent_out), got {type(result).__name__}"
                )
            tout_leaves, tout_def = flatten(result[1])
            if len(tout_leaves) != len(g_leaves):
                raise TypeError(
                    f"custom_jvp function '{name}': the JVP rule's tangent_out has "
                    f"{len(tout_leaves)} leaves but the output has {len(g_leaves)}"
                )
            targets, seeds = [], []
            for tout, gl in zip(tout_leaves, g_leaves):
                if gl is None or not isinstance(tout, Tensor) or tout.dtype.kind != "f":
                    continue
                if tuple(tout.shape) != tuple(gl.shape):
                    raise ValueError(
                        f"custom_jvp function '{name}': the JVP rule returned a tangent of shape "
                        f"{tuple(tout.shape)} for an output of shape {tuple(gl.shape)}"
                    )
                targets.append(tout)
                seeds.append(gl if gl.dtype == tout.dtype else bind(registry["astype"], gl, dtype=tout.dtype))
            with set_grad_enabled(record):
                if targets:
                    grads = tape.gradient(targets, [t for _, t in watched], output_gradients=seeds)
                else:
                    grads = [None] * len(watched)
        ct_leaves: list[Any] = [None] * len(p_leaves)
        for (n, _), gr in zip(watched, grads):
            if gr is not None and gr.dtype != p_leaves[n].dtype:
                gr = bind(registry["astype"], gr, dtype=p_leaves[n].dtype)
            ct_leaves[n] = gr
        return tuple(unflatten(p_def, ct_leaves))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<custom_jvp {_name(self.fun)}>"


def rule_forward(f: Any, kind: str, a: _Args, acc: Any) -> Any:
    """Forward mode through ``f`` (a ``custom_jvp``, or a ``custom_vjp`` given a forward rule)
    for the innermost accumulator ``acc`` that follows an argument: the output's tangent in
    ``acc`` is ``f.jvp``'s; outer accumulators see the rule's computation (and, through a
    recursive call in the rule, the rule again), as in JAX. When reverse mode also follows an
    argument, ``f`` is called once more with ``acc`` paused, for its reverse-mode node."""
    name = _name(f.fun)
    tangent_leaves = []
    for v in a.leaves:
        if _is_float_tensor(v):
            t = acc.jvp(v)
            tangent_leaves.append(t if t is not None else _zeros(v))
        elif isinstance(v, (float, np.floating)) or (isinstance(v, np.ndarray) and v.dtype.kind == "f"):
            tangent_leaves.append(_plain(np.zeros(np.shape(v), dtype=np.result_type(v))))
        else:
            tangent_leaves.append(None)
    tangents = tuple(a.diff_trees(tangent_leaves))
    cand = [a.leaves[n] for n in a.cand]
    with acc.paused():
        rev = reverse_tracked(cand)
        # Reverse mode needs its own node (the transposed rule); ``acc`` is paused so that
        # the call does not come back here.
        out = f(*a.args) if rev else None
        # The primals as ``acc`` does not follow them: if the rule's output still gets a
        # tangent from ``acc``, it came from a value the function read from its closure.
        leaves = list(a.leaves)
        for n in a.cand:
            leaves[n] = _alias(leaves[n])
    primals = tuple(a.diff_trees(leaves))
    result = f.jvp(*a.nondiff_values(), primals, tangents)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(
            f"{kind} function '{name}': the JVP rule must return a pair (output, "
            f"tangent_out), got {type(result).__name__}"
        )
    rule_out, tangent_out = result
    for o in flatten(rule_out)[0]:
        if isinstance(o, Tensor) and acc.jvp(o) is not None:
            raise TypeError(
                f"Detected differentiation of a {kind} function with respect to a "
                f"closed-over value: '{name}' reads a value that forward mode follows from its "
                "closure, but its JVP rule only covers its explicit arguments. Pass the value "
                "as an argument."
            )
    if not rev:
        out = rule_out
    o_leaves, o_def = flatten(out)
    t_leaves, t_def = flatten(tangent_out)
    if t_def != o_def:
        raise TypeError(
            f"{kind} function '{name}': the JVP rule's tangent_out has structure "
            f"{t_def!r} but the output has {o_def!r}"
        )
    inputs = {id(_base_of(v)[0]._data) for v in cand}
    fresh = []
    for o, t in zip(o_leaves, t_leaves):
        if not isinstance(o, Tensor):
            o = _as_output(o)
        if isinstance(o, Tensor) and id(_base_of(o)[0]._data) in inputs:
            # The output is an input's array: its tangent must not replace the input's.
            with acc.paused():
                o = _alias(o)
        if _is_float_tensor(o) and t is not None:
            if not isinstance(t, Tensor):
                t = _plain(np.asarray(t, dtype=o.dtype))
            if tuple(t.shape) != tuple(o.shape):
                raise ValueError(
                    f"{kind} function '{name}': the JVP rule returned a tangent of shape "
                    f"{tuple(t.shape)} for an output of shape {tuple(o.shape)}; they must match"
                )
            acc.watch(o, t)
        fresh.append(o)
    return unflatten(o_def, fresh)


def _zeros(p: Tensor) -> Tensor:
    return _plain(np.zeros(tuple(p.shape), dtype=p.dtype))


def _zeros_tree(tree: Any) -> Any:
    leaves, tree_def = flatten(tree)
    return unflatten(tree_def, [_zeros(o) if isinstance(o, Tensor) else 0.0 for o in leaves])
