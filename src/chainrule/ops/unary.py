"""Elementwise one-input primitives: forward, VJP rule and JVP rule side by side.

Conventions where the derivative does not exist (PyTorch's): ``abs'(0) = 0``, ``sign' = 0``,
``relu'(0) = 0``, ``sqrt'(0) = inf``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.core.primitive import Primitive
from chainrule.ops._api import unary_function
from chainrule.ops.nondiff import greater_p

__all__ = [
    "neg", "square", "sqrt", "reciprocal", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid",
    "softplus", "relu", "gelu", "erf", "abs", "sign", "leaky_relu",
]  # fmt: skip

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_2_OVER_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _sigmoid_impl(x: np.ndarray) -> np.ndarray:
    # Stable for large |x|: exp only ever sees non-positive numbers.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(x, 1.0), copy=False)


def _softplus_impl(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


try:  # SciPy (installed with the train/test extras) has a vectorised erf; NumPy has none.
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover - exercised only without SciPy
    _scipy_erf = None


def _erf_impl(x: np.ndarray) -> np.ndarray:
    if _scipy_erf is not None:
        return _scipy_erf(x)
    x = np.asarray(x)
    dtype = np.result_type(x, 1.0)
    flat = np.asarray(x, dtype=np.float64).ravel()
    out = np.fromiter((math.erf(v) for v in flat), dtype=np.float64, count=flat.size)
    return out.reshape(x.shape).astype(dtype, copy=False)


def _relu_impl(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _gelu_impl(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf_impl(x * _INV_SQRT2))


def _leaky_relu_impl(x: np.ndarray, *, negative_slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, x * negative_slope)


# ---------------------------------------------------------------- primitives
def _elementwise(name: str, impl: Any, **kwargs: Any) -> Primitive:
    return Primitive(name, impl, nin=1, batching="elementwise", **kwargs)


# Each op gives its derivative once: as a partial (the rules are g * partial and t * partial),
# or, where the seed reads better inside (a quotient), as one rule for both modes. The ops of
# benchmarks' op chains (sin, cos, exp, tanh, square, and mul) use the one-rule form: a partial
# costs one more Python call per edge, which op_overhead measured.
neg_p = _elementwise("neg", np.negative, saves=(), grad_fn_name="NegBackward0").def_partials(-1)
square_p = _elementwise("square", np.square, grad_fn_name="PowBackward0")
square_p.def_chain(lambda s, ans, x: s * (2 * x))
sqrt_p = _elementwise("sqrt", np.sqrt, saves=(), saves_ans=True)
sqrt_p.def_chain(lambda s, ans, x: s / (2 * ans))
reciprocal_p = _elementwise("reciprocal", np.reciprocal, saves=(), saves_ans=True)
reciprocal_p.def_chain(lambda s, ans, x: -s * ans * ans)
exp_p = _elementwise("exp", np.exp, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * ans)
expm1_p = _elementwise("expm1", np.expm1, saves=(), saves_ans=True).def_partials(lambda ans, x: ans + 1)
log_p = _elementwise("log", np.log).def_chain(lambda s, ans, x: s / x)
log1p_p = _elementwise("log1p", np.log1p).def_chain(lambda s, ans, x: s / (x + 1))
log2_p = _elementwise("log2", np.log2).def_chain(lambda s, ans, x: s / (x * _LN2))
log10_p = _elementwise("log10", np.log10).def_chain(lambda s, ans, x: s / (x * _LN10))
sin_p = _elementwise("sin", np.sin)
cos_p = _elementwise("cos", np.cos)
sin_p.def_chain(lambda s, ans, x: s * cos_p(x))
cos_p.def_chain(lambda s, ans, x: s * -sin_p(x))
tan_p = _elementwise("tan", np.tan, saves=(), saves_ans=True).def_partials(lambda ans, x: 1 + ans * ans)
arcsin_p = _elementwise("arcsin", np.arcsin, grad_fn_name="AsinBackward0")
arcsin_p.def_chain(lambda s, ans, x: s / sqrt_p(1 - x * x))
arccos_p = _elementwise("arccos", np.arccos, grad_fn_name="AcosBackward0")
arccos_p.def_chain(lambda s, ans, x: -s / sqrt_p(1 - x * x))
arctan_p = _elementwise("arctan", np.arctan, grad_fn_name="AtanBackward0")
arctan_p.def_chain(lambda s, ans, x: s / (1 + x * x))
sinh_p = _elementwise("sinh", np.sinh)
cosh_p = _elementwise("cosh", np.cosh)
sinh_p.def_partials(lambda ans, x: cosh_p(x))
cosh_p.def_partials(lambda ans, x: sinh_p(x))
tanh_p = _elementwise("tanh", np.tanh, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * (1 - ans * ans))
sigmoid_p = _elementwise("sigmoid", _sigmoid_impl, saves=(), saves_ans=True)
sigmoid_p.def_partials(lambda ans, x: ans * (1 - ans))
softplus_p = _elementwise("softplus", _softplus_impl).def_partials(lambda ans, x: sigmoid_p(x))
# relu'(x) is a step; the mask is computed from the output so nothing else is kept.
# One rule for both modes (the seed times the mask): a partial would cost one call more per edge,
# and relu sits on every hidden layer of a training step.
relu_p = _elementwise("relu", _relu_impl, saves=(), saves_ans=True).def_chain(lambda s, ans, x: s * (ans > 0))


def _leaky_slope(x, negative_slope):  # type: ignore[no-untyped-def]
    # 1 where x > 0, negative_slope elsewhere; a constant built from a comparison, no derivative.
    return greater_p(x, 0) * (1.0 - negative_slope) + negative_slope


leaky_relu_p = _elementwise("leaky_relu", _leaky_relu_impl)
leaky_relu_p.def_partials(lambda ans, x, negative_slope=0.01: _leaky_slope(x, negative_slope))
erf_p = _elementwise("erf", _erf_impl).def_partials(lambda ans, x: _SQRT_2_OVER_PI * exp_p(-(x * x)))


def _gelu_derivative(x):  # type: ignore[no-untyped-def]
    # d/dx [x Φ(x)] = Φ(x) + x φ(x)
    cdf = 0.5 * (1 + erf_p(x * _INV_SQRT2))
    pdf = _INV_SQRT_2PI * exp_p(-0.5 * (x * x))
    return cdf + x * pdf


gelu_p = _elementwise("gelu", _gelu_impl).def_partials(lambda ans, x: _gelu_derivative(x))

# |x|' = sign(x), with sign(0) = 0 (PyTorch's convention).
abs_p = _elementwise("abs", np.abs)
sign_p = _elementwise("sign", np.sign, saves=()).def_partials(0)
abs_p.def_partials(lambda ans, x: sign_p(x))


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
