"""``chainrule grad``: the value and derivatives of an expression, explained and drawn.

    chainrule grad "(x + y)**2 + 2*x*y" x=2 y=-4
    chainrule grad "(x + y)**2 + 2*x*y" x=2 y=-4 --explain --graph g.svg
    chainrule grad "x*y + sin(x)" x=1 y=2 --hessian --json
    chainrule grad "exp(x) * sin(x)" x=0.5 --order 4
    chainrule grad "x**2 * y" x=3 y=2 --trace
    chainrule grad "(x + y)**2 + 2*x*y" x=2 y=-4 --html out.html

The expression is read by :mod:`chainrule.expr`, a whitelist parser (arithmetic, comparisons,
chainrule's elementwise functions, named variables): it is never evaluated by Python. Any
error is reported on one line, with the column it concerns, and exit status 2.

``--json`` prints strict JSON (RFC 8259), which has no NaN or infinity: a NaN is written as
``null`` and the infinities as the strings ``"Infinity"`` and ``"-Infinity"``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_parser", "run", "MAX_ORDER"]

#: Highest --order accepted: nested derivative graphs grow fast with the order.
MAX_ORDER = 8
#: Largest recorded graph a further derivative is taken of.
MAX_GRAPH_NODES = 200_000
#: Largest graph --trace prints tables for (larger ones are for --graph, which collapses them).
MAX_TRACE_NODES = 200

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class CommandError(Exception):
    """A user error: printed on one line, exit status 2."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``chainrule grad``."""
    parser = subparsers.add_parser(
        "grad",
        help="value, gradient, Hessian or k-th derivative of an expression, explained and drawn",
        description=(
            "Differentiate EXPR at the given point with chainrule's engine. EXPR may use + - * / "
            "% **, comparisons, numbers, pi, e, variables and the elementwise functions (sin, "
            "exp, log, sqrt, tanh, sigmoid, maximum, where, ...). An expression that starts with "
            "'-' needs '--' before it (chainrule grad -- '-x**2' x=1)."
        ),
        epilog='example: chainrule grad "(x + y)**2 + 2*x*y" x=2 y=-4 --explain --graph g.svg',
    )
    parser.add_argument("expression", metavar="EXPR", help="the expression, quoted")
    parser.add_argument("assignments", metavar="NAME=VALUE", nargs="*",
                        help="the point: one value per variable, e.g. x=2 y=-4")  # fmt: skip
    parser.add_argument("--hessian", action="store_true", help="also print the Hessian matrix")
    parser.add_argument("--order", type=int, metavar="K",
                        help=f"derivatives up to order K of a one-variable expression (K <= {MAX_ORDER})")  # fmt: skip
    parser.add_argument("--explain", action="store_true",
                        help="print the forward values and the backward pass step by step")  # fmt: skip
    parser.add_argument("--trace", action="store_true",
                        help="print the primal, tangent and adjoint trace tables")  # fmt: skip
    parser.add_argument("--graph", metavar="FILE",
                        help="draw the graph with values and adjoints to FILE (.svg, .png, .pdf or .dot)")  # fmt: skip
    parser.add_argument("--html", metavar="FILE",
                        help="write an interactive page stepping through the forward and backward "
                             "pass to FILE (.html; self-contained, opens from disk)")  # fmt: skip
    parser.add_argument("--json", action="store_true",
                        help='print strict JSON instead: a NaN is written as null, the infinities as '
                             'the strings "Infinity" and "-Infinity"')  # fmt: skip
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule grad`` with parsed arguments; returns the exit status."""
    from chainrule.expr import ExprError

    try:
        with np.errstate(all="ignore"):
            _run(args)
    except (CommandError, ExprError) as exc:
        print(f"chainrule grad: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the command never ends in a traceback
        message = str(exc).splitlines()[0] if str(exc) else ""
        print(f"chainrule grad: error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2
    return 0


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["x=2", "y=-4"]`` -> ``{"x": 2.0, "y": -4.0}``; clear errors for anything else.

    >>> parse_assignments(["x=2", "y=-4.5"])
    {'x': 2.0, 'y': -4.5}
    """
    from chainrule.expr import CONSTANTS, FUNCTIONS

    point: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise CommandError(f"expected NAME=VALUE, got {item!r}")
        if not _NAME.fullmatch(name):
            raise CommandError(f"{name!r} is not a variable name (letters, digits, '_')")
        if name in CONSTANTS:
            raise CommandError(
                f"{name} is a constant ({CONSTANTS[name]:.10g}) and cannot be assigned; name the "
                "variable differently"
            )
        if name in FUNCTIONS:
            raise CommandError(f"{name} is a function and cannot be assigned; name the variable differently")
        if name in point:
            raise CommandError(f"{name} is given twice")
        try:
            value = float(text)
        except ValueError:
            raise CommandError(f"the value of {name} must be a number, not {text.strip()!r}") from None
        point[name] = value
    return point


def _number(value: Any) -> str:
    v = float(np.asarray(value))
    if v == 0:
        return "0"
    return f"{v:.10g}"


def _scalar(value: Any) -> float | bool:
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        return bool(arr)
    return float(arr)


def _strict_json(value: Any) -> Any:
    """``value`` with its non-finite floats replaced: strict JSON has no NaN or infinity."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _graph_size(t: Any) -> int:
    from chainrule.core.node import Node

    seen: set[int] = set()
    stack = [t._node] if t._node is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(p for p in node.parents if type(p) is Node and id(p) not in seen)
    return len(seen)


def _gradient(f: Any, xs: list[Any], create_graph: bool = False) -> list[Any]:
    """d f / d x for each x, with None where f does not depend on x."""
    import chainrule as cr

    if not xs or not f.requires_grad or f.dtype.kind != "f":
        return [None] * len(xs)
    return list(cr.autograd.grad(f, xs, create_graph=create_graph, retain_graph=True, allow_unused=True))


def _run(args: argparse.Namespace) -> None:
    import chainrule as cr
    from chainrule.expr import parse

    expr = parse(args.expression)
    point = parse_assignments(args.assignments)
    names = list(expr.variables)
    missing = [n for n in names if n not in point]
    if missing:
        raise CommandError(
            f"no value for {', '.join(missing)}: give every variable as NAME=VALUE, e.g. "
            + " ".join(f"{n}=1" for n in names)
        )
    unused = [n for n in point if n not in names]
    if unused:
        raise CommandError(f"{', '.join(unused)} does not appear in the expression")
    if args.order is not None:
        if len(names) != 1:
            raise CommandError(
                f"--order needs an expression of one variable; this one has {len(names)} "
                f"({', '.join(names) or 'none'})"
            )
        if not 1 <= args.order <= MAX_ORDER:
            raise CommandError(f"--order must be between 1 and {MAX_ORDER}, got {args.order}")
    if args.graph is not None:
        if not args.graph.strip():
            raise CommandError("--graph: the file name is empty; give a file ending in .svg, .png, .pdf or .dot")
        suffix = Path(args.graph).suffix.lower()
        if suffix not in (".svg", ".png", ".pdf", ".dot", ".gv"):
            raise CommandError(f"--graph: the file must end in .svg, .png, .pdf or .dot, not {args.graph!r}")
    if args.html is not None:
        if not args.html.strip() or Path(args.html).suffix.lower() not in (".html", ".htm"):
            raise CommandError(f"--html: the file must end in .html, not {args.html!r}")

    xs = [cr.tensor(point[n], requires_grad=True) for n in names]
    env = dict(zip(names, xs))
    f = expr.evaluate(env)
    result: dict[str, Any] = {
        "expression": args.expression,
        "point": {n: point[n] for n in names},
        "value": _scalar(f.numpy()),
    }
    need_graph = args.hessian or args.order is not None
    grads = _gradient(f, xs, create_graph=need_graph)
    result["gradient"] = {n: 0.0 if g is None else _scalar(g.numpy()) for n, g in zip(names, grads)}
    if args.hessian:
        rows = []
        for g in grads:
            second = _gradient(g, xs) if g is not None else [None] * len(xs)
            rows.append([0.0 if h is None else _scalar(h.numpy()) for h in second])
        result["hessian"] = rows
        if not names:
            result["note"] = "the expression has no variables: its gradient and Hessian are empty"
    if args.order is not None:
        derivatives = []
        d = grads[0]
        for k in range(1, args.order + 1):
            derivatives.append(0.0 if d is None else _scalar(d.numpy()))
            if k == args.order:
                break
            if d is not None and _graph_size(d) > MAX_GRAPH_NODES:
                raise CommandError(
                    f"--order {args.order}: the graph of derivative {k} already has more than "
                    f"{MAX_GRAPH_NODES:,} nodes; ask for a lower order"
                )
            d = _gradient(d, xs, create_graph=True)[0] if d is not None else None
        result["derivatives"] = derivatives

    labels = {x: n for n, x in zip(names, xs)}
    explanation = trace = None
    if args.explain:
        from chainrule.viz.explain import explain

        explanation = explain(f, names=labels)
        result["explain"] = explanation.to_text()
    if args.trace:
        from chainrule.viz.capture import capture
        from chainrule.viz.trace import trace_tables

        graph = capture(f, names=labels)
        if len(graph.nodes) > MAX_TRACE_NODES:
            raise CommandError(
                f"--trace: the computation has {len(graph.nodes)} nodes; trace tables are printed "
                f"for at most {MAX_TRACE_NODES}. Draw it instead with --graph FILE (.svg, .png, .pdf "
                "or .dot), which collapses large graphs"
                + ("" if args.explain else ", or use --explain")
            )
        trace = trace_tables(graph, max_nodes=MAX_TRACE_NODES)
        result["trace"] = trace.to_text()
    if args.graph is not None:
        from chainrule.viz.render import draw

        at = ", ".join(f"{n} = {_number(point[n])}" for n in names)
        title = f"f({', '.join(names)}) = {args.expression.strip()}" + (f"  at {at}" if at else "")
        try:
            draw(f, args.graph, names=labels, title=title)
        except OSError as exc:
            raise CommandError(f"--graph: cannot write {args.graph}: {exc.strerror or exc}") from None
        result["graph"] = str(args.graph)
    if args.html is not None:
        from chainrule.viz.explore import explore

        at = ", ".join(f"{n} = {_number(point[n])}" for n in names)
        title = f"f({', '.join(names)}) = {args.expression.strip()}" + (f"  at {at}" if at else "")
        try:
            explore(f, names=labels, title=title).save(args.html)
        except OSError as exc:
            raise CommandError(f"--html: cannot write {args.html}: {exc.strerror or exc}") from None
        result["html"] = str(args.html)

    if args.json:
        print(json.dumps(_strict_json(result), indent=2, allow_nan=False))
        return
    _print_text(result, names, explanation, trace, args)


def _print_text(result: dict[str, Any], names: list[str], explanation: Any, trace: Any,
                args: argparse.Namespace) -> None:  # fmt: skip
    at = ", ".join(f"{n} = {_number(v)}" for n, v in result["point"].items())
    print(f"f({', '.join(names)}) = {result['expression'].strip()}" + (f"  at {at}" if at else ""))
    print(f"f = {_fmt(result['value'])}")
    for n in names:
        print(f"df/d{n} = {_fmt(result['gradient'][n])}")
    if "hessian" in result and not names:
        print("Hessian: empty (the expression has no variables)")
    elif "hessian" in result:
        print("Hessian:")
        cells = [[_fmt(v) for v in row] for row in result["hessian"]]
        width = max([len(c) for row in cells for c in row] + [len(n) for n in names] + [1])
        pad = max(len(n) for n in names)
        print(" " * (pad + 4) + "  ".join(f"{n:>{width}}" for n in names))
        for n, row in zip(names, cells):
            print(f"  {n:>{pad}}  " + "  ".join(f"{c:>{width}}" for c in row))
    if "derivatives" in result:
        x = names[0]
        for k, value in enumerate(result["derivatives"][1:], start=2):
            print(f"d{k}f/d{x}{k} = {_fmt(value)}")
    if explanation is not None:
        print()
        print(explanation.to_text())
    if trace is not None:
        print()
        print(trace.to_text().rstrip())
    if args.graph is not None:
        print(f"graph written to {args.graph}")
    if args.html is not None:
        print(f"interactive page written to {args.html} (open it in a browser)")


def _fmt(value: Any) -> str:
    if isinstance(value, (bool, str)):
        return str(value)
    return _number(value)
