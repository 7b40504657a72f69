"""A state tensor's value read into Python while tracing is an error, not a stale constant.

Before, ``float(v)`` of a Variable inside ``tf.function`` (or ``.item()`` of a parameter inside
``torch.compile``/``cr.jit``) gave the trace-time value, and every later call replayed it even
after the state changed: a silently wrong result. TensorFlow raises for such reads in a graph.
"""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf
from chainrule import torch as ctorch
from chainrule.transforms.jit import ConcretizationError


@pytest.mark.parametrize(
    "read,what",
    [(lambda v: float(v), r"float\(\)"),
     # Before, these three gave 4.0 at every call, also after v.assign(3.0) (wanted 6.0): the
     # copy made at trace time was a constant of the program.
     (lambda v: tf.constant(v.numpy() * 2.0), r"numpy\(\)"),
     (lambda v: tf.constant(np.array(v) * 2.0), r"np.asarray"),
     (lambda v: tf.constant(np.asarray(v).copy() * 2.0), r"np.asarray")],
    ids=["float", "numpy()", "np.array", "np.asarray"],
)
def test_reads_of_a_variable_inside_tf_function_are_refused(read, what) -> None:
    v = tf.Variable(2.0)

    @tf.function
    def f(x):
        return x * read(v)

    with pytest.raises(ConcretizationError, match=what + r".*Variable.*trace-time value"):
        f(tf.constant(3.0))
    assert float(v) == 2.0  # nothing written; eager reads still work
    read(v)  # (and outside a trace each read works as before)


def test_the_op_form_of_a_variable_is_read_at_every_call() -> None:
    v = tf.Variable(2.0)

    @tf.function
    def g(x):
        return x * v  # the op form reads the variable at every call

    assert float(g(tf.constant(3.0))) == 6.0
    v.assign(5.0)
    assert float(g(tf.constant(3.0))) == 15.0


@pytest.mark.parametrize("read", [lambda p: p.item(), lambda p: bool(p), lambda p: int(p), lambda p: p.tolist()])
def test_python_reads_of_a_parameter_inside_torch_compile_are_refused(read) -> None:
    w = ctorch.nn.Parameter(ctorch.tensor(1.5))

    def step(x):
        return x * read(w)

    with pytest.raises(ConcretizationError, match="tensor that requires grad"):
        ctorch.compile(step)(ctorch.tensor(2.0))
    # A comparison is an op: its result is traced and refuses by itself.
    with pytest.raises(ConcretizationError, match="traced tensor"):
        ctorch.compile(lambda x: x * 2.0 if w > 0 else x)(ctorch.tensor(2.0))


def test_array_reads_of_a_parameter_inside_cr_jit_are_refused() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ConcretizationError, match=r"numpy\(\).*requires grad"):
        cr.jit(lambda x: x * cr.tensor(w.numpy().copy()))(cr.tensor(1.0))
    with pytest.raises(ConcretizationError, match=r"np.asarray.*requires grad"):
        cr.jit(lambda x: x * cr.tensor(np.array(w)))(cr.tensor(1.0))


def test_the_dialects_own_reads_of_shapes_and_dtypes_still_trace() -> None:
    # The dialects read a state tensor's shape and dtype (printing, operators, .grad checks)
    # through an unrefused path: only the user's reads of the value are errors.
    v = tf.Variable([1.0, 2.0])
    f = tf.function(lambda x: x * v + tf.cast(v.shape[0], tf.float32))
    np.testing.assert_allclose(f(tf.constant(1.0)).numpy(), [3.0, 4.0])
    v.assign([3.0, 4.0])
    np.testing.assert_allclose(f(tf.constant(1.0)).numpy(), [5.0, 6.0])


def test_a_closed_over_constant_is_still_read_at_trace_time_as_in_jax() -> None:
    c = cr.tensor(4.0)  # neither a Variable nor requires grad: a constant of the program
    f = cr.jit(lambda x: x * float(c))
    np.testing.assert_allclose(f(cr.tensor(2.0)).numpy(), 8.0)


def test_reads_outside_a_trace_and_of_arguments_behave_as_before() -> None:
    v = tf.Variable([1.0, 2.0])
    assert v.numpy().tolist() == [1.0, 2.0]
    f = cr.jit(lambda x: x * 2)
    with pytest.raises(ConcretizationError):
        cr.jit(lambda x: x * float(x))(cr.tensor(2.0))
    np.testing.assert_allclose(f(cr.tensor(2.0)).numpy(), 4.0)


def test_keras_optimizer_iterations_count_steps_inside_tf_function() -> None:
    # iterations was a Python int incremented at trace time: 1 after any number of calls.
    w = tf.Variable([1.0, 2.0])
    opt = tf.keras.optimizers.SGD(0.1)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(w * w)
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
        return loss

    for _ in range(3):
        step()
    assert int(opt.iterations) == 3 and opt.iterations.dtype == tf.int64
    np.testing.assert_allclose(w.numpy(), np.array([1.0, 2.0]) * 0.8**3, rtol=1e-6)
    opt.apply_gradients(zip([tf.constant([0.0, 0.0])], [w]))
    assert int(opt.iterations) == 4
