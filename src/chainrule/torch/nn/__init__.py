"""``torch.nn``: chainrule's modules under PyTorch's names.

Each class is the native ``chainrule.nn`` class with a thin mixin: its results and parameters get
the dialect's tensor class (PyTorch printing), parameters are float32 by default, and ``Linear``
and ``Conv2d`` draw their initial weights from PyTorch's random stream with PyTorch's
initialisation, so ``torch.manual_seed(0); nn.Linear(3, 2)`` has PyTorch's weights.

>>> from chainrule import torch
>>> from chainrule.torch import nn
>>> _ = torch.manual_seed(0)
>>> layer = nn.Linear(2, 1)
>>> layer.weight
Parameter containing:
tensor([[-0.0053,  0.3793]], requires_grad=True)
>>> model = nn.Sequential(layer, nn.ReLU())
>>> model(torch.ones(1, 2))
tensor([[0.]], grad_fn=<ReluBackward0>)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import nn as _native
from chainrule.torch import _dtypes
from chainrule.torch._tensor import Parameter, wrap, wrap_tree
from chainrule.torch._unsupported import missing_attribute, unsupported
from chainrule.torch.nn import functional, init, parameter

__all__ = [
    "Module", "Parameter", "ModuleList", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout",
    "BatchNorm1d", "Sequential", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax",
    "LogSoftmax", "GELU", "SiLU", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss",
    "functional", "init", "parameter",
]  # fmt: skip

_NativeParameter = _native.Parameter


def _float_dtype(dtype: Any) -> np.dtype:
    return _dtypes.to_numpy_dtype(dtype) or _dtypes.default_numpy_dtype()


class _IncompatibleKeys(_native.IncompatibleKeys):
    """``load_state_dict``'s result, printed as PyTorch prints it."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


class Module(_native.Module):
    """Base class of layers and models (``chainrule.nn.Module`` with PyTorch's printing).

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> class Scale(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.s = nn.Parameter(torch.tensor([2.]))
    ...     def forward(self, x):
    ...         return x * self.s
    >>> Scale()(torch.tensor([3.]))
    tensor([6.], grad_fn=<MulBackward0>)
    """

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, wrap(value) if isinstance(value, _NativeParameter) else value)

    def register_parameter(self, name: str, param: Any) -> None:
        """Register ``param`` (or None) under ``name``."""
        super().register_parameter(name, wrap(param))

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register non-trainable state under ``name``."""
        super().register_buffer(name, wrap(tensor), persistent)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return wrap_tree(super().__call__(*args, **kwargs))

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Copy values from ``state_dict`` into the parameters and buffers (names and shapes
        checked).

        >>> from chainrule.torch import nn
        >>> nn.Linear(2, 1).load_state_dict(nn.Linear(2, 1).state_dict())
        <All keys matched successfully>
        """
        return _IncompatibleKeys(*super().load_state_dict(state_dict, strict))

    def to(self, *args: Any, **kwargs: Any) -> Module:  # type: ignore[override]
        """Convert floating-point parameters to a dtype; devices other than the CPU are refused."""
        target = None
        for value in list(args) + [kwargs.get("dtype"), kwargs.get("device")]:
            if value is None or isinstance(value, bool):
                continue
            if isinstance(value, (str, _dtypes.device)) or type(value) is int:
                _dtypes.check_device(value, "Module.to")
            else:
                target = _dtypes.to_numpy_dtype(value)
        return self if target is None else super().to(target)

    def cpu(self) -> Module:
        """The module itself."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """Refused: chainrule has no GPU backend."""
        _dtypes.check_device("cuda", "Module.cuda")
        return self  # pragma: no cover - device() raises


class ModuleList(Module):
    """A list of sub-modules, registered as ``"0"``, ``"1"``, ... (composed from the native
    ``Module.add_module``).

    >>> from chainrule.torch import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    >>> len(layers), len(list(layers.parameters()))
    (2, 2)
    """

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        for module in modules or ():
            self.append(module)

    def append(self, module: Any) -> ModuleList:
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Any) -> ModuleList:
        """Add each of ``modules`` at the end."""
        for module in modules:
            self.append(module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Any:
        return iter(self._modules.values())

    def __getitem__(self, index: Any) -> Any:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[index]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList is a container: call the modules it holds")


def _torch_uniform_(param: Any, bound: float) -> None:
    from chainrule.torch import no_grad

    with no_grad():
        param.uniform_(-bound, bound)


def _kaiming_bound(fan_in: int) -> float:
    # kaiming_uniform_ with a = sqrt(5), as PyTorch's Linear and Conv2d do.
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
    return math.sqrt(3.0) * (gain / math.sqrt(fan_in))


class Linear(Module, _native.Linear):
    """``y = x @ weight.T + bias``, initialised as PyTorch does, from PyTorch's stream.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.Linear(4, 3)(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:  # fmt: skip
        _dtypes.check_device(device, "nn.Linear")
        _native.Linear.__init__(self, in_features, out_features, bias, dtype=_float_dtype(dtype))
        _torch_uniform_(self.weight, _kaiming_bound(in_features))
        if self.bias is not None:
            _torch_uniform_(self.bias, 1.0 / math.sqrt(in_features) if in_features > 0 else 0.0)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return functional.linear(input, self.weight, self.bias)


class Conv2d(Module, _native.Conv2d):
    """2-D convolution (NCHW), initialised as PyTorch does, from PyTorch's stream.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.Conv2d(1, 4, 3)(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 4, 6, 6])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:  # fmt: skip
        # PyTorch's positional order: (in, out, kernel_size, stride, padding, dilation, groups, bias).
        _dtypes.check_device(device, "nn.Conv2d")
        if dilation not in (1, (1, 1)) or groups != 1 or padding_mode != "zeros":
            raise unsupported("nn.Conv2d(dilation=, groups=, padding_mode=)",
                              "only dilation=1, groups=1 and padding_mode='zeros' are implemented")  # fmt: skip
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self_padding = functional._conv_padding(padding, kernel, stride, "nn.Conv2d")
        _native.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride, self_padding, bias,
                                dtype=_float_dtype(dtype))  # fmt: skip
        fan_in = int(np.prod(self.weight.shape[1:]))
        _torch_uniform_(self.weight, _kaiming_bound(fan_in))
        if self.bias is not None:
            _torch_uniform_(self.bias, 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return functional.conv2d(input, self.weight, self.bias, self.stride, self.padding)


class Sequential(Module, _native.Sequential):
    """Modules applied in order.

    >>> from chainrule.torch import nn
    >>> nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    Sequential(
      (0): Linear(in_features=2, out_features=2, bias=True)
      (1): ReLU()
    )
    """


class ReLU(Module, _native.ReLU):
    """``max(x, 0)`` (``inplace`` is accepted and ignored)."""

    def __init__(self, inplace: bool = False) -> None:
        _native.ReLU.__init__(self)


class LeakyReLU(Module, _native.LeakyReLU):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        _native.LeakyReLU.__init__(self, negative_slope)


class Tanh(Module, _native.Tanh):
    """Hyperbolic tangent."""


class Sigmoid(Module, _native.Sigmoid):
    """Logistic sigmoid."""


class GELU(Module, _native.GELU):
    """Gaussian error linear unit."""


class Identity(Module, _native.Identity):
    """Returns its input."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _native.Identity.__init__(self)


class Flatten(Module, _native.Flatten):
    """Merge dimensions ``start_dim..end_dim`` (from 1 by default, keeping the batch)."""


class Softmax(Module, _native.Softmax):
    """Softmax along ``dim`` (PyTorch's implicit choice when None)."""

    def __init__(self, dim: int | None = None) -> None:
        _native.Softmax.__init__(self, -1 if dim is None else dim)
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return functional.softmax(x, self.dim)


class LogSoftmax(Module, _native.LogSoftmax):
    """Log-softmax along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        _native.LogSoftmax.__init__(self, -1 if dim is None else dim)
        self.dim = dim

    def forward(self, x: Any) -> Any:
        return functional.log_softmax(x, self.dim)


class Dropout(Module, _native.Dropout):
    """Dropout with masks from PyTorch's stream (not PyTorch's masks; see ``functional.dropout``)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        _native.Dropout.__init__(self, p)

    def forward(self, x: Any) -> Any:
        return functional.dropout(x, self.p, self.training)


class MaxPool2d(Module, _native.MaxPool2d):
    """2-D max pooling (``F.max_pool2d`` with the module's settings).

    >>> from chainrule.torch import nn
    >>> nn.MaxPool2d(2)
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:  # fmt: skip
        _native.MaxPool2d.__init__(self, kernel_size, stride)
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Any) -> Any:  # noqa: A002
        return functional.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                                     self.ceil_mode, self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")  # fmt: skip


class AvgPool2d(Module, _native.AvgPool2d):
    """2-D average pooling (``F.avg_pool2d`` with the module's settings).

    >>> from chainrule.torch import nn
    >>> nn.AvgPool2d(2)
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: Any = None) -> None:  # fmt: skip
        _native.AvgPool2d.__init__(self, kernel_size, stride)
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Any) -> Any:  # noqa: A002
        return functional.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                     self.count_include_pad, self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class SiLU(Module):
    """``x * sigmoid(x)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:  # noqa: A002
        return functional.silu(input)


class BatchNorm1d(Module, _native.BatchNorm1d):
    """Batch normalisation over (N, C) or (N, C, L) inputs."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:  # fmt: skip
        _dtypes.check_device(device, "nn.BatchNorm1d")
        _native.BatchNorm1d.__init__(self, num_features, eps, momentum, affine, track_running_stats,
                                     dtype=_float_dtype(dtype))  # fmt: skip


def _loss_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        raise NotImplementedError("size_average= and reduce= are not supported; use reduction=")
    return reduction


class MSELoss(Module, _native.MSELoss):
    """Mean squared error.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.MSELoss()(torch.tensor([1., 2.]), torch.tensor([1., 4.]))
    tensor(2.)
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        _native.MSELoss.__init__(self, _loss_reduction(size_average, reduce, reduction))

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return functional.mse_loss(input, target, reduction=self.reduction)


class L1Loss(Module, _native.L1Loss):
    """Mean absolute error."""

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        _native.L1Loss.__init__(self, _loss_reduction(size_average, reduce, reduction))


class CrossEntropyLoss(Module, _native.CrossEntropyLoss):
    """Cross-entropy of softmax(logits) against class indices or class probabilities.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.CrossEntropyLoss()(torch.zeros(2, 2), torch.tensor([0, 1]))
    tensor(0.6931)
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:  # fmt: skip
        if weight is not None or label_smoothing != 0.0:
            raise NotImplementedError("CrossEntropyLoss: weight= and label_smoothing= are not supported by chainrule")
        _native.CrossEntropyLoss.__init__(self, _loss_reduction(size_average, reduce, reduction))
        self.ignore_index = ignore_index

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return functional.cross_entropy(input, target, ignore_index=self.ignore_index, reduction=self.reduction)


class BCEWithLogitsLoss(Module, _native.BCEWithLogitsLoss):
    """Binary cross-entropy on logits."""

    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:  # fmt: skip
        if weight is not None or pos_weight is not None:
            raise NotImplementedError("BCEWithLogitsLoss: weight= and pos_weight= are not supported")
        _native.BCEWithLogitsLoss.__init__(self, _loss_reduction(size_average, reduce, reduction))

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return functional.binary_cross_entropy_with_logits(input, target, reduction=self.reduction)


class NLLLoss(Module):
    """Negative log-likelihood of log-probabilities against class indices (``F.nll_loss``).

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.NLLLoss()(torch.tensor([[-1., -2.]]), torch.tensor([1]))
    tensor(2.)
    """

    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean") -> None:  # fmt: skip
        super().__init__()
        if weight is not None:
            raise unsupported("NLLLoss(weight=...)", "class weights are not implemented")
        self.ignore_index = ignore_index
        self.reduction = _loss_reduction(size_average, reduce, reduction)

    def forward(self, input: Any, target: Any) -> Any:  # noqa: A002
        return functional.nll_loss(input, target, ignore_index=self.ignore_index, reduction=self.reduction)



__getattr__ = missing_attribute("torch.nn")
