"""JAX-style transforms: grad, value_and_grad, vjp, jacrev/jacobian, jacfwd, hessian, hvp."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.transforms import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    tree_flatten,
    value_and_grad,
    vjp,
)


def _sin_exp(x):
    return cr.sin(x) * cr.exp(x)


def _sin_exp_derivatives(v: float) -> list[float]:
    # (e^x sin x)^(k) = 2^(k/2) e^x sin(x + k pi/4)
    return [2 ** (k / 2) * np.exp(v) * np.sin(v + k * np.pi / 4) for k in range(9)]


# ---------------------------------------------------------------- grad
def test_grad_accepts_numbers_arrays_and_tensors() -> None:
    f = lambda x: cr.sum(x**3)  # noqa: E731
    assert float(grad(f)(2.0)) == 12.0
    np.testing.assert_array_equal(grad(f)(np.array([1.0, 2.0])).numpy(), [3.0, 12.0])
    g = grad(f)(cr.tensor([1.0, -1.0]))
    assert type(g) is cr.Tensor and g.dtype == np.float64 and not g.requires_grad
    g32 = grad(f)(cr.tensor([1.0], dtype="float32"))
    assert g32.dtype == np.float32
    assert float(grad(lambda x: x * 0 + 3.0)(1.0)) == 0.0
    assert float(grad(lambda x: 5.0)(1.0)) == 0.0


def test_grad_argnums_has_aux_and_value_and_grad() -> None:
    f = lambda a, b, c: a * b**2 + c  # noqa: E731
    assert float(grad(f, argnums=1)(2.0, 3.0, 1.0)) == 12.0
    ga, gc = grad(f, argnums=(0, 2))(2.0, 3.0, 1.0)
    assert (float(ga), float(gc)) == (9.0, 1.0)
    assert float(grad(f, argnums=-1)(2.0, 3.0, 1.0)) == 1.0
    g, aux = grad(lambda x: (x**2, {"seen": 1}), has_aux=True)(3.0)
    assert float(g) == 6.0 and aux == {"seen": 1}
    value, g = value_and_grad(lambda x: x**2)(3.0)
    assert (float(value), float(g)) == (9.0, 6.0)
    assert not value.requires_grad
    (value, aux), g = value_and_grad(lambda x: (x**2, "a"), has_aux=True)(3.0)
    assert (float(value), aux, float(g)) == (9.0, "a", 6.0)
    assert float(grad(lambda x, scale: x * scale)(2.0, scale=5.0)) == 5.0


def test_grad_of_containers_keeps_their_structure() -> None:
    params = {"w": cr.tensor([1.0, 2.0]), "layers": [cr.tensor(3.0), (cr.tensor(4.0),)]}

    def loss(p):
        return cr.sum(p["w"] ** 2) + p["layers"][0] * p["layers"][1][0]

    g = grad(loss)(params)
    assert set(g) == {"w", "layers"}
    assert isinstance(g["layers"], list) and isinstance(g["layers"][1], tuple)
    np.testing.assert_array_equal(g["w"].numpy(), [2.0, 4.0])
    assert (float(g["layers"][0]), float(g["layers"][1][0])) == (4.0, 3.0)


def test_grad_errors_are_clear() -> None:
    with pytest.raises(TypeError, match=r"scalar.*shape \(2,\)"):
        grad(lambda x: x * 2)(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="argnums must be an int"):
        grad(lambda x: x, argnums="0")(1.0)
    with pytest.raises(ValueError, match="argument 3"):
        grad(lambda x, y: x * y, argnums=3)(1.0, 2.0)
    with pytest.raises(ValueError, match="repeats"):
        grad(lambda x, y: x * y, argnums=(0, 0))(1.0, 2.0)
    with pytest.raises(TypeError, match="floating point"):
        grad(lambda x: cr.sum(x))(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match="pair"):
        grad(lambda x: x, has_aux=True)(1.0)


# ---------------------------------------------------------------- higher order
def test_nested_grad_and_third_derivatives_three_ways() -> None:
    v = 0.6
    ref = _sin_exp_derivatives(v)
    d3 = grad(grad(grad(_sin_exp)))(v)
    assert np.isclose(float(d3), ref[3])
    # jacfwd(jacrev(.)) of the derivative: the third derivative as a Jacobian.
    d3_jac = jacfwd(jacrev(grad(_sin_exp)))(cr.tensor(v))
    assert np.isclose(float(d3_jac), ref[3])
    x = Variable(v)
    with GradientTape() as t3:
        with GradientTape() as t2:
            with GradientTape() as t1:
                y = _sin_exp(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    assert np.isclose(float(t3.gradient(d2, x)), ref[3])


def test_eighth_derivative_by_nested_grad() -> None:
    f = _sin_exp
    for _ in range(8):
        f = grad(f)
    assert np.isclose(float(f(0.3)), _sin_exp_derivatives(0.3)[8])


def test_grad_inside_a_tape_is_recorded() -> None:
    x = Variable(1.3)
    with GradientTape() as tape:
        g = grad(lambda t: t**3)(x)
    assert np.isclose(float(g), 3 * 1.3**2)
    assert np.isclose(float(tape.gradient(g, x)), 6 * 1.3)


# ---------------------------------------------------------------- vjp
def test_vjp_can_be_called_many_times() -> None:
    y, back = vjp(lambda a, b: a * b, cr.tensor([1.0, 2.0]), cr.tensor(3.0))
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])
    ga, gb = back(cr.tensor([1.0, 1.0]))
    np.testing.assert_array_equal(ga.numpy(), [3.0, 3.0])
    assert float(gb) == 3.0
    ga, gb = back(np.array([2.0, 0.0]))
    np.testing.assert_array_equal(ga.numpy(), [6.0, 0.0])
    assert float(gb) == 2.0
    with pytest.raises(ValueError, match="shape"):
        back(cr.tensor([1.0]))
    with pytest.raises(ValueError, match="structure"):
        back([cr.tensor([1.0, 1.0])])
    out, back, aux = vjp(lambda x: (x * 2, 7), cr.tensor(1.0), has_aux=True)
    assert aux == 7 and float(back(cr.tensor(1.0))[0]) == 2.0


# ---------------------------------------------------------------- jacobians
def test_jacrev_shapes_structures_and_alias() -> None:
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3))
    f = lambda x: cr.tanh(x).sum(axis=0)  # noqa: E731
    j = jacrev(f)(x)
    assert j.shape == (3, 2, 3)
    np.testing.assert_allclose(j.numpy(), jacfwd(f)(x).numpy())
    np.testing.assert_allclose(j.numpy(), jacobian(f)(x).numpy())
    assert jacobian is jacrev
    out = jacrev(lambda a, b: (a * b, cr.sum(a)), argnums=(0, 1))(cr.tensor([1.0, 2.0]), cr.tensor(3.0))
    assert isinstance(out, tuple) and isinstance(out[0], tuple)
    (dab_da, dab_db), (ds_da, ds_db) = out
    assert dab_da.shape == (2, 2) and dab_db.shape == (2,) and ds_da.shape == (2,) and ds_db.shape == ()
    np.testing.assert_array_equal(dab_db.numpy(), [1.0, 2.0])
    assert float(ds_db) == 0.0
    jd = jacrev(lambda d: d["a"] * 2)({"a": cr.tensor([1.0, 2.0])})
    assert set(jd) == {"a"} and jd["a"].shape == (2, 2)


def test_jacobian_of_the_benchmark_function() -> None:
    rng = np.random.default_rng(0)
    n = 8
    w = cr.tensor(rng.standard_normal((n, n)) / np.sqrt(n))
    x = cr.tensor(rng.standard_normal(n))
    f = lambda x: cr.tanh(w @ x) + cr.sin(x)  # noqa: E731
    expected = (1 - np.tanh(w.numpy() @ x.numpy()) ** 2)[:, None] * w.numpy() + np.diag(np.cos(x.numpy()))
    np.testing.assert_allclose(jacrev(f)(x).numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(jacfwd(f)(x).numpy(), expected, rtol=1e-12)


def _hessian_function(a: np.ndarray):
    at = cr.tensor(a)
    return lambda x: cr.sum(cr.sin(x) * x**2) + x @ (at @ x)


def _hessian_closed_form(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    d = 2 * np.sin(x) + 4 * x * np.cos(x) - x**2 * np.sin(x)
    return np.diag(d) + a + a.T


def test_hessian_and_hvp() -> None:
    rng = np.random.default_rng(1)
    n = 6
    a = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    f = _hessian_function(a)
    h = hessian(f)(cr.tensor(x))
    np.testing.assert_allclose(h.numpy(), _hessian_closed_form(a, x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(jacfwd(jacrev(f))(cr.tensor(x)).numpy(), h.numpy(), rtol=1e-12)
    np.testing.assert_allclose(jacrev(jacfwd(f))(cr.tensor(x)).numpy(), h.numpy(), rtol=1e-12)
    for _ in range(3):
        v = rng.standard_normal(n)
        np.testing.assert_allclose(hvp(f, (cr.tensor(x),), (cr.tensor(v),)).numpy(), h.numpy() @ v, rtol=1e-12)
    np.testing.assert_allclose(hvp(f, cr.tensor(x), cr.tensor(v)).numpy(), h.numpy() @ v, rtol=1e-12)


def test_hessian_and_hvp_of_several_arguments() -> None:
    f = lambda a, b: a**2 * b + b**3  # noqa: E731
    h = hessian(f, argnums=(0, 1))(cr.tensor(2.0), cr.tensor(3.0))
    h2, aux = hessian(lambda a, b: (f(a, b), "aux"), argnums=(0, 1), has_aux=True)(cr.tensor(2.0), cr.tensor(3.0))
    assert aux == "aux" and float(h2[1][1]) == 18.0
    values = [[float(h[i][j]) for j in range(2)] for i in range(2)]
    assert values == [[6.0, 4.0], [4.0, 18.0]]
    ha, hb = hvp(f, (cr.tensor(2.0), cr.tensor(3.0)), (cr.tensor(1.0), cr.tensor(0.0)))
    assert (float(ha), float(hb)) == (6.0, 4.0)
    with pytest.raises(ValueError, match="one tangent per primal"):
        hvp(f, (1.0, 2.0), (1.0,))


def test_results_are_plain_tensors_outside_any_transform() -> None:
    out = jacrev(lambda x: x * x)(cr.tensor([1.0, 2.0]))
    leaves, _ = tree_flatten([out, hessian(lambda x: cr.sum(x**3))(cr.tensor([1.0]))])
    for leaf in leaves:
        assert type(leaf) is cr.Tensor and leaf.grad_fn is None
