"""``tf.keras.losses``: mean squared error and the cross-entropies, as classes and functions.

A loss object ``loss(y_true, y_pred)`` averages the per-example values over the batch
(Keras's ``"sum_over_batch_size"``); ``reduction="sum"`` sums them and ``"none"`` returns them.

>>> from chainrule import tf
>>> mse = tf.keras.losses.MeanSquaredError()
>>> mse([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]]).numpy()
np.float32(0.5)
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.tf._tensor import Tensor, operand, to_tensor, wrap

__all__ = [
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "BinaryCrossentropy", "mean_squared_error",
    "mean_absolute_error", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_crossentropy", "MSE", "MAE", "mse", "mae",
]  # fmt: skip

_EPSILON = 1e-7  # Keras's backend epsilon: probabilities are clipped into [eps, 1 - eps]


def _pair(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    pred = to_tensor(y_pred)
    true = to_tensor(operand(y_true, pred.dtype)) if not isinstance(y_true, cr.Tensor) else y_true
    if isinstance(true, cr.Tensor) and true.dtype != pred.dtype and true.dtype.kind in "fiub":
        true = cr.astype(true, pred.dtype)  # Keras casts y_true to y_pred's dtype
    return true, pred


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-example ``mean((y_pred - y_true) ** 2)`` over the last axis.

    >>> from chainrule import tf
    >>> tf.keras.losses.mean_squared_error([[0.0, 2.0]], [[1.0, 0.0]]).numpy()
    array([2.5], dtype=float32)
    """
    true, pred = _pair(y_true, y_pred)
    return wrap(cr.mean(cr.square(cr.subtract(pred, true)), axis=-1))


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-example ``mean(|y_pred - y_true|)`` over the last axis.

    >>> from chainrule import tf
    >>> tf.keras.losses.mean_absolute_error([[0.0, 2.0]], [[1.0, 0.0]]).numpy()
    array([1.5], dtype=float32)
    """
    true, pred = _pair(y_true, y_pred)
    return wrap(cr.mean(cr.abs(cr.subtract(pred, true)), axis=-1))


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:  # fmt: skip
    """Per-example cross-entropy between one-hot (or probability) targets and predictions.

    With ``from_logits=False`` the predictions are probabilities: rescaled to sum to 1 and
    clipped into ``[1e-7, 1 - 1e-7]`` first, as Keras does.

    >>> from chainrule import tf
    >>> tf.keras.losses.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).numpy().round(4)
    array([0.6931], dtype=float32)
    """
    true, pred = _pair(y_true, y_pred)
    if label_smoothing:
        classes = pred.shape[axis]
        true = cr.add(cr.multiply(true, 1.0 - label_smoothing), label_smoothing / classes)
    if from_logits:
        logp = cr.log_softmax(pred, axis=axis)
    else:
        probs = cr.divide(pred, cr.sum(pred, axis=axis, keepdims=True))
        logp = cr.log(cr.clip(probs, _EPSILON, 1.0 - _EPSILON))
    return wrap(cr.neg(cr.sum(cr.multiply(true, logp), axis=axis)))


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-example cross-entropy between integer class targets and predictions.

    >>> from chainrule import tf
    >>> tf.keras.losses.sparse_categorical_crossentropy([1], [[0.0, 0.0]], from_logits=True).numpy().round(4)
    array([0.6931], dtype=float32)
    """
    pred = to_tensor(y_pred)
    labels = to_tensor(y_true)
    if labels.dtype.kind == "f":
        labels = cr.astype(labels, "int64")
    if labels.ndim == pred.ndim:  # Keras accepts (batch, 1) targets
        labels = cr.squeeze(labels, -1)
    if from_logits:
        return wrap(cr.cross_entropy(pred, labels, axis=axis, reduction="none"))
    probs = cr.divide(pred, cr.sum(pred, axis=axis, keepdims=True))
    logp = cr.log(cr.clip(probs, _EPSILON, 1.0 - _EPSILON))
    picked = cr.take_along_axis(logp, cr.expand_dims(labels, -1), axis=-1)
    return wrap(cr.neg(cr.squeeze(picked, -1)))


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Per-example mean over the last axis of the logistic loss.

    >>> from chainrule import tf
    >>> tf.keras.losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 0.0]], from_logits=True).numpy().round(4)
    array([0.6931], dtype=float32)
    """
    true, pred = _pair(y_true, y_pred)
    if from_logits:
        values = cr.binary_cross_entropy_with_logits(pred, true, reduction="none")
    else:
        p = cr.clip(pred, _EPSILON, 1.0 - _EPSILON)
        values = cr.neg(cr.add(cr.multiply(true, cr.log(p)), cr.multiply(cr.subtract(1.0, true), cr.log(cr.subtract(1.0, p)))))
    return wrap(cr.mean(values, axis=axis))


MSE = mse = mean_squared_error
MAE = mae = mean_absolute_error


class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-example values, ``__call__`` reduces them."""

    def __init__(self, reduction: str = "auto", name: str | None = None) -> None:
        if reduction not in ("auto", "sum_over_batch_size", "sum", "none"):
            raise ValueError(f"Invalid Reduction Key: {reduction!r}; use 'auto', 'sum_over_batch_size', 'sum' or 'none'")
        self.reduction = reduction
        self.name = name if name is not None else type(self).__name__

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            values = wrap(cr.multiply(values, operand(sample_weight, values.dtype)))
        if self.reduction == "none":
            return values
        if self.reduction == "sum":
            return wrap(cr.sum(values))
        return wrap(cr.mean(values))


class MeanSquaredError(Loss):
    """Mean squared error, averaged over the batch.

    >>> from chainrule import tf
    >>> tf.keras.losses.MeanSquaredError()([1.0, 2.0], [1.0, 4.0]).numpy()
    np.float32(2.0)
    """

    def __init__(self, reduction: str = "auto", name: str = "mean_squared_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """Mean absolute error, averaged over the batch.

    >>> from chainrule import tf
    >>> tf.keras.losses.MeanAbsoluteError()([1.0, 2.0], [1.0, 4.0]).numpy()
    np.float32(1.0)
    """

    def __init__(self, reduction: str = "auto", name: str = "mean_absolute_error") -> None:
        super().__init__(reduction, name)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return mean_absolute_error(y_true, y_pred)


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot (or probability) targets, averaged over the batch.

    >>> from chainrule import tf
    >>> loss = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
    >>> loss([[1.0, 0.0]], [[0.0, 0.0]]).numpy().round(4)
    np.float32(0.6931)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "auto", name: str = "categorical_crossentropy") -> None:  # fmt: skip
        super().__init__(reduction, name)
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), int(axis)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing, self.axis)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class targets, averaged over the batch.

    >>> from chainrule import tf
    >>> loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> loss([0, 1], [[0.0, 0.0], [0.0, 0.0]]).numpy().round(4)
    np.float32(0.6931)
    """

    def __init__(self, from_logits: bool = False, reduction: str = "auto",
                 name: str = "sparse_categorical_crossentropy") -> None:  # fmt: skip
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)


class BinaryCrossentropy(Loss):
    """Logistic loss, averaged over the last axis and the batch.

    >>> from chainrule import tf
    >>> tf.keras.losses.BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]).numpy().round(4)
    np.float32(0.6931)
    """

    def __init__(self, from_logits: bool = False, reduction: str = "auto", name: str = "binary_crossentropy") -> None:
        super().__init__(reduction, name)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        return binary_crossentropy(y_true, y_pred, self.from_logits)
