"""The fresh-process runner (benchmarks/fresh.py): alternation, medians, spread flags, the table."""

from __future__ import annotations

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
