"""chainrule.tf: TensorFlow's names, defaults, printing and documented behaviours."""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf

DIALECT = Path(cr.__file__).resolve().parent / "tf"


# ---------------------------------------------------------------- a name map, no AD logic
def _imported_modules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def test_the_dialect_imports_nothing_from_the_engine_internals() -> None:
    files = sorted(DIALECT.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for name in _imported_modules(path):
            parts = name.split(".")
            if parts[0] != "chainrule" or len(parts) < 2:
                continue
            where = f"{path.relative_to(DIALECT.parent)} imports {name}"
            assert parts[1] not in ("core", "ops"), where
            if parts[1] == "transforms":
                assert len(parts) == 2 or parts[2] in __import__("chainrule").transforms.__all__, where
            assert not any(p.startswith("_") for p in parts[1:2]), where


def test_the_dialect_defines_no_derivative_rules() -> None:
    for path in DIALECT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for forbidden in ("Primitive", "def_vjp", "def_jvp", "backprop", "bind"):
            assert forbidden not in names | attrs, f"{path.name} uses {forbidden}"


def test_the_importer_sees_the_dialect_modules() -> None:
    # The check above must be able to fail: it reads real import statements.
    modules = _imported_modules(DIALECT / "_tape.py")
    assert "chainrule.tf._tensor" in modules and "chainrule" in modules


# ---------------------------------------------------------------- dtypes
def test_float32_and_int32_defaults() -> None:
    assert tf.constant(3.0).dtype == tf.float32
    assert tf.Variable(3.0).dtype == np.float32
    assert tf.ones((2, 3)).dtype == tf.float32 and tf.zeros(3).dtype == tf.float32
    assert tf.random.normal((2,)).dtype == tf.float32
    assert tf.random.uniform((2,), minval=-1, maxval=1).dtype == tf.float32
    assert tf.constant(3).dtype == tf.int32 and tf.Variable(3).dtype == tf.int32
    assert tf.constant([1, 2.5]).dtype == tf.float32
    assert tf.constant(2**40).dtype == tf.int64
    assert tf.constant(True).dtype == tf.bool
    assert tf.range(3).dtype == tf.int32 and tf.range(0.0, 1.0, 0.5).dtype == tf.float32
    assert tf.linspace(0.0, 1.0, 3).dtype == tf.float32
    assert tf.one_hot([0, 1], depth=2).dtype == tf.float32
    assert tf.fill((2,), 1.5).dtype == tf.float32
    # NumPy arrays keep their dtype, as in TensorFlow.
    assert tf.constant(np.array([1.0])).dtype == tf.float64
    assert tf.Variable([[1, 2, 3, 4]], dtype=tf.float32).dtype == tf.float32


def test_dtype_objects() -> None:
    assert repr(tf.float32) == "tf.float32" and str(tf.float32) == "<dtype: 'float32'>"
    assert tf.float32 == np.float32 and tf.float32 != tf.float64 and tf.float32 != None  # noqa: E711
    assert tf.as_dtype("int64") is tf.int64 and tf.as_dtype(np.dtype("float64")) is tf.float64
    assert np.zeros(2, dtype=tf.float32).dtype == np.float32
    with pytest.raises(TypeError):
        tf.as_dtype("complex64")


def test_operands_take_the_tensor_dtype() -> None:
    x = tf.Variable(3.0)
    assert ([2.0, 3.0] * x).dtype == tf.float32
    assert (np.array([1, 2]) - x).dtype == tf.float32  # NumPy's int64 array converted, as in TF
    assert (x * np.float64(2.0)).dtype == tf.float32
    assert (x**2).dtype == tf.float32 and (2 ** x).dtype == tf.float32
    assert (tf.constant(3) * 2).dtype == tf.int32


def test_mixing_dtypes_is_an_error() -> None:
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32.*float64"):
        tf.constant(1.0) + tf.constant(1.0, dtype=tf.float64)
    with pytest.raises(TypeError, match="int32"):
        tf.constant(3) * 2.5
    with pytest.raises(ValueError, match="requested dtype float64"):
        tf.convert_to_tensor(tf.constant(1.0), dtype=tf.float64)


# ---------------------------------------------------------------- printing
def test_tensors_print_as_tensorflow() -> None:
    assert str(tf.constant(6.0)) == "tf.Tensor(6.0, shape=(), dtype=float32)"
    assert repr(tf.constant(6.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=6.0>"
    assert str(tf.constant([24.0, 4.0])) == "tf.Tensor([24.  4.], shape=(2,), dtype=float32)"
    assert repr(tf.constant([1, 2])) == "<tf.Tensor: shape=(2,), dtype=int32, numpy=array([1, 2], dtype=int32)>"
    assert str(tf.constant([[1.0, 2.0], [3.0, 4.0]])) == (
        "tf.Tensor(\n[[1. 2.]\n [3. 4.]], shape=(2, 2), dtype=float32)"
    )
    assert repr(tf.constant([[1.0], [2.0]])) == (
        "<tf.Tensor: shape=(2, 1), dtype=float32, numpy=\narray([[1.],\n       [2.]], dtype=float32)>"
    )
    assert str(tf.constant(True)) == "tf.Tensor(True, shape=(), dtype=bool)"


def test_variables_print_as_tensorflow() -> None:
    assert repr(tf.Variable([2.0, 3.0], name="x")) == (
        "<tf.Variable 'x:0' shape=(2,) dtype=float32, numpy=array([2., 3.], dtype=float32)>"
    )
    assert str(tf.Variable(3.0)) == "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=3.0>"
    assert tf.Variable(1.0).name == "Variable:0" and tf.Variable(1.0, name="w").name == "w:0"


def test_fstrings_format_the_numpy_value() -> None:
    assert f"{tf.constant(6.0)}" == "6.0"
    assert f"{tf.constant([24.0, 4.0])}" == "[24.  4.]"
    assert f"{tf.constant(2.5):.2f}" == "2.50"
    assert f"{tf.Variable([[18.0, 4.0], [4.0, 0.0]])}" == "[[18.  4.]\n [ 4.  0.]]"


def test_numpy_and_shape() -> None:
    scalar = tf.constant(6.0).numpy()
    assert isinstance(scalar, np.float32) and scalar == 6.0
    v = tf.Variable([1.0, 2.0])
    copy = v.numpy()
    v.assign([5.0, 5.0])
    assert copy.tolist() == [1.0, 2.0]
    s = tf.ones((4, 3)).shape
    assert s == (4, 3) and str(s) == "(4, 3)" and repr(s) == "TensorShape([4, 3])" and s.as_list() == [4, 3]


def test_dialect_tensors_are_native_tensors() -> None:
    x = tf.constant([1.0, 2.0])
    assert isinstance(x, cr.Tensor) and isinstance(tf.Variable(1.0), cr.Variable)
    assert isinstance(x + 1, tf.Tensor) and isinstance(x[0], tf.Tensor) and isinstance(-x, tf.Tensor)
    assert not isinstance(tf.Variable(1.0), tf.Tensor)  # as in TensorFlow
    # TensorFlow's concrete class names, which code such as the autodiff guide prints
    assert type(x).__name__ == "EagerTensor" and type(x + 1).__name__ == "EagerTensor"
    assert type(tf.Variable(1.0)).__name__ == "ResourceVariable"
    assert type(tf.Variable(1.0) + 1.0).__name__ == "EagerTensor"
    assert float(cr.sum(x)) == 3.0  # the native API takes them
    with pytest.raises(TypeError, match="does not support item assignment"):
        x[0] = 1.0


def test_numpy_sees_the_values_as_in_tensorflow() -> None:
    # TensorFlow: a NumPy function or a direct ufunc call on a tensor computes on its values and
    # returns a NumPy array (no tape follows it); `ndarray op tensor` is the tensor's operator.
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        x2 = x**2
        y = np.mean(x2, axis=0)
        assert type(y) is np.ndarray and y.dtype == np.float32
        np.testing.assert_array_equal(y, [5.0, 10.0])
        y = tf.reduce_mean(y, axis=0)
    assert tape.gradient(y, x) is None  # the guide's cell: NumPy left the tape
    t = tf.constant([1.0, 4.0])
    assert type(np.sin(t)) is np.ndarray and type(np.add(t, t)) is np.ndarray
    assert type(np.multiply(2.0, t)) is np.ndarray
    np.testing.assert_array_equal(np.concatenate([t, t]), [1.0, 4.0, 1.0, 4.0])
    for result in (np.array([2.0, 3.0]) * t, np.float64(2.0) * t, t * np.array([2.0, 3.0]),
                   np.array([[1.0, 0.0], [0.0, 1.0]]) @ t, np.array([1.0, 5.0]) - t):  # fmt: skip
        assert isinstance(result, tf.Tensor) and result.dtype == tf.float32
    np.testing.assert_array_equal((np.array([2.0, 3.0]) / t).numpy(), [2.0, 0.75])
    np.testing.assert_array_equal((np.array([2.0, 3.0]) > t).numpy(), [True, False])
    np.testing.assert_array_equal((np.array([2.0, 3.0]) <= t).numpy(), [False, True])


# ---------------------------------------------------------------- GradientTape
def test_a_second_gradient_on_a_non_persistent_tape_raises_tensorflows_error() -> None:
    x = tf.Variable(-2.0)
    with tf.GradientTape() as tape:
        y = 2 * x
        f = y**2
    assert float(tape.gradient(f, x)) == -16.0
    with pytest.raises(RuntimeError) as info:
        tape.gradient(f, y)
    assert str(info.value) == (
        "A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians)"
    )
    with tf.GradientTape() as tape:
        f = x * x
    tape.jacobian(f, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(f, x)


def test_a_persistent_tape_answers_again() -> None:
    x = tf.Variable(-2.0)
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    assert float(tape.gradient(f, x)) == -16.0 and float(tape.gradient(f, y)) == -8.0


def test_what_the_tape_watches() -> None:
    x, b = tf.Variable(-2.0, trainable=False), tf.constant(1.5)
    with tf.GradientTape() as tape:
        y = (x + b) ** 2 + 2 * x * b
    assert tape.gradient(y, [x, b]) == [None, None]

    x, b = tf.Variable(-2.0), tf.Variable(1.5) + 1.0  # a Variable plus a number is a constant
    with tf.GradientTape() as tape:
        y = (x + b) ** 2 + 2 * x * b
    gx, gb = tape.gradient(y, [x, b])
    assert float(gx) == 6.0 and gb is None

    x, b = tf.Variable(-2.0), tf.Variable(1.5)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = (x + b) ** 2 + 2 * x * b
    gx, gb = tape.gradient(y, [x, b])
    assert float(gx) == 2.0 and gb is None
    assert tape.watched_variables() == (x,)

    c = tf.constant(5.0)
    with tf.GradientTape() as tape:
        tape.watch(c)
        y = c**3
    assert float(tape.gradient(y, c)) == 75.0


def test_variables_created_inside_the_tape_are_watched() -> None:
    with tf.GradientTape() as tape:
        v = tf.Variable(2.0)
        y = v**3
    assert float(tape.gradient(y, v)) == 12.0


def test_watched_variables_in_creation_order() -> None:
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        b * a
    ids = [id(w) for w in tape.watched_variables()]
    assert id(a) in ids and id(b) in ids and ids.index(id(a)) < ids.index(id(b))


def test_unconnected_gradients() -> None:
    x, z = tf.Variable([1.0, 2.0]), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(x * x)
    assert tape.gradient(y, z) is None
    zero = tape.gradient(y, z, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert isinstance(zero, tf.Tensor) and float(zero) == 0.0 and zero.dtype == tf.float32


def test_nested_tapes_give_second_derivatives() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x**3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert (float(dy), float(d2y)) == (27.0, 18.0)
    assert str(d2y) == "tf.Tensor(18.0, shape=(), dtype=float32)"


def test_stop_recording_and_reset() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x**3
        with tape.stop_recording():
            assert float(tape.gradient(y, x)) == 27.0
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        tape.reset()
        z = x * 4.0
    assert tape.gradient(y, x) is None and float(tape.gradient(z, x)) == 4.0


def test_gradient_structures_and_jacobians() -> None:
    w, b = tf.Variable(tf.ones((2, 3)), name="w"), tf.Variable(tf.zeros(3), name="b")
    with tf.GradientTape(persistent=True) as tape:
        y = tf.matmul([[1.0, 2.0]], w) + b
        loss = tf.reduce_sum(y**2)
    grads = tape.gradient(loss, {"w": w, "b": b})
    assert set(grads) == {"w", "b"} and grads["w"].shape == (2, 3) and isinstance(grads["b"], tf.Tensor)
    np.testing.assert_allclose(grads["b"].numpy(), 2 * y.numpy().ravel())
    jac = tape.jacobian(y, w)
    assert jac.shape == (1, 3, 2, 3) and isinstance(jac, tf.Tensor)
    xs = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        ys = xs * xs
    batch = tape.batch_jacobian(ys, xs)
    assert batch.shape == (2, 2, 2)
    np.testing.assert_array_equal(batch.numpy()[1], [[6.0, 0.0], [0.0, 8.0]])


def test_forward_accumulator_and_stop_gradient() -> None:
    x = tf.Variable(2.0)
    with tf.autodiff.ForwardAccumulator(x, tf.constant(1.0)) as acc:
        y = x**3
        z = x * tf.stop_gradient(x)
    assert repr(acc.jvp(y)) == "<tf.Tensor: shape=(), dtype=float32, numpy=12.0>"
    assert float(acc.jvp(z)) == 2.0  # the stopped factor carries no tangent
    with tf.GradientTape() as tape:
        z = x * tf.stop_gradient(x)
    assert float(tape.gradient(z, x)) == 2.0


def test_custom_gradient_replaces_the_derivative() -> None:
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(dy):
            return dy * (1 - 1 / (1 + e))

        return tf.math.log(1 + e), grad

    x = tf.Variable([0.0, 10.0])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(log1pexp(x))
    expected = [0.5, 1 - 1 / (1 + np.exp(10.0))]
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)  # a second sweep
    np.testing.assert_allclose(float(y), np.log(2) + np.log1p(np.exp(10.0)), rtol=1e-6)


def test_custom_gradient_with_two_inputs() -> None:
    @tf.custom_gradient
    def scaled_product(a, b):
        def grad(dy):
            return 10 * dy * b, dy * a

        return a * b, grad

    a, b = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = scaled_product(a, b)
    assert float(y) == 6.0
    ga, gb = tape.gradient(y, [a, b])
    assert (float(ga), float(gb)) == (30.0, 2.0)


def test_custom_gradient_in_forward_mode_and_at_second_order() -> None:
    @tf.custom_gradient
    def cube(x):
        def grad(dy):
            return dy * 3 * x * x

        return x**3, grad

    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(cube(x))
        g = inner.gradient(y, x)
    np.testing.assert_array_equal(g.numpy(), [3.0, 12.0])
    np.testing.assert_array_equal(outer.gradient(g, x).numpy(), [6.0, 12.0])  # through grad_fn
    with tf.GradientTape() as tape:
        y = cube(x)
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy(), [[3.0, 0.0], [0.0, 12.0]])
    # Forward mode through a custom gradient is refused (chainrule.custom_vjp, as in JAX), not
    # computed from f's own operations, which would ignore grad_fn.
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        with tf.autodiff.ForwardAccumulator(x, tf.constant([1.0, 0.0])):
            cube(x)


# ---------------------------------------------------------------- ops
def test_reductions_with_axis_and_keepdims() -> None:
    x = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert tf.reduce_sum(x).numpy() == 21.0
    np.testing.assert_array_equal(tf.reduce_sum(x, axis=0).numpy(), [5.0, 7.0, 9.0])
    assert tf.reduce_mean(x, axis=1, keepdims=True).shape == (2, 1)
    np.testing.assert_array_equal(tf.reduce_max(x, axis=-1).numpy(), [3.0, 6.0])
    np.testing.assert_array_equal(tf.reduce_min(x, axis=[0, 1], keepdims=True).numpy(), [[1.0]])
    assert tf.reduce_prod(x).numpy() == 720.0
    np.testing.assert_allclose(tf.reduce_logsumexp(x, axis=1).numpy(), np.log(np.exp(x.numpy()).sum(1)), rtol=1e-6)
    assert tf.reduce_mean(tf.constant([1, 2])).numpy() == 1  # integer mean truncates, as in TF
    assert tf.reduce_mean(tf.constant([1, 2])).dtype == tf.int32


def test_cast_reshape_concat_stack_one_hot() -> None:
    np.testing.assert_array_equal(tf.cast([1.7, -1.7], tf.int32).numpy(), [1, -1])
    assert tf.reshape(tf.range(6), (2, -1)).shape == (2, 3)
    assert tf.transpose(tf.ones((2, 3))).shape == (3, 2)
    assert tf.concat([tf.ones((1, 2)), tf.zeros((2, 2))], axis=0).shape == (3, 2)
    assert tf.stack([tf.ones(2), tf.zeros(2)], axis=1).shape == (2, 2)
    np.testing.assert_array_equal(tf.one_hot([2, -1, 3], depth=3).numpy(), [[0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert tf.one_hot([1], depth=2, axis=0).shape == (2, 1)
    np.testing.assert_array_equal(tf.where([True, False], tf.constant([1.0, 2.0]), 0.0).numpy(), [1.0, 0.0])


def test_cast_is_differentiable_between_floats() -> None:
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.cast(x, tf.float64) ** 2
    g = tape.gradient(y, x)
    assert g.dtype == tf.float32 and float(g) == 4.0


def test_softmax_cross_entropy_is_per_example_with_the_right_gradients() -> None:
    labels = tf.Variable([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    logits = tf.Variable([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    with tf.GradientTape() as tape:
        loss = tf.nn.softmax_cross_entropy_with_logits(labels, logits)
    z = logits.numpy().astype(np.float64)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.numpy(), -(labels.numpy() * logp).sum(1), rtol=1e-6)
    assert loss.shape == (2,)
    g_labels, g_logits = tape.gradient(loss, [labels, logits])
    np.testing.assert_allclose(g_logits.numpy(), np.exp(logp) - labels.numpy(), atol=1e-6)
    np.testing.assert_allclose(g_labels.numpy(), -logp, rtol=1e-6)  # TF differentiates the labels too
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits([0, 2], logits)
    np.testing.assert_allclose(sparse.numpy(), [-logp[0, 0], -logp[1, 2]], rtol=1e-6)
    with pytest.raises(TypeError, match="integer class indices"):
        tf.nn.sparse_softmax_cross_entropy_with_logits([0.0, 2.0], logits)


def test_activations() -> None:
    x = tf.constant([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(tf.nn.relu(x).numpy(), [0.0, 0.0, 2.0])
    np.testing.assert_allclose(tf.nn.sigmoid(x).numpy(), 1 / (1 + np.exp([1.0, 0.0, -2.0])), rtol=1e-6)
    np.testing.assert_allclose(tf.reduce_sum(tf.nn.softmax(x)).numpy(), 1.0, rtol=1e-6)


def test_linalg() -> None:
    h = tf.constant([[18.0, 4.0], [4.0, 0.0]])
    e, v = tf.linalg.eig(h)
    assert e.dtype == np.complex64 and v.shape == (2, 2)
    np.testing.assert_allclose(np.sort(e.real), np.linalg.eigvalsh(h.numpy()), rtol=1e-6)
    values, vectors = tf.linalg.eigh(h)
    assert values.dtype == tf.float32 and isinstance(values, tf.Tensor)
    np.testing.assert_allclose(values.numpy(), [-0.8488578, 18.848858], rtol=1e-6)
    a = tf.Variable([[2.0, 1.0], [1.0, 3.0]])
    with tf.GradientTape(persistent=True) as tape:
        d = tf.linalg.det(a)
        s = tf.reduce_sum(tf.linalg.inv(a))
    assert float(d) == pytest.approx(5.0)
    # d det / dA = det * inv(A)^T
    np.testing.assert_allclose(tape.gradient(d, a).numpy(), 5.0 * np.linalg.inv(a.numpy()).T, rtol=1e-5)
    assert tape.gradient(s, a).shape == (2, 2)


def test_random_set_seed_repeats_the_draws() -> None:
    tf.random.set_seed(3)
    first = (tf.random.normal((3,)).numpy(), tf.random.uniform((2,), minval=-20, maxval=20).numpy())
    tf.random.set_seed(3)
    second = (tf.random.normal((3,)).numpy(), tf.random.uniform((2,), minval=-20, maxval=20).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert np.all(np.abs(first[1]) <= 20)
    ints = tf.random.uniform((50,), minval=0, maxval=3, dtype=tf.int32)
    assert ints.dtype == tf.int32 and set(ints.numpy().tolist()) <= {0, 1, 2}


def test_integer_sums_and_products_keep_their_dtype() -> None:
    # TensorFlow keeps int32 (NumPy would widen to int64)
    assert tf.reduce_sum(tf.constant([1, 2, 3])).dtype == tf.int32
    assert tf.reduce_prod(tf.ones((2, 3)).shape).dtype == tf.int32
    assert int(tf.reduce_prod([3, 4])) == 12


def test_norm_vector_and_matrix_forms() -> None:
    m = np.array([[3.0, -4.0], [1.0, 1.0]], dtype=np.float32)
    t = tf.constant(m)
    np.testing.assert_allclose(tf.norm(t).numpy(), np.sqrt(27.0), rtol=1e-6)  # all entries
    np.testing.assert_allclose(tf.norm(t, axis=1).numpy(), [5.0, np.sqrt(2.0)], rtol=1e-6)
    np.testing.assert_allclose(tf.norm(t, ord=1, axis=0).numpy(), [4.0, 5.0])
    np.testing.assert_allclose(tf.norm(t, ord=np.inf, axis=1).numpy(), [4.0, 1.0])
    np.testing.assert_allclose(tf.norm(t, ord=3, axis=1).numpy(), [(27 + 64) ** (1 / 3), 2 ** (1 / 3)], rtol=1e-6)
    np.testing.assert_allclose(tf.norm(t, ord="fro", axis=[0, 1]).numpy(), np.sqrt(27.0), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(t, ord=1, axis=[0, 1]).numpy(), 5.0)  # largest column sum
    np.testing.assert_allclose(tf.norm(t, ord=np.inf, axis=[0, 1]).numpy(), 7.0)  # largest row sum
    assert tf.norm(t, axis=1, keepdims=True).shape == (2, 1)
    assert tf.norm(t, ord=1, axis=[0, 1], keepdims=True).shape == (1, 1)
    with pytest.raises(NotImplementedError, match="spectral"):
        tf.norm(t, ord=2, axis=[0, 1])
    with pytest.raises(ValueError, match="'ord' must be a supported vector norm"):
        tf.norm(t, ord=-1)
    with pytest.raises(ValueError, match="matrix norm"):
        tf.norm(t, ord="fro", axis=0)
    x = tf.Variable([3.0, 4.0])
    with tf.GradientTape() as tape:
        n = tf.norm(x)
    np.testing.assert_allclose(tape.gradient(n, x).numpy(), [0.6, 0.8], rtol=1e-6)  # x / |x|


def test_clip_by_norm_scales_down_only_and_is_finite_at_zero() -> None:
    np.testing.assert_allclose(tf.clip_by_norm(tf.constant([3.0, 4.0]), 10.0).numpy(), [3.0, 4.0])
    rows = tf.clip_by_norm(tf.constant([[3.0, 4.0], [0.3, 0.4]]), 1.0, axes=[1]).numpy()
    np.testing.assert_allclose(rows, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    x = tf.Variable([3.0, 4.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.clip_by_norm(x, 1.0) * [1.0, 0.0])
    # y = x1 / |x|: dy/dx = (|x|^2 e1 - x1 x) / |x|^3 = [16, -12] / 125
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [16 / 125, -12 / 125], rtol=1e-6)
    zero = tf.Variable([0.0, 0.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.clip_by_norm(zero, 1.0))
    np.testing.assert_array_equal(tape.gradient(y, zero).numpy(), [1.0, 1.0])  # t * 1 / max(0, 1)
    with pytest.raises(TypeError, match="floating"):
        tf.clip_by_norm(tf.constant([1, 2]), 1.0)


def test_pad_constant_and_its_errors() -> None:
    x = tf.Variable([[1.0, 2.0]])
    with tf.GradientTape() as tape:
        y = tf.pad(x, [[1, 0], [0, 2]], constant_values=tf.constant(7.0))
    np.testing.assert_array_equal(y.numpy(), [[7, 7, 7, 7], [1, 2, 7, 7]])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[1.0, 1.0]])
    assert tf.pad(tf.constant([1, 2]), [[1, 1]]).numpy().tolist() == [0, 1, 2, 0]
    with pytest.raises(NotImplementedError, match="mode='REFLECT'"):
        tf.pad(x, [[0, 0], [1, 1]], mode="REFLECT")
    with pytest.raises(ValueError, match=r"paddings must have shape \[2, 2\]"):
        tf.pad(x, [[1, 1]])


def test_tensordot_forms() -> None:
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    b = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_allclose(tf.tensordot(tf.constant(a), tf.constant(b), axes=1).numpy(), np.tensordot(a, b, 1))
    np.testing.assert_allclose(
        tf.tensordot(tf.constant(a), tf.constant(b), axes=[[1, 2], [1, 0]]).numpy(), np.tensordot(a, b, ([1, 2], [1, 0]))
    )
    assert tf.tensordot(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]), axes=0).shape == (2, 2)
    with pytest.raises(ValueError, match="cannot contract"):
        tf.tensordot(tf.constant(a), tf.constant(b), axes=[[0], [0]])


def test_elu_and_its_jacobian_through_the_dialect() -> None:
    x = tf.constant([[-1.0, 2.0], [0.5, -3.0]])
    np.testing.assert_allclose(tf.nn.elu(x).numpy(), np.where(x.numpy() > 0, x.numpy(), np.expm1(x.numpy())), rtol=1e-6)
    assert tf.keras.activations.get("elu") is tf.nn.elu
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.elu(x)
    j = tape.jacobian(y, x)  # a batched sweep: the rule runs on the dialect's tensors
    slope = np.where(x.numpy() > 0, 1.0, np.exp(x.numpy()))
    np.testing.assert_allclose(j.numpy(), np.einsum("ij,ik,jl->ijkl", slope, np.eye(2), np.eye(2)), rtol=1e-6)


def test_module_finds_variables_and_submodules_as_tensorflow_does() -> None:
    class Leaf(tf.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.w = tf.Variable(1.0, name="w")
            self.b = tf.Variable(0.0, name="b", trainable=False)

    class Tree(tf.Module):
        def __init__(self):
            super().__init__()
            self.z_first = tf.Variable(5.0, name="a")
            self.children = [Leaf(), {"k": Leaf(name="keyed")}]
            self.again = self.children[0]  # the same leaf twice is counted once

    tree = Tree()
    # own attributes sorted by name first, then each submodule's, recursively
    assert tree.name == "tree" and [m.name for m in tree.submodules] == ["leaf", "keyed"]
    assert [v.name for v in tree.variables] == ["a:0", "b:0", "w:0", "b:0", "w:0"]
    assert [v.name for v in tree.trainable_variables] == ["a:0", "w:0", "w:0"]
    assert [v.name for v in tree.non_trainable_variables] == ["b:0", "b:0"]
    assert isinstance(tree.variables, tuple)
    with pytest.raises(ValueError, match="not a valid module name"):
        tf.Module(name="a b")
    assert tf.Module().name == "module"


def test_tensor_spec_and_function_signatures() -> None:
    assert repr(tf.TensorSpec(None)) == "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"
    assert repr(tf.TensorSpec([2, None], tf.int32, name="x")) == "TensorSpec(shape=(2, None), dtype=tf.int32, name='x')"

    @tf.function(input_signature=[tf.TensorSpec([None, 2])])
    def total(x):
        return tf.reduce_sum(x)

    assert total([[1, 2], [3, 4]]).numpy() == np.float32(10.0)  # ints converted to the spec's float32
    with pytest.raises(TypeError, match=r"has shape \(3,\)"):
        total(tf.constant([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="input_signature describes 1"):
        total(tf.ones((1, 2)), tf.ones((1, 2)))
    with pytest.raises(NotImplementedError, match="get_concrete_function"):
        total.get_concrete_function()
    assert tf.function(lambda v: v + 1)(1.0) == 2.0  # no signature: the function as it is


def test_batch_normalization_inference_and_frozen() -> None:
    bn = tf.keras.layers.BatchNormalization(momentum=0.5, epsilon=0.0)
    batch = tf.constant([[1.0, 10.0], [3.0, 30.0]])
    out = bn(batch, training=True).numpy()
    np.testing.assert_allclose(out, [[-1.0, -1.0], [1.0, 1.0]], rtol=1e-6)  # (x - mean) / std
    assert [v.name for v in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.name for v in bn.trainable_variables] == ["gamma", "beta"]
    np.testing.assert_allclose(bn.moving_mean.numpy(), [1.0, 10.0])  # 0 * 0.5 + 2 * 0.5, ...
    np.testing.assert_allclose(bn.moving_variance.numpy(), [1.0, 50.5])  # 1 * 0.5 + var * 0.5
    # inference (no training flag): (x - moving_mean) / sqrt(moving_variance)
    np.testing.assert_allclose(bn(batch).numpy(), [[0.0, 0.0], [2.0, 20 / np.sqrt(50.5)]], rtol=1e-5)
    bn.trainable = False  # a frozen layer normalizes with its moving statistics even when training
    np.testing.assert_allclose(bn(batch, training=True).numpy(), bn(batch).numpy())
    np.testing.assert_allclose(bn.moving_mean.numpy(), [1.0, 10.0])


def test_layers_take_training_only_when_their_call_does_and_add_weight_both_orders() -> None:
    dense = tf.keras.layers.Dense(1, kernel_initializer="ones")
    assert dense(tf.ones((1, 2)), training=True).numpy().tolist() == [[2.0]]

    class Scale(tf.keras.layers.Layer):
        def build(self, input_shape):
            self.k3 = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="k3")
            self.k2 = self.add_weight("k2", (input_shape[-1],), "zeros")

        def call(self, inputs, training=None):
            return inputs * self.k3 + (1.0 if training else 0.0)

    layer = Scale(name="scale")
    assert layer(tf.constant([[2.0]]), training=True).numpy().tolist() == [[3.0]]
    assert [(v.name, v.path) for v in layer.weights] == [("k3", "scale/k3"), ("k2", "scale/k2")]
    np.testing.assert_array_equal(layer.k2.numpy(), [0.0])
    v = tf.keras.Variable(np.array([1.0, 2.0], dtype=np.float32), name="v")
    assert (v.name, v.path, v.trainable) == ("v", "v", True)


# ---------------------------------------------------------------- keras
def test_dense_builds_on_first_call_with_glorot_kernel_and_zero_bias() -> None:
    tf.random.set_seed(0)
    layer = tf.keras.layers.Dense(256, activation="relu", name="dense_check")
    assert not layer.built and layer.trainable_variables == []
    out = layer(np.ones((2, 784)))  # float64 NumPy input is cast to float32, as Keras does
    assert layer.built and out.shape == (2, 256) and out.dtype == tf.float32
    kernel, bias = layer.trainable_variables
    # Keras 3's names: the variable is `kernel`, located at `dense_check/kernel`
    assert kernel.shape == (784, 256) and kernel.name == "kernel" and kernel.path == "dense_check/kernel"
    assert bias.name == "bias" and type(kernel).__name__ == "Variable" and isinstance(kernel, tf.keras.Variable)
    assert repr(bias).startswith("<Variable path=dense_check/bias, shape=(256,), dtype=float32, value=[0. 0.")
    limit = np.sqrt(6 / (784 + 256))
    assert np.abs(kernel.numpy()).max() <= limit and np.abs(kernel.numpy()).max() > 0.9 * limit
    assert abs(kernel.numpy().std() - limit / np.sqrt(3)) < 0.05 * limit  # uniform's spread
    assert np.all(bias.numpy() == 0)
    with pytest.raises(ValueError, match="incompatible"):
        layer(np.ones((2, 10)))


def test_sequential_trainable_variables_in_layer_order() -> None:
    model = tf.keras.models.Sequential()
    model.add(tf.keras.layers.Dense(4, activation="relu"))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(2))
    assert model.trainable_variables == []
    model(tf.ones((3, 5)))
    assert [tuple(v.shape) for v in model.trainable_variables] == [(5, 4), (4,), (4, 2), (2,)]
    assert all(isinstance(v, tf.Variable) for v in model.trainable_variables)


def test_sgd_accepts_the_deprecated_lr_with_a_warning_and_updates_exactly() -> None:
    with pytest.warns(UserWarning, match="`lr` argument is deprecated"):
        opt = tf.keras.optimizers.SGD(lr=0.5)
    assert opt.learning_rate == 0.5
    w = tf.Variable([1.0, -2.0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w**2)
    opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])  # w - 0.5 * 2w
    assert w.dtype == tf.float32 and w.grad is None and opt.iterations == 1


def test_apply_gradients_skips_missing_gradients_with_a_warning() -> None:
    a, b = tf.Variable(1.0, name="a"), tf.Variable(1.0, name="b")
    opt = tf.keras.optimizers.SGD(learning_rate=0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply_gradients([(tf.constant(1.0), a), (None, b)])
    assert float(a) == pytest.approx(0.9) and float(b) == 1.0
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, a)])


def test_adam_first_step_moves_by_the_learning_rate() -> None:
    w = tf.Variable([1.0, -1.0])
    opt = tf.keras.optimizers.Adam(learning_rate=0.1)
    opt.apply_gradients([(tf.constant([3.0, -0.5]), w)])
    np.testing.assert_allclose(w.numpy(), [0.9, -0.9], rtol=1e-5)


def _train(loss_fn, target, steps: int = 60) -> list[float]:
    tf.random.set_seed(1)
    model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"), tf.keras.layers.Dense(3)])
    opt = tf.keras.optimizers.Adam(learning_rate=0.05)
    x = tf.random.normal((32, 4))
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(target(x), model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses


def test_keras_training_decreases_the_mse() -> None:
    losses = _train(tf.keras.losses.MeanSquaredError(), lambda x: tf.matmul(x, tf.ones((4, 3))))
    assert losses[-1] < losses[0] / 10


def test_keras_training_decreases_the_cross_entropy() -> None:
    def target(x):
        return tf.one_hot(tf.argmax(x[:, :3], axis=1), depth=3)

    losses = _train(tf.keras.losses.CategoricalCrossentropy(from_logits=True), target)
    assert losses[-1] < losses[0] / 4


def test_keras_losses_match_their_formulas() -> None:
    y_true = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]], dtype=np.float32)
    mse = tf.keras.losses.MeanSquaredError()(y_true, logits)
    assert float(mse) == pytest.approx(float(((logits - y_true) ** 2).mean()), rel=1e-6)
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    cce = tf.keras.losses.CategoricalCrossentropy(from_logits=True)(y_true, logits)
    assert float(cce) == pytest.approx(float(-(y_true * logp).sum(1).mean()), rel=1e-6)
    probs = np.exp(logp)
    cce_p = tf.keras.losses.CategoricalCrossentropy()(y_true, probs)
    assert float(cce_p) == pytest.approx(float(cce), rel=1e-5)
    sparse = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)([1, 0], logits)
    assert float(sparse) == pytest.approx(float(cce), rel=1e-6)
    per_example = tf.keras.losses.CategoricalCrossentropy(from_logits=True, reduction="none")(y_true, logits)
    assert per_example.shape == (2,)


def test_mnist_load_data_reads_a_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule import data
    from chainrule.tf.keras.datasets import mnist

    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    for key, name in data.MNIST_FILES.items():
        array = images.astype(np.uint8) if "images" in key else np.array([3, 1, 4], np.uint8)
        data.write_idx(tmp_path / name, array)
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.dtype == np.uint8 and x_train.shape == (3, 28, 28)
    np.testing.assert_array_equal(x_train, images)
    assert y_test.tolist() == [3, 1, 4] and y_train.dtype == np.uint8

    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=images[:2].astype(np.uint8), y_train=np.array([1, 2]),
             x_test=images[2:].astype(np.uint8), y_test=np.array([3]))  # fmt: skip
    (x_train, y_train), _ = mnist.load_data(str(npz))
    assert x_train.shape == (2, 28, 28) and y_train.tolist() == [1, 2]


def test_mnist_load_data_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.tf.keras.datasets import mnist

    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="CHAINRULE_MNIST.*downloads nothing|downloads nothing"):
        mnist.load_data()
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist.load_data()
    os.makedirs(tmp_path / "empty")
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="missing"):
        mnist.load_data()


def test_keras_warnings_are_not_raised_for_plain_training() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _train(tf.keras.losses.MeanSquaredError(), lambda x: x[:, :3], steps=2)
