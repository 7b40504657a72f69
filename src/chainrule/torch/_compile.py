"""``torch.compile``: the function is traced into a program by ``cr.jit`` and replayed.

The first call for a new signature (tree structure, shapes, dtypes and Python values of the
arguments) traces, later calls replay the program: each primitive's NumPy forward in order, with
nothing recorded per op. Called with inputs that require grad (or inside another transform) the
program is replayed through the engine instead, so ``backward()`` works as in eager mode.
Parameters a module's forward reads are inputs of the program, read at every call. A compiled
training step (``zero_grad()``, ``loss.backward()``, ``optimizer.step()`` or an in-place update
under ``no_grad``) updates the parameters, their ``.grad`` and the optimizer's state at every
call, with the values eager mode gives.

``mode``, ``fullgraph``, ``dynamic``, ``backend`` and ``options`` are accepted and change nothing
(there is one backend, and the whole function is always one program; Python control flow on a
tensor raises at trace time instead of breaking the graph). ``disable=True`` returns the function
itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chainrule as cr

__all__ = ["compile"]


class _Compiled:
    """What ``torch.compile`` returns for a function or a module: call it like the original."""

    def __init__(self, model: Any) -> None:
        self._orig_mod = model
        self._jitted = cr.jit(model)
        if not hasattr(model, "parameters"):
            functools.update_wrapper(self, model)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from chainrule.torch._tensor import wrap_tree

        return wrap_tree(self._jitted(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_orig_mod"], name)

    def __repr__(self) -> str:
        return f"<compiled {self._orig_mod!r}>"


def compile(model: Any = None, *, fullgraph: bool = False, dynamic: Any = None, backend: Any = "inductor",  # noqa: A001
            mode: Any = None, options: Any = None, disable: bool = False) -> Any:  # fmt: skip
    """A compiled callable for a function or module (``cr.jit`` underneath); with no ``model``, a
    decorator that does the same, so ``@torch.compile`` and ``@torch.compile(mode=...)`` both work.

    >>> from chainrule import torch
    >>> @torch.compile(mode="reduce-overhead", fullgraph=True)
    ... def g(x):
    ...     return torch.sin(x) + 1
    >>> g(torch.tensor([0.0, 1.0]))
    tensor([1.0000, 1.8415])
    >>> g(torch.tensor([2.0, 3.0]))
    tensor([1.9093, 1.1411])
    """
    if model is None:

        def decorate(fn: Callable[..., Any]) -> Any:
            return fn if disable else _Compiled(fn)

        return decorate
    if disable:
        return model
    return _Compiled(model)
