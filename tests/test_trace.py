"""Griewank-Walther evaluation traces: primal, tangent (JVP rules) and adjoint (VJP rules)."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.viz import trace_tables


def seed004(direction=None):
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    f = (x + y) ** 2 + 2 * x * y
    return trace_tables(f, names={x: "x", y: "y"}, direction=direction)


def test_primal_trace_numbers_inputs_from_one_minus_n() -> None:
    t = seed004()
    lhs = [r.lhs for r in t.primal]
    assert lhs == ["v-1", "v0", "v1", "v2", "v3", "v4", "v5", "f"]
    assert [r.value for r in t.primal] == ["2", "-4", "-2", "4", "4", "-16", "-12", "-12"]
    assert t.primal[2].formula == "v-1 + v0" and t.primal[2].numbers == "2 + (-4)"
    assert t.primal[3].formula == "v1 ** 2"


def test_tangent_trace_gives_directional_derivatives() -> None:
    assert seed004().tangent[-1].value == "-12"  # default direction: x_dot = 1
    assert seed004(direction={"y": 1.0}).tangent[-1].value == "0"
    assert seed004(direction=[1.0, 1.0]).tangent[-1].value == "-12"
    rows = {r.lhs: r for r in seed004().tangent}
    assert rows["v̇4"].formula == "v0·v̇3 + v3·v̇0" and rows["v̇4"].numbers == "(-4)·2 + 4·0"


def test_adjoint_trace_follows_engine_order_and_accumulates() -> None:
    t = seed004()
    rows = [(r.lhs, r.update, r.value) for r in t.adjoint]
    assert rows[0] == ("v̄5", False, "1")
    assert ("v̄-1", True, "-12") in rows and ("v̄0", True, "0") in rows
    assert rows[-2:] == [("x\u0304", False, "-12"), ("y\u0304", False, "0")]
    first_x = [r for r in t.adjoint if r.lhs == "v̄-1"]
    assert [r.update for r in first_x] == [False, True]


def test_tangent_and_adjoint_agree_on_a_larger_function() -> None:
    a = cr.tensor(0.7, requires_grad=True)
    b = cr.tensor(1.3, requires_grad=True)
    f = cr.sin(a) * cr.exp(b) / (a + b) - cr.tanh(a * b)
    t = trace_tables(f, names={a: "a", b: "b"}, direction=[0.0, 1.0])
    (db,) = cr.autograd.grad(f, [b], retain_graph=True)
    assert float(t.tangents[t.graph.outputs[0]]) == pytest.approx(float(db), rel=1e-12)
    assert float(t.graph.node("b").adjoint) == pytest.approx(float(db), rel=1e-12)


def test_text_markdown_and_html() -> None:
    t = seed004()
    text = str(t)
    assert text.startswith("Primal trace\n") and "Tangent trace" in text and "Adjoint trace" in text
    assert "v̄-1 += v̄1" in text
    md = t.to_markdown()
    assert md == t._repr_markdown_()
    assert r"| $\bar{v}_{-1} \mathrel{+}=$ | $\bar{v}_{1}$ |" in md
    assert r"$\dot{x} = 1$" in md
    html = t._repr_html_()

    class Cells(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.tables = 0
            self.cells = 0

        def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
            self.tables += tag == "table"
            self.cells += tag == "td"

    parser = Cells()
    parser.feed(html)
    assert parser.tables == 3 and parser.cells == 4 * (len(t.primal) + len(t.tangent) + len(t.adjoint))
    assert "v<sub>-1</sub>" in html


def test_bad_direction_and_large_graphs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="not inputs"):
        seed004(direction={"z": 1.0})
    with pytest.raises(ValueError, match="2 inputs"):
        seed004(direction=[1.0, 2.0, 3.0])
    x = cr.tensor(1.0, requires_grad=True)
    h = x
    for _ in range(120):
        h = cr.sin(h) * 1.0001
    with pytest.raises(ValueError, match="small computations"):
        trace_tables(h)


def test_trace_of_a_tape() -> None:
    x = Variable(3.0, name="x")
    with GradientTape(persistent=True) as tape:
        y = x * x * x
    t = trace_tables(y, tape=tape)
    assert t.tangent[-1].value == "27" and t.adjoint[-1].value == "27"
    assert math.isclose(float(np.asarray(t.graph.node("x").adjoint)), 27.0)
