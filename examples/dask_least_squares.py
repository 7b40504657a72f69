"""Gradients over a dataset larger than memory: chainrule on Dask arrays, on a 2-worker cluster.

The data ``X`` (rows x features, float64) and the targets ``y`` are generated lazily, chunk by
chunk, by ``dask.array.random``: no process ever holds them whole. chainrule builds the loss and
its gradient as one lazy task graph (``cr.value_and_grad`` on Dask tensors); ``cr.compute``
then runs it on a ``LocalCluster`` of two worker processes with a memory limit each, reading the
data once per step (each chunk is made, used by the forward and the backward, and dropped). A few
steps of gradient descent follow. At the end the gradient is checked against NumPy's closed form
on a subsample that fits in memory, and the script prints the throughput (GB of ``X`` processed
per second) and the peak resident memory of this (the client) process.

Run: ``python examples/dask_least_squares.py`` (0.1 GB, well under a minute), or
``python examples/dask_least_squares.py --gb 16`` for the larger-than-memory size;
``--loss logistic`` for logistic regression; ``--scheduler tcp://host:8786`` to use a running
cluster instead of starting a local one.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

import chainrule as cr

SEED = 16


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gb", type=float, default=0.1, help="size of X in GB (float64); default 0.1")
    p.add_argument("--features", type=int, default=32, help="columns of X; default 32")
    p.add_argument("--chunk-mb", type=float, default=16.0, help="size of one chunk of X in MB; default 16")
    p.add_argument("--steps", type=int, default=3, help="gradient-descent steps; default 3")
    p.add_argument("--lr", type=float, default=0.2, help="step size; default 0.2")
    p.add_argument("--loss", choices=("least_squares", "logistic"), default="least_squares")
    p.add_argument("--workers", type=int, default=2, help="local workers; default 2")
    p.add_argument("--memory-limit", default="1.5GiB", help="memory limit of each local worker; default 1.5GiB")
    p.add_argument("--threads", action="store_true",
                   help="run the workers as threads of this process (faster to start; then the "
                        "client's memory includes theirs)")  # fmt: skip
    p.add_argument("--scheduler", default=None, help="address of a running scheduler (tcp://host:8786)")
    p.add_argument("--check-rows", type=int, default=20_000, help="rows of the NumPy check; default 20000")
    return p.parse_args(argv)


def make_data(rows: int, features: int, chunk_rows: int, loss: str):
    """X, y and the true weights; X and y are lazy Dask arrays made chunk by chunk."""
    import dask.array as da

    rng = np.random.default_rng(SEED)
    w_true = rng.standard_normal(features) / np.sqrt(features)
    drng = da.random.default_rng(SEED)
    X = drng.standard_normal((rows, features), chunks=(chunk_rows, features))
    noise = drng.standard_normal(rows, chunks=chunk_rows)
    signal = X @ w_true
    if loss == "least_squares":
        y = signal + 0.1 * noise
    else:
        y = da.where(signal + 0.3 * noise > 0, 1.0, -1.0)
    return X, y, w_true


def loss_fn(kind: str, X: cr.Tensor, y: cr.Tensor):
    """The mean loss over the rows of X as a function of the weights."""
    if kind == "least_squares":

        def loss(w: cr.Tensor) -> cr.Tensor:
            r = cr.matmul(X, w) - y
            return cr.mean(r * r)

    else:

        def loss(w: cr.Tensor) -> cr.Tensor:
            return cr.mean(cr.softplus(-y * cr.matmul(X, w)))

    return loss


def numpy_gradient(kind: str, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The closed-form gradient of the same loss, in NumPy."""
    if kind == "least_squares":
        return 2.0 * X.T @ (X @ w - y) / len(y)  # d/dw mean((Xw - y)^2)
    z = -y * (X @ w)
    return -X.T @ (y / (1.0 + np.exp(-z))) / len(y)  # d/dw mean(softplus(-y Xw))


def peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def start_client(args: argparse.Namespace):
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler), f"the scheduler at {args.scheduler}"
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=not args.threads,
                           memory_limit=args.memory_limit, dashboard_address=None, silence_logs=40)  # fmt: skip
    kind = "threads of this process" if args.threads else "processes"
    return Client(cluster), f"LocalCluster, {args.workers} workers ({kind}), memory limit {args.memory_limit} each"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    features = args.features
    rows = max(int(args.gb * 1e9 / (8 * features)), 1)
    chunk_rows = max(min(int(args.chunk_mb * 1e6 / (8 * features)), rows), 1)
    X, y, _ = make_data(rows, features, chunk_rows, args.loss)
    gb = rows * features * 8 / 1e9
    print(f"data: X {rows} x {features} float64 = {gb:.3f} GB in {X.numblocks[0]} chunks of "
          f"{chunk_rows * features * 8 / 1e6:.1f} MB, made lazily by dask.array.random")  # fmt: skip

    client, where = start_client(args)
    print(f"cluster: {where}")
    try:
        Xt, yt = cr.tensor(X), cr.tensor(y)  # lazy: nothing is generated yet
        loss = loss_fn(args.loss, Xt, yt)
        value_and_grad = cr.value_and_grad(loss)
        w = np.zeros(features)
        seconds = 0.0
        for step in range(1, args.steps + 1):
            start = time.perf_counter()
            value, g = value_and_grad(cr.asarray(w, like=Xt))  # the task graph, still lazy
            v, g_np = cr.compute(value, g)  # one pass over the data, on the cluster
            took = time.perf_counter() - start
            seconds += took
            print(f"step {step}  loss {float(v):.6f}  |grad| {np.linalg.norm(g_np):.6f}  "
                  f"{took:.2f} s  {gb / took:.3f} GB/s")  # fmt: skip
            w = w - args.lr * g_np

        # The check: the same gradient on the first rows, by chainrule on Dask and by NumPy.
        k = min(args.check_rows, rows)
        X_k, y_k = X[:k], y[:k]
        g_dask = cr.grad(loss_fn(args.loss, cr.tensor(X_k), cr.tensor(y_k)))(cr.asarray(w, like=Xt)).numpy()
        X_np, y_np = X_k.compute(), y_k.compute()
        g_ref = numpy_gradient(args.loss, X_np, y_np, w)
        err = float(np.max(np.abs(g_dask - g_ref)))
        rel = err / max(float(np.max(np.abs(g_ref))), 1e-300)
        print(f"check on a subsample of {k} rows: max |grad(chainrule, dask) - grad(numpy)| = "
              f"{err:.3e} (relative {rel:.3e})")  # fmt: skip
        print(f"throughput: {gb * args.steps / seconds:.3f} GB/s ({gb * args.steps:.3f} GB of X "
              f"in {args.steps} passes, {seconds:.2f} s)")  # fmt: skip
        if not args.threads and not args.scheduler:
            worker_peaks = client.run(peak_rss_mb)
            print(f"peak resident memory of the workers: {max(worker_peaks.values()):.1f} MB")
    finally:
        client.close()
    print(f"peak resident memory of the client process: {peak_rss_mb():.1f} MB")


if __name__ == "__main__":
    main()
