"""``tf.keras.activations``: the activations a ``Dense`` layer accepts by name.

>>> from chainrule import tf
>>> tf.keras.activations.get("relu")(tf.constant([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.tf._ops import elu, relu, sigmoid, softplus, tanh
from chainrule.tf._ops import softmax as _softmax
from chainrule.tf._tensor import Tensor, to_tensor

__all__ = ["relu", "elu", "sigmoid", "softmax", "softplus", "tanh", "linear", "get", "serialize"]


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Softmax along ``axis`` (the last by default).

    >>> from chainrule import tf
    >>> tf.keras.activations.softmax(tf.constant([[0.0, 0.0]])).numpy()
    array([[0.5, 0.5]], dtype=float32)
    """
    return _softmax(x, axis=axis)


def linear(x: Any) -> Any:
    """The identity (what ``activation=None`` means).

    >>> from chainrule import tf
    >>> tf.keras.activations.linear(tf.constant(2.0)).numpy()
    np.float32(2.0)
    """
    return to_tensor(x)


_BY_NAME: dict[str, Callable[..., Any]] = {
    "relu": relu, "elu": elu, "sigmoid": sigmoid, "softmax": softmax, "softplus": softplus, "tanh": tanh,
    "linear": linear,
}  # fmt: skip


def get(identifier: Any) -> Callable[..., Any]:
    """The activation function for a name, ``None`` (linear) or a callable.

    >>> from chainrule import tf
    >>> tf.keras.activations.get(None).__name__
    'linear'
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown activation function: {identifier!r}; the dialect knows {sorted(_BY_NAME)} or a callable")


def serialize(activation: Callable[..., Any]) -> str:
    """The name of an activation function.

    >>> from chainrule import tf
    >>> tf.keras.activations.serialize(tf.keras.activations.get("relu"))
    'relu'
    """
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", repr(activation))
