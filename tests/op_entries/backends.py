"""Entry for the move between array libraries (ops/backends.py). The table runs on NumPy (and
on array-api-strict in test_backends_op_db.py), so the entry is the move within the input's own
library (``copy=True``): the primitive ``to_library`` with the same rules as a move across
libraries. Moves across libraries are checked in tests/test_backends_convert.py."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo
from tests.op_entries._samples import unary

ENTRIES = [
    OpInfo("to_library", lambda x: cr.asarray(x, copy=True), lambda x: np.array(x, copy=True), unary(),
           ("to_library",)),  # fmt: skip
]
