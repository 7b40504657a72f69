"""``torch.autograd.functional``: Jacobians, Hessians and products of whole functions.

They run chainrule's transforms (``jacrev``, ``hessian``, ``vjp``, ``jvp``, ``hvp``); results
follow PyTorch's structure: a tensor for one input and one output, tuples otherwise
(``result[i][j]`` is the block of output i with respect to input j).

>>> from chainrule import torch
>>> from chainrule.torch.autograd.functional import hessian, jacobian
>>> jacobian(lambda x: x ** 2, torch.tensor([1., 2.]))
tensor([[2., 0.],
        [0., 4.]])
>>> hessian(lambda x: (x ** 3).sum(), torch.tensor([1., 2.]))
tensor([[ 6.,  0.],
        [ 0., 12.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule.torch._tensor import wrap_tree

__all__ = ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"]


def _inputs(inputs: Any) -> tuple[tuple[Any, ...], bool]:
    if isinstance(inputs, cr.Tensor):
        return (inputs,), True
    return tuple(inputs), False


def _dialect_fn(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return func(*wrap_tree(args))

    return call


def _finish(result: Any, create_graph: bool) -> Any:
    """Dialect tensors, detached from the graph unless ``create_graph`` (as in PyTorch)."""
    result = wrap_tree(result)
    if create_graph:
        return result
    if isinstance(result, tuple):
        return tuple(_finish(r, False) for r in result)
    return result.detach() if isinstance(result, cr.Tensor) else result


def _check_strict(strict: bool, vectorize: bool = False) -> None:
    if strict:
        raise NotImplementedError("strict=True is not supported by chainrule")


def jacobian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:  # fmt: skip
    """The Jacobian of ``func`` at ``inputs`` (reverse mode, or forward with
    ``strategy='forward-mode'``); each block has shape ``output.shape + input.shape``.

    >>> from chainrule import torch
    >>> from chainrule.torch.autograd.functional import jacobian
    >>> jacobian(lambda x, y: x * y, (torch.tensor([1., 2.]), torch.tensor([3., 4.])))[1]
    tensor([[1., 0.],
            [0., 2.]])
    """
    _check_strict(strict)
    xs, single = _inputs(inputs)
    argnums = 0 if single else tuple(range(len(xs)))
    transform = cr.jacfwd if strategy == "forward-mode" else cr.jacrev
    return _finish(transform(_dialect_fn(func), argnums)(*xs), create_graph)


def hessian(func: Callable[..., Any], inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:  # fmt: skip
    """The Hessian of a scalar ``func`` at ``inputs``; shape ``input.shape + input.shape``
    (a tuple of tuples for several inputs).

    >>> from chainrule import torch
    >>> from chainrule.torch.autograd.functional import hessian
    >>> hessian(lambda x, y: (x * y).sum(), (torch.tensor([1.]), torch.tensor([2.])))[0][1]
    tensor([[1.]])
    """
    _check_strict(strict)
    xs, single = _inputs(inputs)
    argnums = 0 if single else tuple(range(len(xs)))
    return _finish(cr.hessian(_dialect_fn(func), argnums)(*xs), create_graph)


def _unpack(values: tuple[Any, ...], single: bool) -> Any:
    return values[0] if single else tuple(values)


def vjp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:  # fmt: skip
    """``(func(inputs), v^T J)``; ``v`` may be omitted for a one-element output.

    >>> from chainrule import torch
    >>> from chainrule.torch.autograd.functional import vjp
    >>> vjp(lambda x: x ** 2, torch.tensor([1., 2.]), torch.tensor([1., 1.]))[1]
    tensor([2., 4.])
    """
    _check_strict(strict)
    xs, single = _inputs(inputs)
    out, pullback = cr.vjp(_dialect_fn(func), *xs)
    if v is None:
        v = cr.ones_like(out)
    return _finish(out, create_graph), _finish(_unpack(pullback(v), single), create_graph)


def jvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:  # fmt: skip
    """``(func(inputs), J v)``; ``v`` may be omitted for one-element inputs.

    >>> from chainrule import torch
    >>> from chainrule.torch.autograd.functional import jvp
    >>> jvp(lambda x: x ** 2, torch.tensor([1., 2.]), torch.tensor([1., 0.]))[1]
    tensor([2., 0.])
    """
    _check_strict(strict)
    xs, single = _inputs(inputs)
    if v is None:
        vs = tuple(cr.ones_like(x) for x in xs)
    else:
        vs = (v,) if single else tuple(v)
    out, tangent = cr.jvp(_dialect_fn(func), xs, vs)
    return _finish(out, create_graph), _finish(tangent, create_graph)


def hvp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:  # fmt: skip
    """``(func(inputs), H v)`` for a scalar ``func``.

    >>> from chainrule import torch
    >>> from chainrule.torch.autograd.functional import hvp
    >>> hvp(lambda x: (x ** 3).sum(), torch.tensor([1., 2.]), torch.tensor([1., 0.]))[1]
    tensor([6., 0.])
    """
    _check_strict(strict)
    xs, single = _inputs(inputs)
    vs = tuple(cr.ones_like(x) for x in xs) if v is None else ((v,) if single else tuple(v))
    fn = _dialect_fn(func)
    value = fn(*xs)
    product = cr.hvp(fn, xs, vs)
    return _finish(value, create_graph), _finish(product, create_graph)


def vhp(func: Callable[..., Any], inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:  # fmt: skip
    """``(func(inputs), v^T H)``: equal to ``hvp`` (the Hessian is symmetric)."""
    return hvp(func, inputs, v, create_graph, strict)


from chainrule.torch._unsupported import missing_attribute  # noqa: E402

__getattr__ = missing_attribute("torch.autograd.functional")
