"""The chain rule, one step at a time, in the browser: a self-contained interactive HTML page.

``explore(f)`` runs :func:`~chainrule.viz.explain` (one engine run: the capture's values, the
engine's adjoints and order, the primitives' own VJP rules) and turns what it recorded into a
list of steps: the forward pass node by node, then the backward pass in the engine's order,
one edge at a time (``upstream · local = contribution``), with the running sum at every node
that feeds several ops. The page holds those steps as JSON, the graph as SVG (laid out as
:func:`~chainrule.viz.draw` lays it out, collapsed the same way when large) and the evaluation
trace tables; its small script only shows the recorded steps -- it computes no derivative.

The page has no outside references (no network, no CDN): save it and open it from disk, or let
Jupyter show it inline (``_repr_html_``, in a sandboxed frame).

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = cr.tensor(-4.0, requires_grad=True)
>>> page = explore((x + y) ** 2 + 2 * x * y, names={x: "x", y: "y"})
>>> [s["head"] for s in page.steps if s["kind"] == "done"]
['Done: df/dx = -12, df/dy = 0']
>>> "df/dx = (-8) + (-4) = -12" in page.html()
True
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.viz._rules import forward_text, number
from chainrule.viz.capture import Graph, GraphNode, format_value
from chainrule.viz.explain import Explanation, _distinct, _sym, explain
from chainrule.viz.render import MAX_NODES, _compact, _layout, collapse, node_text

__all__ = ["explore", "Explorer", "MAX_TABLE_NODES", "MAX_EXPLORE_NODES"]

#: Largest graph whose evaluation-trace tables are put on the page (as ``trace_tables``).
MAX_TABLE_NODES = 200
#: Largest graph the page is made for: every node is a forward step, every edge a backward one.
MAX_EXPLORE_NODES = 5000

_CHAR_W = 7.0  # px per character of the 12px monospace font used in the boxes
_LINE_H = 15.0


# ---------------------------------------------------------------- texts
def _full(value: Any) -> str:
    """The whole value (numpy's summary for big arrays), with its shape and dtype."""
    if value is None:
        return "not kept by the graph"
    arr = np.asarray(value)
    if arr.ndim == 0:
        return format_value(arr)
    with np.printoptions(threshold=400, edgeitems=4, precision=6, suppress=False):
        body = np.array2string(arr, separator=", ")
    return f"shape {arr.shape}, {arr.dtype}\n{body}"


def _value_line(n: GraphNode) -> str | None:
    lines = node_text(n, show_values=True, show_adjoints=False)
    return lines[1] if len(lines) > 1 else None


def _forward_formula(g: Graph, n: GraphNode) -> str:
    syms = [_sym(g.nodes[j]) for j in n.inputs]
    text = forward_text(n.op or "", syms, n.params)
    vals = [g.nodes[j].value for j in n.inputs]
    if all(v is not None and np.size(v) == 1 for v in vals):
        numbers = forward_text(n.op or "", [number(v) for v in vals], n.params)
        return " = ".join(_distinct([text, numbers, _compact(n.value)]))
    return f"{text} = {_compact(n.value)}"


# ---------------------------------------------------------------- the steps
def _terms(parts: list[Any], most: int = 6) -> str:
    """``(-8) + (-4)``: the contributions summed at a node (the middle left out when many)."""
    texts = [number(v) if np.size(v) == 1 else _compact(v) for v in parts]
    if len(texts) > most:
        texts = texts[:3] + [f"… ({len(texts) - 5} more)"] + texts[-2:]
    return " + ".join(texts)


def _steps(ex: Explanation, owner: dict[int, int], shows: dict[int, int],
           edge_of: Any) -> tuple[list[dict[str, Any]], dict[int, int], dict[int, int]]:  # fmt: skip
    """The page's steps, from what ``explain`` recorded.

    ``owner`` maps a graph node to the drawn node that stands for it; ``shows`` maps a drawn
    node to the graph node whose value and adjoint it shows (when it shows one). Returns the
    steps and, per drawn node, the step at which its value and its adjoint are complete.
    """
    g = ex.graph
    out = ex.output
    steps: list[dict[str, Any]] = []
    shown_by = {full: drawn for drawn, full in shows.items()}
    val_step: dict[int, int] = {}
    adj_step: dict[int, int] = {}

    def add(kind: str, head: str, lines: list[str], *, node: int | None = None,
            edge: int | None = None, lit: int | None = None, adj: list[list[Any]] | None = None,
            row: list[str] | None = None) -> None:  # fmt: skip
        steps.append({
            "kind": kind, "head": head, "lines": lines, "node": node, "edge": edge, "lit": lit,
            "adj": adj or [], "rows": row or [],
        })  # fmt: skip

    n_inputs = len(g.inputs)
    add("start", "Start: nothing computed yet",
        ["Next step runs the forward pass: each node lights up as its value is computed.",
         "Then the backward pass runs in the order the engine runs it."])  # fmt: skip
    op_rank = {n.id: k for k, n in enumerate(g.ops)}
    input_rank = {n.id: k for k, n in enumerate(g.inputs)}
    forward = [n for n in g.nodes if n.kind != "constant"]
    for k, n in enumerate(forward, start=1):
        if n.kind == "input":
            line = f"{n.symbol} = {_compact(n.value)}  (an input)"
            row = [f"p{input_rank[n.id]}"]
        else:
            line = f"{n.symbol} = {_forward_formula(g, n)}  [{n.op}]"
            row = [f"p{n_inputs + op_rank[n.id]}"]
        shape = f"shape {n.shape}, {n.dtype}" if n.shape else f"a scalar, {n.dtype}"
        add("forward", f"Forward {k} of {len(forward)}: {n.symbol}", [line, shape],
            node=owner.get(n.id), lit=owner.get(n.id), row=row)  # fmt: skip
        if n.id in shown_by:
            val_step[shown_by[n.id]] = len(steps) - 1

    if not g.has_adjoints:
        add("done", "Done: the backward pass is not available", list(g.notes))
        return steps, val_step, adj_step

    received = ex._received()
    counts = {t: len(v) for t, v in received.items()}
    running: dict[int, list[Any]] = {}
    n_outputs = len(g.outputs)
    for k, i in enumerate(g.outputs):
        n = g.nodes[i]
        drawn = shown_by.get(i)
        text = f"d{out}/d{n.symbol} = {n.adjoint_text}  (the seed)"
        add("seed", f"Backward: the seed at {n.symbol}", [text,
            f"The backward pass starts at the output: d{out}/d{out} = {n.adjoint_text}."],
            node=owner.get(i), adj=[[drawn, f"adjoint {_compact(n.adjoint)}"]] if drawn is not None
            else [], row=[f"a{k}"])  # fmt: skip
        if drawn is not None:
            adj_step[drawn] = len(steps) - 1

    row = n_outputs
    total_steps = len(ex.steps)
    for step in ex.steps:
        n = g.nodes[step.node]
        formula = forward_text(n.op or "", [_sym(g.nodes[j]) for j in n.inputs], n.params)
        head = f"Backward {step.number} of {total_steps}: {n.symbol} = {formula} [{n.op}]"
        arriving = f"d{out}/d{n.symbol} = {ex._sum_text(n, received)}"
        if not step.contributions:
            add("node", head, [arriving, "No input of this op needs a gradient."],
                node=owner.get(n.id))  # fmt: skip
            continue
        for c in step.contributions:
            t = g.nodes[c.target]
            d = f"∂{n.symbol}/∂{t.symbol}"
            scalar_local = c.local is not None and not isinstance(c.local, str)
            if c.formula is None:
                local = f"{d}: by the rule of {n.grad_fn_name}"
                if scalar_local:
                    local += f" = {format_value(c.local)}"
                elif isinstance(c.local, str):
                    local += f" ({c.local})"
            else:
                value = format_value(c.local) if scalar_local else None
                local = " = ".join([d] + _distinct([c.formula, c.formula_numbers, value]))
            if scalar_local:
                product = f"{number(step.adjoint)} · {number(c.local)} = {format_value(c.value)}"
            else:
                rule = c.formula or f"rule of {n.grad_fn_name}"
                product = f"{_compact(step.adjoint)} · ({rule}) = {_compact(c.value)}"
            parts = running.setdefault(c.target, [])
            parts.append(c.value)
            got, need = len(parts), counts[c.target]
            terms = _terms(parts)
            if need == 1:
                sum_line = f"d{out}/d{t.symbol} = {format_value(c.value)}"
                node_adj = f"adjoint {_compact(c.value)}"
            elif got < need:
                so_far = _compact(np.sum([np.asarray(v) for v in parts], axis=0))
                sum_line = (f"d{out}/d{t.symbol} = {terms} + … = {so_far} so far "
                            f"({got} of {need} contributions: {t.symbol} feeds {need} ops)")  # fmt: skip
                node_adj = f"adjoint {so_far} ({got} of {need})"
            else:
                sum_line = f"d{out}/d{t.symbol} = {terms} = {t.adjoint_text}"
                node_adj = f"adjoint {_compact(t.adjoint)}"
            drawn = shown_by.get(c.target)
            if drawn is not None and got == need:
                adj_step[drawn] = len(steps)
            add("edge", head, [
                arriving,
                f"edge {t.symbol} → {n.symbol}, taken backwards",
                f"local derivative: {local}",
                f"upstream · local = contribution: {product}",
                f"running sum: {sum_line}",
            ], node=owner.get(n.id), edge=edge_of(c), adj=[[drawn, node_adj]] if drawn is not None
                else [], row=[f"a{row}"])  # fmt: skip
            row += 1

    finals = []
    adj = []
    for n in g.nodes:
        if n.kind == "constant":
            continue
        drawn = shown_by.get(n.id)
        if drawn is not None and drawn not in adj_step:
            # No contribution reached it (or a collapsed chain): the engine's adjoint, or 0.
            adj.append([drawn, f"adjoint {_compact(n.adjoint) if n.adjoint is not None else '0'}"])
    lines = []

    def total(n: GraphNode) -> str:
        parts = [v for _, v in received.get(n.id, [])]
        return f"{_terms(parts)} = {n.adjoint_text}" if len(parts) > 1 else n.adjoint_text

    for n in g.inputs:
        finals.append(f"d{out}/d{n.symbol} = {n.adjoint_text}")
        lines.append(f"d{out}/d{n.symbol} = {total(n)}")
    fan = [n for n in g.nodes if n.kind == "op" and len(received.get(n.id, [])) > 1]
    lines += [f"d{out}/d{n.symbol} = {total(n)}  (fan-out)" for n in fan]
    lines += [f"note: {note}" for note in g.notes]
    first_row = n_outputs + sum(len(s.contributions) for s in ex.steps)
    add("done", "Done: " + ", ".join(finals), lines, adj=adj,
        row=[f"a{first_row + k}" for k in range(len(g.inputs))])  # fmt: skip
    for drawn, _ in adj:
        adj_step[drawn] = len(steps) - 1
    return steps, val_step, adj_step


# ---------------------------------------------------------------- the picture
def _svg(view: Graph, texts: dict[int, list[str]]) -> tuple[str, int, int]:
    """The drawn graph as SVG: boxes where ``viz.draw`` puts them, empty adjoint lines."""
    pos, chains = _layout(view)
    size: dict[int, tuple[float, float]] = {}
    for n in view.nodes:
        lines = texts[n.id]
        size[n.id] = (max(len(s) for s in lines) * _CHAR_W + 16, len(lines) * _LINE_H + 10)
    # Each layer as wide as its widest box (one width for all would spread wide graphs out).
    layers = int(max((p[0] for p in pos.values()), default=0)) + 1
    col = [48.0] * layers
    for key, (w, _) in size.items():
        k = int(pos[key][0])
        col[k] = max(col[k], w + 40)
    left = [8 + sum(col[:k]) for k in range(layers)]
    row = max((h for _, h in size.values()), default=30) + 22
    top = max((p[1] for p in pos.values()), default=0.0)
    bottom = min((p[1] for p in pos.values()), default=0.0)
    width = int(sum(col) + 16)
    height = int((top - bottom + 1) * row + 16)

    def at(key: Any) -> tuple[float, float]:
        x, y = pos[key]
        return left[int(x)] + col[int(x)] / 2, 8 + (top - y) * row + row / 2

    def clip(c: tuple[float, float], toward: tuple[float, float], box: tuple[float, float]) -> tuple[float, float]:
        dx, dy = toward[0] - c[0], toward[1] - c[1]
        scale = min(box[0] / 2 / abs(dx) if dx else np.inf, box[1] / 2 / abs(dy) if dy else np.inf, 1.0)
        return c[0] + dx * scale, c[1] + dy * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="cr-graph" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="group" aria-label="computation graph">',
        '<defs><marker id="cr-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" '
        'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
    ]
    for k, chain in enumerate(chains):
        pts = [at(v) for v in chain]
        pts[0] = clip(pts[0], pts[1], size[chain[0]])
        pts[-1] = clip(pts[-1], pts[-2], size[chain[-1]])
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(pts))
        out.append(f'<path class="edge" id="cr-e{k}" d="{d}" marker-end="url(#cr-arrow)"/>')
    for n in view.nodes:
        cx, cy = at(n.id)
        w, h = size[n.id]
        lines = texts[n.id]
        label = html.escape(lines[0], quote=True)
        cls = f"node {n.kind}" + (" output" if n.is_output else "")
        out.append(
            f'<g class="{cls}" id="cr-n{n.id}" data-id="{n.id}" tabindex="0" role="button" '
            f'aria-label="node {label}: show its full value and adjoint">'
            f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'rx="{4 if n.kind == "constant" else 8}"/>'
        )
        y0 = cy - h / 2 + 5 + _LINE_H * 0.8
        for i, line in enumerate(lines):
            role = ("title", "value", "adjoint")[min(i, 2)]
            text = html.escape(line) if role == "title" else ""
            out.append(f'<text class="{role}" x="{cx:.1f}" y="{y0 + i * _LINE_H:.1f}">{text}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out), width, height


def _tables(graph: Graph) -> tuple[str, str | None]:
    """The primal and adjoint trace tables as HTML, rows ``p0..`` and ``a0..``; or a note."""
    if len(graph.nodes) > MAX_TABLE_NODES:
        return "", (f"The evaluation-trace tables are left out: the computation has "
                    f"{len(graph.nodes)} nodes (they are shown for at most {MAX_TABLE_NODES}).")  # fmt: skip
    from chainrule.viz.trace import _html_symbol, trace_tables

    tables = trace_tables(graph, max_nodes=MAX_TABLE_NODES)
    rows = tables._rows(_html_symbol, False, html.escape)
    parts = []
    for key, prefix, title in (("primal", "p", "Primal trace (forward pass)"),
                               ("adjoint", "a", "Adjoint trace (backward pass, in the engine's order)")):  # fmt: skip
        if key == "adjoint" and not rows[key]:
            continue
        parts.append(f'<table class="trace"><caption>{title}</caption>'
                     "<tr><th scope='col'></th><th scope='col'>formula</th>"
                     "<th scope='col'>numbers</th><th scope='col'>value</th></tr>")  # fmt: skip
        for k, r in enumerate(rows[key]):
            eq = "+=" if r.update else "="
            parts.append(f'<tr id="cr-{prefix}{k}"><td class="lhs">{r.lhs} {eq}</td><td>{r.formula}</td>'
                         f"<td>{r.numbers}</td><td>{html.escape(r.value)}</td></tr>")  # fmt: skip
        parts.append("</table>")
    return "\n".join(parts), None


# ---------------------------------------------------------------- the page
_CSS = """
body{font:14px system-ui,sans-serif;margin:12px;color:#222;background:#fff}
h1{font-size:17px;margin:0 0 8px}
.bar{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
.bar button{font:inherit;padding:4px 10px;border:1px solid #888;border-radius:4px;background:#f4f4f4;cursor:pointer}
.bar button:disabled{opacity:.45;cursor:default}
.bar button[aria-pressed=true]{background:#dae6f8;border-color:#1f4e9c}
button:focus-visible,g.node:focus-visible{outline:3px solid #e67e00;outline-offset:2px}
#cr-counter{font-weight:600;margin-left:8px}
.main{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}
.graph{overflow:auto;max-width:100%;border:1px solid #ddd;border-radius:6px}
.side{flex:1;min-width:320px}
#cr-step{background:#fafafa;border:1px solid #ddd;border-radius:6px;padding:8px 10px;margin-bottom:10px;min-height:6em}
#cr-step h2{font-size:15px;margin:0 0 4px}
#cr-step p,#cr-node p{margin:2px 0;font-family:ui-monospace,monospace;font-size:13px;white-space:pre-wrap}
#cr-node{border:1px dashed #aaa;border-radius:6px;padding:6px 10px;margin-bottom:10px}
#cr-node pre{margin:2px 0 6px;max-height:14em;overflow:auto;font-size:12px}
.note{color:#8a4b00}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
svg text{font:12px ui-monospace,monospace;text-anchor:middle;fill:#222}
svg .edge{fill:none;stroke:#777;stroke-width:1.2}
svg .edge.cur{stroke:#d35400;stroke-width:3.5}
svg g.node{cursor:pointer}
svg g.node rect{stroke-width:1.2;opacity:.35}
svg g.node text{opacity:.45}
svg g.node.lit rect,svg g.node.lit text,svg g.constant rect,svg g.constant text{opacity:1}
svg g.input rect{fill:#d8f0d8;stroke:#2e7d32}
svg g.op rect{fill:#dae6f8;stroke:#1f4e9c}
svg g.constant rect{fill:#eee;stroke:#9e9e9e}
svg g.group rect{fill:#f8ecd0;stroke:#a0522d}
svg g.output rect{stroke-width:2.6}
svg g.node.cur rect{stroke:#d35400;stroke-width:3.5}
svg text.adjoint{fill:#b03000;font-weight:600}
table.trace{border-collapse:collapse;margin-bottom:10px;font-size:13px}
table.trace caption{text-align:left;font-weight:600;padding:4px 0}
table.trace td,table.trace th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}
table.trace td.lhs{text-align:right;white-space:nowrap}
table.trace tr.cur{background:#ffe4c4;outline:2px solid #d35400}
"""

# The page's only script: shows the recorded steps; it computes nothing.
_JS = """
(function(){
'use strict';
var D=JSON.parse(document.getElementById('cr-data').textContent);
var S=D.steps,N=S.length,cur=0,timer=null;
function el(id){return document.getElementById(id);}
var nodes={};
Array.prototype.forEach.call(document.querySelectorAll('g.node'),function(g){nodes[g.dataset.id]=g;});
var bPrev=el('cr-prev'),bNext=el('cr-next'),bPlay=el('cr-play'),bReset=el('cr-reset');
function text(g,cls,t){var e=g&&g.querySelector('text.'+cls);if(e)e.textContent=t;}
function clearAll(){
  Object.keys(nodes).forEach(function(id){var g=nodes[id];g.classList.remove('lit','cur');
    text(g,'value','');text(g,'adjoint','');});
  Array.prototype.forEach.call(document.querySelectorAll('.cur'),function(e){e.classList.remove('cur');});
}
function apply(s){
  if(s.lit!==null){var g=nodes[s.lit];g.classList.add('lit');text(g,'value',D.nodes[s.lit].line);}
  s.adj.forEach(function(a){text(nodes[a[0]],'adjoint',a[1]);});
}
function para(box,t,cls){var p=document.createElement('p');p.textContent=t;if(cls)p.className=cls;box.appendChild(p);}
function show(k){
  k=Math.max(0,Math.min(N-1,k));
  if(k===cur+1){apply(S[k]);}else{clearAll();for(var i=0;i<=k;i++)apply(S[i]);}
  cur=k;var s=S[k];
  Array.prototype.forEach.call(document.querySelectorAll('.cur'),function(e){e.classList.remove('cur');});
  if(s.node!==null)nodes[s.node].classList.add('cur');
  if(s.edge!==null)el('cr-e'+s.edge).classList.add('cur');
  s.rows.forEach(function(r,i){var row=el('cr-'+r);if(row){row.classList.add('cur');
    if(i===0&&row.scrollIntoView)row.scrollIntoView({block:'nearest'});}});
  var box=el('cr-step');box.textContent='';
  var h=document.createElement('h2');h.textContent=s.head;box.appendChild(h);
  s.lines.forEach(function(t){para(box,t);});
  el('cr-counter').textContent='Step '+(k+1)+' of '+N;
  el('cr-say').textContent='Step '+(k+1)+' of '+N+'. '+s.head+'. '+s.lines.join('. ');
  bPrev.disabled=k===0;bNext.disabled=k===N-1;
  if(el('cr-node').dataset.id)pick(el('cr-node').dataset.id);
}
function stop(){if(timer!==null){clearInterval(timer);timer=null;}bPlay.setAttribute('aria-pressed','false');}
function play(){
  if(timer!==null){stop();return;}
  if(cur===N-1)show(0);
  bPlay.setAttribute('aria-pressed','true');
  timer=setInterval(function(){if(cur>=N-1)stop();else show(cur+1);},D.interval);
}
function pick(id){
  var n=D.nodes[id],box=el('cr-node');box.dataset.id=id;box.textContent='';
  var h=document.createElement('h2');h.textContent=n.title;box.appendChild(h);
  para(box,n.about);
  var v=cur>=n.val?n.value:'not computed yet at this step';
  var a=n.adj===null?'no adjoint (a constant)':(cur>=n.adj?n.adjoint:'not computed yet at this step');
  [['value',v],['adjoint (d'+D.output+'/d'+n.symbol+')',a]].forEach(function(p){
    var b=document.createElement('b');b.textContent=p[0];box.appendChild(b);
    var pre=document.createElement('pre');pre.textContent=p[1];box.appendChild(pre);});
  el('cr-say').textContent=n.title+': value '+v+'; adjoint '+a;
}
bNext.addEventListener('click',function(){stop();show(cur+1);});
bPrev.addEventListener('click',function(){stop();show(cur-1);});
bReset.addEventListener('click',function(){stop();show(0);});
bPlay.addEventListener('click',play);
Object.keys(nodes).forEach(function(id){var g=nodes[id];
  g.addEventListener('click',function(){pick(id);});
  g.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();pick(id);}});});
document.addEventListener('keydown',function(e){
  if(e.altKey||e.ctrlKey||e.metaKey)return;
  if(e.key==='ArrowRight'){e.preventDefault();stop();show(cur+1);}
  else if(e.key==='ArrowLeft'){e.preventDefault();stop();show(cur-1);}
});
cur=-1;show(0);
})();
"""


def _json_for_script(data: Any) -> str:
    # Inside <script>, "</script>" or "<!--" in a name must not end the element: escape < > &.
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@dataclass(eq=False)
class Explorer:
    """The interactive page for one computation: :meth:`html`, :meth:`save`, Jupyter display.

    ``steps`` is the list the page walks through (each a dict with ``kind`` -- ``start``,
    ``forward``, ``seed``, ``edge``, ``node`` or ``done`` --, ``head``, ``lines`` and what it
    highlights); ``graph`` is the captured graph and ``view`` the drawn one (collapsed when
    the graph has more than ``max_nodes`` nodes).
    """

    explanation: Explanation
    view: Graph
    steps: list[dict[str, Any]]
    nodes: dict[str, dict[str, Any]]
    svg: str
    tables: str
    title: str
    notes: list[str] = field(default_factory=list)
    interval_ms: int = 900
    size: tuple[int, int] = (0, 0)

    @property
    def graph(self) -> Graph:
        return self.explanation.graph

    @property
    def collapsed(self) -> bool:
        """Whether the page draws a collapsed view of a larger graph."""
        return self.view is not self.graph

    def data(self) -> dict[str, Any]:
        """What the page's script reads: the steps and, per drawn node, its texts."""
        return {"output": self.explanation.output, "steps": self.steps, "nodes": self.nodes,
                "interval": self.interval_ms}  # fmt: skip

    def html(self) -> str:
        """The whole page: one HTML document, scripts and styles inline, nothing fetched."""
        notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in self.notes)
        title = html.escape(self.title)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<div class="bar" role="toolbar" aria-label="step through the computation">
<button type="button" id="cr-reset">Reset</button>
<button type="button" id="cr-prev">Previous step</button>
<button type="button" id="cr-play" aria-pressed="false">Play</button>
<button type="button" id="cr-next">Next step</button>
<span id="cr-counter"></span>
<span class="hint">(or the ← → keys; click a node, or focus it and press Enter, for its full value and adjoint)</span>
</div>
<div id="cr-say" class="sr" role="status" aria-live="polite" aria-atomic="true"></div>
{notes}
<div class="main">
<div class="graph">{self.svg}</div>
<div class="side">
<section id="cr-step" aria-label="current step"></section>
<section id="cr-node" aria-label="selected node"><p>Click a node (or focus it and press Enter) to see its full value and adjoint.</p></section>
{self.tables}
</div></div>
<script type="application/json" id="cr-data">{_json_for_script(self.data())}</script>
<script>{_JS}</script>
</body></html>
"""

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (an ``.html`` file that opens from disk)."""
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # A sandboxed frame: the page's ids, styles and arrow keys stay out of the notebook.
        height = max(420, self.size[1] + 140, 260 + 22 * len(self.graph.nodes) * 2)
        height = min(height, 1400)
        return (
            f'<iframe class="chainrule-explorer" title="{html.escape(self.title, quote=True)}" '
            f'sandbox="allow-scripts" style="width:100%;height:{height}px;border:1px solid #ddd" '
            f'srcdoc="{html.escape(self.html(), quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        view = f", drawn collapsed as {len(self.view.nodes)}" if self.collapsed else ""
        return f"<Explorer: {len(self.graph.nodes)} nodes{view}, {len(self.steps)} steps>"


def explore(
    output: Any,
    *,
    names: Any = None,
    grad_outputs: Any = None,
    tape: Any = None,
    max_nodes: int = MAX_NODES,
    title: str | None = None,
    interval_ms: int = 900,
) -> Explorer:
    """An interactive page stepping through the forward and backward pass of ``output``.

    ``output`` is a tensor, a tape or a captured :class:`~chainrule.viz.Graph`; ``names``,
    ``grad_outputs`` and ``tape`` are as for :func:`~chainrule.viz.explain`, whose one engine
    run the page shows. Graphs with more than ``max_nodes`` nodes are drawn collapsed, as
    :func:`~chainrule.viz.draw` does (the steps still visit every node); ``interval_ms`` is
    the pace of Play. Save the page with :meth:`Explorer.save`; Jupyter shows it inline.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> page = explore(x * x, names={x: "x"})
    >>> page.steps[-1]["head"]
    'Done: df/dx = 6'
    """
    ex = output if isinstance(output, Explanation) else explain(
        output, names=names, grad_outputs=grad_outputs, tape=tape
    )  # fmt: skip
    g = ex.graph
    if len(g.nodes) > MAX_EXPLORE_NODES:
        raise ValueError(
            f"explore: the computation has {len(g.nodes)} nodes; the step-through page is made for "
            f"at most {MAX_EXPLORE_NODES}. Draw it with viz.draw() (which collapses it), or explore "
            "a smaller piece of it."
        )
    view = collapse(g, max_nodes)
    owner: dict[int, int] = {}
    shows: dict[int, int] = {}
    for vn in view.nodes:
        members = [vn.id] if view is g else vn.members
        for m in members:
            owner[m] = vn.id
        if view is g or len(members) == 1:
            shows[vn.id] = members[0]
        elif vn.kind == "group" and vn.value is not None:
            shows[vn.id] = members[-1]  # a chain shows its last op, as viz.draw does

    index: dict[tuple[int, int, int], int] = {}
    pair: dict[tuple[int, int], int] = {}
    for k, (src, dst, i) in enumerate(view.edges):
        index.setdefault((src, dst, i), k)
        pair.setdefault((src, dst), k)

    def edge_of(c: Any) -> int | None:
        if view is g:
            return index.get((c.target, c.source, c.index))
        return pair.get((owner.get(c.target, -1), owner.get(c.source, -1)))

    steps, val_step, adj_step = _steps(ex, owner, shows, edge_of)
    nodes: dict[str, dict[str, Any]] = {}
    texts: dict[int, list[str]] = {}
    for vn in view.nodes:
        full = g.nodes[shows[vn.id]] if vn.id in shows else None
        title_line = node_text(vn, show_values=False, show_adjoints=False)[0]
        if vn.kind == "op" and not vn.name and not vn.is_output:
            # The steps name every op by its symbol (v3 = 2 * x): so do the boxes.
            title_line = title_line.replace(vn.label, f"{vn.symbol} = {vn.op}", 1)
        lines = [title_line]
        value_line = _value_line(vn) if vn.kind != "constant" else None
        if value_line is not None:
            lines.append(value_line)
        if vn.kind in ("input", "op") or (vn.kind == "group" and full is not None):
            longest = max((a[1] for s in steps for a in s["adj"] if a[0] == vn.id), key=len,
                          default="adjoint 0")  # fmt: skip
            lines.append(longest)
        texts[vn.id] = lines
        if full is not None:
            about = f"{full.kind} {full.symbol}" + (f" = {full.op}" if full.op else "")
            about += f", shape {full.shape}, {full.dtype}" if full.shape else f", a scalar, {full.dtype}"
        else:
            about = f"{len(vn.members)} nodes drawn as one: {vn.label}"
        nodes[str(vn.id)] = {
            "title": title_line.split("  (")[0] if vn.kind != "constant" else f"constant {vn.label}",
            "symbol": full.symbol if full is not None else vn.symbol,
            "about": about,
            "line": value_line or "",
            "value": _full(full.value if full is not None else vn.value),
            "adjoint": _full(full.adjoint) if full is not None and full.adjoint is not None else "0",
            "val": 0 if vn.kind == "constant" else val_step.get(vn.id, len(steps) - 1),
            "adj": None if vn.kind == "constant" else adj_step.get(vn.id, len(steps) - 1),
        }
    svg, width, height = _svg(view, texts)
    tables, table_note = _tables(g)
    notes = list(g.notes)
    if view is not g:
        notes.insert(0, f"Large graph: {len(g.nodes)} nodes drawn as {len(view.nodes)}, as viz.draw "
                        f"collapses graphs over {max_nodes} nodes; the steps still visit every node.")  # fmt: skip
    if table_note:
        notes.append(table_note)
    if title is None:
        out = g.nodes[g.outputs[0]] if len(g.outputs) == 1 else None
        title = f"Stepping through {ex.output}" + (f" = {out.value_text}" if out is not None else "")
    return Explorer(explanation=ex, view=view, steps=steps, nodes=nodes, svg=svg, tables=tables,
                    title=title, notes=notes, interval_ms=interval_ms, size=(width, height))  # fmt: skip
