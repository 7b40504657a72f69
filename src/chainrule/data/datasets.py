"""Built-in data sets: scikit-learn's bundled 8×8 digits, and MNIST from local IDX files.

Nothing here downloads anything. ``load_digits`` reads the copy of the UCI digits that ships
inside scikit-learn (an optional dependency: ``pip install chainrule[train]``); ``load_mnist``
reads the four standard IDX files from a folder you provide.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from chainrule._files import GIB, open_regular_file, read_into

__all__ = ["load_digits", "load_mnist", "read_idx", "write_idx", "MNIST_FILES",
           "IDXFormatError", "DEFAULT_MAX_BYTES"]

#: The four files ``load_mnist`` looks for (each may also end in ``.gz``).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type codes (third byte of the magic number) and their big-endian NumPy dtypes.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in _IDX_TYPES.items()}

#: How many bytes of data :func:`read_idx` and :func:`load_mnist` read from one file unless
#: given ``max_bytes=`` (the MNIST training images take 47 MB).
DEFAULT_MAX_BYTES = 2 * GIB


class IDXFormatError(ValueError):
    """A file that is not a well-formed IDX file (bad magic number, wrong size, larger than the
    limit, not a regular file), or IDX files that do not make an MNIST data set.

    >>> import os, tempfile
    >>> from chainrule import data
    >>> path = os.path.join(tempfile.mkdtemp(), "x")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"nope")
    >>> try:
    ...     data.read_idx(path)
    ... except data.IDXFormatError as error:
    ...     print("not an IDX file" in str(error))
    True
    """


def load_digits(flatten: bool = False, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 8×8 handwritten digits bundled with scikit-learn.

    Returns ``(images, labels)``: images as ``dtype`` scaled to [0, 1], shape (1797, 8, 8) or
    (1797, 64) with ``flatten``; labels as int64 in 0..9. Split them with
    :func:`chainrule.data.train_test_split`.

    >>> from chainrule import data
    >>> images, labels = data.load_digits()
    >>> images.shape, labels.shape, float(images.max()), int(labels.max())
    ((1797, 8, 8), (1797,), 1.0, 9)
    """
    try:
        from sklearn.datasets import load_digits as _sklearn_digits
    except ImportError as exc:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data set; install the training "
            "extras with `pip install chainrule[train]` (or `pip install scikit-learn`)"
        ) from exc
    bunch = _sklearn_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    images = images.astype(dtype)
    if flatten:
        images = images.reshape(len(images), -1)
    return images, labels


def _gzip_or_plain(handle: IO[bytes]) -> IO[bytes]:
    gzipped = handle.read(2) == b"\x1f\x8b"
    handle.seek(0)
    return gzip.GzipFile(fileobj=handle, mode="rb") if gzipped else handle


def read_idx(path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a NumPy array in native byte order.

    Reading is bounded: the size the header declares (computed with Python integers, so huge
    dimensions cannot overflow) must be at most ``max_bytes`` (2 GiB by default) and, for a
    plain file, match the file's size before anything is read. A gzipped file is inflated as a
    stream that stops one byte past the declared size, so a file that inflates to more (a
    "gzip bomb") is refused without being inflated. Anything wrong raises
    :class:`IDXFormatError` naming the file; a path that is not a regular file (a directory, a
    FIFO) is refused without waiting on it.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from chainrule import data
    >>> path = os.path.join(tempfile.mkdtemp(), "x-idx3-ubyte")
    >>> data.write_idx(path, np.arange(8, dtype=np.uint8).reshape(2, 2, 2))
    >>> data.read_idx(path)[1]
    array([[4, 5],
           [6, 7]], dtype=uint8)
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) or max_bytes < 0:
        raise ValueError(f"read_idx: max_bytes must be a number of bytes >= 0, got {max_bytes!r}")
    source = Path(path)
    handle, file_size = open_regular_file(source, "read_idx", IDXFormatError)
    with handle:
        try:
            stream = _gzip_or_plain(handle)
            return _read_idx_stream(stream, source, file_size if stream is handle else None, int(max_bytes))
        except (OSError, EOFError, zlib.error) as exc:
            raise IDXFormatError(f"{source}: cannot read it as an IDX file ({exc})") from None


def _read_idx_stream(stream: IO[bytes], source: Path, file_size: int | None, max_bytes: int) -> np.ndarray:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
        raise IDXFormatError(
            f"{source}: not an IDX file (the first four bytes should be 0, 0, a type code and the "
            f"number of dimensions; got {magic.hex(' ') or 'nothing'})"
        )
    dtype = _IDX_TYPES[magic[2]]
    ndim = magic[3]
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise IDXFormatError(f"{source}: truncated header (expected {ndim} dimension sizes)")
    shape = struct.unpack(f">{ndim}I", sizes)
    expected = dtype.itemsize
    for size in shape:  # Python ints: 255 dimensions of 2**32 - 1 cannot overflow
        expected *= size
    header = 4 + 4 * ndim
    if expected > max_bytes:
        raise IDXFormatError(
            f"{source}: the header announces shape {shape} ({expected:,} bytes of data), more than "
            f"max_bytes={max_bytes:,}; the file is corrupt, or pass a larger max_bytes= if it is real"
        )
    if file_size is not None and file_size - header != expected:
        raise IDXFormatError(
            f"{source}: the header announces shape {shape} ({expected:,} bytes of data) but the file "
            f"holds {file_size - header:,} bytes after the header; the file is truncated or corrupt"
        )
    try:
        array = np.empty(shape, dtype)
    except (ValueError, MemoryError) as exc:
        raise IDXFormatError(f"{source}: cannot hold shape {shape} of {dtype} ({exc})") from None
    got = read_into(stream, array)
    if got < expected or stream.read(1):
        # A plain file was measured above; only a gzip stream gets here with the wrong length.
        held = f"{got:,}" if got < expected else "more than that"
        raise IDXFormatError(
            f"{source}: the header announces shape {shape} ({expected:,} bytes of data) but the file "
            f"gives {held} bytes after the header when read; the file is truncated or corrupt"
        )
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array


def write_idx(path: str | os.PathLike[str], array: Any, compress: bool = False) -> None:
    """Write ``array`` as an IDX file (gzipped with ``compress``); the inverse of :func:`read_idx`.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from chainrule import data
    >>> path = os.path.join(tempfile.mkdtemp(), "y-idx1-ubyte.gz")
    >>> data.write_idx(path, np.array([3, 1], dtype=np.uint8), compress=True)
    >>> data.read_idx(path)
    array([3, 1], dtype=uint8)
    """
    arr = np.asarray(array)
    code = _IDX_CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: IDX cannot hold {arr.dtype}; use uint8, int8, int16, int32, float32 or float64")
    if arr.ndim > 255:
        raise ValueError("write_idx: IDX files hold at most 255 dimensions")
    payload = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload += arr.astype(_IDX_TYPES[code]).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as handle:
        handle.write(payload)


def _find(folder: Path, name: str) -> Path | None:
    # exists(), not is_file(): a directory or FIFO under the expected name is reported by
    # read_idx as what it is rather than as a missing file.
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.exists():
            return candidate
    return None


# The size of one MNIST image (also that of Fashion-MNIST and KMNIST).
_MNIST_IMAGE_SHAPE = (28, 28)


def load_mnist(path: str | os.PathLike[str], dtype: Any = np.float32, max_bytes: int = DEFAULT_MAX_BYTES,
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """MNIST from the four standard IDX files in the folder ``path``.

    Returns ``((train_images, train_labels), (test_images, test_labels))`` with images as
    ``dtype`` scaled to [0, 1], shape (N, 28, 28), and labels as int64. The files may be gzipped
    (``.gz``); nothing is downloaded. Each file is read with :func:`read_idx` under the limit
    ``max_bytes`` (2 GiB by default). :class:`IDXFormatError` names the file when a split is
    empty, images are not 28×28, labels are not one uint8 class index (0..9) per image, or the
    counts differ.

    >>> import os, tempfile
    >>> import numpy as np
    >>> from chainrule import data
    >>> folder = tempfile.mkdtemp()
    >>> for key, name in data.MNIST_FILES.items():
    ...     arr = np.zeros((2, 28, 28), np.uint8) if "images" in key else np.array([7, 1], np.uint8)
    ...     data.write_idx(os.path.join(folder, name), arr)
    >>> (x, y), _ = data.load_mnist(folder)
    >>> x.shape, y.tolist()
    ((2, 28, 28), [7, 1])
    """
    folder = Path(path)
    expected = ", ".join(MNIST_FILES.values())
    if not folder.is_dir():
        raise FileNotFoundError(
            f"load_mnist: {folder} is not a folder. Put the four MNIST IDX files ({expected}; each "
            f"may end in .gz) in one folder and pass that folder."
        )
    found = {key: _find(folder, name) for key, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[key] for key, p in found.items() if p is None]
    if missing:
        raise FileNotFoundError(
            f"load_mnist: missing {', '.join(missing)} (or the same name with .gz) in {folder.resolve()}. "
            f"The folder must hold these four files: {expected}."
        )
    arrays = {key: read_idx(p, max_bytes=max_bytes) for key, p in found.items()}  # type: ignore[arg-type]
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        img_path, lbl_path = found[f"{split}_images"], found[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != _MNIST_IMAGE_SHAPE:
            raise IDXFormatError(
                f"load_mnist: {img_path} should hold (N, 28, 28) images, got shape {images.shape}"
            )
        if len(images) == 0:
            raise IDXFormatError(f"load_mnist: {img_path} holds no images (the {split} split is empty)")
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise IDXFormatError(
                f"load_mnist: {lbl_path} should hold one uint8 class index per image (IDX type 0x08, 1-D), "
                f"got {labels.dtype} of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise IDXFormatError(
                f"load_mnist: {img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels"
            )
        if labels.max() > 9:
            raise IDXFormatError(f"load_mnist: {lbl_path} has labels outside 0..9 (largest {int(labels.max())})")
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        out.append(((images / scale).astype(dtype), labels.astype(np.int64)))
    return out[0], out[1]
