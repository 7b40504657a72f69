"""Elementwise one-input primitives: forward, VJP rule and JVP rule side by side.

Conventions where the derivative does not exist (PyTorch's): ``abs'(0) = 0``, ``sign' = 0``,
``relu'(0) = 0``, ``sqrt'(0) = inf``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, extension, is_plain
from chainrule.core.primitive import Primitive
from chainrule.ops import _taylor as T
from chainrule.ops._api import unary_function
from chainrule.ops.nondiff import greater_p

__all__ = [
    "neg", "square", "sqrt", "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid",
    "softplus", "relu", "gelu", "erf", "abs", "sign", "leaky_relu",
]  # fmt: skip
# NumPy's further elementwise functions (the block at the end of this file).
__all__ += [
    "exp2", "arcsinh", "arccosh", "arctanh", "sinc", "fabs", "deg2rad", "rad2deg", "degrees",
    "radians", "nan_to_num",
]  # fmt: skip

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _floating(x: Any, xp: Any) -> Any:
    """``x`` as floats (float64 for integers and bools), as NumPy's float-only ufuncs take it."""
    return x if dtype_kind(x.dtype) in "fc" else xp.astype(x, xp.float64)


def _sigmoid_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    # Stable for large |x|: exp only ever sees non-positive numbers.
    if xp is not np:
        x = _floating(x, xp)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, 1.0), copy=False)


def _softplus_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    if xp is not np:
        return xp.logaddexp(0.0, _floating(x, xp))
    return np.logaddexp(0.0, x)


#: SciPy's vectorised erf (NumPy has none), imported at the first erf rather than with chainrule:
#: SciPy brings its own OpenBLAS, whose thread pool then shares the cores with NumPy's.
_SCIPY_ERF: list[Any] = []


def _scipy_erf() -> Any:
    if not _SCIPY_ERF:
        try:  # (installed with the train/test extras)
            from scipy.special import erf
        except ImportError:  # pragma: no cover - exercised only without SciPy
            erf = None
        _SCIPY_ERF.append(erf)
    return _SCIPY_ERF[0]


def _erf_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    if xp is not np:
        # erf is outside the array API standard; a library that has it (CuPy's, JAX's) serves.
        return extension(xp, "erf", op="erf")(x)
    erf = _scipy_erf()
    if erf is not None:
        return erf(x)
    x = np.asarray(x)
    dtype = np.result_type(x, 1.0)
    flat = np.asarray(x, dtype=np.float64).ravel()
    out = np.fromiter((math.erf(v) for v in flat), dtype=np.float64, count=flat.size)
    return out.reshape(x.shape).astype(dtype, copy=False)


def _relu_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    return xp.maximum(x, 0)


def _gelu_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    if xp is not np:
        return 0.5 * x * (1.0 + extension(xp, "erf", op="gelu")(x * _INV_SQRT2))
    return 0.5 * x * (1.0 + _erf_impl(x * _INV_SQRT2))


def _leaky_relu_impl(x: np.ndarray, *, negative_slope: float = 0.01, xp: Any = np) -> np.ndarray:
    return xp.where(x > 0, x, x * negative_slope)


def _as_factor(mask: Any, like: Any) -> Any:
    """A boolean mask ready to multiply ``like``: NumPy promotes bools itself; the array API
    standard does not mix bools with numbers, so other libraries' masks are cast to its dtype."""
    from chainrule.ops._api import as_array

    m = as_array(mask)
    if is_plain(m):
        return mask
    from chainrule.ops.shape import astype_p

    return astype_p(mask, dtype=as_array(like).dtype)


# ---------------------------------------------------------------- primitives
def _elementwise(name: str, impl: Any, **kwargs: Any) -> Primitive:
    return Primitive(name, impl, nin=1, batching="elementwise", **kwargs)


# Each op gives its derivative once: as a partial (the rules are g * partial and t * partial),
# or, where the seed reads better inside (a quotient), as one rule for both modes. The ops of
# benchmarks' op chains (sin, cos, exp, tanh, square, and mul) use the one-rule form: a partial
# costs one more Python call per edge, which op_overhead measured.
neg_p = _elementwise("neg", np.negative, saves=(), grad_fn_name="NegBackward0").def_partials(-1)
neg_p.def_jet(T.neg)
square_p = _elementwise("square", np.square, grad_fn_name="PowBackward0")
square_p.def_chain(lambda s, ans, x: s * (2 * x))
square_p.def_jet(T.square)
sqrt_p = _elementwise("sqrt", np.sqrt, saves=(), saves_ans=True)
sqrt_p.def_chain(lambda s, ans, x: s / (2 * ans))
sqrt_p.def_jet(T.sqrt)
reciprocal_p = _elementwise("reciprocal", np.reciprocal, saves=(), saves_ans=True)
reciprocal_p.def_chain(lambda s, ans, x: -s * ans * ans)
reciprocal_p.def_jet(T.reciprocal)
exp_p = _elementwise("exp", np.exp, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * ans)
exp_p.def_jet(T.exp)
expm1_p = _elementwise("expm1", np.expm1, saves=(), saves_ans=True).def_partials(lambda ans, x: ans + 1)
expm1_p.def_jet(T.expm1)
log_p = _elementwise("log", np.log).def_chain(lambda s, ans, x: s / x)
log_p.def_jet(T.log)
log1p_p = _elementwise("log1p", np.log1p).def_chain(lambda s, ans, x: s / (x + 1))
log1p_p.def_jet(T.log1p)
log2_p = _elementwise("log2", np.log2).def_chain(lambda s, ans, x: s / (x * _LN2))
log2_p.def_jet(T.log2)
log10_p = _elementwise("log10", np.log10).def_chain(lambda s, ans, x: s / (x * _LN10))
log10_p.def_jet(T.log10)
sin_p = _elementwise("sin", np.sin)
cos_p = _elementwise("cos", np.cos)
sin_p.def_chain(lambda s, ans, x: s * cos_p(x))
sin_p.def_jet(T.sin)
cos_p.def_chain(lambda s, ans, x: s * -sin_p(x))
cos_p.def_jet(T.cos)
tan_p = _elementwise("tan", np.tan, saves=(), saves_ans=True).def_partials(lambda ans, x: 1 + ans * ans)
tan_p.def_jet(T.tan)
arcsin_p = _elementwise("arcsin", np.arcsin, grad_fn_name="AsinBackward0")
arcsin_p.def_chain(lambda s, ans, x: s / sqrt_p(1 - x * x))
arcsin_p.def_jet(T.arcsin)
arccos_p = _elementwise("arccos", np.arccos, grad_fn_name="AcosBackward0")
arccos_p.def_chain(lambda s, ans, x: -s / sqrt_p(1 - x * x))
arccos_p.def_jet(T.arccos)
arctan_p = _elementwise("arctan", np.arctan, grad_fn_name="AtanBackward0")
arctan_p.def_chain(lambda s, ans, x: s / (1 + x * x))
arctan_p.def_jet(T.arctan)
sinh_p = _elementwise("sinh", np.sinh)
cosh_p = _elementwise("cosh", np.cosh)
sinh_p.def_partials(lambda ans, x: cosh_p(x))
sinh_p.def_jet(T.sinh)
cosh_p.def_partials(lambda ans, x: sinh_p(x))
cosh_p.def_jet(T.cosh)
tanh_p = _elementwise("tanh", np.tanh, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * (1 - ans * ans))
tanh_p.def_jet(T.tanh)
sigmoid_p = _elementwise("sigmoid", _sigmoid_impl, saves=(), saves_ans=True)
sigmoid_p.def_partials(lambda ans, x: ans * (1 - ans))
sigmoid_p.def_jet(T.sigmoid)
softplus_p = _elementwise("softplus", _softplus_impl).def_partials(lambda ans, x: sigmoid_p(x))
softplus_p.def_jet(T.softplus)
# relu'(x) is a step; the mask is computed from the output so nothing else is kept.
# One rule for both modes (the seed times the mask): a partial would cost one call more per edge,
# and relu sits on every hidden layer of a training step.
def _relu_rule(s, ans, x):  # type: ignore[no-untyped-def]
    mask = ans > 0
    if type(mask) is not np.ndarray:
        mask = _as_factor(mask, s)
    return s * mask


relu_p = _elementwise("relu", _relu_impl, saves=(), saves_ans=True).def_chain(_relu_rule)
relu_p.def_jet(T.relu)


def _leaky_slope(x, negative_slope):  # type: ignore[no-untyped-def]
    # 1 where x > 0, negative_slope elsewhere; a constant built from a comparison, no derivative.
    return _as_factor(greater_p(x, 0), x) * (1.0 - negative_slope) + negative_slope


leaky_relu_p = _elementwise("leaky_relu", _leaky_relu_impl)
leaky_relu_p.def_partials(lambda ans, x, negative_slope=0.01: _leaky_slope(x, negative_slope))
leaky_relu_p.def_jet(T.leaky_relu)
erf_p = _elementwise("erf", _erf_impl).def_partials(lambda ans, x: _SQRT_2_OVER_PI * exp_p(-(x * x)))
erf_p.def_jet(T.erf)


def _gelu_derivative(x):  # type: ignore[no-untyped-def]
    # d/dx [x Φ(x)] = Φ(x) + x φ(x)
    cdf = 0.5 * (1 + erf_p(x * _INV_SQRT2))
    pdf = _INV_SQRT_2PI * exp_p(-0.5 * (x * x))
    return cdf + x * pdf


gelu_p = _elementwise("gelu", _gelu_impl).def_partials(lambda ans, x: _gelu_derivative(x))
gelu_p.def_jet(T.gelu)

# |x|' = sign(x), with sign(0) = 0 (PyTorch's convention).
abs_p = _elementwise("abs", np.abs)
sign_p = _elementwise("sign", np.sign, saves=()).def_partials(0)
sign_p.def_jet(T.zero)
abs_p.def_partials(lambda ans, x: sign_p(x))
abs_p.def_jet(T.abs)


# ---------------------------------------------------------------- public functions
neg = unary_function(neg_p, "Elementwise -x.\n\n>>> import chainrule as cr\n>>> cr.neg(cr.tensor([1., -2.]))\ntensor([-1.,  2.], dtype=float64)")
square = unary_function(square_p, "Elementwise x².\n\n>>> import chainrule as cr\n>>> cr.square(cr.tensor(3.0))\ntensor(9., dtype=float64)")
sqrt = unary_function(sqrt_p, "Elementwise √x; its derivative at 0 is inf, as in PyTorch.\n\n>>> import chainrule as cr\n>>> cr.sqrt(cr.tensor(4.0))\ntensor(2., dtype=float64)")
reciprocal = unary_function(reciprocal_p, "Elementwise 1/x.\n\n>>> import chainrule as cr\n>>> cr.reciprocal(cr.tensor(4.0))\ntensor(0.25, dtype=float64)")
exp = unary_function(exp_p, "Elementwise eˣ.\n\n>>> import chainrule as cr\n>>> cr.exp(cr.tensor(0.0))\ntensor(1., dtype=float64)")
expm1 = unary_function(expm1_p, "Elementwise eˣ - 1, accurate near 0.\n\n>>> import chainrule as cr\n>>> cr.expm1(cr.tensor(0.0))\ntensor(0., dtype=float64)")
log = unary_function(log_p, "Elementwise natural logarithm.\n\n>>> import chainrule as cr\n>>> cr.log(cr.tensor(1.0))\ntensor(0., dtype=float64)")
log1p = unary_function(log1p_p, "Elementwise log(1 + x), accurate near 0.\n\n>>> import chainrule as cr\n>>> cr.log1p(cr.tensor(0.0))\ntensor(0., dtype=float64)")
log2 = unary_function(log2_p, "Elementwise base-2 logarithm.\n\n>>> import chainrule as cr\n>>> cr.log2(cr.tensor(8.0))\ntensor(3., dtype=float64)")
log10 = unary_function(log10_p, "Elementwise base-10 logarithm.\n\n>>> import chainrule as cr\n>>> cr.log10(cr.tensor(100.0))\ntensor(2., dtype=float64)")
sin = unary_function(sin_p, "Elementwise sine.\n\n>>> import chainrule as cr\n>>> cr.sin(cr.tensor(0.0))\ntensor(0., dtype=float64)")
cos = unary_function(cos_p, "Elementwise cosine.\n\n>>> import chainrule as cr\n>>> cr.cos(cr.tensor(0.0))\ntensor(1., dtype=float64)")
tan = unary_function(tan_p, "Elementwise tangent.\n\n>>> import chainrule as cr\n>>> cr.tan(cr.tensor(0.0))\ntensor(0., dtype=float64)")
arcsin = unary_function(arcsin_p, "Elementwise inverse sine.\n\n>>> import chainrule as cr\n>>> cr.arcsin(cr.tensor(0.0))\ntensor(0., dtype=float64)")
arccos = unary_function(arccos_p, "Elementwise inverse cosine.\n\n>>> import chainrule as cr\n>>> cr.arccos(cr.tensor(1.0))\ntensor(0., dtype=float64)")
arctan = unary_function(arctan_p, "Elementwise inverse tangent.\n\n>>> import chainrule as cr\n>>> cr.arctan(cr.tensor(0.0))\ntensor(0., dtype=float64)")
sinh = unary_function(sinh_p, "Elementwise hyperbolic sine.\n\n>>> import chainrule as cr\n>>> cr.sinh(cr.tensor(0.0))\ntensor(0., dtype=float64)")
cosh = unary_function(cosh_p, "Elementwise hyperbolic cosine.\n\n>>> import chainrule as cr\n>>> cr.cosh(cr.tensor(0.0))\ntensor(1., dtype=float64)")
tanh = unary_function(tanh_p, "Elementwise hyperbolic tangent.\n\n>>> import chainrule as cr\n>>> cr.tanh(cr.tensor(0.0))\ntensor(0., dtype=float64)")
sigmoid = unary_function(sigmoid_p, "Elementwise logistic sigmoid 1/(1+e⁻ˣ), stable for large |x|.\n\n>>> import chainrule as cr\n>>> cr.sigmoid(cr.tensor(0.0))\ntensor(0.5, dtype=float64)")
softplus = unary_function(softplus_p, "Elementwise log(1 + eˣ), stable for large |x|.\n\n>>> import chainrule as cr\n>>> float(cr.softplus(cr.tensor(0.0)))\n0.6931471805599453")
relu = unary_function(relu_p, "Elementwise max(x, 0); its derivative at 0 is 0, as in PyTorch.\n\n>>> import chainrule as cr\n>>> cr.relu(cr.tensor([-1., 2.]))\ntensor([0., 2.], dtype=float64)")
gelu = unary_function(gelu_p, "Elementwise GELU x·Φ(x) (the exact, erf form).\n\n>>> import chainrule as cr\n>>> cr.gelu(cr.tensor(0.0))\ntensor(0., dtype=float64)")
erf = unary_function(erf_p, "Elementwise error function.\n\n>>> import chainrule as cr\n>>> cr.erf(cr.tensor(0.0))\ntensor(0., dtype=float64)")
abs = unary_function(abs_p, "Elementwise |x|; its derivative at 0 is 0, as in PyTorch.\n\n>>> import chainrule as cr\n>>> cr.abs(cr.tensor(-2.0))\ntensor(2., dtype=float64)")  # noqa: A001
sign = unary_function(sign_p, "Elementwise sign (-1, 0 or 1); its derivative is 0.\n\n>>> import chainrule as cr\n>>> cr.sign(cr.tensor(-2.0))\ntensor(-1., dtype=float64)")


def leaky_relu(x, negative_slope: float = 0.01):  # type: ignore[no-untyped-def]
    """Elementwise x for x > 0, ``negative_slope * x`` otherwise.

    >>> import chainrule as cr
    >>> cr.leaky_relu(cr.tensor([-1., 2.]), 0.1)
    tensor([-0.1,  2. ], dtype=float64)
    """
    from chainrule.ops._api import ensure_tensor

    return ensure_tensor(leaky_relu_p(x, negative_slope=negative_slope))


# ---------------------------------------------------------------- NumPy's further elementwise ops
exp2_p = _elementwise("exp2", np.exp2, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * (ans * _LN2))
exp2_p.def_jet(T.exp2)
arcsinh_p = _elementwise("arcsinh", np.arcsinh, grad_fn_name="AsinhBackward0")
arcsinh_p.def_chain(lambda s, ans, x: s / sqrt_p(x * x + 1))
arcsinh_p.def_jet(T.arcsinh)
arccosh_p = _elementwise("arccosh", np.arccosh, grad_fn_name="AcoshBackward0")
arccosh_p.def_chain(lambda s, ans, x: s / sqrt_p(x * x - 1))
arccosh_p.def_jet(T.arccosh)
arctanh_p = _elementwise("arctanh", np.arctanh, grad_fn_name="AtanhBackward0")
arctanh_p.def_chain(lambda s, ans, x: s / (1 - x * x))
arctanh_p.def_jet(T.arctanh)


def _sinc_derivative_impl(x: np.ndarray, *, order: int, xp: Any = np) -> np.ndarray:
    """The ``order``-th derivative of ``sinc(x) = sin(pi x) / (pi x)``, exact at 0 as well.

    With ``u = pi x`` and ``f(u) = sin(u) / u`` it is ``pi**order * f^(order)(u)``. Near 0 (where
    the closed form cancels) the Maclaurin series of f is differentiated term by term; elsewhere
    Leibniz's rule on ``sin(u) * u**-1`` gives the closed form.
    """
    if xp is np:
        x = np.asarray(x)
        dtype = np.result_type(x, 1.0)
        u = np.pi * np.asarray(x, dtype=np.float64)
    else:
        dtype = x.dtype if dtype_kind(x.dtype) == "f" else xp.float64
        u = np.pi * xp.astype(x, xp.float64)
    k = order
    small = xp.abs(u) < 2.0
    us = xp.where(small, u, 0.0)
    series = xp.zeros_like(u)
    for n in range((k + 1) // 2, (k + 1) // 2 + 24):
        # d^k/du^k of (-1)^n u^(2n) / (2n+1)!
        coef = (-1.0) ** n * math.factorial(2 * n) / (math.factorial(2 * n + 1) * math.factorial(2 * n - k))
        series = series + coef * us ** (2 * n - k)
    ub = xp.where(small, 1.0, u)
    closed = xp.zeros_like(u)
    for j in range(k + 1):
        m = k - j
        closed = closed + (math.comb(k, j) * (-1.0) ** m * math.factorial(m)) * xp.sin(ub + j * np.pi / 2) / ub ** (m + 1)
    if xp is np:
        return (np.pi**k * np.where(small, series, closed)).astype(dtype, copy=False)
    return xp.astype(np.pi**k * xp.where(small, series, closed), dtype)


def _sinc_impl(x: np.ndarray, *, xp: Any = np) -> np.ndarray:
    if xp is np:
        return np.sinc(x)
    # NumPy's own formula: sin(pi x) / (pi x), with x = 0 replaced by a tiny number (the
    # quotient then rounds to exactly 1).
    x = _floating(x, xp)
    u = np.pi * xp.where(x == 0, 1.0e-20, x)
    return xp.sin(u) / u


# Every derivative of sinc is one primitive (its order a param) whose partial is the next order:
# a masked quotient would give 0, not -pi^2/3, for the second derivative at 0.
sinc_derivative_p = _elementwise("sinc_derivative", _sinc_derivative_impl)
sinc_derivative_p.def_partials(lambda ans, x, order: sinc_derivative_p(x, order=order + 1))
sinc_derivative_p.def_jet(T.sinc_derivative)
sinc_p = _elementwise("sinc", _sinc_impl).def_partials(lambda ans, x: sinc_derivative_p(x, order=1))
sinc_p.def_jet(T.sinc)


def _nan_to_num_impl(x: np.ndarray, *, nan: float = 0.0, posinf: float | None = None,
                     neginf: float | None = None, xp: Any = np) -> np.ndarray:  # fmt: skip
    if xp is np:
        return np.nan_to_num(x, copy=True, nan=nan, posinf=posinf, neginf=neginf)
    kind = dtype_kind(x.dtype)
    if kind == "c":
        return extension(xp, "nan_to_num", op="nan_to_num")(x, nan=nan, posinf=posinf, neginf=neginf)
    if kind != "f":
        return xp.asarray(x, copy=True)
    info = xp.finfo(x.dtype)
    out = xp.where(xp.isnan(x), nan, x)
    out = xp.where(out == math.inf, info.max if posinf is None else posinf, out)
    return xp.where(out == -math.inf, info.min if neginf is None else neginf, out)


def _pass_finite(s, ans, x, **params):  # type: ignore[no-untyped-def]
    # The replaced entries are constants: 0 there, selected rather than multiplied, so that an
    # inf or NaN seed (the square of a replaced 1.8e308) stays out of them.
    from chainrule.ops.binary import where_p
    from chainrule.ops.nondiff import isfinite_p

    return where_p(isfinite_p(x), s, 0.0)


nan_to_num_p = _elementwise("nan_to_num", _nan_to_num_impl, grad_fn_name="NanToNumBackward0")
nan_to_num_p.def_chain(_pass_finite)
nan_to_num_p.def_jet(T.nan_to_num)

exp2 = unary_function(exp2_p, "Elementwise 2ˣ.\n\n>>> import chainrule as cr\n>>> cr.exp2(cr.tensor(3.0))\ntensor(8., dtype=float64)")
arcsinh = unary_function(arcsinh_p, "Elementwise inverse hyperbolic sine.\n\n>>> import chainrule as cr\n>>> cr.arcsinh(cr.tensor(0.0))\ntensor(0., dtype=float64)")
arccosh = unary_function(arccosh_p, "Elementwise inverse hyperbolic cosine (defined for x >= 1).\n\n>>> import chainrule as cr\n>>> cr.arccosh(cr.tensor(1.0))\ntensor(0., dtype=float64)")
arctanh = unary_function(arctanh_p, "Elementwise inverse hyperbolic tangent (defined for |x| < 1).\n\n>>> import chainrule as cr\n>>> cr.arctanh(cr.tensor(0.0))\ntensor(0., dtype=float64)")
sinc = unary_function(sinc_p, "Elementwise normalised sinc, sin(πx)/(πx), 1 at 0 (``numpy.sinc``); its derivatives of every order are exact at 0 too.\n\n>>> import chainrule as cr\n>>> cr.sinc(cr.tensor([0.0, 0.5]))\ntensor([1.        , 0.63661977], dtype=float64)")

_DEG_TO_RAD = math.pi / 180.0
_RAD_TO_DEG = 180.0 / math.pi


def _float_input(x: Any) -> Any:
    """``x`` cast to float64 when it holds integers or bools (NumPy's float-only ufuncs do that)."""
    from chainrule.ops._api import as_array
    from chainrule.ops.shape import astype_p

    a = as_array(x)
    if dtype_kind(a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype) in "biu":
        return astype_p(x, dtype=np.dtype(np.float64))
    return x


def deg2rad(x: Any) -> Any:
    """Angles from degrees to radians, ``x * pi / 180`` (``numpy.deg2rad``).

    >>> import chainrule as cr
    >>> float(cr.deg2rad(cr.tensor(180.0)))
    3.141592653589793
    """
    from chainrule.ops._api import ensure_tensor
    from chainrule.ops.binary import mul_p

    return ensure_tensor(mul_p(_float_input(x), _DEG_TO_RAD))


def rad2deg(x: Any) -> Any:
    """Angles from radians to degrees, ``x * 180 / pi`` (``numpy.rad2deg``).

    >>> import chainrule as cr
    >>> float(cr.rad2deg(cr.tensor(3.141592653589793)))
    180.0
    """
    from chainrule.ops._api import ensure_tensor
    from chainrule.ops.binary import mul_p

    return ensure_tensor(mul_p(_float_input(x), _RAD_TO_DEG))


def radians(x: Any) -> Any:
    """``deg2rad`` under NumPy's other name.

    >>> import chainrule as cr
    >>> float(cr.radians(cr.tensor(90.0)))
    1.5707963267948966
    """
    return deg2rad(x)


def degrees(x: Any) -> Any:
    """``rad2deg`` under NumPy's other name.

    >>> import chainrule as cr
    >>> float(cr.degrees(cr.tensor(1.5707963267948966)))
    90.0
    """
    return rad2deg(x)


def fabs(x: Any) -> Any:
    """Elementwise |x| as floats (``numpy.fabs``); its derivative at 0 is 0, as ``abs``.

    >>> import chainrule as cr
    >>> cr.fabs(cr.tensor([-2, 3]))
    tensor([2., 3.], dtype=float64)
    """
    from chainrule.ops._api import ensure_tensor

    return ensure_tensor(abs_p(_float_input(x)))


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Any:  # fmt: skip
    """NaN replaced by ``nan``, ±inf by ``posinf``/``neginf`` (the dtype's largest finite values
    when None), as ``numpy.nan_to_num``. The gradient passes at finite entries and is 0 at
    replaced ones. ``copy`` is accepted for NumPy's signature; the result is always a new tensor.

    >>> import chainrule as cr
    >>> cr.nan_to_num(cr.tensor([float("nan"), 1.0, float("inf")]), posinf=9.0)
    tensor([0., 1., 9.], dtype=float64)
    """
    from chainrule.ops._api import ensure_tensor

    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float, np.number))):
            raise TypeError(
                f"nan_to_num: {name} must be a number (or None for posinf/neginf), got {value!r}; "
                "use where() to replace entries by values of a tensor"
            )
    return ensure_tensor(nan_to_num_p(x, nan=float(nan), posinf=None if posinf is None else float(posinf),
                                      neginf=None if neginf is None else float(neginf)))  # fmt: skip
