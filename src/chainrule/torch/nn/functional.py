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
from chainrule.torch._tensor import Tensor, as_dialect, label, numpy_of, wrap
from chainrule.torch._unsupported import missing_attribute, unsupported

__all__ = [
    "relu", "sigmoid", "tanh", "softmax", "log_softmax", "leaky_relu", "gelu", "linear",
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "binary_cross_entropy_with_logits",
    "one_hot", "dropout", "conv2d", "max_pool2d", "avg_pool2d", "relu6", "silu", "elu",
    "softplus", "logsigmoid", "hardtanh", "normalize",
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
    x = as_dialect(input)
    result = wrap(_NF.linear(x, weight, bias))
    if bias is None:
        return result
    # PyTorch: one fused addmm for a batch of vectors, a view of it for other ranks.
    return label(result, "AddmmBackward0" if numpy_of(x).ndim == 2 else "ViewBackward0", x, weight, bias)


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
    result = wrap(cr.cross_entropy(logits, labels, axis=axis, reduction=reduction))
    if numpy_of(labels).dtype.kind in "iu":
        return label(result, "NllLossBackward0", logits)
    # Class probabilities: PyTorch's last step is the mean's division, or the negation.
    return label(result, "DivBackward1" if reduction == "mean" else "NegBackward0", logits)


def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
             reduction: str = "mean") -> Tensor:  # fmt: skip
    """Mean squared error (``reduction`` 'mean', 'sum' or 'none').

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.mse_loss(torch.tensor([1., 2.]), torch.tensor([1., 4.]))
    tensor(2.)
    """
    x = as_dialect(input)
    result = wrap(_NF.mse_loss(x, as_dialect(target), _reduction(size_average, reduce, reduction)))
    return label(result, "MseLossBackward0", x)


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
    x = as_dialect(input)
    result = wrap(_NF.binary_cross_entropy_with_logits(x, as_dialect(target), reduction))
    return label(result, "BinaryCrossEntropyWithLogitsBackward0", x)


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


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: Any = None,  # noqa: A002
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:  # fmt: skip
    """Negative log-likelihood: ``-input[n, target[n]]`` (classes along dimension 1), averaged
    over the samples by default. ``input`` holds log-probabilities (``log_softmax`` output).

    ``weight`` is not supported, and ``ignore_index`` only while no target equals it.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.nll_loss(torch.tensor([[-1., -2.], [-3., -4.]]), torch.tensor([0, 1]))
    tensor(2.5000)
    """
    reduction = _reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if weight is not None:
        raise unsupported("nll_loss(weight=...)", "class weights are not implemented; weight the loss per sample with reduction='none'")
    x, labels = as_dialect(input), as_dialect(target)
    xs, ts = numpy_of(x), numpy_of(labels)
    if ts.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected target of integer class indices (torch.int64), got {ts.dtype}")
    if xs.ndim == 1:
        expected: tuple[int, ...] = ()
    else:
        expected = (xs.shape[0],) + xs.shape[2:]
    if ts.shape != expected:
        raise ValueError(
            f"nll_loss: input of shape {list(xs.shape)} (classes along dimension {0 if xs.ndim == 1 else 1}) "
            f"needs a target of shape {list(expected)}, got {list(ts.shape)}"
        )
    if ignore_index != -100 and bool((ts == ignore_index).any()):
        raise unsupported("nll_loss(ignore_index=...)", "a target equals ignore_index; drop those samples first")
    if not bool(((ts >= 0) & (ts < xs.shape[0 if xs.ndim == 1 else 1])).all()):
        raise IndexError(f"nll_loss: a target is out of bounds for {xs.shape[0 if xs.ndim == 1 else 1]} classes")
    axis = 0 if xs.ndim == 1 else 1
    # Select by comparing with the class numbers rather than by gathering: the comparison is
    # elementwise, so it also works per example inside vmap (where targets are batched values).
    classes = cr.reshape(cr.arange(xs.shape[axis]), (xs.shape[axis],) + (1,) * (xs.ndim - axis - 1))
    chosen = cr.equal(labels if xs.ndim == 1 else cr.expand_dims(labels, axis), classes)
    picked = cr.sum(cr.where(chosen, x, cr.zeros_like(x)), axis=axis)
    losses = cr.neg(picked)
    if reduction == "mean":
        losses = cr.mean(losses)
    elif reduction == "sum":
        losses = cr.sum(losses)
    return label(wrap(losses), "NllLossBackward0", x)


def _unsupported_arg(op: str, **given: Any) -> None:
    for name, (value, default) in given.items():
        if value != default:
            raise unsupported(f"{op}({name}={value!r})", f"only {name}={default!r} is implemented")


def _batched_4d(x: Any, op: str) -> tuple[Any, bool]:
    """``(N, C, H, W)`` input, and whether it was an unbatched ``(C, H, W)`` one."""
    ndim = numpy_of(x).ndim
    if ndim == 3:
        return cr.expand_dims(x, 0), True
    if ndim != 4:
        raise RuntimeError(f"{op}: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got {ndim}-D input of shape {list(numpy_of(x).shape)}")
    return x, False


def _conv_padding(padding: Any, kernel: tuple[int, ...], stride: Any, op: str) -> Any:
    if padding == "valid":
        return 0
    if padding == "same":
        strides = (stride, stride) if isinstance(stride, int) else tuple(stride)
        if any(s != 1 for s in strides):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        if any(k % 2 == 0 for k in kernel):
            raise unsupported(f"{op}(padding='same')", "even kernel sizes need asymmetric padding; pad the input with explicit sizes")
        return tuple(k // 2 for k in kernel)
    return padding


def conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,  # noqa: A002
           dilation: Any = 1, groups: int = 1) -> Tensor:  # fmt: skip
    """2-D convolution (cross-correlation) of ``(N, C, H, W)`` or ``(C, H, W)`` input with an
    ``(out, C, kh, kw)`` weight. ``dilation`` and ``groups`` other than 1 are not supported.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2))
    tensor([[[[4., 4.],
              [4., 4.]]]])
    """
    _unsupported_arg("conv2d", dilation=(dilation if isinstance(dilation, int) else tuple(dilation),
                                         1 if isinstance(dilation, int) else (1, 1)), groups=(groups, 1))  # fmt: skip
    x, unbatched = _batched_4d(as_dialect(input), "conv2d")
    w = as_dialect(weight)
    pad = _conv_padding(padding, tuple(numpy_of(w).shape[2:]), stride, "conv2d")
    out = _NF.conv2d(x, w, None if bias is None else as_dialect(bias), stride=stride, padding=pad)
    if unbatched:
        out = cr.squeeze(out, 0)
    return label(wrap(out), "ConvolutionBackward0", x, w)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,  # noqa: A002
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:  # fmt: skip
    """Maximum over each window of ``(N, C, H, W)`` or ``(C, H, W)`` input (``stride`` defaults
    to ``kernel_size``); the gradient goes to the first maximal entry of each window.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.max_pool2d(torch.arange(16.).view(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    _unsupported_arg("max_pool2d", dilation=(dilation, 1), ceil_mode=(bool(ceil_mode), False),
                     return_indices=(bool(return_indices), False))  # fmt: skip
    x, unbatched = _batched_4d(as_dialect(input), "max_pool2d")
    out = cr.max_pool2d(x, kernel_size, stride if stride not in (None, []) else None, padding)
    if unbatched:
        out = cr.squeeze(out, 0)
    return label(wrap(out), "MaxPool2DWithIndicesBackward0", x)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,  # noqa: A002
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:  # fmt: skip
    """Mean over each window of ``(N, C, H, W)`` or ``(C, H, W)`` input (zero padding counts in
    the mean, as with PyTorch's default ``count_include_pad=True``).

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.avg_pool2d(torch.arange(16.).view(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    _unsupported_arg("avg_pool2d", ceil_mode=(bool(ceil_mode), False),
                     count_include_pad=(bool(count_include_pad), True), divisor_override=(divisor_override, None))  # fmt: skip
    x, unbatched = _batched_4d(as_dialect(input), "avg_pool2d")
    out = cr.avg_pool2d(x, kernel_size, stride if stride not in (None, []) else None, padding)
    if unbatched:
        out = cr.squeeze(out, 0)
    return label(wrap(out), "AvgPool2DBackward0", x)


def relu6(input: Any, inplace: bool = False) -> Tensor:  # noqa: A002
    """``min(max(x, 0), 6)``.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.relu6(torch.tensor([-1., 3., 9.]))
    tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0)


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` clipped to ``[min_val, max_val]``.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.hardtanh(torch.tensor([-2., 0.5, 2.]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    return wrap(cr.clip(as_dialect(input), min_val, max_val))


def silu(input: Any, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x * sigmoid(x)`` (also called swish).

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.silu(torch.tensor([0.]))
    tensor([0.])
    """
    x = as_dialect(input)
    return wrap(cr.multiply(x, cr.sigmoid(x)))


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.elu(torch.tensor([1., 0.]))
    tensor([1., 0.])
    """
    x = as_dialect(input)
    negative = cr.multiply(cr.expm1(cr.minimum(x, 0.0)), alpha)
    return wrap(cr.where(cr.greater(x, 0.0), x, negative))


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (as PyTorch) for stability.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.softplus(torch.tensor([0.]))
    tensor([0.6931])
    """
    x = as_dialect(input)
    scaled = cr.multiply(x, beta)
    # log1p(exp(z)) = max(z, 0) + log1p(exp(-|z|)): finite for any z.
    smooth = cr.divide(cr.add(cr.maximum(scaled, 0.0), cr.log1p(cr.exp(cr.neg(cr.abs(scaled))))), beta)
    return wrap(cr.where(cr.greater(scaled, threshold), x, smooth))


def logsigmoid(input: Any) -> Tensor:  # noqa: A002
    """``log(sigmoid(x))``, computed stably.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.logsigmoid(torch.tensor([0.]))
    tensor([-0.6931])
    """
    x = as_dialect(input)
    return wrap(cr.neg(softplus(cr.neg(x))))


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """``x / max(||x||_p, eps)`` along ``dim``.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> F.normalize(torch.tensor([[3., 4.]]))
    tensor([[0.6000, 0.8000]])
    """
    x = as_dialect(input)
    order = None if p == 2 else p
    n = cr.norm(x, order, dim, keepdims=True)
    return wrap(cr.divide(x, cr.maximum(n, eps)))


__getattr__ = missing_attribute("torch.nn.functional")
