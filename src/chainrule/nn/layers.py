"""Layers: Linear, Conv2d, pooling, Flatten, Dropout, BatchNorm1d, Sequential and activations.

Weights start as PyTorch's do: a Linear or Conv2d layer draws weight and bias from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), from ``generator`` (a seeded NumPy Generator or an int seed)
or, without one, from ``chainrule.random.generator()``. Parameters are float64 unless ``dtype``
says otherwise (``Module.to(np.float32)`` converts a whole model).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter

__all__ = [
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d",
    "Sequential", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "GELU",
]  # fmt: skip


def _float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"layer parameters must be floating point, got dtype {dt}")
    return dt


def _positive_int(value: Any, name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


def _pair(value: Any, name: str, layer: str, minimum: int = 1) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum for v in pair):
        raise ValueError(f"{layer}: {name} must be an int >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _uniform_parameter(shape: tuple[int, ...], bound: float, generator: Any, dtype: np.dtype) -> Parameter:
    param = Parameter(np.zeros(shape, dtype=dtype))
    init.uniform_(param, -bound, bound, generator)
    return param


class Linear(Module):
    """``y = x @ weight.T + bias``, with ``weight`` of shape (out_features, in_features).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.Linear(2, 3, generator=0)
    >>> layer
    Linear(in_features=2, out_features=3, bias=True)
    >>> layer(cr.ones(5, 2)).shape
    (5, 3)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 generator: Any = None, dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Linear")
        self.out_features = _positive_int(out_features, "out_features", "Linear")
        dt = _float_dtype(dtype)
        gen = init._gen(generator)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = _uniform_parameter((self.out_features, self.in_features), bound, gen, dt)
        if bias:
            self.bias = _uniform_parameter((self.out_features,), bound, gen, dt)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x._data if isinstance(x, Tensor) else x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: expected input with last dimension {self.in_features}, got shape {shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution over NCHW input with a kernel of shape (out, in, kh, kw).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> conv = nn.Conv2d(1, 4, 3, padding=1, generator=0)
    >>> conv
    Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv(cr.zeros(2, 1, 8, 8)).shape
    (2, 4, 8, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, bias: bool = True, generator: Any = None,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = _positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = _pair(stride, "stride", "Conv2d")
        self.padding = _pair(padding, "padding", "Conv2d", minimum=0)
        dt = _float_dtype(dtype)
        gen = init._gen(generator)
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = _uniform_parameter((self.out_channels, self.in_channels, *self.kernel_size), bound, gen, dt)
        if bias:
            self.bias = _uniform_parameter((self.out_channels,), bound, gen, dt)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x._data if isinstance(x, Tensor) else x)
        if len(shape) != 4 or shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d: expected NCHW input with {self.in_channels} channel(s), got shape {shape}"
            )
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")  # fmt: skip
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """Maximum over windows of NCHW input (stride defaults to the window size).

    >>> from chainrule import nn
    >>> nn.MaxPool2d(2)
    MaxPool2d(kernel_size=2, stride=2)
    """

    def __init__(self, kernel_size: Any, stride: Any = None) -> None:
        super().__init__()
        _pair(kernel_size, "kernel_size", "MaxPool2d")
        if stride is not None:
            _pair(stride, "stride", "MaxPool2d")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


class AvgPool2d(MaxPool2d):
    """Mean over windows of NCHW input (stride defaults to the window size).

    >>> from chainrule import nn
    >>> nn.AvgPool2d(2)
    AvgPool2d(kernel_size=2, stride=2)
    """

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride)


class Flatten(Module):
    """Merge dimensions ``start_dim``..``end_dim`` (by default everything but the batch).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Flatten()(cr.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Zero entries with probability ``p`` while training (scaling the rest by 1/(1-p)); the
    identity in eval mode.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Dropout(0.5).eval()(cr.ones(3))
    tensor([1., 1., 1.], dtype=float64)
    """

    def __init__(self, p: float = 0.5, generator: Any = None) -> None:
        super().__init__()
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = float(p)
        self.generator = None if generator is None else init._gen(generator)

    def forward(self, x: Any) -> Tensor:
        if not self.training or self.p == 0.0:
            return x if isinstance(x, Tensor) else Tensor(x)
        return F.dropout(x, self.p, training=True, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) or (N, C, L) input, with learnable scale and shift.

    Training mode normalises with the batch's statistics and moves ``running_mean`` and
    ``running_var`` towards them by ``momentum``; eval mode uses the running statistics.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> bn
    BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    >>> y = bn(cr.tensor([[1.0, 2.0], [3.0, 6.0]]))
    >>> bn.running_mean
    tensor([0.2, 0.4], dtype=float64)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.num_features = _positive_int(num_features, "num_features", "BatchNorm1d")
        if not eps > 0:
            raise ValueError(f"BatchNorm1d: eps must be > 0, got {eps}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be between 0 and 1, got {momentum}")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = _float_dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dt))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x: Any) -> Tensor:
        shape = np.shape(x._data if isinstance(x, Tensor) else x)
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: expected (N, {self.num_features}) or (N, {self.num_features}, L) "
                f"input, got shape {shape}"
            )
        training = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._version += 1
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            training=training, momentum=self.momentum, eps=self.eps,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")  # fmt: skip


class Sequential(Module):
    """Modules applied one after another; indexable, sliceable and sized.

    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> len(model), model[1]
    (3, ReLU())
    >>> model
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=2, bias=True)
    )
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for index, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(
                        f"Sequential: argument {index} is a {type(module).__name__}, not a Module"
                    )
                self.add_module(str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(modules[index]))
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential indices must be integers or slices, not {type(index).__name__}")
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"Sequential index {index} is out of range for {len(modules)} module(s)")
        return modules[index][1]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end.

        >>> from chainrule import nn
        >>> len(nn.Sequential().append(nn.ReLU()))
        1
        """
        self.add_module(str(len(self._modules)), module)
        return self


class Identity(Module):
    """Returns its input.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Identity()(cr.tensor(1.0))
    tensor(1., dtype=float64)
    """

    def forward(self, x: Any) -> Any:
        return x


class ReLU(Module):
    """max(x, 0) elementwise.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.ReLU()(cr.tensor([-1.0, 1.0]))
    tensor([0., 1.], dtype=float64)
    """

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, ``negative_slope * x`` elsewhere.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.LeakyReLU(0.1)(cr.tensor([-1.0, 1.0]))
    tensor([-0.1,  1. ], dtype=float64)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """Hyperbolic tangent elementwise.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Tanh()(cr.tensor(0.0))
    tensor(0., dtype=float64)
    """

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """Logistic sigmoid elementwise.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Sigmoid()(cr.tensor(0.0))
    tensor(0.5, dtype=float64)
    """

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class GELU(Module):
    """GELU, x·Φ(x), elementwise.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.GELU()(cr.tensor(0.0))
    tensor(0., dtype=float64)
    """

    def forward(self, x: Any) -> Tensor:
        return F.gelu(x)


class Softmax(Module):
    """Softmax along ``dim``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.Softmax(dim=-1)(cr.tensor([0.0, 0.0]))
    tensor([0.5, 0.5], dtype=float64)
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> round(float(nn.LogSoftmax()(cr.tensor([0.0, 0.0]))[0]), 4)
    -0.6931
    """

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)
