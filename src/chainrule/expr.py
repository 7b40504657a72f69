"""A safe parser for the arithmetic expressions that ``chainrule grad`` differentiates.

The text goes through ``ast.parse(mode="eval")`` only to obtain a syntax tree; the tree is then
walked against a whitelist (numbers, variable names, ``+ - * / % **``, unary minus and plus,
comparisons, and calls of the chainrule elementwise functions listed in :data:`FUNCTIONS`) and
turned into a small tree of our own. Nothing is ever evaluated by Python: no ``eval``, no
``exec``, no code objects. Everything else (attribute access, indexing, lambdas,
comprehensions, strings, ...) is rejected with an :class:`ExprError` that names the column.
Length, nesting depth, tree size and constant exponents are bounded, so that parsing and
evaluation always finish quickly.

>>> expr = parse("(x + y)**2 + 2*x*y")
>>> sorted(expr.variables)
['x', 'y']
>>> float(expr.evaluate({"x": 2.0, "y": -4.0}))
-12.0
"""

from __future__ import annotations

import ast
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ExprError", "Expression", "ExprNode", "parse", "FUNCTIONS", "CONSTANTS",
    "MAX_LENGTH", "MAX_DEPTH", "MAX_NODES", "MAX_EXPONENT",
]  # fmt: skip

#: Longest accepted expression, in characters.
MAX_LENGTH = 1000
#: Deepest accepted nesting of the syntax tree.
MAX_DEPTH = 100
#: Most syntax-tree nodes accepted.
MAX_NODES = 500
#: Largest magnitude of a constant exponent (``x ** 2000`` is rejected).
MAX_EXPONENT = 1000

#: Callable name -> (chainrule function name, number of arguments).
FUNCTIONS: dict[str, tuple[str, int]] = {
    **{name: (name, 1) for name in (
        "abs", "sqrt", "square", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos",
        "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "sigmoid", "softplus",
        "relu", "gelu", "erf", "sign", "reciprocal", "floor", "ceil", "round",
    )},
    "asin": ("arcsin", 1), "acos": ("arccos", 1), "atan": ("arctan", 1),
    "maximum": ("maximum", 2), "minimum": ("minimum", 2), "arctan2": ("arctan2", 2),
    "atan2": ("arctan2", 2), "power": ("power", 2), "pow": ("power", 2), "mod": ("mod", 2),
    "where": ("where", 3),
}  # fmt: skip
# NumPy's further elementwise functions (each has a Taylor rule, so --order reaches them too).
FUNCTIONS.update({
    **{name: (name, 1) for name in ("exp2", "arcsinh", "arccosh", "arctanh", "sinc")},
    "asinh": ("arcsinh", 1), "acosh": ("arccosh", 1), "atanh": ("arctanh", 1),
    **{name: (name, 2) for name in ("hypot", "logaddexp", "logaddexp2", "fmax", "fmin")},
})  # fmt: skip

#: Named constants an expression may use.
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY = {
    ast.Add: ("+", "add"), ast.Sub: ("-", "subtract"), ast.Mult: ("*", "multiply"),
    ast.Div: ("/", "divide"), ast.Pow: ("**", "power"), ast.Mod: ("%", "mod"),
}  # fmt: skip
_UNARY = {ast.USub: "-", ast.UAdd: "+"}
_COMPARE = {
    ast.Lt: ("<", "less"), ast.LtE: ("<=", "less_equal"), ast.Gt: (">", "greater"),
    ast.GtE: (">=", "greater_equal"), ast.Eq: ("==", "equal"), ast.NotEq: ("!=", "not_equal"),
}  # fmt: skip

# What to say about the syntax we do not accept.
_REJECTED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda expressions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.IfExp: "conditional expressions ('a if c else b') are not allowed; use where(c, a, b)",
    ast.BoolOp: "'and'/'or' are not allowed; use where() with a comparison",
    ast.NamedExpr: "assignment expressions (':=') are not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.List: "lists are not allowed: the variables are scalars",
    ast.Tuple: "tuples are not allowed: the variables are scalars",
    ast.Set: "sets are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.JoinedStr: "strings are not allowed",
    ast.FormattedValue: "strings are not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Slice: "slices are not allowed",
}


class ExprError(ValueError):
    """A rejected expression: what is wrong and the 1-based column where it is.

    >>> try:
    ...     parse("x.real")
    ... except ExprError as exc:
    ...     print(exc)
    column 2: attribute access ('.') is not allowed
    """

    def __init__(self, message: str, column: int | None = None, text: str = "") -> None:
        self.message = message
        self.column = column
        self.text = text
        super().__init__(f"column {column}: {message}" if column else message)

    def caret(self) -> str:
        """The expression with a ``^`` under the offending column (two lines).

        >>> try:
        ...     parse("1 + lambda: 2")
        ... except ExprError as exc:
        ...     print(exc.caret())
        1 + lambda: 2
            ^
        """
        if not self.column or not self.text:
            return self.text
        return f"{self.text}\n{' ' * (self.column - 1)}^"


@dataclass
class ExprNode:
    """One node of a parsed expression.

    ``kind`` is ``"number"``, ``"name"``, ``"unary"``, ``"binary"``, ``"compare"`` or ``"call"``;
    ``op`` the operator symbol or the function's name; ``source`` the text it came from.
    """

    kind: str
    op: str = ""
    value: float = 0.0
    args: tuple[ExprNode, ...] = ()
    source: str = ""
    column: int = 1
    #: The value when the subtree holds only numbers and named constants (else None).
    constant: float | None = field(default=None, repr=False)


@dataclass
class Expression:
    """A parsed, checked expression; :meth:`evaluate` computes it with chainrule tensors."""

    text: str
    root: ExprNode
    variables: tuple[str, ...]

    def evaluate(
        self,
        env: Mapping[str, Any],
        on_value: Callable[[ExprNode, Any], None] | None = None,
    ) -> Any:
        """The expression's value, with each variable taken from ``env``.

        Values may be numbers or chainrule tensors; operations run through chainrule's
        functions, so tensors that require grad get a recorded graph. ``on_value(node, value)``
        is called for every evaluated node (the CLI uses it to name intermediate results).

        >>> import chainrule as cr
        >>> x = cr.tensor(3.0, requires_grad=True)
        >>> y = parse("x**2").evaluate({"x": x})
        >>> y.backward(); float(x.grad)
        6.0
        """
        missing = [name for name in self.variables if name not in env]
        if missing:
            raise ExprError(
                f"no value given for {', '.join(missing)}; pass NAME=VALUE for every variable"
            )
        return _Evaluator(env, on_value).run(self.root)


def parse(
    text: str,
    *,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    max_exponent: float = MAX_EXPONENT,
) -> Expression:
    """Parse and check ``text``; raise :class:`ExprError` for anything outside the whitelist.

    >>> parse("sin(x) * y").variables
    ('x', 'y')
    >>> parse("__import__('os')")
    Traceback (most recent call last):
    ...
    chainrule.expr.ExprError: column 1: names starting with '_' are not allowed ('__import__')
    """
    if not isinstance(text, str):
        raise ExprError(f"the expression must be text, not {type(text).__name__}")
    if len(text) > max_length:
        raise ExprError(
            f"the expression is {len(text)} characters long; the limit is {max_length}"
        )
    for i, ch in enumerate(text):
        if not (" " <= ch <= "~"):
            shown = repr(ch)
            raise ExprError(
                f"character {shown} is not allowed (printable ASCII only)", i + 1, _one_line(text)
            )
    if not text.strip():
        raise ExprError("the expression is empty")
    # Python's parser rejects leading blanks ("unexpected indent"); parse without them and
    # report columns in the text as given.
    lead = len(text) - len(text.lstrip(" "))
    try:
        with warnings.catch_warnings():
            # Python warns about oddities such as "1if"; the whitelist decides, not warnings.
            warnings.simplefilter("ignore")
            tree = ast.parse(text[lead:], mode="eval")
    except SyntaxError as exc:
        column = lead + exc.offset if exc.offset else len(text) + 1
        msg = exc.msg if exc.offset else f"{exc.msg} (the expression ends too early)"
        raise ExprError(f"invalid syntax: {msg}", column, text) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise ExprError(f"cannot parse the expression: {type(exc).__name__}: {exc}") from None
    _check_size(tree.body, text, lead, max_depth, max_nodes)
    names: dict[str, None] = {}
    root = _Converter(text, lead, names, max_exponent).convert(tree.body)
    return Expression(text=text, root=root, variables=tuple(names))


def _one_line(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


def _check_size(body: ast.AST, text: str, lead: int, max_depth: int, max_nodes: int) -> None:
    """Reject deep or large trees before any recursive walk (this walk is iterative)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > max_depth:
            raise ExprError(
                f"the expression is nested too deeply (more than {max_depth} levels)",
                _column(node, lead),
                text,
            )
        if count > max_nodes:
            raise ExprError(
                f"the expression is too large (more than {max_nodes} parts)", _column(node, lead), text
            )
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop)):
                continue
            stack.append((child, depth + 1))


def _column(node: ast.AST, lead: int) -> int | None:
    offset = getattr(node, "col_offset", None)
    return None if offset is None else lead + offset + 1


class _Converter:
    def __init__(self, text: str, lead: int, names: dict[str, None], max_exponent: float) -> None:
        self.text = text
        self.lead = lead
        self.names = names
        self.max_exponent = max_exponent

    def fail(self, node: ast.AST, message: str, column: int | None = None) -> ExprError:
        return ExprError(message, column or _column(node, self.lead), self.text)

    def after(self, node: ast.AST) -> int:
        """Column of the first non-blank character after ``node`` (where an operator is)."""
        i = self.lead + node.end_col_offset  # type: ignore[attr-defined]
        while i < len(self.text) and self.text[i] in " )":
            i += 1
        return i + 1

    def source(self, node: ast.AST) -> str:
        # Printable ASCII only (checked above), so byte offsets are character offsets.
        start = self.lead + node.col_offset  # type: ignore[attr-defined]
        return self.text[start : self.lead + node.end_col_offset]  # type: ignore[attr-defined]

    def make(self, node: ast.AST, kind: str, **fields: Any) -> ExprNode:
        column = self.lead + node.col_offset + 1  # type: ignore[attr-defined]
        return ExprNode(kind=kind, source=self.source(node), column=column, **fields)

    def convert(self, node: ast.AST) -> ExprNode:
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                what = "'not'" if isinstance(node.op, ast.Not) else "'~'"
                raise self.fail(node, f"the operator {what} is not allowed")
            arg = self.convert(node.operand)
            out = self.make(node, "unary", op=_UNARY[type(node.op)], args=(arg,))
            if arg.constant is not None:
                out.constant = -arg.constant if out.op == "-" else arg.constant
            return out
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                symbol = {ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
                          ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}.get(type(node.op), "?")  # fmt: skip
                raise self.fail(node, f"the operator '{symbol}' is not allowed", self.after(node.left))
            left = self.convert(node.left)
            right = self.convert(node.right)
            symbol = _BINARY[type(node.op)][0]
            if symbol == "**":
                self.check_exponent(node.right, right)
            out = self.make(node, "binary", op=symbol, args=(left, right))
            out.constant = _fold(symbol, left.constant, right.constant)
            return out
        if isinstance(node, ast.Compare):
            parts = [self.convert(node.left)] + [self.convert(c) for c in node.comparators]
            ops = []
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise self.fail(
                        node, "only the comparisons < <= > >= == != are allowed ('is' and 'in' are not)"
                    )
                ops.append(_COMPARE[type(op)][0])
            return self.make(node, "compare", op=" ".join(ops), args=tuple(parts))
        if isinstance(node, ast.Call):
            return self.call(node)
        message = _REJECTED.get(type(node))
        if message is None:
            message = f"{type(node).__name__} is not allowed in an expression"
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            # Point at the '.' or '[' rather than at the start of the object.
            raise self.fail(node, message, self.after(node.value))
        raise self.fail(node, message)

    def number(self, node: ast.Constant) -> ExprNode:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "strings" if isinstance(value, (str, bytes)) else f"{type(value).__name__} values"
            raise self.fail(node, f"{kind} are not allowed; only real numbers")
        if isinstance(value, int) and abs(value) > 2**1023:
            raise self.fail(node, "the number is too large")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(node, "the number is too large")
        out = self.make(node, "number", value=number)
        out.constant = number
        return out

    def name(self, node: ast.Name) -> ExprNode:
        ident = node.id
        if ident.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ({ident!r})")
        if ident in FUNCTIONS:
            raise self.fail(node, f"{ident!r} is a function; call it as {ident}(...)")
        if ident in CONSTANTS:
            out = self.make(node, "number", value=CONSTANTS[ident])
            out.constant = CONSTANTS[ident]
            return out
        self.names.setdefault(ident, None)
        return self.make(node, "name", op=ident)

    def call(self, node: ast.Call) -> ExprNode:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.fail(node.func, _REJECTED[ast.Attribute], self.after(node.func.value))
            raise self.fail(node, "only named functions can be called, e.g. sin(x)")
        ident = node.func.id
        if ident.startswith("_"):
            raise self.fail(node, f"names starting with '_' are not allowed ({ident!r})")
        if ident not in FUNCTIONS:
            raise self.fail(
                node,
                f"{ident!r} is not a known function; the functions are "
                f"{', '.join(sorted(FUNCTIONS))}",
            )
        if node.keywords:
            raise self.fail(node.keywords[0].value, "keyword arguments are not allowed")
        target, arity = FUNCTIONS[ident]
        if len(node.args) != arity:
            raise self.fail(node, f"{ident}() takes {arity} argument(s), {len(node.args)} given")
        args = tuple(self.convert(a) for a in node.args)
        return self.make(node, "call", op=target, args=args)

    def check_exponent(self, node: ast.AST, exponent: ExprNode) -> None:
        value = exponent.constant
        if value is not None and not (abs(value) <= self.max_exponent):
            raise self.fail(
                node, f"the exponent is too large (|exponent| must be at most {self.max_exponent:g})"
            )


def _fold(symbol: str, a: float | None, b: float | None) -> float | None:
    """Value of a constant binary subtree (for the exponent check), or None."""
    if a is None or b is None:
        return None
    with np.errstate(all="ignore"):
        fa, fb = np.float64(a), np.float64(b)
        value = {
            "+": lambda: fa + fb, "-": lambda: fa - fb, "*": lambda: fa * fb,
            "/": lambda: fa / fb, "%": lambda: np.mod(fa, fb), "**": lambda: np.power(fa, fb),
        }[symbol]()  # fmt: skip
    return float(value)


class _Evaluator:
    def __init__(self, env: Mapping[str, Any], on_value: Callable[[ExprNode, Any], None] | None) -> None:
        import chainrule as cr

        self.cr = cr
        self.env = env
        self.on_value = on_value

    def run(self, root: ExprNode) -> Any:
        with np.errstate(all="ignore"):
            out = self.value(root)
        if not isinstance(out, self.cr.Tensor):
            out = self.cr.tensor(out)
        return out

    def value(self, node: ExprNode) -> Any:
        try:
            out = self.compute(node)
        except ExprError:
            raise
        except (TypeError, ValueError, ArithmeticError, IndexError) as exc:
            raise ExprError(f"cannot compute {node.source!r}: {exc}", node.column) from None
        if self.on_value is not None:
            self.on_value(node, out)
        return out

    def compute(self, node: ExprNode) -> Any:
        cr = self.cr
        if node.kind == "number":
            return node.value
        if node.kind == "name":
            value = self.env[node.op]
            return value if isinstance(value, cr.Tensor) else cr.tensor(float(value))
        args = [self.value(a) for a in node.args]
        if node.kind == "unary":
            (a,) = args
            if node.op == "+":
                return a
            return cr.neg(a) if isinstance(a, cr.Tensor) else float(-np.float64(a))
        if node.kind == "binary":
            a, b = args
            name = {symbol: fn for symbol, fn in _BINARY.values()}[node.op]
            if not isinstance(a, cr.Tensor) and not isinstance(b, cr.Tensor):
                return float(getattr(np, name)(np.float64(a), np.float64(b)))
            return getattr(cr, name)(a, b)
        if node.kind == "compare":
            names = {symbol: fn for symbol, fn in _COMPARE.values()}
            result = None
            for op, a, b in zip(node.op.split(" "), args, args[1:]):
                step = getattr(cr, names[op])(a, b)
                result = step if result is None else cr.logical_and(result, step)
            return result
        if node.kind == "call":
            return getattr(cr, node.op)(*args)
        raise AssertionError(node.kind)  # pragma: no cover
