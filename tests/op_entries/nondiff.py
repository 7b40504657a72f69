"""Entries for the non-differentiable primitives: forward checked, no gradient flows."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo
from tests.op_entries._samples import binary, unary


def _nd(name, op, ref, samples):
    return OpInfo(name, op, ref, samples, (name,), differentiable=False)


ENTRIES = [
    _nd("equal", cr.equal, np.equal, binary()),
    _nd("not_equal", cr.not_equal, np.not_equal, binary()),
    _nd("less", cr.less, np.less, binary()),
    _nd("less_equal", cr.less_equal, np.less_equal, binary()),
    _nd("greater", cr.greater, np.greater, binary()),
    _nd("greater_equal", cr.greater_equal, np.greater_equal, binary()),
    _nd("logical_and", lambda x, y: cr.logical_and(x > 0, y > 0), lambda x, y: np.logical_and(x > 0, y > 0), binary()),
    _nd("logical_or", lambda x, y: cr.logical_or(x > 0, y > 0), lambda x, y: np.logical_or(x > 0, y > 0), binary()),
    _nd("logical_xor", lambda x, y: cr.logical_xor(x > 0, y > 0), lambda x, y: np.logical_xor(x > 0, y > 0), binary()),
    _nd("logical_not", lambda x: cr.logical_not(x > 0), lambda x: np.logical_not(x > 0), unary()),
    _nd("isfinite", cr.isfinite, np.isfinite, unary()),
    _nd("isnan", cr.isnan, np.isnan, unary()),
    _nd("isinf", cr.isinf, np.isinf, unary()),
    _nd("floor_divide", cr.floor_divide, np.floor_divide, binary(0.5, 3.0)),
    _nd("floor", cr.floor, np.floor, unary()),
    _nd("ceil", cr.ceil, np.ceil, unary()),
    _nd("round", cr.round, np.round, unary()),
    _nd("argmax", lambda x: cr.argmax(x, axis=-1) if x.ndim else cr.argmax(x), lambda x: np.argmax(x, axis=-1) if x.ndim else np.argmax(x), unary()),
    _nd("argmin", lambda x: cr.argmin(x, axis=-1) if x.ndim else cr.argmin(x), lambda x: np.argmin(x, axis=-1) if x.ndim else np.argmin(x), unary()),
]
