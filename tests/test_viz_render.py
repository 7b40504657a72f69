"""Rendering: SVG that parses and names every node, PNG/PDF files, DOT text, large graphs."""

from __future__ import annotations

import itertools
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.tape import GradientTape, Variable
from chainrule.viz import capture, collapse, draw, to_dot
from chainrule.viz import render as render_module

SVG_NS = "{http://www.w3.org/2000/svg}"


def seed004():
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    return x, y, (x + y) ** 2 + 2 * x * y


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG_NS}text")]


def test_svg_parses_and_shows_every_label_value_and_adjoint(tmp_path: Path) -> None:
    x, y, f = seed004()
    path = tmp_path / "g.svg"
    d = draw(f, path, names={x: "x", y: "y"}, engine="matplotlib", title="seed 004")
    svg = path.read_text()
    assert svg == d.svg == d._repr_svg_()
    lines = [line for text in svg_texts(svg) for line in text.split("\n")]
    for n in capture(f, names={x: "x", y: "y"}).nodes:
        assert any(n.title in line for line in lines), n.title
    for expected in ["x", "y", "add", "pow", "mul", "f = add", "value -12", "adjoint -12",
                     "adjoint 0", "value -16", "seed 004"]:  # fmt: skip
        assert any(line.startswith(expected) for line in lines), expected


def test_png_and_pdf_files_have_real_content(tmp_path: Path) -> None:
    x, y, f = seed004()
    d = draw(f, tmp_path / "g.png", names={x: "x", y: "y"}, engine="matplotlib")
    data = (tmp_path / "g.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 600 and height > 200 and len(data) > 20_000
    from matplotlib.image import imread

    pixels = imread(str(tmp_path / "g.png"))
    assert pixels.std() > 0.05  # not a blank canvas
    d.save(tmp_path / "g.pdf")
    assert (tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match="cannot tell the format"):
        d.save(tmp_path / "g.txt")


def test_dot_text_has_every_node_and_edge(tmp_path: Path) -> None:
    x, y, f = seed004()
    g = capture(f, names={x: "x", y: "y"})
    dot = to_dot(g)
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(g.edges) == 10
    for n in g.nodes:
        assert f"  n{n.id} [label=" in dot
    assert 'label="x\\nvalue 2\\nadjoint -12"' in dot
    draw(f, tmp_path / "g.dot", names={x: "x", y: "y"})
    assert (tmp_path / "g.dot").read_text() == dot
    assert g.to_dot() == dot


def test_labels_with_quotes_are_escaped_in_dot() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    dot = to_dot(x * 2, names={x: 'a "quoted" \\ name'})
    assert 'a \\"quoted\\" \\\\ name' in dot


def _boxes_overlap(graph) -> list[tuple[int, int]]:
    fig = render_module._figure(graph, True, True, None)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in fig.axes[0].texts]
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2) if a.overlaps(b)]


def test_fifty_nodes_are_drawn_uncollapsed_without_overlapping_boxes() -> None:
    ws = [cr.tensor(float(i) / 10, requires_grad=True) for i in range(10)]
    total = ws[0]
    for i in range(1, 10):
        total = total + cr.tanh(ws[i] * ws[i - 1]) * 0.5
    g = capture(total)
    assert 45 <= len(g) <= 60
    assert collapse(g) is g
    assert _boxes_overlap(g) == []
    assert not draw(total, engine="matplotlib").collapsed


def test_large_graphs_are_collapsed_and_still_render() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x
    for _ in range(40):
        h = cr.tanh(h * 1.01 + x)
    loss = cr.sum(h)
    d = draw(loss, engine="matplotlib")
    assert len(d.source) > 150 and d.collapsed and len(d.graph) <= 60
    assert any("collapsed view" in note for note in d.graph.notes)
    texts = svg_texts(d.svg)
    assert any("tanh" in t for t in texts)
    assert "collapsed" in repr(d)


def test_deep_graphs_grouped_in_depth_bands_stay_acyclic() -> None:
    # 60 rounds of sin -> mul -> add: too deep for one group per (depth, op), so ops are
    # grouped in bands of depths; grouping a band by kind of op made cycles (sin -> mul ->
    # add -> sin in one band) and the layout failed.
    z = cr.tensor(np.linspace(0.0, 1.0, 5), requires_grad=True)
    h = z
    for _ in range(60):
        h = cr.sin(h) * 1.01 + z
    graph = capture(cr.sum(h))
    view = collapse(graph)
    assert len(graph) > 200 and len(view) <= 60
    order = {n.id: k for k, n in enumerate(view.nodes)}
    depth: dict[int, int] = {}
    for n in sorted(view.nodes, key=lambda n: order[n.id]):
        assert all(j in depth for j in n.inputs), "a group reads a group that comes after it"
        depth[n.id] = 1 + max((depth[j] for j in n.inputs), default=-1)
    assert sorted(m for n in view.nodes for m in n.members) == sorted(
        n.id for n in graph.nodes if n.kind != "constant"
    )
    assert ET.fromstring(draw(graph, engine="matplotlib").svg) is not None


def test_very_wide_graphs_end_as_a_summary() -> None:
    xs = [cr.tensor(float(i), requires_grad=True) for i in range(70)]
    total = xs[0]
    for i in range(1, 70):
        total = total + xs[i] * xs[i - 1]
    view = collapse(capture(total), max_nodes=60)
    assert len(view) <= 60
    assert any(n.kind == "group" for n in view.nodes)
    assert ET.fromstring(draw(view, engine="matplotlib").svg) is not None


def test_graph_and_tape_display_inline() -> None:
    x, y, f = seed004()
    g = capture(f)
    assert g._repr_svg_().lstrip().startswith("<?xml")
    w = Variable(3.0, name="w")
    with GradientTape(persistent=True) as tape:
        out = w * w + 1.0
    texts = svg_texts(draw(tape, engine="matplotlib").svg)  # one <text> per line
    assert "w" in texts and "adjoint 6" in texts and "f = add" in texts
    assert float(tape.gradient(out, w)) == 6.0


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, f = seed004()
    with pytest.raises(ValueError, match="engine must be"):
        draw(f, engine="pygraphviz")
    monkeypatch.setattr(render_module.shutil, "which", lambda name: None)
    assert draw(f).engine == "matplotlib"
    with pytest.raises(RuntimeError, match="not on the PATH"):
        draw(f, engine="graphviz").render("svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_graphviz_engine_when_installed(tmp_path: Path) -> None:
    x, y, f = seed004()
    d = draw(f, tmp_path / "g.svg", names={x: "x"}, engine="graphviz")
    assert "adjoint -12" in " ".join(svg_texts(d.svg))


def test_svg_output_is_reproducible() -> None:
    x, y, f = seed004()
    assert draw(f, engine="matplotlib").svg == draw(f, engine="matplotlib").svg


def test_array_values_are_summarised_in_boxes() -> None:
    x = cr.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    texts = svg_texts(draw(cr.sum(x * x), names={x: "x"}, engine="matplotlib").svg)
    assert any("(3, 4) mean 5.5" in t for t in texts)


def test_missing_plotting_libraries_give_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    x, y, f = seed004()
    monkeypatch.setitem(sys.modules, "networkx", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[viz\]'"):
        draw(f, engine="matplotlib").render("svg")
    assert to_dot(f).startswith("digraph")  # DOT needs neither
