"""memory_checkpoint: the peak memory that checkpointing saves on a 64-block residual MLP.

Each block is ``h + tanh(h @ W1 + b1) @ W2`` (width 64, hidden width 256, batch 2048, float64:
one activation ``h`` is 1 MiB, "one array" below; the hidden one is 4 arrays). The work is the
gradient of ``sum(h_64 ** 2) / 2`` with respect to the input and every weight. Reported as the
peak memory above what existed before the step (input and parameters), in arrays.

Without checkpointing, the backward pass needs each block's input and its tanh output: about 5
arrays a block, 320 in all. With each block checkpointed (``chainrule.checkpoint``,
``torch.utils.checkpoint.checkpoint(use_reentrant=False)``) the forward keeps only the block
inputs (64 arrays) and the backward recomputes one block at a time (5 more); the weight
gradients (128 matrices of 1/8 array, 16 arrays) are held either way.

Measured as memory_chain measures: each row in a fresh subprocess, glibc mapping every block of
1 MiB or more on its own; NumPy-based rows with ``tracemalloc``, PyTorch by the rise of the peak
resident set size.

Target: chainrule with checkpointing peaks at no more than half of chainrule without.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import libraries
from benchmarks.memory_chain import MMAP_THRESHOLD, _reset_peak_rss, _status_kib
from benchmarks.timing import CheckFailed, Row, WorkloadResult, compare_arrays, unavailable_row

__all__ = ["NAME", "TITLE", "run", "measure", "numpy_by_hand", "LIBRARIES"]

NAME = "memory_checkpoint"
TITLE = "peak memory of forward + backward, 64-block residual MLP, with and without checkpointing"

BLOCKS = 64
BATCH, WIDTH, HIDDEN = 2048, 64, 256
TIMEOUT_S = 300

NUMPY = "NumPy (by hand)"
CHAINRULE = "chainrule"
CHAINRULE_CKPT = "chainrule + checkpoint"
TORCH = "PyTorch (eager)"
TORCH_CKPT = "PyTorch + checkpoint"
LIBRARIES = (NUMPY, CHAINRULE, CHAINRULE_CKPT, TORCH, TORCH_CKPT)
_TRACED = {NUMPY, CHAINRULE, CHAINRULE_CKPT}


def _problem(blocks: int, batch: int) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, WIDTH))
    params = []
    for _ in range(blocks):
        w1 = rng.normal(size=(WIDTH, HIDDEN)) / np.sqrt(WIDTH)
        b1 = rng.normal(size=HIDDEN) * 0.1
        w2 = rng.normal(size=(HIDDEN, WIDTH)) / np.sqrt(HIDDEN) * 0.1
        params.append((w1, b1, w2))
    return x, params


def numpy_by_hand(x: np.ndarray, params: list[tuple[np.ndarray, ...]]) -> list[np.ndarray]:
    """Gradients of ``sum(h ** 2) / 2`` by hand: ``[dx, dW1 of block 0, dW2 of the last block]``.

    >>> x, params = _problem(2, 3)
    >>> [g.shape for g in numpy_by_hand(x, params)]
    [(3, 64), (64, 256), (256, 64)]
    """
    saved = []
    h = x
    for w1, b1, w2 in params:
        a = np.tanh(h @ w1 + b1)
        saved.append((h, a))
        h = h + a @ w2
    g = h
    grads: list[tuple[np.ndarray, np.ndarray]] = []
    for (w1, _, w2), (h_in, a) in zip(reversed(params), reversed(saved)):
        dw2 = a.T @ g
        dz = (g @ w2.T) * (1.0 - a * a)
        dw1 = h_in.T @ dz
        g = g + dz @ w1.T
        grads.append((dw1, dw2))
    return [g, grads[-1][0], grads[0][1]]


def _step_numpy(x0: np.ndarray, params: list[tuple[np.ndarray, ...]], checkpointed: bool) -> Callable[[], list[np.ndarray]]:
    return lambda: numpy_by_hand(x0, params)


def _step_chainrule(x0: np.ndarray, params: list[tuple[np.ndarray, ...]], checkpointed: bool) -> Callable[[], list[np.ndarray]]:
    cr = libraries.load_chainrule()
    x = cr.tensor(x0, requires_grad=True)
    weights = [tuple(cr.tensor(p, requires_grad=True) for p in block) for block in params]

    def make_block(w1, b1, w2):
        def block(h):
            return h + cr.tanh(h @ w1 + b1) @ w2

        return cr.checkpoint(block) if checkpointed else block

    blocks = [make_block(*w) for w in weights]

    def step() -> list[np.ndarray]:
        h = x
        for block in blocks:
            h = block(h)
        (cr.sum(h * h) * 0.5).backward()
        return [x.grad.numpy(), weights[0][0].grad.numpy(), weights[-1][2].grad.numpy()]

    return step


def _step_torch(x0: np.ndarray, params: list[tuple[np.ndarray, ...]], checkpointed: bool) -> Callable[[], list[np.ndarray]]:
    torch = libraries.load_torch()
    from torch.utils.checkpoint import checkpoint

    x = torch.tensor(x0, requires_grad=True)
    weights = [tuple(torch.tensor(p, requires_grad=True) for p in block) for block in params]

    def block(h, w1, b1, w2):
        return h + torch.tanh(h @ w1 + b1) @ w2

    def step() -> list[np.ndarray]:
        h = x
        for w in weights:
            h = checkpoint(block, h, *w, use_reentrant=False) if checkpointed else block(h, *w)
        (h * h).sum().mul(0.5).backward()
        return [x.grad.numpy(), weights[0][0].grad.numpy(), weights[-1][2].grad.numpy()]

    return step


_STEPS = {
    NUMPY: (_step_numpy, False), CHAINRULE: (_step_chainrule, False),
    CHAINRULE_CKPT: (_step_chainrule, True), TORCH: (_step_torch, False), TORCH_CKPT: (_step_torch, True),
}  # fmt: skip


def measure(library: str, blocks: int = BLOCKS, batch: int = BATCH) -> tuple[dict[str, float | None], list[np.ndarray]]:
    """Run one forward + backward of ``library`` in this process; return its peaks and gradients.

    >>> peaks, grads = measure("chainrule + checkpoint", blocks=2, batch=8)
    >>> peaks["traced"] > 0, grads[0].shape
    (True, (8, 64))
    """
    make, checkpointed = _STEPS[library]
    x, params = _problem(blocks, batch)
    step = make(x, params, checkpointed)
    gc.collect()
    traced = library in _TRACED
    if traced:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    rss_ok = _reset_peak_rss()
    rss0 = _status_kib("VmRSS") if rss_ok else None
    grads = step()
    hwm = _status_kib("VmHWM") if rss_ok else None
    peaks: dict[str, float | None] = {"traced": None, "rss": None}
    if traced:
        peaks["traced"] = float(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
    if hwm is not None and rss0 is not None:
        peaks["rss"] = float((hwm - rss0) * 1024)
    return peaks, [np.asarray(g) for g in grads]


def _child(library: str, blocks: int, batch: int, out: str | None) -> int:
    try:
        peaks, grads = measure(library, blocks, batch)
    except Exception as error:  # reported as an n/a row by the parent
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "kind": "n/a"}))
        return 0
    if out:
        np.savez(out, *[np.asarray(g, dtype=np.float64) for g in grads])
    print(json.dumps(peaks))
    return 0


def _measure_in_subprocess(library: str, out: Path) -> dict:
    env = dict(os.environ)
    env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    command = [sys.executable, "-m", "benchmarks.memory_checkpoint", "--measure", library,
               "--threads", str(libraries.THREADS), "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          cwd=libraries.REPO_ROOT, check=False)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}", "kind": "n/a"}
    return json.loads(lines[-1])


def run(quick: bool = False) -> WorkloadResult:
    """Measure each row's peak in its own process; check every gradient against NumPy's.

    ``quick`` changes nothing: one step per row is the measurement.
    """
    x, params = _problem(BLOCKS, BATCH)
    reference = numpy_by_hand(x, params)
    array = BATCH * WIDTH * 8
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="memory_checkpoint_") as tmp:
        for library in LIBRARIES:
            out = Path(tmp) / f"{len(rows)}.npz"
            try:
                report = _measure_in_subprocess(library, out)
            except subprocess.TimeoutExpired:
                rows.append(unavailable_row(library, f"no result within {TIMEOUT_S} s"))
                continue
            if "error" in report:
                rows.append(unavailable_row(library, report["error"], prefix=report.get("kind", "n/a")))
                continue
            try:
                with np.load(out, allow_pickle=False) as saved:
                    grads = [saved[f"arr_{i}"] for i in range(len(reference))]
                for name, got, want in zip(("dx", "dW1[0]", "dW2[-1]"), grads, reference):
                    scale = float(np.max(np.abs(want))) or 1.0
                    compare_arrays(name, got, want, rtol=1e-9, atol=1e-9 * scale)
            except CheckFailed as error:
                rows.append(Row(library, None, f"WRONG: {error}"))
                continue
            traced, rss = report.get("traced"), report.get("rss")
            if library in _TRACED:
                peak = None if traced is None else traced / array
                note = "tracemalloc" + (f"; peak RSS rise {rss / array:.1f} arrays" if rss is not None else "")
            else:
                peak = None if rss is None else rss / array
                note = "peak resident set size rise (VmHWM)"
            if peak is None:
                rows.append(unavailable_row(library, "no memory figure on this platform (needs Linux /proc)"))
                continue
            rows.append(Row(library, peak, note))
    result = WorkloadResult(
        name=NAME, title=TITLE, unit="arrays (peak)", scale=1.0, rows=rows, ratio_to=[CHAINRULE],
        target="chainrule + checkpoint peaks at <= 0.5x chainrule",
    )  # fmt: skip
    plain, ckpt = result.row(CHAINRULE), result.row(CHAINRULE_CKPT)
    if plain and ckpt and plain.seconds is not None and ckpt.seconds is not None:
        ratio = ckpt.seconds / plain.seconds
        result.target_met = ratio <= 0.5
        result.target_line = (
            f"checkpointing saves {plain.seconds - ckpt.seconds:.0f} arrays "
            f"({(1 - ratio) * 100:.0f}% of the peak): {ckpt.seconds:.1f} vs {plain.seconds:.1f} -> "
            f"{'MET' if result.target_met else 'NOT MET'}"
        )
    else:
        result.target_line = "cannot check: a chainrule row is missing"
    result.details.append(
        f"one array = {BATCH} x {WIDTH} float64 = {array / 2**20:.1f} MiB; {BLOCKS} blocks "
        f"h + tanh(h @ W1 + b1) @ W2 (hidden width {HIDDEN}); each row in its own process; "
        "gradients of the input and of two weights checked against NumPy by hand (rtol 1e-9)"
    )
    return result


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_checkpoint",
                                     description="Measure one row (used by run(); or run the workload).")  # fmt: skip
    parser.add_argument("--measure", choices=LIBRARIES, help="measure this row in this process")
    parser.add_argument("--blocks", type=int, default=BLOCKS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the gradients here (.npz)")
    args = parser.parse_args(argv)
    libraries.THREADS = args.threads
    if args.measure:
        return _child(args.measure, args.blocks, args.batch, args.out)
    from benchmarks.run import format_result

    print("\n".join(format_result(run())))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
