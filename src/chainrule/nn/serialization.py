"""Saving and loading state (models, optimizers, nested dicts of them) as ``.npz`` files.

The format is NumPy's zip of ``.npy`` arrays, one per entry; nested dictionaries are flattened
with ``/`` in the names (``optimizer/state/0/exp_avg``). Loading uses ``allow_pickle=False``: a
file can only hold plain numeric, bool or string arrays, so loading never runs code. Every
array is read (and its CRC checked) before anything is returned, and a damaged or foreign file
raises :class:`StateFileError` that says which file and what is wrong. ``None`` values and empty
dictionaries are not stored; a list of dictionaries comes back as a dictionary keyed "0", "1"...
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["save", "load", "StateFileError", "FORMAT"]

#: Stored under the key ``__chainrule__`` in every file :func:`save` writes.
FORMAT = "chainrule-state-1"
_HEADER = "__chainrule__"


class StateFileError(ValueError):
    """A state file that cannot be read: damaged, not an ``.npz`` file, or holding objects.

    >>> import os, tempfile
    >>> from chainrule import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.npz")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not weights")
    >>> try:
    ...     nn.load(path)
    ... except nn.StateFileError as error:
    ...     print("not an .npz archive" in str(error))
    True
    """


def _flatten(obj: Any, prefix: str, out: dict[str, np.ndarray]) -> None:
    if hasattr(obj, "state_dict") and callable(obj.state_dict) and not isinstance(obj, Mapping):
        obj = obj.state_dict()
    if isinstance(obj, (list, tuple)) and any(isinstance(item, Mapping) for item in obj):
        # A list of groups (an optimizer's param_groups) is stored as a group named 0, 1, ...
        obj = {str(i): item for i, item in enumerate(obj)}
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if not isinstance(key, (str, int, np.integer)) or isinstance(key, bool):
                raise TypeError(f"save: keys must be strings or integers, got {key!r} at {prefix or 'top level'}")
            name = str(key)
            if not name or "/" in name or name == _HEADER:
                raise ValueError(f"save: invalid key {name!r} at {prefix or 'top level'} (empty, contains '/' or reserved)")
            _flatten(value, f"{prefix}/{name}" if prefix else name, out)
        return
    if obj is None:
        return
    if not prefix:
        raise TypeError(
            f"save: expected a Module, an optimizer or a dict of arrays, got {type(obj).__name__}"
        )
    array = obj._data if isinstance(obj, Tensor) else np.asarray(obj)
    if array.dtype.kind not in "fiubU":
        raise TypeError(
            f"save: entry {prefix!r} has dtype {array.dtype}; only numeric, bool and string arrays "
            "can be saved (objects would need pickle)"
        )
    out[prefix] = np.array(array)


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` (a Module, an optimizer, or a possibly nested dict of those and of arrays)
    to ``path`` as ``.npz`` (the suffix is added when missing). Returns the path written.

    The file is written next to its destination and renamed into place, so an interrupted save
    never leaves a half-written file under the final name.

    >>> import tempfile, os
    >>> from chainrule import nn
    >>> model = nn.Linear(2, 1, generator=0)
    >>> path = nn.save(model, os.path.join(tempfile.mkdtemp(), "linear"))
    >>> path.name
    'linear.npz'
    >>> sorted(nn.load(path))
    ['bias', 'weight']
    """
    arrays: dict[str, np.ndarray] = {}
    _flatten(obj, "", arrays)
    target = Path(path)
    if target.suffix != ".npz":
        target = target.with_name(target.name + ".npz")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **{_HEADER: np.array(FORMAT)}, **arrays)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def _unflatten(arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in arrays.items():
        parts = key.split("/")
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise StateFileError(f"entry {key!r} clashes with an array stored under {part!r}")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise StateFileError(f"entry {key!r} clashes with a group of the same name")
        node[parts[-1]] = value
    return root


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by :func:`save` into a (possibly nested) dict of NumPy arrays.

    Pass the result (or the part for one object) to ``Module.load_state_dict`` or
    ``Optimizer.load_state_dict``, which check names and shapes.

    >>> import tempfile, os
    >>> import numpy as np
    >>> from chainrule import nn
    >>> path = nn.save({"model": {"w": np.ones(2)}, "epoch": 3}, os.path.join(tempfile.mkdtemp(), "ckpt.npz"))
    >>> state = nn.load(path)
    >>> state["model"]["w"], int(state["epoch"])
    (array([1., 1.]), 3)
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"load: no such file: {source}")
    if source.is_dir():
        raise IsADirectoryError(f"load: {source} is a directory; pass the .npz file inside it")
    with open(source, "rb") as handle:
        magic = handle.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise StateFileError(
            f"cannot load {source}: it holds a single .npy array, not a chainrule .npz state file"
        )
    if not magic.startswith(b"PK"):
        raise StateFileError(
            f"cannot load {source}: not a valid chainrule .npz state file: the file is not an .npz "
            "archive (it does not start with a zip header)"
        )
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError) as exc:
        reason = str(exc)
        if "pickle" in reason.lower() or "object" in reason.lower():
            # NumPy's own message suggests loading unsafely; chainrule never does.
            reason = "it contains pickled Python objects, which chainrule refuses to load (that could run code)"
        elif "CRC" in reason:
            reason = f"its contents are damaged ({exc})"
        raise StateFileError(
            f"cannot load {source}: not a valid chainrule .npz state file: {reason}"
        ) from None
    header = arrays.pop(_HEADER, None)
    if header is not None and (header.dtype.kind != "U" or str(header) != FORMAT):
        raise StateFileError(
            f"cannot load {source}: unknown format marker {str(header)!r} (this chainrule reads {FORMAT!r})"
        )
    return _unflatten(arrays)
