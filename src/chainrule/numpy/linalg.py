"""``chainrule.numpy.linalg``: NumPy's ``linalg`` names over chainrule's linear algebra.

The rule of :mod:`chainrule.numpy._resolve`, with ``numpy.linalg`` as the reference: NumPy-
signature handlers first (``norm`` with ``ord``/``axis``), then ``chainrule.linalg.X`` (when that
module exists), then the native ``chainrule.X`` (``inv``, ``det``, ``solve``, ``cholesky``,
``slogdet``...). A name chainrule lacks raises ``AttributeError: ... has no X yet``.

>>> import chainrule.numpy as np
>>> np.linalg.det(np.eye(3) * 2.0)
tensor(8., dtype=float64)
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as _numpy

from chainrule.numpy._resolve import resolve as _resolve

__all__: list[str] = []


def _spaces() -> list[Any]:
    import chainrule

    spaces = []
    try:
        spaces.append(importlib.import_module("chainrule.linalg"))
    except ImportError:
        pass
    spaces.append(chainrule)
    return spaces


def __getattr__(name: str) -> Any:
    value = _resolve(name, _numpy.linalg, _spaces(), "chainrule.numpy.linalg")
    if not name.startswith("__"):
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    names = {n for n in globals() if not n.startswith("_") and n not in ("Any", "annotations")}
    for name in dir(_numpy.linalg):
        if not name.startswith("_") and name not in names:
            try:
                __getattr__(name)
            except AttributeError:
                continue
            names.add(name)
    return sorted(names)
