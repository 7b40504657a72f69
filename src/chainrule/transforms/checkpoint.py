"""``checkpoint`` (alias ``remat``): trade compute for memory in reverse mode.

A checkpointed call is recorded like any other computation, so every transform, tape and
closed-over parameter behaves as without it; then the values its nodes saved for the backward
pass are dropped, keeping only the inputs. When the backward pass reaches one of those nodes,
the function is run again on the same inputs (with the same random numbers), and the recomputed
nodes' saved values are handed to the original nodes, which then run their usual rules. The
gradients are therefore the same at every order, and so are the error messages.

Which nodes are the call's own: those that depend on the inputs, found by walking back from the
outputs to the fresh copies of the inputs the call made. Values computed from closed-over tensors
alone (``W.T`` of a weight) are kept, not recomputed; they are usually small.

A call inside ``vmap`` is recorded without dropping anything (same gradients, no saving).

>>> import chainrule as cr
>>> def block(h, w):
...     return h + cr.tanh(h @ w)
>>> w = cr.tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
>>> h = cr.tensor([[1.0, 2.0]], requires_grad=True)
>>> out = cr.checkpoint(block)(h, w)
>>> out.sum().backward()
>>> g_ckpt = w.grad
>>> w.grad = None
>>> block(h, w).sum().backward()
>>> bool(abs(g_ckpt - w.grad).max() < 1e-12)
True
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.core.modes import enable_grad, is_grad_enabled
from chainrule.core.node import Node
from chainrule.core.tensor import Tensor
from chainrule.core.versions import NEEDS_RECOMPUTE
from chainrule.transforms.batching import BatchedTensor
from chainrule.transforms.custom import _alias, _base_of, _is_float_tensor, reverse_tracked
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["checkpoint", "remat"]


def _random_state() -> Any:
    from chainrule import random

    return random.generator().bit_generator.state


def _set_random_state(value: Any) -> None:
    from chainrule import random

    random.generator().bit_generator.state = value


def dependent_nodes(outputs: Sequence[Any], inputs: set[Node]) -> list[Node]:
    """The nodes behind ``outputs`` that depend on a node of ``inputs``, in a fixed order (a
    depth-first walk from the outputs, parents in order): the same computation run twice gives
    the two lists in matching order."""
    order: list[Node] = []
    seen: set[Node] = set()
    dependent: set[Node] = set()
    for o in outputs:
        if not isinstance(o, Tensor):
            continue
        node = _base_of(o)[0]._node
        if node is None or node in inputs or node in seen:
            continue
        # Iterative post-order: a node is dependent when one of its parents is an input or a
        # dependent node.
        stack: list[tuple[Node, bool]] = [(node, False)]
        while stack:
            current, done = stack.pop()
            if done:
                if any(p in inputs or p in dependent for p in current.parents if type(p) is Node):
                    dependent.add(current)
                    order.append(current)
                continue
            if current in seen:
                continue
            seen.add(current)
            stack.append((current, True))
            for parent in reversed(current.parents):
                if type(parent) is Node and parent not in inputs and parent not in seen:
                    stack.append((parent, False))
    return order


def _signature(nodes: list[Node]) -> list[tuple[Any, ...]]:
    # By name: a custom_vjp call makes a new primitive each time, under the same name.
    return [(n.prim.name, n.out_shape, n.out_dtype) for n in nodes]


class _Checkpointed:
    """One checkpointed call: what it needs to run again and refill its nodes."""

    def __init__(self, fun: Callable[..., Any], name: str, statics: dict[int, Any], kwargs: dict[str, Any],
                 leaves: list[Any], tree: Any, positions: list[int], inputs: list[Tensor],
                 nodes: list[Node], rng: Any) -> None:  # fmt: skip
        self.fun = fun
        self.name = name
        self.statics = statics
        self.kwargs = kwargs
        self.leaves = leaves
        self.tree = tree
        self.positions = positions
        self.inputs = inputs
        self.rng = rng
        # Weak references: the nodes point here through their ``recompute``; strong ones would
        # make a reference cycle and keep the graph alive after its outputs die.
        self.nodes = [weakref.ref(n) for n in nodes]
        self.signature = _signature(nodes)
        # Tensors the nodes kept that the call did not make (inputs, closed-over values), with
        # their versions: an in-place change before the backward would change the recomputation.
        self.outside: list[tuple[Any, int, str]] = []
        own = set(nodes)
        for n in nodes:
            for _, t, version in n.versions or ():
                if _base_of(t)[0]._node not in own:
                    self.outside.append((weakref.ref(t), version, n.prim.grad_fn_name))
        self.done = False

    def drop(self) -> None:
        for ref in self.nodes:
            node = ref()
            node.saved = node.saved_data = None
            node.versions = NEEDS_RECOMPUTE  # the engine's version check then recomputes
            node.ans = node.ans_vc = None
            node.recompute = self.recompute

    def recompute(self, _node: Node) -> None:
        if self.done:
            return
        for ref, version, where in self.outside:
            t = ref()
            if t is not None and t._version != version:
                raise RuntimeError(
                    f"checkpoint({self.name}): a tensor the checkpointed call read (shape "
                    f"{tuple(t.shape)}, used by {where}) was modified by an in-place operation "
                    f"after the call (it is at version {t._version}; expected version {version}), "
                    "so recomputing the call for the backward pass would give other values. Do the "
                    "in-place change after backward, or pass a copy (.clone())."
                )
        fresh = [_alias(x) for x in self.inputs]
        leaves = list(self.leaves)
        for k, x in zip(self.positions, fresh):
            leaves[k] = x
        args = list(unflatten(self.tree, leaves))
        for i, value in self.statics.items():
            args[i] = value
        now = _random_state()
        _set_random_state(self.rng)
        try:
            with enable_grad():
                out = self.fun(*args, **self.kwargs)
        finally:
            _set_random_state(now)
        inputs = {_base_of(x)[0]._node for x in fresh} - {None}
        again = dependent_nodes(flatten(out)[0], inputs)
        signature = _signature(again)
        if signature != self.signature:
            first = next((i for i, (a, b) in enumerate(zip(signature, self.signature)) if a != b),
                         min(len(signature), len(self.signature)))  # fmt: skip
            raise RuntimeError(
                f"checkpoint({self.name}): recomputing the function for the backward pass took a "
                f"different path than the forward ({len(self.signature)} recorded ops then, "
                f"{len(signature)} now; they differ from op {first} on). A checkpointed function "
                "must compute the same thing when run again on the same inputs: no branching on "
                "state that changes, no random numbers from a generator other than "
                "chainrule.random's."
            )
        for ref, node in zip(self.nodes, again):
            target = ref()
            if target is None or target.released:
                continue
            target.saved = node.saved
            target.saved_data = node.saved_data
            target.versions = node.versions
            target.ans = node.ans
            target.ans_vc = node.ans_vc
            target.recompute = None
        self.done = True


def checkpoint(fun: Callable[..., Any], *, prevent_cse: bool = True, policy: Any = None,
               static_argnums: int | Sequence[int] = ()) -> Callable[..., Any]:  # fmt: skip
    """``fun`` with its intermediate values recomputed in the backward pass instead of kept
    (JAX's ``jax.checkpoint``; ``remat`` is an alias).

    The forward pass keeps only the inputs; the backward pass runs ``fun`` again and then
    differentiates it, so the gradients (of every order, under every transform) are those of
    ``fun`` itself. Closed-over tensors (a layer's weights) get their gradients as usual. Random
    draws from ``chainrule.random`` repeat in the recomputation. ``prevent_cse`` is accepted
    (there is no common-subexpression elimination to prevent); ``policy`` must be None (nothing
    is saved). Arguments in ``static_argnums`` are passed through untouched.

    >>> import chainrule as cr
    >>> f = cr.checkpoint(lambda x: cr.sin(cr.sin(x)))
    >>> cr.grad(f)(0.5)  # cos(sin(0.5)) * cos(0.5)
    tensor(0.77864395, dtype=float64)
    """
    if not callable(fun):
        raise TypeError(f"checkpoint: expected a function, got {type(fun).__name__}")
    if policy is not None:
        raise NotImplementedError(
            "checkpoint: policy= is not supported; every intermediate value of the function is "
            "recomputed (policy=None)"
        )
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    name = getattr(fun, "__name__", type(fun).__name__)

    @functools.wraps(fun)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        if not is_grad_enabled():
            return fun(*args, **kwargs)
        traced = [a if i not in static else None for i, a in enumerate(args)]
        leaves, tree = flatten(traced)
        positions = [k for k, v in enumerate(leaves) if _is_float_tensor(v)]
        inputs = [leaves[k] for k in positions]
        if any(isinstance(x, BatchedTensor) for x in inputs) or not reverse_tracked(inputs):
            return fun(*args, **kwargs)
        fresh = [_alias(x) for x in inputs]
        new_leaves = list(leaves)
        for k, x in zip(positions, fresh):
            new_leaves[k] = x
        statics = {i: args[i] for i in static if i < len(args)}
        new_args = list(unflatten(tree, new_leaves))
        for i, value in statics.items():
            new_args[i] = value
        rng = _random_state()
        with enable_grad():
            out = fun(*new_args, **kwargs)
        stops = {_base_of(x)[0]._node for x in fresh} - {None}
        nodes = dependent_nodes(flatten(out)[0], stops)
        if nodes:
            _Checkpointed(fun, name, statics, kwargs, leaves, tree, positions, fresh, nodes, rng).drop()
        return out

    return checkpointed


#: JAX's other name for :func:`checkpoint`.
remat = checkpoint
