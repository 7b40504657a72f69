"""See inside a computation: capture its graph, draw it, explain the chain rule step by step,
print evaluation-trace tables, and say why a gradient is None.

- :func:`capture`: the graph of a tensor (or tape), with values and adjoints;
- :func:`draw`, :func:`to_dot`: SVG/PNG/PDF pictures (matplotlib, or Graphviz when installed)
  and DOT text; drawings display inline in Jupyter;
- :func:`explain`: the forward values and the backward pass step by step, as text or Markdown;
- :func:`trace_tables`: Griewank-Walther primal, tangent and adjoint traces;
- :func:`explore`: an interactive HTML page stepping through the forward and backward pass
  (self-contained; Jupyter shows it inline);
- :func:`program_table`: the steps of a compiled (``cr.jit``) function's program with their
  shapes, dtypes, values and gradients; ``explain`` and ``trace_tables`` also take a compiled
  function with its arguments (see :mod:`chainrule.viz.program`);
- :func:`why_none`: why a gradient is None. Importing this package also makes the error that
  ``autograd.grad`` raises for an unused input carry that explanation.

>>> import chainrule as cr
>>> from chainrule import viz
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = cr.tensor(-4.0, requires_grad=True)
>>> f = (x + y) ** 2 + 2 * x * y
>>> g = viz.capture(f, names={x: "x", y: "y"})
>>> g.node("x").adjoint_text, g.node("y").adjoint_text
('-12', '0')
"""

from __future__ import annotations

from typing import Any

from chainrule.core import entry as _entry
from chainrule.viz.capture import Graph, GraphNode, capture
from chainrule.viz.explain import Explanation, explain
from chainrule.viz.explore import Explorer, explore
from chainrule.viz.program import ProgramTable, program_table
from chainrule.viz.render import Drawing, collapse, draw, to_dot
from chainrule.viz.trace import TraceTables, trace_tables
from chainrule.viz.why_none import Diagnosis, why_none

__all__ = [
    "capture", "draw", "to_dot", "collapse", "explain", "trace_tables", "why_none",
    "Graph", "GraphNode", "Drawing", "Explanation", "TraceTables", "Diagnosis",
    "explore", "Explorer",
    "program_table", "ProgramTable",
]  # fmt: skip


def _why_none_hint(outputs: list[Any], source: Any) -> str:
    """The engine's hook: the explanation added to autograd.grad's unused-input error."""
    return f"Why: {why_none(outputs, source).message}"


_entry._WHY_NONE_HOOK[0] = _why_none_hint
