"""``tf.nn``: activations and the softmax / sigmoid cross-entropies (per-example losses).

>>> from chainrule import tf
>>> logits = tf.constant([[2.0, 0.0, 0.0]])
>>> tf.nn.softmax_cross_entropy_with_logits([[1.0, 0.0, 0.0]], logits).numpy().round(4)
array([0.2395], dtype=float32)
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.tf._ops import elu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from chainrule.tf._tensor import Tensor, operand, to_tensor, wrap
from chainrule.tf._unsupported import missing

__getattr__ = missing("tf.nn")

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax",
    "softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits", "l2_loss",
]  # fmt: skip


def relu6(features: Any, name: Any = None) -> Tensor:
    """``min(max(x, 0), 6)``.

    >>> from chainrule import tf
    >>> tf.nn.relu6([-1.0, 3.0, 9.0]).numpy()
    array([0., 3., 6.], dtype=float32)
    """
    x = to_tensor(features)
    return wrap(cr.clip(x, operand(0, x.dtype), operand(6, x.dtype)))


def leaky_relu(features: Any, alpha: float = 0.2, name: Any = None) -> Tensor:
    """``x`` for positive ``x``, ``alpha * x`` otherwise (TensorFlow's default alpha is 0.2).

    >>> from chainrule import tf
    >>> tf.nn.leaky_relu([-1.0, 2.0]).numpy()
    array([-0.2,  2. ], dtype=float32)
    """
    return wrap(cr.leaky_relu(to_tensor(features), negative_slope=float(alpha)))


def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """Per-example cross-entropy between probability ``labels`` and unnormalised ``logits``:
    ``-sum(labels * log_softmax(logits), axis)``; gradients reach both arguments.

    >>> from chainrule import tf
    >>> loss = tf.nn.softmax_cross_entropy_with_logits([[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]])
    >>> loss.numpy().round(4)
    array([0.6931, 0.6931], dtype=float32)
    """
    z = to_tensor(logits)
    y = to_tensor(operand(labels, z.dtype))
    if tuple(y.shape) != tuple(z.shape):
        raise ValueError(
            f"softmax_cross_entropy_with_logits: labels have shape {tuple(y.shape)} but logits have "
            f"shape {tuple(z.shape)}; they must match"
        )
    return wrap(cr.neg(cr.sum(cr.multiply(y, cr.log_softmax(z, axis=int(axis))), axis=int(axis))))


def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Any, name: Any = None) -> Tensor:
    """Per-example cross-entropy between integer class ``labels`` and ``logits`` (classes last).

    >>> from chainrule import tf
    >>> tf.nn.sparse_softmax_cross_entropy_with_logits([0, 1], [[0.0, 0.0], [0.0, 0.0]]).numpy().round(4)
    array([0.6931, 0.6931], dtype=float32)
    """
    z = to_tensor(logits)
    y = to_tensor(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"sparse_softmax_cross_entropy_with_logits: labels must be integer class indices, got "
            f"{y.dtype.name}; use softmax_cross_entropy_with_logits for probabilities"
        )
    return wrap(cr.cross_entropy(z, y, axis=-1, reduction="none"))


def sigmoid_cross_entropy_with_logits(labels: Any = None, logits: Any = None, name: Any = None) -> Tensor:
    """Elementwise logistic loss between ``labels`` in [0, 1] and ``logits``.

    >>> from chainrule import tf
    >>> tf.nn.sigmoid_cross_entropy_with_logits([1.0, 0.0], [0.0, 0.0]).numpy().round(4)
    array([0.6931, 0.6931], dtype=float32)
    """
    z = to_tensor(logits)
    y = to_tensor(operand(labels, z.dtype))
    return wrap(cr.binary_cross_entropy_with_logits(z, y, reduction="none"))


def l2_loss(t: Any, name: Any = None) -> Tensor:
    """``sum(t ** 2) / 2``.

    >>> from chainrule import tf
    >>> tf.nn.l2_loss(tf.constant([1.0, 2.0])).numpy()
    np.float32(2.5)
    """
    x = to_tensor(t)
    return wrap(cr.multiply(cr.sum(cr.square(x)), 0.5))
