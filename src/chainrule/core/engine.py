"""The backward sweep: one engine behind ``.backward()``, ``autograd.grad``, tapes and transforms.

``backprop`` walks the recorded nodes in reverse topological order (Kahn's algorithm over
dependency counts: iterative, so a 100,000-op chain is fine), pops each cotangent when its node
runs, treats ``None`` as the symbolic zero, sums fan-out contributions, and undoes broadcasting in
one place by summing each cotangent back to its input's shape.

Rules run on raw arrays for a first-order pass. When the pass must itself be differentiable
(``create_graph``) or seen by a forward accumulator, they run on Tensors through ``bind``, so the
backward pass is recorded like any other computation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from chainrule.core.backend import copy_array
from chainrule.core.dispatch import bind
from chainrule.core.modes import state
from chainrule.core.node import Node
from chainrule.core.order import dependencies, reachable_targets
from chainrule.core.primitive import registry
from chainrule.core.stack import (
    Interpreter,
    backward_observers,
    bind_below,
    needs_tensor_rules,
    set_stack,
)
from chainrule.core.tensor import Tensor, share_version, wrap_array
from chainrule.core.versions import check_versions

__all__ = ["backprop", "sum_to_shape", "edge_cotangent", "FREED_MESSAGE", "InputMeta"]

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or to read saved values after they "
    "were freed): {name} released its saved values after the first backward. Pass "
    "retain_graph=True to the first backward() (or use a persistent tape) if you need to "
    "backward through the same graph again."
)

_ndarray = np.ndarray


def _as_tensor(value: Any) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return wrap_array(value)


def sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape`` (the inverse of NumPy broadcasting); differentiable."""
    if g.shape == shape:
        return g
    return registry["sum_to"](g, shape=shape)


def _cast(g: Any, dtype: np.dtype) -> Any:
    if g.dtype == dtype:
        return g
    return registry["astype"](g, dtype=dtype)


def backprop(
    roots: Sequence[tuple[Tensor, Any]],
    *,
    targets: Sequence[Tensor] | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
    allowed: set[Node] | None = None,
    accumulate: bool = False,
    on_unreached: Any = None,
) -> list[Any]:
    """Propagate cotangents from ``roots`` back through the recorded graph.

    Parameters
    ----------
    roots:
        ``(tensor, cotangent)`` pairs; the cotangent has the tensor's shape.
    targets:
        Tensors (leaves or intermediate) whose cotangents to return, in order; ``None`` entries
        in the result mean "not reached". With ``accumulate`` and no targets, every reached leaf
        that requires grad gets its ``.grad`` accumulated instead.
    allowed:
        When given, only these nodes propagate (a tape's records); others count as constants.
    on_unreached:
        Called with the indices of the targets the sweep cannot reach, before anything is
        released (it may raise).
    """
    # Interpreters on the stack that must see the rules as ops (forward accumulators, vmap)
    # make them run on Tensors; those that look at every cotangent (anomaly mode) get them.
    busy = state.busy
    tensor_mode = create_graph or (busy and needs_tensor_rules())
    observers = backward_observers() if busy else None
    cotangents: dict[Any, Any] = {}
    root_nodes: list[Node] = []
    roots_cts: list[Any] = []
    for tensor, cot in roots:
        key = tensor._node if tensor._node is not None else tensor
        if tensor_mode:
            cot = _as_tensor(cot)
        elif isinstance(cot, Tensor):
            cot = cot._data
        if key in cotangents:
            cotangents[key] = cotangents[key] + cot
        else:
            cotangents[key] = cot
        roots_cts.append(cot)
        if isinstance(key, Node) and (allowed is None or key in allowed):
            root_nodes.append(key)

    deps = dependencies(root_nodes, allowed)
    needed: set[Any] | None = None
    target_keys: list[Any] = []
    results: dict[Any, Any] = {}
    if targets is not None:
        # The sweep's order does not depend on the cotangents: list it once (the same Kahn order,
        # last-in first-out, that the loop below would follow), and read the nodes that lead to a
        # target off it backwards (parents first). One walk of the graph less than a separate
        # depth-first order, and the sweep then runs down a list.
        target_keys = [t._node if t._node is not None else t for t in targets]
        order = _kahn_order(root_nodes, deps, allowed)
        needed, reached = reachable_targets(order[::-1], set(target_keys), allowed)
        if on_unreached is not None:
            # Report targets the sweep cannot reach while the graph is still intact, so an
            # explanation can read the saved values before the sweep releases them.
            reached.update(t._node if t._node is not None else t for t, _ in roots)
            missing = [i for i, key in enumerate(target_keys) if key not in reached]
            if missing:
                on_unreached(missing)
        target_set = set(target_keys)
        interp = _recorded_sweep(roots_cts, len(order)) if create_graph and not busy else None
        if interp is not None:
            set_stack(interp.alone)
            try:
                _sweep_list(order, cotangents, results, target_set, needed, tensor_mode, allowed,
                            observers, retain_graph, create_graph, interp)
            finally:
                set_stack(())
                interp.close()
            if interp.aliases:
                for key in target_keys:
                    if not isinstance(key, Node) and key in cotangents:
                        cotangents[key] = interp.own(cotangents[key])
                for key, g in results.items():
                    results[key] = interp.own(g)
        else:
            _sweep_list(order, cotangents, results, target_set, needed, tensor_mode, allowed,
                        observers, retain_graph, create_graph, None)
    else:
        ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0]
        # The plain first-order sweep (what .backward() does) takes a leaner rule loop.
        fast = not tensor_mode and allowed is None and not observers
        interp = _recorded_sweep(roots_cts, len(deps)) if create_graph and not busy else None
        if interp is not None:
            set_stack(interp.alone)
            try:
                _sweep(ready, cotangents, deps, results, set(), None, tensor_mode, allowed,
                       observers, retain_graph, create_graph, interp)
            finally:
                set_stack(())
                interp.close()
            if interp.aliases:
                for key, g in cotangents.items():
                    if g is not None and not isinstance(key, Node):
                        cotangents[key] = interp.own(g)
        elif fast:
            with _GradModeFor(False):
                _sweep_raw(ready, cotangents, deps, retain_graph)
        else:
            _sweep(ready, cotangents, deps, results, set(), None, tensor_mode, allowed,
                   observers, retain_graph, create_graph, None)

    if targets is not None:
        for key in target_keys:
            if not isinstance(key, Node) and key in cotangents:
                g = cotangents[key]
                if key._hooks and g is not None:
                    g = _run_hooks(key._hooks, g, tensor_mode)
                results[key] = g
        return [results.get(key) for key in target_keys]
    if accumulate:
        _accumulate_leaves(cotangents, create_graph, tensor_mode)
    return []


def _sweep(
    ready: list[Node], cotangents: dict[Any, Any], deps: dict[Node, int], results: dict[Any, Any],
    target_set: set[Any], needed: set[Any] | None, tensor_mode: bool,
    allowed: set[Node] | None, observers: list[Any] | None, retain_graph: bool, create_graph: bool,
    interp: _SharedSubexpressions | None,
) -> None:
    """The rule loop of :func:`backprop`: run each ready node's rules, release, queue parents."""
    pop = cotangents.pop
    with _GradModeFor(create_graph):
        while ready:
            node = ready.pop()
            g = pop(node, None)
            if g is not None:
                if node.hooks or node.out_ref is not None:
                    g = _hooks_and_retained(node, g, interp, tensor_mode, create_graph)
                if target_set and node in target_set:
                    results[node] = g
                    if needed is not None and node not in needed:
                        g = None
            if g is not None:
                _apply_rules(node, g, cotangents, tensor_mode, allowed, needed, observers)
            if not retain_graph:
                node.saved = node.saved_data = node.versions = node.ans = node.ans_vc = None
                node.released = True
            for parent in node.parents:
                if type(parent) is Node and (allowed is None or parent in allowed):
                    remaining = deps[parent] - 1
                    deps[parent] = remaining
                    if remaining == 0:
                        ready.append(parent)


def _sweep_raw(ready: list[Node], cotangents: dict[Any, Any], deps: dict[Node, int],
               retain_graph: bool) -> None:
    """_sweep for the plain first-order pass (``.backward()``: raw arrays, no targets, no tape,
    no anomaly mode), with each node's rule step inlined into one loop over its parents.

    This loop is the first-order backward's inner loop: a Python call per node or per edge costs
    a few percent of op_overhead. The op table's backward-vs-grad tests hold it equal to
    ``_sweep`` (which ``autograd.grad`` takes) and to ``edge_cotangent`` (which ``viz`` takes).
    """
    pop = cotangents.pop
    get = cotangents.get
    while ready:
        node = ready.pop()
        g = pop(node, None)
        if g is not None and (node.hooks or node.out_ref is not None):
            g = _hooks_and_retained(node, g, None, False, False)
        parents = node.parents
        if g is None:
            pass
        elif node.released:
            _apply_rules(node, g, cotangents, False, None, None, None)  # raises if it must
        else:
            prim = node.prim
            versions = node.versions
            if versions is not None:
                # The inputs kept for the rules, or the marker of dropped values (checkpoint):
                # any mismatch takes the slow path, which recomputes or raises in full.
                for _, saved_tensor, version in versions:
                    vc = saved_tensor._vc
                    if (0 if vc is None else vc[0]) != version:
                        check_versions(node)
                        break
            vc = node.ans_vc
            if vc is not None and vc[0] != 0:
                check_versions(node)  # raises: the saved output was written in place
            args = node.saved_data
            if prim.uses_shapes:
                args = tuple(
                    InputMeta(*meta) if a is None and meta is not None else a
                    for a, meta in zip(args, node.in_meta)
                )
            rules = prim.vjp_rules
            in_meta = node.in_meta
            ans = node.ans
            params = node.params
            i = -1
            for parent in parents:
                i += 1
                if parent is None:
                    continue
                rule = rules[i]
                if rule is None:
                    continue
                # edge_cotangent(rule, g, ans, args, params, in_meta[i], True), inlined.
                gi = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
                if gi is None:
                    continue
                if type(gi) is not _ndarray:
                    gi = _raw_array(gi)
                shape, dtype = in_meta[i]
                if gi.shape != shape:
                    gi = sum_to_shape(gi, shape)
                if gi.dtype is not dtype and gi.dtype != dtype:
                    gi = _cast(gi, dtype)
                prev = get(parent)
                cotangents[parent] = gi if prev is None else prev + gi
            # (Locals outlive the node in this loop: drop what they hold, or each node's saved
            # arrays and last cotangent would stay alive into the next one: one array of peak.)
            args = ans = gi = prev = None
        g = None
        if not retain_graph:
            node.saved = node.saved_data = node.versions = node.ans = node.ans_vc = None
            node.released = True
        for parent in parents:
            if type(parent) is Node:
                remaining = deps[parent] - 1
                deps[parent] = remaining
                if remaining == 0:
                    ready.append(parent)


def _hooks_and_retained(node: Node, g: Any, interp: Any, tensor_mode: bool, create_graph: bool) -> Any:
    """A node's cotangent through its hooks, stored for ``retain_grad``: one step of every sweep,
    taken only for a node that has hooks or a retained output."""
    if interp is not None:
        g = interp.own(g)  # (never hand a hook or .grad an alias of a forward tensor)
    if node.hooks:
        g = _run_hooks(node.hooks, g, tensor_mode)
    if node.out_ref is not None:
        out = node.out_ref()
        if out is not None:
            _store_retained(out, g, create_graph)
    return g


def _raw_array(value: Any) -> Any:
    """A rule's raw result as an array: NumPy turns 0-d results into scalars (np.float64), and a
    rule may return a Python number; an array of another library (CuPy, Dask) stays as it is."""
    if isinstance(value, (np.generic, int, float, complex)):
        return np.asarray(value)
    return value


def _recorded_sweep(root_cotangents: list[Any], n_nodes: int) -> _SharedSubexpressions | None:
    """The interpreter for a recorded sweep on an empty stack, or None when it would not pay.

    It shares repeated elementwise subexpressions (every sin node of a nested derivative asks for
    cos of the same x), which pays from about 16 nodes on (measured on nested derivatives of
    sin(x)·exp(x): orders 1-2 as they were, a third off order 8), and it drops products with the
    seeds when they are ones (``autograd.grad``'s and ``grad``'s default), which pays on any
    graph with a product.
    """
    interp = _SharedSubexpressions()
    for cot in root_cotangents:
        interp.add_one(cot)
    if n_nodes >= _SHARE_FROM or interp.ones:
        return interp
    return None


def _kahn_order(roots: list[Node], deps: dict[Node, int], allowed: set[Node] | None) -> list[Node]:
    """The nodes in the order :func:`_sweep` visits them (it uses up ``deps``)."""
    ready = [n for n in dict.fromkeys(roots) if deps.get(n, 0) == 0]
    order: list[Node] = []
    append = order.append
    pop = ready.pop
    push = ready.append
    while ready:
        node = pop()
        append(node)
        for parent in node.parents:
            if type(parent) is Node and (allowed is None or parent in allowed):
                remaining = deps[parent] - 1
                deps[parent] = remaining
                if remaining == 0:
                    push(parent)
    return order


def _sweep_list(
    order: list[Node], cotangents: dict[Any, Any], results: dict[Any, Any], target_set: set[Any],
    needed: set[Any], tensor_mode: bool, allowed: set[Node] | None, observers: list[Any] | None,
    retain_graph: bool, create_graph: bool, interp: _SharedSubexpressions | None,
) -> None:
    """:func:`_sweep` down a precomputed order, for a sweep with targets."""
    pop = cotangents.pop
    with _GradModeFor(create_graph):
        for node in order:
            g = pop(node, None)
            if g is not None:
                if node.hooks or node.out_ref is not None:
                    g = _hooks_and_retained(node, g, interp, tensor_mode, create_graph)
                if node in target_set:
                    results[node] = g
                    if node not in needed:
                        g = None
                if g is not None:
                    if tensor_mode and allowed is None and not observers:
                        _apply_rules_tensor(node, g, cotangents, needed)
                    else:
                        _apply_rules(node, g, cotangents, tensor_mode, allowed, needed, observers)
            if not retain_graph:
                node.saved = node.saved_data = node.versions = node.ans = node.ans_vc = None
                node.released = True


_ELEMENTWISE = ("elementwise",)
#: The smallest recorded sweep (nodes to visit) that shares subexpressions.
_SHARE_FROM = 16


class _SharedSubexpressions(Interpreter):
    """Common-subexpression sharing for one recorded (``create_graph``) backward sweep.

    Nested derivatives swell because each node's rule rebuilds what its siblings already built:
    at order k the graph of sin(x)·exp(x) holds 2^(k-2) sin nodes of the same x, and each one's
    rule asks for a new cos(x). Within one sweep, an elementwise primitive (pure: its output
    depends only on its inputs' values) applied again to the very same input objects, unchanged
    since (same storage versions), in the same grad mode, returns the tensor it returned the
    first time. The graph becomes a DAG with shared nodes instead of a tree of copies, the next
    sweep visits each shared node once, and the values and gradients are the same (a shared node's
    cotangents are summed, as for any fan-out).

    Only on an empty stack (the common nested ``autograd.grad``): under tapes, accumulators or
    vmap the sweep runs as before. Ops with params (astype, clip bounds) are not shared.
    """

    def __init__(self) -> None:
        self.memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        #: The stack this interpreter is pushed as (alone on it): while it is the thread's stack,
        #: an op is run by turning ``busy`` off around ``bind``, without rebuilding the stack.
        self.alone = (self,)
        #: id -> tensor: the constant all-ones tensors of this sweep (the seeds, and their
        #: reshapes and broadcasts). A product with one of them is the other factor.
        self.ones: dict[int, tuple[Tensor, list[int], int]] = {}
        #: id -> tensor: tensors that existed before the sweep and that an op of the sweep
        #: returned as its result (a product with a one). They may become cotangents, and a
        #: cotangent that leaves the sweep (a result, a retained .grad, a hook's argument) must
        #: be a tensor of its own, as PyTorch's are: see :meth:`own`.
        self.aliases: dict[int, Tensor] = {}

    def close(self) -> None:
        """Drop what the sweep kept (the memo holds its inputs and outputs) and the stack tuple
        that refers back to this interpreter, so that nothing waits for the cyclic GC."""
        self.memo = {}
        self.ones = {}
        self.alone = None

    def add_one(self, t: Any) -> None:
        """Note ``t`` as a symbolic one when it is a constant tensor of exact ones."""
        # (NumPy data only: another library's seed is left as a plain factor; reading a Dask
        # array's values would compute it.)
        if type(t) is Tensor and t._node is None and not t._requires_grad and type(t._data) is _ndarray:
            d = t._data
            if d.dtype.kind == "f" and (d.item() == 1.0 if d.size == 1 else bool((d == 1.0).all())):
                # With its storage version: a hook that writes to it in place ends its being one.
                vc = share_version(t)
                self.ones[id(t)] = (t, vc, vc[0])

    def is_one(self, t: Any) -> bool:
        entry = self.ones.get(id(t))
        return entry is not None and entry[0] is t and entry[1][0] == entry[2]

    def own(self, g: Any) -> Any:
        """``g``, or a product with one (a new tensor) when ``g`` is an alias of an older tensor."""
        if self.aliases.get(id(g)) is g:
            saved = state.grad_enabled
            state.grad_enabled = True  # (a recorded sweep's product, also after the sweep)
            try:
                return bind(_prim("mul"), g, wrap_array(np.ones((), dtype=g._data.dtype)))
            finally:
                state.grad_enabled = saved
        return g

    def _times_one(self, a: Any, b: Any) -> Any:
        """``a * b`` when one factor is a symbolic one and the other a tensor that already has
        the product's shape and dtype: that tensor (exact: x * 1 == x for every float)."""
        if self.is_one(a):
            one, other = a, b
        elif self.is_one(b):
            one, other = b, a
        else:
            return None
        if type(other) is not Tensor:
            return None
        od = other._data
        d = one._data
        if d.dtype != od.dtype or not _broadcasts_into(d.shape, od.shape):
            return None
        self.aliases[id(other)] = other
        return other

    def process_primitive(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        if self.ones:
            name = prim.name
            if name == "mul" and len(args) == 2:
                out = self._times_one(args[0], args[1])
                if out is not None:
                    return out
            elif name in _ONES_PRESERVING and args and self.is_one(args[0]):
                out = _bind_alone(self, prim, args, params)
                self.add_one(out)
                return out
        if params or prim.batching != _ELEMENTWISE or state.stack is not self.alone:
            # (Another interpreter came onto the stack during the sweep, a hook's tape: the op
            # goes below this one the general way.)
            return _bind_alone(self, prim, args, params)
        # Key: the primitive, the grad mode and the inputs' identities; the entry keeps the
        # inputs alive (so an equal id is the same object) and their storage versions, which
        # rule out a write in place since (a hook's). One and two inputs (every elementwise op
        # a rule calls) are spelled out: this runs once per op of the sweep.
        memo = self.memo
        n = len(args)
        if n == 2:
            a, b = args
            key: tuple[Any, ...] = (prim, state.grad_enabled, id(a), id(b))
            va = a._vc if isinstance(a, Tensor) else None
            vb = b._vc if isinstance(b, Tensor) else None
            versions: Any = (None if va is None else va[0], None if vb is None else vb[0])
            hit = memo.get(key)
            if hit is not None and hit[0] is a and hit[1] is b and hit[2] == versions:
                return hit[3]
            # The only interpreter on an empty stack: bind runs the op directly once busy is off
            # (an elementwise op without params runs no transform that would read the stack).
            state.busy = False
            try:
                out = bind(prim, a, b)
            finally:
                state.busy = True
            memo[key] = (a, b, versions, out)
            return out
        if n == 1:
            a = args[0]
            key = (prim, state.grad_enabled, id(a))
            va = a._vc if isinstance(a, Tensor) else None
            versions = None if va is None else va[0]
            hit = memo.get(key)
            if hit is not None and hit[0] is a and hit[2] == versions:
                return hit[3]
            state.busy = False
            try:
                out = bind(prim, a)
            finally:
                state.busy = True
            memo[key] = (a, None, versions, out)
            return out
        key = (prim, state.grad_enabled, *map(id, args))
        versions = tuple(_version_of(a) for a in args)
        hit = memo.get(key)
        if hit is not None and hit[2] == versions and all(a is b for a, b in zip(hit[0], args)):
            return hit[3]
        out = _bind_alone(self, prim, args, params)
        memo[key] = (args, None, versions, out)
        return out


#: Shape and dtype ops that turn a tensor of ones into a tensor of ones.
_ONES_PRESERVING = frozenset({"reshape", "broadcast_to", "expand_dims", "squeeze"})


def _prim(name: str) -> Any:
    return registry[name]


def _broadcasts_into(small: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether an array of shape ``small`` broadcasts to ``shape`` without changing it."""
    if small == shape or not small:
        return True
    if len(small) > len(shape):
        return False
    for d, e in zip(reversed(small), reversed(shape)):
        if d != 1 and d != e:
            return False
    return True


def _version_of(a: Any) -> Any:
    if isinstance(a, Tensor):
        vc = a._vc
        return 0 if vc is None else vc[0]
    return None


def _bind_alone(interp: Interpreter, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """``bind_below`` for the only interpreter on the stack, inlined: this runs once per op of a
    recorded sweep."""
    saved = state.stack
    if saved != (interp,):
        return bind_below(interp, prim, args, params)
    # (This thread keeps its BUSY_THREADS entry meanwhile: see set_stack.)
    state.stack = ()
    state.busy = False
    try:
        return bind(prim, *args, **params)
    finally:
        state.stack = saved
        state.busy = True


class _GradModeFor:
    """Grad mode during the sweep: on only when the backward pass itself is recorded."""

    __slots__ = ("_on", "_saved")

    def __init__(self, on: bool) -> None:
        self._on = on

    def __enter__(self) -> None:
        self._saved = state.grad_enabled
        state.grad_enabled = self._on

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._saved


def _apply_rules(
    node: Node,
    g: Any,
    cotangents: dict[Any, Any],
    tensor_mode: bool,
    allowed: set[Node] | None,
    needed: set[Any] | None,
    observers: list[Any] | None,
) -> None:
    prim = node.prim
    if node.released and (prim.saves or prim.saves_ans):
        raise RuntimeError(FREED_MESSAGE.format(name=prim.grad_fn_name))
    if node.versions is not None or node.ans_vc is not None:
        check_versions(node)
    if tensor_mode:
        args = node.saved
        ans = node.ans
        if ans is not None:
            ans = _ans_tensor(node)
    else:
        args = node.saved_data
        ans = node.ans
    if args is None:
        args = (None,) * len(node.parents)
    if prim.uses_shapes:
        args = tuple(
            InputMeta(*meta) if a is None and meta is not None else a
            for a, meta in zip(args, node.in_meta)
        )
    params = node.params
    rules = prim.vjp_rules
    in_meta = node.in_meta
    for i, parent in enumerate(node.parents):
        if parent is None:
            continue
        if allowed is not None and type(parent) is Node and parent not in allowed:
            continue
        if needed is not None and parent not in needed:
            continue
        rule = rules[i]
        if rule is None:
            continue
        gi = edge_cotangent(rule, g, ans, args, params, in_meta[i], not tensor_mode)
        if gi is None:
            continue
        if observers:
            for observer in observers:
                observer.observe_backward(node, i, gi)
        prev = cotangents.get(parent)
        cotangents[parent] = gi if prev is None else prev + gi


def _apply_rules_tensor(node: Node, g: Any, cotangents: dict[Any, Any], needed: set[Any]) -> None:
    """_apply_rules for a recorded sweep with targets (no tape, no anomaly observers), with
    edge_cotangent inlined: a nested derivative runs this once per node of a graph that grows
    with each order."""
    prim = node.prim
    if node.released and (prim.saves or prim.saves_ans):
        raise RuntimeError(FREED_MESSAGE.format(name=prim.grad_fn_name))
    if node.versions is not None or node.ans_vc is not None:
        check_versions(node)
    args = node.saved
    ans = node.ans
    if ans is not None:
        ans = _ans_tensor(node)
    if args is None:
        args = (None,) * len(node.parents)
    if prim.uses_shapes:
        args = tuple(
            InputMeta(*meta) if a is None and meta is not None else a
            for a, meta in zip(args, node.in_meta)
        )
    params = node.params
    rules = prim.vjp_rules
    in_meta = node.in_meta
    i = -1
    for parent in node.parents:
        i += 1
        if parent is None or parent not in needed:
            continue
        rule = rules[i]
        if rule is None:
            continue
        gi = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
        if gi is None:
            continue
        shape, dtype = in_meta[i]
        if gi.shape != shape:
            gi = sum_to_shape(gi, shape)
        if gi.dtype != dtype:
            gi = _cast(gi, dtype)
        prev = cotangents.get(parent)
        cotangents[parent] = gi if prev is None else prev + gi


def edge_cotangent(
    rule: Any, g: Any, ans: Any, args: Sequence[Any], params: dict[str, Any],
    meta: tuple[tuple[int, ...], np.dtype], raw: bool,
) -> Any:
    """One edge of the backward pass: the cotangent ``rule`` sends to its input, summed back to
    the input's shape and cast to its dtype (``meta``); None for a symbolic zero. ``raw``: the
    rule ran on arrays, and an array comes back (NumPy turns 0-d results into scalars).

    The engine and ``viz.explain`` both take this step, so what a walkthrough shows is what the
    engine computes.
    """
    gi = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
    if gi is None:
        return None
    if raw and type(gi) is not _ndarray:
        gi = _raw_array(gi)
    shape, dtype = meta
    if gi.shape != shape:
        gi = sum_to_shape(gi, shape)
    if gi.dtype != dtype:
        gi = _cast(gi, dtype)
    return gi


class InputMeta:
    """Shape and dtype of an input a rule did not keep (what reshape/sum rules need)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)


def _ans_tensor(node: Node) -> Tensor:
    """The node's output as a Tensor that points back to the node, for differentiable rules."""
    t = _as_tensor(node.ans)
    t._node = node
    t._requires_grad = True
    return t


def _run_hooks(hooks: Iterable[Any], g: Any, tensor_mode: bool) -> Any:
    for hook in list(hooks):
        wrapped = _as_tensor(g)
        result = hook(wrapped)
        if result is not None:
            g = result if tensor_mode else (result._data if isinstance(result, Tensor) else result)
            if not tensor_mode and type(g) is not _ndarray:
                g = _raw_array(g)
    return g


def _store_retained(out: Tensor, g: Any, create_graph: bool) -> None:
    value = _as_tensor(g) if create_graph else _as_tensor(copy_array(g._data if isinstance(g, Tensor) else g))
    if out.grad is None:
        out.grad = value
    else:
        out.grad = out.grad + value


def _accumulate_leaves(cotangents: dict[Any, Any], create_graph: bool, tensor_mode: bool) -> None:
    stored: set[int] = set()
    for key, g in cotangents.items():
        if isinstance(key, Node) or g is None or not key._requires_grad:
            continue
        if key._hooks:
            g = _run_hooks(key._hooks, g, tensor_mode)
        if create_graph:
            gt = _as_tensor(g)
            key.grad = gt if key.grad is None else key.grad + gt
            continue
        data = g._data if isinstance(g, Tensor) else g
        if key.grad is None:
            # Pass-through rules (add, reshape) can hand one array to several leaves: copy then.
            if type(data) is not _ndarray:
                data = copy_array(data)  # another library's array: no view facts to go by
            elif id(data) in stored or data.base is not None or not data.flags.writeable:
                # (A Tensor's clone is an op the interpreters see: cr.jit follows the copy.)
                data = g.clone()._data if isinstance(g, Tensor) else data.copy()
            stored.add(id(data))
            key.grad = _as_tensor(data)
        elif key.grad._node is None and key.grad._data.shape == data.shape:
            # (NumPy turns 0-d arithmetic into scalars: keep .grad an array.)
            total = key.grad._data + data
            key.grad._data = total if type(total) is _ndarray else _raw_array(total)
        else:
            key.grad = key.grad + _as_tensor(data)
