"""See inside a jitted function's program: ``viz.explain`` / ``viz.trace_tables`` on a compiled
function or its lowered program, and ``lowered.table()`` / ``viz.program_table`` (each step's
shape, dtype, value, gradient, backward mark and source line)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule import tf, torch, viz
from chainrule.viz.capture import format_value

X = np.array([0.3, -1.2, 2.0])
W = np.array([1.5, 0.5, -0.7])


def _loss(x, w):
    h = cr.sin(x * w)
    return cr.sum(h * h)


def _loss_lines() -> tuple[int, int]:
    start = inspect.getsourcelines(_loss)[1]
    return start + 1, start + 2


def _eager_grads() -> list[np.ndarray]:
    gx, gw = cr.grad(_loss, argnums=(0, 1))(cr.tensor(X), cr.tensor(W))
    return [np.asarray(gx), np.asarray(gw)]


def _letters_of(text: str) -> list[str]:
    """The value names of ``as_text()``, in order (inputs, then each op's result)."""
    head, *body = text.splitlines()
    names = [part.split(":")[0] for part in head.split(";")[1].strip().rstrip(". let").split()]
    names += [line.split(":")[0].strip() for line in body if " = " in line]
    return names


# ---------------------------------------------------------------- explain
def test_explain_a_jitted_function_gives_the_eager_gradient_through_its_program() -> None:
    f = cr.jit(_loss)
    explanation = viz.explain(f, cr.tensor(X), cr.tensor(W))
    lowered = f.lower(cr.tensor(X), cr.tensor(W))
    grads = explanation.gradients
    # The inputs are named as the program names them.
    assert list(grads) == _letters_of(lowered.as_text())[:2] == ["a", "b"]
    for got, want in zip(grads.values(), _eager_grads()):
        np.testing.assert_allclose(got, want)
    # Every op of the program is a step of the explanation, and nothing else.
    ops = sorted(n.op for n in explanation.graph.ops)
    assert ops == sorted(eq.prim.name for eq in lowered.program.eqns)
    text = explanation.to_text()
    assert f"jit program _loss after the passes: {len(lowered.program.eqns)} ops" in text
    assert "Backward pass" in text and explanation.to_markdown().startswith("**Forward pass**")


def test_explain_a_lowered_program_equals_explain_of_the_function() -> None:
    f = cr.jit(_loss)
    lowered = f.lower(cr.tensor(X), cr.tensor(W))
    a = viz.explain(lowered)
    b = viz.explain(f, cr.tensor(X), cr.tensor(W))
    assert a.to_text() == b.to_text()
    with pytest.raises(TypeError, match="already holds the arguments"):
        viz.explain(lowered, cr.tensor(X))
    with pytest.raises(TypeError, match="extra arguments are for a compiled function"):
        viz.explain(cr.tensor(1.0, requires_grad=True) * 2, cr.tensor(X))


def test_explain_the_program_as_traced_shows_more_ops() -> None:
    g = cr.jit(cr.grad(lambda x: cr.sum(cr.sin(x) * 1.0 + 0.0)))
    lowered = g.lower(cr.tensor(X))
    before = lowered.capture(optimized=False, adjoints=False)
    after = lowered.capture(adjoints=False)
    # (ops no output depends on, such as the forward pass's sum, are not part of a capture)
    assert len(lowered.traced.eqns) >= len(before.ops) > len(after.ops) == len(lowered.program.eqns)
    assert {n.op for n in before.ops} >= {"reshape", "mul", "cos"} and [n.op for n in after.ops] == ["cos"]


def test_trace_tables_of_a_jitted_function() -> None:
    x = cr.tensor(0.7)
    t = viz.trace_tables(cr.jit(lambda v: cr.exp(v) * cr.sin(v)), x)
    want = np.exp(0.7) * (np.sin(0.7) + np.cos(0.7))  # d/dx exp(x) sin(x)
    assert float(t.tangents[t.graph.outputs[0]]) == pytest.approx(want)
    np.testing.assert_allclose(t.graph.inputs[0].adjoint, want)
    assert [r.formula for r in t.primal[1:4]] == ["exp(v0)", "sin(v0)", "v1 * v2"]


def test_explain_tf_function_and_torch_compile() -> None:
    @tf.function
    def tf_loss(x, w):
        return tf.reduce_sum(tf.sin(x * w) ** 2)

    got = viz.explain(tf_loss, tf.constant(X), tf.constant(W)).gradients
    for g, want in zip(got.values(), _eager_grads()):
        np.testing.assert_allclose(g, want)

    compiled = torch.compile(lambda x, w: (torch.sin(x * w) ** 2).sum())
    table = viz.program_table(compiled, torch.tensor(X), torch.tensor(W))
    grads = {r.name: r.gradient for r in table.rows if r.step == "in"}
    assert grads["a"] == format_value(_eager_grads()[0])


# ---------------------------------------------------------------- the step table
def test_table_rows_have_each_value_shape_dtype_value_and_gradient() -> None:
    lowered = cr.jit(_loss).lower(cr.tensor(X), cr.tensor(W))
    table = lowered.table()
    prog = lowered.program
    assert len(table.rows) == len(prog.inputs) + len(prog.eqns)
    assert [r.name for r in table.rows] == _letters_of(lowered.as_text())
    by_name = {r.name: r for r in table.rows}
    # Values: each row is the eager intermediate (the sin row is sin(x * w)).
    sin_row = next(r for r in table.rows if r.definition.startswith("sin "))
    assert sin_row.value == format_value(np.sin(X * W))
    assert sin_row.type == "f64[3]"
    # Gradients: of the loss with respect to each value; the inputs' are the eager gradient.
    assert by_name["a"].gradient == format_value(_eager_grads()[0])
    assert by_name["b"].gradient == format_value(_eager_grads()[1])
    assert sin_row.gradient == format_value(2 * np.sin(X * W))
    assert table.rows[-1].gradient == "1" and table.rows[-1].type == "f64[]"
    assert table.gradient_of == table.outputs[0] == table.rows[-1].name
    # Source lines: each op says which line of _loss bound it.
    first, second = _loss_lines()
    lines = {r.definition.split()[0].split("[")[0]: r.where for r in table.rows if r.step != "in"}
    assert lines["sin"] == f"line {first}" and lines["sum"] == f"line {second}"
    text = table.to_text()
    assert text.splitlines()[0].split() == ["step", "name", "definition", "type", "value", "gradient", "where"]
    assert "| step | name |" in table.to_markdown()


def test_table_marks_the_backward_pass_of_a_gradient_program() -> None:
    lowered = cr.jit(cr.value_and_grad(lambda x: cr.sum(cr.tanh(x) * x))).lower(cr.tensor(X))
    table = lowered.table()
    ops = [r for r in table.rows if r.step != "in"]
    forward = [r.definition.split()[0] for r in ops if r.phase == ""]
    backward = [r.definition.split()[0] for r in ops if r.phase == "backward"]
    assert "tanh" in forward and forward[-1].startswith("sum")
    assert backward and "tanh" not in backward
    # Two outputs (value, gradient): no gradient column unless asked for.
    assert table.gradient_of is None and "gradient" not in table.to_text().splitlines()[0]
    # The gradient output's row holds the eager gradient.
    (_, g) = cr.value_and_grad(lambda x: cr.sum(cr.tanh(x) * x))(cr.tensor(X))
    rows = {r.name: r for r in table.rows}
    assert rows[table.outputs[1]].value == format_value(np.asarray(g))


def test_table_of_a_training_step_lists_state_writes_and_changes_nothing() -> None:
    w = tf.Variable([1.0, -2.0], name="w")
    opt = tf.keras.optimizers.SGD(learning_rate=0.1)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum((w * x) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
        w.assign_add(tf.ones([2]))
        return loss

    before = w.numpy()
    table = viz.program_table(step, tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(w.numpy(), before)  # looking runs no update
    assert any(r.definition.startswith("update[") for r in table.rows)
    assert [r.definition for r in table.rows if r.step == "in"][-1] == "state input"
    assert table.writes and table.writes[0].startswith("'w:0' <- ")
    assert "written back into state at every call" in table.to_text()
    viz.explain(step, tf.constant([1.0, 2.0]))
    np.testing.assert_array_equal(w.numpy(), before)


def test_a_program_without_a_floating_input_has_no_chain_rule() -> None:
    lowered = cr.jit(lambda n: n * 2).lower(cr.tensor([1, 2]))
    with pytest.raises(ValueError, match="no output depends on a floating-point input"):
        viz.explain(lowered)
    table = lowered.table()
    assert [r.value for r in table.rows] == ["[1, 2]", "[2, 4]"] and table.gradient_of is None
    with pytest.raises(TypeError, match="expected a cr.jit function"):
        viz.program_table(lambda x: x)


# ---------------------------------------------------------------- replay fusions (speed)
def _xent_step(w, x, y):
    return cr.value_and_grad(lambda w: cr.nn.functional.cross_entropy(x @ w, y))(w)


def test_cross_entropy_backward_replays_as_one_fused_step_with_eager_values() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=(5, 4)).astype(np.float32)
    x = rng.normal(size=(6, 5)).astype(np.float32)
    y = rng.integers(0, 4, size=6)
    f = cr.jit(_xent_step)
    lowered = f.lower(cr.tensor(w), cr.tensor(x), cr.tensor(y))
    # (value and gradient: the loss and its gradient are one step; the gradient alone is one too)
    assert "cross_entropy_and_grad[axis=1, reduction='mean']" in lowered.source()
    grad_only = cr.jit(lambda w, x, y: cr.grad(lambda w: cr.nn.functional.cross_entropy(x @ w, y))(w))
    assert "softmax_xent_grad[axis=1]" in grad_only.lower(cr.tensor(w), cr.tensor(x), cr.tensor(y)).source()
    assert "log_softmax" in lowered.as_text()  # (the program itself keeps the rule's ops)
    assert "log_softmax" not in lowered.source() and "equal" not in lowered.source()
    for _ in range(2):  # a new batch of labels each call: the labels are an input, not baked
        y = rng.integers(0, 4, size=6)
        loss, g = f(cr.tensor(w), cr.tensor(x), cr.tensor(y))
        e_loss, e_g = _xent_step(cr.tensor(w), cr.tensor(x), cr.tensor(y))
        np.testing.assert_allclose(float(loss), float(e_loss), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(g), np.asarray(e_g), rtol=1e-5, atol=1e-7)
        assert np.asarray(g).dtype == np.float32


def test_no_fusion_when_an_intermediate_is_also_returned() -> None:
    def f(v, y):
        logp = cr.log_softmax(v, axis=1)
        hot = cr.astype(cr.equal(cr.reshape(y, (3, 1)), np.arange(4).reshape(1, 4)), np.float64)
        return (cr.exp(logp) - hot) * 0.5, logp

    args = (cr.tensor(np.arange(12.0).reshape(3, 4) / 7), cr.tensor(np.array([0, 3, 1])))
    lowered = cr.jit(f).lower(*args)
    assert "softmax_xent_grad" not in lowered.source()
    got, want = cr.jit(f)(*args), f(*args)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_reshape_to_the_same_shape_is_dropped() -> None:
    lowered = cr.jit(cr.grad(lambda p: cr.sum(p[0] * p[1]))).lower([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
    assert "reshape" not in lowered.as_text() and lowered.removed()["simplify"] >= 2
