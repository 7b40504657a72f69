"""``chainrule.numpy.random``: NumPy's random module, as HIPS autograd's ``autograd.numpy.random``.

Random draws are constants to differentiation, so every name is NumPy's own
(``numpy.random.randn``, ``seed``, ``RandomState``, ``default_rng``...): results are plain NumPy
arrays and ``seed`` sets NumPy's global generator. For draws that are chainrule tensors, or
reparameterised samples, use :mod:`chainrule.random`.

>>> import chainrule.numpy as np
>>> np.random.seed(0)
>>> np.random.randn(2).shape
(2,)
"""

from __future__ import annotations

from typing import Any

import numpy.random as _random

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    return getattr(_random, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | {n for n in dir(_random) if not n.startswith("_")})
