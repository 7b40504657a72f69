"""Batching rules: how each primitive runs on a whole batch at once.

A rule is ``rule(prim, vals, flags, nb, params) -> output base``. ``vals`` are the op's arguments
with every batched one replaced by its base, whose ``nb`` leading axes are the batch axes (lined
up across arguments, size 1 where an argument does not vary along a level); ``flags[i]`` says
whether argument ``i`` is batched. The rule returns the output for the whole batch, batch axes
first, computed with chainrule primitives (so tapes and forward accumulators see it).

The table covers the elementwise primitives (one generic rule: line the example axes up by
inserting size-1 axes after the batch axes), the reductions and shape ops (the axis or shape
settings shift past the batch axes), indexing (the index gains leading full slices), matmul and
einsum (the batch becomes extra rows or an extra subscript), the linear-algebra ops that already
work on stacks of matrices, the softmax/cross-entropy family and the im2col windows; ops can also
declare their own rule with ``Primitive.def_batch``. Anything else uses the per-example loop of
``batching.fallback_rule``; ``fallback_primitives()`` lists the registered primitives that do (a
test pins that list: today it is empty). Inside a rule the loop is still used for the rare forms
one batched call cannot express: ``getitem``/``index_add``/``index_put`` with integer-array
indices separated by a slice (NumPy then moves their axes first), and ``einsum`` with an
ellipsis or with no free subscript letter left for the batch axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor, wrap_array

__all__ = ["RULES", "ELEMENTWISE", "rule_for", "fallback_primitives"]

Rule = Callable[[Primitive, list[Any], list[bool], int, dict[str, Any]], Any]

RULES: dict[str, Rule] = {}


def rule_for(*names: str) -> Callable[[Rule], Rule]:
    def register(rule: Rule) -> Rule:
        for name in names:
            RULES[name] = rule
        return rule

    return register


def _p(name: str) -> Primitive:
    return registry[name]


def _shape(v: Any) -> tuple[int, ...]:
    if isinstance(v, Tensor):
        return v._data.shape
    return np.shape(v)


def _ex_ndim(v: Any, flag: bool, nb: int) -> int:
    return len(_shape(v)) - (nb if flag else 0)


def _batch_of(vals: list[Any], flags: list[bool], nb: int) -> tuple[int, ...]:
    sizes = [1] * nb
    for v, f in zip(vals, flags):
        if f:
            shp = v._data.shape
            for i in range(nb):
                if shp[i] != 1:
                    sizes[i] = shp[i]
    return tuple(sizes)


def _with_example_ndim(v: Tensor, nb: int, ndim: int) -> Tensor:
    """A batched base with size-1 axes inserted after the batch axes, up to ``ndim`` example axes."""
    shp = v._data.shape
    have = len(shp) - nb
    if have >= ndim:
        return v
    return _p("reshape")(v, shape=shp[:nb] + (1,) * (ndim - have) + shp[nb:])


def _full_batch(v: Any, flag: bool, nb: int, batch: tuple[int, ...]) -> Any:
    """``v`` as a base with exactly the batch axes ``batch`` (repeated where it does not vary)."""
    if flag:
        shp = v._data.shape
        if shp[:nb] == batch:
            return v
        return _p("broadcast_to")(v, shape=batch + shp[nb:])
    shp = tuple(_shape(v))
    if not isinstance(v, Tensor):
        v = _tensor(v)
    grown = _p("reshape")(v, shape=(1,) * nb + shp)
    return _p("broadcast_to")(grown, shape=batch + shp)


_tensor = wrap_array


def _axis(a: int, ex_ndim: int, nb: int) -> int:
    return (a % ex_ndim if ex_ndim else 0) + nb


# ---------------------------------------------------------------- elementwise
ELEMENTWISE = (
    # unary
    "neg", "square", "sqrt", "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid",
    "softplus", "relu", "gelu", "erf", "abs", "sign", "leaky_relu", "elu", "clip", "astype",
    # binary and ternary
    "add", "sub", "mul", "div", "pow", "arctan2", "maximum", "minimum", "mod", "where",
    # without a derivative
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and",
    "logical_or", "logical_xor", "logical_not", "isfinite", "isnan", "isinf", "floor_divide",
    "floor", "ceil", "round",
)  # fmt: skip


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
        _with_example_ndim(v, nb, top) if f and n < top else v
        for v, f, n in zip(vals, flags, ndims)
    ]
    # Unbatched inputs have at most `top` axes: NumPy lines them up on the right already.
    return bind(prim, *args, **params)


for _name in ELEMENTWISE:
    RULES[_name] = elementwise


# ---------------------------------------------------------------- reductions and scans
def _reduced_axes(axis: Any, ex: int, nb: int) -> Any:
    if axis is None:
        return tuple(range(nb, nb + ex))
    if isinstance(axis, (int, np.integer)):
        return _axis(int(axis), ex, nb)
    return tuple(_axis(int(a), ex, nb) for a in axis)


@rule_for("sum", "mean", "prod", "max", "min", "var", "logsumexp", "norm", "log_softmax")
def reduction(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
              params: dict[str, Any]) -> Any:  # fmt: skip
    x = vals[0]
    ex = x._data.ndim - nb
    new = dict(params)
    new["axis"] = _reduced_axes(params.get("axis"), ex, nb)
    return prim(x, **new)


@rule_for("cumsum", "cumprod")
def scan(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    new = dict(params)
    new["axis"] = _axis(int(params["axis"]), x._data.ndim - nb, nb)
    return prim(x, **new)


@rule_for("argmax", "argmin")
def arg_reduction(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                  params: dict[str, Any]) -> Any:  # fmt: skip
    x = vals[0]
    shp = x._data.shape
    ex = len(shp) - nb
    axis = params.get("axis")
    keepdims = params.get("keepdims", False)
    if axis is None:
        flat = _p("reshape")(x, shape=shp[:nb] + (-1,) if ex else shp[:nb] + (1,))
        out = prim(flat, axis=nb, keepdims=False)
        if keepdims:
            out = _p("reshape")(out, shape=shp[:nb] + (1,) * ex)
        return out
    return prim(x, axis=_axis(int(axis), ex, nb), keepdims=keepdims)


@rule_for("prod_others", "inv", "det", "logabsdet", "cholesky", "one_hot")
def trailing(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
             params: dict[str, Any]) -> Any:  # fmt: skip
    """Ops that work on the last axes and already accept any leading (stack) axes."""
    return prim(vals[0], **params)


# ---------------------------------------------------------------- shape ops
@rule_for("reshape")
def reshape(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    return prim(x, shape=x._data.shape[:nb] + tuple(params["shape"]))


@rule_for("broadcast_to")
def broadcast_to(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                 params: dict[str, Any]) -> Any:  # fmt: skip
    shape = tuple(params["shape"])
    x = _with_example_ndim(vals[0], nb, len(shape))
    return prim(x, shape=x._data.shape[:nb] + shape)


@rule_for("sum_to")
def sum_to(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    shape = tuple(params["shape"])
    shp = x._data.shape
    lead = len(shp) - nb - len(shape)
    if lead > 0:
        x = _p("sum")(x, axis=tuple(range(nb, nb + lead)), keepdims=False)
        shp = x._data.shape
    return prim(x, shape=shp[:nb] + shape)


@rule_for("transpose")
def transpose(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    ex = x._data.ndim - nb
    axes = params.get("axes")
    if axes is None:
        per = tuple(range(ex - 1, -1, -1))
    else:
        per = tuple(int(a) % ex for a in axes)
    return prim(x, axes=tuple(range(nb)) + tuple(a + nb for a in per))


@rule_for("flip")
def flip(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    return prim(x, axis=_reduced_axes(params.get("axis"), x._data.ndim - nb, nb))


@rule_for("roll")
def roll(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    shp = x._data.shape
    axis = params.get("axis")
    if axis is None:
        flat = _p("reshape")(x, shape=shp[:nb] + (-1,) if len(shp) > nb else shp[:nb] + (1,))
        rolled = prim(flat, shift=params["shift"], axis=nb)
        return _p("reshape")(rolled, shape=shp)
    return prim(x, shift=params["shift"], axis=_reduced_axes(axis, len(shp) - nb, nb))


@rule_for("pad")
def pad(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    new = dict(params)
    new["widths"] = ((0, 0),) * nb + tuple(params["widths"])
    return prim(vals[0], **new)


@rule_for("concat2")
def concat2(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    batch = _batch_of(vals, flags, nb)
    a, b = (_full_batch(v, f, nb, batch) for v, f in zip(vals, flags))
    ex = a._data.ndim - nb
    return prim(a, b, axis=_axis(int(params["axis"]), ex, nb))


# ---------------------------------------------------------------- indexing
def _simple_index(index: tuple[Any, ...]) -> bool:
    """Whether prefixing full slices keeps NumPy's placement of the result's axes.

    Array indices separated by a slice, None or ``...`` send their axes to the front; that case
    is left to the per-example loop. Once an index holds an array, its integers are advanced
    indices too (NumPy broadcasts them with the arrays), so they count in that placement.
    """
    has_array = any(isinstance(item, np.ndarray) for item in index)
    positions = [i for i, item in enumerate(index)
                 if isinstance(item, np.ndarray) or (has_array and isinstance(item, (int, np.integer)))]  # fmt: skip
    return not positions or positions[-1] - positions[0] + 1 == len(positions)


def _prefixed(index: tuple[Any, ...], nb: int) -> tuple[Any, ...]:
    return (slice(None),) * nb + tuple(index)


@rule_for("getitem")
def getitem(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    index = params["index"]
    if not _simple_index(index):
        from chainrule.transforms.batching import fallback_rule

        return fallback_rule(prim, vals, flags, nb, params)
    return prim(vals[0], index=_prefixed(index, nb))


@rule_for("index_add")
def index_add(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    index = params["index"]
    if not _simple_index(index):
        from chainrule.transforms.batching import fallback_rule

        return fallback_rule(prim, vals, flags, nb, params)
    g = vals[0]
    return prim(g, index=_prefixed(index, nb), shape=g._data.shape[:nb] + tuple(params["shape"]))


@rule_for("index_put")
def index_put(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    index = params["index"]
    if not _simple_index(index):
        from chainrule.transforms.batching import fallback_rule

        return fallback_rule(prim, vals, flags, nb, params)
    batch = _batch_of(vals, flags, nb)
    x = _full_batch(vals[0], flags[0], nb, batch)
    values = vals[1]
    if flags[1]:
        example = x._data.shape[nb:]
        region = np.broadcast_to(np.zeros((), bool), example)[index].ndim
        shp = values._data.shape
        extra = len(shp) - nb - region
        if extra > 0:
            # NumPy lets the values carry extra leading size-1 axes; they would sit between
            # the batch axes and the region's, so drop them.
            values = _p("reshape")(values, shape=shp[:nb] + shp[nb + extra :])
        else:
            values = _with_example_ndim(values, nb, region)
    return prim(x, values, index=_prefixed(index, nb))


@rule_for("diagonal", "diagonal_scatter")
def diagonal(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    x = vals[0]
    new = dict(params)
    if "shape" in params:  # diagonal_scatter: the output is the (per-example) full matrix
        ex = len(params["shape"])
        new["shape"] = x._data.shape[:nb] + tuple(params["shape"])
    else:
        ex = x._data.ndim - nb
    new["axis1"] = _axis(int(params["axis1"]), ex, nb)
    new["axis2"] = _axis(int(params["axis2"]), ex, nb)
    return prim(x, **new)


# ---------------------------------------------------------------- matmul and einsum
@rule_for("matmul")
def matmul(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """One matrix product for the whole batch whenever one side is shared by every example."""
    a, b = vals
    fa, fb = flags
    sa, sb = _shape(a), _shape(b)
    ea, eb = len(sa) - (nb if fa else 0), len(sb) - (nb if fb else 0)
    transpose_p, reshape_p = _p("transpose"), _p("reshape")
    if fa and not fb:
        if ea == 1 and eb <= 2:
            # rows (B.., k) @ (k,) or (k, n): the batch is just more rows.
            return prim(a, b)
        if eb == 2 and ea == 2:
            # (B.., m, k) @ (k, n): stack the batch into rows.
            rows = reshape_p(a, shape=(-1, sa[-1]))
            return reshape_p(prim(rows, b), shape=sa[:-1] + (sb[-1],))
        if eb == 1 and ea >= 2:
            rows = reshape_p(a, shape=(-1, sa[-1]))
            return reshape_p(prim(rows, b), shape=sa[:-1])
        if ea >= eb >= 2:
            return prim(a, b)  # NumPy broadcasts b over a's example axes, right-aligned
    if fb and not fa:
        if eb == 1 and ea == 2:
            # (m, k) @ (B.., k): one product with the batch as rows, b @ a^T.
            return prim(b, transpose_p(a, axes=(1, 0)))
        if eb == 1 and ea == 1:
            return prim(b, a)
        if ea == 1:
            # (k,) @ (B.., k, n) -> (B.., n)
            return prim(a, b)
        if ea == 2 and eb == 2:
            # (m, k) @ (B.., k, n): move the batch into the columns, one product.
            k, n = sb[-2], sb[-1]
            batch = sb[:nb]
            cols = transpose_p(b, axes=(nb,) + tuple(range(nb)) + (nb + 1,))
            cols = reshape_p(cols, shape=(k, -1))
            out = reshape_p(prim(a, cols), shape=(sa[0],) + batch + (n,))
            return transpose_p(out, axes=tuple(range(1, nb + 1)) + (0, nb + 1))
    # General case: both batched (or stacks on both sides): matrix-ify vectors, line the example
    # axes up after the batch axes and let NumPy broadcast.
    squeeze_a = fa and ea == 1
    squeeze_b = fb and eb == 1
    if fa:
        if ea == 1:
            a = reshape_p(a, shape=sa[:nb] + (1, sa[-1]))
            ea = 2
    elif ea == 1:
        a = reshape_p(a, shape=(1, sa[-1]))
        ea = 2
        squeeze_a = True
    if fb:
        if eb == 1:
            b = reshape_p(b, shape=sb[:nb] + (sb[-1], 1))
            eb = 2
    elif eb == 1:
        b = reshape_p(b, shape=(sb[-1], 1))
        eb = 2
        squeeze_b = True
    # A batched operand needs at least as many example axes as the other one, or NumPy would
    # line the other's leading axes up against the batch axes.
    top = max(ea, eb)
    if fa:
        a = _with_example_ndim(a, nb, top)
    if fb:
        b = _with_example_ndim(b, nb, top)
    out = prim(a, b)
    shp = out._data.shape
    if squeeze_a and squeeze_b:
        return reshape_p(out, shape=shp[:-2])
    if squeeze_a:
        return reshape_p(out, shape=shp[:-2] + shp[-1:])
    if squeeze_b:
        return reshape_p(out, shape=shp[:-1])
    return out


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


@rule_for("einsum")
def einsum(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """The batch axes become fresh subscripts, kept in the output."""
    subscripts = params["subscripts"]
    lhs, out = subscripts.split("->")
    inputs = lhs.split(",")
    unused = [c for c in _LETTERS if c not in subscripts]
    if len(unused) < nb or "." in subscripts:
        from chainrule.transforms.batching import fallback_rule

        return fallback_rule(prim, vals, flags, nb, params)
    batch_letters = "".join(unused[:nb])
    sizes = _batch_of(vals, flags, nb)
    args = []
    subs = []
    for v, f, s in zip(vals, flags, inputs):
        if f:
            # einsum does not broadcast a size-1 axis against a longer one: make them full.
            if v._data.shape[:nb] != sizes:
                v = _p("broadcast_to")(v, shape=sizes + v._data.shape[nb:])
            subs.append(batch_letters + s)
        else:
            subs.append(s)
        args.append(v)
    return prim(*args, subscripts=f"{','.join(subs)}->{batch_letters}{out}")


# ---------------------------------------------------------------- linear algebra on stacks
@rule_for("solve")
def solve(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """``b`` is one vector per example when its example part is 1-D: solve for a column."""
    a, b = vals
    fa, fb = flags
    reshape_p = _p("reshape")
    ea, eb = _ex_ndim(a, fa, nb), _ex_ndim(b, fb, nb)
    vector = fb and eb == 1
    if vector:
        b = reshape_p(b, shape=b._data.shape + (1,))
        eb = 2
    # As for matmul: a batched operand gets at least the other's number of example axes.
    top = max(ea, eb)
    if fa:
        a = _with_example_ndim(a, nb, top)
    if fb:
        b = _with_example_ndim(b, nb, top)
    out = prim(a, b)
    if vector:
        return reshape_p(out, shape=out._data.shape[:-1])
    return out


# ---------------------------------------------------------------- nn
@rule_for("cross_entropy")
def cross_entropy(prim: Primitive, vals: list[Any], flags: list[bool], nb: int,
                  params: dict[str, Any]) -> Any:  # fmt: skip
    """Per-example losses on the whole batch, then each example's own reduction."""
    batch = _batch_of(vals, flags, nb)
    logits = _full_batch(vals[0], flags[0], nb, batch)
    target = _full_batch(vals[1], flags[1], nb, batch)
    ex = logits._data.ndim - nb
    losses = prim(logits, target, axis=_axis(int(params["axis"]), ex, nb), reduction="none",
                  soft=params["soft"])  # fmt: skip
    reduction = params["reduction"]
    if reduction == "none":
        return losses
    axes = tuple(range(nb, losses._data.ndim))
    if reduction == "sum":
        return _p("sum")(losses, axis=axes, keepdims=False)
    return _p("mean")(losses, axis=axes, keepdims=False)


def _merge_first(x: Tensor, nb: int) -> tuple[Tensor, tuple[int, ...]]:
    shp = x._data.shape
    return _p("reshape")(x, shape=(-1,) + shp[nb + 1 :]), shp[: nb + 1]


@rule_for("im2col")
def im2col(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    """The batch joins the images' own N axis."""
    merged, lead = _merge_first(vals[0], nb)
    out = prim(merged, **params)
    return _p("reshape")(out, shape=lead + out._data.shape[1:])


@rule_for("col2im")
def col2im(prim: Primitive, vals: list[Any], flags: list[bool], nb: int, params: dict[str, Any]) -> Any:
    merged, lead = _merge_first(vals[0], nb)
    new = dict(params)
    shape = tuple(params["shape"])
    new["shape"] = (math.prod(lead),) + shape[1:]
    out = prim(merged, **new)
    return _p("reshape")(out, shape=lead + shape[1:])


def fallback_primitives() -> list[str]:
    """The registered primitives with no batching rule: they run as a per-example loop."""
    return sorted(name for name, prim in registry.items() if name not in RULES and prim.batch_rule is None)
