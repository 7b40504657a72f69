"""A seeded random module: one NumPy Generator per thread, reset by ``seed``.

>>> import chainrule as cr
>>> cr.random.seed(0)
>>> a = cr.random.normal(size=3)
>>> cr.random.seed(0)
>>> bool((a == cr.random.normal(size=3)).all())
True
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["seed", "normal", "uniform", "randint", "permutation", "generator", "rand", "randn"]

_local = threading.local()


def generator() -> np.random.Generator:
    """This thread's generator (seeded with 0 until ``seed`` is called)."""
    gen = getattr(_local, "gen", None)
    if gen is None:
        gen = _local.gen = np.random.default_rng(0)
    return gen


def seed(value: int) -> None:
    """Reset this thread's generator so that the following draws repeat."""
    _local.gen = np.random.default_rng(int(value))


def _size(size: Any) -> Any:
    if size is None:
        return None
    sizes = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if any(int(s) < 0 for s in sizes):
        raise ValueError(f"random: negative dimension in size {sizes}")
    return sizes


def normal(loc: float = 0.0, scale: float = 1.0, size: Any = None, dtype: Any = np.float64,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Samples from a normal distribution."""
    if scale < 0:
        raise ValueError(f"random.normal: scale must be >= 0, got {scale}")
    data = generator().normal(loc, scale, _size(size)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None, dtype: Any = np.float64,
            requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Samples from a uniform distribution on ``[low, high)``."""
    data = generator().uniform(low, high, _size(size)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(*shape: int, dtype: Any = np.float64) -> Tensor:
    """Uniform samples on [0, 1) of the given shape."""
    return uniform(size=shape, dtype=dtype)


def randn(*shape: int, dtype: Any = np.float64) -> Tensor:
    """Standard normal samples of the given shape."""
    return normal(size=shape, dtype=dtype)


def randint(low: int, high: int | None = None, size: Any = None, dtype: Any = np.int64) -> Tensor:
    """Random integers in ``[low, high)`` (``[0, low)`` when high is None)."""
    return Tensor(generator().integers(low, high, _size(size), dtype=dtype))


def permutation(n: Any) -> Tensor:
    """A random permutation of ``range(n)`` (or of the given values)."""
    if isinstance(n, Tensor):
        n = n._data
    return Tensor(generator().permutation(n))
