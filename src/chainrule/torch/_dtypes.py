"""PyTorch's dtype objects, ``torch.Size`` and ``torch.device``, over NumPy dtypes.

A dtype object prints as PyTorch's (``torch.float32``) and carries the NumPy dtype in ``.dtype``,
so NumPy accepts it wherever it takes a dtype (``np.zeros(3, dtype=torch.float32)``): native
chainrule code that reads ``x.dtype`` from a dialect tensor keeps working.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

__all__ = [
    "dtype", "float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short",
    "int32", "int", "int64", "long", "uint8", "bool", "Size", "device", "to_numpy_dtype",
    "from_numpy_dtype", "get_default_dtype", "set_default_dtype", "default_numpy_dtype",
    "check_device", "get_default_device", "set_default_device",
]  # fmt: skip

_builtin_int = builtins.int
_builtin_bool = builtins.bool


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type, printed as PyTorch prints it.

    >>> from chainrule import torch
    >>> torch.float32, torch.tensor([1, 2]).dtype
    (torch.float32, torch.int64)
    """

    __slots__ = ("_name", "_np")

    def __init__(self, name: str, numpy_dtype: Any) -> None:
        self._name = name
        self._np = np.dtype(numpy_dtype)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (what ``np.dtype(torch.float32)`` reads)."""
        return self._np

    @property
    def kind(self) -> str:
        return self._np.kind

    @property
    def itemsize(self) -> _builtin_int:
        return self._np.itemsize

    @property
    def is_floating_point(self) -> _builtin_bool:
        return self._np.kind == "f"

    @property
    def is_complex(self) -> _builtin_bool:
        return False

    @property
    def is_signed(self) -> _builtin_bool:
        return self._np.kind in "fi"

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __eq__(self, other: object) -> _builtin_bool:
        if isinstance(other, dtype):
            return other._np == self._np
        if isinstance(other, np.dtype) or (isinstance(other, type) and issubclass(other, np.generic)):
            return np.dtype(other) == self._np
        return NotImplemented

    def __ne__(self, other: object) -> _builtin_bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> _builtin_int:
        return hash(("torch.dtype", self._np.str))

    def __reduce__(self) -> Any:
        return (from_numpy_dtype, (self._np.str,))


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)  # noqa: A001 - PyTorch's name
float64 = double = dtype("float64", np.float64)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)  # noqa: A001 - PyTorch's name
int64 = long = dtype("int64", np.int64)
uint8 = dtype("uint8", np.uint8)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name

_BY_NUMPY = {d._np: d for d in (float16, float32, float64, int8, int16, int32, int64, uint8, bool)}
_default = [float32]


def from_numpy_dtype(numpy_dtype: Any) -> dtype:
    """The dialect dtype for a NumPy dtype (a clear error for types PyTorch has no name for here).

    >>> import numpy as np
    >>> from chainrule.torch._dtypes import from_numpy_dtype
    >>> from_numpy_dtype(np.float64)
    torch.float64
    """
    nd = np.dtype(numpy_dtype)
    found = _BY_NUMPY.get(nd)
    if found is None:
        raise TypeError(
            f"chainrule.torch: NumPy dtype {nd} has no dialect dtype; use float32, float64, "
            "float16, int8/16/32/64, uint8 or bool"
        )
    return found


def to_numpy_dtype(value: Any, default: Any = None) -> np.dtype | None:
    """A NumPy dtype from a dialect dtype, a NumPy dtype or a Python type (None stays None).

    >>> from chainrule import torch
    >>> from chainrule.torch._dtypes import to_numpy_dtype
    >>> to_numpy_dtype(torch.int64)
    dtype('int64')
    """
    if value is None:
        return None if default is None else np.dtype(default)
    if isinstance(value, dtype):
        return value._np
    if value is builtins.bool:
        return np.dtype(np.bool_)
    if value is builtins.int:
        return np.dtype(np.int64)
    if value is builtins.float:
        return get_default_dtype()._np
    return np.dtype(value)


def get_default_dtype() -> dtype:
    """The dtype of new floating-point tensors (``torch.float32`` unless changed).

    >>> from chainrule import torch
    >>> torch.get_default_dtype()
    torch.float32
    """
    return _default[0]


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32 or float64) the dtype of new floating-point tensors.

    >>> from chainrule import torch
    >>> torch.set_default_dtype(torch.float64)
    >>> torch.tensor([1.5]).dtype
    torch.float64
    >>> torch.set_default_dtype(torch.float32)
    """
    nd = to_numpy_dtype(d)
    if nd is None or nd.kind != "f":
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the default type, got {d!r}")
    _default[0] = from_numpy_dtype(nd)


def default_numpy_dtype() -> np.dtype:
    """The NumPy dtype of the current default floating-point dtype."""
    return _default[0]._np


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``torch.Size([4, 3])``.

    >>> from chainrule import torch
    >>> torch.zeros(4, 3).shape
    torch.Size([4, 3])
    >>> torch.zeros(4, 3).shape == (4, 3)
    True
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"torch.Size({list(self)!r})"

    __str__ = __repr__

    def __getitem__(self, index: Any) -> Any:
        out = tuple.__getitem__(self, index)
        return Size(out) if isinstance(index, slice) else out

    def numel(self) -> _builtin_int:
        """The number of elements a tensor of this shape holds."""
        n = 1
        for s in self:
            n *= s
        return n


# The device types PyTorch's parser knows; naming one is fine, computing on it is not.
_DEVICE_TYPES = (
    "cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
    "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)  # fmt: skip


class device:  # noqa: N801 - PyTorch's name
    """Where a tensor lives. Any device PyTorch can name can be named (``torch.device("cuda")``
    has ``.type`` and ``.index`` as in PyTorch), but chainrule computes on the CPU only: using
    another device (``x.to("cuda")``, ``zeros(2, device="cuda")``) raises.

    >>> from chainrule import torch
    >>> torch.device("cpu"), torch.device("cuda:1").index
    (device(type='cpu'), 1)
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Any = "cpu", index: _builtin_int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, _builtin_int) and not isinstance(type, _builtin_bool):
            # torch.device(0) names the first accelerator.
            type, index = "cuda", type
        name = str(type)
        if ":" in name:
            name, _, number = name.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = _builtin_int(number)
        if name not in _DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: {type}"
            )
        self.type = name
        self.index = index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> _builtin_bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and other.type == self.type and other.index == self.index

    def __hash__(self) -> _builtin_int:
        return hash(("device", self.type, self.index))


def check_device(value: Any, where: str) -> None:
    """Refuse a device other than the CPU where something would be computed or stored on it.

    >>> from chainrule.torch._dtypes import check_device
    >>> check_device("cpu", "zeros")
    >>> check_device("cuda", "zeros")
    Traceback (most recent call last):
    ...
    RuntimeError: zeros: device 'cuda' is not available: chainrule.torch computes on the CPU (NumPy) only. Use 'cpu' (torch.cuda.is_available() is False here).
    """
    if value is None:
        return
    d = value if isinstance(value, device) else device(value)
    if d.type != "cpu":
        raise RuntimeError(
            f"{where}: device '{d}' is not available: chainrule.torch computes on the CPU (NumPy) "
            "only. Use 'cpu' (torch.cuda.is_available() is False here)."
        )


_default_device = [device("cpu")]


def get_default_device() -> device:
    """The device new tensors are made on: always the CPU.

    >>> from chainrule import torch
    >>> torch.get_default_device()
    device(type='cpu')
    """
    return _default_device[0]


def set_default_device(value: Any) -> None:
    """Make ``value`` the default device: the CPU (or None) is accepted, others raise.

    >>> from chainrule import torch
    >>> torch.set_default_device("cpu")
    """
    check_device(value, "set_default_device")
