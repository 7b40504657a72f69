"""``torch.func``: composable function transforms, on chainrule's transforms.

>>> from chainrule import torch
>>> from chainrule.torch.func import grad, vmap
>>> grad(lambda x: (x ** 3).sum())(torch.tensor([1., 2.]))
tensor([ 3., 12.])
>>> vmap(torch.dot)(torch.ones(3, 2), torch.ones(3, 2))
tensor([2., 2., 2.])

Inside ``vmap`` the function receives chainrule's batched values: call ``torch.*`` functions
on them (``torch.sum(x, dim=0)``) rather than methods with PyTorch-only arguments
(``x.sum(dim=0)``), which the batched values do not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule.torch._tensor import wrap_tree

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap"]


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
    """Vectorise ``func`` over a batch dimension of its arguments.

    >>> from chainrule import torch
    >>> from chainrule.torch.func import vmap
    >>> vmap(lambda row: torch.sum(row * row))(torch.tensor([[1., 2.], [3., 4.]]))
    tensor([ 5., 25.])
    """
    return _returning_dialect(cr.vmap(_dialect_fn(func), in_dims, out_dims))
