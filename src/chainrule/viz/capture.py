"""Graph capture: a read-only view of a recorded computation, with values and adjoints.

``capture(y)`` walks back from ``y`` over the recorded nodes (the same ``Node`` objects the
engine runs) and returns a :class:`Graph`: one :class:`GraphNode` per input, constant and op,
in an order where every node comes after the nodes it reads. Each node carries its label (the op
name, or the variable's name), shape, dtype, forward value and -- when ``adjoints=True`` -- its
adjoint, the gradient of the output with respect to that node, computed by the engine's own
``backprop`` (with ``retain_graph=True``, so the user's graph stays usable).

Forward values come from what the graph already holds (the output, the leaves, values the
nodes saved for their rules); the rest are recomputed by running the node's primitive on its
inputs' values. Nothing is differentiated here: adjoints come from the engine.

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> g = capture(x * x + 1.0, names={x: "x"})
>>> [n.label for n in g.nodes]
['x', 'mul', '1', 'add']
>>> g.node("x").adjoint_text
'4'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chainrule.core import engine as _engine
from chainrule.core import order as _order
from chainrule.core.node import Node
from chainrule.core.tensor import Tensor, wrap_array

__all__ = ["Graph", "GraphNode", "capture", "format_value", "engine_order"]


def format_value(value: Any, width: int = 4) -> str:
    """A short text for a value: the number for a scalar, a few entries or a summary otherwise.

    >>> format_value(np.float64(-12.0))
    '-12'
    >>> format_value(np.arange(10.0))
    'shape (10,): min 0, mean 4.5, max 9'
    """
    if value is None:
        return "?"
    arr = np.asarray(value)
    if arr.size == 1:
        return _number(arr.reshape(()).item())
    if arr.size == 0:
        return f"empty {arr.shape}"
    if arr.size <= width:
        return "[" + ", ".join(_number(v) for v in arr.ravel().tolist()) + "]"
    if arr.dtype.kind in "biu":
        return f"shape {arr.shape}: min {_number(arr.min())}, max {_number(arr.max())}"
    with np.errstate(all="ignore"):
        return (
            f"shape {arr.shape}: min {_number(np.min(arr))}, mean {_number(np.mean(arr))}, "
            f"max {_number(np.max(arr))}"
        )


def _number(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if v == 0:
        return "0"  # also for -0.0
    return f"{v:.6g}"


@dataclass(eq=False)
class GraphNode:
    """One node of a captured graph.

    ``kind`` is ``"input"`` (a leaf that can receive a gradient), ``"constant"`` (a value with
    no history: a number, a tensor that does not require grad), ``"op"`` (a recorded
    primitive), or ``"group"`` (several ops drawn as one in a collapsed view of a large graph). ``inputs`` are the ids of the nodes an op reads, in argument order.
    """

    id: int
    kind: str
    label: str
    symbol: str
    name: str | None = None
    op: str | None = None
    grad_fn_name: str | None = None
    shape: tuple[int, ...] = ()
    dtype: str = ""
    value: Any = None
    adjoint: Any = None
    inputs: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    is_output: bool = False
    #: For a node standing for several (a collapsed chain or group): their ids in the full graph.
    members: list[int] = field(default_factory=list)
    #: The engine object behind the node: a Node, a leaf Tensor, or None for constants.
    ref: Any = field(default=None, repr=False)

    @property
    def value_text(self) -> str:
        """The forward value, shortened (``"?"`` when the graph did not keep it)."""
        return format_value(self.value)

    @property
    def adjoint_text(self) -> str:
        """The adjoint, shortened (``"0"`` where no gradient reaches the node)."""
        if self.adjoint is None:
            return "0" if self.kind != "constant" else "-"
        return format_value(self.adjoint)

    @property
    def title(self) -> str:
        """``name = op`` for a named op node (and the output), else the label."""
        if self.kind == "op" and (self.name or self.is_output):
            return f"{self.symbol} = {self.op}"
        return self.label


@dataclass(eq=False)
class Graph:
    """A captured computation: nodes in dependency order, plus what the capture found out.

    ``backward_order`` lists the ids of the op nodes in the order the engine's backward sweep
    runs them. ``notes`` says what could not be shown (e.g. adjoints of a freed graph).
    """

    nodes: list[GraphNode]
    outputs: list[int]
    backward_order: list[int] = field(default_factory=list)
    has_adjoints: bool = False
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Any:
        return iter(self.nodes)

    @property
    def edges(self) -> list[tuple[int, int, int]]:
        """``(source id, destination id, argument index)`` for every input of every op."""
        return [(src, n.id, i) for n in self.nodes for i, src in enumerate(n.inputs)]

    def consumers(self, node_id: int) -> list[int]:
        """Ids of the ops that read node ``node_id`` (one entry per use)."""
        return [dst for src, dst, _ in self.edges if src == node_id]

    def node(self, key: str | int) -> GraphNode:
        """The node with this id, or the first whose name, symbol or label is ``key``."""
        if isinstance(key, int):
            return self.nodes[key]
        for attr in ("name", "symbol", "label"):
            for n in self.nodes:
                if getattr(n, attr) == key:
                    return n
        raise KeyError(f"no node named {key!r}; the nodes are {[n.symbol for n in self.nodes]}")

    @property
    def inputs(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "input"]

    @property
    def ops(self) -> list[GraphNode]:
        return [n for n in self.nodes if n.kind == "op"]

    def to_dot(self, **kwargs: Any) -> str:
        """The graph as Graphviz DOT text (see :func:`chainrule.viz.render.to_dot`)."""
        from chainrule.viz.render import to_dot

        return to_dot(self, **kwargs)

    def draw(self, path: Any = None, **kwargs: Any) -> Any:
        """Render the graph (see :func:`chainrule.viz.render.draw`)."""
        from chainrule.viz.render import draw

        return draw(self, path, **kwargs)

    def _repr_svg_(self) -> str:
        from chainrule.viz.render import draw

        return draw(self)._repr_svg_()

    def __repr__(self) -> str:
        kinds = [n.kind for n in self.nodes]
        groups = kinds.count("group")
        return (
            f"<Graph: {kinds.count('input')} inputs, {kinds.count('op')} ops, "
            f"{kinds.count('constant')} constants" + (f", {groups} groups>" if groups else ">")
        )


def _key(t: Tensor) -> Any:
    return t._node if t._node is not None else t


def _name_table(names: Any) -> dict[int, str]:
    """id(Node or leaf Tensor) -> name, from ``{tensor: name}`` or ``{name: tensor}``."""
    table: dict[int, str] = {}
    if not names:
        return table
    items = names.items() if isinstance(names, Mapping) else names
    for a, b in items:
        tensor, name = (b, a) if isinstance(a, str) else (a, b)
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"names: expected tensor -> name pairs, got {type(tensor).__name__} -> "
                f"{type(name).__name__}"
            )
        table[id(_key(tensor))] = str(name)
        table.setdefault(id(tensor), str(name))
    return table


def engine_order(roots: Sequence[Node], allowed: set[Node] | None = None) -> list[Node]:
    """The op nodes in the order ``engine.backprop`` runs them from ``roots``.

    The same dependency counting and the same last-in-first-out ready list as the engine.
    """
    deps = _order.dependencies(list(roots), allowed)
    ready = [n for n in dict.fromkeys(roots) if deps.get(n, 0) == 0]
    order: list[Node] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if type(parent) is Node and (allowed is None or parent in allowed):
                deps[parent] -= 1
                if deps[parent] == 0:
                    ready.append(parent)
    return order


def _topological(roots: Sequence[Any], allowed: set[Node] | None) -> list[Any]:
    """Nodes and leaves reachable from ``roots``, each after everything it reads (iterative)."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(r, False) for r in reversed(list(roots))]
    while stack:
        item, expanded = stack.pop()
        if expanded:
            order.append(item)
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        stack.append((item, True))
        if type(item) is Node:
            for parent in reversed(item.parents):
                if parent is None or id(parent) in seen:
                    continue
                if type(parent) is Node and allowed is not None and parent not in allowed:
                    continue
                stack.append((parent, False))
    return order


def capture(
    outputs: Any,
    *,
    names: Any = None,
    adjoints: bool = True,
    grad_outputs: Any = None,
    nodes: Iterable[Node] | None = None,
    tape: Any = None,
) -> Graph:
    """Build the :class:`Graph` of ``outputs`` (a tensor, a list of tensors, or a tape).

    ``names`` maps tensors to names (``{x: "x"}``), used as labels; a leaf with a string
    ``name`` attribute (a ``Variable``) is named by it. ``adjoints=True`` runs the engine's
    backward sweep (keeping the graph) to attach to every node the gradient of the outputs,
    seeded with ``grad_outputs`` (ones by default). With a ``tape`` (or a tape as ``outputs``,
    which then shows everything it recorded), only the tape's records count, as in
    ``tape.gradient``; ``nodes`` restricts the graph to other given nodes the same way.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> g = capture(cr.sin(x) * x, names={x: "x"})
    >>> [(n.label, n.value_text) for n in g.nodes]
    [('x', '3'), ('sin', '0.14112'), ('mul', '0.42336')]
    """
    from chainrule.viz import _tapes

    as_tape = _tapes.as_tape(outputs)
    if as_tape is not None:
        tape, outputs = as_tape, None
    if tape is not None:
        nodes = _tapes.tape_nodes(tape)
        names = {**_tapes.watched_names(tape), **_plain_names(names)}
        if outputs is None:
            outputs = [_proxy(n, keep_value=True) for n in _tapes.sinks(set(nodes))]
    outs = _as_tensor_list(outputs)
    allowed = set(nodes) if nodes is not None else None
    name_of = _name_table(names)
    roots = [_key(t) for t in outs]
    if allowed is not None:
        roots = [r for r in roots if type(r) is not Node or r in allowed]
    order = _topological(roots, allowed)

    saved_by_consumer = _values_saved_by_consumers(order)
    values: dict[int, Any] = {}
    for t in outs:
        if t._data is not None:
            values[id(_key(t))] = t._data

    graph_nodes: list[GraphNode] = []
    index: dict[int, int] = {}
    counters = {"leaf": 0, "op": 0}

    def add(gn: GraphNode) -> int:
        gn.id = len(graph_nodes)
        graph_nodes.append(gn)
        return gn.id

    for item in order:
        if type(item) is not Node:
            leaf: Tensor = item
            name = name_of.get(id(leaf)) or _own_name(leaf)
            symbol = name or f"x{counters['leaf']}"
            counters["leaf"] += 1
            value = saved_by_consumer.get(id(leaf), leaf._data)
            values[id(leaf)] = value
            index[id(leaf)] = add(
                GraphNode(
                    id=-1, kind="input", label=symbol, symbol=symbol, name=name,
                    shape=tuple(leaf._data.shape), dtype=str(leaf._data.dtype), value=value,
                    ref=leaf,
                )
            )  # fmt: skip
            continue
        node: Node = item
        inputs: list[int] = []
        arg_values: list[Any] = []
        saved = node.saved_data
        for i, parent in enumerate(node.parents):
            is_live = parent is not None and (
                type(parent) is not Node or allowed is None or parent in allowed
            )
            if is_live and id(parent) in index:
                inputs.append(index[id(parent)])
                arg_values.append(values.get(id(parent)))
                continue
            # A constant: a number, a tensor without history, or a node outside `nodes`.
            meta = node.in_meta[i] if node.in_meta else None
            value = saved[i] if saved is not None and i < len(saved) else None
            if value is None and parent is not None:
                value = values.get(id(parent), getattr(parent, "ans", None))
            if value is None and isinstance(parent, Tensor):
                value = parent._data
            shape, dtype = _shape_dtype(meta, value)
            label = format_value(value, width=3) if value is not None else f"const {shape}"
            inputs.append(
                add(
                    GraphNode(
                        id=-1, kind="constant", label=label, symbol=label, shape=shape,
                        dtype=dtype, value=value, ref=parent,
                    )
                )  # fmt: skip
            )
            arg_values.append(value)
        value = values.get(id(node))
        if value is None:
            value = node.ans if node.ans is not None else saved_by_consumer.get(id(node))
        if value is None:
            value = _recompute(node, arg_values)
        values[id(node)] = value
        counters["op"] += 1
        name = name_of.get(id(node))
        index[id(node)] = add(
            GraphNode(
                id=-1, kind="op", label=node.prim.name, symbol=name or f"v{counters['op']}",
                name=name, op=node.prim.name, grad_fn_name=node.prim.grad_fn_name,
                shape=tuple(node.out_shape), dtype=str(np.dtype(node.out_dtype)), value=value,
                inputs=inputs, params=dict(node.params or {}), ref=node,
            )
        )  # fmt: skip

    out_ids = [index[id(r)] for r in roots if id(r) in index]
    for i in out_ids:
        graph_nodes[i].is_output = True
    if len(out_ids) == 1:
        out = graph_nodes[out_ids[0]]
        if out.name is None and out.kind == "op":
            out.symbol = "f"
    graph = Graph(nodes=graph_nodes, outputs=out_ids)
    root_nodes = [r for r in roots if type(r) is Node]
    graph.backward_order = [index[id(n)] for n in engine_order(root_nodes, allowed)]
    if adjoints:
        _attach_adjoints(graph, outs, grad_outputs, allowed)
    return graph


def _as_tensor_list(outputs: Any) -> list[Tensor]:
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for i, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"capture: output {i} is a {type(t).__name__}, not a chainrule Tensor; pass the "
                "tensor whose history you want to see (a value from .numpy()/float() has none)"
            )
    return outs


def _own_name(leaf: Tensor) -> str | None:
    name = getattr(leaf, "name", None)
    # "Variable" is the default name of every unnamed Variable: it tells them apart from nothing.
    if isinstance(name, str) and name and name != "Variable":
        return name.split(":")[0]
    return None


def _shape_dtype(meta: Any, value: Any) -> tuple[tuple[int, ...], str]:
    if meta is not None:
        return tuple(meta[0]), str(np.dtype(meta[1]))
    if value is not None:
        arr = np.asarray(value)
        return tuple(arr.shape), str(arr.dtype)
    return (), ""


def _values_saved_by_consumers(order: list[Any]) -> dict[int, Any]:
    """Values of nodes and leaves as their consumers saved them (at record time)."""
    found: dict[int, Any] = {}
    for item in order:
        if type(item) is not Node or item.saved_data is None:
            continue
        for parent, value in zip(item.parents, item.saved_data):
            if parent is not None and value is not None:
                found.setdefault(id(parent), value)
    return found


def _recompute(node: Node, arg_values: list[Any]) -> Any:
    """Run the node's forward on its inputs' values (None when one of them is unknown)."""
    if any(v is None for v in arg_values):
        return None
    try:
        with np.errstate(all="ignore"):
            return np.asarray(node.prim.impl(*arg_values, **(node.params or {})))
    except Exception:  # noqa: BLE001 - a value we cannot show is not an error
        return None


def _plain_names(names: Any) -> dict[Any, str]:
    if not names:
        return {}
    items = names.items() if isinstance(names, Mapping) else names
    return {(b if isinstance(a, str) else a): (a if isinstance(a, str) else b) for a, b in items}


def _proxy(node: Node, keep_value: bool = False) -> Tensor:
    """A tensor that stands for ``node``'s output, so backprop returns its cotangent.

    Backprop keys everything by node and never reads the data; with ``keep_value`` the data is
    the node's saved output (or None when it did not keep one).
    """
    t = wrap_array(np.zeros((), dtype=node.out_dtype))
    if keep_value:
        t._data = node.ans  # (possibly None: never read by backprop)
    t._node = node
    t._requires_grad = True
    return t


def _attach_adjoints(
    graph: Graph, outs: list[Tensor], grad_outputs: Any, allowed: set[Node] | None
) -> None:
    if grad_outputs is None:
        seeds = [
            np.ones(t._node.out_shape, dtype=t._node.out_dtype) if t._node is not None
            else np.ones(t._data.shape, dtype=t._data.dtype)
            for t in outs
        ]  # fmt: skip
    else:
        gouts = [grad_outputs] if not isinstance(grad_outputs, (list, tuple)) else grad_outputs
        seeds = [np.asarray(g._data if isinstance(g, Tensor) else g) for g in gouts]
    targeted = [n for n in graph.nodes if n.kind in ("op", "input")]
    targets = [_proxy(n.ref) if n.kind == "op" else n.ref for n in targeted]
    # Plain chain rule: user hooks and retain_grad() must neither run nor see this sweep.
    muted_nodes = [(n.ref, n.ref.hooks, n.ref.out_ref) for n in targeted if n.kind == "op"]
    muted_leaves = [(n.ref, n.ref._hooks) for n in targeted if n.kind == "input"]
    for node, _, _ in muted_nodes:
        node.hooks = None
        node.out_ref = None
    for leaf, _ in muted_leaves:
        leaf._hooks = None
    try:
        results = _engine.backprop(
            list(zip(outs, seeds)), targets=targets, retain_graph=True, allowed=allowed
        )
    except RuntimeError as exc:
        graph.notes.append(
            "adjoints not shown: " + str(exc).split(". ")[0] + ". Look at the graph before "
            "backward() or tape.gradient(), or keep it: backward(retain_graph=True), "
            "GradientTape(persistent=True)."
        )
        return
    finally:
        for node, hooks, out_ref in muted_nodes:
            node.hooks = hooks
            node.out_ref = out_ref
        for leaf, hooks in muted_leaves:
            leaf._hooks = hooks
    for gn, g in zip(targeted, results):
        gn.adjoint = None if g is None else np.asarray(g._data if isinstance(g, Tensor) else g)
    for i, seed in zip(graph.outputs, seeds):
        if graph.nodes[i].adjoint is None:
            graph.nodes[i].adjoint = seed
    graph.has_adjoints = True
