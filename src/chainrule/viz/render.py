"""Drawing a captured graph: SVG and PNG with matplotlib + networkx, DOT text, Jupyter display.

No system Graphviz is needed: networkx gives the layering (topological generations) and
matplotlib draws boxes and arrows. When Graphviz's ``dot`` program is on the PATH, ``engine=
"auto"`` lets it lay out and draw the graph instead (its layouts are a little tidier); both
draw the same labels. Graphs larger than ``max_nodes`` are collapsed (constants folded into
their ops, single-use chains of ops merged, then ops grouped by kind and depth) rather than
drawn unreadably.

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> dot = to_dot(x * x + 1.0, names={x: "x"})
>>> dot.splitlines()[0]
'digraph chainrule {'
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.viz.capture import Graph, GraphNode, capture, format_value

__all__ = ["draw", "to_dot", "collapse", "Drawing", "node_text", "MAX_NODES"]

#: Above this many nodes, a graph is drawn collapsed.
MAX_NODES = 60

_FILL = {"input": "#d8f0d8", "constant": "#eeeeee", "op": "#dae6f8", "group": "#f8ecd0"}
_EDGE = {"input": "#2e7d32", "constant": "#9e9e9e", "op": "#1f4e9c", "group": "#a0522d"}
_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".pdf": "pdf"}


def _compact(value: Any) -> str:
    """A value short enough for a box: the number, three entries, or shape and mean."""
    if value is None:
        return "?"
    arr = np.asarray(value)
    if arr.size <= 3:
        return format_value(arr, width=3)
    if arr.dtype.kind in "biu":
        return f"{arr.shape} {arr.dtype}"
    with np.errstate(all="ignore"):
        return f"{arr.shape} mean {format_value(np.mean(arr))}"


def node_text(n: GraphNode, show_values: bool = True, show_adjoints: bool = True) -> list[str]:
    """The lines drawn in a node's box: its title, then its value and its adjoint."""
    if n.kind == "constant":
        return [n.label if n.value is not None else f"const {n.shape}"]
    lines = [n.title]
    if n.kind == "group":
        if n.value is None:
            return lines  # ops side by side: there is no one value to show
    elif n.shape:
        lines[0] += f"  {n.shape}"
    if show_values:
        lines.append(f"value {_compact(n.value)}")
    if show_adjoints and n.adjoint is not None:
        lines.append(f"adjoint {_compact(n.adjoint)}")
    elif show_adjoints and n.kind in ("input", "op"):
        lines.append("adjoint 0")
    return lines


def _as_graph(obj: Any, names: Any, tape: Any = None) -> Graph:
    if isinstance(obj, Graph):
        return obj
    if hasattr(obj, "to_graph"):  # a jitted function's program (cr.jit(f).lower(x))
        return obj.to_graph()
    return capture(obj, names=names, tape=tape)


# ---------------------------------------------------------------- collapsing large graphs
def collapse(graph: Graph, max_nodes: int = MAX_NODES) -> Graph:
    """A view of ``graph`` with at most ``max_nodes`` nodes (the graph itself when it fits).

    Steps, each taken only while the graph is still too large: constants are folded into the
    ops that read them; chains of single-input, single-use ops become one node
    (``exp -> mul -> sum``); the remaining ops are grouped by kind and depth (``mul x12``);
    finally everything becomes one summary node with the op counts.
    """
    if len(graph.nodes) <= max_nodes:
        return graph
    keep = [n for n in graph.nodes if n.kind != "constant"]
    view = _subgraph(graph, [[n.id] for n in keep])
    if len(view.nodes) <= max_nodes:
        return view
    view = _subgraph(graph, _chains(graph), chains=True)
    if len(view.nodes) <= max_nodes:
        return view
    view = _subgraph(graph, _groups(graph), chains=False)
    if len(view.nodes) <= max_nodes:
        return view
    return _summary(graph, max_nodes)


def _real_inputs(graph: Graph, n: GraphNode) -> list[int]:
    return [j for j in n.inputs if graph.nodes[j].kind != "constant"]


def _chains(graph: Graph) -> list[list[int]]:
    users: dict[int, list[int]] = {}
    for n in graph.nodes:
        for j in _real_inputs(graph, n):
            users.setdefault(j, []).append(n.id)

    def links_down(i: int) -> bool:
        # Node i continues into its single user, which has i as its single real input.
        u = users.get(i, [])
        if len(u) != 1 or graph.nodes[i].kind != "op" or graph.nodes[i].is_output:
            return False
        nxt = graph.nodes[u[0]]
        return nxt.kind == "op" and _real_inputs(graph, nxt) == [i]

    parts: list[list[int]] = []
    placed: set[int] = set()
    for n in graph.nodes:
        if n.kind == "constant" or n.id in placed:
            continue
        chain = [n.id]
        while links_down(chain[-1]):
            chain.append(users[chain[-1]][0])
        placed.update(chain)
        parts.append(chain)
    return parts


def _depths(graph: Graph) -> dict[int, int]:
    depth: dict[int, int] = {}
    for n in graph.nodes:
        ins = _real_inputs(graph, n)
        depth[n.id] = 0 if not ins else 1 + max(depth[j] for j in ins)
    return depth


def _groups(graph: Graph) -> list[list[int]]:
    depth = _depths(graph)
    levels = max(depth.values(), default=0) + 1
    # Few enough depth bands that (bands x kinds of op) stays small.
    band = max(1, levels // 12)
    buckets: dict[tuple[Any, ...], list[int]] = {}
    for n in graph.nodes:
        if n.kind == "constant":
            continue
        if n.kind == "input" or n.is_output:
            buckets[("own", n.id)] = [n.id]
        elif band == 1:
            buckets.setdefault((depth[n.id], n.op), []).append(n.id)
        else:
            # Within a band of several depths, ops of different kinds read each other both
            # ways (sin -> mul -> add -> sin): one group per kind would make a cycle, so the
            # whole band is one group. Edges only go to deeper bands: the view stays acyclic.
            buckets.setdefault((depth[n.id] // band,), []).append(n.id)
    return list(buckets.values())


def _subgraph(graph: Graph, parts: list[list[int]], chains: bool = False) -> Graph:
    """One node per part (a singleton keeps the original node); edges between parts.

    With ``chains`` each part is a chain of ops, and shows the value of its last op.
    """
    owner: dict[int, int] = {}
    nodes: list[GraphNode] = []
    for k, part in enumerate(parts):
        for i in part:
            owner[i] = k
        if len(part) == 1:
            src = graph.nodes[part[0]]
            nodes.append(GraphNode(**{**src.__dict__, "id": k, "inputs": [], "members": [src.id]}))
            continue
        members = [graph.nodes[i] for i in part]
        last = members[-1]
        ops = [m.op or m.label for m in members]
        counts = Counter(ops)
        if len(counts) == 1:
            label = f"{ops[0]} x{len(ops)}"
        elif len(ops) <= 4:
            label = " -> ".join(ops)
        else:
            label = f"{ops[0]} -> ... -> {ops[-1]} ({len(ops)} ops)"
        single_output = chains
        nodes.append(
            GraphNode(
                id=k, kind="group", label=label, symbol=label, op=label,
                shape=last.shape if single_output else (), dtype=last.dtype,
                value=last.value if single_output else None,
                adjoint=last.adjoint if single_output else None,
                is_output=any(m.is_output for m in members), members=list(part),
            )
        )  # fmt: skip
    for n in graph.nodes:
        if n.id not in owner:
            continue
        dst = owner[n.id]
        for j in n.inputs:
            if j in owner and owner[j] != dst and owner[j] not in nodes[dst].inputs:
                nodes[dst].inputs.append(owner[j])
    outputs = sorted({owner[i] for i in graph.outputs if i in owner})
    view = Graph(nodes=nodes, outputs=outputs, has_adjoints=graph.has_adjoints,
                 notes=list(graph.notes))  # fmt: skip
    view.notes.append(f"collapsed view: {len(graph.nodes)} nodes drawn as {len(nodes)}")
    return view


def _summary(graph: Graph, max_nodes: int) -> Graph:
    counts = Counter(n.op for n in graph.nodes if n.kind == "op")
    top = ", ".join(f"{op} x{c}" for op, c in counts.most_common(8))
    more = len(counts) - 8
    label = f"{len(graph.ops)} ops: {top}" + (f", +{more} kinds" if more > 0 else "")
    inputs = graph.inputs
    if len(inputs) < max_nodes:
        nodes = [GraphNode(**{**n.__dict__, "id": k, "inputs": [], "members": [n.id]})
                 for k, n in enumerate(inputs)]  # fmt: skip
    else:
        names = f"{inputs[0].symbol} ... {inputs[-1].symbol}"
        nodes = [GraphNode(id=0, kind="group", label=f"{len(inputs)} inputs ({names})",
                           symbol="inputs", members=[n.id for n in inputs])]  # fmt: skip
    outs = [graph.nodes[i] for i in graph.outputs]
    body = GraphNode(
        id=len(nodes), kind="group", label=label, symbol=label, op=label,
        shape=outs[0].shape if len(outs) == 1 else (),
        value=outs[0].value if len(outs) == 1 else None,
        adjoint=outs[0].adjoint if len(outs) == 1 else None,
        inputs=list(range(len(nodes))), is_output=True,
        members=[n.id for n in graph.nodes if n.kind == "op"],
    )  # fmt: skip
    nodes.append(body)
    view = Graph(nodes=nodes, outputs=[body.id], has_adjoints=graph.has_adjoints,
                 notes=list(graph.notes))  # fmt: skip
    view.notes.append(f"summary view: {len(graph.nodes)} nodes, {len(graph.ops)} ops, "
                      f"{len(inputs)} inputs")  # fmt: skip
    return view


# ---------------------------------------------------------------- DOT
def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(
    obj: Any,
    *,
    names: Any = None,
    show_values: bool = True,
    show_adjoints: bool = True,
    max_nodes: int | None = MAX_NODES,
    rankdir: str = "LR",
    tape: Any = None,
) -> str:
    """Graphviz DOT text for a tensor's graph (or a captured :class:`Graph`).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> print(to_dot(cr.exp(x), names={x: "x"}, show_adjoints=False), end="")
    digraph chainrule {
      rankdir=LR;
      node [fontname="Helvetica", fontsize=10];
      n0 [label="x\\nvalue 3", shape=box, style="rounded,filled", fillcolor="#d8f0d8", color="#2e7d32"];
      n1 [label="f = exp\\nvalue 20.0855", shape=box, style="rounded,filled", fillcolor="#dae6f8", color="#1f4e9c", penwidth=2.5];
      n0 -> n1;
    }
    """
    graph = _as_graph(obj, names, tape)
    if max_nodes is not None:
        graph = collapse(graph, max_nodes)
    lines = ["digraph chainrule {", f"  rankdir={rankdir};", '  node [fontname="Helvetica", fontsize=10];']
    for n in graph.nodes:
        label = _dot_escape("\n".join(node_text(n, show_values, show_adjoints)))
        shape = "ellipse" if n.kind == "constant" else "box"
        style = "filled" if n.kind == "constant" else "rounded,filled"
        extra = ", penwidth=2.5" if n.is_output else ""
        lines.append(
            f'  n{n.id} [label="{label}", shape={shape}, style="{style}", '
            f'fillcolor="{_FILL[n.kind]}", color="{_EDGE[n.kind]}"{extra}];'
        )
    for src, dst, _ in graph.edges:
        lines.append(f"  n{src} -> n{dst};")
    for note in graph.notes:
        lines.append(f"  // {note}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- matplotlib drawing
_MISSING = (
    "draw: drawing SVG/PNG/PDF needs matplotlib and networkx (pip install 'chainrule[viz]'); "
    "to_dot() and .dot files work without them"
)


def _require_plotting() -> None:
    try:
        import matplotlib  # noqa: F401
        import networkx  # noqa: F401
    except ImportError:
        raise ImportError(_MISSING) from None


def _layers(graph: Graph) -> dict[int, int]:
    """Layer of each node: ops one layer after their latest input; constants just before their op."""
    _require_plotting()
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(n.id for n in graph.nodes if n.kind != "constant")
    g.add_edges_from((s, d) for s, d, _ in graph.edges if graph.nodes[s].kind != "constant")
    layer: dict[int, int] = {}
    for i in nx.topological_sort(g):
        preds = list(g.predecessors(i))
        layer[i] = max(layer[p] for p in preds) + 1 if preds else 0
    for n in graph.nodes:
        if n.kind == "constant":
            users = [dst for src, dst, _ in graph.edges if src == n.id]
            layer[n.id] = max(0, min(layer[u] for u in users) - 1) if users else 0
    return layer


def _layout(graph: Graph) -> tuple[dict[Any, tuple[float, float]], list[list[Any]]]:
    """Layered left-to-right layout (a small Sugiyama scheme).

    Edges that skip layers get a dummy point in every layer they cross, so they are routed
    around the boxes; a few barycenter sweeps order each layer to reduce crossings. Returns the
    positions (of node ids and dummy points) and, per edge, the points it passes through.
    """
    layer: dict[Any, int] = dict(_layers(graph))
    chains: list[list[Any]] = []
    for k, (src, dst, _) in enumerate(graph.edges):
        chain: list[Any] = [src]
        for level in range(layer[src] + 1, layer[dst]):
            dummy = ("edge", k, level)
            layer[dummy] = level
            chain.append(dummy)
        chain.append(dst)
        chains.append(chain)
    preds: dict[Any, list[Any]] = {v: [] for v in layer}
    succs: dict[Any, list[Any]] = {v: [] for v in layer}
    for chain in chains:
        for a, b in zip(chain, chain[1:]):
            succs[a].append(b)
            preds[b].append(a)
    layers: dict[int, list[Any]] = {}
    for v in layer:  # nodes first, in graph order, then dummies
        layers.setdefault(layer[v], []).append(v)
    rank = {v: float(r) for ids in layers.values() for r, v in enumerate(ids)}

    def sweep(order: list[int], neighbours: dict[Any, list[Any]]) -> None:
        for k in order:
            ids = layers[k]
            ids.sort(key=lambda v: float(np.mean([rank[u] for u in neighbours[v]])) if neighbours[v] else rank[v])
            for r, v in enumerate(ids):
                rank[v] = float(r)

    levels = sorted(layers)
    for _ in range(6):
        sweep(levels[1:], preds)
        sweep(levels[-2::-1], succs)
    pos: dict[Any, tuple[float, float]] = {}
    for k, ids in layers.items():
        for r, v in enumerate(ids):
            pos[v] = (float(k), -(r - (len(ids) - 1) / 2.0))
    return pos, chains


def _clip(center: tuple[float, float], toward: tuple[float, float], box: Any) -> tuple[float, float]:
    """Where the segment from ``center`` toward ``toward`` leaves the rectangle ``box``."""
    (x0, y0), (x1, y1) = center, toward
    dx, dy = x1 - x0, y1 - y0
    half_w, half_h = box.width / 2.0, box.height / 2.0
    scale = min(
        half_w / abs(dx) if dx else np.inf,
        half_h / abs(dy) if dy else np.inf,
    )
    scale = min(scale, 1.0)
    return (x0 + dx * scale, y0 + dy * scale)


def _figure(graph: Graph, show_values: bool, show_adjoints: bool, title: str | None) -> Any:
    _require_plotting()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path as MplPath

    pos, chains = _layout(graph)
    n_layers = int(max((p[0] for p in pos.values()), default=0)) + 1
    tallest = max(Counter(int(p[0]) for p in pos.values()).values(), default=1)
    texts = {n.id: "\n".join(node_text(n, show_values, show_adjoints)) for n in graph.nodes}
    longest = max((max(len(s) for s in t.split("\n")) for t in texts.values()), default=8)
    col = max(1.7, 0.08 * longest + 0.7)
    lines_per_box = max((t.count("\n") + 1 for t in texts.values()), default=1)
    row = 0.19 * lines_per_box + 0.35
    width = min(max(3.0, col * n_layers), 60.0)
    height = min(max(1.6, row * tallest + (0.5 if title else 0.1)), 60.0)
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - (0.4 / height if title else 0.0)))
    ax.set_axis_off()
    ax.set_xlim(-0.5, n_layers - 0.5)
    half = (tallest - 1) / 2.0
    ax.set_ylim(-half - 0.5, half + 0.5)
    if title:
        fig.suptitle(title, fontsize=11)
    boxes = {}
    for n in graph.nodes:
        x, y = pos[n.id]
        boxes[n.id] = ax.text(
            x, y, texts[n.id], ha="center", va="center", fontsize=8 if n.kind != "constant" else 7,
            family="DejaVu Sans", zorder=3, gid=f"node{n.id}",
            bbox={
                "boxstyle": "round,pad=0.4" if n.kind != "constant" else "round,pad=0.25",
                "facecolor": _FILL[n.kind], "edgecolor": _EDGE[n.kind],
                "linewidth": 2.2 if n.is_output else 1.0,
            },
        )  # fmt: skip
    # Measure the boxes (in data units) so that arrows start and end on their borders.
    renderer = fig.canvas.get_renderer()
    to_data = ax.transData.inverted()
    extent = {}
    for i, text in boxes.items():
        text.draw(renderer)
        extent[i] = text.get_bbox_patch().get_window_extent(renderer).transformed(to_data)
    for chain in chains:
        points = [pos[v] for v in chain]
        start = _clip(points[0], points[1], extent[chain[0]])
        end = _clip(points[-1], points[-2], extent[chain[-1]])
        verts = [start] + points[1:-1] + [end]
        codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(verts) - 1)
        ax.add_patch(
            FancyArrowPatch(
                path=MplPath(verts, codes), arrowstyle="-|>", mutation_scale=10,
                color="#555555", linewidth=0.9, zorder=2, shrinkA=0, shrinkB=0,
            )
        )  # fmt: skip
    return fig


def _render_matplotlib(graph: Graph, fmt: str, show_values: bool, show_adjoints: bool,
                       title: str | None, dpi: int) -> bytes:  # fmt: skip
    _require_plotting()
    from matplotlib import rc_context

    fig = _figure(graph, show_values, show_adjoints, title)
    buffer = io.BytesIO()
    # Text stays text in the SVG (searchable, and labels can be checked), and files are
    # reproducible (no date, fixed ids).
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "chainrule"}):
        metadata = {"Date": None} if fmt == "svg" else ({"Software": "chainrule"} if fmt == "png" else None)
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata, bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()


def _render_graphviz(dot: str, fmt: str, dpi: int) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "draw(engine='graphviz'): Graphviz's `dot` program is not on the PATH. Install "
            "Graphviz, or use engine='matplotlib' (the default when dot is absent)."
        )
    args = [exe, f"-T{fmt}"] + ([f"-Gdpi={dpi}"] if fmt == "png" else [])
    done = subprocess.run(args, input=dot.encode(), capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


@dataclass(eq=False)
class Drawing:
    """A rendered graph. Jupyter shows it inline; :meth:`save` writes SVG, PNG, PDF or DOT."""

    graph: Graph
    source: Graph
    engine: str
    show_values: bool = True
    show_adjoints: bool = True
    title: str | None = None
    dpi: int = 150
    _cache: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def collapsed(self) -> bool:
        """Whether the drawing shows a collapsed view of a larger graph."""
        return self.graph is not self.source

    @property
    def dot(self) -> str:
        """The DOT text of what is drawn."""
        return to_dot(self.graph, show_values=self.show_values,
                      show_adjoints=self.show_adjoints, max_nodes=None)  # fmt: skip

    def render(self, fmt: str = "svg") -> bytes:
        """The picture as bytes in ``fmt`` (``svg``, ``png``, ``pdf``; ``dot`` gives the text)."""
        if fmt == "dot":
            return self.dot.encode()
        if fmt not in self._cache:
            if self.engine == "graphviz":
                self._cache[fmt] = _render_graphviz(self.dot, fmt, self.dpi)
            else:
                self._cache[fmt] = _render_matplotlib(
                    self.graph, fmt, self.show_values, self.show_adjoints, self.title, self.dpi
                )
        return self._cache[fmt]

    @property
    def svg(self) -> str:
        """The SVG text."""
        return self.render("svg").decode()

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | Path, format: str | None = None) -> Path:  # noqa: A002
        """Write the drawing; the format comes from the suffix (.svg, .png, .pdf, .dot)."""
        path = Path(path)
        fmt = format or _FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(
                f"draw: cannot tell the format of {str(path)!r}; use a .svg, .png, .pdf or .dot "
                "file name, or pass format="
            )
        path.write_bytes(self.render(fmt))
        return path

    def __repr__(self) -> str:
        view = f", collapsed from {len(self.source.nodes)}" if self.collapsed else ""
        return f"<Drawing of {len(self.graph.nodes)} nodes{view} ({self.engine})>"


def draw(
    obj: Any,
    path: str | Path | None = None,
    *,
    names: Any = None,
    format: str | None = None,  # noqa: A002
    engine: str = "auto",
    max_nodes: int = MAX_NODES,
    show_values: bool = True,
    show_adjoints: bool = True,
    title: str | None = None,
    dpi: int = 150,
    tape: Any = None,
) -> Drawing:
    """Draw the graph of a tensor (or tape, or captured :class:`Graph`) with values and adjoints.

    With ``path`` the picture is also written (format from the suffix: ``.svg``, ``.png``,
    ``.pdf``, ``.dot``). ``engine`` is ``"matplotlib"``, ``"graphviz"`` (needs the ``dot``
    program) or ``"auto"`` (Graphviz when installed). Graphs with more than ``max_nodes`` nodes
    are collapsed (see :func:`collapse`). With ``tape=`` only that tape's records count. In
    Jupyter the returned :class:`Drawing` displays inline.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> d = draw(x * x, names={x: "x"}, engine="matplotlib")
    >>> d.svg.lstrip().startswith("<?xml")
    True
    """
    if engine not in ("auto", "matplotlib", "graphviz"):
        raise ValueError(f"draw: engine must be 'auto', 'matplotlib' or 'graphviz', not {engine!r}")
    if engine == "auto":
        engine = "graphviz" if shutil.which("dot") else "matplotlib"
    source = _as_graph(obj, names, tape)
    shown = collapse(source, max_nodes)
    drawing = Drawing(graph=shown, source=source, engine=engine, show_values=show_values,
                      show_adjoints=show_adjoints, title=title, dpi=dpi)  # fmt: skip
    if path is not None:
        drawing.save(path, format)
    return drawing
