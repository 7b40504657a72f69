"""The rule step: one edge of the backward pass, and what every sweep does around it.

``edge_cotangent`` calls a node's VJP rule for one input, sums the result back to the input's
shape and casts it to its dtype; ``_apply_rules`` does that for every input of a node after
checking that nothing the rules read was written in place or freed. The engine's sweeps
(core/engine.py) and ``viz.explain`` take these steps, so what a walkthrough shows is what the
engine computes. Hooks and ``retain_grad`` run here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from chainrule.core.backend import copy_array
from chainrule.core.node import Node
from chainrule.core.primitive import registry
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.core.versions import check_versions

__all__ = ["edge_cotangent", "sum_to_shape", "InputMeta", "FREED_MESSAGE"]

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


def _raw_array(value: Any) -> Any:
    """A rule's raw result as an array: NumPy turns 0-d results into scalars (np.float64), and a
    rule may return a Python number; an array of another library (CuPy, Dask) stays as it is."""
    if isinstance(value, (np.generic, int, float, complex)):
        return np.asarray(value)
    return value


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


def with_shapes(args: Sequence[Any], in_meta: Sequence[Any]) -> tuple[Any, ...]:
    """The rule inputs with an :class:`InputMeta` for each input the node did not keep (what a
    primitive whose rules read only shapes, ``uses_shapes``, gets instead)."""
    return tuple(InputMeta(*meta) if a is None and meta is not None else a for a, meta in zip(args, in_meta))


def _check_saved(node: Node, prim: Any) -> None:
    """Raise when the rules would read values that a backward freed or a write changed."""
    if node.released and (prim.saves or prim.saves_ans):
        raise RuntimeError(FREED_MESSAGE.format(name=prim.grad_fn_name))
    if node.versions is not None or node.ans_vc is not None:
        check_versions(node)


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
    _check_saved(node, prim)
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
        args = with_shapes(args, node.in_meta)
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
    _check_saved(node, prim)
    args = node.saved
    ans = node.ans
    if ans is not None:
        ans = _ans_tensor(node)
    if args is None:
        args = (None,) * len(node.parents)
    if prim.uses_shapes:
        args = with_shapes(args, node.in_meta)
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
