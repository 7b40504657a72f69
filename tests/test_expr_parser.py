"""The safe expression parser behind ``chainrule grad``: what it accepts, what it rejects, fuzzing."""

from __future__ import annotations

import ast
import builtins
import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import expr as expr_module
from chainrule.expr import MAX_DEPTH, MAX_LENGTH, ExprError, parse


def value_of(text: str, **env: float) -> float:
    return float(parse(text).evaluate(env))


def test_seed004_expression_value_and_gradient() -> None:
    e = parse("(x + y)**2 + 2*x*y")
    assert e.variables == ("x", "y")
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    f = e.evaluate({"x": x, "y": y})
    assert float(f) == -12.0
    dx, dy = cr.autograd.grad(f, [x, y])
    assert (float(dx), float(dy)) == (-12.0, 0.0)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("1 + 2 * 3", {}, 7.0),
        ("-x ** 2", {"x": 3.0}, -9.0),
        ("+x - -x", {"x": 2.0}, 4.0),
        ("x / y % 3", {"x": 7.0, "y": 1.0}, 1.0),
        ("sin(x)**2 + cos(x)**2", {"x": 0.7}, 1.0),
        ("exp(log(x))", {"x": 5.0}, 5.0),
        ("maximum(x, y) + minimum(x, y)", {"x": 2.0, "y": -1.0}, 1.0),
        ("where(x > 0, x, -x)", {"x": -3.0}, 3.0),
        ("atan2(y, x)", {"x": 1.0, "y": 1.0}, math.pi / 4),
        ("pi * e", {}, math.pi * math.e),
        ("2 ** -2", {}, 0.25),
        ("sqrt(square(x))", {"x": -4.0}, 4.0),
    ],
)
def test_accepted_expressions_compute_the_right_value(text: str, env: dict, expected: float) -> None:
    assert value_of(text, **env) == pytest.approx(expected)


def test_chained_comparison_is_a_logical_and() -> None:
    assert bool(parse("0 < x < 1").evaluate({"x": 0.5}))
    assert not bool(parse("0 < x < 1").evaluate({"x": 1.5}))


def test_leading_blanks_are_fine_and_columns_count_them() -> None:
    assert value_of("   x + 1", x=1.0) == 2.0
    with pytest.raises(ExprError) as info:
        parse("   x.y")
    assert info.value.column == 5


def test_variables_keep_order_of_first_use() -> None:
    assert parse("b * a + b + c").variables == ("b", "a", "c")


def test_missing_variable_is_a_clear_error() -> None:
    with pytest.raises(ExprError, match="no value given for y"):
        parse("x + y").evaluate({"x": 1.0})


def rejected(text: str) -> ExprError:
    with pytest.raises(ExprError) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("__import__('os')", "names starting with '_'", 1),
        ("__import__('os').system('ls')", "not allowed", None),
        ("x.real", "attribute access", 2),
        ("os.system('ls')", "attribute access", 3),
        ("(lambda: 1)()", "only named functions", 1),
        ("1 + (lambda: 2)", "lambda expressions are not allowed", 6),
        ("[x for x in y]", "comprehensions are not allowed", 1),
        ("sum(x for x in y)", "not a known function", 1),
        ("{x: 1 for x in y}", "comprehensions are not allowed", 1),
        ("x[0]", "indexing", 2),
        ("'abc'", "strings are not allowed", 1),
        ("x if y else z", "use where", 1),
        ("x and y", "'and'/'or' are not allowed", 1),
        ("(y := 2)", "assignment expressions", 2),
        ("x @ y", "'@' is not allowed", 3),
        ("x // y", "'//' is not allowed", 3),
        ("not x", "'not' is not allowed", 1),
        ("x is y", "only the comparisons", 1),
        ("open('f')", "'open' is not a known function", 1),
        ("sin(x, y)", "takes 1 argument", 1),
        ("sin(x=1)", "keyword arguments", 7),
        ("sin", "is a function", 1),
        ("1j", "complex values are not allowed", 1),
        ("x +", "ends too early", 4),
        ("x\ny", "printable ASCII only", 2),
        ("", "empty", None),
    ],
)
def test_rejections_are_clear_and_point_at_the_column(
    text: str, message: str, column: int | None
) -> None:
    err = rejected(text)
    assert message in str(err)
    if column is not None:
        assert err.column == column
        assert str(err).startswith(f"column {column}: ")


@pytest.mark.parametrize("text", ["x ** 1001", "2 ** 2 ** 2 ** 2 ** 2", "x ** (10 ** 10)", "x ** 1e300"])
def test_huge_exponents_are_rejected(text: str) -> None:
    assert "exponent is too large" in str(rejected(text))


def test_exponent_limit_is_inclusive_and_variable_exponents_pass() -> None:
    assert value_of("x ** 1000", x=1.0) == 1.0
    assert value_of("x ** y", x=2.0, y=3.0) == 8.0


def test_huge_numbers_are_rejected() -> None:
    assert "too large" in str(rejected("1e400"))
    assert "too large" in str(rejected("9" * 400))


def test_deep_nesting_and_long_text_are_rejected() -> None:
    assert "nested too deeply" in str(rejected("-" * MAX_DEPTH + "x"))
    assert value_of("-" * (MAX_DEPTH - 1) + "x", x=1.0) in (1.0, -1.0)
    deep = "(" * 50 + "sin(" * 101 + "x" + ")" * 151
    assert "nested too deeply" in str(rejected(deep))
    assert "characters long" in str(rejected("x+" * MAX_LENGTH + "x"))
    assert "too many nested parentheses" in str(rejected("(" * 300 + "x" + ")" * 300))


def test_too_many_parts_are_rejected() -> None:
    assert "too large" in str(rejected("1<" * 499 + "1"))
    with pytest.raises(ExprError, match="more than 20 parts"):
        parse("+".join(f"sin(x{i})" for i in range(20)), max_nodes=20)


def test_caret_points_at_the_offending_character() -> None:
    err = rejected("x + y.z")
    assert err.caret() == "x + y.z\n     ^"


def test_evaluation_errors_become_expr_errors() -> None:
    with pytest.raises(ExprError, match="cannot compute '-\\(x < y\\)'"):
        parse("-(x < y)").evaluate({"x": 1.0, "y": 2.0})
    with pytest.raises(ExprError, match="cannot compute 'x'"):
        parse("x").evaluate({"x": "not a number"})


def test_division_by_zero_gives_inf_not_an_exception() -> None:
    assert value_of("1 / 0") == math.inf
    assert math.isnan(value_of("x / x", x=0.0))


def test_the_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(expr_module.__file__).read_text())
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__"}
    attrs = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "literal_eval" not in attrs


# ---------------------------------------------------------------- fuzzing
_TOKENS = [
    "x", "y", "z", "_", "__import__", "os", ".", "(", ")", "[", "]", "{", "}", ",", ":", "'",
    '"', "+", "-", "*", "/", "**", "%", "//", "@", "<", "<=", "==", "!=", "not", "and", "lambda",
    "for", "in", "if", "else", "sin", "exp", "log", "where", "maximum", "pi", "1", "2.5", "1e308",
    "0", "10", "9999", " ", "=", ":=", "\\", "#", "\n", "\t", "é", "\x00",
]  # fmt: skip

token_text = st.lists(st.sampled_from(_TOKENS), max_size=60).map("".join)


@contextlib.contextmanager
def no_code() -> Iterator[None]:
    """Fail if eval/exec run, or compile builds anything but a syntax tree, inside the block."""
    real = builtins.compile, builtins.eval, builtins.exec

    def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):  # type: ignore[no-untyped-def]
        assert flags & ast.PyCF_ONLY_AST, "compile() was asked for a code object"
        return real[0](source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("eval/exec was called")

    builtins.compile, builtins.eval, builtins.exec = guarded_compile, forbidden, forbidden
    try:
        yield
    finally:
        builtins.compile, builtins.eval, builtins.exec = real


def _parse_and_run(text: str) -> None:
    with no_code():
        _check(text)


def _check(text: str) -> None:
    try:
        e = parse(text)
    except ExprError as exc:
        assert str(exc)
        return
    env = {name: 0.5 + i for i, name in enumerate(e.variables)}
    try:
        out = e.evaluate(env)
    except ExprError as exc:
        assert str(exc)
        return
    assert isinstance(out, cr.Tensor)
    assert np.asarray(out).shape == ()


# Bounded time: a fixed number of examples, each with a deadline (a hang fails the test).
@settings(max_examples=400, deadline=1000)
@given(text=st.one_of(st.text(max_size=80), token_text))
def test_fuzz_parser_never_runs_code_never_hangs_never_crashes(text: str) -> None:
    _parse_and_run(text)


@settings(max_examples=60, deadline=2000)
@given(text=st.text(alphabet="x()+-*/% sin12.", min_size=900, max_size=1200))
def test_fuzz_long_inputs_stay_bounded(text: str) -> None:
    _parse_and_run(text)


def test_the_code_guard_itself_catches_eval() -> None:
    with no_code():
        with pytest.raises(AssertionError, match="eval/exec"):
            builtins.eval("1")
        with pytest.raises(AssertionError, match="code object"):
            builtins.compile("1", "<t>", "eval")
    assert builtins.eval("1") == 1
