"""Numerical stability and the derivative conventions (issue 7, part 2).

Values, gradients (first order, second order and forward mode) of sigmoid, softplus, logsumexp,
log_softmax, log1p/expm1, norm and sqrt stay finite and accurate for inputs up to |x| = 1e4 in
float32 and float64. The references are float64 (extended precision where it matters) and come
from stable formulas written here. First-order values and gradients of softmax, cross-entropy
and BCE with logits at 1e4 are in test_nn_ops.py; this module adds their second-order and
forward-mode derivatives, the masked softmax, and the ops test_nn_ops does not cover.

The second half pins the conventions of docs/conventions.md: the derivative chainrule returns
where the mathematical one does not exist (|x| at 0, sqrt at 0, relu at 0, ties in max/min,
clip at its bounds, norm at the zero vector...), in reverse and in forward mode.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

DTYPES = [np.float32, np.float64]
_WIDE = np.longdouble  # extended precision where the platform has it (x86: 80-bit)
RNG = np.random.default_rng(7)


def _tols(dtype: type, scale: float = 1.0, ulps: float = 8.0) -> dict[str, float]:
    """rtol of a few ulps of ``dtype``; atol the same relative to the size of the result."""
    eps = float(np.finfo(dtype).eps)
    return {"rtol": ulps * eps, "atol": ulps * eps * scale}


def _wide_inputs(dtype: type) -> np.ndarray:
    """Both tails up to |x| = 1e4, the transition region and values near 0, exact in ``dtype``."""
    fixed = [-1e4, -9999.5, -700.0, -100.0, -40.0, -20.0, -5.0, -1.0, -1e-3, -1e-9, 0.0,
             1e-9, 1e-3, 1.0, 5.0, 20.0, 40.0, 100.0, 700.0, 9999.5, 1e4]  # fmt: skip
    random = RNG.uniform(-1e4, 1e4, 8)
    return np.concatenate([fixed, random]).astype(dtype)


def _grad(f, x: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``f(x)`` and the gradient of ``sum(weights * f(x))`` via ``backward``."""
    t = cr.tensor(x, requires_grad=True)
    y = f(t)
    w = np.ones(y.shape) if weights is None else weights
    cr.sum(y * cr.tensor(w.astype(x.dtype))).backward()
    assert y.dtype == x.dtype and t.grad.dtype == x.dtype
    return y.numpy(), t.grad.numpy()


def _assert_finite(*arrays: np.ndarray) -> None:
    for a in arrays:
        assert np.all(np.isfinite(a)), f"non-finite values: {a}"


# ---------------------------------------------------------------- stable float64 references
def _ref_sigmoid(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _ref_sigmoid_prime(x: np.ndarray) -> np.ndarray:
    # s(1 - s) = e^-|x| / (1 + e^-|x|)^2: no cancellation in either tail.
    e = np.exp(-np.abs(x.astype(np.float64)))
    return e / (1 + e) ** 2


def _ref_softplus(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _ref_logsumexp(x: np.ndarray, axis: int | None) -> np.ndarray:
    z = x.astype(_WIDE)
    top = np.max(z, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(z - top), axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis).astype(np.float64) if axis is not None else out.reshape(()).astype(np.float64)


def _ref_softmax(x: np.ndarray, axis: int | None = -1) -> np.ndarray:
    z = x.astype(_WIDE)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(np.float64)


def _ref_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x.astype(_WIDE)
    z = z - np.max(z, axis=axis, keepdims=True)
    return (z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))).astype(np.float64)


def _softmax_hessian(p: np.ndarray) -> np.ndarray:
    """Hessian of logsumexp of a vector whose softmax is ``p``: diag(p) - p pᵀ."""
    return np.diag(p) - np.outer(p, p)


# ---------------------------------------------------------------- sigmoid and softplus
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_value_and_gradient_at_1e4(dtype: type) -> None:
    x = _wide_inputs(dtype)
    y, g = _grad(cr.sigmoid, x)
    _assert_finite(y, g)
    np.testing.assert_allclose(y, _ref_sigmoid(x), **_tols(dtype))
    np.testing.assert_allclose(g, _ref_sigmoid_prime(x), **_tols(dtype))
    assert np.all((y >= 0) & (y <= 1)) and np.all(g >= 0)
    # Both tails keep their tiny values instead of rounding through 1 - 1.
    np.testing.assert_allclose(y[x == -40.0], np.exp(-40.0), rtol=_tols(dtype)["rtol"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softplus_value_and_gradient_at_1e4(dtype: type) -> None:
    x = _wide_inputs(dtype)
    y, g = _grad(cr.softplus, x)
    _assert_finite(y, g)
    np.testing.assert_allclose(y, _ref_softplus(x), **_tols(dtype, scale=1.0))
    np.testing.assert_allclose(g, _ref_sigmoid(x), **_tols(dtype))
    # softplus(x) == x once e^-x is below half an ulp of x; the left tail (tiny values, about
    # e^x) keeps its relative accuracy instead of rounding log(1 + e^x) to 0.
    assert y[x == 1e4][0] == dtype(1e4)
    tail = (x <= -5.0) & (x >= -40.0)
    np.testing.assert_allclose(y[tail], _ref_softplus(x[tail]), rtol=_tols(dtype)["rtol"])


# ---------------------------------------------------------------- logsumexp and log_softmax
def _spread_matrix(dtype: type) -> np.ndarray:
    """Rows with huge spreads, exact ties at the top, all-negative rows and random rows."""
    rows = [
        [1e4, -1e4, 0.0, 9999.0],
        [-1e4, -1e4, -1e4, -1e4],
        [1e4, 1e4, 1e4, 1e4 - 1.0],
        [-9999.0, -1e4, 3.0, -3.0],
    ]
    return np.concatenate([rows, RNG.uniform(-1e4, 1e4, (2, 4))]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_logsumexp_value_at_1e4(dtype: type, axis: int | None) -> None:
    x = _spread_matrix(dtype)
    y = cr.logsumexp(cr.tensor(x), axis=axis).numpy()
    _assert_finite(y)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, _ref_logsumexp(x, axis), **_tols(dtype, scale=1e4))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_logsumexp_gradient_at_1e4(dtype: type, axis: int | None) -> None:
    x = _spread_matrix(dtype)
    y, g = _grad(lambda t: cr.logsumexp(t, axis=axis), x)
    _assert_finite(y, g)
    # d logsumexp / dx = softmax over the reduced axes, to a few ulps: the weights are not
    # exp(x - logsumexp(x)), which loses the digits of logsumexp that rounding near 1e4 drops.
    np.testing.assert_allclose(g, _ref_softmax(x, axis=axis), **_tols(dtype))
    sums = g.sum(axis=axis)
    np.testing.assert_allclose(sums, np.ones_like(sums), **_tols(dtype, ulps=16))


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_keepdims_and_minus_infinity_entries(dtype: type) -> None:
    x = np.array([[-np.inf, 0.0, 1e4], [-np.inf, -1e4, -np.inf]], dtype=dtype)
    y, g = _grad(lambda t: cr.logsumexp(t, axis=1, keepdims=True), x)
    assert y.shape == (2, 1)
    _assert_finite(y, g)
    np.testing.assert_allclose(y[:, 0], [1e4, -1e4], **_tols(dtype, scale=1e4))
    np.testing.assert_array_equal(g, [[0, 0, 1], [0, 1, 0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_gradient_at_1e4(dtype: type) -> None:
    x = _spread_matrix(dtype)
    w = RNG.standard_normal(x.shape)
    y, g = _grad(cr.log_softmax, x, weights=w)
    _assert_finite(y, g)
    p = _ref_softmax(x)
    w = w.astype(dtype).astype(np.float64)
    # d/dx sum(w * log_softmax(x)) = w - softmax(x) * sum(w) (per row).
    expected = w - p * w.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(g, expected, **_tols(dtype, scale=4.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_softmax_with_minus_infinity_has_finite_gradients(dtype: type) -> None:
    """Attention-style masking: -inf logits get probability 0 and gradient 0, never NaN."""
    x = np.array([[0.0, -np.inf, 2.0], [-np.inf, 1e4, -np.inf], [3.0, 3.0, -np.inf]], dtype=dtype)
    w = RNG.standard_normal(x.shape)
    p, g = _grad(cr.softmax, x, weights=w)
    _assert_finite(p, g)
    np.testing.assert_allclose(p, _ref_softmax(x), **_tols(dtype))
    w = w.astype(dtype).astype(np.float64)
    pr = _ref_softmax(x)
    expected = pr * (w - np.sum(w * pr, axis=-1, keepdims=True))
    np.testing.assert_allclose(g, expected, **_tols(dtype, scale=4.0))
    assert np.all(g[np.isinf(x)] == 0)
    lp, lg = _grad(cr.log_softmax, x)
    assert np.all(lp[np.isinf(x)] == -np.inf)
    _assert_finite(lg)


# ---------------------------------------------------------------- log1p and expm1
@pytest.mark.parametrize("dtype", DTYPES)
def test_log1p_accurate_near_zero_and_finite_up_to_1e4(dtype: type) -> None:
    x = np.array([-0.999, -0.5, -1e-12, -1e-30, 0.0, 1e-30, 1e-12, 1e-5, 3.0, 1e3, 1e4], dtype=dtype)
    y, g = _grad(cr.log1p, x)
    _assert_finite(y, g)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, np.log1p(x64), **_tols(dtype, scale=0.0, ulps=4))
    np.testing.assert_allclose(g, 1 / (1 + x64), **_tols(dtype, ulps=4))
    # Where log(1 + x) would round 1 + x to 1 and return 0, log1p keeps x itself.
    assert y[2] != 0 and y[5] == x[5]


@pytest.mark.parametrize("dtype", DTYPES)
def test_expm1_accurate_near_zero_and_finite_down_to_minus_1e4(dtype: type) -> None:
    top = 80.0 if dtype == np.float32 else 700.0  # e^x itself must be representable
    x = np.array([-1e4, -700.0, -20.0, -1.0, -1e-12, -1e-30, 0.0, 1e-30, 1e-12, 1.0, 20.0, top], dtype=dtype)
    y, g = _grad(cr.expm1, x)
    _assert_finite(y, g)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, np.expm1(x64), **_tols(dtype, scale=0.0, ulps=4))
    # The rule computes e^x as expm1(x) + 1: exact in relative terms down to moderate x, and
    # within an ulp of 1 in absolute terms in the far left tail (where e^x is below an ulp).
    np.testing.assert_allclose(g, np.exp(x64), **_tols(dtype, scale=1.0, ulps=4))
    assert np.all(g >= 0)
    assert y[7] == x[7]  # expm1(1e-30) is 1e-30, where exp(x) - 1 would give 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_expm1_overflow_is_inf_not_nan(dtype: type) -> None:
    """e^1e4 is not representable: value and gradient are +inf (honest overflow), never NaN."""
    with np.errstate(over="ignore"):
        y, g = _grad(cr.expm1, np.array([1e4], dtype=dtype))
    assert y[0] == np.inf and g[0] == np.inf


# ---------------------------------------------------------------- norm and sqrt at zero
@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_at_zero_has_zero_gradient_and_is_accurate_elsewhere(dtype: type) -> None:
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [1e4, -1e4, 1e4], [1e-8, 0.0, -1e-8]], dtype=dtype)
    y, g = _grad(lambda t: cr.norm(t, axis=1), x)
    _assert_finite(y, g)
    x64 = x.astype(_WIDE)
    ref = np.sqrt(np.sum(x64 * x64, axis=1))
    np.testing.assert_allclose(y, ref.astype(np.float64), **_tols(dtype, scale=0.0))
    safe = np.where(ref == 0, 1, ref)[:, None]
    np.testing.assert_allclose(g, (x64 / safe).astype(np.float64), **_tols(dtype))
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])
    # The whole-tensor norm of zeros, and its forward-mode derivative, are 0 too.
    z = np.zeros((2, 2), dtype=dtype)
    zy, zg = _grad(cr.norm, z)
    assert zy == 0 and np.all(zg == 0)
    _, tangent = cr.jvp(cr.norm, (cr.tensor(z),), (cr.tensor(np.ones((2, 2), dtype=dtype)),))
    assert tangent.item() == 0


def test_norm_of_zeros_where_the_composite_formula_gives_nan() -> None:
    """sqrt(sum(x*x)) differentiates to 0/0 at the zero vector; norm's own rule gives 0."""
    x = cr.tensor([0.0, 0.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cr.sqrt(cr.sum(x * x)).backward()
    assert np.all(np.isnan(x.grad.numpy()))
    x.grad = None
    cr.norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sqrt_at_zero_is_zero_with_infinite_slope(dtype: type) -> None:
    x = np.array([0.0, 1e-30, 1e-4, 1.0, 1e4], dtype=dtype)
    with np.errstate(divide="ignore"):
        y, g = _grad(cr.sqrt, x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(y, np.sqrt(x64), **_tols(dtype, scale=0.0, ulps=2))
    assert y[0] == 0 and g[0] == np.inf  # the convention: +inf, not NaN
    np.testing.assert_allclose(g[1:], 0.5 / np.sqrt(x64[1:]), **_tols(dtype, scale=0.0, ulps=4))
    with np.errstate(divide="ignore"):
        _, tangent = cr.jvp(cr.sqrt, (cr.tensor(x[:1]),), (cr.tensor(np.ones(1, dtype=dtype)),))
    assert tangent.numpy()[0] == np.inf


# ---------------------------------------------------------------- second order at 1e4
@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivatives_of_sigmoid_and_softplus_at_1e4(dtype: type) -> None:
    x = np.array([-1e4, -40.0, -3.0, 0.0, 0.5, 40.0, 1e4], dtype=dtype)
    s = _ref_sigmoid(x)
    sp = _ref_sigmoid_prime(x)
    h_softplus = cr.hessian(lambda t: cr.sum(cr.softplus(t)))(cr.tensor(x)).numpy()
    h_sigmoid = cr.hessian(lambda t: cr.sum(cr.sigmoid(t)))(cr.tensor(x)).numpy()
    _assert_finite(h_softplus, h_sigmoid)
    assert h_softplus.dtype == dtype and h_sigmoid.dtype == dtype
    np.testing.assert_allclose(h_softplus, np.diag(sp), **_tols(dtype))
    np.testing.assert_allclose(h_sigmoid, np.diag(sp * (1 - 2 * s)), **_tols(dtype))


_PEAKED = np.array([1e4, -1e4, 9999.0, 1e4 - 0.5])


@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivatives_of_logsumexp_at_1e4(dtype: type) -> None:
    x = _PEAKED.astype(dtype)
    h = cr.hessian(lambda t: cr.logsumexp(t))(cr.tensor(x)).numpy()
    _assert_finite(h)
    np.testing.assert_allclose(h, _softmax_hessian(_ref_softmax(x)), **_tols(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivatives_of_log_softmax_at_1e4(dtype: type) -> None:
    x = _PEAKED.astype(dtype)
    w = np.array([0.5, -1.0, 2.0, 0.25], dtype=dtype)
    h = cr.hessian(lambda t: cr.sum(cr.log_softmax(t) * cr.tensor(w)))(cr.tensor(x)).numpy()
    _assert_finite(h)
    # Hessian of w · log_softmax(x) = -sum(w) (diag(p) - p pᵀ).
    np.testing.assert_allclose(h, -float(w.sum()) * _softmax_hessian(_ref_softmax(x)), **_tols(dtype, scale=2.0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_second_derivatives_of_cross_entropy_and_bce_at_1e4(dtype: type) -> None:
    logits = np.array([[1e4, -1e4, 9999.5], [-1e4, -1e4, -9999.0]], dtype=dtype)
    target = np.array([1, 0])
    h_ce = cr.hessian(lambda t: cr.cross_entropy(t, cr.tensor(target)))(cr.tensor(logits)).numpy()
    _assert_finite(h_ce)
    expected = np.zeros((2, 3, 2, 3))
    for i in range(2):  # mean over 2 samples, each row independent
        expected[i, :, i, :] = _softmax_hessian(_ref_softmax(logits[i])) / 2
    np.testing.assert_allclose(h_ce, expected, **_tols(dtype))

    z = np.array([1e4, -1e4, 30.0, -30.0, 0.0], dtype=dtype)
    y = np.array([1.0, 1.0, 0.0, 0.5, 0.3], dtype=dtype)
    h_bce = cr.hessian(lambda t: cr.binary_cross_entropy_with_logits(t, cr.tensor(y)))(cr.tensor(z)).numpy()
    _assert_finite(h_bce)
    np.testing.assert_allclose(h_bce, np.diag(_ref_sigmoid_prime(z)) / 5, **_tols(dtype))


# ---------------------------------------------------------------- forward mode at 1e4
def _jvp(f, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, t = cr.jvp(f, (cr.tensor(x),), (cr.tensor(v),))
    assert y.dtype == x.dtype and t.dtype == x.dtype
    return y.numpy(), t.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_mode_at_1e4(dtype: type) -> None:
    x = _wide_inputs(dtype)
    v = RNG.uniform(-1, 1, x.shape).astype(dtype)
    v64 = v.astype(np.float64)
    _, t = _jvp(cr.sigmoid, x, v)
    np.testing.assert_allclose(t, _ref_sigmoid_prime(x) * v64, **_tols(dtype))
    _, t = _jvp(cr.softplus, x, v)
    np.testing.assert_allclose(t, _ref_sigmoid(x) * v64, **_tols(dtype))

    m = _spread_matrix(dtype)
    vm = RNG.uniform(-1, 1, m.shape).astype(dtype)
    vm64 = vm.astype(np.float64)
    p = _ref_softmax(m)
    y, t = _jvp(cr.softmax, m, vm)
    _assert_finite(y, t)
    np.testing.assert_allclose(t, p * (vm64 - np.sum(p * vm64, axis=-1, keepdims=True)), **_tols(dtype, ulps=16))
    _, t = _jvp(cr.log_softmax, m, vm)
    np.testing.assert_allclose(t, vm64 - np.sum(p * vm64, axis=-1, keepdims=True), **_tols(dtype, scale=2.0, ulps=16))
    target = np.array([0, 1, 2, 3, 0, 1])
    _, t = _jvp(lambda a: cr.cross_entropy(a, cr.tensor(target)), m, vm)
    d = p - np.eye(4)[target]
    np.testing.assert_allclose(t, np.mean(np.sum(d * vm64, axis=-1)), **_tols(dtype, ulps=32))
    labels = (RNG.uniform(size=x.shape) > 0.5).astype(dtype)
    _, t = _jvp(lambda a: cr.binary_cross_entropy_with_logits(a, cr.tensor(labels), reduction="sum"), x, v)
    np.testing.assert_allclose(t, np.sum((_ref_sigmoid(x) - labels) * v64), **_tols(dtype, ulps=64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_mode_of_logsumexp_at_1e4(dtype: type) -> None:
    x = _wide_inputs(dtype)
    v = RNG.uniform(-1, 1, x.shape).astype(dtype)
    _, t = _jvp(cr.logsumexp, x, v)
    np.testing.assert_allclose(t, np.sum(_ref_softmax(x, axis=None) * v.astype(np.float64)), **_tols(dtype, ulps=32))


# ---------------------------------------------------------------- conventions (docs/conventions.md)
def _both_modes(f, x: list[float], **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of sum(f(x)) by backward, and the same gradient entry by entry by forward
    mode (the JVP of sum(f) along the i-th unit vector is the i-th gradient entry)."""
    xs = np.array(x, dtype=np.float64)
    t = cr.tensor(xs, requires_grad=True)
    cr.sum(f(t, **kwargs)).backward()
    entries = []
    for i in range(xs.size):
        e = np.zeros_like(xs)
        e.flat[i] = 1.0
        _, tangent = cr.jvp(lambda a: cr.sum(f(a, **kwargs)), (cr.tensor(xs),), (cr.tensor(e),))
        entries.append(tangent.item())
    return t.grad.numpy(), np.array(entries).reshape(xs.shape)


def test_convention_abs_at_zero_is_zero() -> None:
    g, d = _both_modes(cr.abs, [0.0, -2.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(d, g)
    g, d = _both_modes(cr.sign, [0.0, -2.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(d, g)


def test_convention_sqrt_at_zero_is_plus_infinity() -> None:
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"):
        cr.sum(cr.sqrt(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, 0.25])
    with np.errstate(divide="ignore"):
        _, t = cr.jvp(cr.sqrt, (cr.tensor(0.0),), (cr.tensor(1.0),))
    assert t.item() == np.inf
    # inf times a zero cotangent is NaN (IEEE 0 * inf), in both modes, as in PyTorch.
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cr.sum(cr.sqrt(x) * cr.tensor([0.0, 1.0])).backward()
        _, t = cr.jvp(cr.sqrt, (cr.tensor([0.0, 4.0]),), (cr.tensor([0.0, 1.0]),))
    assert np.isnan(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.25
    assert np.isnan(t.numpy()[0]) and t.numpy()[1] == 0.25


def test_convention_relu_at_zero_is_zero_and_leaky_relu_takes_the_slope() -> None:
    g, d = _both_modes(cr.relu, [0.0, -1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(d, g)
    g, d = _both_modes(cr.leaky_relu, [0.0, -1.0, 2.0], negative_slope=0.1)
    np.testing.assert_allclose(g, [0.1, 0.1, 1.0])
    np.testing.assert_allclose(d, g)


def test_convention_elu_at_zero_takes_alpha_and_stays_finite_far_out() -> None:
    # elu'(x) = 1 for x > 0 and alpha * e^x for x <= 0 (alpha at 0, PyTorch's convention).
    g, d = _both_modes(cr.elu, [0.0, -1.0, 2.0], alpha=0.5)
    np.testing.assert_allclose(g, [0.5, 0.5 * np.exp(-1.0), 1.0])
    np.testing.assert_allclose(d, g)
    # float32 far out on both sides: the unused exponential branch must not turn into 0 * inf.
    x = cr.tensor(np.array([1000.0, -1000.0, 88.0], dtype=np.float32), requires_grad=True)
    cr.sum(cr.elu(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(cr.elu(x).detach().numpy(), [1000.0, -1.0, 88.0])


def test_convention_max_and_min_reductions_share_ties_evenly() -> None:
    g, _ = _both_modes(cr.max, [1.0, 3.0, 3.0, 3.0])
    np.testing.assert_allclose(g, [0.0, 1 / 3, 1 / 3, 1 / 3])
    g, _ = _both_modes(cr.min, [1.0, 1.0, 3.0])
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
    x = cr.tensor([[2.0, 2.0, 0.0], [5.0, 1.0, 5.0]], requires_grad=True)
    cr.sum(cr.max(x, axis=1)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]])
    # Forward mode: the tangent of a tied maximum is the mean of the tied entries' tangents.
    _, t = cr.jvp(cr.max, (cr.tensor([3.0, 3.0, 1.0]),), (cr.tensor([1.0, 2.0, 5.0]),))
    assert t.item() == 1.5


def test_convention_maximum_and_minimum_split_ties_in_half() -> None:
    for op, winner in ((cr.maximum, [1.0, 0.0]), (cr.minimum, [0.0, 1.0])):
        a = cr.tensor([1.0, 2.0, 0.0], requires_grad=True)
        b = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
        cr.sum(op(a, b)).backward()
        np.testing.assert_allclose(a.grad.numpy(), [0.5, winner[0], winner[1]])
        np.testing.assert_allclose(b.grad.numpy(), [0.5, winner[1], winner[0]])
        _, t = cr.jvp(op, (cr.tensor(1.0), cr.tensor(1.0)), (cr.tensor(2.0), cr.tensor(4.0)))
        assert t.item() == 3.0


def test_convention_clip_passes_the_gradient_at_its_bounds() -> None:
    g, d = _both_modes(cr.clip, [-1.0, 1.0, -2.0, 2.0, 0.5], min=-1.0, max=1.0)
    np.testing.assert_array_equal(g, [1.0, 1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(d, g)


def test_convention_norm_at_the_zero_vector_is_zero() -> None:
    g, d = _both_modes(cr.norm, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(d, g)


def test_convention_max_pool_gives_a_tied_window_to_its_first_maximum() -> None:
    x = cr.tensor(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), requires_grad=True)
    cr.sum(cr.max_pool2d(x, 2)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[[1.0, 0.0], [0.0, 0.0]]]])


def test_convention_power_at_zero() -> None:
    # d/dx x**0 = 0 (also at x = 0), and d/dy x**y = x**y log x is taken as 0 at x = 0.
    x = cr.tensor(0.0, requires_grad=True)
    y = cr.tensor(2.0, requires_grad=True)
    cr.power(x, y).backward()
    assert (x.grad.item(), y.grad.item()) == (0.0, 0.0)
    x = cr.tensor(0.0, requires_grad=True)
    (x**0.0).backward()
    assert x.grad.item() == 0.0


def test_convention_std_of_equal_entries_has_nan_gradient() -> None:
    x = cr.tensor([2.0, 2.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cr.std(x).backward()
    assert np.all(np.isnan(x.grad.numpy()))
