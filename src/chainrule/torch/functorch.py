"""``functorch``: the transforms' former home, kept for code that imports it.

``from chainrule.torch import functorch as ft`` in place of ``import functorch as ft``: the
transforms are ``torch.func``'s, and ``make_functional``/``make_functional_with_buffers`` turn
a module into a function of its parameters (with ``torch.func.functional_call``). As in
PyTorch 2.x, each use warns (``FutureWarning``) that the name is deprecated in favour of
``torch.func``.

>>> from chainrule import torch
>>> from chainrule.torch import nn
>>> from chainrule.torch import functorch as ft
>>> import warnings
>>> warnings.simplefilter("ignore", FutureWarning)
>>> func, params = ft.make_functional(nn.Linear(2, 1))
>>> func(params, torch.ones(1, 2)).shape
torch.Size([1, 1])
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from chainrule.torch import func as _func
from chainrule.torch._unsupported import missing_attribute
from chainrule.torch.func import functional_call


def _deprecated(name: str, replacement: str) -> None:
    warnings.warn(
        f"`functorch.{name}` is deprecated as of PyTorch 2.0 (functorch became torch.func); "
        f"use `{replacement}` instead",
        FutureWarning,
        stacklevel=3,
    )


def _transform(name: str) -> Callable[..., Any]:
    target = getattr(_func, name)

    def call(*args: Any, **kwargs: Any) -> Any:
        _deprecated(name, f"torch.func.{name}")
        return target(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``torch.func.{name}`` (deprecated under this name, as in PyTorch)."
    return call


grad = _transform("grad")
grad_and_value = _transform("grad_and_value")
vjp = _transform("vjp")
jvp = _transform("jvp")
jacrev = _transform("jacrev")
jacfwd = _transform("jacfwd")
hessian = _transform("hessian")
vmap = _transform("vmap")

__all__ = [
    "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
    "make_functional", "make_functional_with_buffers",
]  # fmt: skip


class FunctionalModule:
    """``func(params, *args)``: a copy of a module called with the given parameters."""

    def __init__(self, module: Any, param_names: list[str]) -> None:
        self.module = module
        self.param_names = param_names

    def __call__(self, params: Any, *args: Any, **kwargs: Any) -> Any:
        return functional_call(self.module, dict(zip(self.param_names, params)), args, kwargs)


class FunctionalModuleWithBuffers:
    """``func(params, buffers, *args)``: a copy of a module called with the given parameters
    and buffers."""

    def __init__(self, module: Any, param_names: list[str], buffer_names: list[str]) -> None:
        self.module = module
        self.param_names = param_names
        self.buffer_names = buffer_names

    def __call__(self, params: Any, buffers: Any, *args: Any, **kwargs: Any) -> Any:
        values = dict(zip(self.param_names, params))
        values.update(zip(self.buffer_names, buffers))
        return functional_call(self.module, values, args, kwargs)


def _split(model: Any, disable_autograd_tracking: bool) -> tuple[Any, list[str], tuple[Any, ...]]:
    # functorch works on a copy, so the caller's model and the returned function do not share
    # parameters.
    module = copy.deepcopy(model)
    names, params = zip(*module.named_parameters()) if list(module.parameters()) else ((), ())
    if disable_autograd_tracking:
        params = tuple(p.detach() for p in params)
    return module, list(names), tuple(params)


def make_functional(model: Any, disable_autograd_tracking: bool = False) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``(func, params)`` with ``func(params, *args) == model(*args)`` for the model's own
    parameters (copied)."""
    _deprecated("make_functional", "torch.func.functional_call")
    module, names, params = _split(model, disable_autograd_tracking)
    return FunctionalModule(module, names), params


def make_functional_with_buffers(model: Any, disable_autograd_tracking: bool = False) -> tuple[Callable[..., Any], tuple[Any, ...], tuple[Any, ...]]:
    """``(func, params, buffers)`` with ``func(params, buffers, *args) == model(*args)``.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> from chainrule.torch import functorch as ft
    >>> import warnings
    >>> warnings.simplefilter("ignore", FutureWarning)
    >>> func, params, buffers = ft.make_functional_with_buffers(nn.Linear(3, 2))
    >>> [p.shape for p in params], buffers
    ([torch.Size([2, 3]), torch.Size([2])], ())
    """
    _deprecated("make_functional_with_buffers", "torch.func.functional_call")
    module, names, params = _split(model, disable_autograd_tracking)
    named_buffers = list(module.named_buffers())
    buffer_names = [n for n, _ in named_buffers]
    buffers = tuple(b for _, b in named_buffers)
    return FunctionalModuleWithBuffers(module, names, buffer_names), params, buffers


__getattr__ = missing_attribute("functorch")
