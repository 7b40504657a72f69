"""Functional forms of the layers and losses: thin calls into chainrule's ops.

Argument names follow PyTorch's ``torch.nn.functional`` (``dim`` where chainrule's ops say
``axis``), so code written against one reads the same against the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.core.modes import no_grad
from chainrule.core.tensor import Tensor

__all__ = [
    "linear", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "softmax", "log_softmax",
    "dropout", "conv2d", "max_pool2d", "avg_pool2d", "flatten", "batch_norm", "one_hot",
    "mse_loss", "l1_loss", "cross_entropy", "binary_cross_entropy_with_logits",
]  # fmt: skip

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """``x @ weight.T + bias``, with ``weight`` of shape (out_features, in_features).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.linear(cr.ones(1, 2), cr.tensor([[1.0, 2.0]]), cr.tensor([0.5]))
    tensor([[3.5]], dtype=float64)
    """
    out = cr.matmul(x, weight.T)
    if bias is not None:
        out = out + bias
    return out


def relu(x: Any) -> Tensor:
    """max(x, 0) elementwise.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.], dtype=float64)
    """
    return cr.relu(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, ``negative_slope * x`` elsewhere.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.leaky_relu(cr.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ], dtype=float64)
    """
    return cr.leaky_relu(x, negative_slope)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent elementwise.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.tanh(cr.tensor(0.0))
    tensor(0., dtype=float64)
    """
    return cr.tanh(x)


def sigmoid(x: Any) -> Tensor:
    """Logistic sigmoid elementwise.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.sigmoid(cr.tensor(0.0))
    tensor(0.5, dtype=float64)
    """
    return cr.sigmoid(x)


def gelu(x: Any) -> Tensor:
    """GELU, x·Φ(x) (exact erf form).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.gelu(cr.tensor(0.0))
    tensor(0., dtype=float64)
    """
    return cr.gelu(x)


def softmax(x: Any, dim: int = -1) -> Tensor:
    """Softmax along ``dim``: exp(x) / sum(exp(x)), computed stably.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.softmax(cr.tensor([0.0, 0.0]))
    tensor([0.5, 0.5], dtype=float64)
    """
    return cr.softmax(x, axis=dim)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    """log(softmax(x)) along ``dim``, without forming the softmax.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> float(F.log_softmax(cr.tensor([0.0, 0.0]))[0])
    -0.6931471805599453
    """
    return cr.log_softmax(x, axis=dim)


def dropout(x: Any, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Zero each entry with probability ``p`` and scale the rest by 1/(1-p) when ``training``.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.dropout(cr.ones(3), 0.5, training=False)
    tensor([1., 1., 1.], dtype=float64)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be between 0 and 1, got {p}")
    return cr.dropout(x, p, training=training, generator=generator)


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0) -> Tensor:
    """2-D convolution (cross-correlation) of NCHW input with an OIHW kernel.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.conv2d(cr.ones(1, 1, 3, 3), cr.ones(1, 1, 2, 2)).shape
    (1, 1, 2, 2)
    """
    return cr.conv2d(x, weight, bias, stride=stride, padding=padding)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Maximum over each ``kernel_size`` window of NCHW input (stride defaults to the kernel).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]], dtype=float64)
    """
    return cr.max_pool2d(x, kernel_size, stride)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None) -> Tensor:
    """Mean over each ``kernel_size`` window of NCHW input (stride defaults to the kernel).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.avg_pool2d(cr.ones(1, 1, 4, 4), 2).shape
    (1, 1, 2, 2)
    """
    return cr.avg_pool2d(x, kernel_size, stride)


def flatten(x: Any, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim``..``end_dim`` into one (by default all but the batch one).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.flatten(cr.zeros(2, 3, 4)).shape
    (2, 12)
    """
    return cr.flatten(x, start_dim, end_dim)


def batch_norm(
    x: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of (N, C) or (N, C, L) input.

    In training (or without running statistics) the batch's mean and biased variance are used,
    and the running statistics, when given, move towards the batch's mean and unbiased variance
    by ``momentum``. Otherwise the running statistics are used.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> y = F.batch_norm(cr.tensor([[1.0], [3.0]]), None, None, training=True)
    >>> [round(v, 3) for v in y.numpy().ravel().tolist()]
    [-1.0, 1.0]
    """
    x = x if isinstance(x, Tensor) else cr.tensor(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected (N, C) or (N, C, L) input, got shape {x.shape}")
    axes = (0,) if x.ndim == 2 else (0, 2)
    channels = x.shape[1]
    shape = (1, channels) if x.ndim == 2 else (1, channels, 1)
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        count = x.size // channels
        if count < 2 and training:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of "
                f"shape {x.shape}"
            )
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        if training and running_mean is not None and running_var is not None:
            with no_grad():
                batch_mean = mean._data.reshape(channels)
                unbiased = var._data.reshape(channels) * (count / max(count - 1, 1))
                rm, rv = running_mean._data, running_var._data
                rm *= 1.0 - momentum
                rm += momentum * batch_mean.astype(rm.dtype, copy=False)
                rv *= 1.0 - momentum
                rv += momentum * unbiased.astype(rv.dtype, copy=False)
                running_mean._version += 1
                running_var._version += 1
    else:
        mean = running_mean.reshape(*shape)
        var = running_var.reshape(*shape)
    out = (x - mean) / cr.sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(*shape)
    if bias is not None:
        out = out + bias.reshape(*shape)
    return out


def one_hot(labels: Any, num_classes: int | None = None) -> Tensor:
    """Integer class labels as float64 rows of zeros with a one at each label.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.one_hot(cr.tensor([0, 2]), 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.]], dtype=float64)
    """
    return cr.one_hot(labels, num_classes)


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)², averaged (``mean``), summed or kept per element (``none``).

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.mse_loss(cr.tensor([1.0, 3.0]), cr.tensor([0.0, 0.0]))
    tensor(5., dtype=float64)
    """
    _check_reduction(reduction, "mse_loss")
    return cr.mse(pred, target, reduction=reduction)


def l1_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Absolute error |pred - target|, averaged, summed or kept per element.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> F.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0]))
    tensor(2., dtype=float64)
    """
    _check_reduction(reduction, "l1_loss")
    pred_shape = np.shape(pred._data if isinstance(pred, Tensor) else pred)
    target_shape = np.shape(target._data if isinstance(target, Tensor) else target)
    if pred_shape != target_shape:
        raise ValueError(
            f"l1_loss: prediction shape {pred_shape} and target shape {target_shape} differ; "
            "reshape one so that they match (broadcasting here is almost always a bug)"
        )
    return _reduce(cr.abs(pred - target), reduction)


def cross_entropy(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy between softmax(logits) and ``target``: integer class indices of shape (N,)
    or class probabilities shaped like ``logits``.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> round(float(F.cross_entropy(cr.tensor([[0.0, 0.0]]), cr.tensor([1]))), 4)
    0.6931
    """
    _check_reduction(reduction, "cross_entropy")
    return cr.cross_entropy(logits, target, reduction=reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed stably.

    >>> import chainrule as cr
    >>> from chainrule.nn import functional as F
    >>> round(float(F.binary_cross_entropy_with_logits(cr.tensor([0.0]), cr.tensor([1.0]))), 4)
    0.6931
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    return cr.binary_cross_entropy_with_logits(logits, target, reduction=reduction)
