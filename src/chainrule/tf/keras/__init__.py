"""``tf.keras`` on chainrule: Sequential models of Dense/Flatten layers, SGD and Adam, the
MSE and cross-entropy losses, and MNIST from local files.

>>> from chainrule import tf
>>> tf.random.set_seed(0)
>>> model = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(1)])
>>> opt = tf.keras.optimizers.SGD(learning_rate=0.05)
>>> x, y = tf.random.normal((16, 3)), tf.ones((16, 1))
>>> losses = []
>>> for _ in range(20):
...     with tf.GradientTape() as tape:
...         loss = tf.keras.losses.MeanSquaredError()(y, model(x))
...     grads = tape.gradient(loss, model.trainable_variables)
...     opt.apply_gradients(zip(grads, model.trainable_variables))
...     losses.append(float(loss))
>>> losses[-1] < losses[0] / 2
True
"""

from chainrule.tf.keras import (
    activations,
    datasets,
    initializers,
    layers,
    losses,
    models,
    optimizers,
    variables,
)
from chainrule.tf.keras.models import Model, Sequential
from chainrule.tf.keras.variables import Variable

__all__ = [
    "activations", "datasets", "initializers", "layers", "losses", "models", "optimizers", "variables",
    "Sequential", "Model", "Variable",
]  # fmt: skip
