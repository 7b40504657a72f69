"""Complex numbers: ``real``, ``imag``, ``conj``, ``angle``, ``abs`` of a complex value, and the
list of ops whose rules hold for complex values.

The convention is JAX's (and HIPS autograd's). The cotangent of a complex value
``z = x + iy`` under a real loss ``L`` is ``dL/dx - i dL/dy``; so ``grad`` of a real-valued
function of ``z`` is ``dL/dx - i dL/dy`` (``grad(|z|^2)(3+4j) == 6-8j``), the VJP of a holomorphic
op is ``g * f'(z)`` (no conjugate: the rules written for real values hold as they are), the VJP
of a complex-linear map is its transpose, and a real input's cotangent is the real part of what
reaches it. Ops whose rules do not hold for complex values (comparisons, ``max``, ``sign``,
``sort``, ``norm``...) keep ``complex_ok`` False, and recording them on a complex value raises.

>>> import chainrule as cr
>>> z = cr.tensor(3 + 4j, requires_grad=True)
>>> cr.square(cr.abs(z)).backward()
>>> z.grad
tensor(6.-8.j, dtype=complex128)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor
from chainrule.ops import _taylor as T
from chainrule.ops._api import ensure_tensor, unary_function
from chainrule.ops.binary import div_p, mul_p, where_p
from chainrule.ops.nondiff import equal_p
from chainrule.ops.unary import abs_p

__all__ = ["real", "imag", "conj", "conjugate", "angle"]


def _is_complex(x: Any) -> bool:
    return dtype_kind(x.dtype) == "c"


# ---------------------------------------------------------------- conj, real, imag
def _conj_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.conjugate(x)
    return xp.conj(x) if _is_complex(x) else xp.asarray(x, copy=True)


def _real_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is not np:
        return xp.real(x) if _is_complex(x) else xp.asarray(x, copy=True)
    x = np.asarray(x)
    return x.real.copy() if x.dtype.kind == "c" else x.copy()


def _imag_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is not np:
        return xp.imag(x) if _is_complex(x) else xp.zeros_like(x)
    x = np.asarray(x)
    return x.imag.copy() if x.dtype.kind == "c" else np.zeros_like(x)


# conj is anti-linear: with w = x - iy, dL/dx = dL/du and dL/dy = -dL/dv, so the cotangent of z
# is the conjugate of w's; the tangent is conjugated alike.
conj_p = Primitive("conj", _conj_impl, nin=1, saves=(), batching="elementwise", complex_ok=True)
conj_p.def_chain(lambda s, ans, x: conj_p(s))
# real(z) = x: dL/dx = g, dL/dy = 0, so the cotangent is g (the engine casts it to z's dtype).
real_p = Primitive("real", _real_impl, nin=1, saves=(), batching="elementwise", complex_ok=True)
real_p.def_vjp(lambda g, ans, x: g).def_jvp(lambda t, ans, x: real_p(t))
# imag(z) = y: dL/dx = 0, dL/dy = g, so the cotangent is -i g (for a real input, its real part: 0).
imag_p = Primitive("imag", _imag_impl, nin=1, saves=(), batching="elementwise", complex_ok=True)
imag_p.def_vjp(lambda g, ans, x: mul_p(g, -1j)).def_jvp(lambda t, ans, x: imag_p(t))
# Taylor mode refuses complex values before any rule runs (a complex series algebra is not
# implemented); on a real input conj and real are the identity and imag is 0, all linear.
conj_p.def_jet("linear")
real_p.def_jet("linear")
imag_p.def_jet("linear")


# ---------------------------------------------------------------- abs and angle of complex values
def _safe(r: Any) -> Any:
    # |z| with the zeros replaced by 1: the rules divide by it, and at z = 0 they give 0 (the
    # numerator vanishes), as JAX and autograd do.
    return where_p(equal_p(r, 0), 1.0, r)


def _abs_complex_vjp(g: Any, ans: Any, x: Any) -> Any:
    # r = |z|: dr/dx = x/r, dr/dy = y/r, so the cotangent is g (x - iy) / r = g conj(z) / r.
    # (r is recomputed from z: abs keeps no output for the real case's sake.)
    return mul_p(g, div_p(conj_p(x), _safe(abs_p(x))))


def _abs_complex_jvp(t: Any, ans: Any, x: Any) -> Any:
    # dr = (x dx + y dy) / r = Re(conj(z) dz) / r
    return div_p(real_p(mul_p(conj_p(x), t)), _safe(abs_p(x)))


_abs_real_vjp = abs_p.vjp_rules[0]
_abs_real_jvp = abs_p.jvp_rules[0]


def _abs_vjp(g: Any, ans: Any, x: Any) -> Any:
    if _is_complex(x):
        return _abs_complex_vjp(g, ans, x)
    return _abs_real_vjp(g, ans, x)


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    if _is_complex(x):
        return _abs_complex_jvp(t, ans, x)
    return _abs_real_jvp(t, ans, x)


# abs keeps its rules for real values and gains those of complex ones.
abs_p.def_vjp(_abs_vjp).def_jvp(_abs_jvp)
abs_p.complex_ok = True


def _angle_impl(x: Any, *, xp: Any = np) -> Any:
    if xp is np:
        return np.angle(x)
    if _is_complex(x):
        return xp.atan2(xp.imag(x), xp.real(x))
    if dtype_kind(x.dtype) != "f":
        x = xp.astype(x, xp.float64)
    # NumPy's angle of a real number: atan2(0, x), 0 or pi.
    return xp.atan2(xp.zeros_like(x), x)


def _angle_vjp(g: Any, ans: Any, x: Any) -> Any:
    # θ = atan2(y, x): dθ/dx = -y/r², dθ/dy = x/r², so the cotangent is g (-y - ix) / r²
    # = -i g conj(z) / r²; 0 where z = 0 (and for a real input, whose angle is constant).
    if not _is_complex(x):
        return mul_p(g, 0.0)
    r2 = mul_p(conj_p(x), x)
    return mul_p(g, div_p(mul_p(conj_p(x), -1j), where_p(equal_p(r2, 0), 1.0, r2)))


def _angle_jvp(t: Any, ans: Any, x: Any) -> Any:
    # dθ = (x dy - y dx) / r² = Im(conj(z) dz) / r²
    if not _is_complex(x):
        return mul_p(t, 0.0)
    r2 = real_p(mul_p(conj_p(x), x))
    return div_p(imag_p(mul_p(conj_p(x), t)), where_p(equal_p(r2, 0), 1.0, r2))


angle_p = Primitive("angle", _angle_impl, nin=1, batching="elementwise", complex_ok=True)
angle_p.def_vjp(_angle_vjp).def_jvp(_angle_jvp)
angle_p.def_jet(T.zero)  # real inputs only (see conj): 0 or π, a constant


# ---------------------------------------------------------------- public functions
real = unary_function(real_p, "The real part (a real value is returned as is), as ``numpy.real``.\n\n"
                      ">>> import chainrule as cr\n>>> cr.real(cr.tensor([1 + 2j, 3 - 1j]))\n"
                      "tensor([1., 3.], dtype=float64)")  # fmt: skip
imag = unary_function(imag_p, "The imaginary part (zeros for a real value), as ``numpy.imag``.\n\n"
                      ">>> import chainrule as cr\n>>> cr.imag(cr.tensor([1 + 2j, 3 - 1j]))\n"
                      "tensor([ 2., -1.], dtype=float64)")  # fmt: skip
conj = unary_function(conj_p, "The complex conjugate (a real value is returned as is), as "
                      "``numpy.conj``.\n\n>>> import chainrule as cr\n"
                      ">>> cr.conj(cr.tensor([1 + 2j]))\ntensor([1.-2.j], dtype=complex128)")  # fmt: skip
conjugate = conj


def angle(z: Any, deg: bool = False) -> Tensor:
    """The argument of each complex value, in radians (degrees with ``deg=True``), as
    ``numpy.angle``; for real values 0 or π, with derivative 0.

    >>> import chainrule as cr
    >>> z = cr.tensor(1 + 1j, requires_grad=True)
    >>> cr.angle(z).backward()
    >>> z.grad
    tensor(-0.5-0.5j, dtype=complex128)
    """
    out = ensure_tensor(angle_p(z))
    return ensure_tensor(mul_p(out, 180.0 / np.pi)) if deg else out


# ---------------------------------------------------------------- ops whose rules hold for complex
#: Ops defined before this module whose rules are right for complex values under the convention
#: above: linear ops (their VJP is the transpose, with no conjugate), and holomorphic
#: elementwise ops (their rules are ``g * f'(z)`` written with ops that are complex-safe too).
#: The complex gradient tests check each one against finite differences in x and y.
COMPLEX_SAFE = (
    "add", "sub", "neg", "mul", "div", "square", "sqrt", "reciprocal", "pow",
    "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "sinh", "cosh", "tanh",
    "sum", "mean", "reshape", "transpose", "getitem", "concat2", "matmul", "einsum", "broadcast_to",
    "sum_to", "astype", "pad", "roll", "flip", "where", "cumsum", "diagonal", "diagonal_scatter", "index_add",
)  # fmt: skip



def install() -> None:
    """Mark the ops of ``COMPLEX_SAFE`` (called once every family is registered)."""
    for name in COMPLEX_SAFE:
        if name in registry:
            registry[name].complex_ok = True
