"""Batching rules: how each primitive runs on a whole batch at once.

A rule is ``rule(prim, vals, flags, nb, params) -> output base``. ``vals`` are the op's arguments
with every batched one replaced by its base, whose ``nb`` leading axes are the batch axes (lined
up across arguments, size 1 where an argument does not vary along a level); ``flags[i]`` says
whether argument ``i`` is batched. The rule returns the output for the whole batch, batch axes
first, computed with chainrule primitives (so tapes and forward accumulators see it).

A primitive declares its rule where it is born, with ``Primitive(batching=...)``: one of the
kinds of ``BATCHING_KINDS``, whose one generic rule each lives here (``elementwise``: line the
example axes up by inserting size-1 axes after the batch axes; ``axis``: shift the params that
hold axes past the batch axes; ``trailing``: ops that already map over leading axes), or a rule
of its own, next to it in its family file (``def_batching(rule)``: reshape, matmul, einsum,
indexing, im2col...), written with the helpers below. ``rule_of(prim)`` looks the rule up.

A primitive with neither (nor a one-axis rule from ``Primitive.def_batch``) runs as the
per-example loop of ``batching.fallback_rule``; ``fallback_primitives()`` lists the registered
primitives that do (a test pins that list: today it is empty). Inside a rule the loop is still
used for the rare forms one batched call cannot express: ``getitem``/``index_add``/``index_put``
with integer-array indices separated by a slice (NumPy then moves their axes first), and
``einsum`` with an ellipsis or with no free subscript letter left for the batch axes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor, wrap_array

__all__ = [
    "KINDS", "RULES", "rule_of", "fallback_primitives", "per_example", "shape_of",
    "example_ndim", "batch_sizes", "with_example_ndim", "full_batch", "shift_axis", "shift_axes",
]  # fmt: skip

Rule = Callable[[Primitive, list[Any], list[bool], int, dict[str, Any]], Any]


def _p(name: str) -> Primitive:
    return registry[name]


# ---------------------------------------------------------------- helpers for rules
def shape_of(v: Any) -> tuple[int, ...]:
    """The shape of a base or of an unbatched argument (a Tensor, an array or a number)."""
    if isinstance(v, Tensor):
        return v._data.shape
    return np.shape(v)


def example_ndim(v: Any, flag: bool, nb: int) -> int:
    """How many axes one example of ``v`` has."""
    return len(shape_of(v)) - (nb if flag else 0)


def batch_sizes(vals: list[Any], flags: list[bool], nb: int) -> tuple[int, ...]:
    """The batch axes' sizes (an argument that does not vary along a level has size 1 there)."""
    sizes = [1] * nb
    for v, f in zip(vals, flags):
        if f:
            shp = v._data.shape
            for i in range(nb):
                if shp[i] != 1:
                    sizes[i] = shp[i]
    return tuple(sizes)


def with_example_ndim(v: Tensor, nb: int, ndim: int) -> Tensor:
    """A batched base with size-1 axes inserted after the batch axes, up to ``ndim`` example axes."""
    shp = v._data.shape
    have = len(shp) - nb
    if have >= ndim:
        return v
    return _p("reshape")(v, shape=shp[:nb] + (1,) * (ndim - have) + shp[nb:])


def full_batch(v: Any, flag: bool, nb: int, batch: tuple[int, ...]) -> Any:
    """``v`` as a base with exactly the batch axes ``batch`` (repeated where it does not vary)."""
    if flag:
        shp = v._data.shape
        if shp[:nb] == batch:
            return v
        return _p("broadcast_to")(v, shape=batch + shp[nb:])
    shp = tuple(shape_of(v))
    if not isinstance(v, Tensor):
        v = wrap_array(v)
    grown = _p("reshape")(v, shape=(1,) * nb + shp)
    return _p("broadcast_to")(grown, shape=batch + shp)


def shift_axis(a: int, ex_ndim: int, nb: int) -> int:
    """Axis ``a`` of an example (negative allowed) as an axis of the base."""
    return (a % ex_ndim if ex_ndim else 0) + nb


def shift_axes(axis: Any, ex_ndim: int, nb: int) -> Any:
    """An ``axis`` param (None: every axis; an int; a tuple) as axes of the base."""
    if axis is None:
        return tuple(range(nb, nb + ex_ndim))
    if isinstance(axis, (int, np.integer)):
        return shift_axis(int(axis), ex_ndim, nb)
    return tuple(shift_axis(int(a), ex_ndim, nb) for a in axis)


def per_example(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """The loop over the examples, for the forms a rule cannot batch."""
    from chainrule.transforms.batching import fallback_rule

    return fallback_rule(prim, vals, flags, nb, params)


# ---------------------------------------------------------------- the kinds
def elementwise(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                params: dict[str, Any]) -> Any:  # fmt: skip
    """NumPy broadcasting per example: batched inputs get size-1 axes after their batch axes so
    that their example axes line up on the right with the others'."""
    if len(vals) == 1:
        return bind(prim, vals[0], **params)
    ndims = []
    top = 0
    for v, f in zip(vals, flags):
        if isinstance(v, Tensor):
            n = v._data.ndim - (nb if f else 0)
        else:
            n = np.ndim(v)
        ndims.append(n)
        if n > top:
            top = n
    args = [
        with_example_ndim(v, nb, top) if f and n < top else v
        for v, f, n in zip(vals, flags, ndims)
    ]
    # Unbatched inputs have at most `top` axes: NumPy lines them up on the right already.
    return bind(prim, *args, **params)


def along_axes(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """Reductions, scans, flips, diagonals: the params named in the declaration hold axes of the
    (first) input, which shift past the batch axes; a missing one or None means every axis."""
    x = vals[0]
    ex = x._data.ndim - nb
    new = dict(params)
    for name in prim.batching[1:]:  # type: ignore[index]
        new[name] = shift_axes(params.get(name), ex, nb)
    return prim(x, **new)


def trailing(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
             params: dict[str, Any]) -> Any:  # fmt: skip
    """Ops that work on the last axes and already accept any leading (stack) axes."""
    return prim(vals[0], **params)


#: One generic rule per kind of ``chainrule.core.primitive.BATCHING_KINDS``.
KINDS: dict[str, Rule] = {"elementwise": elementwise, "axis": along_axes, "trailing": trailing}


def rule_of(prim: Primitive) -> Rule | None:
    """The batching rule ``prim`` declared (its kind's, or its own), or None."""
    declared = prim.batching
    if declared is None:
        return None
    if callable(declared):
        return declared
    return KINDS[declared[0]]


class _DeclaredRules(Mapping[str, Rule]):
    """Primitive name -> its declared rule, read from the registry at each lookup (so primitives
    registered later are covered), for callers that look rules up by name."""

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        prim = registry.get(name)
        rule = None if prim is None else rule_of(prim)
        return default if rule is None else rule

    def __getitem__(self, name: str) -> Rule:
        rule = self.get(name)
        if rule is None:
            raise KeyError(name)
        return rule

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, prim in registry.items() if prim.batching is not None])

    def __len__(self) -> int:
        return sum(1 for prim in registry.values() if prim.batching is not None)


RULES: Mapping[str, Rule] = _DeclaredRules()


def fallback_primitives() -> list[str]:
    """The registered primitives with no batching rule: they run as a per-example loop."""
    return sorted(name for name, prim in registry.items() if prim.batching is None and prim.batch_rule is None)

