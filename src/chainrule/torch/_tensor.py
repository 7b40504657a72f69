"""The dialect's Tensor: chainrule's Tensor under PyTorch's names, dtypes and printing.

``Tensor`` subclasses the native ``chainrule.Tensor`` and adds no storage (``__slots__ = ()``).
Native operations return native tensors; the dialect re-classes each result in place
(``result.__class__ = Tensor``), which costs one attribute write: no copy, no wrapper object, and
the graph, the saved values and ``grad_fn`` stay exactly what the engine recorded. Results whose
type is exactly the native ``Tensor``, ``nn.Parameter`` or ``transforms.BatchedTensor`` (a value
inside ``vmap``) are re-classed to the dialect's ``Tensor``, ``Parameter`` or ``BatchedTensor``;
other subclasses are left alone.
"""

from __future__ import annotations

import builtins
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import nn as _native_nn
from chainrule.torch import _dtypes
from chainrule.torch._dtypes import Size, from_numpy_dtype
from chainrule.torch._format import tensor_repr
from chainrule.torch._unsupported import unsupported
from chainrule.transforms import BatchedTensor as _NativeBatched
from chainrule.transforms import Traced as _Traced
from chainrule.transforms import retype as _retype

__all__ = [
    "Tensor", "Parameter", "wrap", "wrap_tree", "as_dialect", "numpy_of", "result_dtype",
    "cast_operands", "GradFn", "grad_fn_of", "label", "BatchedTensor",
]  # fmt: skip

_Native = cr.Tensor
_NativeParameter = _native_nn.Parameter
_native_grad = _Native.grad  # the slot descriptor behind ``.grad``
_native_shape = _Native.shape
_native_dtype = _Native.dtype
_native_size = _Native.size
_native_grad_fn = _Native.grad_fn

# dtypes shown without a ``dtype=`` suffix besides the default float (as in PyTorch).
_SILENT = (np.dtype(np.int64), np.dtype(np.bool_))


def wrap(x: Any) -> Any:
    """Give a native result the dialect's class (in place; other values pass through)."""
    cls = type(x)
    if cls is _Native:
        x.__class__ = Tensor
    elif cls is _NativeParameter:
        x.__class__ = Parameter
    elif cls is _NativeBatched:
        x.__class__ = BatchedTensor
    elif cls is _Traced:
        _retype(x, Tensor)  # a value traced by torch.compile: both behaviours
    elif cls is tuple or cls is list:
        return cls(wrap(v) for v in x)
    return x


def wrap_tree(x: Any) -> Any:
    """``wrap`` through nested tuples, lists and dicts."""
    if isinstance(x, dict):
        return type(x)((k, wrap_tree(v)) for k, v in x.items())
    if type(x) in (tuple, list):
        return type(x)(wrap_tree(v) for v in x)
    return wrap(x)


def numpy_of(x: Any) -> np.ndarray:
    """The array behind a tensor (shared), or ``np.asarray`` of anything else (the dialect's reads
    of shapes and dtypes: not refused while tracing)."""
    if isinstance(x, _Native):
        return _Native._array(x)
    return np.asarray(x)


def as_dialect(data: Any) -> Any:
    """A tensor for a function argument: tensors as they are; NumPy arrays keep their dtype;
    Python numbers and lists get PyTorch's dtypes (default float, int64, bool)."""
    if isinstance(data, _Native):
        return data
    from chainrule.torch._creation import tensor

    return tensor(data)


# ---------------------------------------------------------------------- grad_fn names
# Display names for nodes made by a dialect function whose PyTorch counterpart names its node
# differently from the native primitive that ended the computation (``mse_loss`` ends in a
# native multiply; PyTorch shows ``MseLossBackward0``). Keyed weakly by the engine's node, so a
# name lives exactly as long as the node; the engine itself is untouched.
_LABELS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


class GradFn:
    """A node shown under the PyTorch name of the call that made it (``x.grad_fn`` of an
    ``mse_loss`` result prints ``<MseLossBackward0 ...>``). Everything else (``next_functions``,
    hooks, ...) is the engine's node, reached through this object.

    >>> from chainrule import torch
    >>> import chainrule.torch.nn.functional as F
    >>> x = torch.tensor([1., 2.], requires_grad=True)
    >>> F.mse_loss(x, torch.zeros(2)).grad_fn.name
    'MseLossBackward0'
    """

    __slots__ = ("_node", "_name")

    def __init__(self, node: Any, name: str) -> None:
        self._node = node
        self._name = name

    @property
    def name(self) -> str:
        """The PyTorch name of the node."""
        return self._name

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The nodes this one sends gradients to, each under its dialect name."""
        return tuple((grad_fn_of(n), i) for n, i in self._node.next_functions)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._node, attr)

    def __eq__(self, other: object) -> bool:
        return self._node is (other._node if isinstance(other, GradFn) else other)

    def __hash__(self) -> int:
        return hash(self._node)

    def __repr__(self) -> str:
        return f"<{self._name} object at {hex(id(self._node))}>"


def grad_fn_of(node: Any) -> Any:
    """``node`` as the dialect shows it: under its label when a dialect function gave it one."""
    if node is None:
        return None
    try:
        name = _LABELS.get(node)
    except TypeError:  # not weak-referenceable (e.g. the AccumulateGrad stand-ins): no label
        return node
    return node if name is None else GradFn(node, name)


def label(result: Any, name: str, *inputs: Any) -> Any:
    """Show ``result``'s node as ``name`` (PyTorch's node name for the call that made it).

    Only a node made by this call is named: when ``result`` is one of ``inputs`` or shares its
    node, nothing changes. Results without a node (no grad needed) pass through.
    """
    if not isinstance(result, _Native):
        return result
    node = _native_grad_fn.__get__(result)
    if node is None:
        return result
    for x in inputs:
        if isinstance(x, _Native) and _native_grad_fn.__get__(x) is node:
            return result
    _LABELS[node] = name
    return result


# ---------------------------------------------------------------------- dtype promotion
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


def _scalar_category(v: Any) -> int | None:
    if isinstance(v, (bool, np.bool_)):
        return 0
    if isinstance(v, (int, np.integer)):
        return 1
    if isinstance(v, (float, np.floating)):
        return 2
    return None


def result_dtype(*operands: Any, true_divide: bool = False) -> np.dtype | None:
    """PyTorch's type promotion for an elementwise op (None when an operand is not understood).

    The highest category (bool < integer < float) wins. Tensors with dimensions decide the dtype
    when they reach that category, else 0-d tensors do, else Python numbers (which give int64 or
    the default float). True division of integers gives the default float.
    """
    dims: list[np.dtype] = []
    zero_dims: list[np.dtype] = []
    scalar_top = -1
    for v in operands:
        if isinstance(v, (_Native, np.ndarray)):
            d = numpy_of(v).dtype
            if d.kind not in _CATEGORY:
                return None
            (dims if numpy_of(v).ndim else zero_dims).append(d)
        else:
            category = _scalar_category(v)
            if category is None:
                return None
            scalar_top = builtins.max(scalar_top, category)
    top = builtins.max([_CATEGORY[d.kind] for d in dims + zero_dims] + [scalar_top])
    if true_divide and top < 2:
        return _dtypes.default_numpy_dtype()
    for group in (dims, zero_dims):
        in_top = [d for d in group if _CATEGORY[d.kind] == top]
        if in_top:
            return np.result_type(*in_top)
    return {0: np.dtype(np.bool_), 1: np.dtype(np.int64), 2: _dtypes.default_numpy_dtype()}[top]


def _agrees(d: np.dtype, other: Any, true_divide: bool) -> bool:
    """Whether NumPy already gives PyTorch's dtype for a tensor of dtype ``d`` and ``other``."""
    if true_divide and d.kind != "f":
        return False
    if isinstance(other, _Native):
        return _Native._array(other).dtype == d
    kind = type(other)
    if kind is float:
        return d.kind == "f"
    if kind is int:
        return d.kind in "fiu"
    return False


def cast_operands(operands: tuple[Any, ...], true_divide: bool = False) -> tuple[Any, ...]:
    """Operands converted so that NumPy's promotion gives PyTorch's result dtype."""
    if len(operands) == 2:
        a, b = operands
        # The common cases (same dtype, a float tensor and a Python number) need no work.
        if isinstance(a, _Native):
            if _agrees(_Native._array(a).dtype, b, true_divide):
                return operands
        elif isinstance(b, _Native) and _agrees(_Native._array(b).dtype, a, true_divide):
            return operands
    target = result_dtype(*operands, true_divide=true_divide)
    if target is None:
        return operands
    out = []
    for v in operands:
        if isinstance(v, (_Native, np.ndarray)):
            if numpy_of(v).dtype != target:
                v = cr.astype(v, target)
        elif isinstance(v, np.generic):
            v = v.item()  # NumPy scalars count as Python numbers, as in PyTorch
        out.append(v)
    return tuple(out)


# ---------------------------------------------------------------------- Tensor
class _Numel(int):
    """``x.size``: the element count for NumPy-style code, and ``x.size(dim)`` for PyTorch's."""

    def __new__(cls, shape: tuple[int, ...]) -> _Numel:
        n = 1
        for s in shape:
            n *= s
        obj = super().__new__(cls, n)
        obj._shape = shape  # type: ignore[attr-defined]
        return obj

    def __call__(self, dim: int | None = None) -> Any:
        shape = self._shape  # type: ignore[attr-defined]
        if dim is None:
            return Size(shape)
        if not -len(shape) <= dim < builtins.max(len(shape), 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-len(shape)}, "
                f"{len(shape) - 1}], but got {dim})"
            )
        return shape[dim]


class Tensor(_Native):
    """A chainrule tensor with PyTorch's names, dtypes and printing.

    ``torch.Tensor(data)`` makes a float tensor (the default dtype) as in PyTorch; prefer
    ``torch.tensor(data)``, which infers the dtype.

    >>> from chainrule import torch
    >>> x = torch.tensor([0.5, 0.2], requires_grad=True)
    >>> x
    tensor([0.5000, 0.2000], requires_grad=True)
    >>> y = (x ** 2).sum()
    >>> y
    tensor(0.2900, grad_fn=<SumBackward0>)
    >>> y.backward()
    >>> x.grad
    tensor([1.0000, 0.4000])
    """

    __slots__ = ()
    __hash__ = _Native.__hash__

    def __init__(self, *data: Any, **kwargs: Any) -> None:
        if isinstance(self, _NativeParameter):
            # Reached through nn.Parameter's constructor: keep its array as given.
            _Native.__init__(self, *data, **kwargs)
            return
        dtype = _dtypes.to_numpy_dtype(kwargs.pop("dtype", None)) or _dtypes.default_numpy_dtype()
        if kwargs:
            raise TypeError(f"Tensor(): unexpected keyword arguments {sorted(kwargs)}")
        if not data:
            array = np.zeros(0, dtype)
        elif builtins.all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in data):
            array = np.zeros(tuple(int(d) for d in data), dtype)
        elif len(data) == 1 and isinstance(data[0], Size):
            array = np.zeros(tuple(data[0]), dtype)
        elif len(data) == 1:
            array = np.array(numpy_of(data[0]) if isinstance(data[0], _Native) else data[0], dtype=dtype)
        else:
            raise TypeError("Tensor(): give sizes (Tensor(2, 3)) or one sequence of data (Tensor([1, 2]))")
        _Native.__init__(self, array)

    # ------------------------------------------------------------------ array facts
    @property
    def shape(self) -> Size:  # type: ignore[override]
        """The shape as a ``torch.Size``."""
        return Size(_native_shape.__get__(self))

    @property
    def dtype(self) -> Any:  # type: ignore[override]
        """The element type as a dialect dtype (``torch.float32``)."""
        return from_numpy_dtype(_native_dtype.__get__(self))

    @property
    def size(self) -> Any:  # type: ignore[override]
        """``x.size()`` is the shape, ``x.size(d)`` one dimension (used bare it is the element
        count, which native chainrule code reads)."""
        return _Numel(_native_shape.__get__(self))

    def dim(self) -> int:
        """The number of dimensions."""
        return self.ndim

    ndimension = dim

    def numel(self) -> int:
        """The number of elements."""
        return int(_native_size.__get__(self))

    nelement = numel

    @property
    def device(self) -> _dtypes.device:
        """Always the CPU."""
        return _dtypes.device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    def is_floating_point(self) -> bool:
        """True for float16/32/64 tensors."""
        return self.dtype.is_floating_point

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    # ------------------------------------------------------------------ autodiff state
    @property
    def grad_fn(self) -> Any:  # type: ignore[override]
        """The node that made this tensor (None for a leaf), under PyTorch's name for the call."""
        return grad_fn_of(_native_grad_fn.__get__(self))

    @property
    def grad(self) -> Any:  # type: ignore[override]
        """The gradient accumulated by ``backward`` (None until then)."""
        return wrap(_native_grad.__get__(self, type(self)))

    @grad.setter
    def grad(self, value: Any) -> None:
        # PyTorch's checks: a gradient is a tensor (or None) of this tensor's size and dtype.
        if value is not None:
            if not isinstance(value, _Native):
                raise TypeError(
                    f"assigned grad expected to be a Tensor or None but got grad of type {type(value).__name__}"
                )
            mine, theirs = _Native._array(self), _Native._array(value)
            if mine.shape != theirs.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(theirs.shape)}' to a tensor of "
                    f"size '{list(mine.shape)}'. Please ensure that the gradient and the tensor are "
                    "the same size"
                )
            if mine.dtype != theirs.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype {from_numpy_dtype(theirs.dtype)} to a "
                    f"tensor of dtype {from_numpy_dtype(mine.dtype)}. The gradient must match the "
                    "tensor's dtype."
                )
        _native_grad.__set__(self, value)

    @property
    def data(self) -> Tensor:
        """The values outside the graph (sharing memory), as PyTorch's ``.data``."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        with cr.no_grad():
            _Native.copy_(self, value)

    def detach(self) -> Tensor:
        """A tensor with the same values (shared memory) and no history."""
        return wrap(_Native.detach(self))

    def register_hook(self, hook: Callable[[Any], Any]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        return _Native.register_hook(self, lambda g: hook(wrap(g)))

    def numpy(self, force: bool = False) -> np.ndarray:
        """The values as a NumPy array sharing memory (refused while the tensor requires grad,
        as in PyTorch: call ``.detach().numpy()``)."""
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        return _Native.numpy(self)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a PyTorch method the dialect does not provide.
        if name.startswith("_"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        raise unsupported(f"torch.Tensor.{name}")

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        values = _Native._array(self)
        d = values.dtype
        default = _dtypes.default_numpy_dtype()
        silent = d == default if values.size == 0 else (d == default or d in _SILENT)
        node = self.grad_fn
        return tensor_repr(
            values,
            None if silent else repr(from_numpy_dtype(d)),
            None if node is None else node.name,
            self.requires_grad,
        )

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        return format(str(self), spec)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_rebuild, (np.array(_Native._array(self)), self.requires_grad))


def _rebuild(values: np.ndarray, requires_grad: bool) -> Tensor:
    return wrap(cr.tensor(values, requires_grad=requires_grad))


class Parameter(_NativeParameter, Tensor):
    """A tensor that a Module registers as trainable; prints as ``Parameter containing:``.

    It is the native ``chainrule.nn.Parameter`` (so native modules and optimizers take it) with
    the dialect's printing. Built from a tensor it shares that tensor's values.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> nn.Parameter(torch.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()
    __hash__ = _Native.__hash__

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.zeros(0, _dtypes.default_numpy_dtype())
        elif not isinstance(data, (_Native, np.ndarray)):
            data = numpy_of(as_dialect(data))
        dtype = numpy_of(data).dtype
        if requires_grad and dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        _NativeParameter.__init__(self, data, requires_grad)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (np.array(_Native._array(self)), self.requires_grad))

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        copy = Parameter(np.array(_Native._array(self)), requires_grad=self.requires_grad)
        memo[id(self)] = copy
        return copy


class BatchedTensor(Tensor, _NativeBatched):
    """A value inside ``vmap`` with the dialect's methods: ``x.sum(dim=0)``, ``x.unsqueeze(0)``,
    ``x.shape`` (a ``torch.Size``) work per example, as in PyTorch.

    It is the native ``transforms.BatchedTensor`` (the transforms see a batched value) with the
    dialect Tensor's names before it. Reading the values of one example (``numpy``, ``item``,
    printing the numbers) is refused as natively; in-place updates are computed out of place
    and the value takes the new batch.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import vmap
    >>> vmap(lambda row: row.unsqueeze(0).sum(dim=1))(torch.ones(3, 2))
    tensor([[2.],
            [2.],
            [2.]])
    """

    __slots__ = ()
    __hash__ = _Native.__hash__

    numpy = item = tolist = __array__ = __float__ = __int__ = __index__ = __bool__ = _NativeBatched._refuse  # type: ignore[assignment]
    __repr__ = __str__ = _NativeBatched.__repr__
    __format__ = _NativeBatched.__format__
    __reduce_ex__ = _NativeBatched._refuse  # type: ignore[assignment]

    def detach(self) -> Any:
        """Every example's values without history."""
        return wrap(_NativeBatched.detach(self))

    def clone(self, memory_format: Any = None) -> Any:
        """A copy of every example (in the graph when it requires grad)."""
        return label(wrap(_NativeBatched.clone(self)), "CloneBackward0", self)
