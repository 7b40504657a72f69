"""The error a dialect module gives for a TensorFlow name it does not provide."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn


def missing(module: str) -> Callable[[str], NoReturn]:
    """A module ``__getattr__`` for ``module`` (``'tf.nn'``...): an AttributeError that names the
    TensorFlow name and says the dialect does not support it (``hasattr`` stays False)."""

    def __getattr__(name: str) -> NoReturn:
        if name.startswith("__"):  # Python's own probes (__wrapped__, __path__...)
            raise AttributeError(name)
        raise AttributeError(
            f"{module}.{name} is not supported by the chainrule TensorFlow dialect "
            "(docs/dialects/tf.md lists what is)"
        )

    return __getattr__
