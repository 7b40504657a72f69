"""``tf.keras.layers``: Layer, Dense, Flatten, Activation, ReLU, Softmax and Dropout.

Layers create their weights on their first call, from the input's last dimension (Keras's
``build``). Weights are dialect ``tf.Variable`` objects, so a ``GradientTape`` watches them.

>>> from chainrule import tf
>>> layer = tf.keras.layers.Dense(3, activation="relu", name="hidden")
>>> layer.built
False
>>> layer(tf.ones((2, 4))).shape, layer.built
(TensorShape([2, 3]), True)
>>> [v.name for v in layer.trainable_variables]
['hidden/kernel:0', 'hidden/bias:0']
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._ops import matmul, reshape
from chainrule.tf._tensor import Tensor, TensorShape, Variable, float32, to_tensor, wrap
from chainrule.tf.keras import activations, initializers

__all__ = ["Layer", "Dense", "Flatten", "Activation", "ReLU", "Softmax", "Dropout"]

_name_counts: dict[str, int] = defaultdict(int)


def unique_name(prefix: str) -> str:
    """Keras's layer names: ``dense``, ``dense_1``, ``dense_2``..."""
    n = _name_counts[prefix]
    _name_counts[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Layer:
    """Base class of layers: ``build(input_shape)`` on the first call, then ``call(inputs)``.

    Floating inputs are cast to the layer's dtype (float32), as Keras does.

    >>> from chainrule import tf
    >>> class Scale(tf.keras.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.k = self.add_weight("k", (input_shape[-1],), "ones")
    ...     def call(self, inputs):
    ...         return inputs * self.k
    >>> Scale()(tf.constant([[1.0, 2.0]])).numpy()
    array([[1., 2.]], dtype=float32)
    """

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: Any = None, **kwargs: Any) -> None:  # fmt: skip
        self.name = name if name is not None else unique_name(_snake(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self.dtype = float32 if dtype is None else dtype
        self._weights: list[Variable] = []
        self._input_shape = None if input_shape is None else tuple(input_shape)

    # ------------------------------------------------------------ weights
    def add_weight(self, name: str, shape: Any, initializer: Any = "glorot_uniform",
                   trainable: bool = True, dtype: Any = None, **kwargs: Any) -> Variable:  # fmt: skip
        """Create a weight of ``shape`` filled by ``initializer`` and track it."""
        init = initializers.get(initializer)
        value = init(tuple(int(s) for s in shape), dtype=self.dtype if dtype is None else dtype)
        var = Variable(value, trainable=trainable, name=f"{self.name}/{name}")
        self._weights.append(var)
        return var

    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return [w for w in self._weights if w.trainable] if self.trainable else []

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        """The weights' values as NumPy arrays."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list[Any]) -> None:
        """Assign new values to the weights, in the order of ``get_weights``."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"{self.name}.set_weights: expected {len(mine)} arrays, got {len(weights)}")
        for var, value in zip(mine, weights):
            var.assign(np.asarray(value, dtype=var.dtype))

    def count_params(self) -> int:
        """The number of weight entries."""
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ------------------------------------------------------------ calling
    def build(self, input_shape: TensorShape) -> None:
        """Create the weights, knowing the input shape (called once, on the first call)."""

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        return inputs

    def _cast_inputs(self, inputs: Any) -> Any:
        x = to_tensor(inputs)
        want = np.dtype(self.dtype.dtype if hasattr(self.dtype, "dtype") else self.dtype)
        if x.dtype.kind == "f" and x.dtype != want:
            x = wrap(cr.astype(x, want))
        return x

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        x = self._cast_inputs(inputs)
        if not self.built:
            self.build(TensorShape(tuple(x.shape)))
            self.built = True
        return self.call(x, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``; kernel ``(input_dim, units)`` Glorot-uniform,
    bias zeros, both created on the first call.

    >>> from chainrule import tf
    >>> tf.random.set_seed(0)
    >>> layer = tf.keras.layers.Dense(2, name="out")
    >>> y = layer(tf.ones((1, 3)))
    >>> layer.kernel.shape, layer.bias.numpy()
    (TensorShape([3, 2]), array([0., 0.], dtype=float32))
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 **kwargs: Any) -> None:  # fmt: skip
        input_dim = kwargs.pop("input_dim", None)
        if input_dim is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_dim,)
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel: Variable | None = None
        self.bias: Variable | None = None

    def build(self, input_shape: TensorShape) -> None:
        if not input_shape:
            raise ValueError(f"Dense layer {self.name}: the input must have at least one dimension")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer)

    def _cast_inputs(self, inputs: Any) -> Any:
        x = to_tensor(inputs)
        if x.dtype != np.float32:  # Keras's Dense casts every input to its dtype
            x = wrap(cr.astype(x, np.float32))
        return x

    def call(self, inputs: Any) -> Tensor:
        assert self.kernel is not None
        if inputs.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {self.kernel.shape[0]}, but received input with shape "
                f"{tuple(inputs.shape)}"
            )
        out = matmul(inputs, self.kernel)
        if self.bias is not None:
            out = out + self.bias
        return self.activation(out)

    def __repr__(self) -> str:
        return f"<Dense name={self.name}, units={self.units}, activation={activations.serialize(self.activation)}>"


class Flatten(Layer):
    """Flatten every axis but the first (the batch).

    >>> from chainrule import tf
    >>> tf.keras.layers.Flatten()(tf.ones((2, 28, 28))).shape
    TensorShape([2, 784])
    """

    def call(self, inputs: Any) -> Tensor:
        batch = inputs.shape[0] if inputs.ndim else 1
        return reshape(inputs, (batch, -1))


class Activation(Layer):
    """Apply an activation given by name or as a function.

    >>> from chainrule import tf
    >>> tf.keras.layers.Activation("relu")(tf.constant([-1.0, 1.0])).numpy()
    array([0., 1.], dtype=float32)
    """

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs: Any) -> Tensor:
        return self.activation(inputs)


class ReLU(Layer):
    """``max(x, 0)``.

    >>> from chainrule import tf
    >>> tf.keras.layers.ReLU()(tf.constant([-1.0, 1.0])).numpy()
    array([0., 1.], dtype=float32)
    """

    def call(self, inputs: Any) -> Tensor:
        return activations.relu(inputs)


class Softmax(Layer):
    """Softmax along ``axis`` (the last by default).

    >>> from chainrule import tf
    >>> tf.keras.layers.Softmax()(tf.constant([[0.0, 0.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs: Any) -> Tensor:
        return activations.softmax(inputs, axis=self.axis)


class Dropout(Layer):
    """Zero a fraction ``rate`` of the entries and scale the rest by ``1/(1-rate)`` when called
    with ``training=True``; the identity otherwise (as when Keras calls it outside ``fit``).

    >>> from chainrule import tf
    >>> tf.keras.layers.Dropout(0.5)(tf.ones(4)).numpy()
    array([1., 1., 1., 1.], dtype=float32)
    """

    def __init__(self, rate: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must lie in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def call(self, inputs: Any, training: Any = None) -> Tensor:
        if not training or self.rate == 0.0:
            return inputs
        return wrap(cr.dropout(inputs, self.rate))
