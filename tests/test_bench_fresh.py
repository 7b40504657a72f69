"""The fresh-process runner (benchmarks/fresh.py): alternation, medians, spread flags, the table."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import fresh


def test_alternation_is_abba_with_at_least_four_runs_each() -> None:
    order = fresh.alternation(fresh.MIN_RUNS)
    assert "".join(order) == "ABBAABBA"
    assert order.count("A") == order.count("B") == 4


def test_a_row_with_a_wide_spread_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    # Synthetic runs: chainrule steady at 0.125 ms and 1 ms (k=1, k=8), the reference 30 ms with
    # one slow run (45 ms: spread 50 %).
    ref_times = iter([0.030, 0.045, 0.031, 0.030])
    calls = []

    def fake(case, side, quick, threads):  # type: ignore[no-untyped-def]
        calls.append(side)
        if side == "mine":
            return {"medians": {"k=8": 0.001, "k=1": 0.000125}}
        return {"medians": {"k=8": next(ref_times)}}

    monkeypatch.setattr(fresh, "_run_process", fake)
    row = fresh.run_case(fresh.CASES["taylor"], 4, True, 2, lambda line: None)
    assert calls == ["mine", "ref", "ref", "mine", "mine", "ref", "ref", "mine"]
    assert row["mine"] == 0.001 and row["ref"] == pytest.approx(0.0305)
    assert row["flag"] and row["spread_mine"] == 0.0 and row["spread_ref"] == pytest.approx(0.5)
    assert row["growth"] == pytest.approx(8 ** (1 / 7))
    table = "\n".join(fresh.format_table([(fresh.CASES["taylor"], row)], 4))
    assert "! spread > 15%: unreliable; missed" in table and "growth 1.35x per order (target <= 1.3x)" in table
    # the ratio (0.033x) holds, the growth (1.35x) does not: the row is missed


def test_a_failed_side_is_reported_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh, "_run_process", lambda *a: {"error": "WRONG: jacrev: differs"})
    row = fresh.run_case(fresh.CASES["jacobian"], 4, True, 2, lambda line: None)
    assert row == {"error": "chainrule: WRONG: jacrev: differs"}
    assert "WRONG" in fresh.format_table([(fresh.CASES["jacobian"], row)], 4)[-1]


def test_the_floor_programs_of_mlp_step_compute_the_step() -> None:
    # benchmarks.mlp_floor's "tightest NumPy" step is a floor only if it is the same step: its
    # loss and new parameters must be the hand-written step's (float32 summation order aside).
    from benchmarks.mlp_floor import products_only, tightest_step
    from benchmarks.mlp_step import initial_parameters, numpy_step

    init, x, y = initial_parameters()
    want = [p.copy() for p in init]
    want_loss = numpy_step(want, x, y)
    got = [p.copy() for p in init]
    loss = tightest_step(got, x, y)()
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
    for a, b, p0 in zip(got, want, init):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a - p0, b - p0, rtol=1e-3, atol=1e-7)
    g1, g2, g3 = products_only([p.copy() for p in init], x, y)()
    assert (g1.shape, g2.shape, g3.shape) == (init[0].shape, init[2].shape, init[4].shape)
