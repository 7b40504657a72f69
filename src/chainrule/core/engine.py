"""The backward sweep: one engine behind ``.backward()``, ``autograd.grad``, tapes and transforms.

``backprop`` walks the recorded nodes in reverse topological order (Kahn's algorithm over
dependency counts: iterative, so a 100,000-op chain is fine), pops each cotangent when its node
runs, treats ``None`` as the symbolic zero, sums fan-out contributions, and undoes broadcasting in
one place by summing each cotangent back to its input's shape.

Rules run on raw arrays for a first-order pass. When the pass must itself be differentiable
(``create_graph``) or seen by a forward accumulator, they run on Tensors through ``bind``, so the
backward pass is recorded like any other computation. The rule step itself is in core/rules.py,
the sharing of repeated subexpressions in a recorded sweep in core/sharing.py, and the orders
the sweeps walk in core/order.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.core.backend import copy_array
from chainrule.core.modes import state
from chainrule.core.node import Node
from chainrule.core.order import dependencies, kahn_order, reachable_targets
from chainrule.core.rules import (
    FREED_MESSAGE,
    InputMeta,
    _apply_rules,
    _apply_rules_tensor,
    _as_tensor,
    _cast,
    _hooks_and_retained,
    _raw_array,
    _run_hooks,
    edge_cotangent,
    sum_to_shape,
    with_shapes,
)
from chainrule.core.sharing import SharedSubexpressions
from chainrule.core.sharing import recorded_sweep as _recorded_sweep
from chainrule.core.stack import backward_observers, needs_tensor_rules, set_stack
from chainrule.core.tensor import Tensor
from chainrule.core.versions import check_versions

__all__ = ["backprop", "sum_to_shape", "edge_cotangent", "FREED_MESSAGE", "InputMeta"]

_ndarray = np.ndarray


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
        order = kahn_order(root_nodes, deps, allowed)
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
    interp: SharedSubexpressions | None,
) -> None:
    """The rule loop of :func:`backprop`: run each ready node's rules, release, queue parents."""
    pop = cotangents.pop
    with _GradModeFor(create_graph):
        while ready:
            node = ready.pop()
            g = pop(node, None)
            if g is not None:
                if node.hooks is not None:
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
    a few percent of op_overhead. So it also counts down the parents' dependencies in the same
    loop, and hands the last parent that becomes ready straight to the next turn with its
    cotangent (the node the ready stack would pop next anyway) instead of through the stack and
    the cotangent dict: along a chain, nothing goes through them. The op table's
    backward-vs-grad tests hold it equal to ``_sweep`` (which ``autograd.grad`` takes) and to
    ``edge_cotangent`` (which ``viz`` takes).
    """
    pop = cotangents.pop
    get = cotangents.get
    push = ready.append
    node = None
    g = None
    while True:
        if node is None:
            if not ready:
                return
            node = ready.pop()
            g = pop(node, None)
        if g is not None and node.hooks is not None:  # (hooks, or retain_grad: see Node.hooks)
            g = _hooks_and_retained(node, g, None, False, False)
        parents = node.parents
        nxt = nxt_g = None
        args = None
        if g is not None:
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
            if args is None:
                # Released by an earlier backward: the full step raises when the rules read
                # what was dropped, and runs them when they read nothing.
                _apply_rules(node, g, cotangents, False, None, None, None)
        if args is not None:
            prim = node.prim
            if prim.uses_shapes:
                args = with_shapes(args, node.in_meta)
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
                    gi = None
                else:
                    # edge_cotangent(rule, g, ans, args, params, in_meta[i], True), inlined.
                    gi = rule(g, ans, *args, **params) if params else rule(g, ans, *args)
                    if gi is not None:
                        if type(gi) is not _ndarray:
                            gi = _raw_array(gi)
                        shape, dtype = in_meta[i]
                        if gi.shape != shape:
                            gi = sum_to_shape(gi, shape)
                        if gi.dtype is not dtype and gi.dtype != dtype:
                            gi = _cast(gi, dtype)
                if type(parent) is Node:
                    remaining = deps[parent] - 1
                    deps[parent] = remaining
                    if remaining == 0:
                        # Its last edge: what the dict holds for it, plus gi, is its cotangent.
                        prev = pop(parent, None)
                        if prev is not None:
                            gi = prev if gi is None else prev + gi
                        if nxt is not None:
                            if nxt_g is not None:
                                cotangents[nxt] = nxt_g
                            push(nxt)
                        nxt = parent
                        nxt_g = gi
                        continue
                if gi is not None:
                    prev = get(parent)
                    cotangents[parent] = gi if prev is None else prev + gi
            # (Locals outlive the node in this loop: drop what they hold, or each node's saved
            # arrays and last cotangent would stay alive into the next one: one array of peak.)
            args = ans = gi = prev = None
        else:
            for parent in parents:
                if type(parent) is Node:
                    remaining = deps[parent] - 1
                    deps[parent] = remaining
                    if remaining == 0:
                        if nxt is not None:
                            if nxt_g is not None:
                                cotangents[nxt] = nxt_g
                            push(nxt)
                        nxt = parent
                        nxt_g = pop(parent, None)
        g = None
        if not retain_graph:
            node.saved = node.saved_data = node.versions = node.ans = node.ans_vc = None
            node.released = True
        node = nxt
        g = nxt_g
        nxt = nxt_g = None


def _sweep_list(
    order: list[Node], cotangents: dict[Any, Any], results: dict[Any, Any], target_set: set[Any],
    needed: set[Any], tensor_mode: bool, allowed: set[Node] | None, observers: list[Any] | None,
    retain_graph: bool, create_graph: bool, interp: SharedSubexpressions | None,
) -> None:
    """:func:`_sweep` down a precomputed order, for a sweep with targets."""
    pop = cotangents.pop
    with _GradModeFor(create_graph):
        for node in order:
            g = pop(node, None)
            if g is not None:
                if node.hooks is not None:
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
