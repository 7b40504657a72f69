"""Entries for reshape, broadcast_to, sum_to, transpose, astype and sum."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


def _s(shape, **kw):
    return lambda rng: [Sample((uniform(rng, shape, -1, 1),), kw, name=str(shape))]


def _binary_grid(*shapes):
    """Values in [-2, 2) on a 2**-8 grid: exact in float32, and so are x ± 2**-10 and x ± 2**-9."""
    return lambda rng: [Sample((rng.integers(-512, 512, size=s) / 256.0,), name=f"grid{s}") for s in shapes]


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
    # Samples on a 2**-8 grid: with gradcheck's power-of-two step every perturbed input is exact
    # in float32, so the finite differences through the cast are exact (no rounding to forgive).
    OpInfo("astype", lambda x: cr.astype(x, "float32").astype("float64"),
           lambda x: x.astype(np.float32).astype(np.float64), _binary_grid((3,), (2, 3)), ("astype",)),
    # The float32 result itself: its gradient comes back as float64, the input's dtype.
    OpInfo("astype_float32_result", lambda x: cr.astype(x, "float32"), lambda x: x.astype(np.float32),
           _binary_grid((4,), ()), ("astype",)),
    OpInfo("astype_same_dtype", lambda x: cr.astype(x, "float64"), lambda x: x.astype(np.float64),
           _s((3, 2)), ("astype",)),
    OpInfo("sum_all", lambda x: cr.sum(x), np.sum, _s((3, 4)), ("sum",)),
    OpInfo("sum_axis", lambda x: cr.sum(x, axis=1), lambda x: np.sum(x, axis=1), _s((2, 3, 4)), ("sum",)),
    OpInfo("sum_axes_keepdims", lambda x: cr.sum(x, axis=(0, 2), keepdims=True),
           lambda x: np.sum(x, axis=(0, 2), keepdims=True), _s((2, 3, 4)), ("sum",)),
    OpInfo("sum_scalar", lambda x: cr.sum(x), np.sum, _s(()), ("sum",)),
]
