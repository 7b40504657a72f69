"""Forward mode: ForwardAccumulator (TensorFlow's), jvp and jacfwd (JAX's), and how they nest
with tapes and reverse-mode transforms."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import (
    ForwardAccumulator,
    GradientTape,
    UnconnectedGradients,
    Variable,
    constant,
)
from chainrule.transforms import grad, hessian, jacfwd, jacrev, jvp


def _f(x):
    return cr.sum(cr.sin(x) * x**2) + cr.sum(x * x[::-1])


def test_accumulator_directional_derivative() -> None:
    x = Variable([0.3, -1.2, 2.0])
    v = constant([1.0, 0.5, -2.0])
    with ForwardAccumulator(x, v) as acc:
        y = cr.exp(x) * cr.sin(x)
        s = cr.sum(y)
    xs = x.numpy()
    dy = (np.exp(xs) * (np.sin(xs) + np.cos(xs))) * v.numpy()
    np.testing.assert_allclose(acc.jvp(y).numpy(), dy)
    np.testing.assert_allclose(float(acc.jvp(s)), dy.sum())
    np.testing.assert_array_equal(acc.jvp(x).numpy(), v.numpy())


def test_accumulator_unconnected_and_structures() -> None:
    a, b = Variable(1.0), Variable(2.0)
    other = constant(3.0)
    with ForwardAccumulator({"a": a, "b": b}, {"a": constant(1.0), "b": constant(10.0)}) as acc:
        y = a * b
        z = other * 2
    assert float(acc.jvp(y)) == 2.0 * 1.0 + 1.0 * 10.0
    assert acc.jvp(z) is None
    assert float(acc.jvp(z, unconnected_gradients=UnconnectedGradients.ZERO)) == 0.0
    out = acc.jvp([y, {"k": z}])
    assert isinstance(out, list) and out[1]["k"] is None
    with pytest.raises(ValueError, match="same structure"):
        ForwardAccumulator([a, b], [constant(1.0)])
    with pytest.raises(ValueError, match="shape"):
        ForwardAccumulator(Variable([1.0, 2.0]), constant(1.0))
    with pytest.raises(TypeError, match="tensors or Variables"):
        ForwardAccumulator(1.0, 1.0)


def test_hessian_vector_product_with_a_tape_inside_an_accumulator() -> None:
    rng = np.random.default_rng(0)
    x = Variable(rng.uniform(-1, 1, 4))
    v = constant(rng.standard_normal(4))
    with ForwardAccumulator(x, v) as acc:
        with GradientTape() as tape:
            y = _f(x)
        g = tape.gradient(y, x)
    hvp = acc.jvp(g)
    h = hessian(_f)(cr.tensor(x.numpy()))
    np.testing.assert_allclose(hvp.numpy(), h.numpy() @ v.numpy(), rtol=1e-12)


def test_tape_outside_an_accumulator_differentiates_the_tangent() -> None:
    # Reverse-over-forward: the gradient of the directional derivative is H v too.
    x = Variable([0.2, 0.9, -0.4])
    v = constant([1.0, -1.0, 0.5])
    with GradientTape() as tape:
        with ForwardAccumulator(x, v) as acc:
            y = _f(x)
        dy = acc.jvp(y)
    h = hessian(_f)(cr.tensor(x.numpy())).numpy()
    np.testing.assert_allclose(tape.gradient(dy, x).numpy(), h @ v.numpy(), rtol=1e-12)


def test_nested_accumulators_give_second_derivatives() -> None:
    x = Variable(0.8)
    with ForwardAccumulator(x, constant(1.0)) as outer:
        with ForwardAccumulator(x, constant(1.0)) as inner:
            y = cr.exp(x) * x**3
        dy = inner.jvp(y)
    d2 = outer.jvp(dy)
    v = 0.8
    assert np.isclose(float(dy), np.exp(v) * (v**3 + 3 * v**2))
    assert np.isclose(float(d2), np.exp(v) * (v**3 + 6 * v**2 + 6 * v))


def test_jvp_values_structures_and_aux() -> None:
    y, t = jvp(lambda x: x**3, (2.0,), (1.0,))
    assert (float(y), float(t)) == (8.0, 12.0)
    out, tangent = jvp(lambda d: {"s": d["a"] * d["b"], "c": d["a"] * 0 + 1.0},
                       ({"a": cr.tensor(2.0), "b": cr.tensor(3.0)},),
                       ({"a": cr.tensor(1.0), "b": cr.tensor(0.0)},))  # fmt: skip
    assert float(tangent["s"]) == 3.0 and float(tangent["c"]) == 0.0
    y, t, aux = jvp(lambda x: (cr.sin(x), "aux"), (cr.tensor(0.0),), (cr.tensor(2.0),), has_aux=True)
    assert float(t) == 2.0 and aux == "aux"
    # An output that does not depend on the inputs has a zero tangent.
    y, t = jvp(lambda x: cr.tensor([1.0, 2.0]), (1.0,), (1.0,))
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0])


def test_jvp_errors() -> None:
    with pytest.raises(TypeError, match="tuples"):
        jvp(cr.sin, 1.0, 1.0)
    with pytest.raises(ValueError, match="same structure"):
        jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))
    with pytest.raises(ValueError, match="shape"):
        jvp(cr.sin, (cr.tensor([1.0, 2.0]),), (cr.tensor(1.0),))
    with pytest.raises(TypeError, match="floating point"):
        jvp(cr.sin, (cr.tensor([1, 2]),), (cr.tensor([1, 1]),))


def test_jacfwd_shapes_and_structures() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3) / 7)
    j = jacfwd(lambda x: cr.sin(x).T)(x)
    assert j.shape == (3, 2, 2, 3)
    np.testing.assert_allclose(j.numpy(), jacrev(lambda x: cr.sin(x).T)(x).numpy())
    ja, jb = jacfwd(lambda a, b: a * b, argnums=(0, 1))(cr.tensor([1.0, 2.0]), cr.tensor(3.0))
    np.testing.assert_array_equal(ja.numpy(), [[3.0, 0.0], [0.0, 3.0]])
    np.testing.assert_array_equal(jb.numpy(), [1.0, 2.0])
    out = jacfwd(lambda d: [d["x"] * 2, cr.sum(d["y"])])({"x": cr.tensor(1.0), "y": cr.tensor([1.0, 1.0])})
    assert isinstance(out, list) and set(out[0]) == {"x", "y"}
    assert out[0]["y"].shape == (2,) and out[1]["y"].shape == (2,)
    np.testing.assert_array_equal(out[1]["y"].numpy(), [1.0, 1.0])


def test_no_perturbation_confusion() -> None:
    # d/dx [x * (d/dy (x + y) at y=1)] at x=1 is 1; mixing the two perturbations would give 2.
    def f(x):
        return x * jvp(lambda y: x + y, (1.0,), (1.0,))[1]

    assert float(jvp(f, (1.0,), (1.0,))[1]) == 1.0
    assert float(grad(f)(1.0)) == 1.0

    def g(x):
        return x * grad(lambda y: x + y)(1.0)

    assert float(grad(g)(1.0)) == 1.0
    assert float(jvp(g, (1.0,), (1.0,))[1]) == 1.0


def test_a_paused_accumulator_follows_nothing_but_the_graph_stays() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.ForwardAccumulator(x, cr.tensor([1.0, 0.0])) as acc:
        with acc.paused():
            y = x * 3.0
        z = y * x  # tangent only through the second factor: 3 x * dx
    assert acc.jvp(y) is None
    np.testing.assert_allclose(acc.jvp(z).numpy(), [3.0, 0.0])
    z.sum().backward()  # reverse mode still sees y = 3 x: d(3 x^2)/dx = 6 x
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])
    with pytest.raises(RuntimeError, match="not active"):
        with acc.paused():
            pass
