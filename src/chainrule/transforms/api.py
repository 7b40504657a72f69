"""Transforms built from the others: ``hessian``, ``hvp`` and the ``jacobian`` alias."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.transforms.forward import jacfwd, jvp
from chainrule.transforms.reverse import grad, jacrev

__all__ = ["hessian", "hvp", "jacobian"]

#: ``jacobian`` is ``jacrev``: reverse mode, one batched backward sweep.
jacobian = jacrev


def hessian(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar ``f``: ``jacfwd(jacrev(f))`` (forward-over-reverse).

    For an input of shape ``T`` the result has shape ``T + T``; both sweeps are batched.

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x ** 3).sum())(cr.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=float64)
    """
    inner = jacrev(f, argnums, has_aux=has_aux)
    if not has_aux:
        return jacfwd(inner, argnums)
    # jacfwd must see the Jacobian alone; the aux value rides along.
    return jacfwd(inner, argnums, has_aux=True)


def hvp(f: Callable[..., Any], primals: Any, tangents: Any) -> Any:
    """The Hessian-vector product ``H(primals) · tangents`` by forward-over-reverse.

    ``primals`` and ``tangents`` are tuples with one entry per argument of ``f`` (a single value
    is taken as the only argument). With one argument the result has that argument's structure;
    with several, a tuple (the product of each block row of the Hessian with ``tangents``).

    >>> import chainrule as cr
    >>> cr.hvp(lambda x: (x ** 3).sum(), (cr.tensor([1., 2.]),), (cr.tensor([1., 0.]),))
    tensor([6., 0.], dtype=float64)
    """
    if not isinstance(primals, (tuple, list)):
        primals = (primals,)
        tangents = (tangents,)
    if not isinstance(tangents, (tuple, list)) or len(tangents) != len(primals):
        raise ValueError("hvp: give one tangent per primal (tuples of the same length)")
    nums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp(grad(f, argnums=nums), tuple(primals), tuple(tangents))[1]
