"""TensorFlow's two autodiff guides, section by section, on ``chainrule.tf``.

The guides are ``site/en/guide/autodiff.ipynb`` ("Introduction to gradients and automatic
differentiation") and ``site/en/guide/advanced_autodiff.ipynb`` ("Advanced automatic
differentiation") in the tensorflow/docs repository. Their code is not copied here: each test
does what one section of a guide does, with the same TensorFlow calls, and checks the numbers
against values derived by hand or from the math (NumPy formulas, in float64, for the layers).

Where a guide draws random numbers (``tf.random.normal``, Keras's Glorot initializer) the tests
fix the inputs with a seeded NumPy generator and read the layers' weights back, since
chainrule's generator does not reproduce TensorFlow's streams.

Cross-check: every code cell of both guides was also run as a script under TensorFlow 2.21
(tensorflow-cpu, Keras 3) and under chainrule.tf with only the import changed and the same fixed
draws; all the values they compute agree to float32 precision (rtol 1e-4). (The
``custom_gradient`` cell whose function returns its input unchanged printed 6.0 until the
dialect's ``custom_gradient`` was rebuilt on ``chainrule.custom_vjp``; it now gives TensorFlow's
2.0, derived by hand in its test.) The saved-model cell is not run (the dialect has no
saved-model format); ``test_saved_model_is_refused_by_name`` checks what it does instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import tf

RNG_SEED = 1234


def draws(*shape: int) -> np.ndarray:
    """Fixed float32 normal draws (in place of tf.random.normal)."""
    return np.random.default_rng(RNG_SEED).standard_normal(shape).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def elu_slope(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))


def weights(layer) -> tuple[np.ndarray, np.ndarray]:
    return layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)


# ====================================================================== autodiff.ipynb
def test_gradient_tapes_scalar_and_tensor_sources() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x**2
    assert tape.gradient(y, x).numpy() == np.float32(6.0)  # dy/dx = 2x

    w0 = draws(3, 2)
    w = tf.Variable(tf.constant(w0), name="w")
    b = tf.Variable(tf.zeros(2, dtype=tf.float32), name="b")
    rows = [[1.0, 2.0, 3.0]]  # a Python list on the left of @
    with tf.GradientTape(persistent=True) as tape:
        y = rows @ w + b
        loss = tf.reduce_mean(y**2)
    dl_dw, dl_db = tape.gradient(loss, [w, b])
    # loss = (y1^2 + y2^2) / 2, so dloss/dy = y; dloss/dw = x^T y, dloss/db = y
    y_np = np.array(rows) @ w0.astype(np.float64)
    np.testing.assert_allclose(dl_dw.numpy(), np.array(rows).T @ y_np, rtol=1e-5)
    np.testing.assert_allclose(dl_db.numpy(), y_np[0], rtol=1e-5)
    assert str(w.shape) == "(3, 2)" and str(dl_dw.shape) == "(3, 2)"
    by_name = tape.gradient(loss, {"w": w, "b": b})
    assert set(by_name) == {"w", "b"}
    assert repr(by_name["b"]).startswith("<tf.Tensor: shape=(2,), dtype=float32, numpy=array([")
    np.testing.assert_allclose(by_name["b"].numpy(), y_np[0], rtol=1e-5)


def test_gradients_with_respect_to_a_model() -> None:
    tf.random.set_seed(0)
    layer = tf.keras.layers.Dense(2, activation="relu")
    x = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_mean(y**2)
    grad = tape.gradient(loss, layer.trainable_variables)
    kernel, bias = weights(layer)
    z = x.numpy() @ kernel + bias
    dz = np.where(z > 0, np.maximum(z, 0), 0.0)  # dloss/dz = relu(z) * [z > 0] (mean over 2)
    np.testing.assert_allclose(grad[0].numpy(), x.numpy().T @ dz, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(grad[1].numpy(), dz[0], rtol=1e-5, atol=1e-7)
    # Keras 3 names its weights by attribute: "kernel, shape: (3, 2)" / "bias, shape: (2,)"
    lines = [f"{var.name}, shape: {g.shape}" for var, g in zip(layer.trainable_variables, grad)]
    assert lines == ["kernel, shape: (3, 2)", "bias, shape: (2,)"]


def test_controlling_what_the_tape_watches() -> None:
    x0 = tf.Variable(3.0, name="x0")
    x1 = tf.Variable(3.0, name="x1", trainable=False)
    x2 = tf.Variable(2.0, name="x2") + 1.0  # a tensor, not a variable
    x3 = tf.constant(3.0, name="x3")
    with tf.GradientTape() as tape:
        y = (x0**2) + (x1**2) + (x2**2)
    grads = tape.gradient(y, [x0, x1, x2, x3])
    assert [str(g) for g in grads] == ["tf.Tensor(6.0, shape=(), dtype=float32)", "None", "None", "None"]
    assert [v.name for v in tape.watched_variables()] == ["x0:0"]

    c = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(c)
        y = c**2
    assert tape.gradient(y, c).numpy() == np.float32(6.0)

    a, b = tf.Variable(0.0), tf.Variable(10.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(b)
        ys = tf.reduce_sum(tf.math.sin(a) + tf.nn.softplus(b))
    grad = tape.gradient(ys, {"x0": a, "x1": b})
    assert grad["x0"] is None
    np.testing.assert_allclose(grad["x1"].numpy(), sigmoid(10.0), rtol=1e-6)  # softplus' = sigmoid


def test_intermediate_results_and_persistent_tapes() -> None:
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert tape.gradient(z, y).numpy() == np.float32(18.0)  # dz/dy = 2y, y = 9

    x = tf.constant([1, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    np.testing.assert_array_equal(tape.gradient(z, x).numpy(), [4.0, 108.0])  # 4x^3
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 6.0])  # 2x
    del tape


def test_gradients_of_non_scalar_targets() -> None:
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y0 = x**2
        y1 = 1 / x
    assert tape.gradient(y0, x).numpy() == np.float32(4.0)
    assert tape.gradient(y1, x).numpy() == np.float32(-0.25)
    with tf.GradientTape() as tape:
        y0 = x**2
        y1 = 1 / x
    assert tape.gradient({"y0": y0, "y1": y1}, x).numpy() == np.float32(3.75)  # summed targets
    with tf.GradientTape() as tape:
        y = x * [3.0, 4.0]
    assert tape.gradient(y, x).numpy() == np.float32(7.0)

    grid = tf.linspace(-10.0, 10.0, 200 + 1)
    with tf.GradientTape() as tape:
        tape.watch(grid)
        s = tf.nn.sigmoid(grid)
    slope = tape.gradient(s, grid)
    expected = sigmoid(grid.numpy().astype(np.float64))
    np.testing.assert_allclose(slope.numpy(), expected * (1 - expected), rtol=1e-5, atol=1e-7)


def test_control_flow_picks_the_variable_itself() -> None:
    # The branch taken returns v0 untouched: the gradient of v0 with respect to itself is 1,
    # the other variable is unconnected, and so is the watched x that only chose the branch.
    x = tf.constant(1.0)
    v0, v1 = tf.Variable(2.0), tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        result = v0 if x > 0.0 else v1**2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert str(dv0) == "tf.Tensor(1.0, shape=(), dtype=float32)" and dv1 is None
    assert tape.gradient(result, x) is None
    x = tf.constant(-1.0)
    with tf.GradientTape(persistent=True) as tape:
        result = v0 if x > 0.0 else v1**2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert dv0 is None and dv1.numpy() == np.float32(4.0)


def test_cases_where_gradient_returns_none() -> None:
    x, y = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = y * y
    assert tape.gradient(z, x) is None

    # replacing the variable with a tensor: the second tape sees an EagerTensor it never watched
    x = tf.Variable(2.0)
    seen = []
    for _ in range(2):
        with tf.GradientTape() as tape:
            y = x + 1
        seen.append((type(x).__name__, str(tape.gradient(y, x))))
        x = x + 1
    assert seen == [("ResourceVariable", "tf.Tensor(1.0, shape=(), dtype=float32)"), ("EagerTensor", "None")]

    # a step computed by NumPy leaves the tape
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float32)
    with tf.GradientTape() as tape:
        x2 = x**2
        y = np.mean(x2, axis=0)
        assert isinstance(y, np.ndarray)
        y = tf.reduce_mean(y, axis=0)
    assert tape.gradient(y, x) is None

    # integers have no gradient (TensorFlow logs a warning; the dialect warns)
    x = tf.constant(10)
    with tf.GradientTape() as g:
        with pytest.warns(UserWarning, match="int32"):
            g.watch(x)
        y = x * x
    assert g.gradient(y, x) is None

    # a stateful update is not recorded
    x0, x1 = tf.Variable(3.0), tf.Variable(0.0)
    with tf.GradientTape() as tape:
        x1.assign_add(x0)
        y = x1**2
    assert tape.gradient(y, x0) is None


def test_an_op_without_a_registered_gradient() -> None:
    image = tf.Variable([[[0.5, 0.0, 0.0]]])
    delta = tf.Variable(0.1)
    with tf.GradientTape() as tape:
        new_image = tf.image.adjust_contrast(image, delta)
    # one pixel: it is its own mean, so any contrast factor leaves it as it is
    np.testing.assert_array_equal(new_image.numpy(), image.numpy())
    with pytest.raises(LookupError) as caught:
        tape.gradient(new_image, [image, delta])
    assert f"{type(caught.value).__name__}: {caught.value}" == (
        "LookupError: gradient registry has no entry for: AdjustContrastv2"
    )
    # the contrast itself, on an image with two pixels: (x - mean) * factor + mean
    pixels = np.array([[[0.25, 1.0]], [[0.75, 0.0]]], dtype=np.float32)
    out = tf.image.adjust_contrast(tf.constant(pixels), 3.0).numpy()
    mean = pixels.mean(axis=(0, 1), keepdims=True)
    np.testing.assert_allclose(out, (pixels - mean) * 3.0 + mean, rtol=1e-6)


def test_zeros_instead_of_none() -> None:
    x, y = tf.Variable([2.0, 2.0]), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        z = y**2
    g = tape.gradient(z, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert str(g) == "tf.Tensor([0. 0.], shape=(2,), dtype=float32)"


# ====================================================================== advanced_autodiff.ipynb
@pytest.mark.parametrize("how", ["stop_recording", "reset", "stop_gradient"])
def test_controlling_gradient_recording(how: str) -> None:
    x, y = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as t:
        if how == "stop_recording":
            x_sq = x * x
            with t.stop_recording():
                y_sq = y * y
            z = x_sq + y_sq
        elif how == "reset":
            y_sq = y * y
            t.reset()
            z = x * x + y_sq
        else:
            z = x**2 + tf.stop_gradient(y**2)
    grad = t.gradient(z, {"x": x, "y": y})
    assert str(grad["x"]) == "tf.Tensor(4.0, shape=(), dtype=float32)" and grad["y"] is None


def test_clip_by_norm_as_a_custom_gradient_backward() -> None:
    # The backward the guide's custom gradient uses, applied to an upstream gradient of 1:
    # clip_by_norm(1, 0.5) = 0.5, times d(v*v)/dv = 4 at v = 2.
    @tf.custom_gradient
    def clip_gradients(y):
        def backward(dy):
            return tf.clip_by_norm(dy, 0.5)

        return tf.identity(y), backward

    v = tf.Variable(2.0)
    with tf.GradientTape() as t:
        output = clip_gradients(v * v)
    assert str(t.gradient(output, v)) == "tf.Tensor(2.0, shape=(), dtype=float32)"


def test_custom_gradient_returning_its_input_unchanged() -> None:
    # The guide's cell as written: the output is the input itself, and only grad_fn's answer
    # flows back (TensorFlow prints 2.0; a custom gradient that also let the identity path
    # through gave 6.0).
    @tf.custom_gradient
    def clip_gradients(y):
        def backward(dy):
            return tf.clip_by_norm(dy, 0.5)

        return y, backward

    v = tf.Variable(2.0)
    with tf.GradientTape() as t:
        output = clip_gradients(v * v)
    assert float(t.gradient(output, v)) == 2.0


def test_module_with_a_signature_bound_method() -> None:
    @tf.custom_gradient
    def clip_gradients(y):
        def backward(dy):
            return tf.clip_by_norm(dy, 0.5)

        return tf.identity(y), backward

    class MyModule(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec(None)])
        def call_custom_grad(self, x):
            return clip_gradients(x)

    model = MyModule()
    assert model.name == "my_module" and model.variables == () and model.submodules == ()
    v = tf.Variable(2.0)
    with tf.GradientTape() as t:
        output = model.call_custom_grad(v * v)
    assert output.numpy() == np.float32(4.0) and t.gradient(output, v).numpy() == np.float32(2.0)
    assert model.call_custom_grad(3.0).dtype == tf.float32  # a Python float meets the float32 spec
    with pytest.raises(TypeError, match="int32 tensor but its TensorSpec wants float32"):
        model.call_custom_grad(tf.constant(3))


def test_saved_model_is_refused_by_name() -> None:
    with pytest.raises(NotImplementedError, match=r"tf\.saved_model\.SaveOptions is not supported"):
        tf.saved_model.SaveOptions(experimental_custom_gradients=True)
    with pytest.raises(NotImplementedError, match=r"tf\.saved_model\.save is not supported"):
        tf.saved_model.save(tf.Module(), "saved_model")
    with pytest.raises(NotImplementedError, match=r"tf\.saved_model\.load is not supported"):
        tf.saved_model.load("saved_model")


def test_multiple_tapes_and_higher_order_gradients() -> None:
    x0, x1 = tf.constant(0.0), tf.constant(0.0)
    with tf.GradientTape() as tape0, tf.GradientTape() as tape1:
        tape0.watch(x0)
        tape1.watch(x1)
        ys = tf.reduce_sum(tf.math.sin(x0) + tf.nn.sigmoid(x1))
    assert tape0.gradient(ys, x0).numpy() == np.float32(1.0)  # cos(0)
    assert tape1.gradient(ys, x1).numpy() == np.float32(0.25)  # sigmoid'(0)

    x = tf.Variable(1.0)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = x * x * x
        dy_dx = t1.gradient(y, x)
    d2y_dx2 = t2.gradient(dy_dx, x)
    assert (dy_dx.numpy(), d2y_dx2.numpy()) == (np.float32(3.0), np.float32(6.0))  # 3x^2, 6x


def test_input_gradient_regularization() -> None:
    tf.random.set_seed(0)
    x = tf.constant(draws(7, 5))
    layer = tf.keras.layers.Dense(10, activation=tf.nn.relu)
    with tf.GradientTape() as t2:
        with tf.GradientTape(watch_accessed_variables=False) as t1:
            t1.watch(x)
            out = tf.reduce_sum(layer(x) ** 2)
        g1 = t1.gradient(out, x)
        g1_mag = tf.norm(g1)
    dg1_mag = t2.gradient(g1_mag, layer.trainable_variables)
    assert [var.shape for var in dg1_mag] == [(5, 10), (10,)]

    # out = sum relu(XW + b)^2, so G = dout/dX = 2 R W^T with R = relu(XW + b); |G| its norm.
    # With U = G / |G| and M = [XW + b > 0]: d|G|/dW = 2 X^T (M * UW) + 2 U^T R, d|G|/db = 2 1^T (M * UW).
    X = x.numpy().astype(np.float64)
    W, b = weights(layer)
    Z = X @ W + b
    R, M = np.maximum(Z, 0), (Z > 0).astype(np.float64)
    G = 2 * R @ W.T
    U = G / np.linalg.norm(G)
    np.testing.assert_allclose(g1.numpy(), G, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g1_mag.numpy(), np.linalg.norm(G), rtol=1e-5)
    np.testing.assert_allclose(dg1_mag[0].numpy(), 2 * X.T @ (M * (U @ W)) + 2 * U.T @ R, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dg1_mag[1].numpy(), 2 * (M * (U @ W)).sum(axis=0), rtol=1e-4, atol=1e-6)


def test_jacobian_of_a_scalar_source() -> None:
    x = tf.linspace(-10.0, 10.0, 200 + 1)
    delta = tf.Variable(0.0)
    with tf.GradientTape() as tape:
        y = tf.nn.sigmoid(x + delta)
    dy_dx = tape.jacobian(y, delta)
    assert str(y.shape) == "(201,)" and str(dy_dx.shape) == "(201,)"
    s = sigmoid(x.numpy().astype(np.float64))
    np.testing.assert_allclose(dy_dx.numpy(), s * (1 - s), rtol=1e-5, atol=1e-7)


def test_jacobian_of_a_tensor_source() -> None:
    tf.random.set_seed(0)
    x = tf.constant(draws(7, 5))
    layer = tf.keras.layers.Dense(10, activation=tf.nn.relu)
    with tf.GradientTape(persistent=True) as tape:
        y = layer(x)
    assert y.shape == (7, 10) and layer.kernel.shape == (5, 10)
    j = tape.jacobian(y, layer.kernel)
    assert j.shape == (7, 10, 5, 10)
    # y[b, o] = relu(sum_i x[b, i] W[i, o] + bias[o]): dy[b, o]/dW[i, k] = [z[b, o] > 0] x[b, i] [o = k]
    W, bias = weights(layer)
    mask = (x.numpy() @ W + bias > 0).astype(np.float64)
    expected = np.einsum("bo,bi,ok->boik", mask, x.numpy().astype(np.float64), np.eye(10))
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-6, atol=1e-7)
    g = tape.gradient(y, layer.kernel)
    assert g.shape == (5, 10)
    delta = tf.reduce_max(abs(g - tf.reduce_sum(j, axis=[0, 1]))).numpy()
    assert delta < 1e-3


def test_hessian_and_a_newton_step() -> None:
    tf.random.set_seed(0)
    x = tf.constant(draws(7, 5))
    layer1 = tf.keras.layers.Dense(8, activation=tf.nn.relu)
    layer2 = tf.keras.layers.Dense(6, activation=tf.nn.relu)
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            loss = tf.reduce_mean(layer2(layer1(x)) ** 2)
        g = t1.gradient(loss, layer1.kernel)
    h = t2.jacobian(g, layer1.kernel)
    assert layer1.kernel.shape == (5, 8) and h.shape == (5, 8, 5, 8)

    # Piecewise, Y = M2 * ((M1 * (X W1 + b1)) W2 + b2) is linear in W1 and loss = mean(Y^2), so
    # dY[b, o]/dW1[i, k] = M2[b, o] W2[k, o] M1[b, k] X[b, i] and the Hessian is (2 / 42) J^T J.
    X = x.numpy().astype(np.float64)
    W1, b1 = weights(layer1)
    W2, b2 = weights(layer2)
    Z1 = X @ W1 + b1
    M1 = (Z1 > 0).astype(np.float64)
    Z2 = np.maximum(Z1, 0) @ W2 + b2
    M2 = (Z2 > 0).astype(np.float64)
    J = np.einsum("bo,ko,bk,bi->boik", M2, W2, M1, X).reshape(42, 40)
    hessian = 2 / 42 * J.T @ J
    gradient = 2 / 42 * J.T @ np.maximum(Z2, 0).reshape(42)
    np.testing.assert_allclose(g.numpy().reshape(40), gradient, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(h.numpy().reshape(40, 40), hessian, rtol=1e-4, atol=1e-6)

    n_params = tf.reduce_prod(layer1.kernel.shape)
    assert n_params.dtype == tf.int32 and int(n_params) == 40
    g_vec = tf.reshape(g, [n_params, 1])
    h_mat = tf.reshape(h, [n_params, n_params])
    eye_eps = tf.eye(h_mat.shape[0]) * 1e-3
    update = tf.linalg.solve(h_mat + eye_eps, g_vec)
    before = layer1.kernel.numpy().astype(np.float64)
    _ = layer1.kernel.assign_sub(tf.reshape(update, layer1.kernel.shape))
    step = np.linalg.solve(hessian + 1e-3 * np.eye(40), gradient)
    np.testing.assert_allclose(layer1.kernel.numpy(), before - step.reshape(5, 8), rtol=1e-3, atol=1e-4)


def _elu_stack(seed: int):
    tf.random.set_seed(seed)
    x = tf.constant(draws(7, 5))
    layer1 = tf.keras.layers.Dense(8, activation=tf.nn.elu)
    layer2 = tf.keras.layers.Dense(6, activation=tf.nn.elu)
    return x, layer1, layer2


def test_batch_jacobian() -> None:
    x, layer1, layer2 = _elu_stack(0)
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = layer2(layer1(x))
    assert y.shape == (7, 6)
    j = tape.jacobian(y, x)
    assert j.shape == (7, 6, 7, 5)
    # dy[b, o]/dx[c, i] = [b = c] elu'(z2[b, o]) sum_k W2[k, o] elu'(z1[b, k]) W1[i, k]
    X = x.numpy().astype(np.float64)
    W1, b1 = weights(layer1)
    W2, b2 = weights(layer2)
    Z1 = X @ W1 + b1
    Z2 = elu(Z1) @ W2 + b2
    per_example = np.einsum("bo,ko,bk,ik->boi", elu_slope(Z2), W2, elu_slope(Z1), W1)
    expected = np.einsum("boi,bc->boci", per_example, np.eye(7))
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-5, atol=1e-6)

    # the plot helper's reorder, pad and reshape
    lim = tf.reduce_max(abs(j))
    patches = tf.pad(tf.transpose(j, [1, 0, 3, 2]), [[0, 0], [1, 1], [0, 0], [1, 1]], constant_values=-lim)
    assert patches.shape == (6, 9, 5, 9)
    np.testing.assert_array_equal(patches.numpy()[:, [0, -1]], -lim.numpy())
    np.testing.assert_array_equal(patches.numpy()[:, 1:-1, :, 1:-1], np.transpose(j.numpy(), (1, 0, 3, 2)))
    s = patches.shape
    assert tf.reshape(patches, [s[0] * s[1], s[2] * s[3]]).shape == (54, 45)

    j_sum = tf.reduce_sum(j, axis=2)
    j_select = tf.einsum("bxby->bxy", j)
    assert j_sum.shape == (7, 6, 5) and j_select.shape == (7, 6, 5)
    jb = tape.batch_jacobian(y, x)
    assert jb.shape == (7, 6, 5)
    np.testing.assert_allclose(jb.numpy(), per_example, rtol=1e-5, atol=1e-6)
    error = tf.reduce_max(abs(jb - j_sum))
    assert error < 1e-3
    np.testing.assert_array_equal(j_select.numpy(), jb.numpy())


def test_batch_normalization_couples_the_examples() -> None:
    x, layer1, layer2 = _elu_stack(1)
    bn = tf.keras.layers.BatchNormalization()
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = layer2(bn(layer1(x), training=True))
    j = tape.jacobian(y, x)
    assert j.shape == (7, 6, 7, 5)
    assert tape.batch_jacobian(y, x).shape == (7, 6, 5)

    W1, b1 = weights(layer1)
    W2, b2 = weights(layer2)

    def forward(inputs: np.ndarray) -> np.ndarray:
        h = elu(inputs @ W1 + b1)
        normed = (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + 0.001)  # gamma 1, beta 0
        return elu(normed @ W2 + b2)

    X = x.numpy().astype(np.float64)
    np.testing.assert_allclose(y.numpy(), forward(X), rtol=1e-4, atol=1e-5)
    # the Jacobian by central differences of that float64 forward pass
    step = 1e-6
    numeric = np.zeros((7, 6, 7, 5))
    for c in range(7):
        for i in range(5):
            e = np.zeros_like(X)
            e[c, i] = step
            numeric[:, :, c, i] = (forward(X + e) - forward(X - e)) / (2 * step)
    np.testing.assert_allclose(j.numpy(), numeric, rtol=1e-3, atol=1e-4)
    off_diagonal = numeric.copy()
    off_diagonal[np.arange(7), :, np.arange(7), :] = 0
    assert np.abs(off_diagonal).max() > 1e-3  # the slices are not diagonal
    # one training step moved the moving statistics 1% of the way to the batch's
    h = elu(X @ W1 + b1)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * h.mean(axis=0), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.99 + 0.01 * h.var(axis=0), rtol=1e-5)


# ====================================================================== the names they use
SUPPORTED = [
    "Variable", "GradientTape", "constant", "zeros", "float32", "reduce_mean", "reduce_sum",
    "reduce_max", "reduce_prod", "linspace", "stop_gradient", "custom_gradient", "clip_by_norm",
    "Module", "function", "TensorSpec", "norm", "reshape", "eye", "transpose", "pad", "einsum",
    "UnconnectedGradients", "random.normal", "math.sin", "nn.softplus", "nn.sigmoid", "nn.relu",
    "nn.elu", "image.adjust_contrast", "linalg.solve", "keras.layers.Dense",
    "keras.layers.BatchNormalization",
]  # fmt: skip


@pytest.mark.parametrize("name", SUPPORTED)
def test_every_name_the_guides_use_exists(name: str) -> None:
    obj = tf
    for part in name.split("."):
        obj = getattr(obj, part)
    assert obj is not None


def test_a_name_outside_the_dialect_says_so() -> None:
    with pytest.raises(AttributeError, match=r"tf\.while_loop is not supported by the chainrule TensorFlow dialect"):
        tf.while_loop  # noqa: B018
    with pytest.raises(AttributeError, match=r"tf\.image\.flip_left_right is not supported"):
        tf.image.flip_left_right  # noqa: B018
    with pytest.raises(AttributeError, match=r"tf\.nn\.conv2d is not supported"):
        tf.nn.conv2d  # noqa: B018
    assert not hasattr(tf, "no_such_thing")
