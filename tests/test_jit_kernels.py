"""The compiled replay's fused loops (``transforms/jit_kernels.py``, with Numba): each gives the
bits of the two NumPy steps it replaces, and a jitted step with them equals one without and eager.

Without Numba the kernel tests skip, and the last test checks that the replay keeps its NumPy
steps then."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import jit_kernels as K

rng = np.random.default_rng(11)
SPECIAL = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -5e-324, 1e-45, -1e-45, 3.5, -2.25,
                    1e38, -1e38, 1e308, -1e308])  # fmt: skip
needs_numba = pytest.mark.skipif(not K.available(), reason="Numba is not installed")


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_relu_is_add_then_maximum_to_the_bit(dtype) -> None:
    with np.errstate(all="ignore"):
        x = np.add.outer(SPECIAL, SPECIAL).astype(dtype)
        b = SPECIAL.astype(dtype)
        want = np.maximum(x + b, np.zeros_like(x))
    got = K.bias_relu(x, b)  # (a new array)
    np.testing.assert_array_equal(_bits(got), _bits(want))
    inplace = x.copy()
    assert K.bias_relu(inplace, b, out=inplace) is inplace
    np.testing.assert_array_equal(_bits(inplace), _bits(want))
    frozen = b.copy()
    frozen.flags.writeable = False  # (a read-only bias: a parameter's array may be)
    np.testing.assert_array_equal(_bits(K.bias_relu(x, frozen)), _bits(want))
    x3 = rng.normal(size=(2, 3, 5)).astype(dtype)
    b3 = rng.normal(size=5).astype(dtype)
    np.testing.assert_array_equal(K.bias_relu(x3, b3), np.maximum(x3 + b3, 0))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_grad_is_the_masked_product_to_the_bit(dtype) -> None:
    with np.errstate(all="ignore"):
        g = np.add.outer(SPECIAL, -SPECIAL).astype(dtype)
        a = np.add.outer(SPECIAL, SPECIAL).astype(dtype)
        want = g * (a > 0)
    np.testing.assert_array_equal(_bits(K.relu_grad(g, a)), _bits(want))
    inplace = g.copy()
    assert K.relu_grad(inplace, a, out=inplace) is inplace
    np.testing.assert_array_equal(_bits(inplace), _bits(want))
    assert np.signbit(K.relu_grad(np.array([-2.0], dtype), np.array([-1.0], dtype)))[0]  # -2 * 0 = -0.0


@pytest.mark.parametrize("case", ["strided", "int", "mixed dtypes", "empty"])
def test_the_loops_hand_what_they_do_not_take_to_numpy(case) -> None:
    x = rng.normal(size=(6, 8))
    b = rng.normal(size=8)
    if case == "strided":
        x = rng.normal(size=(6, 16))[:, ::2]
    elif case == "int":
        x, b = np.arange(48).reshape(6, 8) - 20, np.arange(8) - 4
    elif case == "mixed dtypes":
        b = b.astype(np.float32)
    else:
        x, b = np.zeros((0, 8)), np.zeros(8)
    np.testing.assert_array_equal(K.bias_relu(x, b), np.maximum(x + b, 0))
    g = np.ones_like(x)
    np.testing.assert_array_equal(K.relu_grad(g, x), g * (x > 0))


def _mlp_step(lr, loss="xent"):
    def loss_fn(p, x, y):
        h = cr.relu(x @ p[0] + p[1])
        h = cr.relu(h @ p[2] + p[3])
        z = h @ p[4] + p[5]
        if loss == "xent":
            return cr.cross_entropy(z, y)
        return cr.mean((z - cr.one_hot(y, 5, dtype=z.dtype)) ** 2)

    value_and_grad = cr.value_and_grad(loss_fn)

    def step(p, x, y):
        value, g = value_and_grad(p, x, y)
        return value, [w - lr * gi for w, gi in zip(p, g)]

    return step, value_and_grad


def _mlp_data(dtype, batch=64):
    sizes = (12, 16, 8, 5)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.1]
    x = rng.normal(size=(batch, sizes[0]))
    x[0, :] = 0.0  # (a row whose pre-activations are exactly the biases)
    return [cr.tensor(p.astype(dtype)) for p in params], cr.tensor(x.astype(dtype)), cr.tensor(rng.integers(0, 5, batch))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_jitted_step_with_the_relu_loops_equals_one_without_and_eager(dtype, monkeypatch) -> None:
    params, x, y = _mlp_data(dtype)
    step, value_and_grad = _mlp_step(dtype(0.05), loss="mse")
    fused = cr.jit(step)
    source = fused.lower(params, x, y).source()
    assert source.count("bias_relu(") == 2 and source.count("relu_grad(") == 2
    monkeypatch.setenv("CHAINRULE_JIT_KERNELS", "0")
    plain = cr.jit(step)
    assert "bias_relu" not in plain.lower(params, x, y).source()
    p_f = p_p = params
    for _ in range(3):
        l_f, p_f = fused(p_f, x, y)
        l_p, p_p = plain(p_p, x, y)
        np.testing.assert_array_equal(l_f.numpy(), l_p.numpy())
        for a, b in zip(p_f, p_p):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    monkeypatch.setenv("CHAINRULE_JIT_KERNELS", "1")
    # The gradients themselves (no step-size folding): bit-equal to eager mode's.
    jitted_grads = cr.jit(value_and_grad)(params, x, y)[1]
    for got, want in zip(jitted_grads, value_and_grad(params, x, y)[1]):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_jitted_classifier_step_with_the_loops_agrees_with_eager_to_rounding(dtype, monkeypatch) -> None:
    # The fused cross-entropy loop sums in float64 and rounds once: equal to rounding, not bits.
    params, x, y = _mlp_data(dtype, batch=128)
    step, value_and_grad = _mlp_step(dtype(0.05))
    fused = cr.jit(step)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    p_f = p_e = params
    for _ in range(3):
        l_f, p_f = fused(p_f, x, y)
        l_e, p_e = step(p_e, x, y)
        np.testing.assert_allclose(l_f.numpy(), l_e.numpy(), rtol=tol)
        for a, b in zip(p_f, p_e):
            assert a.numpy().dtype == dtype
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)
    value, grads = cr.jit(value_and_grad)(params, x, y)
    e_value, e_grads = value_and_grad(params, x, y)
    np.testing.assert_allclose(value.numpy(), e_value.numpy(), rtol=tol)
    for got, want in zip(grads, e_grads):
        scale = float(np.max(np.abs(want.numpy())))
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=4 * tol, atol=4 * tol * scale)


@needs_numba
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_cross_entropy_loop_is_the_cross_entropy_and_its_gradient(reduction, dtype) -> None:
    for spread in (1e-3, 1.0, 30.0, 1e4):
        v = (rng.normal(size=(64, 10)) * spread).astype(dtype)
        v[3, :] = v[3, 0]  # (a row of ties)
        h = rng.integers(0, 10, 64)
        scale = dtype(0.01 / 64)
        loss, grad = K.cross_entropy_with_grad(v, h, scale, reduction)
        w = v.astype(np.float64)
        z = w - w.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        losses = lse - z[np.arange(64), h]
        want_loss = losses.mean() if reduction == "mean" else losses.sum()
        want_grad = (np.exp(z - lse[:, None]) - np.eye(10)[h]) * float(scale)
        assert loss.dtype == dtype and grad.dtype == dtype
        # (Against a float64 reference: the float64 sums make it accurate to the dtype's rounding.)
        eps = np.finfo(dtype).eps
        np.testing.assert_allclose(loss, want_loss, rtol=4 * eps, atol=4 * eps)
        np.testing.assert_allclose(grad, want_grad, rtol=4 * eps, atol=4 * eps * float(scale))


@needs_numba
def test_the_cross_entropy_loop_leaves_bad_labels_and_non_finite_values_to_numpy() -> None:
    v = rng.normal(size=(5, 3)).astype(np.float32)
    ok = np.array([0, 1, 2, 0, 1])
    assert K.cross_entropy_with_grad(v, ok, np.float32(0.2), "mean") is not None
    for labels in (np.array([0, 1, 3, 0, 1]), np.array([0, -1, 2, 0, 1])):
        assert K.cross_entropy_with_grad(v, labels, np.float32(0.2), "mean") is None
    for bad in (np.inf, np.nan):
        w = v.copy()
        w[2, 1] = bad
        assert K.cross_entropy_with_grad(w, ok, np.float32(0.2), "mean") is None
    w = v.copy()
    w[2, 2] = -np.inf  # (at row 2's label: an infinite loss)
    assert K.cross_entropy_with_grad(w, ok, np.float32(0.2), "mean") is None
    w[2, 2], w[2, 1] = v[2, 2], -np.inf  # (elsewhere: a class of probability 0, all finite)
    loss, grad = K.cross_entropy_with_grad(w, ok, np.float32(0.2), "mean")
    e_loss, e_grad = cr.value_and_grad(lambda t: cr.cross_entropy(t, cr.tensor(ok)) * 0.2 * 5)(cr.tensor(w))
    np.testing.assert_allclose(loss * 0.2 * 5, e_loss.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grad, e_grad.numpy(), rtol=1e-6, atol=1e-8)
    assert grad[2, 1] == 0
    huge = v.copy()
    huge[:, 0], huge[:, 1] = np.float32(3e38), np.float32(-3e38)  # (a loss sum beyond float32)
    assert K.cross_entropy_with_grad(huge, ok, np.float32(0.2), "sum") is None
    assert K.cross_entropy_with_grad(v, ok, np.float32(0.2), "none") is None
    # Through a jitted step: a bad label is the library's error, and non-finite logits give
    # eager mode's values (the NumPy path's bits).
    f = cr.jit(cr.value_and_grad(lambda v, y: cr.cross_entropy(v, y)))
    f(cr.tensor(v), cr.tensor(ok))
    with pytest.raises(IndexError, match="class index 3 is out of range for 3 classes"):
        f(cr.tensor(v), cr.tensor(np.array([0, 1, 3, 0, 1])))
    w = v.copy()
    w[1, 2] = np.inf
    (loss, g), (e_loss, e_g) = f(cr.tensor(w), cr.tensor(ok)), cr.value_and_grad(lambda v, y: cr.cross_entropy(v, y))(
        cr.tensor(w), cr.tensor(ok))  # fmt: skip
    np.testing.assert_array_equal(loss.numpy(), e_loss.numpy())
    np.testing.assert_array_equal(g.numpy(), e_g.numpy())


def test_without_the_loops_the_replay_keeps_its_numpy_steps(monkeypatch) -> None:
    monkeypatch.setenv("CHAINRULE_JIT_KERNELS", "0")
    assert not K.available()
    params, x, y = _mlp_data(np.float32)
    step, _ = _mlp_step(np.float32(0.05))
    source = cr.jit(step).lower(params, x, y).source()
    assert "bias_relu" not in source and "maximum(" in source and "greater(" in source

