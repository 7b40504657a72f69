"""The chain rule, step by step: the forward values, then the backward sweep as the engine runs it.

``explain(f)`` captures the graph of ``f`` (see :mod:`chainrule.viz.capture`), then, for every op
in the engine's backward order, shows the adjoint arriving at it, each input's local derivative
(its formula, the formula with the numbers put in, and its value) and the contribution
``adjoint · local derivative`` passed back to that input; where a value feeds several ops, the
contributions are summed, and the sums are shown. The numbers are the engine's: adjoints come
from ``backprop``, contributions from the primitives' own VJP rules.

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = cr.tensor(-4.0, requires_grad=True)
>>> text = str(explain((x + y) ** 2 + 2 * x * y, names={x: "x", y: "y"}))
>>> "df/dx = -12" in text and "df/dy = 0" in text
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.core import rules as _rules
from chainrule.core.tensor import Tensor
from chainrule.viz._rules import forward_text, latex_symbol, local_text, number
from chainrule.viz.capture import Graph, GraphNode, capture, format_value

__all__ = ["explain", "Explanation", "Step", "Contribution", "contributions"]


@dataclass
class Contribution:
    """What one backward step sends to one input: ``adjoint · local derivative``."""

    source: int
    target: int
    index: int
    local: Any
    value: Any
    formula: str | None
    formula_numbers: str | None
    formula_latex: str | None


@dataclass
class Step:
    """One op of the backward sweep, in engine order."""

    number: int
    node: int
    adjoint: Any
    contributions: list[Contribution] = field(default_factory=list)


def contributions(graph: Graph, gn: GraphNode) -> list[Contribution]:
    """Run the VJP rules of op node ``gn`` on its adjoint: one entry per input that gets one.

    Uses the values the node saved for its rules where it has them (what the engine uses), else
    the captured forward values.
    """
    node = gn.ref
    prim = node.prim
    g = gn.adjoint
    if g is None or node is None:
        return []
    g = np.asarray(g, dtype=np.dtype(gn.dtype))
    args = _rule_args(graph, gn)
    ans = node.ans if node.ans is not None else gn.value
    if ans is not None:
        ans = np.asarray(ans)
    consts = [graph.nodes[j].value if graph.nodes[j].kind == "constant" else None for j in gn.inputs]
    syms = [_sym(graph.nodes[j]) for j in gn.inputs]
    vals = [graph.nodes[j].value for j in gn.inputs]
    out: list[Contribution] = []
    for i, src in enumerate(gn.inputs):
        target = graph.nodes[src]
        rule = prim.vjp_rules[i] if i < len(prim.vjp_rules) else None
        if target.kind == "constant" or rule is None:
            continue
        try:
            with np.errstate(all="ignore"):
                value = _fit(rule, g, ans, args, gn.params, target)
                local = None
                if value is not None and np.size(g) == 1 and np.size(value) == 1:
                    local = _fit(rule, np.ones_like(g), ans, args, gn.params, target)
        except Exception as exc:  # noqa: BLE001 - show what failed instead of failing
            value, local = None, f"rule failed: {exc}"
        scalar = all(v is not None and np.size(v) == 1 for v in vals)
        out.append(
            Contribution(
                source=gn.id, target=src, index=i, local=local, value=value,
                formula=local_text(prim.name, i, syms, gn.symbol, consts=consts),
                formula_numbers=local_text(prim.name, i, syms, gn.symbol, vals, gn.value, consts)
                if scalar else None,
                formula_latex=local_text(prim.name, i, syms, gn.symbol, consts=consts, latex=True),
            )
        )  # fmt: skip
    return out


def _rule_args(graph: Graph, gn: GraphNode) -> list[Any]:
    node = gn.ref
    saved = node.saved_data if node.saved_data is not None else (None,) * len(gn.inputs)
    args: list[Any] = []
    for i, src in enumerate(gn.inputs):
        value = saved[i] if i < len(saved) else None
        if value is None:
            value = graph.nodes[src].value
        if value is None and node.prim.uses_shapes and node.in_meta[i] is not None:
            value = _rules.InputMeta(*node.in_meta[i])
        args.append(value)
    return args


def _fit(rule: Any, g: Any, ans: Any, args: list[Any], params: dict[str, Any], target: GraphNode) -> Any:
    """The engine's own edge step (rule, sum back to the input's shape, cast); a zero for None."""
    dtype = np.dtype(target.dtype) if target.dtype else np.asarray(g).dtype
    meta = (tuple(target.shape), dtype)
    value = _rules.edge_cotangent(rule, g, ans, args, params or {}, meta, True)
    return np.zeros(meta[0], dtype) if value is None else np.asarray(value)


def _distinct(parts: list[str | None]) -> list[str]:
    """Drop missing parts and parts that repeat the one before (``y = (-4) = -4`` -> ``y = -4``)."""
    kept: list[str] = []
    for part in parts:
        if part is None:
            continue
        bare = part.replace("(", "").replace(")", "")
        if kept and kept[-1].replace("(", "").replace(")", "") == bare:
            kept[-1] = part
            continue
        kept.append(part)
    return kept


def _sym(gn: GraphNode) -> str:
    return number(gn.value) if gn.kind == "constant" else gn.symbol


@dataclass
class Explanation:
    """The walkthrough. ``str()`` is plain text; :meth:`to_markdown` (and Jupyter) Markdown+LaTeX."""

    graph: Graph
    steps: list[Step]
    output: str
    paths: dict[int, list[tuple[list[int], list[Any]]]] = field(default_factory=dict)

    @property
    def gradients(self) -> dict[str, Any]:
        """Input symbol -> gradient (None where the output does not depend on it)."""
        return {n.symbol: n.adjoint for n in self.graph.inputs}

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    # ------------------------------------------------------------------ plain text
    def to_text(self) -> str:
        """The walkthrough as plain text."""
        g = self.graph
        lines = ["Forward pass: the value of every node"]
        width = max((len(n.symbol) for n in g.nodes if n.kind != "constant"), default=1)
        for n in g.nodes:
            if n.kind == "input":
                lines.append(f"  {n.symbol:<{width}} = {n.value_text}")
            elif n.kind == "op":
                formula = forward_text(n.op or "", [_sym(g.nodes[j]) for j in n.inputs], n.params)
                lines.append(f"  {n.symbol:<{width}} = {formula:<24} = {n.value_text}")
        lines.append("")
        out = self.output
        if not g.has_adjoints:
            lines.append("Backward pass: not available (" + "; ".join(g.notes) + ")")
            return "\n".join(lines)
        seed = g.nodes[g.outputs[0]].adjoint_text if g.outputs else "1"
        lines.append(
            f"Backward pass, in the order the engine runs it (starting from d{out}/d{out} = {seed})"
        )
        received = self._received()
        for step in self.steps:
            n = g.nodes[step.node]
            formula = forward_text(n.op or "", [_sym(g.nodes[j]) for j in n.inputs], n.params)
            head = f"  step {step.number}: {n.symbol} = {formula}  [{n.op}]"
            lines.append(head)
            lines.append(f"      d{out}/d{n.symbol} = {self._sum_text(n, received)}")
            for c in step.contributions:
                t = g.nodes[c.target]
                d = f"∂{n.symbol}/∂{t.symbol}"
                if c.formula is None:
                    local = f"{d}: by the rule of {n.grad_fn_name}"
                    if c.local is not None and not isinstance(c.local, str):
                        local += f" = {format_value(c.local)}"
                else:
                    value = None if c.local is None or isinstance(c.local, str) else format_value(c.local)
                    local = " = ".join([d] + _distinct([c.formula, c.formula_numbers, value]))
                if c.local is not None and not isinstance(c.local, str):
                    flow = f"{number(step.adjoint)} · {number(c.local)} = {format_value(c.value)}"
                else:
                    flow = format_value(c.value)
                lines.append(f"      {local}")
                lines.append(f"          -> d{out}/d{t.symbol} += {flow}")
        fan = [n for n in g.nodes if n.kind != "constant" and len(received.get(n.id, [])) > 1]
        if fan:
            lines.append("")
            lines.append("Fan-out: a value used by several ops gets the sum of their contributions")
            for n in fan:
                lines.append(f"  d{out}/d{n.symbol} = {self._sum_text(n, received)}")
        if self.paths:
            lines.append("")
            lines.append("The chain rule along every path (product of local derivatives, summed)")
            for leaf_id, paths in self.paths.items():
                leaf = g.nodes[leaf_id]
                terms = [" · ".join(number(v) for v in locals_) for _, locals_ in paths]
                values = [format_value(np.prod([np.asarray(v) for v in locals_])) for _, locals_ in paths]
                chains = [
                    " · ".join(f"∂{g.nodes[a].symbol}/∂{g.nodes[b].symbol}" for a, b in zip(p, p[1:]))
                    for p, _ in paths
                ]
                lines.append(f"  d{out}/d{leaf.symbol} = " + " + ".join(chains))
                lines.append(
                    "      = " + " + ".join(f"({t})" if len(paths) > 1 else t for t in terms)
                    + (" = " + " + ".join(number(v) for v in values) if len(paths) > 1 else "")
                    + f" = {leaf.adjoint_text}"
                )
        lines.append("")
        lines.append("Gradient")
        for n in g.inputs:
            lines.append(f"  d{out}/d{n.symbol} = {n.adjoint_text}")
        lines.extend(f"note: {note}" for note in g.notes)
        return "\n".join(lines)

    def _received(self) -> dict[int, list[tuple[int, Any]]]:
        got: dict[int, list[tuple[int, Any]]] = {}
        for step in self.steps:
            for c in step.contributions:
                got.setdefault(c.target, []).append((c.source, c.value))
        return got

    def _sum_text(self, n: GraphNode, received: dict[int, list[tuple[int, Any]]], latex: bool = False) -> str:
        parts = received.get(n.id, [])
        if n.is_output and not parts:
            return n.adjoint_text + (" (the seed)" if not latex else "")
        if len(parts) <= 1:
            if parts:
                src = self.graph.nodes[parts[0][0]]
                via = f" (from {src.symbol})" if not latex else ""
                return f"{format_value(parts[0][1])}{via}"
            return n.adjoint_text
        if latex:
            terms = " + ".join(number(v) for _, v in parts)
        else:
            terms = " + ".join(
                f"{number(v)} (from {self.graph.nodes[s].symbol})" for s, v in parts
            )
        return f"{terms} = {n.adjoint_text}"

    # ------------------------------------------------------------------ Markdown + LaTeX
    def to_markdown(self) -> str:
        """The walkthrough as Markdown with LaTeX formulas (for notebooks)."""
        g = self.graph
        out = latex_symbol(self.output)
        lines = ["**Forward pass**", "", "| node | op | value |", "|---|---|---|"]
        for n in g.nodes:
            if n.kind == "input":
                lines.append(f"| ${latex_symbol(n.symbol)}$ | input | ${n.value_text}$ |")
            elif n.kind == "op":
                f = forward_text(n.op or "", [_sym(g.nodes[j]) for j in n.inputs], n.params, latex=True)
                lines.append(f"| ${latex_symbol(n.symbol)} = {f}$ | `{n.op}` | ${n.value_text}$ |")
        lines.append("")
        if not g.has_adjoints:
            lines.append("*Backward pass not available: " + "; ".join(g.notes) + "*")
            return "\n".join(lines)
        lines.append("**Backward pass** (in the order the engine runs it)")
        lines.append("")
        received = self._received()
        for step in self.steps:
            n = g.nodes[step.node]
            s = latex_symbol(n.symbol)
            f = forward_text(n.op or "", [_sym(g.nodes[j]) for j in n.inputs], n.params, latex=True)
            adj = self._sum_text(n, received, latex=True)
            lines.append(
                f"{step.number}. ${s} = {f}$: "
                f"$\\frac{{\\partial {out}}}{{\\partial {s}}} = {adj}$"
            )
            for c in step.contributions:
                t = latex_symbol(g.nodes[c.target].symbol)
                d = f"\\frac{{\\partial {s}}}{{\\partial {t}}}"
                formula = c.formula_latex or f"\\text{{rule of {n.grad_fn_name}}}"
                shown = c.local is not None and not isinstance(c.local, str)
                local = " = ".join([""] + _distinct([formula, format_value(c.local) if shown else None]))
                flow = (
                    f"{number(step.adjoint)} \\cdot {number(c.local)} = {format_value(c.value)}"
                    if shown else format_value(c.value)
                )
                lines.append(
                    f"   - ${d}{local}$, so "
                    f"$\\frac{{\\partial {out}}}{{\\partial {t}}} \\mathrel{{+}}= {flow}$"
                )
        lines.append("")
        lines.append("**Gradient**")
        lines.append("")
        for n in g.inputs:
            s = latex_symbol(n.symbol)
            lines.append(
                f"- $\\frac{{\\partial {out}}}{{\\partial {s}}} = {self._sum_text(n, received, latex=True)}$"
            )
        lines.extend(f"\n*note: {note}*" for note in g.notes)
        return "\n".join(lines)

    def to_latex(self) -> str:
        """The gradient as a LaTeX ``aligned`` block (one line per input)."""
        out = latex_symbol(self.output)
        received = self._received()
        rows = [
            f"\\frac{{\\partial {out}}}{{\\partial {latex_symbol(n.symbol)}}} &= "
            f"{self._sum_text(n, received, latex=True)}"
            for n in self.graph.inputs
        ]
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"


def explain(
    output: Any,
    *args: Any,
    names: Any = None,
    grad_outputs: Any = None,
    max_paths: int = 16,
    tape: Any = None,
) -> Explanation:
    """Explain how reverse mode computes the gradient of ``output``.

    ``output`` is a tensor (or a captured :class:`Graph`, or a tape; with ``tape=`` only that
    tape's records count, as in ``tape.gradient``); ``names``
    maps tensors to the names used in the text (``{x: "x"}``). Path-by-path chain-rule sums are
    added for scalar graphs with at most ``max_paths`` paths per input. ``str()`` of the result
    is plain text; in Jupyter it shows as Markdown with LaTeX.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> print(explain(x * x, names={x: "x"}).to_text().splitlines()[-1])
      df/dx = 6

    A compiled function (``cr.jit``, ``tf.function``, ``torch.compile``) with its arguments, or
    its lowered program, is explained through its program's steps, named as ``as_text()`` names
    them (see :mod:`chainrule.viz.program`):

    >>> print(explain(cr.jit(lambda x: x * x), cr.tensor(3.0)).to_text().splitlines()[-2])
      db/da = 6
    """
    from chainrule.viz.program import as_lowered

    lowered = None if isinstance(output, (Graph, Tensor)) else as_lowered(output, args)
    if lowered is not None:
        output = lowered.capture()
    elif args:
        raise TypeError(
            f"explain: extra arguments are for a compiled function (cr.jit, tf.function, "
            f"torch.compile); {type(output).__name__} takes none"
        )
    graph = (
        output if isinstance(output, Graph)
        else capture(output, names=names, grad_outputs=grad_outputs, tape=tape)
    )  # fmt: skip
    steps: list[Step] = []
    if graph.has_adjoints:
        for node_id in graph.backward_order:
            gn = graph.nodes[node_id]
            if gn.adjoint is None:
                continue
            steps.append(Step(number=len(steps) + 1, node=node_id, adjoint=gn.adjoint,
                              contributions=contributions(graph, gn)))  # fmt: skip
    out_symbol = graph.nodes[graph.outputs[0]].symbol if len(graph.outputs) == 1 else "out"
    explanation = Explanation(graph=graph, steps=steps, output=out_symbol)
    if graph.has_adjoints and len(graph.outputs) == 1:
        explanation.paths = _paths(graph, steps, max_paths)
    return explanation


def _paths(graph: Graph, steps: list[Step], max_paths: int) -> dict[int, list[tuple[list[int], list[Any]]]]:
    """For each input: every path output -> input, with the local derivatives along it."""
    local: dict[tuple[int, int], list[Any]] = {}
    for step in steps:
        for c in step.contributions:
            if c.local is None or isinstance(c.local, str) or np.size(c.local) != 1:
                return {}
            local.setdefault((c.source, c.target), []).append(c.local)
    if any(len(v) > 1 for v in local.values()):
        return {}  # the same value used twice by one op (x * x): paths would double count
    out = graph.outputs[0]
    result: dict[int, list[tuple[list[int], list[Any]]]] = {}
    for leaf in graph.inputs:
        paths: list[tuple[list[int], list[Any]]] = []
        stack: list[tuple[list[int], list[Any]]] = [([out], [])]
        while stack:
            path, factors = stack.pop()
            here = path[-1]
            if here == leaf.id:
                paths.append((path, factors))
                if len(paths) > max_paths:
                    break
                continue
            for src in graph.nodes[here].inputs:
                if (here, src) in local:
                    stack.append((path + [src], factors + local[(here, src)]))
        if paths and len(paths) <= max_paths:
            result[leaf.id] = sorted(paths, key=lambda p: p[0])
    return result
