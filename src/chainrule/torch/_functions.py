"""PyTorch's math, reduction and shape functions, mapped onto chainrule's native functions.

Each function renames arguments (``dim`` -> ``axis``, ``keepdim`` -> ``keepdims``,
``correction``/``unbiased`` -> ``ddof``), applies PyTorch's dtype rules where NumPy's differ
(integers become the default float in ``exp``, ``/`` and friends; Python numbers do not widen a
float32 tensor), calls the native function and re-classes the result. There is no derivative
logic here: every result comes from a native op, recorded by the native engine.
"""

from __future__ import annotations

import builtins
import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.torch import _dtypes
from chainrule.torch._tensor import Tensor, as_dialect, cast_operands, label, numpy_of, wrap

__all__ = [
    # elementwise
    "exp", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal",
    "erf", "abs", "absolute", "neg", "negative", "square", "relu", "sign", "floor", "ceil", "round",
    "clamp", "clip", "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
    "pow", "maximum", "minimum", "atan2", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "where",
    "isnan", "isinf", "isfinite", "logical_not", "logical_and", "logical_or",
    # linear algebra
    "matmul", "mm", "mv", "bmm", "dot", "outer", "einsum", "trace", "det", "inverse",
    # reductions
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
    "logsumexp", "norm", "cumsum", "cumprod", "all", "any",
    # activations
    "softmax", "log_softmax",
    # shapes
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "permute", "t", "cat",
    "concat", "concatenate", "stack", "split", "chunk", "flip", "roll", "tile", "gather",
    "masked_fill", "clone", "detach", "numel", "is_tensor", "is_floating_point", "allclose",
    "equal", "return_types",
]  # fmt: skip

_sum = builtins.sum


# ---------------------------------------------------------------------- helpers
def _float_input(x: Any) -> Any:
    """``x`` as a tensor, integers and bools converted to the default float (PyTorch's rule
    for functions that only make sense on floats)."""
    x = as_dialect(x)
    if numpy_of(x).dtype.kind in "biu":
        return cr.astype(x, _dtypes.default_numpy_dtype())
    return x


def _axis(dim: Any) -> Any:
    if dim is None or isinstance(dim, (int, np.integer)):
        return dim
    return tuple(int(d) for d in dim)


def _unary_float(native: Any, name: str) -> Any:
    def fn(input: Any) -> Tensor:  # noqa: A002
        return wrap(native(_float_input(input)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}`` of every element (integer inputs give the default float).\n\n" \
        f"    >>> from chainrule import torch\n    >>> torch.{name}(torch.tensor([0.5])).shape\n    torch.Size([1])\n"  # fmt: skip
    return fn


def _unary_same(native: Any, name: str) -> Any:
    def fn(input: Any) -> Tensor:  # noqa: A002
        return wrap(native(as_dialect(input)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``{name}`` of every element, keeping the dtype.\n\n" \
        f"    >>> from chainrule import torch\n    >>> torch.{name}(torch.tensor([-2.])).shape\n    torch.Size([1])\n"  # fmt: skip
    return fn


exp = _unary_float(cr.exp, "exp")
log = _unary_float(cr.log, "log")
log2 = _unary_float(cr.log2, "log2")
log10 = _unary_float(cr.log10, "log10")
log1p = _unary_float(cr.log1p, "log1p")
expm1 = _unary_float(cr.expm1, "expm1")
sin = _unary_float(cr.sin, "sin")
cos = _unary_float(cr.cos, "cos")
tan = _unary_float(cr.tan, "tan")
asin = arcsin = _unary_float(cr.arcsin, "asin")
acos = arccos = _unary_float(cr.arccos, "acos")
atan = arctan = _unary_float(cr.arctan, "atan")
sinh = _unary_float(cr.sinh, "sinh")
cosh = _unary_float(cr.cosh, "cosh")
tanh = _unary_float(cr.tanh, "tanh")
sigmoid = _unary_float(cr.sigmoid, "sigmoid")
sqrt = _unary_float(cr.sqrt, "sqrt")
reciprocal = _unary_float(cr.reciprocal, "reciprocal")
erf = _unary_float(cr.erf, "erf")
abs = absolute = _unary_same(cr.abs, "abs")  # noqa: A001
neg = negative = _unary_same(cr.neg, "neg")
square = _unary_same(cr.square, "square")
relu = _unary_same(cr.relu, "relu")
sign = _unary_same(cr.sign, "sign")
floor = _unary_same(cr.floor, "floor")
ceil = _unary_same(cr.ceil, "ceil")
isnan = _unary_same(cr.isnan, "isnan")
isinf = _unary_same(cr.isinf, "isinf")
isfinite = _unary_same(cr.isfinite, "isfinite")
logical_not = _unary_same(cr.logical_not, "logical_not")


def rsqrt(input: Any) -> Tensor:  # noqa: A002
    """``1 / sqrt(x)`` of every element.

    >>> from chainrule import torch
    >>> torch.rsqrt(torch.tensor([4.]))
    tensor([0.5000])
    """
    return wrap(cr.reciprocal(cr.sqrt(_float_input(input))))


def round(input: Any, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (as PyTorch), to ``decimals`` places.

    >>> from chainrule import torch
    >>> torch.round(torch.tensor([0.5, 1.5, 2.7]))
    tensor([0., 2., 3.])
    """
    x = as_dialect(input)
    if decimals:
        scale = 10.0**decimals
        return wrap(cr.divide(cr.round(cr.multiply(x, scale)), scale))
    return wrap(cr.round(x))


def clamp(input: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Limit every element to [min, max] (gradient 1 inside, 0 outside).

    >>> from chainrule import torch
    >>> torch.clamp(torch.tensor([-1., 0.5, 2.]), min=0., max=1.)
    tensor([0.0000, 0.5000, 1.0000])
    """
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return wrap(cr.clip(as_dialect(input), min, max))


clip = clamp


def _binary(native: Any, name: str, true_divide: bool = False) -> Any:
    def fn(input: Any, other: Any) -> Tensor:  # noqa: A002
        a, b = cast_operands((input, other), true_divide)
        return wrap(native(a, b))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with broadcasting and PyTorch's type promotion.\n\n" \
        f"    >>> from chainrule import torch\n    >>> torch.{name}(torch.tensor([2.]), torch.tensor([1.])).shape\n    torch.Size([1])\n"  # fmt: skip
    return fn


mul = multiply = _binary(cr.multiply, "mul")
true_divide = _binary(cr.divide, "true_divide", True)
pow = _binary(cr.power, "pow")  # noqa: A001
maximum = _binary(cr.maximum, "maximum")
minimum = _binary(cr.minimum, "minimum")
atan2 = _binary(cr.arctan2, "atan2", True)
remainder = _binary(cr.mod, "remainder")
eq = _binary(cr.equal, "eq")
ne = _binary(cr.not_equal, "ne")
lt = _binary(cr.less, "lt")
le = _binary(cr.less_equal, "le")
gt = _binary(cr.greater, "gt")
ge = _binary(cr.greater_equal, "ge")
logical_and = _binary(cr.logical_and, "logical_and")
logical_or = _binary(cr.logical_or, "logical_or")


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """``input + alpha * other``.

    >>> from chainrule import torch
    >>> torch.add(torch.tensor([1., 2.]), torch.tensor([1., 1.]), alpha=10)
    tensor([11., 12.])
    """
    if alpha != 1:
        other = mul(other, alpha)
    a, b = cast_operands((input, other))
    return wrap(cr.add(a, b))


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """``input - alpha * other``.

    >>> from chainrule import torch
    >>> torch.sub(torch.tensor([5.]), torch.tensor([1.]), alpha=2)
    tensor([3.])
    """
    if alpha != 1:
        other = mul(other, alpha)
    a, b = cast_operands((input, other))
    return wrap(cr.subtract(a, b))


subtract = sub


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """``input / other`` (true division; ``rounding_mode='floor'`` or ``'trunc'`` rounds).

    >>> from chainrule import torch
    >>> torch.div(torch.tensor([1, 3]), 2)
    tensor([0.5000, 1.5000])
    """
    if rounding_mode is None:
        a, b = cast_operands((input, other), True)
        return wrap(cr.divide(a, b))
    a, b = cast_operands((input, other))
    if rounding_mode == "floor":
        return wrap(cr.floor_divide(a, b))
    if rounding_mode == "trunc":
        q = cr.divide(a, b)
        truncated = cr.where(cr.less(q, 0), cr.ceil(q), cr.floor(q))
        return wrap(cr.astype(truncated, numpy_of(a).dtype if isinstance(a, cr.Tensor) else numpy_of(truncated).dtype))
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


divide = div


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """``input`` where ``condition`` holds, else ``other`` (differentiable in both).

    >>> from chainrule import torch
    >>> x = torch.tensor([-1., 2.])
    >>> torch.where(x > 0, x, 0.)
    tensor([0., 2.])
    """
    if input is None and other is None:
        return tuple(wrap(cr.tensor(i)) for i in np.nonzero(numpy_of(condition)))
    a, b = cast_operands((input, other))
    return wrap(cr.where(as_dialect(condition), a, b))


# ---------------------------------------------------------------------- linear algebra
def matmul(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Matrix product with PyTorch's (NumPy's) rules for 1-D and batched operands.

    >>> from chainrule import torch
    >>> torch.matmul(torch.ones(2, 3), torch.ones(3))
    tensor([3., 3.])
    """
    a, b = as_dialect(input), as_dialect(other)
    result = wrap(cr.matmul(a, b))
    ranks = (numpy_of(a).ndim, numpy_of(b).ndim)
    if ranks == (1, 1):
        return label(result, "DotBackward0", a, b)
    if ranks == (2, 1):
        return label(result, "MvBackward0", a, b)
    return result


def mm(input: Any, mat2: Any) -> Tensor:  # noqa: A002
    """Product of two matrices (2-D only).

    >>> from chainrule import torch
    >>> torch.mm(torch.eye(2), torch.ones(2, 1)).shape
    torch.Size([2, 1])
    """
    a, b = as_dialect(input), as_dialect(mat2)
    if numpy_of(a).ndim != 2 or numpy_of(b).ndim != 2:
        raise RuntimeError(f"mm: both arguments must be matrices, got {numpy_of(a).ndim}-D and {numpy_of(b).ndim}-D")
    return wrap(cr.matmul(a, b))


def mv(input: Any, vec: Any) -> Tensor:  # noqa: A002
    """Matrix-vector product.

    >>> from chainrule import torch
    >>> torch.mv(torch.eye(2), torch.tensor([1., 2.]))
    tensor([1., 2.])
    """
    return matmul(input, vec)


def bmm(input: Any, mat2: Any) -> Tensor:  # noqa: A002
    """Batched matrix product of two 3-D tensors.

    >>> from chainrule import torch
    >>> torch.bmm(torch.ones(4, 2, 3), torch.ones(4, 3, 5)).shape
    torch.Size([4, 2, 5])
    """
    a, b = as_dialect(input), as_dialect(mat2)
    if numpy_of(a).ndim != 3 or numpy_of(b).ndim != 3:
        raise RuntimeError(f"bmm: both arguments must be 3-D, got {numpy_of(a).ndim}-D and {numpy_of(b).ndim}-D")
    return label(wrap(cr.matmul(a, b)), "BmmBackward0", a, b)


def dot(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Inner product of two 1-D tensors.

    >>> from chainrule import torch
    >>> torch.dot(torch.tensor([1., 2.]), torch.tensor([3., 4.]))
    tensor(11.)
    """
    a, b = as_dialect(input), as_dialect(other)
    return label(wrap(cr.dot(a, b)), "DotBackward0", a, b)


def outer(input: Any, vec2: Any) -> Tensor:  # noqa: A002
    """Outer product of two vectors.

    >>> from chainrule import torch
    >>> torch.outer(torch.tensor([1., 2.]), torch.tensor([1., 0.]))
    tensor([[1., 0.],
            [2., 0.]])
    """
    return wrap(cr.outer(as_dialect(input), as_dialect(vec2)))


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation (operands as arguments or one list).

    >>> from chainrule import torch
    >>> torch.einsum("ij,j->i", torch.eye(2), torch.tensor([1., 2.]))
    tensor([1., 2.])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return wrap(cr.einsum(equation, *[as_dialect(o) for o in operands]))


def trace(input: Any) -> Tensor:  # noqa: A002
    """Sum of the diagonal of a matrix.

    >>> from chainrule import torch
    >>> torch.trace(torch.eye(3))
    tensor(3.)
    """
    return wrap(cr.trace(as_dialect(input)))


def det(input: Any) -> Tensor:  # noqa: A002
    """Determinant of a square matrix (or a batch).

    >>> from chainrule import torch
    >>> torch.det(torch.eye(2) * 2)
    tensor(4.)
    """
    return wrap(cr.det(as_dialect(input)))


def inverse(input: Any) -> Tensor:  # noqa: A002
    """Inverse of a square matrix (or a batch).

    >>> from chainrule import torch
    >>> torch.inverse(torch.eye(2) * 2)
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]])
    """
    return wrap(cr.inv(as_dialect(input)))


# ---------------------------------------------------------------------- reductions
class _ReturnType(tuple):
    """A named pair like PyTorch's ``torch.return_types.max(values=..., indices=...)``."""

    _name = "max"

    def __new__(cls, values: Any, indices: Any) -> _ReturnType:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Any:
        return self[0]

    @property
    def indices(self) -> Any:
        return self[1]

    def __repr__(self) -> str:
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


class _Namespace:
    """``torch.return_types``: the named results of ``max``, ``min`` and friends."""

    def __init__(self) -> None:
        for name in ("max", "min", "sort", "topk", "kthvalue", "mode", "median"):
            setattr(self, name, type(name, (_ReturnType,), {"_name": name}))


return_types = _Namespace()


def _reduce_args(dim: Any, keepdim: bool) -> dict[str, Any]:
    return {"axis": _axis(dim), "keepdims": bool(keepdim)}


def sum(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (all elements when None); bool and integer inputs sum to int64.

    >>> from chainrule import torch
    >>> torch.sum(torch.tensor([[1., 2.], [3., 4.]]), dim=0)
    tensor([4., 6.])
    """
    x = as_dialect(input)
    if dtype is not None:
        x = cr.astype(x, _dtypes.to_numpy_dtype(dtype))
    elif numpy_of(x).dtype.kind in "biu":
        x = cr.astype(x, np.int64)
    result = wrap(cr.sum(x, **_reduce_args(dim, keepdim)))
    return result if dim is None else label(result, "SumBackward1", x)


def _needs_float(x: Any, op: str) -> None:
    d = numpy_of(x).dtype
    if d.kind != "f":
        raise RuntimeError(
            f"{op}(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_dtypes.from_numpy_dtype(d)}"
        )


def mean(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Mean over ``dim`` (all elements when None); floating-point inputs only, as in PyTorch.

    >>> from chainrule import torch
    >>> torch.mean(torch.tensor([1., 2., 3., 4.]))
    tensor(2.5000)
    """
    x = as_dialect(input)
    if dtype is not None:
        x = cr.astype(x, _dtypes.to_numpy_dtype(dtype))
    _needs_float(x, "mean")
    result = wrap(cr.mean(x, **_reduce_args(dim, keepdim)))
    return result if dim is None else label(result, "MeanBackward1", x)


def prod(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """Product over ``dim`` (all elements when None).

    >>> from chainrule import torch
    >>> torch.prod(torch.tensor([1., 2., 3.]))
    tensor(6.)
    """
    x = as_dialect(input)
    if dtype is not None:
        x = cr.astype(x, _dtypes.to_numpy_dtype(dtype))
    return wrap(cr.prod(x, **_reduce_args(dim, keepdim)))


def _extreme(input: Any, dim: Any, keepdim: bool, which: str) -> Any:
    x = as_dialect(input)
    if isinstance(dim, cr.Tensor):
        return (maximum if which == "max" else minimum)(x, dim)
    native_full = cr.max if which == "max" else cr.min
    if dim is None:
        if numpy_of(x).size == 0:
            raise RuntimeError(
                f"{which}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument."
            )
        return label(wrap(native_full(x)), f"{which.capitalize()}Backward1", x)
    position = (cr.argmax if which == "max" else cr.argmin)(x, int(dim), keepdims=True)
    # Gather at the index: the gradient goes to that one entry, as in PyTorch's max(dim).
    values = cr.take_along_axis(x, position, int(dim))
    if not keepdim:
        values = cr.squeeze(values, int(dim))
        position = cr.squeeze(position, int(dim))
    cls = getattr(return_types, which)
    return cls(label(wrap(values), f"{which.capitalize()}Backward0", x), wrap(position))


def max(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The largest element; with ``dim``, the pair (values, indices) along it; with a tensor
    second argument, the elementwise maximum.

    >>> from chainrule import torch
    >>> x = torch.tensor([[1., 5.], [7., 2.]])
    >>> torch.max(x)
    tensor(7.)
    >>> torch.max(x, 1).indices
    tensor([1, 0])
    """
    return _extreme(input, dim, keepdim, "max")


def min(input: Any, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """The smallest element; with ``dim``, the pair (values, indices) along it.

    >>> from chainrule import torch
    >>> torch.min(torch.tensor([[1., 5.], [7., 2.]]), dim=0).values
    tensor([1., 2.])
    """
    return _extreme(input, dim, keepdim, "min")


def amax(input: Any, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Largest values over ``dim`` (ties share the gradient evenly).

    >>> from chainrule import torch
    >>> torch.amax(torch.tensor([[1., 5.], [7., 2.]]), dim=1)
    tensor([5., 7.])
    """
    return wrap(cr.max(as_dialect(input), **_reduce_args(None if dim == () else dim, keepdim)))


def amin(input: Any, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """Smallest values over ``dim`` (ties share the gradient evenly).

    >>> from chainrule import torch
    >>> torch.amin(torch.tensor([[1., 5.], [7., 2.]]), dim=1)
    tensor([1., 2.])
    """
    return wrap(cr.min(as_dialect(input), **_reduce_args(None if dim == () else dim, keepdim)))


def argmax(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the largest element (of the flattened tensor when ``dim`` is None).

    >>> from chainrule import torch
    >>> torch.argmax(torch.tensor([1., 5., 2.]))
    tensor(1)
    """
    return wrap(cr.argmax(as_dialect(input), dim, keepdims=bool(keepdim) and dim is not None))


def argmin(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Index of the smallest element (of the flattened tensor when ``dim`` is None).

    >>> from chainrule import torch
    >>> torch.argmin(torch.tensor([1., 5., 2.]))
    tensor(0)
    """
    return wrap(cr.argmin(as_dialect(input), dim, keepdims=bool(keepdim) and dim is not None))


def _ddof(unbiased: Any, correction: Any) -> int:
    if correction is not None:
        return int(correction)
    if unbiased is not None:
        return 1 if unbiased else 0
    return 1


def var(input: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
        correction: Any = None) -> Tensor:  # fmt: skip
    """Variance over ``dim``; unbiased (``correction=1``) by default, as in PyTorch.

    >>> from chainrule import torch
    >>> torch.var(torch.tensor([1., 2., 3., 4.]))
    tensor(1.6667)
    >>> torch.var(torch.tensor([1., 2., 3., 4.]), correction=0)
    tensor(1.2500)
    """
    if isinstance(dim, bool):  # var(x, True): the old (input, unbiased) form
        dim, unbiased = None, dim
    x = as_dialect(input)
    _needs_float(x, "var")
    return label(wrap(cr.var(x, _axis(dim), ddof=_ddof(unbiased, correction), keepdims=bool(keepdim))), "VarBackward0", x)


def std(input: Any, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,  # noqa: A002
        correction: Any = None) -> Tensor:  # fmt: skip
    """Standard deviation over ``dim``; unbiased by default, as in PyTorch.

    >>> from chainrule import torch
    >>> torch.std(torch.tensor([1., 3.]))
    tensor(1.4142)
    """
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    x = as_dialect(input)
    _needs_float(x, "std")
    return label(wrap(cr.std(x, _axis(dim), ddof=_ddof(unbiased, correction), keepdims=bool(keepdim))), "StdBackward0", x)


def logsumexp(input: Any, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """``log(sum(exp(x)))`` over ``dim``, computed stably.

    >>> from chainrule import torch
    >>> torch.logsumexp(torch.tensor([0., 0.]), dim=0)
    tensor(0.6931)
    """
    return wrap(cr.logsumexp(_float_input(input), **_reduce_args(dim, keepdim)))


def norm(input: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """Vector p-norm of the entries over ``dim`` (of all entries when None): p = 2/'fro', 1, inf.

    >>> from chainrule import torch
    >>> torch.norm(torch.tensor([[3., 4.], [0., 0.]]))
    tensor(5.)
    """
    x = _float_input(input)
    if dim is None:
        x = cr.reshape(x, (-1,))
    order = None if p in ("fro", 2, 2.0) else p
    result = wrap(cr.norm(x, order, None if dim is None else _axis(dim), keepdims=bool(keepdim)))
    return label(result, "LinalgVectorNormBackward0", input)


def cumsum(input: Any, dim: int) -> Tensor:  # noqa: A002
    """Running sums along ``dim``.

    >>> from chainrule import torch
    >>> torch.cumsum(torch.tensor([1., 2., 3.]), dim=0)
    tensor([1., 3., 6.])
    """
    return wrap(cr.cumsum(as_dialect(input), int(dim)))


def cumprod(input: Any, dim: int) -> Tensor:  # noqa: A002
    """Running products along ``dim``.

    >>> from chainrule import torch
    >>> torch.cumprod(torch.tensor([1., 2., 3.]), dim=0)
    tensor([1., 2., 6.])
    """
    return wrap(cr.cumprod(as_dialect(input), int(dim)))


def all(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``) is non-zero.

    >>> from chainrule import torch
    >>> torch.all(torch.tensor([True, False]))
    tensor(False)
    """
    values = np.all(numpy_of(input), axis=_axis(dim), keepdims=bool(keepdim) and dim is not None)
    return wrap(cr.tensor(values))


def any(input: Any, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element (over ``dim``) is non-zero.

    >>> from chainrule import torch
    >>> torch.any(torch.tensor([True, False]))
    tensor(True)
    """
    values = np.any(numpy_of(input), axis=_axis(dim), keepdims=bool(keepdim) and dim is not None)
    return wrap(cr.tensor(values))


# ---------------------------------------------------------------------- activations
def _softmax_dim(ndim: int, dim: Any, name: str) -> int:
    if dim is not None:
        return int(dim)
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Any, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """``exp(x) / sum(exp(x))`` along ``dim``.

    >>> from chainrule import torch
    >>> torch.softmax(torch.tensor([0., 0.]), dim=0)
    tensor([0.5000, 0.5000])
    """
    x = _float_input(input) if dtype is None else cr.astype(as_dialect(input), _dtypes.to_numpy_dtype(dtype))
    return label(wrap(cr.softmax(x, _softmax_dim(numpy_of(x).ndim, dim, "softmax"))), "SoftmaxBackward0", x)


def log_softmax(input: Any, dim: Any = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """``log(softmax(x))`` along ``dim``, computed stably.

    >>> from chainrule import torch
    >>> torch.log_softmax(torch.tensor([0., 0.]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    x = _float_input(input) if dtype is None else cr.astype(as_dialect(input), _dtypes.to_numpy_dtype(dtype))
    return wrap(cr.log_softmax(x, _softmax_dim(numpy_of(x).ndim, dim, "log_softmax")))


# ---------------------------------------------------------------------- shapes
def reshape(input: Any, shape: Any) -> Tensor:  # noqa: A002
    """The same values in a new shape (one dimension may be -1).

    >>> from chainrule import torch
    >>> torch.reshape(torch.arange(6), (2, 3)).shape
    torch.Size([2, 3])
    """
    return wrap(cr.reshape(as_dialect(input), tuple(shape)))


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    """Merge dimensions ``start_dim..end_dim`` into one.

    >>> from chainrule import torch
    >>> torch.flatten(torch.zeros(2, 3, 4), 1).shape
    torch.Size([2, 12])
    """
    x = as_dialect(input)
    if numpy_of(x).ndim == 0:
        return wrap(cr.reshape(x, (1,)))
    return wrap(cr.flatten(x, start_dim, end_dim))


def squeeze(input: Any, dim: Any = None) -> Tensor:  # noqa: A002
    """Drop dimensions of size 1 (only ``dim`` when given; a ``dim`` of another size is kept,
    as in PyTorch).

    >>> from chainrule import torch
    >>> torch.squeeze(torch.zeros(2, 1, 3)).shape
    torch.Size([2, 3])
    """
    x = as_dialect(input)
    shape = numpy_of(x).shape
    if dim is None:
        return label(wrap(cr.squeeze(x)), "SqueezeBackward0", x)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    keep = tuple(d % builtins.max(len(shape), 1) for d in dims if shape and shape[d] == 1)
    if not keep:
        return label(wrap(cr.reshape(x, shape)), "SqueezeBackward1", x)
    return label(wrap(cr.squeeze(x, keep if len(keep) > 1 else keep[0])), "SqueezeBackward1", x)


def unsqueeze(input: Any, dim: int) -> Tensor:  # noqa: A002
    """Insert a dimension of size 1 at ``dim``.

    >>> from chainrule import torch
    >>> torch.unsqueeze(torch.zeros(3), 0).shape
    torch.Size([1, 3])
    """
    x = as_dialect(input)
    return label(wrap(cr.expand_dims(x, int(dim))), "UnsqueezeBackward0", x)


def transpose(input: Any, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """Swap two dimensions.

    >>> from chainrule import torch
    >>> torch.transpose(torch.zeros(2, 3, 4), 0, 2).shape
    torch.Size([4, 3, 2])
    """
    x = as_dialect(input)
    if numpy_of(x).ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return label(wrap(cr.reshape(x, numpy_of(x).shape)), "TransposeBackward0", x)
    return label(wrap(cr.swapaxes(x, int(dim0), int(dim1))), "TransposeBackward0", x)


swapaxes = transpose


def permute(input: Any, dims: Any) -> Tensor:  # noqa: A002
    """Reorder the dimensions.

    >>> from chainrule import torch
    >>> torch.permute(torch.zeros(2, 3, 4), (2, 0, 1)).shape
    torch.Size([4, 2, 3])
    """
    return wrap(cr.permute(as_dialect(input), tuple(dims)))


def t(input: Any) -> Tensor:  # noqa: A002
    """Transpose of a matrix (tensors with fewer than 2 dimensions come back as they are).

    >>> from chainrule import torch
    >>> torch.t(torch.zeros(2, 3)).shape
    torch.Size([3, 2])
    """
    x = as_dialect(input)
    ndim = numpy_of(x).ndim
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return label(wrap(cr.transpose(x) if ndim == 2 else cr.reshape(x, numpy_of(x).shape)), "TBackward0", x)


def _promoted(tensors: Sequence[Any]) -> list[Any]:
    items = [as_dialect(x) for x in tensors]
    return list(cast_operands(tuple(items))) if len(items) > 1 else items


def cat(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join tensors along an existing dimension.

    >>> from chainrule import torch
    >>> torch.cat([torch.zeros(2, 3), torch.ones(1, 3)]).shape
    torch.Size([3, 3])
    """
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("cat(): expected a non-empty list or tuple of Tensors")
    return wrap(cr.concatenate(_promoted(tensors), int(dim)))


concat = concatenate = cat


def stack(tensors: Sequence[Any], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension.

    >>> from chainrule import torch
    >>> torch.stack([torch.zeros(3), torch.ones(3)], dim=1).shape
    torch.Size([3, 2])
    """
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError("stack(): expected a non-empty list or tuple of Tensors")
    return label(wrap(cr.stack(_promoted(tensors), int(dim))), "StackBackward0", *tensors)


def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces along ``dim``: of ``split_size`` each (the last may be shorter), or of the sizes
    in a list.

    >>> from chainrule import torch
    >>> [p.shape[0] for p in torch.split(torch.arange(5), 2)]
    [2, 2, 1]
    """
    x = as_dialect(tensor)
    n = numpy_of(x).shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if _sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {dim}), but got split_sizes={sizes}")
    cuts = list(np.cumsum(sizes)[:-1])
    return tuple(wrap(cr.split(x, cuts, int(dim))))


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """``chunks`` pieces of (nearly) equal size along ``dim``.

    >>> from chainrule import torch
    >>> len(torch.chunk(torch.arange(6), 3))
    3
    """
    n = numpy_of(input).shape[dim]
    size = -(-n // int(chunks))
    return split(input, builtins.max(size, 1), dim)


def flip(input: Any, dims: Any) -> Tensor:  # noqa: A002
    """Reverse the order along ``dims``.

    >>> from chainrule import torch
    >>> torch.flip(torch.tensor([1, 2, 3]), [0])
    tensor([3, 2, 1])
    """
    axes = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return wrap(cr.flip(as_dialect(input), axes))


def roll(input: Any, shifts: Any, dims: Any = None) -> Tensor:  # noqa: A002
    """Shift elements cyclically along ``dims`` (of the flattened tensor when None).

    >>> from chainrule import torch
    >>> torch.roll(torch.tensor([1, 2, 3]), 1)
    tensor([3, 1, 2])
    """
    return wrap(cr.roll(as_dialect(input), shifts, dims))


def tile(input: Any, dims: Any) -> Tensor:  # noqa: A002
    """Repeat the whole tensor ``dims`` times along each dimension.

    >>> from chainrule import torch
    >>> torch.tile(torch.tensor([1, 2]), (2,))
    tensor([1, 2, 1, 2])
    """
    return wrap(cr.tile(as_dialect(input), tuple(dims) if not isinstance(dims, int) else (dims,)))


def gather(input: Any, dim: int, index: Any) -> Tensor:  # noqa: A002
    """Pick ``input`` entries along ``dim`` at ``index`` (the gradient goes back to them).

    >>> from chainrule import torch
    >>> torch.gather(torch.tensor([[1., 2.], [3., 4.]]), 1, torch.tensor([[1], [0]]))
    tensor([[2.],
            [3.]])
    """
    return wrap(cr.take_along_axis(as_dialect(input), as_dialect(index), int(dim)))


def masked_fill(input: Any, mask: Any, value: Any) -> Tensor:  # noqa: A002
    """``value`` where ``mask`` is True, ``input`` elsewhere.

    >>> from chainrule import torch
    >>> torch.masked_fill(torch.zeros(3), torch.tensor([True, False, True]), 1.)
    tensor([1., 0., 1.])
    """
    x = as_dialect(input)
    fill = cr.astype(as_dialect(value), numpy_of(x).dtype) if isinstance(value, cr.Tensor) else value
    return wrap(cr.where(as_dialect(mask), fill, x))


def clone(input: Any) -> Tensor:  # noqa: A002
    """A copy that stays in the graph (its gradient flows back to ``input``).

    >>> from chainrule import torch
    >>> torch.clone(torch.ones(2))
    tensor([1., 1.])
    """
    x = as_dialect(input)
    return label(wrap(x.clone()), "CloneBackward0", x)


def detach(input: Any) -> Tensor:  # noqa: A002
    """The values outside the graph (shared memory).

    >>> from chainrule import torch
    >>> torch.detach(torch.ones(1, requires_grad=True)).requires_grad
    False
    """
    return wrap(as_dialect(input).detach())


def numel(input: Any) -> int:  # noqa: A002
    """The number of elements.

    >>> from chainrule import torch
    >>> torch.numel(torch.zeros(2, 3))
    6
    """
    return int(numpy_of(input).size)


def is_tensor(obj: Any) -> bool:
    """True for tensors (dialect or native).

    >>> from chainrule import torch
    >>> torch.is_tensor(torch.zeros(1)), torch.is_tensor([0.])
    (True, False)
    """
    return isinstance(obj, cr.Tensor)


def is_floating_point(input: Any) -> bool:  # noqa: A002
    """True for float16/32/64 tensors.

    >>> from chainrule import torch
    >>> torch.is_floating_point(torch.zeros(1))
    True
    """
    return numpy_of(input).dtype.kind == "f"


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:  # noqa: A002
    """Whether all elements are close: ``|input - other| <= atol + rtol * |other|``.

    >>> from chainrule import torch
    >>> torch.allclose(torch.tensor([1.0]), torch.tensor([1.0 + 1e-7]))
    True
    """
    return bool(np.allclose(numpy_of(input), numpy_of(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Any, other: Any) -> bool:  # noqa: A002
    """Whether two tensors have the same shape and elements.

    >>> from chainrule import torch
    >>> torch.equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    True
    """
    a, b = numpy_of(input), numpy_of(other)
    return a.shape == b.shape and bool(np.array_equal(a, b))


# ---------------------------------------------------------------------- PyTorch's exception types
def _runtime_errors(fn: Any) -> Any:
    """``fn`` raising RuntimeError where the native function raises ValueError (shape
    mismatches): PyTorch reports those as RuntimeError. The message is kept."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValueError as exc:
            raise RuntimeError(str(exc)) from exc

    return wrapper


# Functions that take PyTorch's ``out=`` argument (one tensor result).
_WITH_OUT = {
    "exp", "log", "log2", "log10", "log1p", "expm1", "sin", "cos", "tan", "asin", "acos", "atan",
    "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal",
    "erf", "abs", "absolute", "neg", "negative", "square", "sign", "floor", "ceil", "round",
    "clamp", "clip", "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
    "pow", "maximum", "minimum", "atan2", "remainder", "eq", "ne", "lt", "le", "gt", "ge", "where",
    "logical_not", "logical_and", "logical_or", "matmul", "mm", "mv", "bmm", "dot", "outer",
    "einsum", "sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "logsumexp", "cumsum",
    "cumprod", "cat", "concat", "concatenate", "stack", "softmax", "log_softmax", "gather",
}  # fmt: skip


def write_out(name: str, result: Any, out: Any) -> Any:
    """PyTorch's ``out=``: copy ``result`` into the tensor ``out`` and return ``out``.

    As in PyTorch, this is refused while grad mode is on and an argument requires grad (``out=``
    writes are not differentiable). The shapes must agree (PyTorch would resize ``out``).
    """
    if not isinstance(out, cr.Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if isinstance(result, cr.Tensor) and result.requires_grad and cr.is_grad_enabled():
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad."
        )
    values = numpy_of(result)
    target = numpy_of(out)
    if values.shape != target.shape:
        raise RuntimeError(
            f"{name}(): out= has shape {list(target.shape)} but the result has shape "
            f"{list(values.shape)}; chainrule.torch does not resize out= tensors, give one of the "
            "result's shape"
        )
    if not np.can_cast(values.dtype, target.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {_dtypes.from_numpy_dtype(values.dtype)} can't be cast to the desired "
            f"output type {_dtypes.from_numpy_dtype(target.dtype)}"
        )
    with cr.no_grad():
        cr.Tensor.copy_(out, cr.tensor(values.astype(target.dtype, copy=False)))
    return out


def _dialect_function(name: str, fn: Any) -> Any:
    """``fn`` raising RuntimeError where the native function raises ValueError (shape
    mismatches: PyTorch reports those as RuntimeError, message kept), and taking ``out=`` when
    PyTorch's function does."""
    takes_out = name in _WITH_OUT

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.pop("out", None) if takes_out else None
        try:
            result = fn(*args, **kwargs)
        except ValueError as exc:
            raise RuntimeError(str(exc)) from exc
        return result if out is None else write_out(name, result, out)

    return wrapper


for _name in __all__:
    _value = globals()[_name]
    if callable(_value) and not isinstance(_value, type) and _name != "return_types":
        globals()[_name] = _dialect_function(_name, _value)
del _name, _value
