"""Tensor methods and operators with PyTorch's names and argument conventions.

Most methods are the module-level functions of ``_functions`` with the tensor as first argument;
the rest (``view``, ``expand``, ``repeat``, ``to``, in-place updates) are written here on top of
native functions. In-place methods go through the native in-place methods (``add_``, ``copy_``),
which carry the engine's checks: a leaf that requires grad refuses them while grad mode is on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.torch import _dtypes
from chainrule.torch import _functions as F
from chainrule.torch._creation import full, tensor
from chainrule.torch._random import Generator, default_generator
from chainrule.torch._tensor import BatchedTensor, Tensor, cast_operands, label, numpy_of, wrap

__all__ = ["install"]

_Native = cr.Tensor

# Tensor methods that are the module-level function with ``self`` first.
_SAME_AS_FUNCTION = [
    "exp", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal",
    "erf", "abs", "absolute", "neg", "negative", "square", "relu", "sign", "floor", "ceil", "round",
    "clamp", "clip", "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
    "pow", "maximum", "minimum", "atan2", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "isnan",
    "isinf", "isfinite", "logical_not", "logical_and", "logical_or", "matmul", "mm", "mv", "bmm",
    "dot", "outer", "trace", "det", "inverse", "sum", "mean", "prod", "max", "min", "amax", "amin",
    "argmax", "argmin", "var", "std", "logsumexp", "norm", "cumsum", "cumprod", "all", "any",
    "softmax", "log_softmax", "flatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "t",
    "split", "chunk", "roll", "gather", "masked_fill", "is_floating_point",
]  # fmt: skip

_TYPE_NAMES = {
    "float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor", "int32": "torch.IntTensor", "int16": "torch.ShortTensor",
    "int8": "torch.CharTensor", "uint8": "torch.ByteTensor", "bool": "torch.BoolTensor",
}  # fmt: skip
_BY_TYPE_NAME = {v: k for k, v in _TYPE_NAMES.items()}


def _method(fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def _sizes(args: tuple[Any, ...]) -> tuple[int, ...]:
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


# ---------------------------------------------------------------------- shape methods
def view(self: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape (one dimension may be -1); shares the gradient path.

    >>> from chainrule import torch
    >>> torch.arange(6).view(2, -1).shape
    torch.Size([2, 3])
    """
    return wrap(cr.reshape(self, _sizes(shape)))


def view_as(self: Tensor, other: Any) -> Tensor:
    """``view`` to the shape of ``other``."""
    return wrap(cr.reshape(self, tuple(numpy_of(other).shape)))


def expand(self: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to a larger size (-1 keeps a dimension); the gradient is summed back.

    >>> from chainrule import torch
    >>> torch.tensor([[1.], [2.]]).expand(2, 3).shape
    torch.Size([2, 3])
    """
    target = list(_sizes(sizes))
    shape = numpy_of(self).shape
    offset = len(target) - len(shape)
    if offset < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(target)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({len(shape)})"
        )
    for i, s in enumerate(shape):
        if target[offset + i] == -1:
            target[offset + i] = s
    return wrap(cr.broadcast_to(self, tuple(target)))


def expand_as(self: Tensor, other: Any) -> Tensor:
    """``expand`` to the shape of ``other``."""
    return expand(self, tuple(numpy_of(other).shape))


def repeat(self: Tensor, *sizes: Any) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dimension (PyTorch's ``repeat``).

    >>> from chainrule import torch
    >>> torch.tensor([1, 2]).repeat(2)
    tensor([1, 2, 1, 2])
    """
    reps = _sizes(sizes)
    if len(reps) < numpy_of(self).ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    return label(wrap(cr.tile(self, reps)), "RepeatBackward0", self)


def permute(self: Tensor, *dims: Any) -> Tensor:
    """Reorder the dimensions.

    >>> from chainrule import torch
    >>> torch.zeros(2, 3).permute(1, 0).shape
    torch.Size([3, 2])
    """
    return F.permute(self, _sizes(dims))


def flip(self: Tensor, *dims: Any) -> Tensor:
    """Reverse the order along ``dims``."""
    return F.flip(self, _sizes(dims))


def tile(self: Tensor, *dims: Any) -> Tensor:
    """Repeat the whole tensor along each dimension."""
    return F.tile(self, _sizes(dims))


def reshape(self: Tensor, *shape: Any) -> Tensor:
    """The same values in a new shape (one dimension may be -1).

    >>> from chainrule import torch
    >>> torch.zeros(6).reshape(3, 2).shape
    torch.Size([3, 2])
    """
    return wrap(cr.reshape(self, _sizes(shape)))


def reshape_as(self: Tensor, other: Any) -> Tensor:
    """``reshape`` to the shape of ``other``."""
    return wrap(cr.reshape(self, tuple(numpy_of(other).shape)))


def contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    """The tensor itself (chainrule's arrays need no layout change)."""
    return self


def is_contiguous(self: Tensor, memory_format: Any = None) -> bool:
    """Always True here."""
    return True


def where(self: Tensor, condition: Any, other: Any) -> Tensor:
    """``self`` where ``condition`` holds, else ``other``."""
    return F.where(condition, self, other)


def clone(self: Tensor, memory_format: Any = None) -> Tensor:
    """A copy that stays in the graph."""
    return label(wrap(_Native.clone(self)), "CloneBackward0", self)


# ---------------------------------------------------------------------- dtype / device
def _cast(self: Tensor, target: np.dtype) -> Tensor:
    if numpy_of(self).dtype == target:
        return self
    return wrap(cr.astype(self, target))


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Convert to a dtype (``x.to(torch.float64)``, ``x.to(other)``); devices other than the
    CPU are refused.

    >>> from chainrule import torch
    >>> torch.tensor([1, 2]).to(torch.float32)
    tensor([1., 2.])
    """
    target = None
    for value in list(args) + [kwargs.get("dtype"), kwargs.get("device")]:
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, cr.Tensor):
            target = numpy_of(value).dtype
        elif isinstance(value, (str, _dtypes.device)) or type(value) is int:
            _dtypes.check_device(value, "Tensor.to")
        else:
            target = _dtypes.to_numpy_dtype(value)
    return self if target is None else _cast(self, target)


def type_(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """With no argument, the type name (``'torch.FloatTensor'``); with one, a converted tensor.

    >>> from chainrule import torch
    >>> torch.zeros(1).type()
    'torch.FloatTensor'
    """
    if dtype is None:
        return _TYPE_NAMES[numpy_of(self).dtype.name]
    if isinstance(dtype, str):
        if dtype not in _BY_TYPE_NAME:
            raise ValueError(f"invalid type: '{dtype}'")
        dtype = _BY_TYPE_NAME[dtype]
    return _cast(self, _dtypes.to_numpy_dtype(dtype))


def cpu(self: Tensor) -> Tensor:
    """The tensor itself (chainrule computes on the CPU)."""
    return self


def cuda(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Refused: chainrule has no GPU backend."""
    _dtypes.check_device("cuda", "Tensor.cuda")
    return self  # pragma: no cover - device() raises


def _caster(name: str, numpy_dtype: Any) -> Any:
    target = np.dtype(numpy_dtype)

    def method(self: Tensor) -> Tensor:
        return _cast(self, target)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"The tensor as {target} (the same tensor when it already is)."
    return method


def new_tensor(self: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor from ``data`` with this tensor's dtype (unless ``dtype`` is given)."""
    return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)


def new_full(self: Tensor, size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``size`` filled with ``fill_value``, with this tensor's dtype (unless ``dtype`` is given)."""
    return full(tuple(size) if not isinstance(size, int) else (size,), fill_value,
                dtype=dtype or self.dtype, requires_grad=requires_grad)  # fmt: skip


def new_zeros(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``size`` with this tensor's dtype."""
    return new_full(self, _sizes(size), 0, dtype=dtype, requires_grad=requires_grad)


def new_ones(self: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``size`` with this tensor's dtype."""
    return new_full(self, _sizes(size), 1, dtype=dtype, requires_grad=requires_grad)


# ---------------------------------------------------------------------- in-place
def _scaled(other: Any, alpha: Any) -> Any:
    return other if alpha == 1 else F.mul(other, alpha)


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self += alpha * other`` in place.

    >>> from chainrule import torch
    >>> torch.ones(2).add_(torch.ones(2), alpha=2)
    tensor([3., 3.])
    """
    return _Native.add_(self, _scaled(other, alpha))


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self -= alpha * other`` in place."""
    return _Native.sub_(self, _scaled(other, alpha))


def mul_(self: Tensor, other: Any) -> Tensor:
    """``self *= other`` in place."""
    return _Native.mul_(self, other)


def div_(self: Tensor, other: Any) -> Tensor:
    """``self /= other`` in place."""
    return _Native.div_(self, other)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Clamp in place."""
    return _Native.copy_(self, F.clamp(self, min, max))


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """``masked_fill`` in place."""
    return _Native.copy_(self, F.masked_fill(self, mask, value))


def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill with U(from, to) samples from PyTorch's stream (refused on a leaf that requires
    grad while grad mode is on, as in PyTorch)."""
    gen = default_generator if generator is None else generator
    d = numpy_of(self).dtype
    values = gen.uniform(numpy_of(self).size, d, from_, to).reshape(numpy_of(self).shape)
    return _Native.copy_(self, values)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill with N(mean, std**2) samples from PyTorch's stream."""
    gen = default_generator if generator is None else generator
    d = numpy_of(self).dtype
    values = gen.normal(numpy_of(self).size, d, mean, std).reshape(numpy_of(self).shape)
    return _Native.copy_(self, values)


# ---------------------------------------------------------------------- operators
def _operator(fn: Any, reflected: bool = False) -> Any:
    if reflected:

        def op(self: Tensor, other: Any) -> Any:
            return fn(other, self)

    else:

        def op(self: Tensor, other: Any) -> Any:
            return fn(self, other)

    return op


def _floordiv(a: Any, b: Any) -> Tensor:
    return F.div(a, b, rounding_mode="floor")


def _index_node_name(index: Any) -> str | None:
    """PyTorch's node name for ``x[index]``: the last step it takes (advanced indexing comes
    last; full slices and ``...`` take no step)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (list, np.ndarray, cr.Tensor)) and not isinstance(part, bool):
            return "IndexBackward0"
    for part in reversed(parts):
        if part is Ellipsis or (isinstance(part, slice) and part == slice(None)):
            continue
        if part is None:
            return "UnsqueezeBackward0"
        if isinstance(part, slice):
            return "SliceBackward0"
        if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
            return "SelectBackward0"
        return None
    return None


def _getitem(self: Tensor, index: Any) -> Any:
    result = wrap(_Native.__getitem__(self, index))
    name = _index_node_name(index)
    return result if name is None else label(result, name, self)


def _eq(self: Tensor, other: Any) -> Any:
    if other is None:
        return False
    return F.eq(self, other)


def _ne(self: Tensor, other: Any) -> Any:
    if other is None:
        return True
    return F.ne(self, other)


def _invert(self: Tensor) -> Tensor:
    if numpy_of(self).dtype.kind == "b":
        return F.logical_not(self)
    return wrap(cr.tensor(np.invert(numpy_of(self))))


def _bitwise(op: Any) -> Any:
    def method(self: Tensor, other: Any) -> Tensor:
        a, b = cast_operands((self, other))
        return wrap(cr.tensor(op(numpy_of(a), numpy_of(b))))

    return method


def _wrapping(name: str) -> Any:
    """The native method of that name, with its result re-classed."""
    native = getattr(_Native, name)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return wrap(native(self, *args, **kwargs))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = native.__doc__
    return method


def diagonal(self: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of the matrices in dimensions ``dim1``, ``dim2``."""
    return wrap(cr.diagonal(self, offset, dim1, dim2))


def install() -> None:
    """Attach the methods and operators to the dialect Tensor."""
    T = Tensor
    for name in ("astype", "broadcast_to", "expand_dims", "moveaxis", "__array_ufunc__"):
        setattr(T, name, _wrapping(name))
    T.movedim = T.moveaxis
    T.diagonal = diagonal
    for name in _SAME_AS_FUNCTION:
        setattr(T, name, _method(getattr(F, name)))
    for fn in (view, view_as, expand, expand_as, repeat, permute, flip, tile, reshape, reshape_as,
               contiguous, is_contiguous, where, clone, to, cpu, cuda, new_tensor, new_full,
               new_zeros, new_ones, add_, sub_, mul_, div_, clamp_, masked_fill_, uniform_,
               normal_):  # fmt: skip
        setattr(T, fn.__name__, F._runtime_errors(fn))
    T.type = type_
    T.subtract_ = sub_
    T.clip_ = clamp_
    for name, numpy_dtype in (("float", np.float32), ("double", np.float64), ("half", np.float16),
                              ("long", np.int64), ("int", np.int32), ("short", np.int16),
                              ("char", np.int8), ("byte", np.uint8), ("bool", np.bool_)):  # fmt: skip
        setattr(T, name, _caster(name, numpy_dtype))
    T.T = property(lambda self: wrap(cr.transpose(self)), doc="All dimensions reversed.")
    T.mT = property(lambda self: label(wrap(cr.swapaxes(self, -1, -2)), "TransposeBackward0", self),
                    doc="The last two dimensions swapped.")
    T.__getitem__ = _getitem
    T.__setitem__ = F._runtime_errors(_Native.__setitem__)
    for name in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
        setattr(T, name, F._runtime_errors(getattr(_Native, name)))
    for name, fn in (("add", F.add), ("sub", F.sub), ("mul", F.mul), ("truediv", F.true_divide),
                     ("floordiv", _floordiv), ("mod", F.remainder), ("pow", F.pow),
                     ("matmul", F.matmul)):  # fmt: skip
        setattr(T, f"__{name}__", _operator(fn))
        setattr(T, f"__r{name}__", _operator(fn, reflected=True))
    for name, fn in (("lt", F.lt), ("le", F.le), ("gt", F.gt), ("ge", F.ge)):
        setattr(T, f"__{name}__", _operator(fn))
    T.__eq__ = _eq
    T.__ne__ = _ne
    T.__hash__ = _Native.__hash__
    T.__neg__ = lambda self: F.neg(self)
    T.__abs__ = lambda self: F.abs(self)
    T.__pos__ = lambda self: self
    T.__invert__ = _invert
    T.__and__ = T.__rand__ = _bitwise(np.bitwise_and)
    T.__or__ = T.__ror__ = _bitwise(np.bitwise_or)
    T.__xor__ = T.__rxor__ = _bitwise(np.bitwise_xor)
    _install_batched()


def _install_batched() -> None:
    """In-place updates of a value inside ``vmap``: the native batched value computes them out
    of place and takes the new batch (the dialect Tensor's versions write memory)."""
    B = BatchedTensor
    NB = cr.transforms.BatchedTensor

    def assign(self: Any, value: Any) -> Any:
        NB.__setitem__(self, Ellipsis, value)
        return self

    B.__setitem__ = F._runtime_errors(NB.__setitem__)
    B.__iadd__, B.__isub__ = NB.__iadd__, NB.__isub__
    B.__imul__, B.__itruediv__ = NB.__imul__, NB.__itruediv__
    B.add_ = lambda self, other, *, alpha=1: NB.__iadd__(self, _scaled(other, alpha))
    B.sub_ = B.subtract_ = lambda self, other, *, alpha=1: NB.__isub__(self, _scaled(other, alpha))
    B.mul_ = NB.__imul__
    B.div_ = NB.__itruediv__
    B.copy_ = lambda self, src, non_blocking=False: assign(self, src)
    B.fill_ = lambda self, value: assign(self, value)
    B.zero_ = lambda self: assign(self, 0)
    B.clamp_ = B.clip_ = lambda self, min=None, max=None: assign(self, F.clamp(self, min, max))  # noqa: A002
    B.masked_fill_ = lambda self, mask, value: assign(self, F.masked_fill(self, mask, value))
