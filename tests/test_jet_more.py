"""Taylor mode beyond the op table: every differentiable primitive has a rule, the rules the table
cannot reach (a primitive only reverse mode calls, complex-family ops on real inputs), products
with zeros against exact polynomial products, matrix ops at higher orders, points where the op is
not differentiable (non-finite, never a finite guess), and ``chainrule grad --order`` on them."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.core.primitive import registry
from chainrule.ops.unary import sinc_derivative_p
from tests import test_jet as table
from tests.test_jet import _nested


def _jet_along(f, x, u, order):
    """``[f, f', ..., f^(order)]`` of ``sum(w * f(x + t u))`` at t = 0 by jet, and by nested grad."""
    rng = np.random.default_rng(5)
    y0, terms = cr.jet(f, (x,), ([u] + [np.zeros_like(u)] * (order - 1),))
    w = rng.standard_normal(np.shape(y0))
    got = [float(np.sum(w * y0.numpy()))] + [float(np.sum(w * t.numpy())) for t in terms]
    want = _nested(lambda t: cr.sum(cr.tensor(w) * f(cr.tensor(x) + t * cr.tensor(u))), order)
    return got, want


def _close(got, want, rtol=1e-8):
    scale = max(1.0, *map(abs, want))
    for k, (g, r) in enumerate(zip(got, want)):
        assert math.isclose(g, r, rel_tol=rtol, abs_tol=rtol * 0.1 * scale), f"order {k}: jet {g!r}, nested grad {r!r}"


# ---------------------------------------------------------------- coverage
def test_every_differentiable_primitive_has_a_taylor_rule() -> None:
    missing = sorted(n for n, p in registry.items() if p.differentiable and p.jet is None)
    assert not missing, f"differentiable primitives without a Taylor rule: {missing}"


# Primitives whose rule the table's jet == nested grad comparison cannot reach, and where each is
# checked instead.
CHECKED_HERE = {
    "sinc_derivative": "only reverse mode calls it: test_sinc_derivative_primitive",
    "real": "complex inputs are refused (table); real inputs: test_complex_family_on_real_inputs",
    "imag": "as real",
    "conj": "as real",
    "angle": "as real",
    "fft_c2c": "complex intermediates are refused: the table's fft entries",
    "fft_r2c": "as fft_c2c",
    "fft_c2r": "as fft_c2c",
    "svd_full": "its derivative is refused at every order: test_svd_full_nonsquare_is_refused",
}


def test_every_rule_is_exercised() -> None:
    compared = set()
    for entry, _ in table.CASES:
        refused = set(entry.primitives) & table.COMPLEX_PRIMITIVES or entry.name.startswith("complex_")
        if not refused and entry.name not in table.IN_PLACE:
            compared |= set(entry.primitives)
    # (sinc's entry names sinc_derivative, which nested grad uses; jet of sinc does not call it)
    compared.discard("sinc_derivative")
    unchecked = sorted(n for n, p in registry.items() if p.differentiable and n not in compared | set(CHECKED_HERE))
    assert not unchecked, f"Taylor rules no test compares with nested grad: {unchecked}"


# ---------------------------------------------------------------- rules the table does not reach
@pytest.mark.parametrize("order", [1, 2, 3])
def test_sinc_derivative_primitive(order: int) -> None:
    x = np.array([0.0, 1e-9, -0.37, 0.8, 1.9])  # 0 and around it: the series branch of the impl
    u = np.array([1.0, -0.5, 0.7, 1.3, -0.2])
    got, want = _jet_along(lambda v: sinc_derivative_p(v, order=order), x, u, 8)
    _close(got, want)


def test_complex_family_on_real_inputs() -> None:
    # On real values conj and real are the identity, imag is 0 and angle is 0 or pi (constant).
    def f(x):
        return cr.real(x) * cr.exp(cr.imag(x)) + cr.conj(x) ** 3 + cr.angle(x) * x

    x = np.array([0.7, -1.2, 2.0])
    got, want = _jet_along(f, x, np.array([0.3, 1.1, -0.4]), 6)
    _close(got, want)


def test_complex_input_is_refused() -> None:
    # A complex primal or term was cast to float64, its imaginary part dropped: a wrong series.
    with pytest.raises(NotImplementedError, match=r"primal 0 is complex \(complex128, shape \(1,\)\)"):
        cr.jet(lambda z: cr.real(z * z), (np.array([1 + 2j]),), ((np.array([1.0 + 0j]),),))
    with pytest.raises(NotImplementedError, match="term 1 of argument 0 is complex"):
        cr.jet(lambda z: z * z, (np.array([1.0]),), ((np.array([1j]),),))
    with pytest.raises(NotImplementedError, match="'mul' has a complex input or output"):
        cr.jet(lambda x: cr.real(x * cr.tensor(1j)), (np.array([1.0]),), ((np.array([1.0]),),))


def test_svd_full_nonsquare_is_refused() -> None:
    x = np.random.default_rng(0).standard_normal((3, 2))
    with pytest.raises(NotImplementedError, match=r"full_matrices=True on a non-square matrix \(shape \(3, 2\)\)"):
        cr.jet(lambda a: cr.linalg.svd(a)[0], (x,), ((np.ones_like(x),),))
    # the reduced form has a series
    y0, (t1,) = cr.jet(lambda a: cr.linalg.svd(a, full_matrices=False)[1], (x,), ((np.ones_like(x),),))
    assert np.all(np.isfinite(t1.numpy()))


# ---------------------------------------------------------------- products with zeros
def _poly_derivatives(factors: np.ndarray, slopes: np.ndarray, order: int) -> list[float]:
    """Derivatives at t = 0 of prod_i (factors_i + slopes_i t), from the polynomial product."""
    p = np.array([1.0])
    for a, b in zip(factors, slopes):
        p = np.polymul(p, [b, a])  # highest power first
    coefs = p[::-1]
    return [math.factorial(k) * (coefs[k] if k < len(coefs) else 0.0) for k in range(order + 1)]


@pytest.mark.parametrize("x", [[0.5, 0.0, -2.0, 0.0, 1.5], [0.0, 0.0, 0.0], [1.2, -0.7, 0.3, 2.0, -1.1, 0.9]])
def test_prod_and_cumprod_are_polynomial_products(x: list[float]) -> None:
    x = np.array(x)
    u = np.linspace(-1.0, 1.3, x.size)
    order = x.size + 2  # past the degree: the last terms are exactly 0
    _, terms = cr.jet(cr.prod, (x,), ([u] + [np.zeros_like(u)] * (order - 1),))
    want = _poly_derivatives(x, u, order)[1:]
    np.testing.assert_allclose([float(t) for t in terms], want, rtol=1e-12, atol=1e-12)
    _, terms = cr.jet(lambda v: cr.cumprod(v, axis=0), (x,), ([u] + [np.zeros_like(u)] * (order - 1),))
    for i in range(x.size):
        want = _poly_derivatives(x[: i + 1], u[: i + 1], order)[1:]
        np.testing.assert_allclose([float(t.numpy()[i]) for t in terms], want, rtol=1e-12, atol=1e-12)


def test_prod_over_several_axes_with_keepdims() -> None:
    rng = np.random.default_rng(2)
    x, u = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))
    x[1, 1, 0] = 0.0
    _, terms = cr.jet(lambda v: cr.prod(v, axis=(0, 2), keepdims=True), (x,), ([u, np.zeros_like(u), np.zeros_like(u)],))
    assert terms[0].shape == (1, 3, 1)
    for j in range(3):
        want = _poly_derivatives(x[:, j, :].ravel(), u[:, j, :].ravel(), 3)[1:]
        np.testing.assert_allclose([float(t.numpy()[0, j, 0]) for t in terms], want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- matrix ops at higher order
def _well_conditioned(rng, n):
    return rng.standard_normal((n, n)) + n * np.eye(n)


@pytest.mark.parametrize("name", ["det", "slogdet", "cholesky", "pinv", "eigh", "eigvalsh", "svd", "eig"])
def test_matrix_ops_to_order_6(name: str) -> None:
    rng = np.random.default_rng(7)
    if name == "pinv":
        x = rng.standard_normal((4, 3))
    elif name == "eig":
        x = np.triu(rng.standard_normal((3, 3))) + np.diag([0.0, 1.5, 3.0])  # real, distinct spectrum
    else:
        x = _well_conditioned(rng, 3)
    u = rng.standard_normal(x.shape)
    f = {
        "det": cr.det,
        "slogdet": lambda a: cr.slogdet(a)[1],
        "cholesky": lambda a: cr.cholesky(a @ a.T),
        "pinv": cr.linalg.pinv,
        "eigh": lambda a: cr.linalg.eigh(a)[1],
        "eigvalsh": cr.linalg.eigvalsh,
        "svd": lambda a: cr.linalg.svd(a, full_matrices=False)[0],
        "eig": lambda a: cr.linalg.eig(a)[1],
    }[name]
    got, want = _jet_along(f, x, u, 6)
    _close(got, want, rtol=1e-7)


# ---------------------------------------------------------------- where the op is not differentiable
def test_repeated_eigenvalues_give_non_finite_terms() -> None:
    # eigenvectors at a repeated eigenvalue have no derivative: inf/nan (as nested grad), never a
    # finite number
    a = np.diag([1.0, 1.0, 2.0])
    u = np.random.default_rng(0).standard_normal((3, 3))
    with np.errstate(all="ignore"):
        _, terms = cr.jet(lambda x: cr.linalg.eigh(x)[1], (a,), ((u, np.zeros_like(u)),))
    assert not np.all(np.isfinite(terms[0].numpy()))


def test_hypot_at_the_origin_is_nan() -> None:
    with np.errstate(all="ignore"):
        _, (t1, t2) = cr.jet(lambda x: cr.hypot(x, 2 * x), (np.array([0.0, 1.0]),), ((np.ones(2), np.zeros(2)),))
    assert np.isnan(t1.numpy()[0]) and np.isnan(t2.numpy()[0])
    np.testing.assert_allclose([t1.numpy()[1], t2.numpy()[1]], [math.sqrt(5.0), 0.0], atol=1e-15)


def test_hypot_and_logaddexp_do_not_overflow() -> None:
    x = np.array([1e200, -1e3])
    _, (t1,) = cr.jet(lambda v: cr.hypot(v, v), (x,), ((np.ones(2),),))
    np.testing.assert_allclose(t1.numpy(), [math.sqrt(2.0), -math.sqrt(2.0)])
    _, (t1,) = cr.jet(lambda v: cr.logaddexp(v, 0.0), (x,), ((np.ones(2),),))
    np.testing.assert_allclose(t1.numpy(), [1.0, 0.0], atol=1e-300)


# ---------------------------------------------------------------- the command line
def test_grad_order_on_the_new_elementwise_ops(capsys: pytest.CaptureFixture[str]) -> None:
    expr = "arcsinh(x) * exp2(x) + hypot(x, 2) + logaddexp(x, 1) + sinc(x) - atanh(x / 2) + fmax(x, 0.2)"
    assert main(["grad", expr, "x=0.5", "--order", "8", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["derivatives"]

    def f(x):
        return (cr.arcsinh(x) * cr.exp2(x) + cr.hypot(x, 2.0) + cr.logaddexp(x, 1.0) + cr.sinc(x)
                - cr.arctanh(x / 2) + cr.fmax(x, 0.2))  # fmt: skip

    want = _nested(lambda t: f(0.5 + t), 8)[1:]
    assert len(got) == 8
    _close(got, want, rtol=1e-9)
    assert all(abs(a - b) > 1e-6 for a, b in pairwise(got))  # (not one value repeated)
