"""GradientTape, Variable and constant with TensorFlow's semantics (seeds 000, 003 and 004)."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import chainrule as cr
import chainrule.tape as tape_module
from chainrule.tape import GradientTape, UnconnectedGradients, Variable, constant


# ---------------------------------------------------------------- seed 000
def test_seed000_first_and_second_derivative() -> None:
    x = Variable(3.0)
    with GradientTape() as tape:
        y = x**2
    assert float(tape.gradient(y, x)) == 6.0
    with GradientTape() as tape2:
        with GradientTape() as tape1:
            y = x**3
        dy_dx = tape1.gradient(y, x)
    d2y = tape2.gradient(dy_dx, x)
    assert float(dy_dx) == 27.0 and float(d2y) == 18.0


def test_seed000_gradient_and_hessian_of_two_variables() -> None:
    x = Variable([2.0, 3.0])
    with GradientTape() as tape:
        f = x[0] ** 2 * (x[0] + x[1])
    assert float(f) == 20.0
    np.testing.assert_array_equal(tape.gradient(f, x).numpy(), [24.0, 4.0])
    with GradientTape() as tape2:
        with GradientTape() as tape1:
            f = x[0] ** 2 * (x[0] + x[1])
        grad_f = tape1.gradient(f, x)
    hess = tape2.jacobian(grad_f, x)
    np.testing.assert_array_equal(hess.numpy(), [[18.0, 4.0], [4.0, 0.0]])
    eig = np.sort(np.linalg.eigvals(hess.numpy()))
    np.testing.assert_allclose(eig, [9 - np.sqrt(97), 9 + np.sqrt(97)])


def test_seed000_linear_layer_gradients_and_jacobian() -> None:
    rng = np.random.default_rng(0)
    x = Variable([[1.0, 2.0, 3.0, 4.0]], name="x")
    w = Variable(rng.uniform(-20, 20, (4, 3)), name="w")
    b = Variable(np.ones(3), name="b")
    label = constant([[1.0, 2.0, 3.0]])
    with GradientTape(persistent=True) as tape:
        y = x @ w + b
        loss = cr.mean((y - label) ** 2)
    dy_dx = tape.gradient(y, x)
    jac = tape.jacobian(y, x)
    dloss_dy = tape.gradient(loss, y)
    dloss_dx = tape.gradient(loss, x)
    W = w.numpy()
    np.testing.assert_allclose(dy_dx.numpy(), W.sum(axis=1)[None, :])
    assert jac.shape == (1, 3, 1, 4)
    np.testing.assert_allclose(jac.numpy()[0, :, 0, :], W.T)
    r = y.numpy() - label.numpy()
    np.testing.assert_allclose(dloss_dy.numpy(), 2 * r / 3)
    np.testing.assert_allclose(dloss_dx.numpy(), (2 * r / 3) @ W.T)


# ---------------------------------------------------------------- seed 003
def test_seed003_watch_a_constant() -> None:
    x = constant(5.0)
    with GradientTape() as tape:
        tape.watch(x)
        y = x**3
    assert tape.gradient(y, x).numpy() == 75.0


def test_seed003_trainable_variables_are_watched_and_others_are_not() -> None:
    x = Variable(6.0, trainable=True)
    with GradientTape() as tape:
        y = x**3
    assert tape.gradient(y, x).numpy() == 108.0
    for source in (constant(6.0), Variable(6.0, trainable=False)):
        with GradientTape() as tape:
            y = source**3
        assert tape.gradient(y, source) is None


def test_seed003_watch_accessed_variables_false() -> None:
    x = Variable(3.0, trainable=True)
    with GradientTape(watch_accessed_variables=False) as tape:
        y = x**3
    assert tape.gradient(y, x) is None
    assert tape.watched_variables() == ()


def test_seed003_nested_tapes() -> None:
    x = Variable(3.0, trainable=True)
    with GradientTape() as tape1:
        with GradientTape() as tape2:
            y = x**3
        order_1 = tape2.gradient(y, x)
    order_2 = tape1.gradient(order_1, x)
    assert order_2.numpy() == 18.0


def test_seed003_persistent_and_non_persistent() -> None:
    a, b = Variable(6.0), Variable(2.0)
    with GradientTape(persistent=True) as tape:
        y1 = a**2
        y2 = b**3
    assert tape.gradient(y1, a).numpy() == 12.0
    assert tape.gradient(y2, b).numpy() == 12.0
    with GradientTape() as tape:
        y1 = a**2
        y2 = b**3
    assert tape.gradient(y1, a).numpy() == 12.0
    with pytest.raises(RuntimeError, match="A non-persistent GradientTape can only be used to compute one set of gradients \\(or jacobians\\)"):
        tape.gradient(y2, b)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(y2, b)


def test_seed003_stop_recording() -> None:
    x = Variable(3.0)
    with GradientTape() as tape:
        y = x**3
        with tape.stop_recording():
            assert tape.gradient(y, x).numpy() == 27.0
            z = x * 2  # not recorded
    a, b = Variable(6.0), Variable(2.0)
    with GradientTape(persistent=True) as tape:
        y1 = a**2
        with tape.stop_recording():
            assert tape.gradient(y1, a).numpy() == 12.0
        y2 = b**3
        with tape.stop_recording():
            assert tape.gradient(y2, b).numpy() == 12.0
            w = b * 5
    assert tape.gradient(w, b) is None
    assert z.grad_fn is None
    with pytest.raises(ValueError, match="not recording"):
        tape.stop_recording()


def test_seed003_linear_regression_step_converges() -> None:
    x_train = np.linspace(0, 1, 20)
    y_train = x_train * 6.12 + 1.35
    a, b = Variable(0.3), Variable(0.7)

    def step(real_x, real_y):
        with GradientTape(persistent=True) as tape:
            pred_y = a * real_x + b
            reg_loss = cr.mean((real_y - pred_y) ** 2)
        a_gradients, b_gradients = tape.gradient(reg_loss, (a, b))
        a.assign_sub(a_gradients * 0.5)
        b.assign_sub(b_gradients * 0.5)

    for _ in range(400):
        step(x_train, y_train)
    assert abs(a.numpy() - 6.12) < 1e-3 and abs(b.numpy() - 1.35) < 1e-3


def test_watched_variables_in_order_of_construction() -> None:
    first, second, third = Variable(1.0), Variable(2.0), Variable(3.0, trainable=False)
    with GradientTape() as tape:
        _ = second * first
        tape.watch(third)
        tape.watch(constant(1.0))
    assert tape.watched_variables() == (first, second, third)


# ---------------------------------------------------------------- seed 004
def test_seed004_basic_and_vector_cases() -> None:
    x = Variable(-2.0)
    with GradientTape() as tape:
        y = x**2
    assert tape.gradient(y, x).numpy() == -4.0
    rng = np.random.default_rng(1)
    w, b = Variable(rng.standard_normal((3, 2))), Variable(np.ones(2))
    xv = Variable([[-2.0, 1.0, 3.0]])
    with GradientTape() as tape:
        y = xv @ w + b
        loss = cr.mean(y**2)
    dw, db = tape.gradient(loss, [w, b])
    yv = xv.numpy() @ w.numpy() + b.numpy()
    np.testing.assert_allclose(dw.numpy(), xv.numpy().T @ (yv / 1.0))
    np.testing.assert_allclose(db.numpy(), yv[0])


def test_seed004_untrainable_and_constants_give_none() -> None:
    x = Variable(-2.0, trainable=False)
    b = constant(1.5)
    with GradientTape() as tape:
        y = (x + b) ** 2 + 2 * x * b
    assert tape.gradient(y, [x, b]) == [None, None]
    x, b = Variable(-2.0), Variable(1.5)
    with GradientTape() as tape:
        y = (x + b) ** 2 + 2 * x * b
    dx, db = tape.gradient(y, [x, b])
    assert (dx.numpy(), db.numpy()) == (2.0, -5.0)


def test_seed004_variable_arithmetic_is_no_longer_a_variable() -> None:
    x = Variable(-2.0)
    b = Variable(1.5) + 1.0
    assert type(b) is cr.Tensor
    with GradientTape() as tape:
        y = (x + b) ** 2 + 2 * x * b
    dx, db = tape.gradient(y, [x, b])
    assert dx.numpy() == 6.0 and db is None


def test_seed004_watch_only_what_is_asked() -> None:
    x, b = Variable(-2.0), Variable(1.5)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = (x + b) ** 2 + 2 * x * b
    dx, db = tape.gradient(y, [x, b])
    assert dx.numpy() == 2.0 and db is None


def test_seed004_gradients_with_respect_to_intermediate_values() -> None:
    x = Variable(-2.0)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    dy, dx = tape.gradient(f, [y, x])
    assert (dy.numpy(), dx.numpy()) == (-8.0, -16.0)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    tape.gradient(f, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(f, y)
    with GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(x)
        y = 2 * x
        f = y**2
    assert tape.gradient(f, x).numpy() == -16.0
    assert tape.gradient(f, y).numpy() == -8.0
    del tape


def test_seed004_non_scalar_targets_are_summed() -> None:
    x = Variable(3.0)
    with GradientTape() as tape:
        y = cr.tensor([2.0, 3.0]) * x**2
    assert tape.gradient(y, x).numpy() == 30.0
    x = Variable([1.0, 2.0])
    with GradientTape() as tape:
        y = cr.sum(cr.tensor([2.0, 3.0]) * x**2)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [4.0, 12.0])


# ---------------------------------------------------------------- gradient() options
def test_targets_lists_output_gradients_and_unconnected() -> None:
    x, z = Variable([1.0, 2.0]), Variable(5.0)
    with GradientTape(persistent=True) as tape:
        y1 = x * x
        y2 = x * 3
    np.testing.assert_array_equal(tape.gradient([y1, y2], x).numpy(), [5.0, 7.0])
    g = tape.gradient(y1, x, output_gradients=cr.tensor([10.0, -1.0]))
    np.testing.assert_array_equal(g.numpy(), [20.0, -4.0])
    assert tape.gradient(y1, z) is None
    zero = tape.gradient(y1, z, unconnected_gradients=UnconnectedGradients.ZERO)
    assert zero.numpy() == 0.0 and zero.shape == ()
    assert tape.gradient(y1, z, unconnected_gradients="zero").numpy() == 0.0
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y1, z, unconnected_gradients="sometimes")
    with pytest.raises(ValueError, match="output gradient has shape"):
        tape.gradient(y1, x, output_gradients=cr.tensor([1.0]))


def test_a_target_that_is_its_own_source_has_gradient_one_even_unwatched() -> None:
    # d(x)/d(x) is the identity whether the tape saw x or not (TensorFlow's answer; the
    # autodiff guide's `if x > 0.0: result = v0` cell relies on it).
    v0, v1 = Variable(2.0), Variable(2.0)
    c = constant([1.0, 2.0])
    frozen = Variable(3.0, trainable=False)
    with GradientTape(persistent=True) as tape:
        result = v0  # no op reads v0: the tape never sees it
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None
    np.testing.assert_array_equal(tape.gradient(c, c).numpy(), [1.0, 1.0])
    assert float(tape.gradient(frozen, frozen)) == 1.0
    # as many seeds as times the source appears among the targets, each its own output gradient
    np.testing.assert_array_equal(tape.gradient([c, c], c).numpy(), [2.0, 2.0])
    og = cr.tensor([5.0, 7.0])
    g = tape.gradient(c, c, output_gradients=og)
    np.testing.assert_array_equal(g.numpy(), [5.0, 7.0])
    assert g is not og
    # an integer target still has no gradient
    n = constant([1, 2])
    assert tape.gradient(n, n) is None
    # the identity Jacobians
    np.testing.assert_array_equal(tape.jacobian(c, c).numpy(), np.eye(2))
    m = constant([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(tape.batch_jacobian(m, m).numpy(), np.stack([np.eye(2)] * 2))


def test_an_unwatched_target_among_others_adds_only_its_seed() -> None:
    x = Variable(2.0)
    with GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        y = x * 3  # not recorded: x is not watched
    assert float(tape.gradient([y, x], x)) == 1.0
    assert tape.gradient(y, x) is None
    # a tensor with a history outside this tape
    a = cr.tensor(2.0, requires_grad=True)
    b = a * 3
    with GradientTape() as tape:
        pass
    assert float(tape.gradient(b, b)) == 1.0
    # watched and recorded: the engine's own answer, seed plus the recorded path
    with GradientTape() as tape:
        tape.watch(x)
        y = x * 3
    assert float(tape.gradient([y, x], x)) == 4.0


def test_sources_keep_their_structure() -> None:
    a, b, c = Variable(1.0), Variable(2.0), Variable(3.0)
    with GradientTape() as tape:
        y = a * b * c
    out = tape.gradient(y, {"first": a, "rest": [b, (c,)]})
    assert set(out) == {"first", "rest"}
    assert isinstance(out["rest"], list) and isinstance(out["rest"][1], tuple)
    assert (float(out["first"]), float(out["rest"][0]), float(out["rest"][1][0])) == (6.0, 3.0, 2.0)


def test_watch_rejects_non_tensors_and_skips_integers() -> None:
    with GradientTape() as tape:
        with pytest.raises(TypeError, match="expected a tensor"):
            tape.watch(3.0)
        with pytest.warns(UserWarning, match="cannot have a gradient"):
            tape.watch(cr.tensor([1, 2]))


def test_float32_variables_keep_their_dtype() -> None:
    x = Variable([1.0, 2.0], dtype="float32")
    with GradientTape() as tape:
        y = cr.sum(x**3)
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])


# ---------------------------------------------------------------- jacobians
def test_jacobian_shapes_and_values() -> None:
    x = Variable(np.arange(6.0).reshape(2, 3) / 10)
    with GradientTape(persistent=True) as tape:
        y = cr.sin(x)[:, None, :] * cr.tensor([1.0, 2.0])[None, :, None]  # (2, 2, 3)
        s = cr.sum(x)
    jac = tape.jacobian(y, x)
    assert jac.shape == (2, 2, 3, 2, 3)
    looped = tape.jacobian(y, x, experimental_use_pfor=False)
    np.testing.assert_allclose(jac.numpy(), looped.numpy())
    expected = np.zeros((2, 2, 3, 2, 3))
    for i in range(2):
        for k in range(2):
            for j in range(3):
                expected[i, k, j, i, j] = (k + 1) * np.cos(x.numpy()[i, j])
    np.testing.assert_allclose(jac.numpy(), expected)
    assert tape.jacobian(s, x).shape == (2, 3)
    assert tape.jacobian(y, Variable(1.0)) is None
    zero = tape.jacobian(y, Variable(1.0), unconnected_gradients=UnconnectedGradients.ZERO)
    assert zero.shape == (2, 2, 3)


def test_jacobian_is_one_batched_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = tape_module.backprop

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tape_module, "backprop", counting)
    x = Variable(np.linspace(0.1, 1.0, 10))
    with GradientTape(persistent=True) as tape:
        y = cr.tanh(x) * cr.sum(x)
    tape.jacobian(y, x)
    assert len(calls) == 1
    tape.jacobian(y, x, experimental_use_pfor=False)
    assert len(calls) == 11


def test_batch_jacobian() -> None:
    rng = np.random.default_rng(3)
    x = Variable(rng.standard_normal((4, 3)))
    w = constant(rng.standard_normal((3, 2)))
    with GradientTape() as tape:
        y = cr.tanh(x @ w)  # (4, 2): example b depends on x[b] only
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (4, 2, 3)
    t = np.tanh(x.numpy() @ w.numpy())
    for b in range(4):
        np.testing.assert_allclose(bj.numpy()[b], (1 - t[b] ** 2)[:, None] * w.numpy().T)
    with GradientTape() as tape:
        y = x * 2
    with pytest.raises(ValueError, match="batch"):
        tape.batch_jacobian(y, Variable(np.ones((3, 3))))


# ---------------------------------------------------------------- higher order
def test_third_derivative_through_nested_tapes() -> None:
    x = Variable(0.7)
    with GradientTape() as t3:
        with GradientTape() as t2:
            with GradientTape() as t1:
                y = cr.sin(x) * cr.exp(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    v = 0.7
    assert np.isclose(float(d1), np.exp(v) * (np.sin(v) + np.cos(v)))
    assert np.isclose(float(d2), 2 * np.exp(v) * np.cos(v))
    assert np.isclose(float(d3), 2 * np.exp(v) * (np.cos(v) - np.sin(v)))


def test_a_persistent_tape_differentiates_its_own_gradient() -> None:
    x = Variable(2.0)
    with GradientTape(persistent=True) as tape:
        y = x**3
        dy = tape.gradient(y, x)
    assert float(tape.gradient(dy, x)) == 12.0


# ---------------------------------------------------------------- memory and threads
def test_records_are_freed_after_use_reset_and_del() -> None:
    x = Variable(2.0)
    with GradientTape() as tape:
        y = cr.sin(x)
    node = y.grad_fn
    tape.gradient(y, x)
    assert node.released
    with GradientTape(persistent=True) as tape:
        y = cr.sin(x)
    node = y.grad_fn
    tape.gradient(y, x)
    tape.gradient(y, x)
    assert not node.released
    tape.reset()
    assert node.released and tape.gradient(y, x) is None
    with GradientTape(persistent=True) as tape:
        y = cr.sin(x)
    node = y.grad_fn
    ref = weakref.ref(tape)
    del tape
    assert ref() is None  # no reference cycle keeps the tape alive
    assert node.released
    gc.collect()


def test_nested_tapes_keep_what_the_outer_one_needs() -> None:
    x = Variable(1.5)
    with GradientTape() as outer:
        with GradientTape() as inner:
            y = cr.exp(x) * x
        node = y.grad_fn
        d = inner.gradient(y, x)
        assert not node.released  # the outer tape recorded it too
    outer.gradient(d, x)
    assert node.released


def test_tapes_are_thread_local() -> None:
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def work(name: str, power: float) -> None:
        x = Variable(2.0)
        other = Variable(3.0)
        with GradientTape(persistent=True) as tape:
            barrier.wait()
            y = x**power
            barrier.wait()
            z = other * 1.0
            barrier.wait()
        results[name] = (float(tape.gradient(y, x)), tape.gradient(z, x), float(tape.gradient(z, other)),
                         len(tape._nodes))  # fmt: skip

    threads = [threading.Thread(target=work, args=("a", 2.0)), threading.Thread(target=work, args=("b", 3.0))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Each tape holds its own two ops only, whatever the other thread did meanwhile.
    assert results["a"] == (4.0, None, 1.0, 2)
    assert results["b"] == (12.0, None, 1.0, 2)


# ---------------------------------------------------------------- Variable and constant
def test_variable_api() -> None:
    v = Variable([1.0, 2.0], name="w")
    assert v.name == "w" and v.trainable and v.dtype == np.float64
    assert v.assign([3.0, 4.0]) is v
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])
    assert v.assign_add(cr.tensor([1.0, 1.0])) is v
    assert v.assign_sub(0.5) is v
    np.testing.assert_array_equal(v.numpy(), [3.5, 4.5])
    copy = v.numpy()
    v.assign([0.0, 0.0])
    assert copy[0] == 3.5  # numpy() is a snapshot
    assert "Variable 'w'" in repr(v) and "shape=(2,)" in repr(v)
    with pytest.raises(ValueError, match="does not fit"):
        v.assign([1.0, 2.0, 3.0])
    assert Variable(1).dtype.kind == "i"
    assert Variable(lambda: np.zeros(2)).shape == (2,)
    assert Variable(2.0, trainable=False).trainable is False


def test_constant_api() -> None:
    c = constant([1, 2], dtype="float32")
    assert type(c) is cr.Tensor and c.dtype == np.float32 and not c.requires_grad
    np.testing.assert_array_equal(constant(2.0, shape=(2, 2)).numpy(), np.full((2, 2), 2.0))
    assert constant([1.0, 2.0, 3.0, 4.0], shape=(2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match="do not fill"):
        constant([1.0, 2.0, 3.0], shape=(2, 2))
