"""``chainrule.numpy.fft``: NumPy's ``fft`` names over chainrule's ``fft`` module, when it has them.

The rule of :mod:`chainrule.numpy._resolve`, with ``numpy.fft`` as the reference: NumPy-signature
handlers first, then ``chainrule.fft.X`` (when that module exists). A name chainrule lacks raises
``AttributeError: chainrule.numpy.fft has no X yet``.

>>> import chainrule.numpy as np
>>> hasattr(np.fft, "no_such_transform")
False
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as _numpy

from chainrule.numpy._resolve import resolve as _resolve

__all__: list[str] = []


def _spaces() -> list[Any]:
    try:
        return [importlib.import_module("chainrule.fft")]
    except ImportError:
        return []


def __getattr__(name: str) -> Any:
    value = _resolve(name, _numpy.fft, _spaces(), "chainrule.numpy.fft")
    if not name.startswith("__"):
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    names = {n for n in globals() if not n.startswith("_") and n not in ("Any", "annotations")}
    for name in dir(_numpy.fft):
        if not name.startswith("_") and name not in names:
            try:
                __getattr__(name)
            except AttributeError:
                continue
            names.add(name)
    return sorted(names)
