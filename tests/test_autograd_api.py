"""HIPS autograd's transform names (top-level chainrule) and chainrule.testing.check_grads."""

from __future__ import annotations

import numpy
import pytest

import chainrule as cr
import chainrule.numpy as np
from chainrule import (
    elementwise_grad,
    grad,
    grad_and_aux,
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    jacobian,
    make_ggnvp,
    make_hvp,
    make_jvp,
    make_vjp,
    tensor_jacobian_product,
    value_and_grad,
    vector_jacobian_product,
)
from chainrule.testing import GradcheckError, check_equivalent, check_grads, combo_check

rng = numpy.random.default_rng(0)
A = rng.standard_normal((3, 4))


def f_xy(x, y):
    return np.sum(np.sin(x) * y**2)


def test_grad_takes_argnum_and_argnums():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    numpy.testing.assert_allclose(grad(f_xy, argnum=1)(x, y)._data, 2 * y * numpy.sin(x))
    numpy.testing.assert_allclose(grad(f_xy, argnums=1)(x, y)._data, 2 * y * numpy.sin(x))
    numpy.testing.assert_allclose(grad(f_xy, 1)(x, y)._data, 2 * y * numpy.sin(x))
    gy, gx = grad(f_xy, argnum=[1, 0])(x, y)
    numpy.testing.assert_allclose(gx._data, numpy.cos(x) * y**2)
    with pytest.raises(TypeError, match="not both"):
        grad(f_xy, argnums=1, argnum=0)


def test_grad_accepts_any_one_element_output_but_not_more():
    g = grad(lambda x: np.reshape(x**3, (1, 1)))(2.0)
    assert float(g) == 12.0
    with pytest.raises(TypeError, match="must return a scalar"):
        grad(lambda x: x * 2)(numpy.ones(2))


def test_a_non_differentiable_output_raises_type_error():
    with pytest.raises(TypeError, match="floating-point"):
        grad(lambda x: x > 0)(1.0)
    with pytest.raises(TypeError, match="dtype bool"):
        make_vjp(lambda x: x > 0)(numpy.ones(2))
    with pytest.raises(TypeError, match="dtype bool"):
        elementwise_grad(lambda x: x > 0)(numpy.ones(2))
    with pytest.raises(TypeError, match="dtype bool"):
        make_jvp(lambda x: x > 0)(numpy.ones(2))(numpy.ones(2))


def test_value_and_grad_keeps_the_output_shape_with_argnum():
    value, g = value_and_grad(lambda x, y: np.reshape(np.sum(x * y), (1,)), argnum=0)(numpy.ones(2), numpy.arange(2.0))
    assert value.shape == (1,) and float(value[0]) == 1.0
    numpy.testing.assert_allclose(g._data, [0.0, 1.0])


def test_value_and_grads_value_keeps_its_tangent_under_forward_mode():
    # Before the fix the value was detached under an outer jvp: its tangent read 0.
    f = lambda x: np.sin(x) ** 2  # noqa: E731
    tangent = cr.jvp(lambda x: value_and_grad(f)(x)[0], (0.5,), (1.0,))[1]
    assert float(tangent) == pytest.approx(numpy.sin(1.0))
    tangent = cr.jvp(lambda x: cr.vjp(f, x)[0], (0.5,), (1.0,))[1]
    assert float(tangent) == pytest.approx(numpy.sin(1.0))


def test_jacobian_and_hessian_take_argnum():
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    jac = jacobian(lambda a, b: a * b**2, argnum=1)(x, y)
    numpy.testing.assert_allclose(jac._data, numpy.diag(2 * x * y))
    hes = hessian(lambda a, b: np.sum(a * b**3), argnum=1)(x, y)
    numpy.testing.assert_allclose(hes._data, numpy.diag(6 * x * y))


def test_elementwise_grad_is_the_vjp_with_ones():
    x = rng.standard_normal(4)
    numpy.testing.assert_allclose(elementwise_grad(np.tanh)(x)._data, 1 - numpy.tanh(x) ** 2)
    # Not elementwise: the column sums of the Jacobian A.
    numpy.testing.assert_allclose(elementwise_grad(lambda v: np.dot(A, v))(rng.standard_normal(4))._data, A.sum(0))


def test_make_vjp_returns_function_first_and_pulls_back():
    back, y = make_vjp(lambda v: np.dot(A, v))(rng.standard_normal(4))
    assert y.shape == (3,)
    w = rng.standard_normal(3)
    numpy.testing.assert_allclose(back(w)._data, A.T @ w)
    back2, _ = make_vjp(f_xy, argnum=(0, 1))(numpy.ones(2), numpy.ones(2))
    gx, gy = back2(1.0)
    numpy.testing.assert_allclose(gy._data, 2 * numpy.sin(1.0) * numpy.ones(2))


def test_make_jvp_pushes_forward():
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    value, t = make_jvp(lambda u: np.tanh(np.dot(A, u)))(x)(v)
    numpy.testing.assert_allclose(t._data, (1 - numpy.tanh(A @ x) ** 2) * (A @ v))
    numpy.testing.assert_allclose(value._data, numpy.tanh(A @ x))


def test_make_hvp_and_hessian_tensor_product():
    fun = lambda a: np.sum(np.sin(a))  # noqa: E731  Hessian: diag(-sin a)
    a, v = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    hvp, g = make_hvp(fun)(a)
    numpy.testing.assert_allclose(g._data, numpy.cos(a))
    numpy.testing.assert_allclose(hvp(v)._data, -numpy.sin(a) * v)
    numpy.testing.assert_allclose(hessian_tensor_product(fun)(a, v)._data, -numpy.sin(a) * v)
    assert hessian_vector_product is hessian_tensor_product


def test_tensor_jacobian_product_contracts_the_leading_axes():
    fun = lambda a: np.roll(np.sin(a), 1)  # noqa: E731
    a, v = rng.standard_normal((5, 4, 3)), rng.standard_normal((5, 4))
    jac = numpy.asarray(jacobian(fun)(a)._data)
    expected = numpy.tensordot(v, jac, axes=2)
    numpy.testing.assert_allclose(tensor_jacobian_product(fun)(a, v)._data, expected)
    assert vector_jacobian_product is tensor_jacobian_product
    with pytest.raises(ValueError, match="leading axes"):
        tensor_jacobian_product(fun)(a, numpy.ones(3))


def test_grad_and_aux():
    g, aux = grad_and_aux(lambda x: (np.sum(x**2), "aux"))(numpy.array([1.0, 2.0]))
    numpy.testing.assert_allclose(g._data, [2.0, 4.0])
    assert aux == "aux"


def test_make_ggnvp_matches_the_explicit_product():
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    fun = lambda u: np.tanh(np.dot(A, u))  # noqa: E731
    jac = (1 - numpy.tanh(A @ x) ** 2)[:, None] * A
    numpy.testing.assert_allclose(make_ggnvp(fun)(x)(v)._data, jac.T @ (jac @ v))
    g = lambda y: np.sum(2.0 * y**2 + y**4)  # noqa: E731  Hessian: diag(4 + 12 y^2)
    h = numpy.diag(4 + 12 * numpy.tanh(A @ x) ** 2)
    numpy.testing.assert_allclose(make_ggnvp(fun, g)(x)(v)._data, jac.T @ (h @ (jac @ v)))


def test_bad_argnum_is_a_clear_error():
    with pytest.raises(ValueError, match="argnum 3"):
        make_vjp(f_xy, 3)(1.0, 2.0)
    with pytest.raises(TypeError, match="callable"):
        make_jvp(None)(1.0)


# ------------------------------------------------------------------ check_grads
def test_check_grads_passes_right_rules_at_order_two_in_both_modes():
    numpy.random.seed(1)
    check_grads(lambda x: np.sum(np.sin(x) * np.exp(x)), modes=("fwd", "rev"), order=2)(rng.standard_normal(3))
    check_grads(f_xy, argnum=(0, 1), order=2)(rng.standard_normal(2), rng.standard_normal(2))
    check_grads(lambda t: t[0] * np.sin(t[1]))((0.3, rng.standard_normal(2)))


def _wrong_rule():
    @cr.custom_vjp
    def f(x):
        return np.sin(x)

    f.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * np.cos(x) * 1.001,))
    return f


def test_check_grads_catches_a_wrong_reverse_rule():
    numpy.random.seed(2)
    with pytest.raises(GradcheckError, match="VJP"):
        check_grads(_wrong_rule(), modes=["rev"], order=1)(rng.standard_normal(3))


def test_check_grads_catches_a_wrong_second_order():
    @cr.custom_vjp
    def f(x):
        return np.sin(x)

    # right first derivative, but written so its own derivative is wrong (cos(x) frozen)
    f.defvjp(lambda x: (np.sin(x), numpy.cos(x._data)), lambda c, g: (g * c,))
    x = rng.standard_normal(3)
    numpy.random.seed(3)
    check_grads(f, modes=["rev"], order=1)(x)
    with pytest.raises(GradcheckError):
        check_grads(f, modes=["rev"], order=2)(x)


def test_check_grads_rejects_unknown_modes_and_checks_complex():
    with pytest.raises(ValueError, match="modes"):
        check_grads(np.sin, modes=["sideways"])
    check_grads(np.sin)(numpy.array([1.0 + 1.0j]))  # complex values: tests/test_complex.py


def test_check_equivalent_and_combo_check():
    check_equivalent(cr.tensor([1.0, 2.0]), numpy.array([1.0, 2.0]))
    with pytest.raises(GradcheckError, match="mismatch"):
        check_equivalent(numpy.array([1.0, 2.0]), numpy.array([1.0, 2.1]))
    with pytest.raises(GradcheckError, match="shape"):
        check_equivalent(numpy.ones(2), numpy.ones(3))
    seen = []

    def fun(x, axis=None):
        seen.append(axis)
        return np.sum(x, axis=axis)

    combo_check(fun, (0,), order=1, modes=["rev"])([numpy.ones((2, 3))], axis=[None, 0, 1])
    assert {None, 0, 1} <= set(seen)
