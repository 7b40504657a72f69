"""``torch.autograd.forward_ad``: dual tensors on chainrule's forward mode.

A ``dual_level`` is a native ``chainrule.ForwardAccumulator`` active for the block.
``make_dual(primal, tangent)`` returns a new tensor sharing ``primal``'s memory (a view, in the
graph as ``primal`` is) that the accumulator follows with ``tangent``; everything computed from it
inside the block carries a tangent, and ``unpack_dual(y).tangent`` reads it. Leaving the block
forgets the tangents, as PyTorch does.

>>> from chainrule import torch
>>> import chainrule.torch.autograd.forward_ad as fwAD
>>> x = torch.tensor([1., 2.])
>>> with fwAD.dual_level():
...     y = fwAD.make_dual(x, torch.tensor([1., 0.])) ** 2
...     fwAD.unpack_dual(y).tangent
tensor([2., 0.])
>>> fwAD.unpack_dual(y).tangent is None
True
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import chainrule as cr
from chainrule.torch._tensor import numpy_of, wrap
from chainrule.torch._unsupported import missing_attribute

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level", "exit_dual_level"]


class _Levels(threading.local):
    def __init__(self) -> None:
        self.stack: list[cr.ForwardAccumulator] = []


_levels = _Levels()


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the primal (a view without tangent) and the tangent."""

    primal: Any
    tangent: Any


def enter_dual_level() -> int:
    """Open a dual level (prefer ``with dual_level():``); returns its index."""
    if _levels.stack:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    acc = cr.ForwardAccumulator()
    acc.__enter__()
    _levels.stack.append(acc)
    return len(_levels.stack) - 1


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the current dual level: its tangents are forgotten."""
    if not _levels.stack:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created.")
    if level is not None and level != len(_levels.stack) - 1:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was created.")
    acc = _levels.stack.pop()
    acc.__exit__(None, None, None)


class dual_level:  # noqa: N801 - PyTorch's name
    """Context in which dual tensors live; their tangents are dropped on exit."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


def _level(level: int | None, op: str) -> cr.ForwardAccumulator | None:
    if not _levels.stack:
        return None
    if level is not None and level != len(_levels.stack) - 1:
        raise RuntimeError(f"{op}: level {level} is not the current dual level")
    return _levels.stack[-1]


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A view of ``tensor`` (same memory, same reverse-mode history) with ``tangent`` attached.

    >>> from chainrule import torch
    >>> import chainrule.torch.autograd.forward_ad as fwAD
    >>> with fwAD.dual_level():
    ...     d = fwAD.make_dual(torch.tensor(3.), torch.tensor(1.))
    ...     fwAD.unpack_dual(d * d).tangent
    tensor(6.)
    """
    acc = _level(level, "make_dual")
    if acc is None:
        raise RuntimeError(
            "Trying to create a dual Tensor for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    if not isinstance(tensor, cr.Tensor) or not isinstance(tangent, cr.Tensor):
        raise TypeError(
            f"make_dual: expected Tensors, got {type(tensor).__name__} and {type(tangent).__name__}"
        )
    if numpy_of(tensor).dtype.kind != "f":
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if numpy_of(tangent).shape != numpy_of(tensor).shape:
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the original "
            f"Tensor, this is not supported. Tensor is of size {list(numpy_of(tensor).shape)} while the "
            f"given forward gradient is of size {list(numpy_of(tangent).shape)}."
        )
    with acc.paused():
        dual = wrap(cr.reshape(tensor, tuple(numpy_of(tensor).shape)))
    acc.watch(dual, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)`` of ``tensor``: the tangent is None outside a dual level or when
    ``tensor`` does not depend on a dual tensor; the primal is ``tensor`` without its tangent.

    >>> from chainrule import torch
    >>> import chainrule.torch.autograd.forward_ad as fwAD
    >>> fwAD.unpack_dual(torch.tensor(2.))
    UnpackedDualTensor(primal=tensor(2.), tangent=None)
    """
    acc = _level(level, "unpack_dual")
    if acc is None or not isinstance(tensor, cr.Tensor):
        return UnpackedDualTensor(tensor, None)
    tangent = acc.jvp(tensor)
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    with acc.paused():
        primal = wrap(cr.reshape(tensor, tuple(numpy_of(tensor).shape)))
    return UnpackedDualTensor(primal, wrap(tangent))


__getattr__ = missing_attribute("torch.autograd.forward_ad")
