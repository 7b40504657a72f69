"""``tf.keras.layers``: Layer, Dense, Flatten, Activation, ReLU, Softmax, Dropout and
BatchNormalization.

Layers create their weights on their first call, from the input's shape (Keras's ``build``).
Weights are Keras 3 variables (``tf.keras.Variable``: named ``kernel``, located at
``hidden/kernel``), dialect ``tf.Variable`` objects underneath, so a ``GradientTape`` watches them.

>>> from chainrule import tf
>>> layer = tf.keras.layers.Dense(3, activation="relu", name="hidden")
>>> layer.built
False
>>> layer(tf.ones((2, 4))).shape, layer.built
(TensorShape([2, 3]), True)
>>> [v.name for v in layer.trainable_variables], [v.path for v in layer.trainable_variables]
(['kernel', 'bias'], ['hidden/kernel', 'hidden/bias'])
"""

from __future__ import annotations

import inspect
import re
from collections import defaultdict
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.tf._ops import matmul, reshape
from chainrule.tf._tensor import Tensor, TensorShape, Variable, float32, to_tensor, wrap
from chainrule.tf._unsupported import missing
from chainrule.tf.keras import activations, initializers
from chainrule.tf.keras.variables import Variable as KerasVariable

__all__ = ["Layer", "Dense", "Flatten", "Activation", "ReLU", "Softmax", "Dropout", "BatchNormalization"]

__getattr__ = missing("tf.keras.layers")

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
    def add_weight(self, shape: Any = None, initializer: Any = None, dtype: Any = None, trainable: bool = True,
                   name: str | None = None, **kwargs: Any) -> Variable:  # fmt: skip
        """Create a weight of ``shape`` filled by ``initializer`` (Glorot-uniform by default) and
        track it: Keras 3's ``add_weight(shape, initializer, dtype, trainable, name=...)``. The
        Keras 2 order ``add_weight(name, shape, initializer)`` is accepted too."""
        if isinstance(shape, str):  # Keras 2: add_weight(name, shape, initializer, ...)
            shape, initializer, name = initializer, kwargs.pop("initializer", dtype), shape
            dtype = kwargs.pop("dtype", None)
            if isinstance(dtype, str) and dtype in ("zeros", "ones", "glorot_uniform"):
                initializer, dtype = dtype, None
        shape = () if shape is None else tuple(int(s) for s in shape)
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = init(shape, dtype=self.dtype if dtype is None else dtype)
        label = f"variable_{len(self._weights)}" if name is None else str(name)
        var = KerasVariable(value, trainable=trainable, name=label, path=f"{self.name}/{label}")
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
        # Keras passes `training` and `mask` only to a call() that takes them.
        for key in ("training", "mask"):
            if key in kwargs and not self._call_takes(key):
                del kwargs[key]
        return self.call(x, *args, **kwargs)

    def _call_takes(self, key: str) -> bool:
        params = inspect.signature(self.call).parameters
        return key in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

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
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias")

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


class BatchNormalization(Layer):
    """Normalize each feature (along ``axis``) to zero mean and unit variance, then scale by
    ``gamma`` and shift by ``beta``.

    Called with ``training=True`` it uses the batch's mean and (population) variance, through
    which gradients flow, and moves ``moving_mean``/``moving_variance`` toward them
    (``moving = moving * momentum + batch * (1 - momentum)``); otherwise it uses the moving
    statistics. Weights, created on the first call: ``gamma`` (ones) and ``beta`` (zeros),
    trainable; ``moving_mean`` (zeros) and ``moving_variance`` (ones), not trainable.

    >>> from chainrule import tf
    >>> bn = tf.keras.layers.BatchNormalization()
    >>> bn(tf.constant([[1.0, 2.0], [3.0, 5.0]]), training=True).numpy().round(4)
    array([[-0.9995, -0.9998],
           [ 0.9995,  0.9998]], dtype=float32)
    >>> bn.moving_mean.numpy(), bn.moving_variance.numpy()
    (array([0.02 , 0.035], dtype=float32), array([1.    , 1.0125], dtype=float32))
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 0.001, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 **kwargs: Any) -> None:  # fmt: skip
        for unsupported in ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint", "renorm"):
            if kwargs.get(unsupported):
                raise NotImplementedError(
                    f"BatchNormalization: {unsupported} is not supported by the chainrule TensorFlow dialect"
                )
            kwargs.pop(unsupported, None)
        kwargs.pop("synchronized", None)
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise NotImplementedError("BatchNormalization: the chainrule TensorFlow dialect normalizes along one axis")
            axis = axis[0]
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self._initializers = (gamma_initializer, beta_initializer, moving_mean_initializer, moving_variance_initializer)
        self.gamma: Variable | None = None
        self.beta: Variable | None = None
        self.moving_mean: Variable | None = None
        self.moving_variance: Variable | None = None

    def build(self, input_shape: TensorShape) -> None:
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(
                f"BatchNormalization {self.name}: axis {self.axis} is out of range for inputs of shape {tuple(input_shape)}"
            )
        shape = (input_shape[self.axis],)
        gamma_init, beta_init, mean_init, variance_init = self._initializers
        if self.scale:
            self.gamma = self.add_weight(shape, gamma_init, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape, beta_init, name="beta")
        self.moving_mean = self.add_weight(shape, mean_init, trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape, variance_init, trainable=False, name="moving_variance")

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Tensor:
        if mask is not None:
            raise NotImplementedError("BatchNormalization: mask is not supported by the chainrule TensorFlow dialect")
        assert self.moving_mean is not None and self.moving_variance is not None
        axis = self.axis % inputs.ndim
        reduce_axes = tuple(i for i in range(inputs.ndim) if i != axis)
        param_shape = tuple(inputs.shape[i] if i == axis else 1 for i in range(inputs.ndim))
        if training and self.trainable:
            mean = cr.mean(inputs, axis=reduce_axes, keepdims=True)
            variance = cr.var(inputs, axis=reduce_axes, keepdims=True)
            keep = self.momentum
            # Tensor ops, not NumPy on the values: inside tf.function the update is part of the
            # program and runs at every call.
            with cr.no_grad():
                new_mean = cr.add(cr.multiply(self.moving_mean, keep), cr.multiply(cr.reshape(mean, (-1,)), 1 - keep))
                new_variance = cr.add(cr.multiply(self.moving_variance, keep),
                                      cr.multiply(cr.reshape(variance, (-1,)), 1 - keep))  # fmt: skip
            self.moving_mean.assign(cr.astype(new_mean, self.moving_mean.dtype))
            self.moving_variance.assign(cr.astype(new_variance, self.moving_variance.dtype))
        else:
            mean = cr.reshape(self.moving_mean, param_shape)
            variance = cr.reshape(self.moving_variance, param_shape)
        out = cr.divide(cr.subtract(inputs, mean), cr.sqrt(cr.add(variance, np.asarray(self.epsilon, inputs.dtype))))
        if self.gamma is not None:
            out = cr.multiply(out, cr.reshape(self.gamma, param_shape))
        if self.beta is not None:
            out = cr.add(out, cr.reshape(self.beta, param_shape))
        return wrap(out)
