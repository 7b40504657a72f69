"""``tf.keras.models``: ``Sequential``, a stack of layers called in order.

>>> from chainrule import tf
>>> model = tf.keras.Sequential()
>>> model.add(tf.keras.layers.Dense(4, activation="relu"))
>>> model.add(tf.keras.layers.Dense(2))
>>> model(tf.ones((3, 5))).shape
TensorShape([3, 2])
>>> [tuple(v.shape) for v in model.trainable_variables]
[(5, 4), (4,), (4, 2), (2,)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tf._tensor import Variable, to_tensor
from chainrule.tf.keras.layers import Layer

__all__ = ["Sequential", "Model"]


class Sequential(Layer):
    """Layers applied one after the other; weights are created on the first call (or at once
    when the first layer was given ``input_shape``).

    >>> from chainrule import tf
    >>> model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,))])
    >>> model.built, len(model.trainable_variables)
    (True, 2)
    """

    def __init__(self, layers: Any = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.layers: list[Layer] = []
        self._output_shapes: list[tuple[Any, ...]] = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Append a layer."""
        if not isinstance(layer, Layer):
            raise TypeError(
                f"The added layer must be an instance of class Layer. Received: layer={layer!r} of type {type(layer)}."
            )
        self.layers.append(layer)
        self.built = False
        first = self.layers[0]._input_shape
        if first is not None:
            self(np.zeros((1,) + tuple(first), dtype=np.float32))

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        return self.layers.pop()

    @property
    def weights(self) -> list[Variable]:
        return [w for layer in self.layers for w in layer.weights]

    variables = weights

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for layer in self.layers for w in layer.trainable_weights]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    non_trainable_variables = non_trainable_weights

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        x = to_tensor(inputs)
        shapes = []
        for layer in self.layers:
            x = layer(x, **kwargs) if kwargs and _takes_training(layer) else layer(x)
            shapes.append((None,) + tuple(x.shape)[1:])
        self._output_shapes = shapes
        self.built = True
        return x

    def predict(self, x: Any, batch_size: Any = None, verbose: Any = 0, **kwargs: Any) -> np.ndarray:
        """The model's outputs for ``x`` as a NumPy array.

        >>> from chainrule import tf
        >>> tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="ones")]).predict([[1.0, 2.0]])
        array([[3.]], dtype=float32)
        """
        return np.asarray(self(x).numpy())

    def summary(self, print_fn: Any = print) -> None:
        """Print the layers, their output shapes and parameter counts, as Keras does."""
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling it on a batch "
                "of data, or give the first layer an input_shape."
            )
        rule, double = "_" * 65, "=" * 65
        lines = [f'Model: "{self.name}"', rule, f" {'Layer (type)':<28}{'Output Shape':<26}{'Param #':<10}", double]
        for i, (layer, shape) in enumerate(zip(self.layers, self._output_shapes)):
            lines.append(f" {f'{layer.name} ({type(layer).__name__})':<28}{str(shape):<26}{layer.count_params():<10}")
            lines.append("" if i < len(self.layers) - 1 else double)
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        total = self.count_params()
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]  # fmt: skip
        for line in lines:
            print_fn(line)


def _takes_training(layer: Layer) -> bool:
    import inspect

    return "training" in inspect.signature(layer.call).parameters


Model = Sequential
