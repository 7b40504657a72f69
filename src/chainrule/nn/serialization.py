"""Saving and loading state (models, optimizers, nested dicts of them) as ``.npz`` files.

The format is NumPy's zip of ``.npy`` arrays, one per entry; nested dictionaries are flattened
with ``/`` in the names (``optimizer/state/0/exp_avg``). ``None`` values and empty dictionaries
are not stored; a list of dictionaries comes back as a dictionary keyed "0", "1"...

Loading never unpickles and is bounded: the ``.npy`` headers are parsed as literals, each
array's declared shape and dtype are checked against the zip member's size and against
``max_bytes`` (:data:`DEFAULT_MAX_BYTES`, 2 GiB, by default) before anything is allocated or
inflated, and every array is read (and its CRC checked) before anything is returned. A damaged,
foreign or oversized file raises :class:`StateFileError` saying which file and what is wrong.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, overload

import numpy as np
from numpy.lib import format as npformat

from chainrule._files import GIB, open_regular_file, read_into
from chainrule.core.tensor import Tensor

__all__ = ["save", "load", "StateFileError", "FORMAT", "DEFAULT_MAX_BYTES"]

#: Stored under the key ``__chainrule__`` in every file :func:`save` writes.
FORMAT = "chainrule-state-1"
_HEADER = "__chainrule__"

#: How many bytes of arrays :func:`load` reads from one file unless given ``max_bytes=``.
DEFAULT_MAX_BYTES = 2 * GIB

# NumPy writes headers of a few hundred bytes; its own reader refuses more than 10,000.
_MAX_HEADER_BYTES = 10_000


class StateFileError(ValueError):
    """A state file that cannot be read: damaged, not an ``.npz`` file, holding objects, larger
    than the limit, or not a regular file.

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
    try:
        array = obj._data if isinstance(obj, Tensor) else np.asarray(obj)
    except ValueError as exc:
        if "inhomogeneous" not in str(exc):
            raise
        raise TypeError(
            f"save: entry {prefix!r} is a list whose items have different shapes, so it is not one "
            "array; store the items under their own keys (a dict) instead"
        ) from None
    if array.dtype.kind == "U" and isinstance(obj, (list, tuple)) and not _all_strings(obj):
        # NumPy would turn [1, "a"] into the strings ["1", "a"]: a silent change of type.
        raise TypeError(
            f"save: entry {prefix!r} mixes strings with other values; it would come back as all "
            "strings, so store them under separate keys"
        )
    if array.dtype.kind not in "fiubU":
        raise TypeError(
            f"save: entry {prefix!r} has dtype {array.dtype}; only numeric, bool and string arrays "
            "can be saved (objects would need pickle)"
        )
    out[prefix] = np.array(array)


def _all_strings(items: Any) -> bool:
    if isinstance(items, (list, tuple)):
        return all(_all_strings(item) for item in items)
    return isinstance(items, str)


@overload
def save(obj: Any, path: str | os.PathLike[str]) -> Path: ...


@overload
def save(obj: Any, path: IO[bytes]) -> None: ...


def save(obj: Any, path: str | os.PathLike[str] | IO[bytes]) -> Path | None:
    """Write ``obj`` (a Module, an optimizer, or a possibly nested dict of those, of arrays,
    numbers and strings) to ``path`` as ``.npz`` (the suffix is added when missing). Returns the
    path written. ``path`` may also be a binary file object open for writing (``io.BytesIO``,
    an open file); then nothing is returned.

    A file is written next to its destination and renamed into place, so an interrupted save
    never leaves a half-written file under the final name.

    >>> import io, tempfile, os
    >>> from chainrule import nn
    >>> model = nn.Linear(2, 1, generator=0)
    >>> path = nn.save(model, os.path.join(tempfile.mkdtemp(), "linear"))
    >>> path.name
    'linear.npz'
    >>> sorted(nn.load(path))
    ['bias', 'weight']
    >>> buffer = io.BytesIO()
    >>> nn.save({"step": 5}, buffer)
    >>> _ = buffer.seek(0)
    >>> nn.load(buffer)
    {'step': array(5)}
    """
    arrays: dict[str, np.ndarray] = {}
    _flatten(obj, "", arrays)  # before touching the file system: a bad entry writes nothing
    if hasattr(path, "write"):
        np.savez(path, **{_HEADER: np.array(FORMAT)}, **arrays)
        return None
    target = Path(os.fspath(path))  # type: ignore[arg-type]
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


class _Counted:
    """A read-only stream that counts the bytes read through it (zip member streams cannot
    always tell their position)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        return data


def _read_exactly(stream: _Counted, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def _npy_header(stream: _Counted, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from the ``.npy`` header at the start of ``stream``.

    The header's length is checked before the header is read, so a member that announces a
    gigabyte of header costs nothing; numpy's public helpers then parse it (as literals only).
    """
    magic = _read_exactly(stream, npformat.MAGIC_LEN)
    if magic is None:
        raise StateFileError(f"{where} is too short to be a .npy array")
    try:
        version = npformat.read_magic(io.BytesIO(magic))
    except ValueError:
        raise StateFileError(f"{where} is not a .npy array (it does not start with the .npy magic string)") from None
    if version == (1, 0):
        length_format, parse = "<H", npformat.read_array_header_1_0
    elif version in ((2, 0), (3, 0)):
        # 3.0 differs from 2.0 only in encoding field names of structured dtypes as UTF-8.
        length_format, parse = "<I", npformat.read_array_header_2_0
    else:
        raise StateFileError(f"{where} is a .npy array of format version {version}, which this NumPy does not know")
    length_bytes = _read_exactly(stream, struct.calcsize(length_format))
    if length_bytes is None:
        raise StateFileError(f"{where}: its .npy header is cut short")
    (length,) = struct.unpack(length_format, length_bytes)
    if length > _MAX_HEADER_BYTES:
        raise StateFileError(
            f"{where}: its .npy header claims to be {length} bytes long; real headers are well under "
            f"{_MAX_HEADER_BYTES} bytes, so the member is damaged or hostile"
        )
    header = _read_exactly(stream, length)
    if header is None:
        raise StateFileError(f"{where}: its .npy header is cut short")
    try:
        shape, fortran_order, dtype = parse(io.BytesIO(length_bytes + header), max_header_size=_MAX_HEADER_BYTES)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StateFileError(f"{where}: its .npy header is malformed ({reason})") from None
    if any(size < 0 for size in shape):
        raise StateFileError(f"{where}: its .npy header declares the negative shape {shape}")
    return tuple(shape), bool(fortran_order), dtype


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, budget: int) -> np.ndarray:
    with archive.open(info) as raw:
        stream = _Counted(raw)
        shape, fortran_order, dtype = _npy_header(stream, where)
        if dtype.hasobject:
            raise StateFileError(
                f"{where} contains pickled Python objects (dtype {dtype}), which chainrule refuses to "
                "load (unpickling could run code)"
            )
        count = 1
        for size in shape:  # Python ints: a hostile shape cannot overflow
            count *= size
        declared = count * dtype.itemsize
        if declared > budget:
            raise StateFileError(
                f"{where}: its header declares shape {shape} of {dtype} ({declared:,} bytes), more than "
                f"the {budget:,} bytes left under max_bytes; pass a larger max_bytes= if you trust the file"
            )
        if stream.count + declared != info.file_size:
            raise StateFileError(
                f"{where}: its header declares shape {shape} of {dtype} ({declared:,} bytes of data) but "
                f"the member holds {info.file_size - stream.count:,} bytes after the header; the file is "
                "damaged or was not written by NumPy"
            )
        try:
            # Fortran-ordered data is the transpose of a C-ordered array of the reversed shape.
            array = np.empty(shape[::-1] if fortran_order else shape, dtype)
        except (ValueError, TypeError, MemoryError) as exc:
            raise StateFileError(f"{where}: cannot hold shape {shape} of {dtype} ({exc})") from None
        got = read_into(stream, array)
        if got != declared:
            raise StateFileError(f"{where}: the data ends after {got:,} of {declared:,} bytes")
        if stream.read(1):  # reaching the end is also what makes zipfile check the CRC
            raise StateFileError(f"{where}: more data follows the array its header declares")
    if fortran_order:
        array = array.T
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def _is_pytorch_checkpoint(names: list[str]) -> bool:
    return any(name == "data.pkl" or name.endswith("/data.pkl") for name in names)


_CONVERT = (
    "Convert it once, in PyTorch: `state = torch.load(path, weights_only=True)` then "
    "`numpy.savez('weights.npz', **{k: v.numpy() for k, v in state.items()})`, and load that"
)


def _read_archive(handle: IO[bytes], source: str, max_bytes: int) -> dict[str, np.ndarray]:
    start = handle.tell()
    head = handle.read(6)
    if head.startswith(b"\x93NUMPY"):
        raise StateFileError(f"cannot load {source}: it holds a single .npy array, not a chainrule .npz state file")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise StateFileError(
            f"cannot load {source}: it is a Python pickle (a PyTorch checkpoint in the legacy format?), "
            f"which chainrule does not read because unpickling can run code. {_CONVERT}"
        )
    if not head.startswith(b"PK"):
        raise StateFileError(
            f"cannot load {source}: not a valid chainrule .npz state file: the file is not an .npz "
            "archive (it does not start with a zip header)"
        )
    handle.seek(start)
    prefix = f"cannot load {source}: not a valid chainrule .npz state file:"
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if _is_pytorch_checkpoint(names):
                raise StateFileError(
                    f"cannot load {source}: it is a PyTorch checkpoint (a zip holding pickled Python objects "
                    f"in data.pkl), which chainrule does not read because unpickling can run code. {_CONVERT}"
                )
            foreign = [name for name in names if not name.endswith(".npy")]
            if foreign:
                raise StateFileError(
                    f"{prefix} it holds {foreign[0]!r}, which is not a .npy array (an .npz state file holds "
                    "only NumPy .npy arrays)"
                )
            if len(set(names)) != len(names):
                twice = next(name for name in names if names.count(name) > 1)
                raise StateFileError(f"{prefix} the member {twice!r} appears more than once")
            total = sum(info.file_size for info in infos)
            if total > max_bytes:
                raise StateFileError(
                    f"cannot load {source}: its arrays take {total:,} bytes uncompressed, more than "
                    f"max_bytes={max_bytes:,}; pass a larger max_bytes= if you trust the file"
                )
            arrays: dict[str, np.ndarray] = {}
            budget = max_bytes
            for info in infos:
                if info.flag_bits & 0x1:
                    raise StateFileError(f"{prefix} the member {info.filename!r} is encrypted")
                where = f"cannot load {source}: the member {info.filename!r}"
                array = _read_member(archive, info, where, budget)
                budget -= array.nbytes
                arrays[info.filename[: -len(".npy")]] = array
            return arrays
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise StateFileError(f"{prefix} its contents are damaged ({exc})") from None
        raise StateFileError(f"{prefix} the file is not a valid .npz (zip) archive ({exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, ValueError, struct.error, zlib.error) as exc:
        if isinstance(exc, StateFileError):
            raise
        raise StateFileError(
            f"{prefix} the file is not a valid .npz (zip) archive ({type(exc).__name__}: {exc})"
        ) from None


def load(path: str | os.PathLike[str] | IO[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Read a file written by :func:`save` into a (possibly nested) dict of NumPy arrays.

    ``path`` is a path or a binary file object open for reading that supports ``seek`` (such as
    ``io.BytesIO``). Pass the result (or the part for one object) to ``Module.load_state_dict``
    or ``Optimizer.load_state_dict``, which check names and shapes.

    Loading is bounded and never runs code. Each array's shape and dtype are read from its
    ``.npy`` header and checked against the zip member's uncompressed size and against
    ``max_bytes`` (2 GiB in all by default; raise it for larger files you trust) before any
    memory is allocated or data inflated. Refused with :class:`StateFileError`, naming the
    file: anything that is not a zip of ``.npy`` arrays (PyTorch's own checkpoints, with their
    pickled ``data.pkl``, get a note on converting them), arrays of Python objects, damaged or
    truncated archives, and arrays larger than ``max_bytes``. A path that is not a regular
    file (a FIFO, a device) is refused without waiting on it; a directory raises
    ``IsADirectoryError``.

    >>> import tempfile, os
    >>> import numpy as np
    >>> from chainrule import nn
    >>> path = nn.save({"model": {"w": np.ones(2)}, "epoch": 3}, os.path.join(tempfile.mkdtemp(), "ckpt.npz"))
    >>> state = nn.load(path)
    >>> state["model"]["w"], int(state["epoch"])
    (array([1., 1.]), 3)
    >>> try:
    ...     nn.load(path, max_bytes=8)
    ... except nn.StateFileError as error:
    ...     print("more than max_bytes=8" in str(error))
    True
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ValueError(f"load: max_bytes must be a number of bytes >= 0, got {max_bytes!r}")
    max_bytes = int(max_bytes)
    if hasattr(path, "read"):
        source = str(getattr(path, "name", None) or f"<{type(path).__name__}>")
        seekable = getattr(path, "seekable", None)
        if not callable(getattr(path, "seek", None)) or (callable(seekable) and not seekable()):
            raise StateFileError(
                f"cannot load {source}: the file object cannot seek, which reading a zip archive needs; "
                "read it into io.BytesIO first"
            )
        arrays = _read_archive(path, source, max_bytes)  # type: ignore[arg-type]
    else:
        target = Path(os.fspath(path))  # type: ignore[arg-type]
        source = str(target)
        if target.is_dir():
            raise IsADirectoryError(f"load: {target} is a directory; pass the .npz file inside it")
        handle, _ = open_regular_file(target, "load", StateFileError)
        with handle:
            arrays = _read_archive(handle, source, max_bytes)
    header = arrays.pop(_HEADER, None)
    if header is not None and (header.dtype.kind != "U" or str(header) != FORMAT):
        raise StateFileError(
            f"cannot load {source}: unknown format marker {str(header)!r} (this chainrule reads {FORMAT!r})"
        )
    return _unflatten(arrays)
