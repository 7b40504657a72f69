"""How ops and their local derivatives read, in plain text and in LaTeX.

Display only: the numbers always come from the primitives' own VJP/JVP rules. Templates use
``{0}``, ``{1}``, ``{2}`` for the inputs and ``{out}`` for the op's output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.viz.capture import format_value

__all__ = ["forward_text", "local_text", "latex_symbol", "number"]

# op -> (text, latex) of the forward formula.
_FORWARD: dict[str, tuple[str, str]] = {
    "add": ("{0} + {1}", "{0} + {1}"),
    "sub": ("{0} - {1}", "{0} - {1}"),
    "mul": ("{0} * {1}", r"{0} \cdot {1}"),
    "div": ("{0} / {1}", r"\frac{{{0}}}{{{1}}}"),
    "pow": ("{0} ** {1}", "{{{0}}}^{{{1}}}"),
    "neg": ("-{0}", "-{0}"),
    "square": ("{0} ** 2", "{{{0}}}^{{2}}"),
    "sqrt": ("sqrt({0})", r"\sqrt{{{0}}}"),
    "reciprocal": ("1 / {0}", r"\frac{{1}}{{{0}}}"),
    "abs": ("|{0}|", r"\left|{0}\right|"),
}

_LATEX_FUNCS = {"sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "arcsin", "arccos",
                "arctan"}  # fmt: skip

Template = tuple[str, str]
# op -> per input: (text, latex) of the local partial derivative d out / d input.
_LOCAL: dict[str, Sequence[Template | None]] = {
    "add": [("1", "1"), ("1", "1")],
    "sub": [("1", "1"), ("-1", "-1")],
    "mul": [("{1}", "{1}"), ("{0}", "{0}")],
    "div": [("1 / {1}", r"\frac{{1}}{{{1}}}"), ("-{0} / {1}^2", r"-\frac{{{0}}}{{{1}^2}}")],
    "neg": [("-1", "-1")],
    "square": [("2·{0}", r"2 \cdot {0}")],
    "sqrt": [("1 / (2·sqrt({0}))", r"\frac{{1}}{{2\sqrt{{{0}}}}}")],
    "reciprocal": [("-1 / {0}^2", r"-\frac{{1}}{{{0}^2}}")],
    "exp": [("exp({0})", r"e^{{{0}}}")],
    "expm1": [("exp({0})", r"e^{{{0}}}")],
    "log": [("1 / {0}", r"\frac{{1}}{{{0}}}")],
    "log1p": [("1 / (1 + {0})", r"\frac{{1}}{{1 + {0}}}")],
    "log2": [("1 / ({0}·ln 2)", r"\frac{{1}}{{{0} \ln 2}}")],
    "log10": [("1 / ({0}·ln 10)", r"\frac{{1}}{{{0} \ln 10}}")],
    "sin": [("cos({0})", r"\cos({0})")],
    "cos": [("-sin({0})", r"-\sin({0})")],
    "tan": [("1 + tan({0})^2", r"1 + \tan^2({0})")],
    "arcsin": [("1 / sqrt(1 - {0}^2)", r"\frac{{1}}{{\sqrt{{1 - {0}^2}}}}")],
    "arccos": [("-1 / sqrt(1 - {0}^2)", r"-\frac{{1}}{{\sqrt{{1 - {0}^2}}}}")],
    "arctan": [("1 / (1 + {0}^2)", r"\frac{{1}}{{1 + {0}^2}}")],
    "sinh": [("cosh({0})", r"\cosh({0})")],
    "cosh": [("sinh({0})", r"\sinh({0})")],
    "tanh": [("1 - tanh({0})^2", r"1 - \tanh^2({0})")],
    "sigmoid": [("sigmoid({0})·(1 - sigmoid({0}))", r"\sigma({0})\,(1 - \sigma({0}))")],
    "softplus": [("sigmoid({0})", r"\sigma({0})")],
    "relu": [("[{0} > 0]", r"[{0} > 0]")],
    "abs": [("sign({0})", r"\operatorname{{sign}}({0})")],
    "sign": [("0", "0")],
    "erf": [("2/sqrt(pi)·exp(-{0}^2)", r"\tfrac{{2}}{{\sqrt{{\pi}}}} e^{{-{0}^2}}")],
    "gelu": [("Phi({0}) + {0}·phi({0})", r"\Phi({0}) + {0}\,\varphi({0})")],
    "maximum": [("[{0} > {1}] (1/2 at a tie)", r"[{0} > {1}]"), ("[{1} > {0}] (1/2 at a tie)", r"[{1} > {0}]")],
    "minimum": [("[{0} < {1}] (1/2 at a tie)", r"[{0} < {1}]"), ("[{1} < {0}] (1/2 at a tie)", r"[{1} < {0}]")],
    "arctan2": [("{1} / ({0}^2 + {1}^2)", r"\frac{{{1}}}{{{0}^2 + {1}^2}}"),
                ("-{0} / ({0}^2 + {1}^2)", r"-\frac{{{0}}}{{{0}^2 + {1}^2}}")],
    "mod": [("1", "1"), ("-floor({0} / {1})", r"-\lfloor {0} / {1} \rfloor")],
    "where": [None, ("[{0}]", r"[{0}]"), ("[not {0}]", r"[\lnot {0}]")],
    "clip": [("[min <= {0} <= max]", r"[\min \le {0} \le \max]")],
    "sum": [("1 (for every summed element)", r"1")],
    "astype": [("1 (cast back)", "1")],
    "reshape": [("1 (reshape back)", "1")],
    "broadcast_to": [("1 (summed over the broadcast axes)", "1")],
    "sum_to": [("1 (broadcast back)", "1")],
    "transpose": [("1 (transpose back)", "1")],
}


def number(value: Any) -> str:
    """A value as it appears inside a formula: negative numbers in parentheses."""
    text = format_value(value, width=3)
    return f"({text})" if text.startswith("-") else text


def latex_symbol(symbol: str) -> str:
    """``v3`` -> ``v_{3}``, ``x`` -> ``x``, ``loss`` -> ``\\mathrm{loss}``.

    >>> latex_symbol("v12"), latex_symbol("x"), latex_symbol("my_w")
    ('v_{12}', 'x', '\\\\mathrm{my\\\\_w}')
    """
    m = re.fullmatch(r"([A-Za-z])(-?\d+)", symbol)
    if m:
        return f"{m.group(1)}_{{{m.group(2)}}}"
    if re.fullmatch(r"[A-Za-z]", symbol):
        return symbol
    if re.fullmatch(r"-?[0-9.eE+]+|\(-?[0-9.eE+]+\)", symbol):
        return symbol
    return r"\mathrm{" + symbol.replace("\\", "").replace("_", r"\_").replace("{", "").replace("}", "") + "}"


def _shown(params: dict[str, Any]) -> dict[str, Any]:
    """The settings worth printing (defaults such as axis=None, keepdims=False are not)."""
    return {k: v for k, v in params.items() if v is not None and v is not False}


def _params_text(params: dict[str, Any]) -> str:
    return "".join(f", {k}={v!r}" for k, v in _shown(params).items())


def forward_text(
    op: str, syms: Sequence[str], params: dict[str, Any], latex: bool = False, raw: bool = False
) -> str:
    """The op applied to its inputs' symbols: ``v1 + y``, ``sin(x)``, ``sum(v2, axis=0)``.

    With ``latex``, symbols are converted with :func:`latex_symbol` unless ``raw``.
    """
    params = _shown(params)
    if latex and not raw:
        syms = [latex_symbol(s) for s in syms]
    if op in _FORWARD and not params:
        return _FORWARD[op][1 if latex else 0].format(*syms)
    if latex:
        name = f"\\{op}" if op in _LATEX_FUNCS else r"\operatorname{" + op.replace("_", r"\_") + "}"
        args = ", ".join(syms)
        extra = ", ".join(f"\\mathrm{{{k}}}={v!r}" for k, v in params.items())
        return f"{name}({args}{', ' + extra if extra else ''})"
    return f"{op}({', '.join(syms)}{_params_text(params)})"


def _pow_local(i: int, syms: Sequence[str], consts: Sequence[Any]) -> Template:
    if i == 1:
        return ("{out}·ln({0})", r"{out} \ln {0}")
    n = consts[1]
    if n is None:
        return ("{1}·{0}^({1} - 1)", r"{1} \cdot {0}^{{{1} - 1}}")
    n = float(np.asarray(n))
    k = format_value(n - 1)
    if n == 2:
        return ("2·{0}", r"2 \cdot {0}")
    if n == 1:
        return ("1", "1")
    return (f"{{1}}·{{0}}^{k}", f"{{1}} \\cdot {{0}}^{{{{{k}}}}}")


_SPECIAL: dict[str, Callable[[int, Sequence[str], Sequence[Any]], Template]] = {"pow": _pow_local}


def local_text(
    op: str,
    i: int,
    syms: Sequence[str],
    out_sym: str,
    values: Sequence[Any] | None = None,
    out_value: Any = None,
    consts: Sequence[Any] | None = None,
    latex: bool = False,
    raw: bool = False,
) -> str | None:
    """The local derivative d out / d input ``i``, symbolic, or with ``values`` substituted.

    ``consts`` holds, per input, the value when that input is a constant (else None).
    Returns None when the op has no readable formula (the caller names the rule instead).
    """
    consts = consts if consts is not None else [None] * len(syms)
    if op in _SPECIAL:
        template: Template | None = _SPECIAL[op](i, syms, consts)
    else:
        rules = _LOCAL.get(op)
        template = rules[i] if rules is not None and i < len(rules) else None
    if template is None:
        return None
    pattern = template[1 if latex else 0]
    if values is not None:
        args = [number(v) for v in values]
        out = number(out_value)
    elif latex and not raw:
        args = [latex_symbol(s) for s in syms]
        out = latex_symbol(out_sym)
    else:
        args = list(syms)
        out = out_sym
    return pattern.format(*args, out=out)
