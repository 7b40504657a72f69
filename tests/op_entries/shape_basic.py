"""Entries for reshape, broadcast_to, sum_to, transpose, astype and sum."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import fixed, uniform


def _s(shape, **kw):
    return lambda rng: [Sample((uniform(rng, shape, -1, 1),), kw, name=str(shape))]


ENTRIES = [
    OpInfo("reshape", lambda x: cr.reshape(x, (3, -1)), lambda x: np.reshape(x, (3, -1)),
           _s((2, 3, 2)), ("reshape",)),
    OpInfo("broadcast_to", lambda x: cr.broadcast_to(x, (4, 3, 2)), lambda x: np.broadcast_to(x, (4, 3, 2)),
           _s((3, 1)), ("broadcast_to",)),
    OpInfo("sum_to", lambda x: cr.sum_to(x, (3, 1)), lambda x: x.sum(0).sum(-1, keepdims=True),
           _s((4, 3, 2)), ("sum_to",)),
    OpInfo("transpose", lambda x: cr.transpose(x, (2, 0, 1)), lambda x: np.transpose(x, (2, 0, 1)),
           _s((2, 3, 4)), ("transpose",)),
    OpInfo("transpose_default", lambda x: x.T, lambda x: x.T, _s((2, 3)), ("transpose",)),
    OpInfo("astype", lambda x: cr.astype(x, "float32").astype("float64"), lambda x: x.astype(np.float32).astype(np.float64),
           fixed(Sample((np.array([0.5, 1.25, -2.0]),), name="exact")), ("astype",),
           # float32 rounding makes central differences at eps=1e-6 accurate only to ~2%.
           atol=5e-2, rtol=5e-2),
    OpInfo("sum_all", lambda x: cr.sum(x), np.sum, _s((3, 4)), ("sum",)),
    OpInfo("sum_axis", lambda x: cr.sum(x, axis=1), lambda x: np.sum(x, axis=1), _s((2, 3, 4)), ("sum",)),
    OpInfo("sum_axes_keepdims", lambda x: cr.sum(x, axis=(0, 2), keepdims=True),
           lambda x: np.sum(x, axis=(0, 2), keepdims=True), _s((2, 3, 4)), ("sum",)),
    OpInfo("sum_scalar", lambda x: cr.sum(x), np.sum, _s(()), ("sum",)),
]
