"""linspace with tracked start/stop (issue 10, point 6).

Native: differentiable in start and stop, as ``jax.numpy.linspace`` is (the values stay
NumPy's). y_i = start + t_i (stop - start) with t_i = i / div, div = num - 1 with the endpoint
and num without, so d y_i / d start = 1 - t_i and d y_i / d stop = t_i; with num == 1 the one
value is start. Torch dialect: as PyTorch, 0-d tensors only, and the result does not require
grad. TF dialect: differentiable, as TF's linspace (composed from differentiable ops) is.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch
from chainrule.testing import gradcheck, gradgradcheck
from chainrule.transforms import hessian, jvp, vmap

SETTINGS = [(5, True), (5, False), (2, True), (1, True), (1, False), (0, True), (0, False)]


def _t(num: int, endpoint: bool) -> np.ndarray:
    div = num - 1 if endpoint else num
    return np.arange(num) / div if div > 0 else np.zeros(num)


@pytest.mark.parametrize(("num", "endpoint"), SETTINGS)
def test_values_are_numpys(num: int, endpoint: bool) -> None:
    for a, b in [(0.1, 0.3), (-2.0, 7.0), (3.0, 3.0), (0.0, 5e-324)]:
        got = cr.linspace(cr.tensor(a, requires_grad=True), b, num, endpoint=endpoint)
        np.testing.assert_array_equal(got.numpy(), np.linspace(a, b, num, endpoint=endpoint))
        assert got.dtype == np.float64


@pytest.mark.parametrize(("num", "endpoint"), SETTINGS)
def test_gradient_in_start_and_stop(num: int, endpoint: bool) -> None:
    a = cr.tensor(-1.5, requires_grad=True)
    b = cr.tensor(4.0, requires_grad=True)
    w = np.arange(1.0, num + 1.0)
    y = cr.linspace(a, b, num, endpoint=endpoint)
    assert y.requires_grad
    cr.sum(y * w).backward()
    t = _t(num, endpoint)
    np.testing.assert_allclose(a.grad.numpy(), np.sum(w * (1 - t)), rtol=1e-14)
    np.testing.assert_allclose(b.grad.numpy(), np.sum(w * t), rtol=1e-14)


def test_num_one_is_start() -> None:
    a = cr.tensor(2.0, requires_grad=True)
    b = cr.tensor(9.0, requires_grad=True)
    y = cr.linspace(a, b, 1)
    assert y.tolist() == [2.0]
    y.sum().backward()
    assert (a.grad.item(), b.grad.item()) == (1.0, 0.0)


@pytest.mark.parametrize(("num", "endpoint"), [(6, True), (4, False), (1, True)])
def test_gradcheck_and_second_order(num: int, endpoint: bool) -> None:
    def f(a, b):
        return cr.linspace(a, b, num, endpoint=endpoint) ** 2

    xs = [np.array(0.3), np.array(-1.2)]
    assert gradcheck(f, xs)
    assert gradgradcheck(f, xs)
    # f = sum((a (1 - t) + b t)^2): its Hessian in (a, b) is 2 [[Σ(1-t)², Σt(1-t)], [Σt(1-t), Σt²]].
    t = _t(num, endpoint)
    expected = 2 * np.array([[np.sum((1 - t) ** 2), np.sum(t * (1 - t))], [np.sum(t * (1 - t)), np.sum(t * t)]])
    h = hessian(lambda ab: cr.sum(cr.linspace(ab[0], ab[1], num, endpoint=endpoint) ** 2))(cr.tensor([0.3, -1.2]))
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_forward_mode() -> None:
    t = _t(5, True)
    _, tangent = jvp(lambda a, b: cr.linspace(a, b, 5), (cr.tensor(0.0), cr.tensor(1.0)),
                     (cr.tensor(2.0), cr.tensor(-3.0)))  # fmt: skip
    np.testing.assert_allclose(tangent.numpy(), 2.0 * (1 - t) - 3.0 * t, rtol=1e-14, atol=1e-15)


def test_vmap_over_stops() -> None:
    stops = cr.tensor([1.0, 2.0, 4.0])
    got = vmap(lambda b: cr.linspace(0.0, b, 3))(stops)
    np.testing.assert_array_equal(got.numpy(), [np.linspace(0.0, s, 3) for s in (1.0, 2.0, 4.0)])


def test_array_bounds_give_one_sequence_per_entry() -> None:
    a = cr.tensor([0.0, 1.0], requires_grad=True)
    y = cr.linspace(a, 3.0, 4)
    np.testing.assert_array_equal(y.numpy(), np.linspace([0.0, 1.0], 3.0, 4))
    cr.sum(y).backward()
    np.testing.assert_allclose(a.grad.numpy(), [np.sum(1 - _t(4, True))] * 2)


def test_dtype_float32_keeps_the_gradient() -> None:
    b = cr.tensor(2.0, requires_grad=True)
    y = cr.linspace(0.0, b, 3, dtype=np.float32)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), np.linspace(0.0, 2.0, 3, dtype=np.float32))
    y.sum().backward()
    assert b.grad.dtype == np.float64 and b.grad.item() == 1.5


def test_integer_dtype_is_not_tracked() -> None:
    b = cr.tensor(7.0, requires_grad=True)
    y = cr.linspace(0.0, b, 4, dtype=np.int64)
    np.testing.assert_array_equal(y.numpy(), np.linspace(0.0, 7.0, 4, dtype=np.int64))
    assert not y.requires_grad


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="linspace: endpoint must be True or False.*dtype="):
        cr.linspace(0.0, 1.0, 5, np.float32)
    with pytest.raises(ValueError, match="linspace: num must be >= 0"):
        cr.linspace(cr.tensor(0.0), 1.0, -1)
    with pytest.raises(TypeError, match="linspace: num must be an integer"):
        cr.linspace(0.0, 1.0, 2.5)
    with pytest.raises(ValueError, match="linspace: requires_grad=True.*already require"):
        cr.linspace(cr.tensor(0.0, requires_grad=True), 1.0, 3, requires_grad=True)


def test_plain_numbers_and_requires_grad_make_a_leaf() -> None:
    y = cr.linspace(0.0, 1.0, 3, requires_grad=True)
    assert y.requires_grad and y.grad_fn is None
    z = cr.linspace(cr.tensor(0.0), 1.0, 3, requires_grad=True)
    assert z.requires_grad and z.grad_fn is None


def test_torch_dialect_is_not_differentiable_as_in_pytorch() -> None:
    s = torch.tensor(0.0, requires_grad=True)
    e = torch.tensor(2.0, requires_grad=True)
    y = torch.linspace(s, e, 5)
    assert y.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0] and not y.requires_grad
    assert torch.linspace(s, e, 1).tolist() == [0.0]
    with pytest.raises(RuntimeError, match="only supports 0-dimensional start and end tensors.*start with 1 dim"):
        torch.linspace(torch.tensor([0.0]), e, 3)
    with pytest.raises(RuntimeError, match="end with 1 dimension"):
        torch.linspace(0.0, torch.tensor([1.0, 2.0]), 3)


def test_tf_dialect_is_differentiable_as_in_tf() -> None:
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.linspace(0.0, v, 3))
    assert tape.gradient(y, v).numpy() == np.float32(1.5)  # t = 0, 0.5, 1
    assert tf.linspace(0.0, 1.0, 3).dtype == tf.float32
