"""Opening files that loaders read: regular files only, never blocking, read in bounded chunks.

Shared by ``chainrule.nn.load`` (``.npz`` state files) and ``chainrule.data.read_idx`` (IDX
files). A FIFO or a device would make ``open`` or ``read`` wait forever or produce endless data,
so both are refused before anything is read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["GIB", "open_regular_file", "read_into", "describe_mode"]

GIB = 1024**3

# Reads go through temporary bytes objects of at most this size (zip and gzip streams have no
# zero-copy readinto), so a large array costs its own memory plus one chunk.
_CHUNK = 1 << 20


def describe_mode(mode: int) -> str:
    """What kind of file system entry ``mode`` (an ``os.stat`` result's ``st_mode``) is.

    >>> import os, stat
    >>> describe_mode(stat.S_IFIFO | 0o600)
    'a FIFO (named pipe)'
    """
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular_file(path: Path, op: str, error: type[Exception]) -> tuple[IO[bytes], int]:
    """Open ``path`` for binary reading if it is a regular file; return the handle and its size.

    A missing path raises ``FileNotFoundError``; anything else that is not a regular file (a
    directory, a FIFO, a device) raises ``error`` with a message starting with ``op``. The file
    is opened with ``O_NONBLOCK`` and checked again after opening, so a path swapped for a FIFO
    between the two checks cannot make the call wait.

    >>> import tempfile
    >>> from pathlib import Path
    >>> handle, size = open_regular_file(Path(tempfile.mkdtemp()), "demo", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: demo: ... is a directory, not a file
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: no such file: {path}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{op}: {path} is {describe_mode(info.st_mode)}, not a file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{op}: {path} is {describe_mode(info.st_mode)}, not a file")
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return handle, info.st_size


def read_into(stream: Any, array: np.ndarray) -> int:
    """Fill the C-contiguous ``array`` with bytes read from ``stream``; return how many bytes
    were read (fewer than ``array.nbytes`` when the stream ends early).

    >>> import io
    >>> import numpy as np
    >>> out = np.empty(3, np.uint8)
    >>> read_into(io.BytesIO(b"abc"), out), out.tolist()
    (3, [97, 98, 99])
    """
    if array.nbytes == 0:
        return 0
    target = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(target):
        chunk = stream.read(min(_CHUNK, len(target) - done))
        if not chunk:
            break
        target[done : done + len(chunk)] = chunk
        done += len(chunk)
    return done
