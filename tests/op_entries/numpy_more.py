"""Entries for NumPy's further functions (issue 17): elementwise, shape, sorting and products."""

from __future__ import annotations

import warnings

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import away_from, binary, fixed, unary, uniform

E = OpInfo


def _np_cross(a, b, **kw):
    # NumPy 2 deprecates 2-vectors (chainrule keeps them, as JAX does): the reference stays quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return np.cross(a, b, **kw)


def _specials(infinities: bool):
    # With the default posinf/neginf (about 1.8e308) the table's sum of squares would overflow:
    # infinities only where the replacements are moderate.
    def make(rng):
        x = uniform(rng, (2, 3), -2, 2)
        x[0, 1] = np.nan
        if infinities:
            x[1, 0], x[1, 2] = np.inf, -np.inf
        return [Sample((x,), name="specials"), Sample((uniform(rng, (4,), -2, 2),), name="finite")]

    return make


def _nan_pairs(rng):
    x = np.array([0.3, np.nan, 1.5, -0.7])
    y = np.array([np.nan, 0.2, -1.0, 0.4])
    return [Sample((x, y), name="nan"), Sample((uniform(rng, (3, 1), -1, 1), uniform(rng, (2,), -1, 1)), name="bcast")]


ELEMENTWISE = [
    E("exp2", cr.exp2, np.exp2, unary(), ("exp2",)),
    E("arcsinh", cr.arcsinh, np.arcsinh, unary(), ("arcsinh",)),
    E("arccosh", cr.arccosh, np.arccosh, unary(1.3, 3.0), ("arccosh",)),
    E("arctanh", cr.arctanh, np.arctanh, unary(-0.8, 0.8), ("arctanh",)),
    E("sinc", cr.sinc, np.sinc, unary(-2.5, 2.5), ("sinc", "sinc_derivative")),
    E("sinc_at_zero", cr.sinc, np.sinc,
      fixed(Sample((np.array([0.0, 1e-9, -0.3, 0.7]),), name="zero")), ("sinc",)),
    E("deg2rad", cr.deg2rad, np.deg2rad, unary(-200, 200), ("mul",)),
    E("rad2deg", cr.rad2deg, np.rad2deg, unary(), ("mul",)),
    E("radians", cr.radians, np.radians, unary(-200, 200), ("mul",)),
    E("degrees", cr.degrees, np.degrees, unary(), ("mul",)),
    E("fabs", cr.fabs, np.fabs, unary(kinks=[0.0]), ("abs",)),
    E("nan_to_num", cr.nan_to_num, np.nan_to_num, _specials(False), ("nan_to_num",)),
    E("nan_to_num_values", lambda x: cr.nan_to_num(x, nan=-1.0, posinf=7.0, neginf=-7.0),
      lambda x: np.nan_to_num(x, nan=-1.0, posinf=7.0, neginf=-7.0), _specials(True), ("nan_to_num",)),
    E("hypot", cr.hypot, np.hypot, binary(0.2, 2.0), ("hypot",)),
    E("logaddexp", cr.logaddexp, np.logaddexp, binary(), ("logaddexp",)),
    E("logaddexp2", cr.logaddexp2, np.logaddexp2, binary(), ("logaddexp2",)),
    E("fmax", cr.fmax, np.fmax, _nan_pairs, ("fmax",)),
    E("fmin", cr.fmin, np.fmin, _nan_pairs, ("fmin",)),
]



def _cases(*cases):
    """Samples from (shapes, kwargs) pairs: one float input per shape."""

    def make(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shapes, kw in cases:
            shapes = shapes if isinstance(shapes, list) else [shapes]
            args = tuple(uniform(rng, sh, -2, 2) for sh in shapes)
            out.append(Sample(args, dict(kw), name=f"{shapes}-{kw}"))
        return out

    return make


def _seq(fn):
    """A function of a sequence, called with the sample's arrays as that sequence."""
    return lambda *xs, **kw: fn(list(xs), **kw)


def _parts_weighted(split):
    """Split, scale each part differently, flatten and join: checks every part's gradient."""

    def f(x, *args, **kw):
        parts = split(x, *args, **kw)
        flat = [(p * (i + 1.0)).reshape(-1) for i, p in enumerate(parts)]
        return cr.concatenate(flat) if isinstance(x, cr.Tensor) else np.concatenate(flat)

    return f


def _many(fn):
    """A function returning several arrays, as one tuple of them."""
    return lambda *xs: tuple(fn(*xs))


def _select(lib):
    def f(x, y):
        return lib.select([x > 0, y > 0.5], [x * 2.0, y], default=x * y)

    return f


def _away(shape_pairs):
    def make(rng):
        return [Sample(tuple(away_from(uniform(rng, sh, -2, 2), [0.0, 0.5]) for sh in shapes), name=str(shapes))
                for shapes in shape_pairs]  # fmt: skip

    return make


SHAPES = [
    E("tril", cr.tril, np.tril, _cases(
        ((3, 4), {}), ((3, 4), {"k": 1}), ((4, 3), {"k": -1}), ((2, 3, 3), {}), ((4,), {"k": 1}),
    ), ("where",)),
    E("triu", cr.triu, np.triu, _cases(
        ((3, 4), {}), ((3, 4), {"k": 2}), ((4, 3), {"k": -1}), ((2, 3, 3), {}), ((4,), {}),
    ), ("where",)),
    E("append", cr.append, np.append, _cases(
        ([(2, 3), (1, 3)], {"axis": 0}), ([(2, 3), (2,)], {}), ([(), (2, 2)], {}),
        ([(2, 1), (2, 2)], {"axis": -1}),
    ), ("concat2", "reshape")),
    E("vstack", _seq(cr.vstack), _seq(np.vstack), _cases(
        ([(3,), (3,)], {}), ([(2, 3), (3,)], {}), ([(), ()], {}), ([(1, 2, 2), (2, 2, 2)], {}),
    ), ("concat2", "reshape")),
    # A tensor where a sequence is expected is the sequence of its rows (NumPy iterates it).
    E("vstack_rows", cr.vstack, np.vstack, _cases(((2,), {}), ((2, 3), {})), ("getitem", "concat2", "reshape")),
    E("column_stack_rows", cr.column_stack, np.column_stack, _cases(((3, 2), {})), ("getitem", "concat2", "reshape")),
    E("row_stack", _seq(cr.row_stack), _seq(np.vstack), _cases(([(2,), (1, 2)], {})),
      ("concat2", "reshape")),
    E("hstack", _seq(cr.hstack), _seq(np.hstack), _cases(
        ([(3,), (2,)], {}), ([(2, 3), (2, 1)], {}), ([(), (2,)], {}),
    ), ("concat2", "reshape")),
    E("column_stack", _seq(cr.column_stack), _seq(np.column_stack), _cases(
        ([(3,), (3,)], {}), ([(3, 2), (3,)], {}), ([(), ()], {}),
    ), ("concat2", "reshape")),
    E("dstack", _seq(cr.dstack), _seq(np.dstack), _cases(
        ([(3,), (3,)], {}), ([(2, 3), (2, 3)], {}), ([(2, 2, 1), (2, 2, 2)], {}),
    ), ("concat2", "reshape")),
    E("array_split", _parts_weighted(cr.array_split), _parts_weighted(np.array_split), _cases(
        ((5, 2), {"indices_or_sections": 3}), ((2, 7), {"indices_or_sections": 3, "axis": 1}),
        ((3,), {"indices_or_sections": 5}), ((6,), {"indices_or_sections": [1, 4]}),
    ), ("pad",)),
    E("vsplit", _parts_weighted(cr.vsplit), _parts_weighted(np.vsplit), _cases(
        ((4, 2), {"indices_or_sections": 2}), ((3, 2), {"indices_or_sections": [1]}),
    ), ("pad",)),
    E("hsplit", _parts_weighted(cr.hsplit), _parts_weighted(np.hsplit), _cases(
        ((2, 4), {"indices_or_sections": 2}), ((6,), {"indices_or_sections": [2, 5]}),
    ), ("pad",)),
    E("dsplit", _parts_weighted(cr.dsplit), _parts_weighted(np.dsplit), _cases(
        ((1, 2, 4), {"indices_or_sections": 2}),
    ), ("pad",)),
    E("rot90", cr.rot90, np.rot90, _cases(
        ((3, 4), {}), ((3, 4), {"k": 2}), ((2, 3, 4), {"k": 3, "axes": (2, 0)}),
        ((2, 3), {"k": -1, "axes": (1, 0)}), ((2, 3), {"k": 4}),
    ), ("flip", "transpose", "reshape")),
    E("flipud", cr.flipud, np.flipud, _cases(((3,), {}), ((3, 2), {})), ("flip",)),
    E("fliplr", cr.fliplr, np.fliplr, _cases(((3, 2), {}), ((2, 3, 2), {})), ("flip",)),
    E("rollaxis", cr.rollaxis, np.rollaxis, _cases(
        ((2, 3, 4), {"axis": 2}), ((2, 3, 4), {"axis": 0, "start": 3}), ((2, 3, 4), {"axis": -1, "start": -2}),
    ), ("transpose",)),
    E("atleast_1d", cr.atleast_1d, np.atleast_1d, _cases(((), {}), ((3,), {}), ((2, 2), {})), ("reshape",)),
    E("atleast_2d", cr.atleast_2d, np.atleast_2d, _cases(((), {}), ((3,), {}), ((2, 2), {})), ("reshape",)),
    E("atleast_3d", cr.atleast_3d, np.atleast_3d, _cases(
        ((), {}), ((3,), {}), ((2, 3), {}), ((1, 2, 3, 1), {}),
    ), ("reshape",)),
    E("atleast_2d_several", _many(cr.atleast_2d), _many(np.atleast_2d), _cases(([(3,), (1, 3)], {})),
      ("reshape",)),  # (one output shape: the table sums a tuple of outputs as one stack)
    E("diff", cr.diff, np.diff, _cases(
        ((5,), {}), ((5,), {"n": 2}), ((3, 4), {"axis": 0}), ((3, 4), {"n": 3}), ((3, 4), {"n": 0}),
        ((3,), {"prepend": 0.5, "append": -1.0}), ((2, 3), {"axis": 0, "prepend": np.ones((1, 3))}),
    ), ("sub", "pad", "concat2", "broadcast_to")),
    E("gradient", cr.gradient, np.gradient, _cases(
        ((5,), {}), ((5,), {"edge_order": 2}), ((2,), {}), ((3, 4), {"axis": 1}), ((4, 3), {"axis": 0, "edge_order": 2}),
    ), ("sub", "mul", "add", "pad", "concat2")),
    E("gradient_spacing", lambda f: cr.gradient(f, 0.5), lambda f: np.gradient(f, 0.5),
      _cases(((4,), {})), ("mul",)),
    E("gradient_coordinates", lambda f: cr.gradient(f, np.array([0.0, 0.5, 1.5, 1.75, 3.0])),
      lambda f: np.gradient(f, np.array([0.0, 0.5, 1.5, 1.75, 3.0])), _cases(((5,), {})), ("mul",)),
    E("gradient_coordinates_order2",
      lambda f: cr.gradient(f, np.array([0.0, 0.5, 1.5, 1.75, 3.0]), edge_order=2),
      lambda f: np.gradient(f, np.array([0.0, 0.5, 1.5, 1.75, 3.0]), edge_order=2), _cases(((5,), {})),
      ("mul",)),
    E("gradient_all_axes", _many(lambda f: cr.gradient(f, 2.0, [0.0, 1.0, 3.0])),
      _many(lambda f: np.gradient(f, 2.0, [0.0, 1.0, 3.0])), _cases(((4, 3), {})), ("mul",)),
]

PRODUCTS = [
    E("diag", cr.diag, np.diag, _cases(
        ((4,), {}), ((3,), {"k": 1}), ((2,), {"k": -2}), ((3, 4), {}), ((3, 4), {"k": 1}), ((4, 3), {"k": -2}),
    ), ("diagonal", "diagonal_scatter")),
    E("kron", cr.kron, np.kron, _cases(
        ([(2,), (3,)], {}), ([(2, 2), (1, 3)], {}), ([(2,), (2, 3)], {}), ([(), (2,)], {}),
    ), ("mul", "reshape")),
    E("inner", cr.inner, np.inner, _cases(
        ([(3,), (3,)], {}), ([(2, 3), (4, 3)], {}), ([(3,), (2, 2, 3)], {}), ([(), (2,)], {}),
    ), ("einsum",)),
    E("tensordot", cr.tensordot, np.tensordot, _cases(
        ([(2, 3, 4), (3, 4, 2)], {}), ([(2, 3), (3, 2)], {"axes": ([0, 1], [1, 0])}),
        ([(2, 3), (4,)], {"axes": 0}), ([(3, 2), (3, 4)], {"axes": (0, 0)}), ([(2, 3), (3, 4)], {"axes": 1}),
    ), ("einsum",)),
    E("cross", cr.cross, _np_cross, _cases(
        ([(3,), (3,)], {}), ([(4, 3), (3,)], {}), ([(3, 2), (3, 2)], {"axis": 0}),
        ([(3, 2), (2, 3)], {"axisa": 0, "axisc": 0}), ([(2,), (3,)], {}), ([(2, 3), (2, 2)], {}),
    ), ("getitem", "mul", "sub", "neg", "concat2", "broadcast_to", "transpose")),
    E("cross_2d", cr.cross, lambda a, b: a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
      _cases(([(2,), (2,)], {}), ([(3, 2), (2,)], {})), ("getitem", "mul", "sub")),
]

SORTING = [
    E("sort", cr.sort, np.sort, _cases(
        ((5,), {}), ((3, 4), {}), ((3, 4), {"axis": 0}), ((2, 3), {"axis": None}), ((), {"axis": None}),
    ), ("permute_along", "argsort")),
    E("partition", cr.partition, np.partition, _cases(
        ((5,), {"kth": 2}), ((3, 4), {"kth": (0, 2)}), ((4, 3), {"kth": -1, "axis": 0}), ((2, 3), {"kth": 4, "axis": None}),
    ), ("permute_along", "argpartition")),
    E("argsort", cr.argsort, np.argsort, _cases(((5,), {}), ((3, 4), {"axis": 0}), ((2, 3), {"axis": None})),
      ("argsort",), differentiable=False),
    # The set of the kth smallest entries' indices is unique (distinct values): sorted, it is
    # independent of how the partition arranges them.
    E("argpartition", lambda x, kth: cr.sort(cr.argpartition(x, kth)[..., :kth]),
      lambda x, kth: np.sort(np.argpartition(x, kth)[..., :kth]),
      _cases(((5,), {"kth": 2}), ((3, 4), {"kth": 1})), ("argpartition", "permute_along", "argsort", "getitem"),
      differentiable=False),
    E("select", _select(cr), _select(np), _away([[(4,), (4,)], [(2, 3), (3,)], [(), (2,)]]), ("where",)),
    E("select_stacked_choices", lambda c: cr.select(cr.tensor(np.array([[True, False, False], [True, True, False]])), c, 0.5),
      lambda c: np.select([[True, False, False], [True, True, False]], list(c), 0.5), _cases(((2, 3), {})),
      ("where", "getitem")),
]

INDEX_TRICKS = [
    E("r_", lambda x, y: cr.r_[x, 0.5, y, 1:3], lambda x, y: np.r_[x, 0.5, y, 1:3],
      _cases(([(3,), (2,)], {}), ([(), (2,)], {})), ("concat2", "reshape")),
    E("r_directive", lambda x, y: cr.r_["1,2,0", x, y], lambda x, y: np.r_["1,2,0", x, y],
      _cases(([(3,), (3,)], {}), ([(3, 2), (3,)], {})), ("concat2", "reshape", "transpose")),
    E("c_", lambda x, y: cr.c_[x, y, 0:1:3j], lambda x, y: np.c_[x, y, 0:1:3j],
      _cases(([(3,), (3,)], {}), ([(3, 2), (3,)], {})), ("concat2", "reshape", "transpose")),
]

ENTRIES = ELEMENTWISE + SHAPES + PRODUCTS + SORTING + INDEX_TRICKS
