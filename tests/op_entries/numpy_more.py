"""Entries for NumPy's further functions (issue 17): elementwise, shape, sorting and products."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import binary, fixed, unary, uniform

E = OpInfo


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

ENTRIES = ELEMENTWISE
