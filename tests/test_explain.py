"""The step-by-step explanation: seed 004's numbers, engine order, fan-out sums, Markdown."""

from __future__ import annotations

import re

import numpy as np

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.viz import explain


def seed004_explanation():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    f = (x + y) ** 2 + 2 * x * y
    return explain(f, names={x: "x", y: "y"})


def test_seed004_numbers_appear_in_the_walkthrough() -> None:
    text = str(seed004_explanation())
    # Forward pass: a = x + y = -2, a**2 = 4, 2xy = -16, f = -12.
    assert re.search(r"v1 = x \+ y\s+= -2", text)
    assert re.search(r"v2 = v1 \*\* 2\s+= 4", text)
    assert re.search(r"f\s+= v2 \+ v4\s+= -12", text)
    # df/da = 2a = 2(-2) = -4; da/dx = 1; the b-path gives -8 for x and +4 for y.
    assert "∂v2/∂v1 = 2·v1 = 2·(-2) = -4" in text
    assert "∂v1/∂x = 1" in text
    assert "-> df/dx += (-4) · 2 = -8" in text
    assert "-> df/dy += 1 · 4 = 4" in text
    # Fan-out sums and the result.
    assert "df/dx = (-8) (from v3) + (-4) (from v1) = -12" in text
    assert "df/dy = 4 (from v4) + (-4) (from v1) = 0" in text
    assert text.rstrip().endswith("df/dx = -12\n  df/dy = 0")


def test_path_sums_reproduce_the_seed_decomposition() -> None:
    e = seed004_explanation()
    text = e.to_text()
    assert "(1 · (-4) · 1) + (1 · (-4) · 2) = (-4) + (-8) = -12" in text
    assert "(1 · (-4) · 1) + (1 · 4) = (-4) + 4 = 0" in text


def test_steps_follow_the_engine_order_and_contributions_sum_to_adjoints() -> None:
    e = seed004_explanation()
    g = e.graph
    assert [s.node for s in e.steps] == g.backward_order
    assert [g.nodes[s.node].op for s in e.steps] == ["add", "mul", "mul", "pow", "add"]
    totals: dict[int, float] = {}
    for step in e.steps:
        for c in step.contributions:
            totals[c.target] = totals.get(c.target, 0.0) + float(c.value)
            assert float(c.value) == float(step.adjoint) * float(c.local)
    for node_id, total in totals.items():
        assert total == float(g.nodes[node_id].adjoint)
    assert e.gradients == {"x": g.node("x").adjoint, "y": g.node("y").adjoint}


def test_markdown_and_latex_output() -> None:
    e = seed004_explanation()
    md = e.to_markdown()
    assert md == e._repr_markdown_()
    assert "| $v_{1} = x + y$ | `add` | $-2$ |" in md
    assert r"\frac{\partial v_{2}}{\partial v_{1}} = 2 \cdot v_{1} = -4" in md
    assert r"$\frac{\partial f}{\partial x} = (-8) + (-4) = -12$" in md
    latex = e.to_latex()
    assert latex.startswith(r"\begin{aligned}") and r"&= 4 + (-4) = 0" in latex


def test_same_value_used_twice_by_one_op() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    e = explain(x * x + cr.sin(x), names={x: "x"})
    text = str(e)
    assert text.count("-> df/dx += 1 · 3 = 3") == 2
    assert f"df/dx = {6 + np.cos(3.0):.6g}" in text
    assert "The chain rule along every path" not in text  # x * x would double count


def test_arrays_and_unknown_rules_are_shown_without_failing() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = explain(cr.sum(cr.exp(x) * x), names={x: "x"})
    text = str(e)
    assert "sum(v2)" in text and "[1, 1, 1]" in text
    np.testing.assert_allclose(e.gradients["x"], np.exp([1.0, 2.0, 3.0]) * np.array([2.0, 3.0, 4.0]))
    # An op without a readable formula still shows its contribution.
    y = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    text = str(explain(cr.sum(cr.transpose(y) * y), names={y: "y"}))
    assert "df/dy" in text


def test_explanation_of_a_freed_graph_says_so() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    f = x * x
    f.backward()
    text = str(explain(f, names={x: "x"}))
    assert "x = 2" in text and "Backward pass: not available" in text


def test_explain_a_tape() -> None:
    x = Variable(2.0, name="x")
    y = Variable(-4.0, name="y")
    with GradientTape() as tape:
        f = (x + y) ** 2 + 2 * x * y
    e = explain(f, tape=tape)
    assert {k: float(v) for k, v in e.gradients.items()} == {"x": -12.0, "y": 0.0}
    assert float(tape.gradient(f, x)) == -12.0  # explaining did not use up the tape


def test_step_order_is_what_the_engine_actually_runs() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    a = x + y
    p = a**2
    m = 2 * x
    b = m * y
    f = p + b
    names = {x: "x", y: "y", a: "a", p: "p", m: "m", b: "b", f: "f"}
    e = explain(f, names=names)
    steps = [e.graph.nodes[s.node].symbol for s in e.steps]
    ran: list[str] = []
    for t in (a, p, m, b, f):
        t.register_hook(lambda g, name=names[t]: ran.append(name))
    f.backward()
    assert ran == steps == ["f", "b", "m", "p", "a"]
