"""``tf.keras.initializers``: how ``Dense`` fills its kernel and bias.

Each initializer is called as ``init(shape, dtype)`` and returns a float32 tensor, drawn from
chainrule's seeded generator (``tf.random.set_seed`` resets it).

>>> from chainrule import tf
>>> w = tf.keras.initializers.GlorotUniform()((784, 256))
>>> limit = (6 / (784 + 256)) ** 0.5
>>> bool(tf.reduce_all(tf.abs(w) <= limit)), w.dtype == tf.float32
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
import chainrule.nn
from chainrule.tf._tensor import Tensor, as_dtype, float32, wrap

__all__ = [
    "Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "Zeros", "Ones",
    "RandomNormal", "RandomUniform", "Constant", "get",
]  # fmt: skip


class Initializer:
    """Base class: ``init(shape, dtype=tf.float32)`` gives a new tensor of that shape."""

    def __call__(self, shape: Any, dtype: Any = float32, **kwargs: Any) -> Tensor:
        t = cr.zeros(*tuple(int(s) for s in shape), dtype=as_dtype(dtype).dtype)
        self.fill(t)
        return wrap(t)

    def fill(self, t: Any) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlorotUniform(Initializer):
    """Uniform on ``[-limit, limit]`` with ``limit = sqrt(6 / (fan_in + fan_out))`` (Keras's default).

    >>> from chainrule import tf
    >>> tf.keras.initializers.GlorotUniform()((2, 3)).shape
    TensorShape([2, 3])
    """

    def fill(self, t: Any) -> None:
        chainrule.nn.init.glorot_uniform_(t)


class GlorotNormal(Initializer):
    """Normal with ``std = sqrt(2 / (fan_in + fan_out))`` (Keras truncates it; chainrule does not).

    >>> from chainrule import tf
    >>> tf.keras.initializers.GlorotNormal()((2, 3)).shape
    TensorShape([2, 3])
    """

    def fill(self, t: Any) -> None:
        chainrule.nn.init.glorot_normal_(t)


def _fan_in(t: Any) -> int:
    shape = tuple(t.shape)
    return int(shape[0]) if len(shape) == 2 else int(np.prod(shape[:-1])) if shape else 1


class HeUniform(Initializer):
    """Uniform on ``[-limit, limit]`` with ``limit = sqrt(6 / fan_in)``.

    >>> from chainrule import tf
    >>> w = tf.keras.initializers.HeUniform()((6, 2))
    >>> bool(tf.reduce_all(tf.abs(w) <= 1.0))
    True
    """

    def fill(self, t: Any) -> None:
        limit = float(np.sqrt(6.0 / _fan_in(t)))
        chainrule.nn.init.uniform_(t, -limit, limit)


class HeNormal(Initializer):
    """Normal with ``std = sqrt(2 / fan_in)`` (Keras truncates it; chainrule does not).

    >>> from chainrule import tf
    >>> tf.keras.initializers.HeNormal()((6, 2)).shape
    TensorShape([6, 2])
    """

    def fill(self, t: Any) -> None:
        chainrule.nn.init.normal_(t, 0.0, float(np.sqrt(2.0 / _fan_in(t))))


class Zeros(Initializer):
    """All zeros (Keras's default bias).

    >>> from chainrule import tf
    >>> tf.keras.initializers.Zeros()((2,)).numpy()
    array([0., 0.], dtype=float32)
    """

    def fill(self, t: Any) -> None:
        chainrule.nn.init.zeros_(t)


class Ones(Initializer):
    """All ones.

    >>> from chainrule import tf
    >>> tf.keras.initializers.Ones()((2,)).numpy()
    array([1., 1.], dtype=float32)
    """

    def fill(self, t: Any) -> None:
        chainrule.nn.init.ones_(t)


class Constant(Initializer):
    """Every entry equal to ``value``.

    >>> from chainrule import tf
    >>> tf.keras.initializers.Constant(0.5)((2,)).numpy()
    array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def fill(self, t: Any) -> None:
        chainrule.nn.init.constant_(t, self.value)


class RandomNormal(Initializer):
    """Normal draws (Keras's defaults: mean 0, stddev 0.05).

    >>> from chainrule import tf
    >>> tf.keras.initializers.RandomNormal(stddev=1.0)((3,)).shape
    TensorShape([3])
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        self.mean, self.stddev = float(mean), float(stddev)

    def fill(self, t: Any) -> None:
        chainrule.nn.init.normal_(t, self.mean, self.stddev)


class RandomUniform(Initializer):
    """Uniform draws (Keras's defaults: on [-0.05, 0.05]).

    >>> from chainrule import tf
    >>> w = tf.keras.initializers.RandomUniform()((3,))
    >>> bool(tf.reduce_all(tf.abs(w) <= 0.05))
    True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None) -> None:
        self.minval, self.maxval = float(minval), float(maxval)

    def fill(self, t: Any) -> None:
        chainrule.nn.init.uniform_(t, self.minval, self.maxval)


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal, "he_uniform": HeUniform,
    "he_normal": HeNormal, "zeros": Zeros, "ones": Ones, "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
}  # fmt: skip


def get(identifier: Any) -> Any:
    """An initializer from its Keras name, an instance, or a callable ``f(shape, dtype)``.

    >>> from chainrule import tf
    >>> tf.keras.initializers.get("glorot_uniform")
    GlorotUniform()
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in _BY_NAME:
            raise ValueError(f"Unknown initializer: {identifier!r}; the dialect knows {sorted(_BY_NAME)}")
        return _BY_NAME[key]()
    if callable(identifier):
        return identifier
    raise TypeError(f"initializer must be a name or a callable, got {identifier!r}")
