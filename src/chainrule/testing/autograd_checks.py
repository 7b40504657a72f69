"""autograd's derivative checks: ``check_grads``, ``check_equivalent``, ``combo_check``.

``check_grads(fun, argnum=0, modes=("fwd", "rev"), order=2)(*args)`` compares, at ``args`` and
along random directions, chainrule's derivatives of ``fun`` with respect to argument ``argnum``
against central finite differences:

* ``"rev"``: for random ``u`` (input-shaped) and ``w`` (output-shaped), ``<u, vjp(w)>`` against
  ``<w, (f(x + εu/2) - f(x - εu/2)) / ε>``;
* ``"fwd"``: ``jvp(u)`` against the same difference quotient, projected on a random vector;
* ``order > 1``: the same checks, recursively, on the function ``(x, w) -> vjp_x(w)`` (and
  ``(x, u) -> jvp_x(u)``), which checks the derivatives of the derivative rules.

This follows HIPS autograd's ``autograd.test_util.check_grads``: ``ε = 1e-6`` and agreement to an
absolute *or* relative ``1e-6``; random directions come from NumPy's global generator (seed it for
repeatable checks). Inputs and outputs may be numbers, arrays, tensors or containers of them,
real or complex (a complex value is checked as the pair of its real and imaginary parts, with
JAX's convention for its cotangent). A disagreement raises :class:`GradcheckError` (an ``AssertionError``).
For per-element Jacobian checks with tight tolerances see :func:`chainrule.testing.gradcheck`.

>>> import numpy as np
>>> import chainrule.numpy as cnp
>>> from chainrule.testing import check_grads
>>> np.random.seed(0)
>>> check_grads(lambda x: cnp.sum(cnp.sin(x) * x))(np.array([0.5, -1.0]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.testing.gradcheck import GradcheckError
from chainrule.transforms.autograd_api import _unary, make_jvp, make_vjp
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["check_grads", "check_equivalent", "combo_check", "EPS", "TOL", "RTOL"]

#: The finite-difference step of ``check_grads`` (autograd's).
EPS = 1e-6
#: Absolute and relative agreement of ``check_grads`` and ``check_equivalent`` (autograd's).
TOL = 1e-6
RTOL = 1e-6


def _value(leaf: Any) -> np.ndarray:
    data = leaf._data if isinstance(leaf, Tensor) else leaf
    return np.asarray(data)


def _leaves(x: Any) -> tuple[list[np.ndarray], Any]:
    leaves, treedef = flatten(x)
    return [_value(leaf) for leaf in leaves], treedef


def _randn_like(x: Any) -> Any:
    leaves, treedef = _leaves(x)
    return unflatten(treedef, [_randn(leaf) for leaf in leaves])


def _randn(leaf: np.ndarray) -> np.ndarray:
    if leaf.dtype.kind == "c":
        return np.random.randn(*leaf.shape) + 1j * np.random.randn(*leaf.shape)
    return np.random.randn(*leaf.shape)


def _inner(a: Any, b: Any) -> float:
    # Complex values are pairs of reals: <a, b> = Re(sum(conj(a) b)).
    la, _ = _leaves(a)
    lb, _ = _leaves(b)
    return float(sum(np.real(np.sum(np.conj(x) * y)) for x, y in zip(la, lb)))


def _covector(v: Any) -> Any:
    """The cotangent that pairs with ``v`` by :func:`_inner` (JAX's convention: its conjugate)."""
    leaves, treedef = _leaves(v)
    return unflatten(treedef, [np.conj(leaf) if leaf.dtype.kind == "c" else leaf for leaf in leaves])


def _shift(x: Any, v: Any, scale: float) -> Any:
    lx, treedef = _leaves(x)
    lv, _ = _leaves(v)
    return unflatten(treedef, [a + scale * b for a, b in zip(lx, lv)])


def _same_space(a: Any, b: Any) -> str | None:
    """None when ``a`` and ``b`` have one structure and shapes, else what differs."""
    la, da = _leaves(a)
    lb, db = _leaves(b)
    if da != db:
        return f"structure {da!r} vs {db!r}"
    for x, y in zip(la, lb):
        if x.shape != y.shape:
            return f"shape {x.shape} vs {y.shape}"
    return None


def _close(a: float, b: float) -> bool:
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def _name(f: Any) -> str:
    return getattr(f, "__name__", "the function")


def _numerical_jvp(f: Callable[[Any], Any], x: Any) -> Callable[[Any], Any]:
    def jvp(v: Any) -> Any:
        plus = _leaves(f(_shift(x, v, EPS / 2)))
        minus = _leaves(f(_shift(x, v, -EPS / 2)))
        return unflatten(plus[1], [(p - m) / EPS for p, m in zip(plus[0], minus[0])])

    return jvp


def _check_vjp(f: Callable[[Any], Any], x: Any) -> None:
    vjp, y = make_vjp(f)(x)
    x_v, y_v = _randn_like(x), _randn_like(y)
    vjp_y = _covector(vjp(_covector(y_v)))
    differs = _same_space(vjp_y, x)
    if differs is not None:
        raise GradcheckError(f"check_grads: the VJP of {_name(f)} does not match its input ({differs})")
    exact = _inner(x_v, vjp_y)
    numeric = _inner(y_v, _numerical_jvp(f, x)(x_v))
    if not _close(exact, numeric):
        raise GradcheckError(
            f"check_grads: derivative (VJP) check of {_name(f)} failed at {x!r}:\n"
            f"analytic: {exact}\nnumeric:  {numeric}"
        )


def _check_jvp(f: Callable[[Any], Any], x: Any) -> None:
    x_v = _randn_like(x)
    _, tangent = make_jvp(f)(x)(x_v)
    numeric = _numerical_jvp(f, x)(x_v)
    try:
        check_equivalent(tangent, numeric)
    except GradcheckError as err:
        raise GradcheckError(f"check_grads: derivative (JVP) check of {_name(f)} failed at {x!r}: {err}") from None


def check_equivalent(x: Any, y: Any) -> None:
    """Assert that ``x`` and ``y`` have one structure and shapes and agree along a random vector
    (to an absolute or relative ``1e-6``), as autograd's ``check_equivalent``.

    >>> import numpy as np
    >>> from chainrule.testing import check_equivalent
    >>> check_equivalent(np.array([1.0, 2.0]), [1.0, 2.0])
    Traceback (most recent call last):
    ...
    chainrule.testing.gradcheck.GradcheckError: check_equivalent: the values differ in structure ...
    """
    differs = _same_space(x, y)
    if differs is not None:
        raise GradcheckError(f"check_equivalent: the values differ in {differs}")
    v = _randn_like(x)
    a, b = _inner(x, v), _inner(y, v)
    if not _close(a, b):
        raise GradcheckError(f"check_equivalent: value mismatch:\nx: {x}\ny: {y}")


def check_grads(fun: Callable[..., Any], argnum: Any = 0, modes: Sequence[str] = ("fwd", "rev"),
                order: int = 2) -> Callable[..., None]:  # fmt: skip
    """A function of ``fun``'s arguments that checks ``fun``'s derivatives with respect to
    argument ``argnum`` (an int or a tuple) in the given ``modes`` up to ``order``; see the
    module docstring. Returns None, or raises :class:`GradcheckError`.

    >>> import numpy as np
    >>> import chainrule.numpy as cnp
    >>> from chainrule.testing import check_grads
    >>> check_grads(lambda x, y: cnp.sum(x * cnp.exp(y)), argnum=(0, 1))(np.ones(2), np.zeros(2))
    """
    if modes is None:
        modes = ("fwd", "rev")
    modes = tuple(modes)
    unknown = [m for m in modes if m not in ("fwd", "rev")]
    if unknown:
        raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {unknown}")

    def checker(*args: Any, **kwargs: Any) -> None:
        unary, x = _unary(fun, argnum, args, kwargs, "check_grads")
        _check_unary(unary, x, modes, order)

    return checker


def _check_unary(f: Callable[[Any], Any], x: Any, modes: tuple[str, ...], order: int) -> None:
    if "fwd" in modes:
        _check_jvp(f, x)
        if order > 1:

            def jvp_f(x: Any, v: Any) -> Any:
                return make_jvp(f)(x)(v)[1]

            jvp_f.__name__ = f"jvp_{_name(f)}"
            check_grads(jvp_f, (0, 1), modes, order - 1)(x, _randn_like(x))
    if "rev" in modes:
        _check_vjp(f, x)
        if order > 1:

            def vjp_f(x: Any, v: Any) -> Any:
                return make_vjp(f)(x)[0](v)

            vjp_f.__name__ = f"vjp_{_name(f)}"
            check_grads(vjp_f, (0, 1), modes, order - 1)(x, _randn_like(f(x)))


def combo_check(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """autograd's ``combo_check``: ``combo_check(fun, argnum, modes=..., order=...)`` returns a
    function of lists of candidate arguments (positional) and of keyword values (lists too) that
    runs :func:`check_grads` on every combination.

    >>> import numpy as np
    >>> import chainrule.numpy as cnp
    >>> from chainrule.testing import combo_check
    >>> combo_check(cnp.sum, (0,))([np.ones(2), np.ones((2, 3))], axis=[None, 0])
    """

    def run(*arg_lists: Any, **kwarg_lists: Any) -> None:
        choices = [[(k, v) for v in values] for k, values in kwarg_lists.items()]
        for combo in product(*arg_lists):
            for kw in product(*choices):
                check_grads(fun, *args, **kwargs)(*combo, **dict(kw))

    return run
