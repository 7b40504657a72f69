"""``tf.keras.datasets.mnist.load_data()`` from local files: nothing is downloaded.

Where the data are looked for, in order:

1. the ``path`` argument: a Keras ``mnist.npz`` file, or a folder with that file or with the
   four IDX files (``train-images-idx3-ubyte`` ... each may end in ``.gz``); a relative path
   that does not exist is looked for under ``~/.keras/datasets`` as Keras does;
2. the environment variable ``CHAINRULE_MNIST`` (a file or folder as above);
3. ``~/.keras/datasets/mnist.npz``, then the folder ``~/.keras/datasets/mnist``.

>>> import os, tempfile
>>> import numpy as np
>>> from chainrule import data
>>> from chainrule.tf.keras.datasets import mnist
>>> folder = tempfile.mkdtemp()
>>> for key, name in data.MNIST_FILES.items():
...     arr = np.full((2, 28, 28), 255, np.uint8) if "images" in key else np.array([7, 1], np.uint8)
...     data.write_idx(os.path.join(folder, name), arr)
>>> (x_train, y_train), (x_test, y_test) = mnist.load_data(folder)
>>> x_train.shape, x_train.dtype, int(x_train.max()), y_train.tolist()
((2, 28, 28), dtype('uint8'), 255, [7, 1])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

import chainrule.data

__all__ = ["load_data", "ENV_VAR"]

#: The environment variable naming a local copy of MNIST.
ENV_VAR = "CHAINRULE_MNIST"

_KERAS_HOME = Path("~/.keras/datasets")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")

Split = tuple[np.ndarray, np.ndarray]


def _from_npz(path: Path) -> tuple[Split, Split]:
    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in _NPZ_KEYS if k not in archive.files]
        if missing:
            raise ValueError(f"mnist.load_data: {path} lacks the arrays {missing} (a Keras mnist.npz holds {list(_NPZ_KEYS)})")
        x_train, y_train, x_test, y_test = (np.asarray(archive[k]) for k in _NPZ_KEYS)
    return (x_train.astype(np.uint8), y_train.astype(np.uint8)), (x_test.astype(np.uint8), y_test.astype(np.uint8))


def _from_idx(folder: Path) -> tuple[Split, Split]:
    # chainrule.data scales images to [0, 1]; Keras hands out the raw bytes, so undo the scaling.
    (x_train, y_train), (x_test, y_test) = chainrule.data.load_mnist(folder, dtype=np.float64)
    as_bytes = lambda images: np.rint(images * 255.0).astype(np.uint8)
    return (as_bytes(x_train), y_train.astype(np.uint8)), (as_bytes(x_test), y_test.astype(np.uint8))


def _load(place: Path) -> tuple[Split, Split]:
    if place.is_file():
        return _from_npz(place)
    if (place / "mnist.npz").is_file():
        return _from_npz(place / "mnist.npz")
    return _from_idx(place)


def load_data(path: Any = None) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))``: uint8 images of shape (N, 28, 28) with values
    0..255 and uint8 labels, as Keras returns them. Raises ``FileNotFoundError`` saying where
    it looked when no local copy is found.
    """
    if path is not None:
        place = Path(path).expanduser()
        if not place.exists() and not place.is_absolute():
            place = (_KERAS_HOME / place).expanduser()
        if not place.exists():
            raise FileNotFoundError(f"mnist.load_data: {path} does not exist (nor {place}); chainrule downloads nothing")
        return _load(place)
    env = os.environ.get(ENV_VAR)
    if env:
        place = Path(env).expanduser()
        if not place.exists():
            raise FileNotFoundError(f"mnist.load_data: ${ENV_VAR} names {env}, which does not exist")
        return _load(place)
    for place in (_KERAS_HOME / "mnist.npz", _KERAS_HOME / "mnist"):
        place = place.expanduser()
        if place.exists():
            return _load(place)
    raise FileNotFoundError(
        "mnist.load_data: no local copy of MNIST found, and chainrule downloads nothing. Looked for "
        f"${ENV_VAR} (unset), {(_KERAS_HOME / 'mnist.npz').expanduser()} and the folder "
        f"{(_KERAS_HOME / 'mnist').expanduser()}. Put Keras's mnist.npz or the four IDX files "
        f"({', '.join(chainrule.data.MNIST_FILES.values())}) in a folder and set {ENV_VAR} to it, "
        "or pass the path: mnist.load_data(path)."
    )
