"""See inside a computation: capture its graph, draw it, explain the chain rule step by step,
print evaluation-trace tables, and say why a gradient is None.

>>> import chainrule as cr
>>> from chainrule import viz
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = cr.tensor(-4.0, requires_grad=True)
>>> f = (x + y) ** 2 + 2 * x * y
>>> g = viz.capture(f, names={x: "x", y: "y"})
>>> g.node("x").adjoint_text, g.node("y").adjoint_text
('-12', '0')
"""

from chainrule.viz.capture import Graph, GraphNode, capture

__all__ = ["capture", "Graph", "GraphNode"]
