"""std over groups of one element (ddof=0): the function is identically 0 there, so every
derivative is 0 (HIPS autograd and PyTorch give 0). Before, ``sqrt(var)`` gave 0 * inf = NaN.
With ddof=1 a single element has n - ddof = 0: value and gradient stay NaN, as in NumPy/PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch
from chainrule.transforms import hessian, jvp

# (shape, reduction keywords): every group the reduction forms has exactly one element.
SINGLES = [
    ((1,), {}),
    ((), {}),
    ((3, 1), {"axis": 1}),
    ((3, 1), {"axis": -1, "keepdims": True}),
    ((1, 4), {"axis": 0}),
    ((2, 1, 1), {"axis": (1, 2)}),
]
IDS = [f"{s}-{kw}" for s, kw in SINGLES]


def _x(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape) * 0.7


@pytest.mark.parametrize(("shape", "kw"), SINGLES, ids=IDS)
@pytest.mark.parametrize("how", ["function", "method"])
def test_gradient_is_zero(shape, kw, how: str) -> None:
    x = cr.tensor(_x(shape), requires_grad=True)
    y = cr.std(x, **kw) if how == "function" else x.std(**kw)
    np.testing.assert_array_equal(y.numpy(), np.zeros(np.shape(np.std(_x(shape), **kw))))
    assert y.requires_grad
    cr.sum(y * 3.0).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(shape))


@pytest.mark.parametrize(("shape", "kw"), SINGLES, ids=IDS)
def test_second_order_and_forward_mode_are_zero(shape, kw) -> None:
    def f(a):
        return cr.sum(cr.std(a, **kw))

    x = cr.tensor(_x(shape))
    n = int(np.prod(shape, dtype=int))
    np.testing.assert_array_equal(hessian(f)(x).numpy().reshape(n, n), np.zeros((n, n)))
    _, tangent = jvp(f, (x,), (cr.ones(shape),))
    assert tangent.item() == 0.0
    leaf = cr.tensor(_x(shape), requires_grad=True)
    (g,) = cr.autograd.grad(f(leaf) + cr.sum(leaf * leaf), leaf, create_graph=True)
    (h,) = cr.autograd.grad(cr.sum(g), leaf)
    np.testing.assert_array_equal(h.numpy(), np.full(shape, 2.0))  # only sum(x*x) contributes


def test_single_element_with_ddof_1_is_still_nan() -> None:
    x = cr.tensor([2.0], requires_grad=True)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):  # NumPy's, passed through
        y = cr.std(x, ddof=1)
    assert np.isnan(y.item())
    y.backward()
    assert np.isnan(x.grad.numpy()).all()


def test_var_of_a_single_element_has_zero_gradient_too() -> None:
    x = cr.tensor([[2.0], [5.0]], requires_grad=True)
    cr.sum(cr.var(x, axis=1)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((2, 1)))


def test_more_than_one_element_is_unchanged() -> None:
    # d std / d x_i = (x_i - mean) / (n * std): for [1, 3], mean 2, std 1 -> [-0.5, 0.5].
    x = cr.tensor([1.0, 3.0], requires_grad=True)
    cr.std(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [-0.5, 0.5])


def test_dialects() -> None:
    t = torch.tensor([[2.0], [5.0]], requires_grad=True)
    torch.std(t, dim=1, correction=0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros((2, 1)))
    v = tf.Variable([[2.0], [5.0]])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.math.reduce_std(v, axis=1))
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), np.zeros((2, 1)))
