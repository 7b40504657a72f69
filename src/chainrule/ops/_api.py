"""Helpers shared by the op families: turning a primitive into a public function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.backend import is_foreign
from chainrule.core.dispatch import SEQUENCE_TO_TENSOR, bind
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.core.tensor import wrap_array as _wrap

__all__ = ["ensure_tensor", "unary_function", "binary_function", "bind", "Tensor", "as_array", "as_operand"]


def ensure_tensor(out: Any) -> Tensor:
    """Public functions always return a Tensor, even for raw inputs."""
    return out if isinstance(out, Tensor) else _wrap(out)


def as_operand(x: Any) -> Any:
    """A Tensor stays a Tensor; a list or tuple holding tensors is stacked (differentiably);
    anything else becomes an ndarray (rules read ``.shape``)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (list, tuple)) and SEQUENCE_TO_TENSOR[0] is not None:
        stacked = bind_sequence(x)
        if stacked is not None:
            return stacked
    if is_foreign(x):
        return x  # another library's array stays in its library (it has .shape)
    return np.asarray(x)


def bind_sequence(seq: Any) -> Any:
    """``seq`` stacked into one tensor when it holds tensors, else None."""
    def holds(items: Any) -> bool:
        return any(isinstance(i, Tensor) or (isinstance(i, (list, tuple)) and holds(i)) for i in items)

    return SEQUENCE_TO_TENSOR[0](seq) if holds(seq) else None


def as_array(x: Any) -> Any:
    """The raw data of a Tensor, or the value itself (a list holding tensors: their stack's)."""
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, (list, tuple)) and SEQUENCE_TO_TENSOR[0] is not None:
        stacked = bind_sequence(x)
        if stacked is not None:
            return stacked._data
    return x


def unary_function(prim: Primitive, doc: str) -> Callable[[Any], Tensor]:
    """Public one-argument function for an elementwise primitive."""

    def op(x: Any) -> Tensor:
        out = bind(prim, x)
        return out if isinstance(out, Tensor) else _wrap(out)

    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    return op


def binary_function(prim: Primitive, doc: str) -> Callable[[Any, Any], Tensor]:
    """Public two-argument function for an elementwise primitive."""

    def op(x: Any, y: Any) -> Tensor:
        out = bind(prim, x, y)
        return out if isinstance(out, Tensor) else _wrap(out)

    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = doc
    return op


def is_float(x: Any) -> bool:
    return np.asarray(as_array(x)).dtype.kind == "f"
