"""viz.explore: the steps the page shows, checked against the engine (no browser needed).

The browser tests (test_viz_explore_browser.py) check that the page shows these steps; here
the steps themselves are checked: the contributions multiply out, they sum to the engine's
gradients, the backward steps come in the order the engine runs the nodes, and the page is
one self-contained file.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz
from chainrule.cli import main
from chainrule.viz.render import MAX_NODES

PRODUCT = re.compile(r"upstream · local = contribution: (\S+) · (\S+) = (\S+)$")
SUM = re.compile(r"running sum: df/d(\w+) = (.*)$")


def seed004():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    return x, y, (x + y) ** 2 + 2 * x * y


def page_data(page_html: str) -> dict:
    m = re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', page_html, re.S)
    assert m is not None
    return json.loads(m.group(1))


def num(text: str) -> float:
    return float(text.strip("()"))


def test_seed004_contributions_multiply_out_and_sum_to_the_engines_gradient() -> None:
    x, y, f = seed004()
    data = page_data(viz.explore(f, names={x: "x", y: "y"}).html())
    gx, gy = cr.autograd.grad(f, [x, y], retain_graph=True)
    expected = {"x": float(gx.numpy()), "y": float(gy.numpy())}
    assert expected == {"x": -12.0, "y": 0.0}  # the seed's hand computation
    sums: dict[str, float] = {}
    edges = [s for s in data["steps"] if s["kind"] == "edge"]
    assert len(edges) == 8  # f->v2, f->v4, v4->v3, v4->y, v3->x, v2->v1, v1->x, v1->y
    for s in edges:
        upstream, local, contribution = PRODUCT.search(s["lines"][3]).groups()
        assert num(upstream) * num(local) == pytest.approx(num(contribution))
        target = SUM.search(s["lines"][4]).group(1)
        sums[target] = sums.get(target, 0.0) + num(contribution)
    assert sums["x"] == pytest.approx(expected["x"]) and sums["y"] == pytest.approx(expected["y"])
    lines = [line for s in edges for line in s["lines"]]
    assert "running sum: df/dx = (-8) + (-4) = -12" in lines
    assert "running sum: df/dy = 4 + (-4) = 0" in lines
    assert "running sum: df/dx = (-8) + … = -8 so far (1 of 2 contributions: x feeds 2 ops)" in lines
    done = data["steps"][-1]
    assert done["kind"] == "done" and done["head"] == "Done: df/dx = -12, df/dy = 0"
    assert "df/dx = (-8) + (-4) = -12" in done["lines"]


def test_steps_forward_then_backward_in_the_engines_order() -> None:
    x, y, f = seed004()
    page = viz.explore(f, names={x: "x", y: "y"})
    kinds = [s["kind"] for s in page.steps]
    assert kinds == ["start"] + ["forward"] * 7 + ["seed"] + ["edge"] * 8 + ["done"]
    g = page.graph
    # Forward: every input and op once, each after the nodes it reads.
    lit = [s["lit"] for s in page.steps if s["kind"] == "forward"]
    assert sorted(lit) == sorted(n.id for n in g.nodes if n.kind != "constant")
    for k, i in enumerate(lit):
        assert all(j in lit[:k] for j in g.nodes[i].inputs if g.nodes[j].kind != "constant")
    # Backward: the order in which backward() really reaches the ops, seen by tensor hooks.
    x2, y2 = cr.tensor(2.0, requires_grad=True), cr.tensor(-4.0, requires_grad=True)
    a = x2 + y2
    b = a**2
    c = 2 * x2
    d = c * y2
    out = b + d
    fired: list[str] = []
    for t, name in [(a, "v1"), (b, "v2"), (c, "v3"), (d, "v4"), (out, "f")]:
        t.register_hook(lambda grad, name=name: fired.append(name))
    out.backward()
    visited = [g.nodes[s["node"]].symbol for s in page.steps if s["kind"] == "edge"]
    assert list(dict.fromkeys(visited)) == fired


def test_fan_out_inside_one_op_x_times_x() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    page = viz.explore(x * x, names={x: "x"})
    edges = [s for s in page.steps if s["kind"] == "edge"]
    assert [s["edge"] for s in edges] == [0, 1]  # both arrows of x -> mul, one at a time
    assert edges[-1]["lines"][-1] == "running sum: df/dx = 3 + 3 = 6"
    assert page.steps[-1]["head"] == "Done: df/dx = 6"


def test_tensor_values_and_adjoints_match_the_engine() -> None:
    w = cr.tensor(np.arange(6.0).reshape(2, 3) / 4, requires_grad=True)
    v = cr.tensor([1.0, -1.0, 2.0], requires_grad=True)
    loss = cr.sum(cr.tanh(w @ v) ** 2)
    page = viz.explore(loss, names={w: "W", v: "v"})
    gw, gv = cr.autograd.grad(loss, [w, v], retain_graph=True)
    data = page_data(page.html())
    by_symbol = {n["symbol"]: n for n in data["nodes"].values()}
    with np.printoptions(threshold=400, edgeitems=4, precision=6):
        assert by_symbol["W"]["adjoint"].endswith(np.array2string(gw.numpy(), separator=", "))
        assert by_symbol["v"]["adjoint"].endswith(np.array2string(gv.numpy(), separator=", "))
        assert by_symbol["W"]["value"] == "shape (2, 3), float64\n" + np.array2string(
            w.numpy(), separator=", "
        )
    assert by_symbol["W"]["about"] == "input W, shape (2, 3), float64"
    # A box shows shape and a compact value.
    assert "W  (2, 3)" in page.svg and by_symbol["W"]["line"] == "value (2, 3) mean 0.625"


def test_the_page_is_self_contained_and_names_cannot_break_out() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    evil = "</script><script>alert(1)</script>"
    page = viz.explore(cr.sin(x) * x, names={x: evil}).html()
    assert page.count("</script>") == 2  # the data and the code, nothing from the name
    assert evil not in page
    assert page_data(page)["nodes"]["0"]["symbol"] == evil
    assert not re.search(r"\b(src|href)\s*=|<link|@import|https?://(?!www\.w3\.org/2000/svg)", page)
    assert re.findall(r"url\(([^)]*)\)", page) == ["#cr-arrow"] * page.count("url(")


def test_repr_html_is_a_sandboxed_frame_holding_the_page() -> None:
    x, y, f = seed004()
    page = viz.explore(f, names={x: "x", y: "y"})
    frame = page._repr_html_()
    m = re.fullmatch(r'<iframe [^>]*sandbox="allow-scripts"[^>]*srcdoc="([^"]*)"></iframe>', frame)
    assert m is not None
    assert html.unescape(m.group(1)) == page.html()


def test_large_graphs_are_collapsed_as_draw_does_but_every_node_is_a_step() -> None:
    z = cr.tensor(np.linspace(0.0, 1.0, 4), requires_grad=True)
    h = z
    for _ in range(30):
        h = cr.tanh(h * 1.01 + z)
    loss = cr.sum(h)
    page = viz.explore(loss, names={z: "z"})
    drawn = viz.draw(loss, names={z: "z"}, engine="matplotlib")
    assert page.collapsed and len(page.graph) > MAX_NODES
    assert [n.label for n in page.view.nodes] == [n.label for n in drawn.graph.nodes]
    assert page.notes[0].startswith(f"Large graph: {len(page.graph)} nodes drawn as {len(page.view)}")
    forward = [s for s in page.steps if s["kind"] == "forward"]
    assert len(forward) == len([n for n in page.graph.nodes if n.kind != "constant"])
    assert all(s["lit"] is not None for s in forward)
    gz = cr.autograd.grad(loss, [z], retain_graph=True)[0].numpy()
    assert page.nodes["0"]["adjoint"].endswith(np.array2string(gz, separator=", ", precision=6))
    assert any("trace tables are left out" in n for n in page.notes) == (len(page.graph) > 200)


def test_tf_variables_on_a_tape_are_named_without_the_output_index() -> None:
    from chainrule import tf

    a, b = tf.Variable(-2.0, name="x"), tf.Variable(1.5, name="b")
    with tf.GradientTape(persistent=True) as tape:
        out = (a + b) ** 2 + 2 * a * b
    page = viz.explore(out, tape=tape)
    # TensorFlow names a variable "x:0"; the page, like the tape's gradient, calls it x.
    assert page.steps[-1]["head"] == "Done: df/dx = 2, df/db = -5"
    assert "df/dx = 2, df/db = -5" in str(viz.explain(out, tape=tape)).replace("\n  ", ", ")


def test_too_large_for_a_step_through(monkeypatch: pytest.MonkeyPatch) -> None:
    # chainrule.viz.explore is the function; the module is only reachable through sys.modules.
    monkeypatch.setattr(sys.modules["chainrule.viz.explore"], "MAX_EXPLORE_NODES", 5)
    x, y, f = seed004()
    with pytest.raises(ValueError, match=r"explore: the computation has 9 nodes.*viz.draw"):
        viz.explore(f)


def test_a_freed_graph_shows_the_forward_pass_and_says_why_not_the_backward() -> None:
    x = cr.tensor(2.0, requires_grad=True)
    out = x * x
    out.backward()
    page = viz.explore(out, names={x: "x"})
    assert page.steps[-1]["head"] == "Done: the backward pass is not available"
    assert "retain_graph=True" in page.steps[-1]["lines"][0]


def test_cli_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.html"
    assert main(["grad", "(x + y)**2 + 2*x*y", "x=2", "y=-4", "--html", str(out)]) == 0
    assert f"interactive page written to {out}" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "<title>f(x, y) = (x + y)**2 + 2*x*y  at x = 2, y = -4</title>" in text
    assert page_data(text)["steps"][-1]["head"] == "Done: df/dx = -12, df/dy = 0"
    assert main(["grad", "x*x", "x=1", "--html", str(tmp_path / "out.svg")]) == 2
    assert "--html: the file must end in .html" in capsys.readouterr().err
