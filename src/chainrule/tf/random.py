"""``tf.random``: uniform and normal draws (float32 by default) and ``set_seed``.

Draws come from chainrule's seeded generator (``chainrule.random``), not from TensorFlow's
Philox streams: ``set_seed`` makes them repeat, but the numbers differ from TensorFlow's.

>>> from chainrule import tf
>>> tf.random.set_seed(0)
>>> a = tf.random.normal((2,))
>>> tf.random.set_seed(0)
>>> bool(tf.reduce_all(a == tf.random.normal((2,))))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._tensor import Tensor, as_dtype, float32, wrap
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.random")

__all__ = ["set_seed", "uniform", "normal"]


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, cr.Tensor):
        shape = cr.Tensor.numpy(shape).tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def set_seed(seed: int) -> None:
    """Reset the generator behind ``tf.random`` (and ``chainrule.random``) so draws repeat.

    >>> from chainrule import tf
    >>> tf.random.set_seed(1)
    """
    cr.random.seed(int(seed))


def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = float32, seed: Any = None,
            name: Any = None) -> Tensor:  # fmt: skip
    """Uniform draws on ``[minval, maxval)`` (``maxval`` defaults to 1 for floats; required for ints).

    ``seed`` (TensorFlow's per-op seed) is accepted and ignored; use ``tf.random.set_seed``.

    >>> from chainrule import tf
    >>> w = tf.random.uniform((4, 3), minval=-20, maxval=20)
    >>> w.dtype == tf.float32, bool(tf.reduce_all(w >= -20)), bool(tf.reduce_all(w < 20))
    (True, True, True)
    """
    dt = as_dtype(dtype).dtype
    if dt.kind in "iu":
        if maxval is None:
            raise ValueError("tf.random.uniform: maxval must be given for an integer dtype")
        return wrap(cr.random.randint(int(minval), int(maxval), size=_shape(shape), dtype=dt))
    high = 1.0 if maxval is None else float(maxval)
    return wrap(cr.random.uniform(float(minval), high, size=_shape(shape), dtype=dt))


def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = float32, seed: Any = None,
           name: Any = None) -> Tensor:  # fmt: skip
    """Normal draws with the given mean and standard deviation (float32 by default).

    >>> from chainrule import tf
    >>> tf.random.normal((4, 3)).shape
    TensorShape([4, 3])
    """
    return wrap(cr.random.normal(float(mean), float(stddev), size=_shape(shape), dtype=as_dtype(dtype).dtype))
