"""Graph capture: nodes, labels, values and adjoints from a tensor's history or a tape."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.viz import capture
from chainrule.viz.capture import engine_order, format_value


def seed004():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    return x, y, (x + y) ** 2 + 2 * x * y


def test_seed004_graph_structure_values_and_adjoints() -> None:
    x, y, f = seed004()
    g = capture(f, names={x: "x", y: "y"})
    assert [n.kind for n in g.nodes].count("input") == 2
    assert sorted(n.label for n in g.ops) == ["add", "add", "mul", "mul", "pow"]
    assert [n.label for n in g.nodes if n.kind == "constant"] == ["2", "2"]
    # Every op comes after the nodes it reads.
    for n in g.nodes:
        assert all(j < n.id for j in n.inputs)
    values = {n.symbol: float(n.value) for n in g.nodes if n.kind != "constant"}
    assert values == {"x": 2.0, "y": -4.0, "v1": -2.0, "v2": 4.0, "v3": 4.0, "v4": -16.0, "f": -12.0}
    adjoints = {n.symbol: float(n.adjoint) for n in g.nodes if n.kind != "constant"}
    assert adjoints == {"x": -12.0, "y": 0.0, "v1": -4.0, "v2": 1.0, "v3": -4.0, "v4": 1.0, "f": 1.0}
    out = g.nodes[g.outputs[0]]
    assert out.is_output and out.symbol == "f" and out.op == "add"
    assert out.grad_fn_name == "AddBackward0"


def test_adjoints_agree_with_backward_and_graph_stays_usable() -> None:
    x, y, f = seed004()
    g = capture(f, names={x: "x", y: "y"})
    f.backward()  # the capture kept the graph: this first backward must still work
    assert float(x.grad) == float(g.node("x").adjoint) == -12.0
    assert float(y.grad) == float(g.node("y").adjoint) == 0.0


def test_capture_does_not_touch_grad_or_run_hooks() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    h = x * 2
    h.retain_grad()
    calls = []
    h.register_hook(lambda g: calls.append(g))
    x.register_hook(lambda g: calls.append(g))
    capture(h * h)
    assert calls == [] and x.grad is None and h.grad is None
    (h * h).backward()
    assert len(calls) == 2 and float(h.grad) == 12.0


def test_backward_order_is_the_engines() -> None:
    x, y, f = seed004()
    g = capture(f)
    order = [g.nodes[i].ref for i in g.backward_order]
    assert order == engine_order([f.grad_fn])
    assert order[0] is f.grad_fn
    assert {n.op for n in g.ops} == {g.nodes[i].op for i in g.backward_order}


def test_shapes_dtypes_and_array_values() -> None:
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = cr.tensor(np.ones(3, dtype=np.float32))
    loss = cr.sum(cr.exp(x) * w)
    g = capture(loss, names={x: "x", w: "w"})
    xn = g.node("x")
    assert xn.shape == (2, 3) and xn.dtype == "float64"
    np.testing.assert_allclose(xn.adjoint, np.exp(np.arange(6.0)).reshape(2, 3))
    const = [n for n in g.nodes if n.kind == "constant"]
    assert len(const) == 1 and const[0].dtype == "float32"
    assert "shape (2, 3)" in format_value(np.arange(6.0).reshape(2, 3))
    assert g.node("exp").value_text.startswith("shape (2, 3)")


def test_values_are_recomputed_when_not_saved() -> None:
    x = cr.tensor(1.5, requires_grad=True)
    y = (x + 1.0) + (x + 2.0)  # add keeps nothing: intermediate values are recomputed
    g = capture(y)
    assert sorted(float(n.value) for n in g.ops) == [2.5, 3.5, 6.0]


def test_freed_graph_still_shows_values_but_says_why_no_adjoints() -> None:
    x, y, f = seed004()
    f.backward()
    g = capture(f, names={x: "x"})
    assert not g.has_adjoints
    assert any("adjoints not shown" in note for note in g.notes)
    assert float(g.node("x").value) == 2.0


def test_names_can_be_given_either_way_and_name_intermediates() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    a = x * 3
    g = capture(a + 1.0, names={"x": x, a: "a"})
    assert g.node("x").kind == "input"
    assert g.node("a").op == "mul" and g.node("a").title == "a = mul"
    with pytest.raises(TypeError, match="tensor -> name"):
        capture(a, names={1.0: "bad"})


def test_output_that_is_a_leaf_and_non_tensor_outputs() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    g = capture(x)
    assert len(g) == 1 and g.nodes[0].kind == "input" and float(g.nodes[0].adjoint) == 1.0
    with pytest.raises(TypeError, match="not a chainrule Tensor"):
        capture(float(x))


def test_multiple_outputs_and_grad_outputs() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, cr.sin(x)
    g = capture([a, b], names={x: "x"}, grad_outputs=[np.array([1.0, 0.0]), np.array([0.0, 1.0])])
    assert len(g.outputs) == 2
    np.testing.assert_allclose(g.node("x").adjoint, [2.0, np.cos(2.0)])


def test_graph_view_of_a_tape_uses_its_records_and_variable_names() -> None:
    x = Variable(2.0, name="x")
    y = Variable(-4.0, name="y")
    with GradientTape(persistent=True) as tape:
        f = (x + y) ** 2 + 2 * x * y
    g = capture(tape)
    assert {n.symbol for n in g.inputs} == {"x", "y"}
    assert float(g.node("x").adjoint) == -12.0 and float(g.node("y").adjoint) == 0.0
    assert float(g.nodes[g.outputs[0]].value) == -12.0
    g2 = capture(f, tape=tape)
    assert [n.label for n in g2.nodes] == [n.label for n in g.nodes]
    dx, dy = tape.gradient(f, [x, y])
    assert (float(dx), float(dy)) == (-12.0, 0.0)


def test_tape_restriction_treats_unrecorded_ops_as_constants() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    pre = x * 2  # recorded by the engine, before the tape
    w = Variable(1.5, name="w")
    with GradientTape(persistent=True) as tape:
        out = pre * w
    g = capture(out, tape=tape)
    assert [n.kind for n in g.nodes].count("op") == 1
    assert g.node("w").kind == "input" and float(g.node("w").adjoint) == 6.0
    full = capture(out)
    assert [n.kind for n in full.nodes].count("op") == 2


def test_used_tape_is_a_clear_error() -> None:
    x = Variable(2.0)
    with GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(ValueError, match="already used"):
        capture(tape)
