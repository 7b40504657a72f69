"""`chainrule grad`: values, derivatives, explanation, traces, drawings, JSON and clean errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chainrule.cli import main

SEED = "(x + y)**2 + 2*x*y"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["grad", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_acceptance_example_as_a_real_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "grad", SEED, "x=2", "y=-4", "--explain",
         "--graph", "g.svg"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    lines = out.splitlines()
    # f(2, -4) = (2 - 4)**2 + 2*2*(-4) = 4 - 16 = -12.
    assert lines[:4] == [
        "f(x, y) = (x + y)**2 + 2*x*y  at x = 2, y = -4",
        "f = -12",
        "df/dx = -12",
        "df/dy = 0",
    ]
    assert "Backward pass, in the order the engine runs it" in out
    assert "∂v2/∂v1 = 2·v1 = 2·(-2) = -4" in out
    assert "df/dx = (-8) (from v3) + (-4) (from v1) = -12" in out
    assert out.rstrip().endswith("graph written to g.svg")
    svg = (tmp_path / "g.svg").read_text()
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    for label in ["x", "y", "add", "pow", "mul", "f = add", "value -12", "adjoint -12", "adjoint 0"]:
        assert label in texts, label
    assert done.stderr == ""


def test_value_and_gradient(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "x*y + sin(x)", "x=1", "y=2")
    assert code == 0
    assert f"df/dx = {2 + math.cos(1.0):.10g}" in out and "df/dy = 1" in out


def test_hessian(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SEED, "x=2", "y=-4", "--hessian", "--json")
    assert code == 0
    # f = x^2 + 4xy + y^2: H = [[2, 4], [4, 2]].
    assert json.loads(out)["hessian"] == [[2.0, 4.0], [4.0, 2.0]]
    code, out, _ = run(capsys, "x*y + sin(x)", "x=1", "y=2", "--hessian")
    assert "Hessian:" in out and f"{-math.sin(1.0):.10g}" in out


def test_linear_expression_has_a_zero_hessian(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "3*x + y", "x=1", "y=2", "--hessian", "--json")
    assert code == 0 and json.loads(out)["hessian"] == [[0.0, 0.0], [0.0, 0.0]]


def test_order_k(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "x**5", "x=2", "--order", "4", "--json")
    assert code == 0
    assert json.loads(out)["derivatives"] == [80.0, 160.0, 240.0, 240.0]
    code, out, _ = run(capsys, "exp(x)", "x=0", "--order", "3")
    assert "d3f/dx3 = 1" in out
    code, out, _ = run(capsys, "x**2", "x=3", "--order", "3", "--json")
    assert json.loads(out)["derivatives"] == [6.0, 2.0, 0.0]


def test_trace_tables(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, SEED, "x=2", "y=-4", "--trace")
    assert code == 0
    assert "Primal trace" in out and "Tangent trace" in out and "Adjoint trace" in out
    assert "v1 =  v-1 + v0" in out


def test_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "g.png"
    code, out, _ = run(capsys, SEED, "x=2", "y=-4", "--json", "--explain", "--graph", str(png))
    assert code == 0
    data = json.loads(out)
    assert data["value"] == -12.0 and data["gradient"] == {"x": -12.0, "y": 0.0}
    assert data["point"] == {"x": 2.0, "y": -4.0} and "Forward pass" in data["explain"]
    assert data["graph"] == str(png) and png.stat().st_size > 10_000


def test_graph_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name in ("g.dot", "g.png"):
        code, _, _ = run(capsys, SEED, "x=2", "y=-4", "--graph", str(tmp_path / name))
        assert code == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph chainrule {")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"


def test_non_finite_values_are_printed_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "log(x)", "x=0", "--json")
    assert code == 0 and json.loads(out)["value"] == "-Infinity"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["__import__('os')"], "column 1: names starting with '_'"),
        (["__import__('os').system('echo hacked')"], "not allowed"),
        (["x.real", "x=1"], "column 2: attribute access"),
        (["(lambda: x)()", "x=1"], "only named functions"),
        (["[x for x in y]", "x=1"], "comprehensions are not allowed"),
        (["x ** 10 ** 10", "x=1"], "exponent is too large"),
        (["sin(" * 120 + "x" + ")" * 120, "x=1"], "nested too deeply"),
        (["x +", "x=1"], "ends too early"),
        (["x + y", "x=1"], "no value for y"),
        (["x", "x=1", "z=2"], "z does not appear"),
        (["x", "x=abc"], "must be a number"),
        (["x", "x"], "expected NAME=VALUE"),
        (["x", "x=1", "x=2"], "given twice"),
        (["x*y", "x=1", "y=2", "--order", "2"], "one variable"),
        (["x", "x=1", "--order", "99"], "between 1 and"),
        (["x", "x=1", "--graph", "g.txt"], ".svg, .png, .pdf or .dot"),
        (["x", "x=1", "--graph", "/nonexistent-dir/g.svg"], "cannot write"),
        (["-(x < 1)", "x=0"], "cannot compute"),
    ],
)
def test_errors_are_one_line_with_exit_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("chainrule grad: error: ")
    assert message in err
    assert "Traceback" not in err


def test_rejected_code_is_never_run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    marker = tmp_path / "hacked"
    code, _, err = run(capsys, f"__import__('os').system('touch {marker}')")
    assert code == 2 and not marker.exists()


# ---------------------------------------------------------------- issue 10, point 3
def _strict_json(text: str):
    """Parse as strict JSON: bare NaN/Infinity (Python's extension) are rejected."""

    def refuse(name: str):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_nan_is_null_and_infinities_are_strings(capsys: pytest.CaptureFixture[str]) -> None:
    # log(-1) is nan; d/dx log(x) = 1/x = -1 at x = -1.
    code, out, _ = run(capsys, "log(x)", "x=-1", "--json")
    assert code == 0
    data = _strict_json(out)
    assert data["value"] is None and data["gradient"] == {"x": -1.0}
    # Non-finite values given on the command line and derivatives that overflow: x*y at
    # x = nan, y = inf has df/dx = y = inf and df/dy = x = nan.
    code, out, _ = run(capsys, "x*y", "x=nan", "y=-inf", "--json", "--hessian")
    assert code == 0
    data = _strict_json(out)
    assert data["point"] == {"x": None, "y": "-Infinity"}
    assert data["gradient"] == {"x": "-Infinity", "y": None}
    assert data["hessian"] == [[0.0, 1.0], [1.0, 0.0]]
    code, out, _ = run(capsys, "exp(x)", "x=1000", "--order", "2", "--json")
    assert _strict_json(out)["derivatives"] == ["Infinity", "Infinity"]


def test_non_finite_values_in_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "log(x)", "x=0")
    assert code == 0 and out.splitlines()[1:] == ["f = -inf", "df/dx = inf"]


def test_json_format_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["grad", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "null" in out and '"Infinity"' in out and '"-Infinity"' in out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert '"Infinity"' in readme and "null" in readme


def test_hessian_of_a_constant_expression_is_empty_with_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "2+3", "--hessian")
    assert code == 0 and err == ""
    assert out.splitlines() == ["f() = 2+3", "f = 5", "Hessian: empty (the expression has no variables)"]
    code, out, _ = run(capsys, "2+3", "--hessian", "--json")
    data = _strict_json(out)
    assert code == 0 and data["hessian"] == [] and data["gradient"] == {}
    assert "no variables" in data["note"]


@pytest.mark.parametrize("name", ["pi", "e"])
def test_assigning_a_constant_says_it_is_a_constant(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, f"{name}*x", f"{name}=3", "x=1")
    assert code == 2 and out == ""
    assert f"{name} is a constant" in err and "cannot be assigned" in err
    assert err.count("\n") == 1


def test_assigning_a_function_name_says_it_is_a_function(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "x", "x=1", "sin=2")
    assert code == 2 and "sin is a function" in err


@pytest.mark.parametrize("name", ["", "  "])
def test_empty_graph_file_name_is_an_error(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, "x", "x=1", "--graph", name)
    assert code == 2 and out == ""
    assert "--graph" in err and "empty" in err and err.count("\n") == 1


def test_trace_of_a_large_graph_suggests_graph(capsys: pytest.CaptureFixture[str]) -> None:
    big = "x" + "+sin(x)*x" * 82  # about 250 recorded nodes, above the trace tables' limit
    code, out, err = run(capsys, big, "x=1", "--explain", "--trace")
    assert code == 2 and out == ""
    assert "--trace" in err and "--graph FILE" in err and "viz.draw" not in err
    assert err.count("\n") == 1
    # The explanation alone still works, and so does the drawing.
    code, out, _ = run(capsys, big, "x=1", "--explain")
    assert code == 0 and "Backward pass" in out


def test_order_uses_taylor_mode_beyond_nested_limits(capsys: pytest.CaptureFixture[str]) -> None:
    # d^k/dx^k e^x sin x = 2^(k/2) e^x sin(x + k pi/4); order 12 was refused by the nested path
    code, out, _ = run(capsys, "exp(x) * sin(x)", "x=0.5", "--order", "12", "--json")
    assert code == 0
    got = json.loads(out)["derivatives"]
    want = [2 ** (k / 2) * math.exp(0.5) * math.sin(0.5 + k * math.pi / 4) for k in range(1, 13)]
    assert len(got) == 12 and all(math.isclose(g, w, rel_tol=1e-11) for g, w in zip(got, want))
