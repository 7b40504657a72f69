"""Edge cases of NumPy's further functions (issue 17); values and gradients at ordinary points
are checked by the op table (tests/op_entries/numpy_more.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr


# ---------------------------------------------------------------- elementwise
def test_sinc_derivatives_at_zero_are_exact() -> None:
    # sinc(x) = 1 - (pi x)^2/6 + (pi x)^4/120 - ...: f'(0) = 0, f''(0) = -pi^2/3, f''''(0) = pi^4/5.
    d1 = cr.grad(cr.sinc)
    d2 = cr.grad(d1)
    d3 = cr.grad(d2)
    d4 = cr.grad(d3)
    x = cr.tensor(0.0)
    assert float(d1(x)) == 0.0
    assert float(d2(x)) == pytest.approx(-math.pi**2 / 3, rel=1e-12)
    assert float(d3(x)) == 0.0
    assert float(d4(x)) == pytest.approx(math.pi**4 / 5, rel=1e-12)
    # ... and continuous across the switch from series to closed form (|pi x| = 2).
    for k, d in enumerate((d1, d2, d3), start=1):
        lo, hi = float(d(cr.tensor(2 / math.pi - 1e-9))), float(d(cr.tensor(2 / math.pi + 1e-9)))
        assert lo == pytest.approx(hi, rel=1e-6, abs=1e-8), k


def test_fmax_fmin_send_the_gradient_to_the_number_not_the_nan() -> None:
    x = cr.tensor([np.nan, 1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([5.0, np.nan, 2.0, 1.0], requires_grad=True)
    cr.sum(cr.fmax(x, y)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.5, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0, 0.5, 0.0])
    x.grad = y.grad = None
    cr.sum(cr.fmin(x, y)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.5, 0.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 0.0, 0.5, 1.0])


def test_nan_to_num_gradient_is_zero_at_replaced_entries_even_for_an_inf_seed() -> None:
    x = cr.tensor([np.nan, np.inf, -np.inf, 2.0], requires_grad=True)
    y = cr.nan_to_num(x)
    np.testing.assert_array_equal(y.numpy(), np.nan_to_num(x.numpy()))
    with np.errstate(over="ignore"):
        cr.sum(y * y).backward()  # the seed 2y is inf at the replaced infinities
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 4.0])


def test_nan_to_num_refuses_a_tensor_replacement() -> None:
    with pytest.raises(TypeError, match="nan_to_num: nan must be a number.*where"):
        cr.nan_to_num(cr.tensor([1.0]), nan=cr.tensor(2.0))


def test_hypot_gradient_at_the_origin_is_zero_and_elsewhere_the_unit_vector() -> None:
    x = cr.tensor([0.0, 3.0], requires_grad=True)
    y = cr.tensor([0.0, 4.0], requires_grad=True)
    cr.sum(cr.hypot(x, y)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.6])
    np.testing.assert_allclose(y.grad.numpy(), [0.0, 0.8])


def test_logaddexp_gradients_stay_finite_for_large_inputs() -> None:
    x = cr.tensor([1000.0, -1000.0], requires_grad=True)
    cr.sum(cr.logaddexp(x, cr.tensor([1000.0, 0.0]))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.0])
    x.grad = None
    cr.sum(cr.logaddexp2(x, cr.tensor([1000.0, 0.0]))).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 2.0**-1000], rtol=1e-12)


def test_fabs_and_angle_conversions_make_floats_of_integers() -> None:
    assert cr.fabs(cr.tensor([-2, 3])).dtype == np.float64
    np.testing.assert_array_equal(cr.fabs(cr.tensor([-2, 3])).numpy(), np.fabs([-2, 3]))
    assert cr.deg2rad(cr.tensor([180])).dtype == np.float64
    assert cr.rad2deg(cr.tensor(np.float32(1.0))).dtype == np.float32
