"""Entries for the reductions and scans (ops/reduce.py): mean, prod, max/min, var/std,
logsumexp, norm, cumsum, cumprod."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.ops._api import ensure_tensor
from chainrule.ops.reduce import prod_others_p
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform

# Shapes and reduction settings that every reduction is tried on (all <= 12 elements).
AXIS_CASES = [
    ((), {}),
    ((4,), {}),
    ((3, 4), {}),
    ((3, 4), {"axis": 1}),
    ((3, 4), {"axis": -2, "keepdims": True}),
    ((2, 3, 2), {"axis": (0, 2)}),
    ((2, 3, 2), {"axis": (0, 2), "keepdims": True}),
    ((2, 1, 3), {"axis": 1}),
]


def _reductions(low: float = -2.0, high: float = 2.0, signs: bool = False, cases=AXIS_CASES):
    def make(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shape, kw in cases:
            x = uniform(rng, shape, low, high)
            if signs:
                x = x * rng.choice([-1.0, 1.0], size=shape)
            out.append(Sample((x,), dict(kw), name=f"{shape}-{kw}"))
        return out

    return make


def _with_zeros(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (3, 4), 0.5, 1.5) * rng.choice([-1.0, 1.0], size=(3, 4))
    one = x.copy()
    one[1, 2] = 0.0
    two = x.copy()
    two[0, 0] = two[0, 3] = 0.0
    two[2, 1] = 0.0
    three = x[:, :3].copy()
    three[0, :] = 0.0
    return [
        Sample((one,), {}, name="one-zero-all"),
        Sample((one,), {"axis": 1}, name="one-zero-axis1"),
        Sample((two,), {"axis": 1, "keepdims": True}, name="two-zeros-in-a-row"),
        Sample((two,), {"axis": 0}, name="zeros-axis0"),
        Sample((three,), {"axis": 1}, name="row-of-zeros"),
    ]


def _ties(rng: np.random.Generator) -> list[Sample]:
    # Two-way ties only: central differences then give the shared 1/2 exactly.
    a = np.array([[0.3, 1.2, 1.2], [-0.5, 0.9, -0.1]])
    b = np.array([[-0.7, -0.7, 0.4], [0.2, 0.8, 0.8]])
    return [
        Sample((a,), {}, name="tie-all"),
        Sample((a,), {"axis": 1}, name="tie-axis1"),
        Sample((b,), {"axis": 1, "keepdims": True}, name="tie-min-axis1"),
    ]


def _var(rng: np.random.Generator) -> list[Sample]:
    out = []
    # Not over a size-1 axis here: with ddof=1, n - ddof = 0 there (nan); _single covers ddof=0.
    for shape, kw in AXIS_CASES[1:-1]:
        for ddof in (0, 1):
            x = uniform(rng, shape, -2, 2)
            out.append(Sample((x,), dict(kw, ddof=ddof), name=f"{shape}-{kw}-ddof{ddof}"))
    return out


def _single(rng: np.random.Generator) -> list[Sample]:
    # Groups of one entry, ddof=0: var and std are identically 0, every derivative is 0.
    cases = [((1,), {}), ((), {}), ((3, 1), {"axis": 1}), ((1, 4), {"axis": 0, "keepdims": True}),
             ((2, 1, 1), {"axis": (1, 2)})]  # fmt: skip
    return [Sample((uniform(rng, shape, -2, 2),), dict(kw), name=f"{shape}-{kw}") for shape, kw in cases]


def _zero_row(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (3, 3), -1, 1)
    x[1] = 0.0
    return [Sample((x,), {"axis": 1}, name="zero-row"), Sample((x,), {"axis": 1, "keepdims": True}, name="zero-row-keep")]


def _scans(rng: np.random.Generator) -> list[Sample]:
    out = []
    for shape, axis in [((), None), ((5,), None), ((5,), 0), ((3, 4), 0), ((3, 4), -1), ((2, 3, 2), 1), ((2, 3), None)]:
        x = uniform(rng, shape, 0.5, 1.5) * rng.choice([-1.0, 1.0], size=shape)
        out.append(Sample((x,), {"axis": axis}, name=f"{shape}-axis{axis}"))
    return out


def _scan_zeros(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (3, 4), 0.5, 1.5) * rng.choice([-1.0, 1.0], size=(3, 4))
    x[0, 1] = 0.0
    x[2, 0] = x[2, 2] = 0.0
    return [Sample((x,), {"axis": 1}, name="zeros-axis1"), Sample((x,), {"axis": 0}, name="zeros-axis0"),
            Sample((x[1:],), {"axis": None}, name="zeros-flat")]  # fmt: skip


def _np_prod_others(x):
    out = np.empty_like(x)
    for i in range(x.shape[-1]):
        out[..., i] = np.prod(np.delete(x, i, axis=-1), axis=-1)
    return out


def _prod_others_samples(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (2, 4), 0.5, 1.5)
    y = x.copy()
    y[0, 1] = 0.0
    y[1, 0] = y[1, 3] = 0.0
    return [Sample((x,), name="no-zeros"), Sample((y,), name="zeros"),
            Sample((np.array([0.0, 1.3, 0.0]),), name="two-zeros")]  # fmt: skip


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_norm(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _big(rng: np.random.Generator) -> list[Sample]:
    x = uniform(rng, (2, 3), -1, 1) + 800.0
    return [Sample((x,), {"axis": 1}, name="large-values")]


def _method(name: str):
    return lambda x, **kw: getattr(x, name)(**kw)


E = OpInfo
ENTRIES = [
    E("mean", cr.mean, np.mean, _reductions(), ("mean",)),
    E("mean_method", _method("mean"), np.mean, _reductions(cases=AXIS_CASES[3:5]), ("mean",)),
    E("prod", cr.prod, np.prod, _reductions(0.5, 1.5, signs=True), ("prod", "prod_others")),
    E("prod_zeros", cr.prod, np.prod, _with_zeros, ("prod", "prod_others")),
    E("prod_method", _method("prod"), np.prod, _reductions(0.5, 1.5, cases=AXIS_CASES[3:5]), ("prod",)),
    E("prod_others", lambda x: ensure_tensor(prod_others_p(x)), _np_prod_others, _prod_others_samples,
      ("prod_others",)),
    # Distinct values keep max/min away from ties for the second-order checks.
    E("max", cr.max, np.max, _reductions(), ("max",)),
    E("min", cr.min, np.min, _reductions(), ("min",)),
    E("amax_method", _method("max"), np.max, _reductions(cases=AXIS_CASES[2:6]), ("max",)),
    E("amin_method", _method("min"), np.min, _reductions(cases=AXIS_CASES[2:6]), ("min",)),
    # Ties: the gradient is shared evenly (PyTorch's amax); not differentiable twice there.
    E("max_ties", cr.max, np.max, _ties, ("max",), second_order=False),
    E("min_ties", cr.min, np.min, _ties, ("min",), second_order=False),
    E("var", cr.var, np.var, _var, ("var", "mean")),
    E("var_method", _method("var"), np.var, _var, ("var",)),
    E("std", cr.std, np.std, _var, ("var", "sqrt")),
    E("std_method", _method("std"), np.std, _var, ("var", "sqrt")),
    E("var_single", cr.var, np.var, _single, ("var",)),
    E("std_single", cr.std, np.std, _single, ("var",)),
    E("logsumexp", cr.logsumexp, _np_logsumexp, _reductions(), ("logsumexp",)),
    E("logsumexp_large", cr.logsumexp, _np_logsumexp, _big, ("logsumexp",)),
    E("logsumexp_method", _method("logsumexp"), _np_logsumexp, _reductions(cases=AXIS_CASES[3:6]),
      ("logsumexp",)),
    E("norm", cr.norm, _np_norm, _reductions(), ("norm",)),
    E("norm_method", _method("norm"), _np_norm, _reductions(cases=AXIS_CASES[2:5]), ("norm",)),
    E("norm_fro", lambda x: cr.norm(x, "fro"), lambda x: np.linalg.norm(x, "fro"),
      _reductions(cases=[((3, 4), {})]), ("norm",)),
    # Central differences of |x| at 0 are 0, PyTorch's convention for the gradient at zero.
    E("norm_zero_vector", cr.norm, _np_norm, _zero_row, ("norm",), second_order=False),
    E("norm_ord1", lambda x, **kw: cr.norm(x, 1, **kw),
      lambda x, **kw: np.sum(np.abs(x), **kw), _reductions(0.2, 2.0, signs=True), ("norm", "abs", "sum")),
    E("norm_ord_inf", lambda x, **kw: cr.norm(x, np.inf, **kw),
      lambda x, **kw: np.max(np.abs(x), **kw), _reductions(0.2, 2.0, signs=True), ("abs", "max")),
    E("cumsum", cr.cumsum, np.cumsum, _scans, ("cumsum", "flip")),
    E("cumsum_method", _method("cumsum"), np.cumsum, _scans, ("cumsum",)),
    E("cumprod", cr.cumprod, np.cumprod, _scans, ("cumprod", "cumsum", "flip")),
    E("cumprod_zeros", cr.cumprod, np.cumprod, _scan_zeros, ("cumprod",)),
    E("cumprod_method", _method("cumprod"), np.cumprod, _scans, ("cumprod",)),
]
