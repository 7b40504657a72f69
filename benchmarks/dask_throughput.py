"""dask_throughput: the gradient of a least-squares loss over a chunked Dask dataset, in GB/s.

``X`` (rows x 32 float64) and ``y`` are generated lazily, chunk by chunk, by
``dask.array.random`` and never held whole; one pass computes the loss ``mean((Xw - y)^2)`` and
its gradient on a ``LocalCluster`` of two worker processes (one thread each, a memory limit
each). Rows:

- **Dask, by hand**: the closed form ``2 X^T (Xw - y) / n`` and the loss written with Dask
  directly, computed together (the floor: what any autodiff layer over Dask adds is above it);
- **chainrule on Dask**: ``cr.value_and_grad`` of the same loss on Dask tensors, then
  ``cr.compute(value, grad)``.

Reported in seconds per GB of ``X`` (the table's unit; the note gives GB/s), with the peak
resident memory of the client process and of the busiest worker. The whole measurement runs in
a fresh subprocess (so the client's peak is this workload's, not the runner's). chainrule's
gradient must equal the hand-written one (rtol 1e-10).

**Target:** chainrule's throughput >= 0.8x Dask by hand's, and the client's peak resident memory
under 2 GB. Sizes: 1 GB (``--quick``: 0.1 GB); ``python -m benchmarks.dask_throughput --gb 16``
runs the larger-than-memory size on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from benchmarks import libraries
from benchmarks.timing import Row, WorkloadResult, unavailable_row

__all__ = ["NAME", "TITLE", "run", "measure"]

NAME = "dask_throughput"
TITLE = "least-squares loss and gradient over a chunked Dask dataset on a 2-worker LocalCluster"

FEATURES = 32
CHUNK_MB = 32.0
MEMORY_LIMIT = "1.5GiB"
TIMEOUT_S = 1800
DASK, CHAINRULE = "Dask, by hand", "chainrule on Dask"
TARGET_RATIO = 0.8
CLIENT_LIMIT_MB = 2048.0


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(gb: float, passes: int, workers: int = 2) -> dict:
    """Time ``passes`` passes of each row (after one warm-up pass) in this process; the report:
    seconds per pass for each row, the data size, the peaks and the largest gradient difference.

    Run it in a fresh process (the client's peak memory is the process's lifetime peak).
    """
    import dask
    import dask.array as da
    import numpy as np
    from distributed import Client, LocalCluster

    cr = libraries.load_chainrule()
    rows = max(int(gb * 1e9 / (8 * FEATURES)), 1)
    chunk_rows = max(min(int(CHUNK_MB * 1e6 / (8 * FEATURES)), rows), 1)
    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, FEATURES), chunks=(chunk_rows, FEATURES))
    y = X @ (np.arange(FEATURES) / FEATURES) + 0.1 * rng.standard_normal(rows, chunks=chunk_rows)
    w = np.linspace(-0.5, 0.5, FEATURES)

    def by_hand():
        r = X @ w - y
        return dask.compute((r * r).mean(), 2.0 * (X.T @ r) / rows)

    Xt, yt = cr.tensor(X), cr.tensor(y)

    def loss(wt):
        r = cr.matmul(Xt, wt) - yt
        return cr.mean(r * r)

    value_and_grad = cr.value_and_grad(loss)

    def with_chainrule():
        value, g = value_and_grad(cr.asarray(w, like=Xt))
        return cr.compute(value, g)

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           memory_limit=MEMORY_LIMIT, dashboard_address=None, silence_logs=40)  # fmt: skip
    client = Client(cluster)
    report: dict = {"gb": rows * FEATURES * 8 / 1e9, "rows": rows, "chunks": int(X.numblocks[0])}
    try:
        results = {}
        for name, fn in ((DASK, by_hand), (CHAINRULE, with_chainrule)):
            results[name] = fn()  # warm-up: imports, worker start-up, the first graph
            times = []
            for _ in range(passes):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            report[name] = sorted(times)
        (v_ref, g_ref), (v, g) = results[DASK], results[CHAINRULE]
        scale = float(np.max(np.abs(g_ref)))
        report["grad_diff"] = float(np.max(np.abs(np.asarray(g) - np.asarray(g_ref)))) / max(scale, 1e-300)
        report["loss_diff"] = abs(float(v) - float(v_ref)) / max(abs(float(v_ref)), 1e-300)
        report["workers_peak_mb"] = max(client.run(_peak_rss_mb).values())
    finally:
        client.close()
        cluster.close()
    report["client_peak_mb"] = _peak_rss_mb()
    return report


def _in_subprocess(gb: float, passes: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.dask_throughput", "--measure", "--gb", str(gb),
               "--passes", str(passes)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S,
                          cwd=libraries.REPO_ROOT, env=dict(os.environ), check=False)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def _median(values: list[float]) -> float:
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def result_from(report: dict) -> WorkloadResult:
    """The table for a measurement report (``measure``'s, or an ``error``)."""
    target = (f"chainrule's throughput >= {TARGET_RATIO}x Dask by hand's; client peak memory < "
              f"{CLIENT_LIMIT_MB / 1024:.0f} GB")  # fmt: skip
    if "error" in report:
        rows = [unavailable_row(DASK, report["error"]), unavailable_row(CHAINRULE, report["error"])]
        return WorkloadResult(NAME, TITLE, "s/GB", 1.0, rows, [DASK], target)
    gb = report["gb"]
    rows = []
    for name in (DASK, CHAINRULE):
        per_gb = _median(report[name]) / gb
        rows.append(Row(name, per_gb, f"{1 / per_gb:.3f} GB/s", best=report[name][0] / gb))
    if report["grad_diff"] > 1e-10 or report["loss_diff"] > 1e-10:
        rows[1] = Row(CHAINRULE, None, f"WRONG: gradient differs from Dask by hand's by {report['grad_diff']:.2e} "
                                       f"(relative), loss by {report['loss_diff']:.2e}")  # fmt: skip
        met = None
    else:
        ratio = rows[0].seconds / rows[1].seconds  # throughput ratio chainrule / by hand
        met = ratio >= TARGET_RATIO and report["client_peak_mb"] < CLIENT_LIMIT_MB
    details = [
        f"X: {report['rows']} x {FEATURES} float64 = {gb:.3f} GB in {report['chunks']} chunks, "
        f"{len(report[DASK])} timed passes per row after a warm-up",
        f"peak resident memory: client {report['client_peak_mb']:.0f} MB, busiest worker "
        f"{report['workers_peak_mb']:.0f} MB (limit {MEMORY_LIMIT} each)",
    ]
    line = ""
    if met is not None:
        line = (f"throughput {rows[0].seconds / rows[1].seconds:.2f}x Dask by hand's, client peak "
                f"{report['client_peak_mb']:.0f} MB")  # fmt: skip
    return WorkloadResult(NAME, TITLE, "s/GB", 1.0, rows, [DASK], target, met, line, details)


def run(quick: bool = False) -> WorkloadResult:
    """Measure in a fresh process: 1 GB and 3 passes (``quick``: 0.1 GB, 2 passes)."""
    try:
        import dask.array  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        return result_from({"error": f"{type(error).__name__}: {error}"})
    return result_from(_in_subprocess(0.1 if quick else 1.0, 2 if quick else 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dask_throughput", description=TITLE)
    parser.add_argument("--gb", type=float, default=1.0, help="size of X in GB; default 1")
    parser.add_argument("--passes", type=int, default=3, help="timed passes per row; default 3")
    parser.add_argument("--measure", action="store_true", help="measure in this process and print JSON")
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.gb, args.passes)))
        return 0
    from benchmarks.run import format_result

    for line in format_result(result_from(_in_subprocess(args.gb, args.passes))):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
