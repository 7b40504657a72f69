"""Property tests: Hypothesis draws shapes, broadcasting pairs, axes, op settings and dtypes.

A *problem* is one op (or a short composite) with its static settings drawn at random, plus
strategies for its differentiable inputs (values inside the op's domain, away from kinks and
ties). The properties checked over many problems:

- gradients match central finite differences (``chainrule.testing.gradcheck``), for elementwise
  unary and binary ops (with broadcasting), reductions (random axis / keepdims), shape ops (random
  valid settings), indexing, matmul (random compatible shapes), linear algebra and nn ops;
- ``jacfwd(f) == jacrev(f)``;
- ``vmap(f, in_axes, out_axes)(xs)`` equals stacking ``f(x)`` over the batch;
- the gradient of a sum is the sum of the gradients (and ``.grad`` accumulates to it);
- float32 results (values and gradients) stay within tolerance of float64, keeping their dtype.

Runs are derandomized so CI is reproducible; set ``CHAINRULE_PROPERTY_EXPLORE=N`` to search with
random seeds and N times as many examples.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.testing import gradcheck, gradgradcheck

_EXPLORE = int(os.environ.get("CHAINRULE_PROPERTY_EXPLORE", "0") or 0)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples * max(_EXPLORE, 1),
        deadline=None,
        derandomize=not _EXPLORE,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        report_multiple_bugs=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ================================================================ strategies: values
def real(lo: float, hi: float, avoid: tuple[float, ...] = (), gap: float = 0.1) -> st.SearchStrategy[float]:
    """Floats in ``[lo, hi]`` at least ``gap`` from each point of ``avoid`` (kinks, poles)."""
    # Magnitudes below 1e-30 become exact zeros: they would be subnormal in float32, which the
    # float32 comparison cannot resolve (subnormal entries have their own tests below).
    base = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False).map(
        lambda v: v if abs(v) >= 1e-30 else 0.0
    )
    if not avoid:
        return base
    return base.filter(lambda v: all(abs(v - a) >= gap for a in avoid))


def grid(lo: int = -25, hi: int = 25, step: float = 0.1, offset: float = 0.0317) -> st.SearchStrategy[float]:
    """Points of a grid that avoids 0: with ``unique`` arrays, no two entries tie (max, min, sort)
    and no two magnitudes tie either."""
    return st.integers(lo, hi).map(lambda i: i * step + offset)


def signed(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Either sign, magnitude in ``[lo, hi]``."""
    return st.tuples(st.sampled_from([1.0, -1.0]), st.floats(lo, hi)).map(lambda t: t[0] * t[1])


@dataclass(frozen=True)
class Spec:
    """How to draw one differentiable input."""

    shape: tuple[int, ...]
    elements: st.SearchStrategy[float]
    unique: bool = False

    def strategy(self) -> st.SearchStrategy[np.ndarray]:
        return hnp.arrays(np.float64, self.shape, elements=self.elements, unique=self.unique)


@dataclass
class Problem:
    name: str
    fn: Callable[..., Any]
    specs: list[Spec]
    inputs: list[np.ndarray]
    #: float32 tolerance (relative, scaled by the float64 result's magnitude).
    tol32: float = 2e-4

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        shapes = [x.shape for x in self.inputs]
        return f"Problem({self.name}, shapes={shapes}, inputs={[x.tolist() for x in self.inputs]})"


def _problem(draw: Any, name: str, fn: Callable[..., Any], specs: list[Spec], tol32: float = 2e-4) -> Problem:
    inputs = [draw(s.strategy()) for s in specs]
    return Problem(name, fn, specs, inputs, tol32)


# ================================================================ strategies: shapes and axes
def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 3, max_size: int = 12) -> Any:
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).filter(
        lambda s: math.prod(s) <= max_size
    )


@st.composite
def axes(draw: Any, ndim: int, allow_none: bool = True, allow_tuple: bool = True) -> Any:
    """``None``, one axis or a tuple of distinct axes, each possibly negative."""
    kinds = (["none"] if allow_none else []) + (["int"] if ndim else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    chosen = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim)) if ndim else []
    return tuple(a - ndim if draw(st.booleans()) else a for a in chosen)


def _normalized(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        return (axis % ndim,)
    return tuple(a % ndim for a in axis)


@st.composite
def shapes_broadcasting_to(draw: Any, target: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``target``: some leading axes dropped, some sides set to 1."""
    keep = draw(st.integers(0, len(target)))
    tail = target[len(target) - keep :]
    return tuple(1 if draw(st.booleans()) else n for n in tail)


dtypes = st.sampled_from([np.float32, np.float64])


# ================================================================ elementwise ops
UNARY: dict[str, tuple[Callable[[Any], Any], st.SearchStrategy[float]]] = {
    "neg": (cr.neg, real(-2, 2)),
    "square": (cr.square, real(-2, 2)),
    "sqrt": (cr.sqrt, real(0.2, 3)),
    "reciprocal": (cr.reciprocal, real(-2, 2, avoid=(0.0,), gap=0.3)),
    "exp": (cr.exp, real(-2, 2)),
    "expm1": (cr.expm1, real(-2, 2)),
    "log": (cr.log, real(0.2, 3)),
    "log1p": (cr.log1p, real(-0.6, 3)),
    "log2": (cr.log2, real(0.2, 3)),
    "log10": (cr.log10, real(0.2, 3)),
    "sin": (cr.sin, real(-3, 3)),
    "cos": (cr.cos, real(-3, 3)),
    "tan": (cr.tan, real(-1.2, 1.2)),
    "arcsin": (cr.arcsin, real(-0.9, 0.9)),
    "arccos": (cr.arccos, real(-0.9, 0.9)),
    "arctan": (cr.arctan, real(-3, 3)),
    "sinh": (cr.sinh, real(-2, 2)),
    "cosh": (cr.cosh, real(-2, 2)),
    "tanh": (cr.tanh, real(-2, 2)),
    "sigmoid": (cr.sigmoid, real(-4, 4)),
    "softplus": (cr.softplus, real(-4, 4)),
    "relu": (cr.relu, real(-2, 2, avoid=(0.0,))),
    "leaky_relu": (lambda x: cr.leaky_relu(x, 0.2), real(-2, 2, avoid=(0.0,))),
    "gelu": (cr.gelu, real(-3, 3)),
    "erf": (cr.erf, real(-2, 2)),
    "abs": (cr.abs, real(-2, 2, avoid=(0.0,))),
    "sign": (lambda x: cr.sign(x) * x, real(-2, 2, avoid=(0.0,))),
    "tensor-methods": (lambda x: x.exp().sin().tanh() * x.sigmoid(), real(-2, 2)),
}


@st.composite
def unary_problems(draw: Any) -> Problem:
    name = draw(st.sampled_from(sorted(UNARY)))
    fn, elements = UNARY[name]
    return _problem(draw, name, fn, [Spec(draw(shapes()), elements)])


def _binary_specs(draw: Any, first: Any, second: Any) -> list[Spec]:
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3).filter(
        lambda b: math.prod(b.result_shape) <= 18))  # fmt: skip
    (sx, sy) = bs.input_shapes
    return [Spec(sx, first[0], first[1]), Spec(sy, second[0], second[1])]


_EVEN = (grid(-20, 20, 0.1, 0.0), False)  # x on the grid 0.1 k ...
_ODD = (grid(-20, 20, 0.1, 0.05), False)  # ... y halfway between: |x - y| >= 0.05, never a tie

BINARY: dict[str, tuple[Callable[[Any, Any], Any], Any, Any]] = {
    "add": (cr.add, (real(-2, 2), False), (real(-2, 2), False)),
    "subtract": (cr.subtract, (real(-2, 2), False), (real(-2, 2), False)),
    "multiply": (cr.multiply, (real(-2, 2), False), (real(-2, 2), False)),
    "divide": (cr.divide, (real(-2, 2), False), (real(-2, 2, avoid=(0.0,), gap=0.3), False)),
    "power": (cr.power, (real(0.2, 2), False), (real(-2, 2), False)),
    "arctan2": (cr.arctan2, (real(-2, 2), False), (real(0.3, 2), False)),
    "maximum": (cr.maximum, _EVEN, _ODD),
    "minimum": (cr.minimum, _ODD, _EVEN),
    # x / y stays at least 0.05 / 1.3 away from an integer: mod is smooth there.
    "mod": (cr.mod, (grid(-20, 20, 0.1, 0.05), False), (st.sampled_from([0.4, 1.3, -0.8]), False)),
    "operators": (lambda x, y: (x - y) * x / (y * y + 1) + 2.0**x - x**3, (real(-2, 2), False), (real(-2, 2), False)),
}


@st.composite
def binary_problems(draw: Any) -> Problem:
    name = draw(st.sampled_from(sorted(BINARY) + ["where", "clip"]))
    if name == "where":
        specs = _binary_specs(draw, (real(-2, 2), False), (real(-2, 2), False))
        cond_shape = draw(hnp.broadcastable_shapes(np.broadcast_shapes(specs[0].shape, specs[1].shape), max_dims=3))
        cond = draw(hnp.arrays(np.bool_, cond_shape))
        return _problem(draw, name, lambda x, y: cr.where(cond, x, y * y), specs)
    if name == "clip":
        lo = draw(st.one_of(st.none(), st.sampled_from([-1.05, -0.35])))
        hi = None if lo is not None and draw(st.booleans()) else draw(st.sampled_from([0.45, 1.15]))
        spec = Spec(draw(shapes()), grid(-20, 20, 0.1, 0.0))  # bounds never land on the grid
        return _problem(draw, f"clip({lo}, {hi})", lambda x: cr.clip(x, lo, hi) * x, [spec])
    fn, first, second = BINARY[name]
    return _problem(draw, name, fn, _binary_specs(draw, first, second))


# ================================================================ reductions
@st.composite
def reduction_problems(draw: Any) -> Problem:
    name = draw(st.sampled_from(["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std",
                                 "logsumexp", "norm", "norm1", "norminf", "cumsum", "cumprod",
                                 "softmax", "log_softmax", "methods"]))  # fmt: skip
    single_axis = name in ("cumsum", "cumprod", "softmax", "log_softmax")
    shape = draw(shapes(min_dims=1 if name in ("softmax", "log_softmax") else 0))
    nd = len(shape)
    elements, unique = real(-2, 2), False
    if name in ("max", "min", "amax", "amin", "var", "std", "norm", "norm1", "norminf"):
        elements, unique = grid(), True
    if name in ("prod", "cumprod"):
        # Magnitudes in [0.3, 1.6] or exact zeros (tiny entries have their own tests below).
        elements = st.one_of(signed(0.3, 1.6), st.just(0.0))
    spec = Spec(shape, elements, unique)
    if single_axis:
        axis = draw(st.integers(-nd, nd - 1)) if name in ("softmax", "log_softmax") else draw(
            st.one_of(st.none(), st.integers(-nd, nd - 1)) if nd else st.none())  # fmt: skip
        op = getattr(cr, name)
        return _problem(draw, f"{name}(axis={axis})", lambda x: op(x, axis=axis), [spec])
    axis = draw(axes(nd))
    keepdims = draw(st.booleans())
    count = math.prod(shape[a] for a in _normalized(axis, nd)) if nd else 1
    if name in ("var", "std"):
        ddof = draw(st.integers(0, 1))
        # Enough entries to be well defined; std is sqrt(var): keep var > 0 (two distinct entries).
        if count <= ddof or (name == "std" and count < 2):
            axis, count = None, math.prod(shape)
            if count < 2:
                spec = Spec((2,) + shape, elements, unique)
        op = getattr(cr, name)
        label = f"{name}(axis={axis}, ddof={ddof}, keepdims={keepdims})"
        return _problem(draw, label, lambda x: op(x, axis=axis, ddof=ddof, keepdims=keepdims), [spec])
    if name == "methods":
        return _problem(draw, f"methods(axis={axis})",
                        lambda x: x.mean(axis=axis, keepdims=keepdims) * x.sum(axis=axis, keepdims=keepdims)
                        + x.max(axis=axis, keepdims=keepdims),
                        [Spec(shape, grid(), True)])  # fmt: skip
    if name == "norm1":
        op = lambda x: cr.norm(x, ord=1, axis=axis, keepdims=keepdims)
    elif name == "norminf":
        op = lambda x: cr.norm(x, ord=np.inf, axis=axis, keepdims=keepdims)
    else:
        fn = getattr(cr, name)
        op = lambda x: fn(x, axis=axis, keepdims=keepdims)
    return _problem(draw, f"{name}(axis={axis}, keepdims={keepdims})", op, [spec])


# ================================================================ shape ops
def _factor(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def reshape_targets(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Any shape of the same size: the prime factors regrouped, with 1s inserted and maybe a -1."""
    factors = draw(st.permutations(_factor(math.prod(shape))))
    cuts = sorted(draw(st.sets(st.integers(1, max(len(factors) - 1, 1)), max_size=len(factors))))
    cuts = [c for c in cuts if c < len(factors)]
    groups = [math.prod(factors[a:b]) for a, b in zip([0] + cuts, cuts + [len(factors)])] if factors else []
    for _ in range(draw(st.integers(0, 2))):
        groups.insert(draw(st.integers(0, len(groups))), 1)
    if groups and draw(st.booleans()):
        groups[draw(st.integers(0, len(groups) - 1))] = -1
    return tuple(groups)


SHAPE_OPS = ["reshape", "transpose", "expand_dims", "squeeze", "swapaxes", "moveaxis", "flip", "roll",
             "tile", "repeat", "pad", "concatenate", "stack", "split", "broadcast_to", "sum_to",
             "flatten", "permute", "T/mT"]  # fmt: skip


@st.composite
def shape_problems(draw: Any) -> Problem:
    name = draw(st.sampled_from(SHAPE_OPS))
    el = real(-2, 2)
    shape = draw(shapes())
    nd = len(shape)
    if name == "reshape":
        target = draw(reshape_targets(shape))
        return _problem(draw, f"reshape{target}", lambda x: cr.reshape(x, target), [Spec(shape, el)])
    if name == "transpose":
        perm = draw(st.one_of(st.none(), st.permutations(range(nd)).map(tuple)))
        return _problem(draw, f"transpose({perm})", lambda x: cr.transpose(x, perm), [Spec(shape, el)])
    if name == "permute":
        perm = tuple(draw(st.permutations(range(nd))))
        return _problem(draw, f"permute{perm}", lambda x: cr.permute(x, *perm), [Spec(shape, el)])
    if name == "T/mT":
        shape = draw(shapes(min_dims=2))
        return _problem(draw, "T and mT", lambda x: x.mT * 2 + cr.transpose(x.T, tuple(range(len(shape)))[::-1]).mT,
                        [Spec(shape, el)])  # fmt: skip
    if name == "expand_dims":
        k = draw(st.integers(1, 2))
        out_nd = nd + k
        where = draw(st.lists(st.integers(0, out_nd - 1), min_size=k, max_size=k, unique=True))
        axis = tuple(a - out_nd if draw(st.booleans()) else a for a in where)
        axis = axis[0] if k == 1 else axis
        return _problem(draw, f"expand_dims({axis})", lambda x: cr.expand_dims(x, axis), [Spec(shape, el)])
    if name == "squeeze":
        shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 3]), max_size=4)))
        ones = [i for i, n in enumerate(shape) if n == 1]
        axis = draw(st.one_of(st.none(), st.lists(st.sampled_from(ones), unique=True).map(tuple))) if ones else None
        return _problem(draw, f"squeeze({axis})", lambda x: cr.squeeze(x, axis), [Spec(shape, el)])
    if name in ("swapaxes", "moveaxis", "pad") and nd == 0:  # (NumPy refuses these on 0-d too)
        shape, nd = (2, 3), 2
    if name == "swapaxes":
        a, b = draw(st.integers(-nd, nd - 1)), draw(st.integers(-nd, nd - 1))
        return _problem(draw, f"swapaxes({a}, {b})", lambda x: cr.swapaxes(x, a, b), [Spec(shape, el)])
    if name == "moveaxis":
        src = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        dst = draw(st.lists(st.integers(0, nd - 1), min_size=len(src), max_size=len(src), unique=True))
        dst = [d - nd if draw(st.booleans()) else d for d in dst]
        return _problem(draw, f"moveaxis({src}, {dst})", lambda x: cr.moveaxis(x, src, dst), [Spec(shape, el)])
    if name == "flip":
        axis = draw(axes(nd))
        return _problem(draw, f"flip({axis})", lambda x: cr.flip(x, axis), [Spec(shape, el)])
    if name == "roll":
        if nd and draw(st.booleans()):
            axis = tuple(draw(st.lists(st.integers(-nd, nd - 1), min_size=1, max_size=3)))
            shift: Any = tuple(draw(st.integers(-4, 4)) for _ in axis)
        else:
            axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
            shift = draw(st.integers(-5, 5))
        return _problem(draw, f"roll({shift}, {axis})", lambda x: cr.roll(x, shift, axis), [Spec(shape, el)])
    if name == "tile":
        reps = tuple(draw(st.lists(st.integers(1, 2), max_size=3)))
        return _problem(draw, f"tile({reps})", lambda x: cr.tile(x, reps), [Spec(shape, el)])
    if name == "repeat":
        axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
        n = math.prod(shape) if axis is None else shape[axis]
        repeats: Any = draw(st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=n, max_size=n)))
        return _problem(draw, f"repeat({repeats}, {axis})", lambda x: cr.repeat(x, repeats, axis), [Spec(shape, el)])
    if name == "pad":
        widths: Any = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd))
        if nd and draw(st.booleans()):
            widths = draw(st.sampled_from([widths[0], widths[0][0]]))
        value = draw(st.sampled_from([0.0, -1.5]))
        return _problem(draw, f"pad({widths}, {value})", lambda x: cr.pad(x, widths, constant_values=value),
                        [Spec(shape, el)])  # fmt: skip
    if name in ("concatenate", "stack", "split") and nd == 0:
        shape, nd = (2,), 1
    if name == "concatenate":
        axis = draw(st.integers(-nd, nd - 1))
        sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3).filter(lambda s: sum(s) > 0))
        specs = [Spec(shape[: axis % nd] + (k,) + shape[axis % nd + 1 :], el) for k in sizes]
        return _problem(draw, f"concatenate(axis={axis})", lambda *xs: cr.concatenate(list(xs), axis=axis), specs)
    if name == "stack":
        axis = draw(st.integers(-nd - 1, nd))
        k = draw(st.integers(1, 3))
        return _problem(draw, f"stack(axis={axis})", lambda *xs: cr.stack(list(xs), axis=axis), [Spec(shape, el)] * k)
    if name == "split":
        axis = draw(st.integers(-nd, nd - 1))
        n = shape[axis]
        how: Any = draw(st.one_of(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]),
                                  st.lists(st.integers(0, n), max_size=3).map(sorted)))  # fmt: skip

        def split_fn(x: Any) -> Any:
            parts = cr.split(x, how, axis=axis)
            return cr.concatenate([p * (i + 1.0) for i, p in enumerate(parts)], axis=axis)

        return _problem(draw, f"split({how}, axis={axis})", split_fn, [Spec(shape, el)])
    if name == "broadcast_to":
        lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
        target = lead + tuple(draw(st.integers(1, 3)) if s == 1 else s for s in shape)
        return _problem(draw, f"broadcast_to{target}", lambda x: cr.broadcast_to(x, target), [Spec(shape, el)])
    if name == "sum_to":
        target = shape
        lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
        src = lead + tuple(draw(st.integers(1, 3)) if s == 1 else s for s in target)
        return _problem(draw, f"sum_to{target}", lambda x: cr.sum_to(x, target), [Spec(src, el)])
    # flatten
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    start = draw(st.integers(0, nd - 1))
    end = draw(st.integers(start, nd - 1))
    start, end = (start - nd if draw(st.booleans()) else start), (end - nd if draw(st.booleans()) else end)
    return _problem(draw, f"flatten({start}, {end})", lambda x: cr.flatten(x, start, end), [Spec(shape, el)])


# ================================================================ indexing
@st.composite
def basic_index(draw: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Ints, slices with any step, None, an Ellipsis, and up to two integer arrays that broadcast."""
    index: list[Any] = []
    n_arrays = draw(st.integers(0, min(2, len(shape))))
    array_dims = set(draw(st.permutations(range(len(shape))))[:n_arrays])
    arr_len = draw(st.integers(1, 3))
    ellipsis_at = draw(st.one_of(st.none(), st.integers(0, len(shape))))
    for d, n in enumerate(shape):
        if ellipsis_at == d:
            index.append(Ellipsis)
            continue
        if draw(st.integers(0, 4)) == 0:
            index.append(None)
        if d in array_dims:
            index.append(np.array(draw(st.lists(st.integers(-n, n - 1), min_size=arr_len, max_size=arr_len))))
        else:
            kind = draw(st.sampled_from(["int", "slice", "slice", "full"]))
            if kind == "int":
                index.append(draw(st.integers(-n, n - 1)))
            elif kind == "slice":
                bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
                index.append(slice(draw(bound), draw(bound), draw(st.sampled_from([None, 1, 2, -1, -2]))))
            else:
                index.append(slice(None))
    return tuple(index)


@st.composite
def indexing_problems(draw: Any) -> Problem:
    kind = draw(st.sampled_from(["getitem", "mask", "take", "take_along_axis", "index_put", "setitem",
                                 "diagonal", "trace"]))  # fmt: skip
    el = real(-2, 2)
    shape = draw(shapes(min_dims=1))
    nd = len(shape)
    if kind == "getitem":
        index = draw(basic_index(shape))
        return _problem(draw, f"getitem[{index}]", lambda x: x[index] * 1.5, [Spec(shape, el)])
    if kind == "mask":
        mask = draw(hnp.arrays(np.bool_, shape))
        return _problem(draw, "boolean mask", lambda x: cr.getitem(x, mask) ** 2, [Spec(shape, el)])
    if kind == "take":
        axis = draw(st.one_of(st.none(), st.integers(-nd, nd - 1)))
        n = math.prod(shape) if axis is None else shape[axis]
        idx = draw(hnp.arrays(np.int64, draw(shapes(max_dims=2, max_size=4)), elements=st.integers(0, n - 1)))
        return _problem(draw, f"take({idx.tolist()}, {axis})", lambda x: cr.take(x, idx, axis), [Spec(shape, el)])
    if kind == "take_along_axis":
        axis = draw(st.integers(-nd, nd - 1))
        idx_shape = tuple(draw(st.integers(1, 3)) if d == axis % nd else draw(st.sampled_from([1, s]))
                          for d, s in enumerate(shape))  # fmt: skip
        idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, shape[axis] - 1)))
        return _problem(draw, f"take_along_axis(axis={axis})", lambda x: cr.take_along_axis(x, idx, axis),
                        [Spec(shape, el)])  # fmt: skip
    if kind in ("index_put", "setitem"):
        index = draw(basic_index(shape))
        # Repeated targets make which value lands NumPy's choice; keep the written entries distinct.
        target = np.arange(math.prod(shape)).reshape(shape)[index]
        if np.unique(target).size != target.size:
            index = tuple(slice(None) for _ in shape)
            target = np.arange(math.prod(shape)).reshape(shape)
        vshape = draw(shapes_broadcasting_to(target.shape))
        if kind == "index_put":
            return _problem(draw, f"index_put[{index}]", lambda x, v: cr.index_put(x * 2, index, v),
                            [Spec(shape, el), Spec(vshape, el)])  # fmt: skip

        def setitem(x: Any, v: Any) -> Any:
            y = x * 2
            y[index] = v * 3
            return y

        return _problem(draw, f"setitem[{index}]", setitem, [Spec(shape, el), Spec(vshape, el)])
    shape = draw(shapes(min_dims=2))
    nd = len(shape)
    a1, a2 = draw(st.permutations(range(nd)))[:2]
    n1, n2 = shape[a1], shape[a2]
    offset = draw(st.integers(-(n1 - 1), n2 - 1))
    if kind == "trace":
        return _problem(draw, f"trace({offset}, {a1}, {a2})", lambda x: cr.trace(x, offset, a1, a2),
                        [Spec(shape, el)])  # fmt: skip
    return _problem(draw, f"diagonal({offset}, {a1}, {a2})", lambda x: cr.diagonal(x, offset, a1, a2),
                    [Spec(shape, el)])  # fmt: skip


# ================================================================ matmul, linear algebra, nn ops
@st.composite
def matmul_problems(draw: Any) -> Problem:
    n, k, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=2))
    ba, bb = batch.input_shapes
    a_vec, b_vec = draw(st.booleans()), draw(st.booleans())
    sa = (k,) if a_vec else ba + (n, k)
    sb = (k,) if b_vec else bb + (k, m)
    how = draw(st.sampled_from(["matmul", "@"]))
    fn = cr.matmul if how == "matmul" else (lambda a, b: a @ b)
    return _problem(draw, f"{how} {sa} {sb}", fn, [Spec(sa, real(-2, 2)), Spec(sb, real(-2, 2))])


def _well_conditioned(n: int) -> st.SearchStrategy[float]:
    return real(-0.4, 0.4)


@st.composite
def linalg_problems(draw: Any) -> Problem:
    kind = draw(st.sampled_from(["inv", "det", "slogdet", "solve", "solve_vector", "cholesky", "dot",
                                 "outer", "einsum"]))  # fmt: skip
    n = draw(st.integers(1, 3))
    batch = draw(shapes(max_dims=1, max_side=2))
    el = real(-0.4, 0.4)

    def eye(a: Any) -> np.ndarray:  # the identity in the input's dtype (float32 stays float32)
        return np.eye(n, dtype=a.dtype)
    if kind == "inv":
        return _problem(draw, "inv", lambda a: cr.inv(a + 2 * eye(a)), [Spec(batch + (n, n), el)], tol32=1e-3)
    if kind == "det":
        return _problem(draw, "det", lambda a: cr.det(a + eye(a)), [Spec(batch + (n, n), el)], tol32=1e-3)
    if kind == "slogdet":
        sign = draw(st.sampled_from([1.0, -1.0]))
        return _problem(draw, f"slogdet(sign {sign})", lambda a: cr.slogdet(a + sign * eye(a))[1],
                        [Spec(batch + (n, n), el)], tol32=1e-3)  # fmt: skip
    if kind in ("solve", "solve_vector"):
        rhs = batch + (n, draw(st.integers(1, 2))) if kind == "solve" else (n,)
        return _problem(draw, f"solve {rhs}", lambda a, b: cr.solve(a + 2 * eye(a), b),
                        [Spec(batch + (n, n), el), Spec(rhs, real(-2, 2))], tol32=1e-3)  # fmt: skip
    if kind == "cholesky":
        # The factor of a symmetric positive definite matrix built from any square matrix.
        return _problem(draw, "cholesky", lambda a: cr.cholesky(a @ cr.swapaxes(a, -1, -2) + eye(a)),
                        [Spec(batch + (n, n), real(-1, 1))], tol32=1e-3)  # fmt: skip
    if kind == "dot":
        return _problem(draw, "dot", cr.dot, [Spec((n,), real(-2, 2)), Spec((n,), real(-2, 2))])
    if kind == "outer":
        return _problem(draw, "outer", cr.outer, [Spec((n,), real(-2, 2)), Spec((3,), real(-2, 2))])
    letters = "ijk"
    a_idx = "".join(draw(st.permutations(letters))[: draw(st.integers(1, 3))])
    b_idx = "".join(draw(st.permutations(letters))[: draw(st.integers(1, 3))])
    kept = [c for c in sorted(set(a_idx) | set(b_idx)) if draw(st.booleans())]
    out = "".join(draw(st.permutations(kept))) if kept else ""
    sizes = {"i": 2, "j": 3, "k": 1}
    spec = f"{a_idx},{b_idx}->{out}"
    return _problem(draw, f"einsum({spec})", lambda a, b: cr.einsum(spec, a, b),
                    [Spec(tuple(sizes[c] for c in a_idx), real(-2, 2)),
                     Spec(tuple(sizes[c] for c in b_idx), real(-2, 2))])  # fmt: skip


def _like(target: np.ndarray, z: Any) -> np.ndarray:
    """A float target in the logits' dtype (integer class indices stay as they are)."""
    return target.astype(z.dtype) if target.dtype.kind == "f" else target


@st.composite
def nn_problems(draw: Any) -> Problem:
    kind = draw(st.sampled_from(["conv2d", "max_pool2d", "avg_pool2d", "cross_entropy", "mse", "bce"]))
    if kind in ("conv2d", "max_pool2d", "avg_pool2d"):
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
        h, w = draw(st.integers(max(kh - 2 * ph, 1), 4)), draw(st.integers(max(kw - 2 * pw, 1), 4))
        c = draw(st.integers(1, 2))
        params = dict(stride=(sh, sw), padding=(ph, pw))
        if kind == "conv2d":
            o = draw(st.integers(1, 2))
            bias = draw(st.booleans())
            specs = [Spec((1, c, h, w), real(-2, 2)), Spec((o, c, kh, kw), real(-1, 1))]
            if bias:
                specs.append(Spec((o,), real(-1, 1)))
            return _problem(draw, f"conv2d {params} bias={bias}", lambda *a: cr.conv2d(*a, **params), specs)
        op = getattr(cr, kind)
        spec = Spec((1, c, h, w), grid(), unique=True)  # no ties inside a window
        return _problem(draw, f"{kind}({(kh, kw)}, {params})", lambda x: op(x, (kh, kw), **params), [spec])
    n, k = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    if kind == "cross_entropy":
        if draw(st.booleans()):
            target: Any = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
        else:
            raw = draw(hnp.arrays(np.float64, (n, k), elements=real(0.1, 1.0)))
            target = raw / raw.sum(axis=1, keepdims=True)
        return _problem(draw, f"cross_entropy({reduction})", lambda z: cr.cross_entropy(z, _like(target, z), reduction=reduction),
                        [Spec((n, k), real(-3, 3))])  # fmt: skip
    if kind == "mse":
        return _problem(draw, f"mse({reduction})", lambda p, t: cr.mse(p, t, reduction=reduction),
                        [Spec((n, k), real(-2, 2)), Spec((n, k), real(-2, 2))])  # fmt: skip
    target = draw(hnp.arrays(np.float64, (n, k), elements=real(0.0, 1.0)))
    return _problem(draw, f"bce_with_logits({reduction})",
                    lambda z: cr.binary_cross_entropy_with_logits(z, _like(target, z), reduction=reduction),
                    [Spec((n, k), real(-3, 3))])  # fmt: skip


CATEGORIES = {
    "unary": unary_problems(),
    "binary": binary_problems(),
    "reduction": reduction_problems(),
    "shape": shape_problems(),
    "indexing": indexing_problems(),
    "matmul": matmul_problems(),
    "linalg": linalg_problems(),
    "nn": nn_problems(),
}
any_problem = st.one_of(*CATEGORIES.values())


# ================================================================ helpers
def _tensors(inputs: list[np.ndarray], dtype: Any = np.float64) -> list[Any]:
    return [cr.tensor(x.astype(dtype)) for x in inputs]


def _scalarize(p: Problem) -> Callable[..., Any]:
    """A scalar function of the problem's inputs that weighs every output entry differently."""

    def f(*xs: Any) -> Any:
        y = p.fn(*xs)
        w = np.cos(np.arange(math.prod(y.shape), dtype=np.float64)).reshape(y.shape) + 1.5
        return cr.sum(y * w.astype(y.dtype))

    return f


def _nums(p: Problem) -> tuple[int, ...]:
    return tuple(range(len(p.inputs)))


# ================================================================ gradients match finite differences
@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_gradients_match_finite_differences(category: str) -> None:
    @_settings(150)
    @given(p=CATEGORIES[category])
    def check(p: Problem) -> None:
        assert gradcheck(p.fn, p.inputs, atol=1e-6, rtol=1e-5)

    check()


# ================================================================ second derivatives
@_settings(150)
@given(p=any_problem)
def test_second_derivatives_match_finite_differences_and_agree(p: Problem) -> None:
    # The VJP's own derivatives (in x and in the cotangent) against finite differences ...
    assert gradgradcheck(p.fn, p.inputs, atol=1e-5, rtol=1e-4)
    # ... and the Hessian of a scalar reduction: reverse-over-reverse equals forward-over-reverse,
    # and it is symmetric.
    f, nums, xs = _scalarize(p), _nums(p), _tensors(p.inputs)
    rev = cr.hessian(f, argnums=nums)(*xs)
    fwd = cr.jacfwd(cr.jacrev(f, argnums=nums), argnums=nums)(*xs)
    for i, xi in enumerate(p.inputs):
        for j, xj in enumerate(p.inputs):
            a, b = rev[i][j].numpy(), fwd[i][j].numpy()
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
            t = rev[j][i].numpy().reshape(xj.size, xi.size).T.reshape(a.shape)
            np.testing.assert_allclose(a, t, rtol=1e-9, atol=1e-11)


# ================================================================ jacfwd == jacrev
@_settings(300)
@given(p=any_problem)
def test_jacfwd_equals_jacrev(p: Problem) -> None:
    xs = _tensors(p.inputs)
    fwd = cr.jacfwd(p.fn, argnums=_nums(p))(*xs)
    rev = cr.jacrev(p.fn, argnums=_nums(p))(*xs)
    out_shape = tuple(p.fn(*xs).shape)
    for i, (a, b) in enumerate(zip(fwd, rev)):
        assert a.shape == b.shape == out_shape + p.inputs[i].shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


# ================================================================ vmap == stacking
@_settings(300)
@given(p=any_problem, data=st.data())
def test_vmap_equals_stacking(p: Problem, data: Any) -> None:
    size = data.draw(st.integers(1, 3), label="batch size")
    batches = [p.inputs] + [[data.draw(s.strategy()) for s in p.specs] for _ in range(size - 1)]
    # Each input is batched along a random axis, or shared (in_axes None) when not the first.
    in_axes = [data.draw(st.integers(-x.ndim - 1, x.ndim)) for x in p.inputs]
    for i in range(1, len(in_axes)):
        if data.draw(st.booleans()):
            in_axes[i] = None
    args = []
    for i, ax in enumerate(in_axes):
        if ax is None:
            args.append(cr.tensor(p.inputs[i]))
        else:
            args.append(cr.tensor(np.stack([b[i] for b in batches], axis=ax)))
    singles = [p.fn(*[cr.tensor(b[i] if ax is not None else p.inputs[i]) for i, ax in enumerate(in_axes)])
               for b in batches]  # fmt: skip
    out_nd = singles[0].ndim
    out_axis = data.draw(st.integers(-out_nd - 1, out_nd), label="out_axes")
    got = cr.vmap(p.fn, in_axes=tuple(in_axes), out_axes=out_axis)(*args)
    expected = np.stack([s.numpy() for s in singles], axis=out_axis)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


# ================================================================ grad of a sum == sum of grads
@_settings(200)
@given(p=any_problem, q=st.sampled_from(["sin", "square", "same"]))
def test_grad_of_a_sum_is_the_sum_of_grads(p: Problem, q: str) -> None:
    f = _scalarize(p)
    outer = {"sin": cr.sin, "square": cr.square, "same": lambda y: y}[q]
    g = lambda *xs: cr.sum(outer(p.fn(*xs)))
    nums = _nums(p)
    xs = _tensors(p.inputs)
    both = cr.grad(lambda *a: f(*a) + 0.5 * g(*a), argnums=nums)(*xs)
    gf = cr.grad(f, argnums=nums)(*xs)
    gg = cr.grad(g, argnums=nums)(*xs)
    # .grad accumulates across two backward calls to the same total.
    leaves = [cr.tensor(x, requires_grad=True) for x in p.inputs]
    f(*leaves).backward()
    (0.5 * g(*leaves)).backward()
    for i in range(len(xs)):
        expected = gf[i].numpy() + 0.5 * gg[i].numpy()
        np.testing.assert_allclose(both[i].numpy(), expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(leaves[i].grad.numpy(), expected, rtol=1e-10, atol=1e-12)


# ================================================================ float32 close to float64
@_settings(300)
@given(p=any_problem)
def test_float32_within_tolerance_of_float64(p: Problem) -> None:
    f = _scalarize(p)
    nums = _nums(p)
    out = {}
    for dt in (np.float32, np.float64):
        xs = _tensors(p.inputs, dt)
        y = p.fn(*xs)
        grads = cr.grad(f, argnums=nums)(*xs)
        assert y.dtype == dt, f"{p.name}: output dtype {y.dtype} from {dt.__name__} inputs"
        assert all(g.dtype == dt for g in grads), f"{p.name}: gradient dtypes {[g.dtype for g in grads]}"
        out[dt] = [y.numpy()] + [g.numpy() for g in grads]
    for a32, a64 in zip(out[np.float32], out[np.float64]):
        scale = max(1.0, float(np.max(np.abs(a64), initial=0.0)))
        np.testing.assert_allclose(a32, a64, rtol=p.tol32, atol=p.tol32 * scale)


@_settings(100)
@given(p=binary_problems().filter(lambda p: len(p.inputs) == 2), d1=dtypes, d2=dtypes)
def test_mixed_dtypes_promote_and_gradients_keep_each_input_dtype(p: Problem, d1: Any, d2: Any) -> None:
    x = cr.tensor(p.inputs[0].astype(d1), requires_grad=True)
    y = cr.tensor(p.inputs[1].astype(d2), requires_grad=True)
    out = p.fn(x, y)
    assert out.dtype == np.result_type(d1, d2)
    cr.sum(out).backward()
    assert x.grad.dtype == d1 and y.grad.dtype == d2
    assert x.grad.shape == x.shape and y.grad.shape == y.shape


# ================================================================ products across magnitudes
# prod and cumprod are polynomials: their derivatives of every order are exact sums of products of
# the entries, computed here in rational arithmetic. Entries spanning many orders of magnitude
# (and subnormal ones) are where division-based shortcuts (``ans / x``) lose accuracy.
def _weighted_cumprod_derivatives(x: np.ndarray, w: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, ...]:
    """Exact gradient and Hessian-vector product of ``sum_i w_i prod_{j<=i} x_j``, and the same
    computed from absolute values (the scale rounding errors are measured against)."""

    def compute(xs: list[Fraction], ws: list[Fraction], us: list[Fraction]) -> tuple[np.ndarray, np.ndarray]:
        n = len(xs)

        def prod_without(i: int, skip: set[int]) -> Fraction:
            out = Fraction(1)
            for j in range(i + 1):
                if j not in skip:
                    out *= xs[j]
            return out

        grad = [sum((ws[i] * prod_without(i, {a}) for i in range(a, n)), Fraction(0)) for a in range(n)]
        hvp = [sum((ws[i] * prod_without(i, {a, b}) * us[b] for i in range(n) for b in range(i + 1)
                    if b != a and a <= i), Fraction(0)) for a in range(n)]  # fmt: skip
        return np.array([float(v) for v in grad]), np.array([float(v) for v in hvp])

    def fr(a: np.ndarray) -> list[Fraction]:
        return [Fraction(float(v)) for v in a]

    g, h = compute(fr(x), fr(w), fr(u))
    g_scale, h_scale = compute(fr(np.abs(x)), fr(np.abs(w)), fr(np.abs(u)))
    return g, h, g_scale, h_scale


def _product_derivatives(x: np.ndarray, w: np.ndarray, u: np.ndarray, which: str) -> dict[str, np.ndarray]:
    """chainrule's gradient (reverse, forward) and Hessian-vector products (forward-over-reverse,
    reverse-over-reverse, forward-over-forward, reverse-over-forward) of the weighted cumprod, or
    of prod (w = e_last)."""
    if which == "prod":
        f = lambda t: cr.prod(t) * float(w[-1])
    else:
        f = lambda t: cr.sum(cr.cumprod(t) * w.astype(t.dtype))
    xt, ut = cr.tensor(x), cr.tensor(u)
    grad_f = cr.grad(f)
    return {
        "grad": grad_f(xt).numpy(),
        "jacfwd": cr.jacfwd(f)(xt).numpy(),
        "hvp": cr.hvp(f, (xt,), (ut,)).numpy(),
        "grad(<grad, u>)": cr.grad(lambda t: cr.sum(grad_f(t) * ut))(xt).numpy(),
        "jacfwd(jacfwd) u": (cr.jacfwd(cr.jacfwd(f))(xt) @ ut).numpy(),
        "jacrev(jacfwd) u": (cr.jacrev(cr.jacfwd(f))(xt) @ ut).numpy(),
    }


def _check_products(x: np.ndarray, u: np.ndarray, which: str, orders: tuple[str, ...], rtol: float) -> None:
    w = np.array([0.7, -1.3, 2.1, 0.4][: x.size]) if which == "cumprod" else np.eye(x.size)[-1] * 1.5
    g, h, g_scale, h_scale = _weighted_cumprod_derivatives(x.astype(np.float64), w, u)
    got = _product_derivatives(x, w, u, which)
    for name in orders:
        exact, scale = (g, g_scale) if name in ("grad", "jacfwd") else (h, h_scale)
        err = np.abs(got[name].astype(np.float64) - exact)
        # Each entry within rtol of its own scale, up to rounding at the scale of the largest
        # (shortcuts that divide by x may round at about eps * max|x| / min|x| of it).
        floor = (1e-10 if x.dtype == np.float64 else 1e-5) * scale.max() + np.finfo(x.dtype).tiny
        assert np.all(err <= rtol * scale + floor), (
            f"{which} {name} at x={x.tolist()}, u={u.tolist()}: got {got[name].tolist()}, "
            f"exact {exact.tolist()}"
        )


SECOND_ORDER = ("hvp", "grad(<grad, u>)", "jacfwd(jacfwd) u", "jacrev(jacfwd) u")
spanning = st.tuples(st.sampled_from([1.0, -1.0]), st.integers(-18, 1), st.floats(1.0, 9.9)).map(
    lambda t: t[0] * t[2] * 10.0 ** t[1]
)
_vectors = st.integers(2, 4).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float64, n, elements=spanning), hnp.arrays(np.float64, n, elements=real(-2, 2))))  # fmt: skip


@_settings(100)
@given(xu=_vectors, which=st.sampled_from(["prod", "cumprod"]))
def test_first_derivatives_of_products_are_exact_across_magnitudes(xu: Any, which: str) -> None:
    x, u = xu
    _check_products(x, u, which, ("grad", "jacfwd"), rtol=1e-12)


@_settings(60)
@given(xu=_vectors, which=st.sampled_from(["prod", "cumprod"]))
def test_second_derivatives_of_products_are_exact_across_magnitudes(xu: Any, which: str) -> None:
    x, u = xu
    _check_products(x, u, which, SECOND_ORDER, rtol=1e-9)


def test_prod_hessian_vector_product_with_a_small_entry() -> None:
    _check_products(np.array([1e-17, 2.0, 3.0]), np.ones(3), "prod", SECOND_ORDER, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("which", ["prod", "cumprod"])
def test_product_derivatives_with_a_subnormal_entry(which: str, dtype: Any) -> None:
    sub = np.finfo(dtype).smallest_subnormal * 3
    x = np.array([sub, 3.0, -2.0], dtype=dtype)
    u = np.array([1.0, 0.5, -2.0])
    orders = ("grad", "jacfwd", *SECOND_ORDER)
    _check_products(x, u, which, orders, rtol=1e-5 if dtype == np.float32 else 1e-12)


# ================================================================ vmap of mixed advanced indices
# With an integer array in an index, NumPy treats the index's plain integers as advanced indices
# too; advanced indices separated by a slice send their axes to the front of the result.
_SEPARATED = (0, slice(None), np.array([1, 2]))


def _stacked(fn: Callable[..., Any], *per_example: list[np.ndarray]) -> np.ndarray:
    return np.stack([np.asarray(fn(*args)) for args in zip(*per_example)])


def _numpy_put(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = x.copy()
    out[_SEPARATED] = v
    return out


def test_vmap_of_getitem_with_an_int_and_an_array_apart() -> None:
    xs = np.arange(48.0).reshape(2, 2, 3, 4)
    got = cr.vmap(lambda r: r[_SEPARATED])(cr.tensor(xs))
    np.testing.assert_array_equal(got.numpy(), _stacked(lambda r: r[_SEPARATED], list(xs)))


def test_vmap_of_index_put_with_an_int_and_an_array_apart() -> None:
    xs, vs = np.arange(48.0).reshape(2, 2, 3, 4), -np.arange(12.0).reshape(2, 2, 3)
    got = cr.vmap(lambda r, v: cr.index_put(r, _SEPARATED, v))(cr.tensor(xs), cr.tensor(vs))
    np.testing.assert_array_equal(got.numpy(), _stacked(_numpy_put, list(xs), list(vs)))


def test_jacrev_through_an_int_and_an_array_apart() -> None:
    x = cr.tensor(np.linspace(-1.0, 1.0, 24).reshape(2, 3, 4))
    f = lambda r: cr.sin(r[_SEPARATED])
    np.testing.assert_allclose(cr.jacrev(f)(x).numpy(), cr.jacfwd(f)(x).numpy(), rtol=1e-12, atol=0)


# ================================================================ power at exponent 0
# The derivative in x, y * x**(y-1), is set to 0 only for 0**0: at y = 0 and x != 0 its own
# derivative in y, 1/x, must survive (the Hessian is symmetric).
def test_mixed_second_derivative_of_power_at_exponent_zero() -> None:
    h = cr.hessian(lambda v: cr.power(v[0], v[1]))(cr.tensor([2.0, 0.0])).numpy()
    np.testing.assert_allclose(h, [[0.0, 0.5], [0.5, math.log(2.0) ** 2]], rtol=1e-12, atol=1e-15)
