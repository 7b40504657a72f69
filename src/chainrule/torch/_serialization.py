"""``torch.save`` and ``torch.load`` on chainrule's state files.

The file format is chainrule's (a NumPy ``.npz`` archive of named arrays, written by
``chainrule.nn.save``), not PyTorch's: state dicts, modules, optimizers and nested dicts of
tensors round-trip; arbitrary Python objects do not (nothing is pickled).

>>> import os, tempfile
>>> from chainrule import torch
>>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
>>> torch.save({"w": torch.tensor([1., 2.])}, path)
>>> torch.load(path)
{'w': tensor([1., 2.])}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn as _native_nn
from chainrule.torch._tensor import wrap

__all__ = ["save", "load"]


def _stored_path(f: Any) -> Path:
    path = Path(os.fspath(f))
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def save(obj: Any, f: Any) -> None:
    """Write ``obj`` (a state dict, a Module, an optimizer, nested dicts of tensors) to ``f``.

    The file is ``f`` itself when it ends in ``.npz``, otherwise ``f`` + ``.npz``; ``load``
    accepts the same name.
    """
    _native_nn.save(obj, _stored_path(f))


def _tensors(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _tensors(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return wrap(cr.tensor(value))
    return value


def load(f: Any, map_location: Any = None, weights_only: Any = None) -> Any:
    """Read a file written by ``save`` into nested dicts of tensors."""
    path = Path(os.fspath(f))
    if not path.exists() and _stored_path(path).exists():
        path = _stored_path(path)
    return _tensors(_native_nn.load(path))
