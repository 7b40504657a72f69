"""``torch.compile``: accepted, and the function runs eagerly, unchanged.

chainrule has no compiler; PyTorch's ``torch.compile`` gives the same results as eager mode
(only faster), so returning the function itself keeps code that compiles its model running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compile"]


def compile(model: Any = None, *, fullgraph: bool = False, dynamic: Any = None, backend: Any = "inductor",  # noqa: A001
            mode: Any = None, options: Any = None, disable: bool = False) -> Any:  # fmt: skip
    """The function or module itself (run eagerly); with no ``model``, a decorator that does
    the same, so ``@torch.compile`` and ``@torch.compile(mode="max-autotune")`` both work.

    >>> from chainrule import torch
    >>> f = lambda x: x * 2
    >>> torch.compile(f) is f
    True
    >>> @torch.compile(mode="reduce-overhead")
    ... def g(x):
    ...     return x + 1
    >>> g(torch.tensor(1.))
    tensor(2.)
    """
    if model is None:

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            return fn

        return decorate
    return model
