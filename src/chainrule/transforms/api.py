"""Transforms built from the others: ``hessian``, ``hvp`` and the ``jacobian`` alias."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.transforms.forward import jvp
from chainrule.transforms.reverse import _jacrev, grad, jacrev

__all__ = ["hessian", "hvp", "jacobian"]

#: ``jacobian`` is ``jacrev``: reverse mode, one batched backward sweep.
jacobian = jacrev


def hessian(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar ``f``: the Jacobian of its gradient, both sweeps batched.

    For an input of shape ``T`` the result has shape ``T + T``. It is computed as
    ``jacrev(jacrev(f))``: the gradient is recorded once, then every row of the Hessian is pulled
    back through it in one batched sweep. On this engine that takes about half the time of
    ``jacfwd(jacrev(f))`` (which gives the same values: the tests check both), because the
    forward-over-reverse form pushes a batched tangent through every op of the backward pass.

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x ** 3).sum())(cr.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=float64)
    """
    # The inner Jacobian is called by the outer one's trace with the outer's fresh inputs in the
    # argnums places, and only f sees them through it: it differentiates with respect to those
    # inputs directly (no identity op between them, one node less for the outer sweep).
    if not has_aux:
        return jacrev(_jacrev(f, argnums, False, True), argnums)
    inner = _jacrev(f, argnums, True, True)

    def hessian_with_aux(*args: Any, **kwargs: Any) -> Any:
        aux_box: list[Any] = []

        def gradient_only(*a: Any, **k: Any) -> Any:
            jac, aux = inner(*a, **k)
            aux_box.append(aux)
            return jac

        h = jacrev(gradient_only, argnums)(*args, **kwargs)
        return h, aux_box[-1]

    return hessian_with_aux


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
