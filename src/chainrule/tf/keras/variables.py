"""``tf.keras.Variable``: the weights Keras 3 layers create.

A Keras 3 variable is named by its attribute (``kernel``) and located by its ``path``
(``dense/kernel``); it prints as Keras prints it. It is a dialect ``tf.Variable`` underneath, so
tapes watch it and optimizers update it like any other.

>>> from chainrule import tf
>>> layer = tf.keras.layers.Dense(2, name="dense_demo")
>>> _ = layer(tf.ones((1, 3)))
>>> layer.kernel.name, layer.kernel.path, type(layer.kernel).__name__
('kernel', 'dense_demo/kernel', 'Variable')
>>> layer.bias
<Variable path=dense_demo/bias, shape=(2,), dtype=float32, value=[0. 0.]>
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tf._tensor import Variable as _TFVariable
from chainrule.tf._tensor import as_dtype, float32

__all__ = ["Variable"]


class Variable(_TFVariable):
    """A Keras 3 weight: ``Variable(initializer, shape=None, dtype=None, trainable=True, name=None)``.

    ``initializer`` is a value, or an initializer (a name such as ``"zeros"``, or a callable
    ``f(shape, dtype)``) together with ``shape``.

    >>> from chainrule import tf
    >>> v = tf.keras.Variable("ones", shape=(2,), name="scale")
    >>> v.name, v.path, v.numpy()
    ('scale', 'scale', array([1., 1.], dtype=float32))
    """

    __slots__ = ("_path",)

    def __init__(self, initializer: Any, shape: Any = None, dtype: Any = None, trainable: bool = True,
                 autocast: bool = True, aggregation: str = "none", synchronization: str = "auto",
                 name: str | None = None, path: str | None = None) -> None:  # fmt: skip
        from chainrule.tf.keras import initializers

        if isinstance(initializer, str) or (callable(initializer) and shape is not None):
            if shape is None:
                raise ValueError(f"keras.Variable: an initializer ({initializer!r}) needs a shape")
            init = initializers.get(initializer)
            value = init(tuple(int(s) for s in shape), dtype=float32 if dtype is None else dtype)
        else:
            value = initializer
            if shape is not None and tuple(np.shape(value)) != tuple(shape):
                raise ValueError(
                    f"keras.Variable: the initial value has shape {tuple(np.shape(value))}, not {tuple(shape)}"
                )
        label = "variable" if name is None else str(name)
        super().__init__(value, trainable=trainable, dtype=None if dtype is None else as_dtype(dtype))
        self.name = label
        self._path = label if path is None else str(path)

    @property
    def path(self) -> str:
        """Where the variable lives: ``'<layer name>/<variable name>'`` for a layer's weight."""
        return self._path

    def __repr__(self) -> str:
        value = np.array(self.numpy())
        return f"<Variable path={self._path}, shape={tuple(value.shape)}, dtype={value.dtype.name}, value={value}>"

    __str__ = __repr__
