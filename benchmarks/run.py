"""Run chainrule side by side with NumPy by hand, PyTorch, HIPS autograd and JAX; print ratios.

Usage (from the repository root)::

    python -m benchmarks.run                  # every workload
    python -m benchmarks.run op_overhead      # some of them
    python -m benchmarks.run --quick          # fewer, shorter samples (under a minute)

These tables time every library in one process, which skews ratios (thread pools and caches left
by the rows before). The issue's targets are measured by ``python -m benchmarks.fresh``: each
library in its own fresh process, alternating, with the spread over runs.

Thread pools are pinned before NumPy, PyTorch or JAX is imported, so keep this module's top-level
imports free of them: the workloads are imported by name once the pinning is done.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmarks import libraries
from benchmarks.timing import (
    CONTENTION_LIMIT,
    CheckFailed,
    Contention,
    WorkloadResult,
    limit_loaded_pools,
    pin_threads,
)

__all__ = ["WORKLOADS", "main", "format_result"]

# Each name is a module benchmarks/<name>.py exposing NAME, TITLE and run(quick) -> WorkloadResult.
# Later workloads (jacobian, hessian, higher_order, train_digits, memory_chain) are added here.
WORKLOADS = ["op_overhead", "mlp_step", "jacobian", "hessian", "higher_order", "train_digits", "memory_chain",
             "memory_checkpoint", "taylor"]
# Array libraries under tensors (issue 16).
WORKLOADS += ["dask_throughput"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="chainrule vs NumPy by hand, PyTorch (CPU), HIPS autograd and JAX.",
    )
    parser.add_argument("workloads", nargs="*", metavar="workload",
                        help=f"workloads to run (default: all of {', '.join(WORKLOADS)})")
    parser.add_argument("--quick", action="store_true",
                        help="fewer samples: rough figures in under a minute")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads per library (BLAS, OpenMP, torch, XLA); default 2")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 when a target is not met (a wrong result always does)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = parser.parse_args(argv)
    unknown = [name for name in args.workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def _fmt_time(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _fmt_ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 10 else f"{value:.2f}x"


def format_result(result: WorkloadResult) -> list[str]:
    """The workload's table, its details and its target line, as printable lines."""
    refs = {name: result.row(name) for name in result.ratio_to}
    header = ["library", result.unit, "best"] + [f"/ {name}" for name in result.ratio_to] + ["note"]
    body = []
    for row in result.rows:
        if row.seconds is None:
            body.append([row.library, "-", "-"] + ["-" for _ in result.ratio_to] + [row.note])
            continue
        best = _fmt_time(row.best * result.scale) if row.best is not None else ""
        cells = [row.library, _fmt_time(row.seconds * result.scale), best]
        for ref in refs.values():
            ok = ref is not None and ref.seconds
            cells.append(_fmt_ratio(row.seconds / ref.seconds) if ok else "-")
        cells.append(row.note)
        body.append(cells)
    widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(len(header) - 1)]
    lines = [f"== {result.name}: {result.title}"]
    for cells in [header, *body]:
        text = "  ".join(
            str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
            for i, cell in enumerate(cells[:-1])
        )
        lines.append(f"  {text}  {cells[-1]}".rstrip())
    lines.extend(f"  {detail}" for detail in result.details)
    status = {True: "PASS", False: "FAIL", None: "----"}[result.target_met]
    busy = any(row.note.startswith("busy") for row in result.rows)
    caveat = " (unreliable: some rows ran while the machine was busy)" if busy else ""
    lines.append(f"  target [{status}] {result.target}: {result.target_line}{caveat}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads and print one table each; returns the exit status."""
    args = _parse(argv)
    if args.list:
        for name in WORKLOADS:
            print(f"{name:14s} {importlib.import_module(f'benchmarks.{name}').TITLE}")
        return 0
    preloaded = "numpy" in sys.modules
    threads_desc = pin_threads(args.threads)  # must precede the first numpy/torch/jax import
    libraries.THREADS = args.threads
    limits = limit_loaded_pools(args.threads)  # imports numpy (via threadpoolctl) only now
    started = time.perf_counter()
    print("chainrule benchmarks" + (" (--quick: rough figures)" if args.quick else ""))
    for line in libraries.environment_lines(f"{threads_desc}; {limits}"):
        print(f"  {line}")
    if preloaded:
        print("  warning: numpy was imported before the thread pinning; BLAS may use more threads")
    print("  times: median of many short samples (ratios use it) and the best sample", flush=True)

    failed = False
    missed = False
    for name in args.workloads or WORKLOADS:
        module = importlib.import_module(f"benchmarks.{name}")
        print(flush=True)
        contention = Contention()
        try:
            result = module.run(quick=args.quick)
        except CheckFailed as error:
            print(f"== {name}: reference check failed: {error}")
            failed = True
            continue
        for line in format_result(result):
            print(line)
        share = contention.others_share()
        if share is not None and share >= CONTENTION_LIMIT:
            print(f"  WARNING: other processes used {100 * share:.0f}% of the machine's CPU time while "
                  "this ran; rows marked 'busy' are unreliable (rerun on an idle machine)")
        sys.stdout.flush()
        failed |= any(row.note.startswith("WRONG") for row in result.rows)
        missed |= result.target_met is False
    elapsed = time.perf_counter() - started
    print(f"\ndone in {elapsed:.1f} s" + ("; a library computed a WRONG result" if failed else ""))
    if failed or (args.check and missed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
