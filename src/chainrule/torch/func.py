"""``torch.func``: composable function transforms, on chainrule's transforms.

>>> from chainrule import torch
>>> from chainrule.torch.func import grad, vmap
>>> grad(lambda x: (x ** 3).sum())(torch.tensor([1., 2.]))
tensor([ 3., 12.])
>>> vmap(torch.dot)(torch.ones(3, 2), torch.ones(3, 2))
tensor([2., 2., 2.])

``functional_call`` runs a module with parameters given as a dict, so a model is a function of
its parameters for these transforms (per-sample gradients, neural tangent kernels, ensembles
with ``stack_module_state``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule import nn as _native_nn
from chainrule.torch._tensor import wrap_tree
from chainrule.torch._unsupported import missing_attribute, unsupported

__all__ = [
    "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
    "functional_call", "stack_module_state",
]  # fmt: skip


def _dialect_fn(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return func(*wrap_tree(args), **kwargs)

    return call


def _returning_dialect(transformed: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return wrap_tree(transformed(*args, **kwargs))

    return call


def grad(func: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient function of a scalar ``func`` (``(grad, aux)`` with ``has_aux``).

    >>> from chainrule import torch
    >>> from chainrule.torch.func import grad
    >>> grad(grad(lambda x: x ** 3))(torch.tensor(2.))
    tensor(12.)
    """
    return _returning_dialect(cr.grad(_dialect_fn(func), argnums, has_aux))


def grad_and_value(func: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``(gradient, value)`` of a scalar ``func`` (PyTorch's order).

    >>> from chainrule import torch
    >>> from chainrule.torch.func import grad_and_value
    >>> grad_and_value(lambda x: x ** 2)(torch.tensor(3.))
    (tensor(6.), tensor(9.))
    """
    value_and_grad = cr.value_and_grad(_dialect_fn(func), argnums, has_aux)

    def call(*args: Any, **kwargs: Any) -> Any:
        value, gradient = value_and_grad(*args, **kwargs)
        if has_aux:
            value, aux = value
            return wrap_tree((gradient, (value, aux)))
        return wrap_tree((gradient, value))

    return call


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn)``; ``vjp_fn(v)`` gives one cotangent per primal.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import vjp
    >>> out, back = vjp(torch.sin, torch.tensor([0.]))
    >>> back(torch.tensor([1.]))
    (tensor([1.]),)
    """
    result = cr.vjp(_dialect_fn(func), *primals, has_aux=has_aux)
    pullback = result[1]
    return wrap_tree((result[0], _returning_dialect(pullback)) + tuple(result[2:]))


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> Any:  # fmt: skip
    """``(func(*primals), J tangents)``.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import jvp
    >>> jvp(lambda x: x ** 2, (torch.tensor(3.),), (torch.tensor(1.),))
    (tensor(9.), tensor(6.))
    """
    return wrap_tree(cr.jvp(_dialect_fn(func), tuple(primals), tuple(tangents), has_aux=has_aux))


def jacrev(func: Callable[..., Any], argnums: Any = 0, *, has_aux: bool = False,
           chunk_size: Any = None) -> Callable[..., Any]:  # fmt: skip
    """The Jacobian by reverse mode (shape ``output.shape + input.shape``).

    >>> from chainrule import torch
    >>> from chainrule.torch.func import jacrev
    >>> jacrev(torch.sin)(torch.tensor([0., 0.]))
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _returning_dialect(cr.jacrev(_dialect_fn(func), argnums, has_aux))


def jacfwd(func: Callable[..., Any], argnums: Any = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable[..., Any]:  # fmt: skip
    """The Jacobian by forward mode.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import jacfwd
    >>> jacfwd(lambda x: x ** 2)(torch.tensor([1., 2.]))
    tensor([[2., 0.],
            [0., 4.]])
    """
    return _returning_dialect(cr.jacfwd(_dialect_fn(func), argnums, has_aux))


def hessian(func: Callable[..., Any], argnums: Any = 0) -> Callable[..., Any]:
    """The Hessian of a scalar ``func``.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import hessian
    >>> hessian(lambda x: (x ** 3).sum())(torch.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return _returning_dialect(cr.hessian(_dialect_fn(func), argnums))


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: Any = None) -> Callable[..., Any]:  # fmt: skip
    """Vectorise ``func`` over a batch dimension of its arguments (``in_dims``: per argument,
    the dimension to map over, or None for an argument shared by every example).

    ``randomness``: random functions called inside draw once for the whole batch, which is
    ``'same'``; ``'error'`` (the default) is accepted but does not detect random calls, and
    ``'different'`` is not supported. ``chunk_size`` is accepted; the whole batch is computed at
    once (same values).

    >>> from chainrule import torch
    >>> from chainrule.torch.func import vmap
    >>> vmap(lambda row: row.pow(2).sum(dim=0))(torch.tensor([[1., 2.], [3., 4.]]))
    tensor([ 5., 25.])
    >>> vmap(torch.mul, in_dims=(0, None))(torch.tensor([1., 2.]), torch.tensor(10.))
    tensor([10., 20.])
    """
    if randomness not in ("error", "same", "different"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if randomness == "different":
        raise unsupported("vmap(randomness='different')", "random values are drawn once for the whole batch; use randomness='same', or draw a batch of random values outside vmap and map over it")
    return _returning_dialect(cr.vmap(_dialect_fn(func), in_dims, out_dims))


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: Any = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:  # fmt: skip
    """``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameter_and_buffer_dicts`` (a dict, or a tuple of dicts) replaced for this call.

    >>> from chainrule import torch
    >>> from chainrule.torch import nn
    >>> from chainrule.torch.func import functional_call, grad
    >>> layer = nn.Linear(2, 1)
    >>> p = {"weight": torch.tensor([[1., 2.]]), "bias": torch.tensor([0.])}
    >>> functional_call(layer, p, (torch.tensor([[3., 4.]]),))
    tensor([[11.]])
    >>> grad(lambda p: functional_call(layer, p, torch.ones(1, 2)).sum())(p)["weight"]
    tensor([[1., 1.]])
    """
    return wrap_tree(_native_nn.functional_call(module, parameter_and_buffer_dicts, args, kwargs,
                                                tie_weights=tie_weights, strict=strict))  # fmt: skip


def stack_module_state(models: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(params, buffers)``: each parameter and buffer of the same-shaped ``models`` stacked
    along a new first dimension (for ``vmap`` over an ensemble with ``functional_call``).

    >>> from chainrule.torch import nn
    >>> from chainrule.torch.func import stack_module_state
    >>> params, buffers = stack_module_state([nn.Linear(3, 2) for _ in range(4)])
    >>> params["weight"].shape
    torch.Size([4, 2, 3])
    """
    return wrap_tree(_native_nn.stack_module_state(models))


__getattr__ = missing_attribute("torch.func")
