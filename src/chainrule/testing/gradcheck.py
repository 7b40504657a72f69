"""Compare derivatives with central finite differences, in float64.

For a function ``f`` of tensors, the reverse-mode Jacobian is built one output element at a time
from vector-Jacobian products (so this checks the VJP rules), the forward-mode one (with
``check_forward=True``) one input element at a time from Jacobian-vector products (checking the
JVP rules), and the numerical one from the fourth-order central difference

    (8 (f(x + h e_i) - f(x - h e_i)) - (f(x + 2h e_i) - f(x - 2h e_i))) / 12h.

Its truncation error is about ``h**4 |f^(5)| / 30`` and its rounding error about ``1.5 u |f| / h``
(``u`` = 1.1e-16, the float64 unit roundoff): with ``h = 2**-10`` both are near 1e-13 for a function
whose values and derivatives are of order one. That leaves room for tight default tolerances
(atol 1e-7, rtol 1e-6) at first and second order alike, which reject a rule wrong by one part in
10**4. ``h`` is a power of two, so ``x ± h`` and ``x ± 2h`` are exact for inputs on a coarse binary
grid (multiples of ``2**-8`` below 1000, say), even in float32: finite differences through a cast to
float32 are then exact too. The price of the wider stencil is that an input must be at least ``2h``
(about 0.002) from a kink for the differences to be valid there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.core.entry import grad as autograd_grad
from chainrule.core.tensor import Tensor
from chainrule.transforms.forward import jvp

__all__ = ["gradcheck", "gradgradcheck", "numerical_jacobian", "GradcheckError"]

#: The finite-difference step (see the module docstring for why a power of two near 1e-3).
EPS = 2.0**-10
#: The default tolerances of ``gradcheck`` and ``gradgradcheck``.
ATOL = 1e-7
RTOL = 1e-6


class GradcheckError(AssertionError):
    """Raised when an analytical derivative disagrees with finite differences."""


def _prepare(inputs: Any) -> list[Tensor]:
    if isinstance(inputs, (Tensor, np.ndarray, float, int)):
        inputs = (inputs,)
    out = []
    for x in inputs:
        data = x._data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
        if data.dtype != np.float64:
            raise TypeError(
                f"gradcheck: inputs must be float64 for finite differences to be accurate, got "
                f"{data.dtype}; convert with .astype('float64')"
            )
        out.append(Tensor(data.copy(), requires_grad=True))
    return out


def _outputs(f: Callable[..., Any], xs: Sequence[Tensor]) -> list[Tensor]:
    out = f(*xs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: the function must return tensors, got {type(o).__name__}")
    return outs


def numerical_jacobian(f: Callable[..., Any], inputs: Any, eps: float = EPS) -> list[list[np.ndarray]]:
    """``J[k][i]`` of shape ``(out_k.size, in_i.size)`` by fourth-order central differences.

    >>> import numpy as np, chainrule as cr
    >>> jac = cr.testing.numerical_jacobian(lambda x: x * x, [np.array([0.5, -2.0])])
    >>> jac[0][0].tolist()
    [[1.0, 0.0], [0.0, -4.0]]
    """
    xs = _prepare(inputs)
    base = [np.asarray(x._data) for x in xs]
    n_out = [o._data.size for o in _outputs(f, [Tensor(b, requires_grad=True) for b in base])]
    jac = [[np.zeros((m, b.size)) for b in base] for m in n_out]

    def at(i: int, j: int, step: float) -> list[np.ndarray]:
        moved = [c.copy() for c in base]
        moved[i].flat[j] += step
        outs = _outputs(f, [Tensor(c, requires_grad=True) for c in moved])
        return [o._data.astype(np.float64).ravel() for o in outs]

    for i, b in enumerate(base):
        for j in range(b.size):
            p1, m1, p2, m2 = at(i, j, eps), at(i, j, -eps), at(i, j, 2 * eps), at(i, j, -2 * eps)
            for k in range(len(n_out)):
                jac[k][i][:, j] = (8.0 * (p1[k] - m1[k]) - (p2[k] - m2[k])) / (12.0 * eps)
    return jac


def _analytical_jacobian(f: Callable[..., Any], xs: list[Tensor], create_graph: bool = False) -> list[list[np.ndarray]]:
    outs = _outputs(f, xs)
    jac = [[np.zeros((o._data.size, x._data.size)) for x in xs] for o in outs]
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o._data.size):
            seed = np.zeros(o._data.shape, dtype=o._data.dtype)
            seed.flat[r] = 1.0
            grads = autograd_grad(o, xs, grad_outputs=Tensor(seed), retain_graph=True,
                                  allow_unused=True)  # fmt: skip
            for i, g in enumerate(grads):
                if g is None:
                    continue
                if g.shape != xs[i].shape:
                    raise GradcheckError(
                        f"gradcheck: gradient for input {i} has shape {g.shape}, expected {xs[i].shape}"
                    )
                if g.dtype != xs[i].dtype:
                    raise GradcheckError(
                        f"gradcheck: gradient for input {i} has dtype {g.dtype}, expected {xs[i].dtype}"
                    )
                jac[k][i][r, :] = g._data.ravel()
    return jac


def _forward_jacobian(f: Callable[..., Any], xs: list[Tensor]) -> list[list[np.ndarray]]:
    """``J[k][i]`` from one Jacobian-vector product per input element (forward mode)."""
    base = [np.asarray(x._data) for x in xs]
    outs = _outputs(f, [Tensor(b) for b in base])
    jac = [[np.zeros((o._data.size, b.size)) for b in base] for o in outs]
    for i, b in enumerate(base):
        for j in range(b.size):
            tangents = [np.zeros_like(c) for c in base]
            tangents[i].flat[j] = 1.0
            _, ts = jvp(lambda *a: tuple(_outputs(f, list(a))), tuple(Tensor(c) for c in base),
                        tuple(Tensor(t) for t in tangents))  # fmt: skip
            for k, t in enumerate(ts):
                jac[k][i][:, j] = np.asarray(t._data, dtype=np.float64).ravel()
    return jac


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    *,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    raise_exception: bool = True,
    check_backward: bool = True,
    check_forward: bool = False,
) -> bool:
    """Check the derivatives of ``f`` at ``inputs`` against central finite differences:
    reverse mode (``check_backward``, the default) and forward mode (``check_forward``).

    >>> import chainrule as cr
    >>> cr.testing.gradcheck(lambda x: cr.sin(x) * x, [cr.tensor([0.3, 1.2])])
    True
    >>> cr.testing.gradcheck(lambda x: cr.sin(x) * x, [cr.tensor([0.3, 1.2])], check_forward=True)
    True
    """
    if not check_backward and not check_forward:
        raise ValueError("gradcheck: nothing to check; set check_backward and/or check_forward")
    xs = _prepare(inputs)
    numerical = numerical_jacobian(f, [x._data for x in xs], eps)
    sweeps = []
    if check_backward:
        sweeps.append(("reverse-mode (backward)", _analytical_jacobian(f, xs)))
    if check_forward:
        sweeps.append(("forward-mode", _forward_jacobian(f, xs)))
    for mode, analytical in sweeps:
        if not _agree(numerical, analytical, atol, rtol, mode, raise_exception):
            return False
    return True


def _agree(numerical: list[list[np.ndarray]], analytical: list[list[np.ndarray]], atol: float, rtol: float,
           mode: str, raise_exception: bool) -> bool:  # fmt: skip
    for k, (num_row, ana_row) in enumerate(zip(numerical, analytical)):
        for i, (num, ana) in enumerate(zip(num_row, ana_row)):
            if not np.allclose(ana, num, atol=atol, rtol=rtol):
                if not raise_exception:
                    return False
                worst = np.unravel_index(np.argmax(np.abs(ana - num)), ana.shape)
                raise GradcheckError(
                    f"gradcheck: {mode} Jacobian mismatch for output {k} with respect to input {i}: "
                    f"at (output element, input element) {tuple(int(w) for w in worst)} the "
                    f"analytical value is {ana[worst]:.8g} and finite differences give "
                    f"{num[worst]:.8g}.\nanalytical:\n{ana}\nnumerical:\n{num}"
                )
    return True


def gradgradcheck(
    f: Callable[..., Any],
    inputs: Any,
    *,
    grad_outputs: Any = None,
    eps: float = EPS,
    atol: float = ATOL,
    rtol: float = RTOL,
    seed: int = 0,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck of the (differentiable) vector-Jacobian product.

    The VJP ``x, v -> vᵀ J(x)`` is computed with ``create_graph=True`` and then gradchecked with
    respect to both ``x`` and ``v``, as PyTorch's ``gradgradcheck`` does.

    >>> import chainrule as cr
    >>> cr.testing.gradgradcheck(lambda x: cr.sin(x) * x, [cr.tensor([0.3, 1.2])])
    True
    """
    xs = _prepare(inputs)
    outs = _outputs(f, xs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        # Multiples of 1/64: the cotangents and their perturbations by ``eps`` are then exact in
        # float32 as well, so finite differences through a cast stay exact (module docstring).
        vs = [np.round(rng.standard_normal(o._data.shape) * 64.0) / 64.0 for o in outs]
    else:
        vs = [np.asarray(v._data if isinstance(v, Tensor) else v, dtype=np.float64) for v in grad_outputs]
    n = len(xs)

    def vjp_fn(*args: Tensor) -> tuple[Tensor, ...]:
        primals, cots = args[:n], args[n:]
        ys = _outputs(f, list(primals))
        pairs = [(y, v) for y, v in zip(ys, cots) if y.requires_grad]
        if not pairs:
            return tuple(Tensor(np.zeros_like(p._data)) for p in primals)
        grads = autograd_grad([y for y, _ in pairs], list(primals), grad_outputs=[v for _, v in pairs],
                              create_graph=True, allow_unused=True)  # fmt: skip
        return tuple(g if g is not None else Tensor(np.zeros_like(p._data)) * 0.0
                     for g, p in zip(grads, primals))  # fmt: skip

    return gradcheck(vjp_fn, [x._data for x in xs] + vs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)  # fmt: skip
