"""``torch.save`` and ``torch.load`` on chainrule's state files.

The file format is chainrule's (a NumPy ``.npz`` archive of named arrays, written by
``chainrule.nn.save``), not PyTorch's: state dicts, modules, optimizers and nested dicts of
tensors, numbers and strings round-trip; arbitrary Python objects do not (nothing is pickled).
Both functions take a path or a binary file object such as ``io.BytesIO``, as PyTorch's do.

>>> import os, tempfile
>>> from chainrule import torch
>>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
>>> torch.save({"w": torch.tensor([1., 2.]), "name": "mlp"}, path)
>>> torch.load(path)
{'w': tensor([1., 2.]), 'name': 'mlp'}
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


def _is_file_object(f: Any) -> bool:
    return hasattr(f, "read") or hasattr(f, "write")


def save(obj: Any, f: Any) -> None:
    """Write ``obj`` (a state dict, a Module, an optimizer, nested dicts of tensors, numbers and
    strings) to ``f``, a path or a binary file object open for writing.

    A path gets the ``.npz`` suffix unless it has one; ``load`` accepts the same name. Numbers
    come back from ``load`` as 0-d tensors and lists of dicts as dicts keyed ``"0"``, ``"1"``...

    >>> import io
    >>> from chainrule import torch
    >>> buffer = io.BytesIO()
    >>> torch.save({"epoch": 3, "w": torch.ones(2)}, buffer)
    >>> _ = buffer.seek(0)
    >>> torch.load(buffer)
    {'epoch': tensor(3), 'w': tensor([1., 1.])}
    """
    if _is_file_object(f):
        if not hasattr(f, "write"):
            raise TypeError(f"save: the file object {type(f).__name__} has no write method; open it for writing")
        _native_nn.save(obj, f)
        return
    _native_nn.save(obj, _stored_path(f))


def _as_tensor(array: np.ndarray) -> Any:
    # A tensor around the freshly read array without copying it: built from an empty array of
    # the same dtype (which runs the constructor's checks), then given the loaded data.
    out = cr.tensor(np.empty(0, array.dtype))
    out._data = array
    return wrap(out)


def _from_file(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _from_file(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U":  # strings saved by `save` come back as Python strings
            return str(value) if value.ndim == 0 else value.tolist()
        if value.dtype.kind not in "fiub":
            raise TypeError(
                f"load: the file holds a {value.dtype} array, which a tensor cannot hold; read it with "
                "chainrule.nn.load to get the NumPy arrays"
            )
        return _as_tensor(value)
    return value


def load(f: Any, map_location: Any = None, weights_only: Any = None, *, max_bytes: int | None = None) -> Any:
    """Read a file written by ``save`` (a path, or a binary file object that can seek, such as
    ``io.BytesIO``) into nested dicts of tensors, numbers as 0-d tensors and strings.

    Nothing is unpickled and reading is bounded: arrays totalling more than ``max_bytes``
    (2 GiB unless raised) are refused before they are read, as are PyTorch's own pickle
    checkpoints (the error says how to convert one), damaged archives and paths that are not
    regular files (see ``chainrule.nn.load``). ``map_location`` and ``weights_only`` are
    accepted for compatibility; everything loads onto the CPU and only weights are ever read.

    >>> import os, tempfile
    >>> from chainrule import torch
    >>> path = os.path.join(tempfile.mkdtemp(), "model.pt")
    >>> torch.save({"w": torch.zeros(2)}, path)
    >>> torch.load(path, map_location="cpu")
    {'w': tensor([0., 0.])}
    """
    limit = {} if max_bytes is None else {"max_bytes": max_bytes}
    if _is_file_object(f):
        return _from_file(_native_nn.load(f, **limit))
    path = Path(os.fspath(f))
    if not path.exists() and _stored_path(path).exists():
        path = _stored_path(path)
    return _from_file(_native_nn.load(path, **limit))
