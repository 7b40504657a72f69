"""Helpers shared by the op families: turning a primitive into a public function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.dispatch import _wrap, bind
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor

__all__ = ["ensure_tensor", "unary_function", "binary_function", "bind", "Tensor", "as_array"]


def ensure_tensor(out: Any) -> Tensor:
    """Public functions always return a Tensor, even for raw inputs."""
    return out if isinstance(out, Tensor) else _wrap(out)


def as_array(x: Any) -> Any:
    """The raw data of a Tensor, or the value itself."""
    return x._data if isinstance(x, Tensor) else x


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
