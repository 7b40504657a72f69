"""State inside a compiled function: ``tf.Variable.assign*`` in a ``tf.function``, parameters
updated in place (``no_grad``, ``optimizer.step()``) in a ``torch.compile``d step, and
``cr.Variable`` / in-place writes under ``cr.jit``. Every test runs the same training step eagerly
and compiled, several calls each, and asks for the same losses, parameters and gradients (the
writes must happen at every call, not only while tracing)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch

RNG = np.random.default_rng(7)
X = RNG.normal(size=(24, 3)).astype(np.float32)
Y = (X @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
LABELS = RNG.integers(0, 4, size=24)
CALLS = 5


def _same(eager: list, compiled: list) -> None:
    assert len(eager) == len(compiled)
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- TensorFlow
class _Linear(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable(tf.ones([3, 1]), name="w")
        self.b = tf.Variable(tf.zeros([1]), name="b")

    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


def _tf_manual(compiled: bool) -> tuple[list, list, int]:
    model = _Linear()

    def train(x, y, learning_rate):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(y - model(x)))
        dw, db = tape.gradient(loss, [model.w, model.b])
        model.w.assign_sub(learning_rate * dw)
        model.b.assign_sub(learning_rate * db)
        return loss

    step = tf.function(train) if compiled else train
    losses = [step(tf.constant(X), tf.constant(Y), 0.1) for _ in range(CALLS)]
    traces = step.experimental_get_tracing_count() if compiled else 0
    return losses, [model.w.numpy(), model.b.numpy()], traces


def test_tf_function_assign_sub_updates_the_variables_at_every_call() -> None:
    e_losses, e_vars, _ = _tf_manual(False)
    c_losses, c_vars, traces = _tf_manual(True)
    _same(e_losses, c_losses)
    _same(e_vars, c_vars)
    assert traces == 1
    # (the losses go down: the variables really moved between calls)
    assert float(c_losses[-1]) < float(c_losses[0])


@pytest.mark.parametrize("make", [
    lambda: tf.keras.optimizers.SGD(learning_rate=0.05),
    lambda: tf.keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    lambda: tf.keras.optimizers.Adam(learning_rate=0.02),
], ids=["sgd", "momentum", "adam"])  # fmt: skip
def test_tf_function_keras_optimizer_apply_gradients(make) -> None:
    def run(compiled: bool) -> tuple[list, list]:
        tf.keras.utils.set_random_seed(3) if hasattr(tf.keras, "utils") else None
        model = tf.keras.Sequential([tf.keras.layers.Dense(5, activation="relu"), tf.keras.layers.Dense(4)])
        model(tf.constant(X))  # build the weights eagerly, as Keras users do before training
        for v, k in zip(model.trainable_variables, range(10)):
            v.assign(np.linspace(-0.5, 0.5, int(np.prod(v.shape)), dtype=np.float32).reshape(v.shape) * (k + 1))
        opt = make()
        loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        step = tf.function(train_step) if compiled else train_step
        losses = [step(tf.constant(X), tf.constant(LABELS)) for _ in range(CALLS)]
        return losses, [v.numpy() for v in model.trainable_variables]

    e_losses, e_vars = run(False)
    c_losses, c_vars = run(True)
    _same(e_losses, c_losses)
    _same(e_vars, c_vars)


def test_tf_function_counter_and_reads_after_an_assign() -> None:
    counter = tf.Variable(0, dtype=tf.int64)
    total = tf.Variable(0.0)

    @tf.function
    def tick(x):
        counter.assign_add(1)
        total.assign(total + tf.reduce_sum(x))
        return total * 2.0  # reads the value just assigned

    outs = [float(tick(tf.constant([1.0, 2.0]))) for _ in range(3)]
    assert int(counter.numpy()) == 3
    assert float(total.numpy()) == 9.0
    assert outs == [6.0, 12.0, 18.0]
    assert tick.experimental_get_tracing_count() == 1


def test_tf_function_assign_a_constant_every_call() -> None:
    v = tf.Variable([5.0, 5.0])

    @tf.function
    def reset_then_add(x):
        v.assign([0.0, 0.0])
        v.assign_add(x)
        return tf.reduce_sum(v)

    assert float(reset_then_add(tf.constant([1.0, 2.0]))) == 3.0
    v.assign([100.0, 100.0])
    assert float(reset_then_add(tf.constant([3.0, 4.0]))) == 7.0
    np.testing.assert_array_equal(v.numpy(), [3.0, 4.0])


def test_tf_function_batch_norm_moving_statistics_move_at_every_call() -> None:
    def run(compiled: bool) -> list:
        bn = tf.keras.layers.BatchNormalization(momentum=0.5)
        bn(tf.constant(X), training=False)

        def f(x):
            return tf.reduce_sum(bn(x, training=True))

        g = tf.function(f) if compiled else f
        for k in range(3):
            g(tf.constant(X * (k + 1)))
        return [bn.moving_mean.numpy(), bn.moving_variance.numpy()]

    _same(run(False), run(True))


# ---------------------------------------------------------------- PyTorch
def _torch_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))


def _torch_run(compiled: bool, kind: str) -> tuple[list, list, list]:
    model = _torch_model()
    opt = None
    if kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    elif kind == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
    x, y = torch.tensor(X), torch.tensor(Y)

    def step(x, y):
        if opt is not None:
            opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        if opt is None:
            with torch.no_grad():
                for p in model.parameters():
                    p -= 0.05 * p.grad
                    p.grad = None
        else:
            opt.step()
        return loss

    f = torch.compile(step) if compiled else step
    losses = [f(x, y).detach() for _ in range(CALLS)]
    params = [p.detach().numpy().copy() for p in model.parameters()]
    grads = [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]
    return losses, params, grads


@pytest.mark.parametrize("kind", ["manual", "sgd", "adam"])
def test_torch_compile_training_step_updates_parameters_at_every_call(kind: str) -> None:
    e_losses, e_params, e_grads = _torch_run(False, kind)
    c_losses, c_params, c_grads = _torch_run(True, kind)
    _same(e_losses, c_losses)
    _same(e_params, c_params)
    assert [g is None for g in c_grads] == [g is None for g in e_grads]
    _same([g for g in e_grads if g is not None], [g for g in c_grads if g is not None])
    assert float(c_losses[-1]) < float(c_losses[0])


def test_torch_compile_step_is_a_program_not_an_eager_fallback() -> None:
    model = _torch_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = torch.compile(step)
    f(torch.tensor(X), torch.tensor(Y))
    lowered = f._jitted.lower(torch.tensor(X), torch.tensor(Y))
    text = lowered.as_text()
    assert "update[" in text and "matmul" in text
    (entry,) = f._jitted._cache.values()
    assert entry.eager is None


def test_torch_compile_gradients_accumulated_across_calls_match_eager() -> None:
    # No zero_grad: the second call adds into the .grad the first left. The traced call saw
    # no .grad, so later calls run the function as it is (values equal to eager).
    def run(compiled: bool) -> list:
        model = _torch_model()

        def accumulate(x, y):
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        f = torch.compile(accumulate) if compiled else accumulate
        for _ in range(3):
            f(torch.tensor(X), torch.tensor(Y))
        return [p.grad.numpy().copy() for p in model.parameters()]

    _same(run(False), run(True))


def test_torch_compile_lr_scheduler_changes_take_effect() -> None:
    def run(compiled: bool) -> list:
        model = _torch_model()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step(x, y):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        f = torch.compile(step) if compiled else step
        for _ in range(4):
            f(torch.tensor(X), torch.tensor(Y))
            sched.step()
        return [p.detach().numpy().copy() for p in model.parameters()]

    _same(run(False), run(True))


# ---------------------------------------------------------------- native cr.jit
def test_cr_variable_assign_inside_jit() -> None:
    w = cr.Variable(np.array([1.0, -1.0]), name="w")

    @cr.jit
    def step(x):
        with cr.GradientTape() as tape:
            loss = cr.sum((w * x - 1.0) ** 2)
        w.assign_sub(0.1 * tape.gradient(loss, w))
        return loss

    ref = np.array([1.0, -1.0])
    x = np.array([2.0, 3.0])
    for _ in range(4):
        loss = step(cr.tensor(x))
        expected = np.sum((ref * x - 1.0) ** 2)
        ref = ref - 0.1 * 2 * (ref * x - 1.0) * x
        np.testing.assert_allclose(float(loss), expected)
        np.testing.assert_allclose(w.numpy(), ref)
    assert step.cache_size() == 1


def test_in_place_update_of_a_parameter_under_no_grad_inside_jit() -> None:
    p = cr.tensor([1.0, 2.0], requires_grad=True)

    @cr.jit
    def nudge(x):
        with cr.no_grad():
            p.add_(x)
        return p * 1.0

    nudge(cr.tensor([1.0, 1.0]))
    out = nudge(cr.tensor([0.5, 0.5]))
    np.testing.assert_allclose(p.detach().numpy(), [2.5, 3.5])
    np.testing.assert_allclose(out.detach().numpy(), [2.5, 3.5])


def test_in_place_update_under_no_grad_keeps_the_parameter_a_leaf_that_requires_grad() -> None:
    # Tracing records the write as an op: the trace must not leave the parameter without its
    # requires_grad flag (the next backward would then give it no gradient).
    w = cr.tensor([1.0, -1.0], requires_grad=True)

    def step(x):
        with cr.no_grad():
            w.sub_(0.1 * x * w)
        return cr.sum(w.detach())

    cr.jit(step)(cr.tensor([1.0, 2.0]))
    assert w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(w.numpy(), [0.9, -0.8])
    cr.sum(w * w).backward()
    np.testing.assert_allclose(w.grad.numpy(), [1.8, -1.6])
