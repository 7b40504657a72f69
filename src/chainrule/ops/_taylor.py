"""Taylor-mode rules: truncated Taylor series pushed through one primitive (``Primitive.def_jet``).

A series is a list ``[a0, a1, ..., aK]`` of *normalised* Taylor coefficients of ``x(t) = Σ ak tᵏ``
(``ak`` is the k-th derivative divided by k!; ``transforms/jet.py`` converts from and to JAX's
derivative-scaled terms). Coefficients are raw arrays; the float ``0.0`` stands for a coefficient
known to be zero (an input that is a constant in ``t``), so sums skip it and NumPy broadcasting
handles it where it does enter.

A rule is ``rule(ans, *xs, **params) -> series``: ``ans`` is the op's output on the primals,
``xs[i]`` the series of input ``i`` (``xs[i][0]`` its primal, ``0.0`` for every higher coefficient
of a constant), and it returns the output series (its entry 0 is ignored: ``ans`` is the primal).
Elementwise ops use the standard recurrences: products by Cauchy sums, quotients by solving for
the next coefficient, and an op whose derivative is known (``y' = g · x'``) by integrating the
series of ``g`` term by term: ``k·yk = Σ_{j=1..k} j·xj·g_{k-j}``, where ``g`` may itself be
built from the ``y`` coefficients found so far (exp, tanh, sigmoid, tan).

Matrix functions solve their defining equation order by order (inv, solve, cholesky: ``L·Lᵀ = A``),
go through a series they own (det and log|det| from ``tr(X⁻¹ dX)``), or, for the decompositions
(eigh, eigvalsh, eig, svd, svdvals, pinv), integrate their JVP rule as an ODE ``y' = F(y, A, A')``
one coefficient at a time. Each is exact where the op is analytic, which is where its first-order
rules hold: an invertible matrix (det, logabsdet), distinct eigenvalues or singular values (nonzero
ones for a non-square svd), constant rank (pinv). Elsewhere the coefficients come out inf or NaN,
as nested derivatives do, never a finite guess. ``eigvalsh`` and ``svdvals`` need distinct values
from the second order on (their second derivatives involve the vectors). ``svd`` with
``full_matrices=True`` on a non-square matrix has no derivative and refuses, as its other rules.
Complex values never reach a rule: ``jet`` refuses them (conj, real, imag, angle have rules for
real inputs).

>>> import numpy as np
>>> y = exp(np.exp(0.0), [np.asarray(0.0), np.asarray(1.0), 0.0, 0.0])  # exp(t)
>>> [round(float(c), 6) for c in y]
[1.0, 1.0, 0.5, 0.166667]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Series = list[Any]

__all__ = [
    "nz", "coef_mul", "mul", "div", "recip", "integrate", "ode", "series_exp", "series_pow",
    "neg", "add", "sub", "square", "sqrt", "reciprocal", "exp", "expm1", "log", "log1p", "log2",
    "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid",
    "softplus", "erf", "gelu", "relu", "leaky_relu", "elu", "abs", "zero", "multiply", "divide",
    "power", "arctan2", "maximum", "minimum", "where", "clip", "mod", "select_reduce",
    "zero_filled", "var", "logsumexp", "log_softmax", "norm", "inv", "solve",
]  # fmt: skip
__all__ += [
    "exp2", "arcsinh", "arccosh", "arctanh", "from_derivatives", "sinc", "sinc_derivative",
    "nan_to_num", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "cumprod_last", "prod_others",
    "prod", "cumprod", "cross_entropy", "mmul", "logabsdet", "det", "cholesky", "eigh", "eigvalsh",
    "eig", "svd", "svdvals", "pinv",
]  # fmt: skip

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


def nz(c: Any) -> bool:
    """Whether coefficient ``c`` may be nonzero (the float 0.0 marks a known zero)."""
    return not (type(c) is float and c == 0.0)


# ---------------------------------------------------------------- series algebra
def coef_mul(a: Series, b: Series, k: int) -> Any:
    """The k-th coefficient of the product: ``Σ_{j=0..k} aj·b_{k-j}`` (Cauchy)."""
    total: Any = 0.0
    for j in range(k + 1):
        x, y = a[j], b[k - j]
        if nz(x) and nz(y):
            total = x * y if not nz(total) else total + x * y
    return total


def mul(a: Series, b: Series) -> Series:
    """The product of two series."""
    return [coef_mul(a, b, k) for k in range(len(a))]


def div(a: Series, b: Series) -> Series:
    """The quotient ``a / b``: ``ck = (ak - Σ_{j=1..k} bj·c_{k-j}) / b0``."""
    c = [a[0] / b[0]]
    for k in range(1, len(a)):
        acc = a[k]
        for j in range(1, k + 1):
            if nz(b[j]) and nz(c[k - j]):
                acc = acc - b[j] * c[k - j]
        c.append(acc / b[0] if nz(acc) else 0.0)
    return c


def recip(b: Series) -> Series:
    """``1 / b``."""
    return div([1.0] + [0.0] * (len(b) - 1), b)


def integrate(x: Series, g: Series, y0: Any) -> Series:
    """The series of ``y`` with ``y(0) = y0`` and ``y' = g·x'``: ``k·yk = Σ j·xj·g_{k-j}``."""
    y = [y0]
    for k in range(1, len(x)):
        acc: Any = 0.0
        for j in range(1, k + 1):
            if nz(x[j]) and nz(g[k - j]):
                acc = acc + j * x[j] * g[k - j]
        y.append(acc / k if nz(acc) else 0.0)
    return y


def ode(x: Series, y0: Any, g_of: Any) -> Series:
    """``y' = g·x'`` where ``g``'s coefficient m is ``g_of(y, m)``, from ``y0 .. ym`` only."""
    y = [y0]
    g: Series = []
    for k in range(1, len(x)):
        g.append(g_of(y, k - 1))
        acc: Any = 0.0
        for j in range(1, k + 1):
            if nz(x[j]) and nz(g[k - j]):
                acc = acc + j * x[j] * g[k - j]
        y.append(acc / k if nz(acc) else 0.0)
    return y


def _one(m: int) -> float:
    return 1.0 if m == 0 else 0.0


def series_exp(x: Series, y0: Any = None) -> Series:
    """``exp(x)``: ``y' = y·x'``."""
    return ode(x, np.exp(x[0]) if y0 is None else y0, lambda y, m: y[m])


def series_pow(x: Series, c: Any, y0: Any = None) -> Series:
    """``x ** c`` for a constant exponent ``c`` (scalar or array).

    An integer scalar exponent is exact everywhere (repeated products, as for ``x * x``); any
    other needs ``x0 != 0``: from ``x·y' = c·y·x'``, ``k·x0·yk = Σ_{j=1..k} (c·j - (k-j))·xj·y_{k-j}``.
    """
    if y0 is None:
        y0 = np.power(x[0], c)
    if isinstance(c, (int, float, np.integer, np.floating)) and float(c).is_integer() and -64 <= c <= 64:
        n = int(c)
        if n == 0:
            return [y0] + [0.0] * (len(x) - 1)
        base = x if n > 0 else recip(x)
        out = _power_by_squaring(base, n if n > 0 else -n)
        out[0] = y0
        return out
    y = [y0]
    for k in range(1, len(x)):
        acc: Any = 0.0
        for j in range(1, k + 1):
            if nz(x[j]) and nz(y[k - j]):
                acc = acc + (c * j - (k - j)) * x[j] * y[k - j]
        y.append(acc / (k * x[0]) if nz(acc) else 0.0)
    return y


def _power_by_squaring(x: Series, n: int) -> Series:
    result: Series | None = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else mul(result, base)
        n >>= 1
        if n:
            base = mul(base, base)
    assert result is not None
    return list(result)


def _sin_cos(x: Series, s0: Any, c0: Any, sign: float) -> tuple[Series, Series]:
    """``s' = c·x'`` and ``c' = sign·s·x'`` together (sin/cos: sign -1, sinh/cosh: +1)."""
    s, c = [s0], [c0]
    for k in range(1, len(x)):
        acc_s: Any = 0.0
        acc_c: Any = 0.0
        for j in range(1, k + 1):
            if nz(x[j]):
                jx = j * x[j]
                acc_s = acc_s + jx * c[k - j]
                acc_c = acc_c + jx * s[k - j]
        s.append(acc_s / k if nz(acc_s) else 0.0)
        c.append(sign * acc_c / k if nz(acc_c) else 0.0)
    return s, c


def _scale(x: Series, f: Any) -> Series:
    return [c * f if nz(c) else 0.0 for c in x]


def _constant(value: Any, like: Series) -> Series:
    return [value] + [0.0] * (len(like) - 1)


# ---------------------------------------------------------------- one-input rules
def neg(ans: Any, x: Series) -> Series:
    return [-c if nz(c) else 0.0 for c in x]


def square(ans: Any, x: Series) -> Series:
    return mul(x, x)


def sqrt(ans: Any, x: Series) -> Series:
    # y·y = x: 2·y0·yk = xk - Σ_{j=1..k-1} yj·y_{k-j}
    y = [ans]
    for k in range(1, len(x)):
        acc = x[k]
        for j in range(1, k):
            if nz(y[j]) and nz(y[k - j]):
                acc = acc - y[j] * y[k - j]
        y.append(acc / (2 * ans) if nz(acc) else 0.0)
    return y


def reciprocal(ans: Any, x: Series) -> Series:
    return recip(x)


def exp(ans: Any, x: Series) -> Series:
    return series_exp(x, ans)


def expm1(ans: Any, x: Series) -> Series:
    return series_exp(x, ans + 1)


def log(ans: Any, x: Series) -> Series:
    return integrate(x, recip(x), ans)


def log1p(ans: Any, x: Series) -> Series:
    return integrate(x, recip([x[0] + 1] + x[1:]), ans)


def log2(ans: Any, x: Series) -> Series:
    return integrate(x, _scale(recip(x), 1 / math.log(2.0)), ans)


def log10(ans: Any, x: Series) -> Series:
    return integrate(x, _scale(recip(x), 1 / math.log(10.0)), ans)


def sin(ans: Any, x: Series) -> Series:
    return _sin_cos(x, ans, np.cos(x[0]), -1.0)[0]


def cos(ans: Any, x: Series) -> Series:
    return _sin_cos(x, np.sin(x[0]), ans, -1.0)[1]


def sinh(ans: Any, x: Series) -> Series:
    return _sin_cos(x, ans, np.cosh(x[0]), 1.0)[0]


def cosh(ans: Any, x: Series) -> Series:
    return _sin_cos(x, np.sinh(x[0]), ans, 1.0)[1]


def tan(ans: Any, x: Series) -> Series:
    return ode(x, ans, lambda y, m: _one(m) + coef_mul(y, y, m))


def tanh(ans: Any, x: Series) -> Series:
    return ode(x, ans, lambda y, m: _one(m) - coef_mul(y, y, m))


def sigmoid(ans: Any, x: Series) -> Series:
    return ode(x, ans, lambda y, m: y[m] - coef_mul(y, y, m))


def _one_minus_square(x: Series) -> Series:
    sq = mul(x, x)
    return [1 - sq[0]] + [-c if nz(c) else 0.0 for c in sq[1:]]


def arcsin(ans: Any, x: Series) -> Series:
    return integrate(x, series_pow(_one_minus_square(x), -0.5), ans)


def arccos(ans: Any, x: Series) -> Series:
    return integrate(x, _scale(series_pow(_one_minus_square(x), -0.5), -1.0), ans)


def arctan(ans: Any, x: Series) -> Series:
    sq = mul(x, x)
    return integrate(x, recip([1 + sq[0]] + sq[1:]), ans)


def softplus(ans: Any, x: Series) -> Series:
    from chainrule.ops.unary import _sigmoid_impl

    s0 = _sigmoid_impl(x[0])
    return integrate(x, sigmoid(s0, x), ans)


def erf(ans: Any, x: Series) -> Series:
    sq = mul(x, x)
    return integrate(x, _scale(series_exp([-sq[0]] + [-c if nz(c) else 0.0 for c in sq[1:]]),
                               _TWO_OVER_SQRT_PI), ans)  # fmt: skip


def gelu(ans: Any, x: Series) -> Series:
    # x·Φ(x) with Φ(x) = (1 + erf(x/√2)) / 2
    from chainrule.ops.unary import _erf_impl

    u = _scale(x, _INV_SQRT2)
    e = erf(_erf_impl(u[0]), u)
    cdf = [(1 + e[0]) / 2] + _scale(e[1:], 0.5)
    return mul(x, cdf)


def _select(mask: Any, x: Series, other: Series | None = None, factor: Any = None) -> Series:
    """Per coefficient: ``x`` where ``mask``, else ``other`` (or ``factor·x``, or 0)."""
    out = [None]
    for k in range(1, len(x)):
        a = x[k]
        b = 0.0 if other is None else other[k]
        if factor is not None:
            b = a * factor if nz(a) else 0.0
        out.append(np.where(mask, a, b) if nz(a) or nz(b) else 0.0)
    return out


def relu(ans: Any, x: Series) -> Series:
    return _select(x[0] > 0, x)  # relu'(0) = 0, as the first-order rules


def leaky_relu(ans: Any, x: Series, negative_slope: float = 0.01) -> Series:
    return _select(x[0] > 0, x, factor=negative_slope)


def elu(ans: Any, x: Series, alpha: float = 1.0) -> Series:
    # alpha·expm1(x) where x <= 0; exp sees min(x0, 0) so the unused branch cannot overflow
    neg_part = _scale(series_exp([np.minimum(x[0], 0)] + x[1:]), alpha)
    return _select(x[0] > 0, x, other=neg_part)


def abs(ans: Any, x: Series) -> Series:  # noqa: A001
    return _scale(x, np.sign(x[0]))  # |x|'(0) = 0, as the first-order rules


def zero(ans: Any, *xs: Series, **params: Any) -> Series:
    """A piecewise-constant op (sign): every higher coefficient is zero."""
    return [ans] + [0.0] * (len(xs[0]) - 1)


# ---------------------------------------------------------------- several inputs
def add(ans: Any, x: Series, y: Series) -> Series:
    return [a + b if nz(a) or nz(b) else 0.0 for a, b in zip(x, y)]


def sub(ans: Any, x: Series, y: Series) -> Series:
    return [a - b if nz(b) else a for a, b in zip(x, y)]


def multiply(ans: Any, x: Series, y: Series) -> Series:
    return mul(x, y)


def divide(ans: Any, x: Series, y: Series) -> Series:
    if not any(nz(c) for c in y[1:]):
        return [c / y[0] if nz(c) else 0.0 for c in x]
    return div(x, y)


def power(ans: Any, x: Series, y: Series) -> Series:
    if not any(nz(c) for c in y[1:]):
        return series_pow(x, y[0], ans)
    # x ** y = exp(y · log x), as JAX's rule (defined where x > 0)
    logx = integrate(x, recip(x), np.log(x[0]))
    return series_exp(mul(y, logx), ans)


def arctan2(ans: Any, y: Series, x: Series) -> Series:
    # d atan2(y, x) = (x·dy - y·dx) / (x² + y²): integrate the quotient's series term by term
    K = len(x) - 1
    dy = [(m + 1) * y[m + 1] if nz(y[m + 1]) else 0.0 for m in range(K)]
    dx = [(m + 1) * x[m + 1] if nz(x[m + 1]) else 0.0 for m in range(K)]
    x_, y_ = x[:K], y[:K]
    num = sub(None, mul(x_, dy), mul(y_, dx))
    den = add(None, mul(x_, x_), mul(y_, y_))
    q = div(num, den) if K else []
    return [ans] + [q[k - 1] / k if nz(q[k - 1]) else 0.0 for k in range(1, K + 1)]


def _share(x0: Any, y0: Any) -> Any:
    # 1 where x wins, 0.5 at ties, 0 where y wins: the split of the first-order rules
    return (x0 > y0) * 1.0 + (x0 == y0) * 0.5


def maximum(ans: Any, x: Series, y: Series) -> Series:
    w = _share(x[0], y[0])
    return [ans] + [w * a + (1 - w) * b if nz(a) or nz(b) else 0.0 for a, b in zip(x[1:], y[1:])]


def minimum(ans: Any, x: Series, y: Series) -> Series:
    w = _share(y[0], x[0])
    return [ans] + [w * a + (1 - w) * b if nz(a) or nz(b) else 0.0 for a, b in zip(x[1:], y[1:])]


def where(ans: Any, c: Series, x: Series, y: Series) -> Series:
    return _select(c[0], x, other=y)


def clip(ans: Any, x: Series, min: Any = None, max: Any = None) -> Series:  # noqa: A002
    inside = np.ones(np.shape(x[0]), dtype=bool)
    if min is not None:
        inside = inside & (x[0] >= min)
    if max is not None:
        inside = inside & (x[0] <= max)
    return _select(inside, x)  # the seed passes at the bounds, as the first-order rules


def mod(ans: Any, x: Series, y: Series) -> Series:
    # x mod y = x - floor(x / y)·y, with floor(x / y) constant
    q = np.floor_divide(x[0], y[0])
    return [ans] + [a - q * b if nz(b) else a for a, b in zip(x[1:], y[1:])]


def select_reduce(reduce: Any) -> Any:
    """Rule of a reduction that picks entries (max, min): the series of the picked entries,
    averaged over ties (JAX's choice)."""

    def rule(ans: Any, x: Series, axis: Any = None, keepdims: bool = False) -> Series:
        full = reduce(x[0], axis=axis, keepdims=True)
        picked = x[0] == full
        count = np.sum(picked, axis=axis, keepdims=keepdims)
        out = [ans]
        for c in x[1:]:
            out.append(np.sum(np.where(picked, c, 0.0), axis=axis, keepdims=keepdims) / count if nz(c) else 0.0)
        return out

    return rule


# ---------------------------------------------------------------- structure, reductions, linear algebra
def zero_filled(impl: Any, **fixed: Any) -> Any:
    """Rule of an op linear in all its inputs jointly (concat, pad with a zero fill, index_put):
    the op on each order's coefficients, zeros standing in for an input without one. ``fixed``
    overrides params for the coefficients (``value=0.0``: a pad's fill is a constant)."""

    def rule(ans: Any, *xs: Series, **params: Any) -> Series:
        out = [ans]
        for k in range(1, len(xs[0])):
            coefs = [x[k] for x in xs]
            if not any(nz(c) for c in coefs):
                out.append(0.0)
                continue
            filled = [c if nz(c) else np.zeros(np.shape(x[0]), np.result_type(x[0], 0.0)) for c, x in zip(coefs, xs)]
            out.append(impl(*filled, **{**params, **fixed}))
        return out

    return rule


def _reduce_sum(c: Any, axis: Any, keepdims: bool) -> Any:
    return np.sum(c, axis=axis, keepdims=keepdims) if nz(c) else 0.0


def _count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axis]))


def var(ans: Any, x: Series, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Series:
    # var = Σ d² / (n - ddof) with d = x - mean(x), d linear in x
    dof = _count(np.shape(x[0]), axis) - ddof
    d = [c - np.mean(c, axis=axis, keepdims=True) if nz(c) else 0.0 for c in x]
    return [ans] + [_reduce_sum(coef_mul(d, d, k), axis, keepdims) / dof for k in range(1, len(x))]


def logsumexp(ans: Any, x: Series, axis: Any = None, keepdims: bool = False) -> Series:
    # log Σ exp(x - m) + m, with m the (constant) maximum of the primal
    if np.size(x[0]) == 0:
        return [ans] + [0.0] * (len(x) - 1)
    m = np.max(x[0], axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0.0)  # (an empty or all -inf slice: no shift)
    e = series_exp([x[0] - m] + x[1:])
    s = [_reduce_sum(c, axis, keepdims) for c in e]
    return integrate(s, recip(s), ans)


def log_softmax(ans: Any, x: Series, axis: Any) -> Series:
    lse = logsumexp(None, x, axis=axis, keepdims=True)
    return [ans] + [a - b if nz(b) else a for a, b in zip(x[1:], lse[1:])]


def norm(ans: Any, x: Series, axis: Any = None, keepdims: bool = False) -> Series:
    sq = [_reduce_sum(c, axis, keepdims) for c in mul(x, x)]
    return sqrt(ans, sq)


def inv(ans: Any, x: Series) -> Series:
    # X·Y = I: Yk = -Y0 · Σ_{j=1..k} Xj·Y_{k-j}
    y = [ans]
    for k in range(1, len(x)):
        acc: Any = 0.0
        for j in range(1, k + 1):
            if nz(x[j]) and nz(y[k - j]):
                acc = acc + np.matmul(x[j], y[k - j])
        y.append(-np.matmul(ans, acc) if nz(acc) else 0.0)
    return y


def solve(ans: Any, a: Series, b: Series) -> Series:
    # A·Z = B: A0·Zk = Bk - Σ_{j=1..k} Aj·Z_{k-j}
    vector = np.ndim(b[0]) == 1

    def times(m: Any, z: Any) -> Any:
        return np.matmul(m, z[..., None])[..., 0] if vector else np.matmul(m, z)

    z = [ans]
    for k in range(1, len(a)):
        acc = b[k]
        for j in range(1, k + 1):
            if nz(a[j]) and nz(z[k - j]):
                acc = acc - times(a[j], z[k - j])
        if nz(acc):
            acc = np.linalg.solve(a[0], acc[..., None])[..., 0] if vector else np.linalg.solve(a[0], acc)
        z.append(acc)
    return z


# ---------------------------------------------------------------- NumPy's further elementwise ops
_LN2 = math.log(2.0)


def exp2(ans: Any, x: Series) -> Series:
    # 2^x = exp(x·ln 2)
    return series_exp(_scale(x, _LN2), ans)


def _shifted_square(x: Series, shift: float) -> Series:
    """``x² + shift``."""
    sq = mul(x, x)
    return [sq[0] + shift] + sq[1:]


def arcsinh(ans: Any, x: Series) -> Series:
    # y' = x' / √(x² + 1)
    return integrate(x, series_pow(_shifted_square(x, 1.0), -0.5), ans)


def arccosh(ans: Any, x: Series) -> Series:
    # y' = x' / √(x² - 1), x > 1
    return integrate(x, series_pow(_shifted_square(x, -1.0), -0.5), ans)


def arctanh(ans: Any, x: Series) -> Series:
    # y' = x' / (1 - x²)
    return integrate(x, recip(_one_minus_square(x)), ans)


def from_derivatives(x: Series, derivs: list[Any], y0: Any) -> Series:
    """``f(x)`` from the derivatives ``derivs[j] = f⁽ʲ⁾(x0)`` (j = 1..K), by Taylor's formula in
    the increment: ``y = Σ_j f⁽ʲ⁾(x0)/j! · (x - x0)ʲ``, whose powers start at order j (exact)."""
    K = len(x) - 1
    delta: Series = [0.0] + list(x[1:])
    y: Series = [y0] + [0.0] * K
    power = delta
    for j in range(1, K + 1):
        scale = derivs[j - 1] / math.factorial(j)
        for k in range(j, K + 1):
            if nz(power[k]):
                term = scale * power[k]
                y[k] = term if not nz(y[k]) else y[k] + term
        if j < K:
            power = mul(power, delta)
    return y


def sinc(ans: Any, x: Series) -> Series:
    # Every derivative of sinc is exact at 0 too (sinc_derivative's series there).
    from chainrule.ops.unary import _sinc_derivative_impl

    return from_derivatives(x, [_sinc_derivative_impl(x[0], order=j) for j in range(1, len(x))], ans)


def sinc_derivative(ans: Any, x: Series, order: int) -> Series:
    from chainrule.ops.unary import _sinc_derivative_impl

    return from_derivatives(x, [_sinc_derivative_impl(x[0], order=order + j) for j in range(1, len(x))], ans)


def nan_to_num(ans: Any, x: Series, **params: Any) -> Series:
    # Replaced entries (NaN, ±inf) are constants; the finite ones pass, as the first-order rules.
    return _select(np.isfinite(x[0]), x)


def hypot(ans: Any, x: Series, y: Series) -> Series:
    # h·√((x/h)² + (y/h)²) with the primal h = hypot(x0, y0): no overflow of the squares. At the
    # origin (not differentiable) the coefficients are NaN, as norm's, never a finite guess.
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / ans
        s = add(None, mul(_scale(x, inv), _scale(x, inv)), mul(_scale(y, inv), _scale(y, inv)))
        r = sqrt(np.ones_like(ans), s)
        return [ans] + _scale(r[1:], ans)


def logaddexp(ans: Any, x: Series, y: Series) -> Series:
    # m + log(exp(x - m) + exp(y - m)) with the (constant) larger primal m
    m = np.maximum(x[0], y[0])
    m = np.where(np.isfinite(m), m, 0.0)
    s = add(None, series_exp([x[0] - m] + x[1:]), series_exp([y[0] - m] + y[1:]))
    return integrate(s, recip(s), ans)


def logaddexp2(ans: Any, x: Series, y: Series) -> Series:
    # log2(2^x + 2^y) = logaddexp(x ln2, y ln2) / ln2
    out = logaddexp(ans * _LN2, _scale(x, _LN2), _scale(y, _LN2))
    return [ans] + _scale(out[1:], 1 / _LN2)


def _fshare(x0: Any, y0: Any, first_wins: Any) -> Any:
    # fmax/fmin's share of x, as the first-order rules: 1 where it is chosen (a NaN loses), 0.5 at ties
    return (np.isnan(y0) & ~np.isnan(x0)) * 1.0 + first_wins * 1.0 + (x0 == y0) * 0.5


def _weighted_pair(ans: Any, x: Series, y: Series, wx: Any, wy: Any) -> Series:
    out = [ans]
    for a, b in zip(x[1:], y[1:]):
        # selected, not multiplied: a NaN coefficient of the input not chosen stays out
        parts = [np.where(w > 0, w * c, 0.0) for c, w in ((a, wx), (b, wy)) if nz(c)]
        out.append(sum(parts[1:], parts[0]) if parts else 0.0)
    return out


def fmax(ans: Any, x: Series, y: Series) -> Series:
    x0, y0 = x[0], y[0]
    return _weighted_pair(ans, x, y, _fshare(x0, y0, x0 > y0), _fshare(y0, x0, y0 > x0))


def fmin(ans: Any, x: Series, y: Series) -> Series:
    x0, y0 = x[0], y[0]
    return _weighted_pair(ans, x, y, _fshare(x0, y0, x0 < y0), _fshare(y0, x0, y0 < x0))


# ---------------------------------------------------------------- products along an axis
def _shift_last(c: Any, d: int, fill: float) -> Any:
    """``c`` moved ``d`` places along the last axis, ``fill`` entering at the front."""
    if not nz(c):
        return 0.0 if fill == 0.0 else c
    pad = np.full(c.shape[:-1] + (min(d, c.shape[-1]),), fill, dtype=c.dtype)
    return np.concatenate((pad, c[..., : max(c.shape[-1] - d, 0)]), axis=-1)


def _shifted_series(x: Series, d: int) -> Series:
    # the series 1 (primal 1, higher 0) enters, so a product with it leaves the other factor
    return [_shift_last(np.asarray(x[0]), d, 1.0)] + [_shift_last(c, d, 0.0) if nz(c) else 0.0 for c in x[1:]]


def cumprod_last(x: Series) -> Series:
    """Inclusive running products of a series along the last axis, by multiplications only (exact
    with zeros): a scan that doubles its reach each step, log2(n) series products."""
    y = [np.asarray(x[0])] + list(x[1:])
    n = y[0].shape[-1]
    d = 1
    while d < n:
        y = mul(y, _shifted_series(y, d))
        d *= 2
    return y


def _flip_last(x: Series) -> Series:
    return [c[..., ::-1] if nz(c) else 0.0 for c in x]


def prod_others(ans: Any, x: Series) -> Series:
    # entry i: (product before i) · (product after i)
    x = [np.asarray(x[0])] + list(x[1:])
    if x[0].shape[-1] == 0:
        return _constant(ans, x)
    before = _shifted_series(cumprod_last(x), 1)
    after = _flip_last(_shifted_series(cumprod_last(_flip_last(x)), 1))
    return [ans] + mul(before, after)[1:]


def _axis_last(c: Any, axes: tuple[int, ...]) -> Any:
    """``c`` with ``axes`` moved to the end and merged into one."""
    kept = [i for i in range(c.ndim) if i not in axes]
    moved = np.transpose(c, kept + list(axes))
    return moved.reshape(moved.shape[: len(kept)] + (-1,))


def prod(ans: Any, x: Series, axis: Any = None, keepdims: bool = False) -> Series:
    x0 = np.asarray(x[0])
    axes = tuple(range(x0.ndim)) if axis is None else tuple(axis)
    if x0.size == 0 or not axes:
        return [ans] + ([c for c in x[1:]] if not axes else [0.0] * (len(x) - 1))
    full = cumprod_last([_axis_last(x0, axes)] + [_axis_last(c, axes) if nz(c) else 0.0 for c in x[1:]])
    shape = np.shape(ans)
    return [ans] + [np.reshape(c[..., -1], shape) if nz(c) else 0.0 for c in full[1:]]


def cumprod(ans: Any, x: Series, axis: int) -> Series:
    x = [np.asarray(x[0])] + list(x[1:])
    if x[0].size == 0:
        return _constant(ans, x)
    moved = [np.moveaxis(c, axis, -1) if nz(c) else 0.0 for c in x]
    return [ans] + [np.moveaxis(c, -1, axis) if nz(c) else 0.0 for c in cumprod_last(moved)[1:]]


# ---------------------------------------------------------------- losses
def cross_entropy(ans: Any, logits: Series, target: Series, *, axis: int, reduction: str, soft: bool) -> Series:
    # per example: -Σ target · log_softmax(logits) (soft), or -log_softmax(logits) at the target class
    from chainrule.ops.nn import _pick

    x0 = np.asarray(logits[0])
    lse0 = np.max(x0, axis=axis, keepdims=True, initial=-np.inf) if x0.size else 0.0
    lse0 = np.where(np.isfinite(lse0), lse0, 0.0)
    lse0 = lse0 + np.log(np.sum(np.exp(x0 - lse0), axis=axis, keepdims=True))
    # (a coefficient of the log-sum-exp alone keeps its size-1 class axis: spread it)
    logp = [np.broadcast_to(c, x0.shape) if nz(c) else 0.0 for c in log_softmax(x0 - lse0, logits, axis=(axis,))]
    if soft:
        losses = [-_reduce_sum(c, axis, False) if nz(c) else 0.0 for c in mul(target, logp)]
    else:
        t = np.asarray(target[0])
        losses = [-_pick(c, t, axis) if nz(c) else 0.0 for c in logp]
    out: Series = [ans]
    for c in losses[1:]:
        if not nz(c) or reduction == "none":
            out.append(c)
        elif reduction == "sum":
            out.append(np.sum(c))
        else:
            out.append(np.sum(c) / c.size if c.size else np.sum(c) * np.nan)
    return out


# ---------------------------------------------------------------- matrix series
# The decompositions below solve ``y' = F(y, A, A')`` order by order, F being the op's JVP rule
# (exact wherever the op is analytic: distinct eigen/singular values, constant rank): with the
# coefficients y0 .. yk known, coefficient k of F's series gives ``(k+1)·y_{k+1}``. Their series
# are dense arrays (no known-zero floats).
def _dense(x: Series) -> Series:
    x0 = np.asarray(x[0])
    zero = np.zeros(x0.shape, np.result_type(x0, 0.0))
    return [x0] + [np.asarray(c) if nz(c) else zero for c in x[1:]]


def _mT(c: Any) -> Any:
    return np.swapaxes(c, -1, -2)


def mmul(a: Series, b: Series) -> Series:
    """The matrix product of two series (a Cauchy sum of matmuls)."""
    return [sum((np.matmul(a[j], b[k - j]) for j in range(1, k + 1)), np.matmul(a[0], b[k])) for k in range(len(a))]


def _each(f: Any, x: Series) -> Series:
    return [f(c) for c in x]


def _plus(a: Series, b: Series) -> Series:
    return [p + q for p, q in zip(a, b)]


def _minus(a: Series, b: Series) -> Series:
    return [p - q for p, q in zip(a, b)]


def _derivative(x: Series) -> Series:
    """The series of ``x'`` (one order shorter)."""
    return [(m + 1) * x[m + 1] for m in range(len(x) - 1)]


def _diag(c: Any) -> Any:
    return np.diagonal(c, axis1=-2, axis2=-1)


def _trace(a: Any, b: Any) -> Any:
    """``tr(a @ b)`` per matrix."""
    return np.einsum("...ij,...ji->...", a, b)


def _gap_inverses(e: Series) -> Series:
    """Series of ``F[i, j] = 1 / (e_j - e_i)`` off the diagonal, 0 on it."""
    n = np.shape(e[0])[-1]
    eye = np.eye(n, dtype=np.result_type(e[0], 0.0))
    gaps = [c[..., None, :] - c[..., :, None] for c in e]
    gaps[0] = gaps[0] + eye  # (the diagonal, masked below, must not divide by zero)
    return [(1.0 - eye) * c for c in recip(gaps)]


def _ode(y0: tuple[Any, ...], rhs: Any, order: int) -> list[Series]:
    """Series of the state ``y`` (a tuple of arrays) with ``y' = rhs(y)``, where ``rhs(ys)``
    takes the state's series truncated to k+1 coefficients and returns those of ``y'``."""
    ys: list[Series] = [[c] for c in y0]
    for k in range(order):
        ds = rhs(ys)
        for y, d in zip(ys, ds):
            y.append(d[k] / (k + 1))
    return ys


def _pack(*parts: Series) -> Series:
    """Concatenated along the second-to-last axis, coefficient by coefficient (vectors as rows)."""
    nd = max(np.ndim(p[0]) for p in parts)
    return [np.concatenate([p[k][..., None, :] if np.ndim(p[k]) < nd else p[k] for p in parts], axis=-2)
            for k in range(len(parts[0]))]  # fmt: skip


def logabsdet(ans: Any, x: Series) -> Series:
    # d log|det X| = tr(X⁻¹ dX): the series of X⁻¹ (as inv) against that of X', integrated
    x = _dense(x)
    y = inv(np.linalg.inv(x[0]), x)
    dx = _derivative(x)
    h = [sum(_trace(y[i], dx[m - i]) for i in range(m + 1)) for m in range(len(dx))]
    return [ans] + [h[k - 1] / k for k in range(1, len(x))]


def det(ans: Any, x: Series) -> Series:
    # det = det(X0)·exp(log|det X| - log|det X0|), needing X invertible (as the first-order rules)
    lg = logabsdet(None, x)
    return series_exp([0.0] + lg[1:], ans)


def cholesky(ans: Any, x: Series) -> Series:
    # A = L·Lᵀ order by order: L0·Lkᵀ + Lk·L0ᵀ = Sk := sym(Ak) - Σ_{j=1..k-1} Lj·L_{k-j}ᵀ, solved by
    # Lk = L0·Φ(L0⁻¹·Sk·L0⁻ᵀ) (Φ: lower triangle, diagonal halved), the JVP rule at each order.
    x = _dense(x)
    n = ans.shape[-1]
    phi = np.tril(np.ones((n, n))) - 0.5 * np.eye(n)
    linv = np.linalg.inv(ans)
    out = [ans]
    for k in range(1, len(x)):
        s = (x[k] + _mT(x[k])) * 0.5
        for j in range(1, k):
            s = s - np.matmul(out[j], _mT(out[k - j]))
        out.append(np.matmul(ans, phi * np.matmul(np.matmul(linv, s), _mT(linv))))
    return out


def _from_triangle(c: Any, uplo: str) -> Any:
    """The symmetric matrix LAPACK sees reading the ``uplo`` triangle of ``c`` (as eigh's rules)."""
    n = c.shape[-1]
    ones = np.ones((n, n))
    full, strict = (np.triu(ones), np.triu(ones, 1)) if uplo == "U" else (np.tril(ones), np.tril(ones, -1))
    return c * full + _mT(c * strict)


def _eigh_series(w0: Any, v0: Any, x: Series, uplo: str) -> tuple[Series, Series]:
    # w' = diag(Vᵀ A' V), V' = V (F∘(Vᵀ A' V)), F_ij = 1/(w_j - w_i): eigh's JVP rule
    da = _derivative(_each(lambda c: _from_triangle(c, uplo), _dense(x)))

    def rhs(ys: list[Series]) -> list[Series]:
        w, v = ys
        p = mmul(mmul(_each(_mT, v), da[: len(v)]), v)
        return [_each(_diag, p), mmul(v, mul(_gap_inverses(w), p))]

    w, v = _ode((w0, v0), rhs, len(x) - 1)
    return w, v


def eigh(ans: Any, x: Series, *, UPLO: str) -> Series:  # noqa: N803
    w, v = _eigh_series(ans[..., 0, :], ans[..., 1:, :], x, UPLO)
    return [ans] + _pack(w, v)[1:]


def eigvalsh(ans: Any, x: Series, *, UPLO: str) -> Series:  # noqa: N803
    # needs the eigenvectors' series too: at second order and beyond the eigenvalues need distinct
    # values (as nested grad, whose second step goes through eigh)
    w0, v0 = np.linalg.eigh(x[0], UPLO)
    return [ans] + _eigh_series(w0, v0, x, UPLO)[0][1:]


def eig(ans: Any, x: Series) -> Series:
    # P = V⁻¹ A' V, w' = diag(P), V' = V(F∘P) - V·diag(Vᵀ V (F∘P)) (unit columns): eig's JVP rule
    da = _derivative(_dense(x))

    def rhs(ys: list[Series]) -> list[Series]:
        w, v = ys
        vi = inv(np.linalg.inv(v[0]), v)
        p = mmul(mmul(vi, da[: len(v)]), v)
        vm = mmul(v, mul(_gap_inverses(w), p))
        norms = _each(lambda c: np.sum(c, axis=-2)[..., None, :], mul(v, vm))
        return [_each(_diag, p), _minus(vm, mul(v, norms))]

    w, v = _ode((ans[..., 0, :], ans[..., 1:, :]), rhs, len(x) - 1)
    return [ans] + _pack(w, v)[1:]


def _svd_series(u0: Any, s0: Any, v0: Any, x: Series) -> tuple[Series, Series, Series]:
    # svd's JVP rule: dP = Uᵀ dA V, ds = diag(dP), dU = U(F∘(dP S + S dPᵀ)) + (I - UUᵀ) dA V S⁻¹,
    # dV = V(F∘(S dP + dPᵀ S)) + (I - VVᵀ) dAᵀ U S⁻¹, F_ij = 1/(s_j² - s_i²)
    m, n = np.shape(x[0])[-2:]
    k = min(m, n)
    da = _derivative(_dense(x))

    def rhs(ys: list[Series]) -> list[Series]:
        u, s, v = ys
        t = da[: len(u)]
        tv = mmul(t, v)
        dp = mmul(_each(_mT, u), tv)
        dpt = _each(_mT, dp)
        f = _gap_inverses(mul(s, s))
        row = _each(lambda c: c[..., None, :], s)
        col = _each(lambda c: c[..., :, None], s)
        du = mmul(u, mul(f, _plus(mul(dp, row), mul(col, dpt))))
        dv = mmul(v, mul(f, _plus(mul(col, dp), mul(dpt, row))))
        if m > k or n > k:
            inv_row = _each(lambda c: c[..., None, :], recip(s))
            if m > k:
                du = _plus(du, mul(_minus(tv, mmul(u, dp)), inv_row))
            if n > k:
                dv = _plus(dv, mul(_minus(mmul(_each(_mT, t), u), mmul(v, dpt)), inv_row))
        return [du, _each(_diag, dp), dv]

    u, s, v = _ode((u0, s0, v0), rhs, len(x) - 1)
    return u, s, v


def svd(ans: Any, x: Series) -> Series:
    m = np.shape(x[0])[-2]
    u, s, v = _svd_series(ans[..., :m, :], ans[..., m, :], ans[..., m + 1 :, :], x)
    return [ans] + _pack(u, s, v)[1:]


def svdvals(ans: Any, x: Series) -> Series:
    # the singular values alone need the vectors' series too (as nested grad, through svd)
    u0, s0, vh0 = np.linalg.svd(x[0], full_matrices=False)
    return [ans] + _svd_series(u0, s0, _mT(vh0), x)[1][1:]


def pinv(ans: Any, x: Series, *, rcond: Any = None, hermitian: bool = False) -> Series:
    # Golub & Pereyra (constant rank): dP = -P dA P + P Pᵀ dAᵀ (I - A P) + (I - P A) dAᵀ Pᵀ P
    a = _dense(x)
    da = _derivative(a)
    m, n = np.shape(a[0])[-2:]
    eye_m, eye_n = np.eye(m), np.eye(n)

    def rhs(ys: list[Series]) -> list[Series]:
        (p,) = ys
        kk = len(p)
        t, tt, ak = da[:kk], _each(_mT, da[:kk]), a[:kk]
        pt = _each(_mT, p)
        q = _minus(_constant(eye_m, p), mmul(ak, p))  # I - A P (0.0 - c: dense)
        r = _minus(_constant(eye_n, p), mmul(p, ak))
        return [_plus(_minus(mmul(mmul(mmul(p, pt), tt), q), mmul(mmul(p, t), p)), mmul(mmul(r, tt), mmul(pt, p)))]

    (p,) = _ode((ans,), rhs, len(x) - 1)
    return p
