"""The issue's table, measured honestly: each library in its own fresh process, alternating.

Usage (from the repository root)::

    python -m benchmarks.fresh                     # every row of the table
    python -m benchmarks.fresh taylor hessian      # some rows
    python -m benchmarks.fresh --runs 6 --quick    # more runs each, shorter timings

Timing every library in one process skews ratios: whatever ran before leaves thread pools
spinning, caches warm or memory fragmented (PyTorch's vectorized Hessian measured 3.4 ms after
other rows in one process, 1.4 ms in a fresh one). Here every measurement is a new Python process
that pins its threads, imports one library, checks its result against the reference and times
it. The two sides of a row alternate A B B A (repeated up to ``--runs`` each, at least 4), so a
slow stretch of the machine hits both alike. Each run reports its median time; a row shows the
median over runs for each side, the spread (max/min - 1) of those runs, and marks (``!``) a row
whose spread exceeds 15 % on either side: its ratio is not to be trusted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CASES", "Case", "main", "alternation", "summarize", "SPREAD_LIMIT"]

SPREAD_LIMIT = 0.15
MIN_RUNS = 4
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    """One row of the table: chainrule's form against a reference form, and the target ratio."""

    name: str
    workload: str
    mine: str  # description of chainrule's form
    reference: str  # description of the reference form
    target: float  # chainrule / reference at most this
    # Orders also timed in chainrule's process, for the growth per order (t(hi)/t(lo))^(1/(hi-lo)),
    # and the growth the target allows.
    growth_orders: tuple[int, ...] = field(default=())
    growth_target: float | None = None


CASES: dict[str, Case] = {
    "jacobian": Case("jacobian", "jacobian n=1024", "jacrev", "torch.func.jacrev", 0.5),
    "hessian": Case("hessian", "hessian n=128", "hessian",
                    "torch autograd.functional.hessian(vectorize=True)", 0.5),  # fmt: skip
    "higher_order": Case("higher_order", "higher_order k=8", "nested autograd.grad(create_graph)",
                         "torch nested autograd.grad(create_graph)", 1.0),  # fmt: skip
    "taylor": Case("taylor", "taylor k=8", "cr.taylor", "torch nested autograd.grad(create_graph)",
                   0.05, growth_orders=(1, 8), growth_target=1.3),  # fmt: skip
    "mlp_step": Case("mlp_step", "mlp_step 784-256-128-10 b128 f32", "eager step",
                     "NumPy by hand", 1.0),  # fmt: skip
}


# ---------------------------------------------------------------- the worker (one side, one process)
def _side(case: str, side: str) -> dict[str, tuple[Callable[[], Callable[[], object]], Callable[..., None]]]:
    """The forms one side of a case times: {label: (setup, check)}; the first is the ratio's."""
    from benchmarks import hessian, higher_order, jacobian, mlp_step, taylor
    from benchmarks.timing import compare_arrays

    if case == "jacobian":
        w, x = jacobian.problem(1024)
        want = jacobian.closed_form(w, x)

        def check_jac(fn: Callable[[], object]) -> None:
            compare_arrays("Jacobian", jacobian._to_numpy(fn()), want, rtol=1e-9, atol=1e-12)

        setups = jacobian._chainrule_setups(w, x) if side == "mine" else jacobian._torch_setups(w, x)
        key = "chainrule jacrev" if side == "mine" else "torch.func.jacrev"
        return {key: (setups[key], check_jac)}
    if case == "hessian":
        a, x = hessian.problem()
        want_h = hessian.closed_form(a, x)

        def check_hess(fn: Callable[[], object]) -> None:
            compare_arrays("Hessian", hessian._to_numpy(fn()), want_h, rtol=1e-9, atol=1e-10)

        key = "chainrule hessian" if side == "mine" else "PyTorch autograd.functional (vectorize=True)"
        return {key: (hessian._setups(a, x)[key], check_hess)}
    if case in ("higher_order", "taylor"):
        if side == "ref":
            return {"k=8": (lambda: higher_order._torch(8), taylor.check_order(8))}
        if case == "higher_order":
            return {"k=8": (lambda: higher_order.chainrule_create_graph(8), taylor.check_order(8))}
        orders = (8, *(k for k in CASES["taylor"].growth_orders if k != 8))
        return {f"k={k}": (lambda k=k: taylor.chainrule_taylor(k), taylor.check_order(k)) for k in orders}
    if case == "mlp_step":
        init, x, y, ref_loss, ref_grads = mlp_step.reference()
        setup = mlp_step._setup_chainrule if side == "mine" else mlp_step._setup_numpy
        build, check = mlp_step.checked(lambda: setup(init, x, y), init, ref_loss, ref_grads)
        return {"step": (build, check)}
    raise ValueError(f"unknown case {case!r}; choose from {', '.join(CASES)}")


def _worker(case: str, side: str, quick: bool, threads: int) -> dict[str, object]:
    from benchmarks import libraries
    from benchmarks.timing import CheckFailed, limit_loaded_pools, measure, pin_threads

    pin_threads(threads)  # before numpy, torch or jax is imported
    libraries.THREADS = threads
    limit_loaded_pools(threads)
    out: dict[str, object] = {}
    for label, (setup, check) in _side(case, side).items():
        try:
            fn = setup()
            check(fn)
        except CheckFailed as error:
            return {"error": f"WRONG: {label}: {error}"}
        except Exception as error:  # reported as the row's note, not a traceback
            return {"error": f"n/a: {label}: {type(error).__name__}: {error}"}
        if quick:
            timing = measure(fn, min_samples=5, min_time=0.15, warmup=2)
        else:
            timing = measure(fn, min_samples=15, min_time=1.0, warmup=5)
        out[label] = timing.median
    return {"medians": out}


# ---------------------------------------------------------------- the driver
def alternation(runs: int) -> list[str]:
    """The order of the processes: A B B A, repeated, ``runs`` of each side.

    >>> "".join(alternation(4))
    'ABBAABBA'
    >>> "".join(alternation(5))
    'ABBAABBAAB'
    """
    pattern = "ABBA"
    return [pattern[i % 4] for i in range(2 * runs)]


def summarize(mine: list[float], ref: list[float]) -> dict[str, float]:
    """Medians over the runs, their spreads (max/min - 1) and the ratio of the medians.

    >>> s = summarize([1.0, 1.1, 1.0, 1.2], [2.0, 2.0, 2.1, 2.0])
    >>> round(s["ratio"], 3), round(s["spread_mine"], 2), s["flag"]
    (0.525, 0.2, True)
    """
    m, r = statistics.median(mine), statistics.median(ref)
    spread_m, spread_r = max(mine) / min(mine) - 1, max(ref) / min(ref) - 1
    return {"mine": m, "ref": r, "ratio": m / r, "spread_mine": spread_m, "spread_ref": spread_r,
            "flag": spread_m > SPREAD_LIMIT or spread_r > SPREAD_LIMIT}  # fmt: skip


def _run_process(case: str, side: str, quick: bool, threads: int) -> dict[str, object]:
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # they can force a slow kernel
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), str(REPO), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.fresh", "--worker", case, side, "--threads", str(threads)]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"error": f"worker failed: {tail}"}
    return json.loads(lines[-1])


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:,.0f}" if ms >= 100 else (f"{ms:.1f}" if ms >= 10 else f"{ms:.3f}")


def run_case(case: Case, runs: int, quick: bool, threads: int, log: Callable[[str], None]) -> dict[str, object]:
    """Alternate the two sides in fresh processes; returns the row's figures (or its error)."""
    mine: dict[str, list[float]] = {}
    ref: list[float] = []
    for which in alternation(runs):
        side = "mine" if which == "A" else "ref"
        result = _run_process(case.name, side, quick, threads)
        if "error" in result:
            return {"error": f"{'chainrule' if side == 'mine' else 'reference'}: {result['error']}"}
        medians = result["medians"]
        assert isinstance(medians, dict)
        if side == "mine":
            for label, value in medians.items():
                mine.setdefault(label, []).append(value)
        else:
            ref.append(next(iter(medians.values())))
        log(f"    {case.name}: {side} {', '.join(f'{k} {_ms(v)} ms' for k, v in medians.items())}")
    first = next(iter(mine))
    row: dict[str, object] = {"runs": {"mine": mine, "ref": ref}, **summarize(mine[first], ref)}
    if case.growth_orders:
        lo, hi = min(case.growth_orders), max(case.growth_orders)
        t_lo, t_hi = statistics.median(mine[f"k={lo}"]), statistics.median(mine[f"k={hi}"])
        row["growth"] = (t_hi / t_lo) ** (1 / (hi - lo))
    return row


def format_table(rows: list[tuple[Case, dict[str, object]]], runs: int) -> list[str]:
    """The table as printable lines."""
    header = ["workload", "chainrule ms", "spread", "reference ms", "spread", "ratio", "target", ""]
    body = []
    for case, row in rows:
        if "error" in row:
            body.append([case.workload, "-", "-", "-", "-", "-", f"<= {case.target:g}x", str(row["error"])])
            continue
        met = row["ratio"] <= case.target  # type: ignore[operator]
        growth = ""
        if "growth" in row:
            growth = f"; growth {row['growth']:.2f}x per order"
            if case.growth_target is not None:
                met = met and row["growth"] <= case.growth_target  # type: ignore[operator]
                growth += f" (target <= {case.growth_target:g}x)"
        note = f"{'met' if met else 'missed'}; vs {case.reference}{growth}"
        if row["flag"]:
            note = f"! spread > {SPREAD_LIMIT:.0%}: unreliable; " + note
        body.append([
            case.workload, _ms(row["mine"]), f"{row['spread_mine']:.0%}", _ms(row["ref"]),  # type: ignore[arg-type]
            f"{row['spread_ref']:.0%}", f"{row['ratio']:.3g}x", f"<= {case.target:g}x", note,
        ])  # fmt: skip
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header) - 1)]
    lines = [f"issue table: each side in its own fresh process, A B B A, {runs} runs each; "
             "median over runs, spread = max/min - 1"]  # fmt: skip
    for cells in [header, *body]:
        text = "  ".join(
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i]) for i, c in enumerate(cells[:-1])
        )
        lines.append(f"  {text}  {cells[-1]}".rstrip())
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the chosen rows (default: all) and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fresh", description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", metavar="row", help=f"rows to run (default: {', '.join(CASES)})")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help=f"runs per side (at least {MIN_RUNS})")
    parser.add_argument("--quick", action="store_true", help="shorter timings in each run")
    parser.add_argument("--threads", type=int, default=2, help="threads per library (default 2)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures and every run's time to FILE")
    parser.add_argument("--worker", nargs=2, metavar=("ROW", "SIDE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker[0], args.worker[1], args.quick, args.threads)), flush=True)
        return 0
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be at least {MIN_RUNS}")
    rows = []
    for name in args.cases or list(CASES):
        print(f"  running {name} ({2 * args.runs} processes)", flush=True)
        rows.append((CASES[name], run_case(CASES[name], args.runs, args.quick, args.threads,
                                           lambda line: print(line, flush=True))))  # fmt: skip
    print()
    for line in format_table(rows, args.runs):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({c.name: r for c, r in rows}, indent=2))
    wrong = any(str(r.get("error", "")).find("WRONG") >= 0 for _, r in rows)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
