"""Creating tensors with PyTorch's names and dtype rules, and PyTorch's random streams."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.torch import _dtypes
from chainrule.torch._random import Generator, default_generator
from chainrule.torch._tensor import Tensor, numpy_of, wrap

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "eye", "arange",
    "linspace", "zeros_like", "ones_like", "full_like", "empty_like", "rand", "randn", "randint",
    "rand_like", "randn_like", "randint_like", "normal", "manual_seed", "seed", "initial_seed",
    "get_rng_state", "set_rng_state",
]  # fmt: skip


def _np_dtype(dtype: Any) -> np.dtype | None:
    return _dtypes.to_numpy_dtype(dtype)


def _float_dtype(dtype: Any) -> np.dtype:
    return _np_dtype(dtype) or _dtypes.default_numpy_dtype()


def _infer(data: Any) -> np.ndarray:
    """``data`` as an array with PyTorch's inference: NumPy arrays and tensors keep their dtype;
    Python floats give the default float, ints int64, bools bool."""
    if isinstance(data, cr.Tensor):
        return np.array(numpy_of(data))
    if isinstance(data, np.ndarray):
        return np.array(data)
    if isinstance(data, np.generic):
        return np.array(data)
    array = np.array(data)
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(_dtypes.default_numpy_dtype())
    if kind in "iu":
        return array.astype(np.int64)
    if kind == "b":
        return array
    if array.dtype == object or kind in "USV":
        raise TypeError(
            f"tensor(): could not infer a dtype from {type(data).__name__} data "
            f"(NumPy made an array of {array.dtype}); give numbers, nested lists of numbers, "
            "NumPy arrays or tensors"
        )
    raise TypeError(f"tensor(): unsupported data type {array.dtype}")


def _made(array: np.ndarray, requires_grad: bool) -> Tensor:
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return wrap(cr.tensor(array, requires_grad=requires_grad))


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``, with PyTorch's dtype inference.

    >>> from chainrule import torch
    >>> torch.tensor([1., 2.]), torch.tensor([1, 2]).dtype
    (tensor([1., 2.]), torch.int64)
    >>> torch.tensor(2., requires_grad=True)
    tensor(2., requires_grad=True)
    """
    _check_device(device, "tensor")
    array = _infer(data)
    if dtype is not None:
        array = array.astype(_np_dtype(dtype))
    return _made(array, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor without copying where possible: a tensor of the right dtype is
    returned as it is, a NumPy array of the right dtype is shared (as ``from_numpy``); anything
    else is converted.

    >>> from chainrule import torch
    >>> x = torch.tensor([1., 2.])
    >>> torch.as_tensor(x) is x
    True
    """
    _check_device(device, "as_tensor")
    target = _np_dtype(dtype)
    if isinstance(data, cr.Tensor) and (target is None or numpy_of(data).dtype == target):
        return wrap(data)
    if isinstance(data, np.ndarray) and (target is None or data.dtype == target) and data.dtype.kind in "fiub":
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor with the values and dtype of a NumPy array, sharing its memory: changing one
    changes the other, as in PyTorch.

    >>> import numpy as np
    >>> from chainrule import torch
    >>> n = np.ones(3)
    >>> t = torch.from_numpy(n)
    >>> _ = np.add(n, 1, out=n)
    >>> t
    tensor([2., 2., 2.], dtype=torch.float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype.kind not in "fiub" or array.dtype not in _dtypes._BY_NUMPY:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{array.dtype}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        )
    return wrap(cr.from_numpy(array))


def _check_device(device: Any, where: str = "tensor creation") -> None:
    _dtypes.check_device(device, where)


def _shape(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        size = tuple(size[0])
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    return shape


def _size_arg(shape: tuple[Any, ...], size: Any, op: str) -> tuple[int, ...]:
    """The shape from ``f(2, 3)``, ``f((2, 3))`` or ``f(size=(2, 3))`` (not two at once)."""
    if size is not None:
        if shape:
            raise TypeError(f"{op}(): give the size either positionally or as size=, not both")
        return _shape((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    return _shape(shape)


def zeros(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (default float dtype).

    >>> from chainrule import torch
    >>> torch.zeros(2, 3).shape
    torch.Size([2, 3])
    """
    _check_device(device, "zeros")
    return _made(np.zeros(_size_arg(shape, size, "zeros"), _float_dtype(dtype)), requires_grad)


def ones(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (default float dtype).

    >>> from chainrule import torch
    >>> torch.ones(2)
    tensor([1., 1.])
    """
    _check_device(device, "ones")
    return _made(np.ones(_size_arg(shape, size, "ones"), _float_dtype(dtype)), requires_grad)


def empty(*shape: Any, size: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given size (zeros: chainrule never hands out uninitialised memory).

    >>> from chainrule import torch
    >>> torch.empty(2, 2).shape
    torch.Size([2, 2])
    """
    return zeros(*shape, size=size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:  # fmt: skip
    """A tensor filled with ``fill_value``; its dtype follows the value (float, int64, bool).

    >>> from chainrule import torch
    >>> torch.full((2,), 7.)
    tensor([7., 7.])
    """
    _check_device(device, "full")
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    target = _np_dtype(dtype) or _infer(fill_value).dtype
    return _made(np.full(shape, numpy_of(fill_value), target), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:  # fmt: skip
    """The identity matrix (n by m).

    >>> from chainrule import torch
    >>> torch.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    _check_device(device, "eye")
    return _made(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Values from ``start`` to ``end`` (excluded) by ``step``; int64 for integer arguments,
    the default float otherwise.

    >>> from chainrule import torch
    >>> torch.arange(3), torch.arange(0, 1, 0.25)
    (tensor([0, 1, 2]), tensor([0.0000, 0.2500, 0.5000, 0.7500]))
    """
    _check_device(device, "arange")
    if end is None:
        start, end = 0, start
    values = [numpy_of(v).item() if isinstance(v, cr.Tensor) else v for v in (start, end, step)]
    start, end, step = values
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    floating = any(isinstance(v, (float, np.floating)) for v in values)
    target = _np_dtype(dtype) or (_dtypes.default_numpy_dtype() if floating else np.dtype(np.int64))
    count = int(math.ceil((end - start) / step))
    # Each value is start + i * step in double precision, then rounded to the dtype.
    data = start + np.arange(count, dtype=np.float64) * step if floating or target.kind == "f" else start + np.arange(count, dtype=np.int64) * step
    return _made(np.asarray(data).astype(target), requires_grad)


def _linspace_bounds(start: Any, end: Any) -> tuple[Any, Any]:
    """start and end as plain numbers. PyTorch takes 0-d tensors for them, and its linspace is
    not differentiable in them: the result does not require grad even when they do."""
    ndims = [numpy_of(v).ndim if isinstance(v, cr.Tensor) else 0 for v in (start, end)]
    if any(ndims):
        raise RuntimeError(
            "linspace only supports 0-dimensional start and end tensors, but got start with "
            f"{ndims[0]} dimension(s) and end with {ndims[1]} dimension(s)."
        )
    return tuple(numpy_of(v).item() if isinstance(v, cr.Tensor) else v for v in (start, end))


def linspace(start: Any, end: Any, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (default float).

    As PyTorch does, the first half is computed from ``start`` and the second half back from
    ``end``, in the tensor's precision.

    >>> from chainrule import torch
    >>> torch.linspace(start=-1, end=1, steps=5)
    tensor([-1.0000, -0.5000,  0.0000,  0.5000,  1.0000])
    """
    _check_device(device, "linspace")
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    target = _float_dtype(dtype)
    work = target.type if target.kind == "f" else np.float64
    start, end = _linspace_bounds(start, end)
    if steps == 1:
        return _made(np.full(1, start, target), requires_grad)
    lo, hi = work(start), work(end)
    step = (hi - lo) / work(steps - 1) if steps > 1 else work(0)
    index = np.arange(steps)
    half = steps // 2
    data = np.where(
        index < half,
        lo + step * index.astype(work),
        hi - step * (steps - index - 1).astype(work),
    )
    return _made(data.astype(target), requires_grad)


def _like(x: Any, dtype: Any, device: Any = None, op: str = "*_like") -> tuple[tuple[int, ...], np.dtype]:
    _check_device(device, op)
    array = numpy_of(x)
    return array.shape, (_np_dtype(dtype) or array.dtype)


def zeros_like(input: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """Zeros with the shape and dtype of ``input``.

    >>> from chainrule import torch
    >>> torch.zeros_like(torch.ones(2, dtype=torch.float64))
    tensor([0., 0.], dtype=torch.float64)
    """
    shape, d = _like(input, dtype, device, "zeros_like")
    return _made(np.zeros(shape, d), requires_grad)


def ones_like(input: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """Ones with the shape and dtype of ``input``.

    >>> from chainrule import torch
    >>> torch.ones_like(torch.zeros(2))
    tensor([1., 1.])
    """
    shape, d = _like(input, dtype, device, "ones_like")
    return _made(np.ones(shape, d), requires_grad)


def empty_like(input: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """Zeros with the shape and dtype of ``input`` (never uninitialised memory)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad)


def full_like(input: Any, fill_value: Any, dtype: Any = None, device: Any = None,  # noqa: A002
              requires_grad: bool = False) -> Tensor:  # fmt: skip
    """``fill_value`` everywhere, with the shape and dtype of ``input``.

    >>> from chainrule import torch
    >>> torch.full_like(torch.zeros(2), 3)
    tensor([3., 3.])
    """
    shape, d = _like(input, dtype, device, "full_like")
    return _made(np.full(shape, numpy_of(fill_value), d), requires_grad)


# ---------------------------------------------------------------------- random
def _gen(generator: Generator | None) -> Generator:
    return default_generator if generator is None else generator


def _random_float(shape: tuple[int, ...], dtype: Any) -> np.dtype:
    target = _float_dtype(dtype)
    if target.kind != "f":
        raise RuntimeError(f"expected a floating-point dtype for random floats, got {_dtypes.from_numpy_dtype(target)}")
    return target


def rand(*shape: Any, size: Any = None, generator: Generator | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Uniform samples on [0, 1), from PyTorch's CPU stream (same numbers for the same seed).

    >>> from chainrule import torch
    >>> _ = torch.manual_seed(42)
    >>> torch.rand(3)
    tensor([0.8823, 0.9150, 0.3829])
    """
    _check_device(device, "rand")
    shape = _size_arg(shape, size, "rand")
    target = _random_float(shape, dtype)
    values = _gen(generator).uniform(math.prod(shape), target).reshape(shape)
    return _made(values, requires_grad)


def randn(*shape: Any, size: Any = None, generator: Generator | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Standard normal samples, from PyTorch's CPU stream (see ``chainrule.torch._random``).

    >>> from chainrule import torch
    >>> _ = torch.manual_seed(0)
    >>> torch.randn(3)
    tensor([ 1.5410, -0.2934, -2.1788])
    """
    _check_device(device, "randn")
    shape = _size_arg(shape, size, "randn")
    target = _random_float(shape, dtype)
    values = _gen(generator).normal(math.prod(shape), target).reshape(shape)
    return _made(values, requires_grad)


def randint(low: int, high: Any = None, size: Any = None, generator: Generator | None = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Integers in [low, high) (int64), from PyTorch's CPU stream.

    >>> from chainrule import torch
    >>> _ = torch.manual_seed(0)
    >>> torch.randint(0, 10, (5,))
    tensor([4, 9, 3, 0, 3])
    """
    _check_device(device, "randint")
    if size is None:
        if high is None or isinstance(high, (int, np.integer)):
            raise TypeError("randint(): the size argument is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    values = _gen(generator).randint(math.prod(shape), int(low), int(high)).reshape(shape)
    return _made(values.astype(_np_dtype(dtype) or np.int64), requires_grad)


def rand_like(input: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """``rand`` with the shape (and dtype) of ``input``.

    >>> from chainrule import torch
    >>> torch.rand_like(torch.zeros(2, 3)).shape
    torch.Size([2, 3])
    """
    shape, d = _like(input, dtype, device, "rand_like")
    return rand(shape, dtype=d, requires_grad=requires_grad)


def randn_like(input: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """``randn`` with the shape (and dtype) of ``input``.

    >>> from chainrule import torch
    >>> torch.randn_like(torch.zeros(4)).dtype
    torch.float32
    """
    shape, d = _like(input, dtype, device, "randn_like")
    return randn(shape, dtype=d, requires_grad=requires_grad)


def randint_like(input: Any, low: int = 0, high: Any = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """``randint`` with the shape (and dtype) of ``input``."""
    shape, d = _like(input, dtype)
    if high is None:
        low, high = 0, low
    return randint(low, high, shape, dtype=d)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, generator: Generator | None = None,
           dtype: Any = None, requires_grad: bool = False) -> Tensor:  # fmt: skip
    """Normal samples with float ``mean`` and ``std`` and a ``size`` (PyTorch's stream).

    >>> from chainrule import torch
    >>> _ = torch.manual_seed(0)
    >>> torch.normal(2.0, 3.0, size=(2,))
    tensor([6.6230, 1.1197])
    """
    if size is None or isinstance(mean, cr.Tensor) or isinstance(std, cr.Tensor):
        raise NotImplementedError(
            "chainrule.torch.normal: only the form normal(mean: float, std: float, size=...) is "
            "supported; for tensor means use mean + std * torch.randn(shape)"
        )
    shape = _shape((size,) if isinstance(size, (int, np.integer)) else (tuple(size),))
    target = _random_float(shape, dtype)
    values = _gen(generator).normal(math.prod(shape), target, float(mean), float(std)).reshape(shape)
    return _made(values, requires_grad)


def manual_seed(seed: int) -> Generator:
    """Seed PyTorch's default CPU stream; returns the default generator.

    >>> from chainrule import torch
    >>> _ = torch.manual_seed(42)
    >>> torch.initial_seed()
    42
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default stream non-deterministically and return the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default stream was last started from."""
    return default_generator.initial_seed()


def get_rng_state() -> dict[str, Any]:
    """A snapshot of the default stream (a dict here, not PyTorch's byte tensor)."""
    return default_generator.get_state()


def set_rng_state(state: dict[str, Any]) -> None:
    """Return the default stream to a snapshot from ``get_rng_state``."""
    default_generator.set_state(state)
