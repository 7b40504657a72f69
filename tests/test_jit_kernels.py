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


def _mlp_step(lr):
    def loss_fn(p, x, y):
        h = cr.relu(x @ p[0] + p[1])
        h = cr.relu(h @ p[2] + p[3])
        return cr.cross_entropy(h @ p[4] + p[5], y)

    value_and_grad = cr.value_and_grad(loss_fn)

    def step(p, x, y):
        loss, g = value_and_grad(p, x, y)
        return loss, [w - lr * gi for w, gi in zip(p, g)]

    return step, value_and_grad


def _mlp_data(dtype):
    sizes = (12, 16, 8, 5)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [rng.normal(size=(a, b)) / np.sqrt(a), rng.normal(size=b) * 0.1]
    x = rng.normal(size=(64, sizes[0]))
    x[0, :] = 0.0  # (a row whose pre-activations are exactly the biases)
    return [cr.tensor(p.astype(dtype)) for p in params], cr.tensor(x.astype(dtype)), cr.tensor(rng.integers(0, 5, 64))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_jitted_step_with_the_loops_equals_one_without_and_eager(dtype, monkeypatch) -> None:
    params, x, y = _mlp_data(dtype)
    step, value_and_grad = _mlp_step(dtype(0.05))
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
    # The gradients themselves (no step-size folding): bit-equal to eager mode's.
    jitted_grads = cr.jit(value_and_grad)(params, x, y)[1]
    for got, want in zip(jitted_grads, value_and_grad(params, x, y)[1]):
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_without_the_loops_the_replay_keeps_its_numpy_steps(monkeypatch) -> None:
    monkeypatch.setenv("CHAINRULE_JIT_KERNELS", "0")
    assert not K.available()
    params, x, y = _mlp_data(np.float32)
    step, _ = _mlp_step(np.float32(0.05))
    source = cr.jit(step).lower(params, x, y).source()
    assert "bias_relu" not in source and "maximum(" in source and "greater(" in source
