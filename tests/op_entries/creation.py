"""Entries for the creation functions that can be differentiated: linspace in its start and
stop (a composite of sub, div, mul, add and where; values are NumPy's)."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


def _linspace(rng: np.random.Generator) -> list[Sample]:
    out = []
    for shape, kw in [((), {"num": 5}), ((), {"num": 4, "endpoint": False}), ((), {"num": 1}),
                      ((), {"num": 1, "endpoint": False}), ((), {"num": 2}), ((3,), {"num": 4})]:  # fmt: skip
        start, stop = uniform(rng, shape, -2, 0), uniform(rng, shape, 0.5, 2)
        out.append(Sample((start, stop), kw, name=f"{shape}-{kw}"))
    return out


ENTRIES = [
    OpInfo("linspace", cr.linspace, np.linspace, _linspace, ("sub", "div", "mul", "add", "where")),
]
