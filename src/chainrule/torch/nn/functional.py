"""``torch.nn.functional``: losses and activations, mapped onto ``chainrule.nn.functional``.

>>> from chainrule import torch
>>> import chainrule.torch.nn.functional as F
>>> logits = torch.tensor([[2., 0., 0.], [0., 2., 0.]])
>>> F.cross_entropy(logits, torch.tensor([0, 1]))
tensor(0.2395)
>>> F.cross_entropy(logits, torch.tensor([[1., 0., 0.], [0., 1., 0.]]))
tensor(0.2395)
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule import nn as _native_nn
from chainrule.torch._creation import default_generator
from chainrule.torch._functions import log_softmax, relu, sigmoid, softmax, tanh
from chainrule.torch._tensor import Tensor, as_dialect, numpy_of, wrap

__all__ = [
    "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "gelu", "linear",
    "cross_entropy", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "one_hot",
    "dropout",
]  # fmt: skip

_NF = _native_nn.functional


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        raise NotImplementedError(
            "size_average= and reduce= are deprecated in PyTorch and not supported here; use "
            "reduction='mean' | 'sum' | 'none'"
        )
    return reduction


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.leaky_relu(torch.tensor([-1., 2.]), 0.1)
    tensor([-0.1000,  2.0000])
    """
    return wrap(_NF.leaky_relu(as_dialect(input), negative_slope))


def gelu(input: Any, approximate: str = "none") -> Tensor:  # noqa: A002
    """Gaussian error linear unit (the exact, erf-based form).

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.gelu(torch.tensor([0.]))
    tensor([0.])
    """
    if approximate != "none":
        raise NotImplementedError("gelu: only approximate='none' is supported")
    return wrap(_NF.gelu(as_dialect(input)))


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:  # noqa: A002
    """``input @ weight.T + bias``.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.linear(torch.ones(1, 2), torch.ones(3, 2), torch.zeros(3))
    tensor([[2., 2., 2.]])
    """
    return wrap(_NF.linear(as_dialect(input), weight, bias))


def cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:  # fmt: skip
    """Cross-entropy of ``softmax(input)`` along dimension 1 against class indices (int64)
    or class probabilities shaped like ``input`` (as PyTorch).

    ``weight``, ``ignore_index`` and ``label_smoothing`` are not supported (they raise).

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.cross_entropy(torch.zeros(1, 2), torch.tensor([1]))
    tensor(0.6931)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if weight is not None or label_smoothing != 0.0:
        raise NotImplementedError("cross_entropy: weight= and label_smoothing= are not supported by chainrule")
    logits, labels = as_dialect(input), as_dialect(target)
    if ignore_index != -100 and numpy_of(labels).dtype.kind in "iu" and (numpy_of(labels) == ignore_index).any():
        raise NotImplementedError("cross_entropy: ignore_index is not supported by chainrule")
    axis = 1 if numpy_of(logits).ndim >= 2 else 0
    if axis == 1 and numpy_of(logits).ndim > 2:
        # Classes along dimension 1 (PyTorch) -> last (native): move the axis, same values.
        logits = cr.moveaxis(logits, 1, -1)
        if numpy_of(labels).dtype.kind == "f":
            labels = cr.moveaxis(labels, 1, -1)
        axis = -1
    return wrap(cr.cross_entropy(logits, labels, axis=axis, reduction=reduction))


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
             reduction: str = "mean") -> Tensor:  # fmt: skip
    """Mean squared error (``reduction`` 'mean', 'sum' or 'none').

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.mse_loss(torch.tensor([1., 2.]), torch.tensor([1., 4.]))
    tensor(2.)
    """
    return wrap(_NF.mse_loss(as_dialect(input), as_dialect(target), _reduction(size_average, reduce, reduction)))


def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
            reduction: str = "mean") -> Tensor:  # fmt: skip
    """Mean absolute error.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.l1_loss(torch.tensor([1., 2.]), torch.tensor([1., 4.]))
    tensor(1.)
    """
    return wrap(_NF.l1_loss(as_dialect(input), as_dialect(target), _reduction(size_average, reduce, reduction)))


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,  # noqa: A002
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean", pos_weight: Any = None) -> Tensor:  # fmt: skip
    """Binary cross-entropy of ``sigmoid(input)`` against targets in [0, 1], computed stably.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.binary_cross_entropy_with_logits(torch.tensor([0.]), torch.tensor([1.]))
    tensor(0.6931)
    """
    if weight is not None or pos_weight is not None:
        raise NotImplementedError("binary_cross_entropy_with_logits: weight= and pos_weight= are not supported")
    reduction = _reduction(size_average, reduce, reduction)
    return wrap(_NF.binary_cross_entropy_with_logits(as_dialect(input), as_dialect(target), reduction))


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """One-hot rows (int64, as PyTorch) for integer class labels.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.one_hot(torch.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    labels = as_dialect(tensor)
    if numpy_of(labels).dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    return wrap(cr.astype(cr.one_hot(labels, None if num_classes == -1 else num_classes), "int64"))


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    The mask is drawn from PyTorch's stream as U(0, 1) >= p; PyTorch's own dropout draws
    Bernoulli samples differently, so the masks differ from PyTorch's.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.dropout(torch.ones(3), p=0.0)
    tensor([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_dialect(input)
    if not training or p == 0.0:
        return wrap(x)
    keep = default_generator.uniform(numpy_of(x).size, "float64").reshape(numpy_of(x).shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return wrap(cr.multiply(x, cr.tensor((keep * scale).astype(numpy_of(x).dtype))))
