"""Weight initialisers: fill a tensor in place from a seeded NumPy generator.

Every function takes ``generator=`` (a ``numpy.random.Generator``); without one it draws from
``chainrule.random.generator()``, which ``chainrule.random.seed`` resets. The fill is not recorded.

Fans: for a (out, in) matrix fan_in = in and fan_out = out; for a convolution kernel
(out, in, kh, kw) both are multiplied by the receptive field kh·kw.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule import random as _random
from chainrule.core.tensor import Tensor

__all__ = [
    "calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "zeros_", "ones_", "constant_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "glorot_uniform_", "glorot_normal_", "he_uniform_", "he_normal_",
]  # fmt: skip


def _gen(generator: Any) -> np.random.Generator:
    if generator is None:
        return _random.generator()
    if isinstance(generator, (int, np.integer)):
        return np.random.default_rng(int(generator))
    if not isinstance(generator, np.random.Generator):
        raise TypeError(
            f"init: generator must be a numpy.random.Generator or an int seed, got {type(generator).__name__}"
        )
    return generator


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor to fill, got {type(tensor).__name__}")
    # Written straight into the array: initialising is not part of any computation to record.
    np.copyto(tensor._data, values, casting="unsafe")
    tensor._version += 1
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    >>> from chainrule.nn import init
    >>> round(init.calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity in ("linear", "identity", "sigmoid") or nonlinearity.startswith("conv"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(
        f"calculate_gain: unknown nonlinearity {nonlinearity!r}; use linear, sigmoid, tanh, relu, "
        "leaky_relu or selu"
    )


def fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.fan_in_and_fan_out(cr.zeros(8, 3, 5, 5))
    (75, 200)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(
            f"init: fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from U(a, b).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.uniform_(cr.zeros(100), -1, 1, generator=0)
    >>> bool((w.numpy() >= -1).all() and (w.numpy() < 1).all())
    True
    """
    if not a <= b:
        raise ValueError(f"uniform_: need a <= b, got a={a}, b={b}")
    return _fill(tensor, _gen(generator).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """Fill with draws from N(mean, std²).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.normal_(cr.zeros(3), std=0.0, generator=0)
    tensor([0., 0., 0.], dtype=float64)
    """
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, _gen(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with ``value``.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.constant_(cr.zeros(2), 0.5)
    tensor([0.5, 0.5], dtype=float64)
    """
    return _fill(tensor, np.full(tensor.shape, value))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.zeros_(cr.ones(2))
    tensor([0., 0.], dtype=float64)
    """
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.ones_(cr.zeros(2))
    tensor([1., 1.], dtype=float64)
    """
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out)).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.xavier_uniform_(cr.zeros(30, 20), generator=0)
    >>> bool(abs(w.numpy()).max() <= (6 / 50) ** 0.5)
    True
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Glorot normal: N(0, std²) with std = gain·sqrt(2 / (fan_in + fan_out)).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.xavier_normal_(cr.zeros(4, 4), generator=0).shape
    (4, 4)
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _fan(tensor: Tensor, mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"init: mode must be 'fan_in' or 'fan_out', got {mode!r}")


def kaiming_uniform_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:  # fmt: skip
    """He uniform: U(-bound, bound) with bound = gain·sqrt(3 / fan), gain from ``nonlinearity``
    (``a`` is the leaky-ReLU slope).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> w = init.kaiming_uniform_(cr.zeros(10, 50), nonlinearity="relu", generator=0)
    >>> bool(abs(w.numpy()).max() <= (6 / 50) ** 0.5)
    True
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:  # fmt: skip
    """He normal: N(0, std²) with std = gain / sqrt(fan).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.kaiming_normal_(cr.zeros(3, 4), nonlinearity="relu", generator=0).shape
    (3, 4)
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def glorot_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Another name for :func:`xavier_uniform_`.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.glorot_uniform_(cr.zeros(2, 2), generator=0).shape
    (2, 2)
    """
    return xavier_uniform_(tensor, gain, generator)


def glorot_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """Another name for :func:`xavier_normal_`.

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.glorot_normal_(cr.zeros(2, 2), generator=0).shape
    (2, 2)
    """
    return xavier_normal_(tensor, gain, generator)


def he_uniform_(tensor: Tensor, mode: str = "fan_in", generator: Any = None) -> Tensor:
    """He uniform for ReLU networks: U(-sqrt(6 / fan), sqrt(6 / fan)).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.he_uniform_(cr.zeros(2, 2), generator=0).shape
    (2, 2)
    """
    return kaiming_uniform_(tensor, 0.0, mode, "relu", generator)


def he_normal_(tensor: Tensor, mode: str = "fan_in", generator: Any = None) -> Tensor:
    """He normal for ReLU networks: N(0, 2 / fan).

    >>> import chainrule as cr
    >>> from chainrule.nn import init
    >>> init.he_normal_(cr.zeros(2, 2), generator=0).shape
    (2, 2)
    """
    return kaiming_normal_(tensor, 0.0, mode, "relu", generator)
