"""Evaluation-trace tables, as in Griewank & Walther's *Evaluating Derivatives*.

For a small computation ``trace_tables(f)`` lists

- the **primal trace**: inputs numbered ``v[1-n] .. v[0]``, then one line per op
  ``v[i] = phi_i(...)`` with its value;
- the **tangent trace** (forward mode) for a direction ``x_dot``: ``v̇[i] = Σ ∂phi_i/∂v[j] · v̇[j]``,
  computed with the primitives' JVP rules;
- the **adjoint trace** (reverse mode), in the order the engine runs the backward sweep:
  ``v̄[j] += v̄[i] · ∂phi_i/∂v[j]``, computed with the primitives' VJP rules on the engine's
  adjoints.

as plain text (``str``), Markdown with LaTeX (:meth:`TraceTables.to_markdown`) and HTML
(Jupyter shows ``_repr_html_``).

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = cr.tensor(-4.0, requires_grad=True)
>>> t = trace_tables(x * y + x, names={x: "x", y: "y"})
>>> t.primal[-1].value, t.tangent[-1].value, t.adjoint[-1].value
('-6', '-3', '2')
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.viz._rules import latex_symbol, local_text, number
from chainrule.viz.capture import Graph, GraphNode, capture, format_value
from chainrule.viz.explain import contributions

__all__ = ["trace_tables", "TraceTables", "TraceRow"]

# A symbol formatter: (base symbol, accent "" / "dot" / "bar") -> text in the target format.
SymbolFormat = Callable[[str, str], str]


def _text_symbol(base: str, accent: str) -> str:
    mark = {"": "", "dot": "\u0307", "bar": "\u0304"}[accent]
    m = re.fullmatch(r"([A-Za-z])(.*)", base)
    if not m:
        return base
    return m.group(1) + mark + m.group(2)


def _latex_symbol(base: str, accent: str) -> str:
    m = re.fullmatch(r"([A-Za-z])(-?\d+)", base)
    inner = f"{m.group(1)}_{{{m.group(2)}}}" if m else latex_symbol(base)
    if not accent:
        return inner
    if m:
        return f"\\{accent}{{{m.group(1)}}}_{{{m.group(2)}}}"
    return f"\\{accent}{{{inner}}}"


def _html_symbol(base: str, accent: str) -> str:
    mark = {"": "", "dot": "&#775;", "bar": "&#772;"}[accent]
    m = re.fullmatch(r"([A-Za-z])(-?\d+)", base)
    if m:
        return f"{m.group(1)}{mark}<sub>{m.group(2)}</sub>"
    m = re.fullmatch(r"([A-Za-z])(.*)", base)
    if m:
        return html.escape(m.group(1)) + mark + html.escape(m.group(2))
    return html.escape(base)


def _width(text: str) -> int:
    """Columns on a terminal: combining accents take none."""
    return sum(1 for ch in text if not unicodedata.combining(ch))


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


@dataclass
class TraceRow:
    """One line of a trace: ``lhs = formula = numbers`` with its value (``+=`` rows: ``update``)."""

    lhs: str
    formula: str
    numbers: str
    value: str
    update: bool = False


@dataclass
class TraceTables:
    """The three traces of one computation; render with ``str()``, ``to_markdown()``, HTML."""

    graph: Graph
    direction: dict[str, Any]
    gw: dict[int, str]
    primal: list[TraceRow] = field(default_factory=list)
    tangent: list[TraceRow] = field(default_factory=list)
    adjoint: list[TraceRow] = field(default_factory=list)
    tangents: dict[int, Any] = field(default_factory=dict, repr=False)

    def _rows(self, fmt: SymbolFormat, latex: bool, escape: Callable[[str], str]) -> dict[str, list[TraceRow]]:
        return _build(self, fmt, latex, escape)

    def to_text(self) -> str:
        """The three tables as aligned plain text."""
        rows = self._rows(_text_symbol, False, lambda s: s)
        direction = ", ".join(f"{_text_symbol(k, 'dot')} = {format_value(v)}" for k, v in self.direction.items())
        titles = {
            "primal": "Primal trace",
            "tangent": f"Tangent trace (forward mode, direction {direction})",
            "adjoint": "Adjoint trace (reverse mode, in the engine's order)",
        }
        lines: list[str] = []
        for key, title in titles.items():
            lines.append(title)
            table = rows[key]
            w1 = max((_width(r.lhs) + (1 if r.update else 0) for r in table), default=1)
            w2 = max((_width(r.formula) for r in table), default=1)
            w3 = max((_width(r.numbers) for r in table), default=1)
            for r in table:
                eq = "+=" if r.update else "="
                lhs = _pad(r.lhs, w1 - (1 if r.update else 0), right=True)
                lines.append(f"  {lhs} {eq:<2} {_pad(r.formula, w2)}  {_pad(r.numbers, w3)}  -> {r.value}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        """The three tables as Markdown with LaTeX symbols."""
        rows = self._rows(_latex_symbol, True, lambda s: s)
        direction = ", ".join(f"${_latex_symbol(k, 'dot')} = {format_value(v)}$" for k, v in self.direction.items())
        titles = {
            "primal": "**Primal trace**",
            "tangent": f"**Tangent trace** (forward mode, {direction})",
            "adjoint": "**Adjoint trace** (reverse mode, in the engine's order)",
        }
        parts: list[str] = []
        for key, title in titles.items():
            parts += [title, "", "| | formula | numbers | value |", "|---|---|---|---|"]
            for r in rows[key]:
                eq = "\\mathrel{+}=" if r.update else "="
                numbers = f"${r.numbers}$" if r.numbers else ""
                parts.append(f"| ${r.lhs} {eq}$ | ${r.formula}$ | {numbers} | ${r.value}$ |")
            parts.append("")
        return "\n".join(parts)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        rows = self._rows(_html_symbol, False, html.escape)
        direction = ", ".join(f"{_html_symbol(k, 'dot')} = {format_value(v)}" for k, v in self.direction.items())
        titles = {
            "primal": "Primal trace",
            "tangent": f"Tangent trace (forward mode, direction {direction})",
            "adjoint": "Adjoint trace (reverse mode, in the engine's order)",
        }
        out = ['<div class="chainrule-trace">']
        for key, title in titles.items():
            out.append(f"<table><caption style='text-align:left'><b>{title}</b></caption>")
            out.append("<tr><th></th><th>formula</th><th>numbers</th><th>value</th></tr>")
            for r in rows[key]:
                eq = "+=" if r.update else "="
                out.append(
                    f"<tr><td style='text-align:right'>{r.lhs} {eq}</td><td>{r.formula}</td>"
                    f"<td>{r.numbers}</td><td>{html.escape(r.value)}</td></tr>"
                )
            out.append("</table>")
        out.append("</div>")
        return "\n".join(out)


def _gw_numbering(graph: Graph) -> dict[int, str]:
    """Griewank-Walther names: inputs v[1-n]..v[0], ops v[1]..v[l]."""
    names: dict[int, str] = {}
    inputs = graph.inputs
    for k, n in enumerate(inputs):
        names[n.id] = f"v{k + 1 - len(inputs)}"
    for k, n in enumerate(graph.ops, start=1):
        names[n.id] = f"v{k}"
    return names


def _direction(graph: Graph, direction: Any) -> dict[int, Any]:
    inputs = graph.inputs
    if direction is None:
        return {n.id: (np.ones(n.shape) if k == 0 else np.zeros(n.shape)) for k, n in enumerate(inputs)}
    if isinstance(direction, dict):
        unknown = [k for k in direction if k not in {n.symbol for n in inputs}]
        if unknown:
            raise ValueError(
                f"trace_tables: direction names {unknown} are not inputs; the inputs are "
                f"{[n.symbol for n in inputs]}"
            )
        return {n.id: np.broadcast_to(np.asarray(direction.get(n.symbol, 0.0), dtype=float), n.shape)
                for n in inputs}  # fmt: skip
    values = list(np.atleast_1d(np.asarray(direction, dtype=float))) if np.ndim(direction) <= 1 else list(direction)
    if len(values) != len(inputs):
        raise ValueError(
            f"trace_tables: the direction has {len(values)} entries for {len(inputs)} inputs "
            f"({[n.symbol for n in inputs]})"
        )
    return {n.id: np.broadcast_to(np.asarray(v, dtype=float), n.shape) for n, v in zip(inputs, values)}


def _tangents(graph: Graph, seeds: dict[int, Any]) -> dict[int, Any]:
    """Forward-mode tangents of every node, from the primitives' JVP rules."""
    from chainrule.viz.explain import _rule_args

    tangents: dict[int, Any] = dict(seeds)
    for n in graph.nodes:
        if n.kind != "op":
            continue
        prim = n.ref.prim
        args = _rule_args(graph, n)
        ans = np.asarray(n.value) if n.value is not None else None
        total = np.zeros(n.shape, dtype=np.dtype(n.dtype) if n.dtype else float)
        with np.errstate(all="ignore"):
            for i, src in enumerate(n.inputs):
                rule = prim.jvp_rules[i] if i < len(prim.jvp_rules) else None
                if graph.nodes[src].kind == "constant" or rule is None:
                    continue
                t = rule(np.asarray(tangents[src]), ans, *args, **n.params)
                total = total + np.asarray(t)
        tangents[n.id] = np.broadcast_to(total, n.shape) if total.shape != n.shape else total
    return tangents


def _term(local: str | None, sym: str, latex: bool) -> str:
    if local is None:
        return f"J·{sym}" if not latex else f"J {sym}"
    if local == "1":
        return sym
    if local == "-1":
        return f"-{sym}"
    dot = " \\cdot " if latex else "·"
    compound = any(op in local for op in (" + ", " - ", "/", "frac", "(1/2")) or (
        local.startswith("-") and not local.startswith("-\\")
    )
    return f"({local}){dot}{sym}" if compound else f"{local}{dot}{sym}"


def _sum_terms(terms: list[str]) -> str:
    """``a + b``, writing ``a - b`` for a term ``-b``."""
    out = terms[0] if terms else ""
    for term in terms[1:]:
        out += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return out


def _build(t: TraceTables, fmt: SymbolFormat, latex: bool, escape: Callable[[str], str]) -> dict[str, list[TraceRow]]:
    g = t.graph
    gw = t.gw

    def sym(n: GraphNode, accent: str = "") -> str:
        return escape(number(n.value)) if n.kind == "constant" else fmt(gw[n.id], accent)

    def local(n: GraphNode, i: int, values: bool) -> str | None:
        syms = [f"\x00{k}\x00" for k in range(len(n.inputs))]
        consts = [g.nodes[j].value if g.nodes[j].kind == "constant" else None for j in n.inputs]
        vals = [g.nodes[j].value for j in n.inputs] if values else None
        if values and not all(v is not None and np.size(v) == 1 for v in vals or []):
            return None
        text = local_text(n.op or "", i, syms, "\x00o\x00", vals, n.value, consts, latex=latex, raw=True)
        if text is None:
            return None
        text = escape(text)
        for k, j in enumerate(n.inputs):
            text = text.replace(escape(f"\x00{k}\x00"), sym(g.nodes[j]))
        return text.replace(escape("\x00o\x00"), fmt(gw[n.id], ""))

    def forward(n: GraphNode) -> str:
        from chainrule.viz._rules import forward_text

        syms = [f"\x00{k}\x00" for k in range(len(n.inputs))]
        text = escape(forward_text(n.op or "", syms, n.params, latex=latex, raw=True))
        for k, j in enumerate(n.inputs):
            text = text.replace(escape(f"\x00{k}\x00"), sym(g.nodes[j]))
        return text

    primal: list[TraceRow] = []
    for n in g.inputs:
        primal.append(TraceRow(sym(n), fmt(n.symbol, ""), "", n.value_text))
    for n in g.ops:
        numbers = ""
        if all(g.nodes[j].value is not None and np.size(g.nodes[j].value) == 1 for j in n.inputs):
            from chainrule.viz._rules import forward_text

            numbers = escape(forward_text(n.op or "", [number(g.nodes[j].value) for j in n.inputs],
                                          n.params, latex=latex, raw=True))  # fmt: skip
        primal.append(TraceRow(sym(n), forward(n), numbers, n.value_text))
    for i in g.outputs:
        n = g.nodes[i]
        primal.append(TraceRow(fmt(n.symbol, ""), sym(n), "", n.value_text))

    tangent: list[TraceRow] = []
    for n in g.inputs:
        tangent.append(TraceRow(sym(n, "dot"), fmt(n.symbol, "dot"), "", format_value(t.tangents[n.id])))
    for n in g.ops:
        terms, nums = [], []
        for i, j in enumerate(n.inputs):
            src = g.nodes[j]
            if src.kind == "constant" or i >= len(n.ref.prim.jvp_rules) or n.ref.prim.jvp_rules[i] is None:
                continue
            terms.append(_term(local(n, i, False), sym(src, "dot"), latex))
            lv = local(n, i, True)
            nums.append(_term(lv, escape(number(t.tangents[j])), latex) if lv is not None else "")
        formula = _sum_terms(terms) or "0"
        numbers = _sum_terms(nums) if all(nums) else ""
        tangent.append(TraceRow(sym(n, "dot"), formula, numbers, format_value(t.tangents[n.id])))
    for i in g.outputs:
        n = g.nodes[i]
        tangent.append(TraceRow(fmt(n.symbol, "dot"), sym(n, "dot"), "", format_value(t.tangents[n.id])))

    adjoint: list[TraceRow] = []
    if g.has_adjoints:
        for i in g.outputs:
            n = g.nodes[i]
            adjoint.append(TraceRow(sym(n, "bar"), fmt(n.symbol, "bar"), "", n.adjoint_text))
        running: dict[int, Any] = {}
        for node_id in g.backward_order:
            n = g.nodes[node_id]
            if n.adjoint is None:
                continue
            for c in contributions(g, n):
                src = g.nodes[c.target]
                lt = local(n, c.index, False)
                formula = _term(lt, sym(n, "bar"), latex) if lt is not None else f"{sym(n, 'bar')}·J"
                lv = local(n, c.index, True)
                numbers = escape(format_value(c.value))
                if lv is not None:
                    product = _term(lv, escape(number(n.adjoint)), latex)
                    if product.replace("(", "").replace(")", "") != numbers:
                        numbers = f"{product} = {numbers}"
                update = c.target in running
                running[c.target] = c.value if not update else running[c.target] + c.value
                adjoint.append(TraceRow(sym(src, "bar"), formula, numbers,
                                        format_value(running[c.target]), update))  # fmt: skip
        for n in g.inputs:
            adjoint.append(TraceRow(fmt(n.symbol, "bar"), sym(n, "bar"), "", n.adjoint_text))
    return {"primal": primal, "tangent": tangent, "adjoint": adjoint}


def trace_tables(
    output: Any,
    *args: Any,
    names: Any = None,
    direction: Any = None,
    max_nodes: int = 200,
    tape: Any = None,
) -> TraceTables:
    """The primal, tangent and adjoint traces of ``output`` (a tensor, tape or captured Graph).

    ``direction`` is the input tangent for the tangent trace: a list with one value per input
    (in the order of the primal trace), or ``{input name: value}``; by default the first input's
    direction (``ẋ = 1``, the others 0), which makes the last tangent ``d output / d first input``.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> row = trace_tables(cr.sin(x) * x, names={x: "x"}).primal[1]
    >>> row.lhs, row.formula, row.numbers, row.value
    ('v1', 'sin(v0)', 'sin(2)', '0.909297')

    A compiled function (``cr.jit``, ``tf.function``, ``torch.compile``) with its arguments, or
    its lowered program, gives the traces of its program's steps:

    >>> t = trace_tables(cr.jit(lambda x: cr.sin(x) * x), cr.tensor(2.0))
    >>> t.primal[1].formula, t.adjoint[-1].value
    ('sin(v0)', '0.0770038')
    """
    from chainrule.core.tensor import Tensor
    from chainrule.viz.program import as_lowered

    lowered = None if isinstance(output, (Graph, Tensor)) else as_lowered(output, args)
    if lowered is not None:
        output = lowered.capture()
    elif args:
        raise TypeError(
            f"trace_tables: extra arguments are for a compiled function (cr.jit, tf.function, "
            f"torch.compile); {type(output).__name__} takes none"
        )
    graph = output if isinstance(output, Graph) else capture(output, names=names, tape=tape)
    if len(graph.nodes) > max_nodes:
        raise ValueError(
            f"trace_tables: the computation has {len(graph.nodes)} nodes; trace tables are for "
            f"small computations (at most {max_nodes}). Use viz.draw() for large graphs."
        )
    seeds = _direction(graph, direction)
    tables = TraceTables(
        graph=graph,
        direction={graph.nodes[i].symbol: v for i, v in seeds.items()},
        gw=_gw_numbering(graph),
    )
    tables.tangents = _tangents(graph, seeds)
    rows = _build(tables, _text_symbol, False, lambda s: s)
    tables.primal, tables.tangent, tables.adjoint = rows["primal"], rows["tangent"], rows["adjoint"]
    return tables
