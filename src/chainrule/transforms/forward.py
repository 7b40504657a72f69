"""Forward mode: ``ForwardAccumulator``, ``jvp`` and ``jacfwd``.

An accumulator keeps a tangent for every value computed from its primals while it is active.
Tangents are keyed by the identity of the value's data array (with a weak reference to detect a
reused id), not by the Tensor object: the backward pass rebuilds Tensors around saved outputs,
and keying by the array lets an accumulator see through a ``GradientTape.gradient`` computed
inside it (forward-over-reverse Hessian-vector products).

An accumulator is an interpreter on the core's stack (core/stack.py): it sees every op bound
while it is active, runs it one level down, and gives the result a tangent: the sum, over the
inputs that have one, of the primitive's JVP rules. The rules run under the interpreters below
it, so accumulators and tapes entered earlier see the tangent computation (forward-over-forward,
reverse-over-forward) and none perturbs itself. Rules are chainrule ops, so a tape or an outer
accumulator can differentiate them again.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind
from chainrule.core.dispatch import ALIAS_HOOKS, bind
from chainrule.core.modes import state
from chainrule.core.primitive import Primitive, refuse_complex, registry
from chainrule.core.stack import Interpreter, bind_below, of_type, pop, push, run_with
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.transforms import structured
from chainrule.transforms.batching import (
    BatchedTensor,
    active_levels,
    add_level,
    batching_active,
    from_base_world,
    lift_to_levels,
    pop_level,
    push_level,
    remove_level,
    suspended_levels,
    to_base_world,
    user_levels,
)
from chainrule.transforms.pytree import flatten, unflatten
from chainrule.transforms.structured import identity_batch

__all__ = ["ForwardAccumulator", "jvp", "jacfwd", "UnconnectedGradients"]

_PURGE_EVERY = 4096


class UnconnectedGradients(Enum):
    """What a derivative is when the source and the target are not connected.

    ``NONE`` gives ``None``; ``ZERO`` gives zeros of the source's shape.
    """

    NONE = "none"
    ZERO = "zero"


def _unconnected(value: Any) -> UnconnectedGradients:
    if isinstance(value, UnconnectedGradients):
        return value
    try:
        return UnconnectedGradients(str(value).lower())
    except ValueError:
        raise ValueError(
            f"unconnected_gradients must be UnconnectedGradients.NONE or .ZERO (or 'none'/'zero'), "
            f"got {value!r}"
        ) from None


_plain = wrap_array


def _base_of(t: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    if isinstance(t, BatchedTensor):
        return t._base, t._levels
    return t, ()


class ForwardAccumulator(Interpreter):
    """Forward-mode derivatives of everything computed from ``primals`` inside the block.

    ``tangents`` has the structure of ``primals`` (a tensor, or lists/tuples/dicts of them);
    ``acc.jvp(y)`` is then the directional derivative of ``y`` along the tangents. Nest a
    ``GradientTape`` inside to get Hessian-vector products (forward-over-reverse).

    >>> import chainrule as cr
    >>> x = cr.Variable(2.0)
    >>> with cr.ForwardAccumulator(x, cr.constant(1.0)) as acc:
    ...     y = x ** 3
    >>> acc.jvp(y)
    tensor(12., dtype=float64)
    """

    def __init__(self, primals: Any = (), tangents: Any = ()) -> None:
        self._tangents: dict[int, tuple[Any, Any]] = {}
        self._inserts = 0
        self._active = False
        self._watch(primals, tangents, "ForwardAccumulator")

    # ------------------------------------------------------------ the context
    def __enter__(self) -> ForwardAccumulator:
        if self._active:
            raise RuntimeError("ForwardAccumulator: this accumulator is already active")
        self._active = True
        push(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._active = False
        pop(self)

    # ------------------------------------------------------------ the interpreter
    #: The backward pass runs its rules as ops while an accumulator is active, so that the
    #: accumulator gives them tangents (forward-over-reverse: Hessian-vector products).
    tensor_rules = True

    def process_primitive(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Run the op one level down, then give its result a tangent from its inputs' tangents.

        The JVP rules run under the interpreters below this one: accumulators entered earlier
        give the tangent computation tangents of its own (higher-order forward mode), and tapes
        entered earlier record it (reverse-over-forward).
        """
        out = bind_below(self, prim, args, params)
        if isinstance(out, Tensor):
            self._push_tangent(prim, args, params, out)
        return out

    def tracks(self, t: Any) -> bool:
        return self._lookup(t) is not None

    # ------------------------------------------------------------ tangents
    def _lookup(self, t: Tensor) -> Any:
        data = t._data
        entry = self._tangents.get(id(data))
        if entry is None or entry[0]() is not data:
            return None
        return entry[1]

    def _set(self, t: Tensor, tangent: Any) -> None:
        data = t._data
        self._tangents[id(data)] = (weakref.ref(data), tangent)
        self._inserts += 1
        if self._inserts % _PURGE_EVERY == 0:
            dead = [k for k, (ref, _) in self._tangents.items() if ref() is None]
            for k in dead:
                del self._tangents[k]

    def _watch(self, primals: Any, tangents: Any, op: str) -> None:
        p_leaves, p_def = flatten(primals)
        t_leaves, t_def = flatten(tangents)
        if p_def != t_def:
            raise ValueError(
                f"{op}: primals and tangents must have the same structure, got {p_def!r} and {t_def!r}"
            )
        for p, t in zip(p_leaves, t_leaves):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{op}: primals must be tensors or Variables (the values the computation will "
                    f"use), got {type(p).__name__}; create it with chainrule.Variable or "
                    "chainrule.constant first"
                )
            if dtype_kind(p.dtype) not in "fc":
                raise TypeError(f"{op}: a primal must be floating point or complex to have a tangent, got {p.dtype}")
            tangent = _tangent_like(t, p, op)
            base, levels = _base_of(p)
            self._set(base, to_base_world(tangent, levels))

    def watch(self, primals: Any, tangents: Any) -> None:
        """Start following more ``primals`` with the given ``tangents``."""
        self._watch(primals, tangents, "ForwardAccumulator.watch")

    def jvp(self, primals: Any, unconnected_gradients: Any = UnconnectedGradients.NONE) -> Any:
        """The tangent of each tensor in ``primals`` (same structure); ``None`` (or zeros with
        ``UnconnectedGradients.ZERO``) where it does not depend on the watched primals."""
        mode = _unconnected(unconnected_gradients)
        leaves, treedef = flatten(primals)
        out = []
        for p in leaves:
            if not isinstance(p, Tensor):
                raise TypeError(f"ForwardAccumulator.jvp: expected tensors, got {type(p).__name__}")
            base, levels = _base_of(p)
            t = self._lookup(base)
            if t is None:
                out.append(_zeros_like(p) if mode is UnconnectedGradients.ZERO else None)
            else:
                out.append(from_base_world(t, levels))
        return unflatten(treedef, out)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop following while the block runs: values computed in it get no tangent from this
        accumulator (other active accumulators, tapes and ``requires_grad`` are unaffected).

        This is how a value's primal is taken apart from its tangent without leaving the graph:
        ``x * 1`` computed while paused has ``x``'s reverse-mode history but no tangent.

        >>> import chainrule as cr
        >>> x = cr.Variable(2.0)
        >>> with cr.ForwardAccumulator(x, cr.constant(1.0)) as acc:
        ...     with acc.paused():
        ...         y = x * 3
        ...     z = x * 3
        >>> acc.jvp(y) is None, float(acc.jvp(z))
        (True, 3.0)
        """
        if not self._active:
            raise RuntimeError("ForwardAccumulator.paused: the accumulator is not active (use it inside its with-block)")
        with run_with(tuple(i for i in state.stack if i is not self)):
            yield

    def _push_tangent(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], out: Tensor) -> None:
        """Give ``out`` (the result of ``prim`` on ``args``) its tangent in this accumulator."""
        if not prim.differentiable:
            return
        data = out._data
        if dtype_kind(data.dtype) not in "fc":
            return
        tangents = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                t = self._lookup(a)
                if t is not None:
                    if tangents is None:
                        tangents = [None] * len(args)
                    tangents[i] = t
        if tangents is None:
            return
        if not prim.complex_ok:
            # (as bind does when it records a node: rules written for real values only)
            if dtype_kind(data.dtype) == "c":
                refuse_complex(prim, "result")
            if any(t is not None and dtype_kind(a._data.dtype) == "c" for a, t in zip(args, tangents)):
                refuse_complex(prim, "input")
        rules = prim.jvp_rules
        if not rules:
            raise NotImplementedError(
                f"forward mode: primitive '{prim.name}' has no JVP rule (declare one with def_jvp)"
            )
        view = self.lower(state.stack)
        levels = suspended_levels()
        if levels and not batching_active():
            # The op ran on batched bases with the vmap levels set aside; the tangents may be
            # batched themselves, so the levels come back while the rules run.
            view = view + tuple(levels)
        with run_with(view):
            total = None
            for i, t in enumerate(tangents):
                if t is None or rules[i] is None:
                    continue
                r = rules[i](t, out, *args, **params)
                if r is None:
                    continue
                total = r if total is None else total + r
            if total is None:
                return
            if not isinstance(total, Tensor):
                total = _plain(total)
            if tuple(total.shape) != data.shape:
                total = bind(registry["broadcast_to"], total, shape=data.shape)
            if total.dtype != data.dtype:
                total = bind(registry["astype"], total, dtype=data.dtype)
        self._set(out, total)

    def __repr__(self) -> str:
        return f"<ForwardAccumulator tracking {len(self._tangents)} values>"


def _zeros_like(p: Tensor) -> Tensor:
    return _plain(np.zeros(p.shape, dtype=p.dtype))


def _tangent_like(t: Any, p: Tensor, op: str) -> Tensor:
    """``t`` as a Tensor of ``p``'s dtype, checked against ``p``'s (per-example) shape."""
    if isinstance(t, Tensor):
        tangent = t
    else:
        tangent = _plain(np.asarray(t, dtype=p.dtype))
    if tuple(tangent.shape) != tuple(p.shape):
        raise ValueError(
            f"{op}: a tangent has shape {tuple(tangent.shape)} but its primal has shape "
            f"{tuple(p.shape)}; they must match"
        )
    if tangent.dtype != p.dtype:
        tangent = bind(registry["astype"], tangent, dtype=p.dtype)
    return tangent


# ---------------------------------------------------------------- the hooks in bind
def _alias_tangents(alias: Tensor, source: Tensor) -> None:
    """``alias`` took ``source``'s value in place: it takes its tangent too, in every
    accumulator (tangents are keyed by array, and ``alias`` keeps its own array)."""
    for acc in of_type(ForwardAccumulator):
        tangent = acc._lookup(source)
        if tangent is not None or acc._lookup(alias) is not None:
            acc._set(alias, tangent)


ALIAS_HOOKS.append(_alias_tangents)


# ---------------------------------------------------------------- jvp and jacfwd
def _float_tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    else:
        arr = np.asarray(x)
        if dtype_kind(arr.dtype) in "iub" and isinstance(x, (int, float, bool)):
            arr = arr.astype(np.float64)
        t = _plain(arr)
    if dtype_kind(t.dtype) not in "fc":
        raise TypeError(
            f"{op}: differentiated inputs must be floating point or complex, got dtype {t.dtype} "
            f"(shape {tuple(t.shape)}); convert with .astype('float64')"
        )
    return t


def _fresh(x: Tensor) -> Tensor:
    """The same values as a new Tensor with its own data array (an op, so outer transforms see it)."""
    return bind(registry["reshape"], x, shape=tuple(x.shape))


def _lift_to_tangent(x: Tensor, tangent: Tensor) -> Tensor:
    """``x`` spread over the user vmap levels along which its tangent varies but it does not.

    A tangent can vary along a level its primal does not (a cotangent pulled back inside the
    vmap, used as the direction of a ``jvp``). The primal's tangent is kept in the primal's base
    world, which has no axis for such a level; an op mixing the primal with a value batched
    along that level would then see the level twice. Repeating the primal along it gives the
    level an axis in both.
    """
    if not isinstance(tangent, BatchedTensor):
        return x
    have = x._levels if isinstance(x, BatchedTensor) else ()
    missing = [lv for lv in user_levels() if lv.id in tangent._levels and lv.id not in have]
    return lift_to_levels(x, missing) if missing else x


def jvp(f: Callable[..., Any], primals: Any, tangents: Any, *, has_aux: bool = False) -> Any:
    """``(f(*primals), J·tangents)``: the output and its directional derivative.

    ``primals`` and ``tangents`` are tuples (one entry per positional argument of ``f``, each
    a tensor, number, array, or a container of them).

    >>> import chainrule as cr
    >>> y, t = cr.jvp(lambda x: x ** 3, (2.0,), (1.0,))
    >>> float(y), float(t)
    (8.0, 12.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples with one entry per positional argument, "
            f"e.g. jvp(f, (x,), (v,)); got {type(primals).__name__} and {type(tangents).__name__}"
        )
    p_leaves, p_def = flatten(tuple(primals))
    t_leaves, t_def = flatten(tuple(tangents))
    if p_def != t_def:
        raise ValueError(f"jvp: primals and tangents must have the same structure, got {p_def!r} and {t_def!r}")
    acc = ForwardAccumulator()
    xs = []
    with acc:
        for p, t in zip(p_leaves, t_leaves):
            x = _fresh(_float_tensor(p, "jvp"))
            tangent = _tangent_like(t, x, "jvp")
            x = _lift_to_tangent(x, tangent)
            base, levels = _base_of(x)
            acc._set(base, to_base_world(tangent, levels))
            xs.append(x)
        out = f(*unflatten(p_def, xs))
    if has_aux:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError("jvp: with has_aux=True the function must return a pair (output, aux)")
        out, aux = out
    o_leaves, o_def = flatten(out)
    ys = []
    ts = []
    for o in o_leaves:
        y = o if isinstance(o, Tensor) else _plain(np.asarray(o))
        base, levels = _base_of(y)
        t = acc._lookup(base)
        ys.append(y)
        ts.append(_zeros_like(y) if t is None else from_base_world(t, levels))
    result = (unflatten(o_def, ys), unflatten(o_def, ts))
    return (*result, aux) if has_aux else result


def _normalize_argnums(argnums: Any, nargs: int, op: str) -> tuple[tuple[int, ...], bool]:
    single = isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool)
    nums = (argnums,) if single else argnums
    if not isinstance(nums, (tuple, list)) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in nums
    ):
        raise TypeError(f"{op}: argnums must be an int or a tuple of ints, got {argnums!r}")
    if not nums:
        raise ValueError(f"{op}: argnums must name at least one argument")
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{op}: argnums {argnums!r} asks for argument {a} but the function was called "
                f"with {nargs} positional argument(s)"
            )
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: argnums {argnums!r} repeats an argument")
    return tuple(out), single


def _replace_args(args: tuple[Any, ...], nums: tuple[int, ...], trees: list[Any]) -> list[Any]:
    new = list(args)
    for i, tree in zip(nums, trees):
        new[i] = tree
    return new


def _structured_seed(xs: list[Tensor], level: Any) -> bool:
    """Whether the basis can be a structured batch: one input with at least one element, not
    batched itself, and no batching level but the Jacobian's own."""
    if len(xs) != 1 or isinstance(xs[0], BatchedTensor) or xs[0].size == 0 or not structured.enabled():
        return False
    return active_levels() == [level]


def jacfwd(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by forward mode: one batched forward sweep over the basis.

    The result for an output of shape ``S`` and an input of shape ``T`` has shape ``S + T``;
    containers of outputs and inputs give containers of Jacobians (outputs outside, inputs
    inside). With one input the basis is kept symbolic while the sweep allows (a diagonal
    batch, ``chainrule.transforms.structured``) and made dense only where an op needs it.

    >>> import chainrule as cr
    >>> cr.jacfwd(lambda x: x * x)(cr.tensor([1., 2.]))
    tensor([[2., 0.],
            [0., 4.]], dtype=float64)
    """

    def jac(*args: Any, **kwargs: Any) -> Any:
        nums, single = _normalize_argnums(argnums, len(args), "jacfwd")
        trees = [args[i] for i in nums]
        leaves, in_def = flatten(trees)
        xs = [_float_tensor(x, "jacfwd") for x in leaves]
        sizes = [int(np.prod(x.shape)) for x in xs]
        total = sum(sizes)

        def g(*new_leaves: Any) -> Any:
            return f(*_replace_args(args, nums, unflatten(in_def, list(new_leaves))), **kwargs)

        level = push_level(max(total, 1), user=False)
        try:
            tangents = []
            offset = 0
            if _structured_seed(xs, level):
                # The identity kept symbolic (structured.py), dense only where an op needs it.
                tangents.append(identity_batch(tuple(xs[0].shape), xs[0].dtype, (level.id,)))
                xs_dense: list[Tensor] = []
            else:
                xs_dense = xs
            for x, n in zip(xs_dense, sizes):
                basis = np.zeros((max(total, 1), n), dtype=x.dtype)
                basis[np.arange(offset, offset + n), np.arange(n)] = 1.0
                offset += n
                tangents.append(add_level(basis.reshape((max(total, 1),) + tuple(x.shape)), 0, level))
            res = jvp(g, tuple(xs), tuple(tangents), has_aux=has_aux)
        finally:
            pop_level(level)
        ys, ts = res[0], res[1]
        y_leaves, y_def = flatten(ys)
        t_leaves = flatten(ts)[0]
        per_output = []
        for y, t in zip(y_leaves, t_leaves):
            moved = remove_level(t, level, -1)  # (*y.shape, total)
            jacs = []
            offset = 0
            for x, n in zip(xs, sizes):
                part = moved
                if len(xs) > 1:
                    part = bind(registry["getitem"], moved, index=(Ellipsis, slice(offset, offset + n)))
                if total == 0:
                    part = _plain(np.zeros(tuple(y.shape) + (0,), dtype=y.dtype))
                offset += n
                jacs.append(bind(registry["reshape"], part, shape=tuple(y.shape) + tuple(x.shape)))
            tree = unflatten(in_def, jacs)
            per_output.append(tree[0] if single else tuple(tree))
        result = unflatten(y_def, per_output)
        return (result, res[2]) if has_aux else result

    jac.__name__ = f"jacfwd({getattr(f, '__name__', 'f')})"
    return jac

