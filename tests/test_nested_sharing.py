"""Nested ``autograd.grad(create_graph=True)``: recorded sweeps share repeated elementwise
subexpressions (issue 13, point 3) and the training step's cheaper paths keep their results."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr
from chainrule.core.node import Node
from chainrule.ops.shape import _sum_to_impl


def _count(t: cr.Tensor, name: str) -> int:
    seen: set[int] = set()
    stack = [t._node]
    n = 0
    while stack:
        node = stack.pop()
        if not isinstance(node, Node) or id(node) in seen:
            continue
        seen.add(id(node))
        n += node.prim.name == name
        stack.extend(p for p in node.parents if isinstance(p, Node))
    return n


def test_nested_derivatives_of_sin_exp_match_the_closed_form_to_order_8():
    # d^k/dx^k e^x sin x = 2^(k/2) e^x sin(x + k pi/4)  (e^x sin x = Im e^((1+i)x))
    x0 = 0.5
    x = cr.tensor(x0, requires_grad=True)
    y = cr.sin(x) * cr.exp(x)
    for k in range(1, 9):
        (y,) = cr.autograd.grad(y, [x], create_graph=True)
        expected = 2 ** (k / 2) * math.exp(x0) * math.sin(x0 + k * math.pi / 4)
        assert abs(float(y) - expected) < 1e-12 * max(1.0, abs(expected)), k


def test_nested_sweeps_share_cos_and_sin_of_the_same_input():
    # Without sharing, order k held 2^(k-2) sin nodes of the same x (32 at order 7).
    x = cr.tensor(0.3, requires_grad=True)
    y = cr.sin(x) * cr.exp(x)
    for _ in range(7):
        (y,) = cr.autograd.grad(y, [x], create_graph=True)
    assert _count(y, "sin") <= 8
    assert _count(y, "cos") <= 8


def test_shared_sweep_gives_the_same_gradients_as_a_vector_function():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(5), requires_grad=True)
    w = cr.tensor(rng.standard_normal(5))
    y = cr.sum(cr.tanh(x) * cr.exp(x) * w + cr.sin(x) ** 2)
    grads = []
    g = y
    for _ in range(4):
        (g,) = cr.autograd.grad(cr.sum(g), [x], create_graph=True)
        grads.append(np.asarray(g))
    # against finite differences of the third derivative (from the analytic fourth)
    h = 1e-5
    xd = np.asarray(x)

    def third(v: np.ndarray) -> np.ndarray:
        t = cr.tensor(v, requires_grad=True)
        f = cr.sum(cr.tanh(t) * cr.exp(t) * w + cr.sin(t) ** 2)
        for _ in range(3):
            (f,) = cr.autograd.grad(cr.sum(f), [t], create_graph=True)
        return np.asarray(f)

    fd = (third(xd + h) - third(xd - h)) / (2 * h)
    np.testing.assert_allclose(grads[3], fd, rtol=1e-5, atol=1e-6)


def test_sum_to_leading_axes_is_an_array_of_its_own_with_the_sum():
    g = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = _sum_to_impl(g, shape=(3, 4))
    assert out.shape == (3, 4) and out.dtype == np.float32 and out.base is None
    np.testing.assert_array_equal(out, g.sum(axis=0))
    np.testing.assert_array_equal(_sum_to_impl(g, shape=(1, 4)), g.sum(axis=(0, 1))[None])


def test_bias_grad_of_a_float32_layer_stays_float32_and_owned():
    x = cr.tensor(np.ones((4, 3), dtype=np.float32))
    b = cr.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    cr.sum(cr.relu(x + b)).backward()
    assert b.grad.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(b.grad), np.full(3, 4.0, dtype=np.float32))
    assert np.asarray(b.grad).base is None


# ---------------------------------------------------------------- products with the seed
def _graph_size(t: cr.Tensor) -> int:
    return sum(_count(t, name) for name in ("sin", "cos", "exp", "mul", "add", "neg"))


def test_recorded_sweeps_drop_products_with_the_ones_seed(monkeypatch):
    import chainrule.core.engine as engine

    def nested(k: int) -> cr.Tensor:
        x = cr.tensor(0.5, requires_grad=True)
        y = cr.sin(x) * cr.exp(x)
        for _ in range(k):
            (y,) = cr.autograd.grad(y, [x], create_graph=True)
        return y

    simplified = nested(7)
    # The same sweeps with neither sharing nor simplification: every rule's product recorded.
    monkeypatch.setattr(engine, "_recorded_sweep", lambda cts, n: None)
    plain = nested(7)
    assert float(simplified) == float(plain)
    assert _graph_size(simplified) * 4 < _graph_size(plain)


def test_a_gradient_that_is_a_forward_tensor_comes_back_as_a_tensor_of_its_own():
    x = cr.tensor(2.0, requires_grad=True)
    w = cr.tensor(3.0, requires_grad=True)
    (gx,) = cr.autograd.grad(x * w, [x], create_graph=True)  # d(xw)/dx = w: the product 1 * w
    assert gx is not w and float(gx) == 3.0
    assert gx._data is not w._data
    (gw,) = cr.autograd.grad(gx, [w])
    assert float(gw) == 1.0
    big = [cr.tensor(np.arange(20.0), requires_grad=True) for _ in range(2)]
    s = cr.sum(big[0] * big[1])
    (g0,) = cr.autograd.grad(s, [big[0]], create_graph=True)
    assert g0 is not big[1]
    np.testing.assert_array_equal(np.asarray(g0), np.arange(20.0))


def test_a_ones_seed_that_requires_grad_keeps_its_derivative():
    x = cr.tensor(2.0, requires_grad=True)
    w = cr.tensor(3.0, requires_grad=True)
    v = cr.tensor(1.0, requires_grad=True)
    (gx,) = cr.autograd.grad(x * w, [x], grad_outputs=[v], create_graph=True)
    (gv,) = cr.autograd.grad(gx, [v])
    assert float(gv) == 3.0


def test_a_hook_that_scales_the_seed_in_place_is_seen_by_the_recorded_sweep():
    x = cr.tensor(2.0, requires_grad=True)
    w = cr.tensor(3.0, requires_grad=True)
    y = x * w
    y.register_hook(lambda g: g.mul_(2.0))
    (gx,) = cr.autograd.grad(y, [x], create_graph=True)
    assert float(gx) == 6.0


def test_the_square_backward_records_no_second_pow_and_keeps_its_values():
    x = cr.tensor(np.array([-1.5, 0.0, 2.0, np.inf]), requires_grad=True)
    (g,) = cr.autograd.grad(cr.sum(x**2), [x], create_graph=True)
    assert _count(g, "pow") == 0  # the partial 2x needs no x ** 1
    np.testing.assert_array_equal(np.asarray(g), 2 * np.asarray(x))
    (h,) = cr.autograd.grad(cr.sum(g[:3]), [x])
    np.testing.assert_array_equal(np.asarray(h), [2.0, 2.0, 2.0, 0.0])
