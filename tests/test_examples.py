"""The training examples run as scripts, and what they print is checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NUMBER = r"(-?[\d.]+(?:e[-+]?\d+)?)"


def run_example(name: str, *args: str) -> str:
    # The suite runs two workers on two cores: one BLAS thread per process avoids OpenBLAS threads
    # spinning against each other, which can make small products many times slower.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                            timeout=300, cwd=EXAMPLES.parent, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def numbers_after(label: str, text: str, count: int) -> list[float]:
    match = re.search(re.escape(label) + r".*?" + r".*?".join([NUMBER] * count), text)
    assert match is not None, f"no line with {label!r} in:\n{text}"
    return [float(v) for v in match.groups()]


def test_linear_regression_lands_on_the_least_squares_line():
    out = run_example("linear_regression.py")
    slope, intercept = numbers_after("gradient descent: slope", out, 2)
    ls_slope, ls_intercept = numbers_after("least squares:    slope", out, 2)
    assert abs(slope - ls_slope) < 1e-3 and abs(intercept - ls_intercept) < 1e-3
    # The data were drawn around y = 6.12x + 1.35 with noise; the fit must be near it.
    assert abs(slope - 6.12) < 0.2 and abs(intercept - 1.35) < 0.3
    mses = [float(v) for v in re.findall(r"mse " + NUMBER, out)]
    assert mses[0] > 10 * mses[-1]


def test_polynomial_regression_recovers_6_8_2():
    out = run_example("polynomial_regression.py")
    match = re.search(rf"fitted: y = {NUMBER}x\^2 \+ {NUMBER}x \+ {NUMBER}", out)
    assert match is not None, out
    a, b, c = (float(v) for v in match.groups())
    assert abs(a - 6) < 1e-4 and abs(b - 8) < 1e-4 and abs(c - 2) < 1e-4


def test_softmax_layer_gradients_match_the_closed_form():
    out = run_example("softmax_layer.py")
    assert "dL/dw.shape (4, 3)" in out and "dL/db.shape (3,)" in out
    (dw_error,) = numbers_after("max |dL/dw - closed form| =", out, 1)
    (db_error,) = numbers_after("max |dL/db - closed form| =", out, 1)
    assert dw_error < 1e-12 and db_error < 1e-12
    first, last = numbers_after("loss went from", out, 2)
    assert last < first / 10
    probabilities = numbers_after("predicted probabilities of the target classes:", out, 2)
    assert min(probabilities) > 0.9
    rows = re.search(r"dL/dw =\n((?:.*\n){4})", out).group(1)
    grad = np.array([[float(v) for v in re.findall(NUMBER, line)] for line in rows.splitlines()])
    assert grad.shape == (4, 3)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-6)  # softmax - y sums to 0 per row


def test_mlp_trains_on_the_digits():
    out = run_example("mlp_digits.py", "--epochs", "8")
    assert "Linear(in_features=64, out_features=256, bias=True)" in out
    losses = [float(v) for v in re.findall(r"epoch +\d+ +loss " + NUMBER, out)]
    assert len(losses) == 8 and losses[-1] < losses[0] / 5
    (final,) = numbers_after("final test accuracy:", out, 1)
    assert final > 90.0


def test_dask_least_squares_gradient_agrees_with_numpy_and_reports_memory():
    pytest.importorskip("distributed")
    out = run_example("dask_least_squares.py")
    (gb,) = numbers_after("float64 =", out, 1)
    assert 0.09 < gb < 0.11  # the small default
    losses = [float(v) for v in re.findall(r"step \d+  loss " + NUMBER, out)]
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2]  # descent on a convex loss
    err, rel = numbers_after("max |grad(chainrule, dask) - grad(numpy)| =", out, 2)
    assert rel < 1e-10
    (rate,) = numbers_after("throughput:", out, 1)
    assert rate > 0
    (client_mb,) = numbers_after("peak resident memory of the client process:", out, 1)
    assert 0 < client_mb < 2000
