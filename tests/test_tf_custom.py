"""chainrule.tf's custom_gradient and recompute_grad, name maps over chainrule.custom_vjp and
chainrule.checkpoint: TensorFlow's patterns (variables=, several upstream gradients, the guide's
clip-by-norm cell), with values derived by hand."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import tf


def test_grad_fn_gets_the_variables_f_reads_and_gives_their_gradients() -> None:
    w = tf.Variable(3.0)

    @tf.custom_gradient
    def scale(x):
        def grad_fn(dy, variables=None):
            assert variables is not None and len(variables) == 1 and variables[0] is w
            # Ten times the true gradients, so the test sees which ones arrive.
            return 10.0 * dy * w, [10.0 * dy * x]

        return x * w, grad_fn

    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = scale(x)
    gx, gw = tape.gradient(y, [x, w])
    assert float(y) == 6.0 and (float(gx), float(gw)) == (30.0, 20.0)
    assert gx.dtype == tf.float32 and gw.dtype == tf.float32


def test_a_grad_fn_without_variables_for_a_function_that_reads_one() -> None:
    w = tf.Variable(3.0)

    @tf.custom_gradient
    def scale(x):
        return x * w, lambda dy: dy * w

    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = scale(x)
    with pytest.raises(TypeError, match="grad_fn must accept a keyword argument 'variables'"):
        tape.gradient(y, [x, w])


def test_several_outputs_each_with_its_upstream_gradient() -> None:
    calls = {"n": 0}

    @tf.custom_gradient
    def split(x):
        def grad_fn(up_a, up_b):
            calls["n"] += 1
            return 2.0 * up_a + 3.0 * up_b

        return (x * 2.0, x * 3.0), grad_fn

    x = tf.Variable([1.0, -1.0])
    with tf.GradientTape() as tape:
        a, b = split(x)
        loss = tf.reduce_sum(a * tf.constant([1.0, 2.0])) + tf.reduce_sum(b)
    g = tape.gradient(loss, x)
    # upstream a = [1, 2], b = [1, 1]: 2 * a + 3 * b
    np.testing.assert_array_equal(g.numpy(), [5.0, 7.0])
    assert calls["n"] == 1
    with tf.GradientTape() as tape:
        a, _ = split(x)
        loss = tf.reduce_sum(a)
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [2.0, 2.0])  # b's upstream: zeros


def test_the_output_is_a_new_tensor_even_when_f_returns_its_input() -> None:
    @tf.custom_gradient
    def clip_gradients(y):
        return y, lambda dy: tf.clip_by_norm(dy, 0.5)

    v = tf.Variable(2.0)
    with tf.GradientTape() as t:
        out = clip_gradients(v * v)
        loss = out * 3.0
    # upstream 3 clipped to 0.5, times d(v*v)/dv = 4
    assert float(t.gradient(loss, v)) == 2.0


def test_grad_fn_answer_count_is_checked() -> None:
    @tf.custom_gradient
    def pair(a, b):
        return a * b, lambda dy: dy * b

    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = pair(a, b)
    with pytest.raises(ValueError, match="grad_fn returned 1 gradient"):
        tape.gradient(y, [a, b])


def test_recompute_grad_gives_the_same_gradients_with_keras_variables() -> None:
    results = []
    for recompute in (False, True):
        layer = tf.keras.layers.Dense(3, kernel_initializer="ones", bias_initializer="zeros", activation="tanh")
        block = tf.recompute_grad(layer) if recompute else layer
        x = tf.constant([[0.1, -0.2], [0.3, 0.4]])
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(block(x) ** 2)
        gk, gx = tape.gradient(y, [layer.kernel, x])
        results.append((float(y), gk.numpy(), gx.numpy()))
    (y0, k0, x0), (y1, k1, x1) = results
    assert y0 == y1
    np.testing.assert_array_equal(k1, k0)
    np.testing.assert_array_equal(x1, x0)
    # By hand: h = tanh(x @ ones(2, 3)); dy/dkernel = x.T @ (2 h (1 - h^2))
    xs = np.array([[0.1, -0.2], [0.3, 0.4]], dtype=np.float32)
    h = np.tanh(xs.sum(axis=1, keepdims=True) * np.ones((1, 3), dtype=np.float32))
    np.testing.assert_allclose(k1, xs.T @ (2 * h * (1 - h**2)), rtol=1e-6)
