"""memory_chain: peak memory of forward + backward through a long elementwise chain.

200 elementwise ops on 1,000,000 float64 values (8 MB an array), cycling through op_overhead's
sin, *0.9, +0.1, tanh, y*y, neg, exp, cos; the work is the gradient of the chain's sum. Reported
as the peak memory above what existed before the step (the input), in units of "arrays of that
size". The arithmetic does not matter here: what a library keeps for the backward pass does.

What the backward pass must keep: sin and cos their input, tanh and exp their output, y*y its
input (the tanh output, already kept), and nothing for *c, +c and neg; cos's input is exp's
output. That is 3 arrays per 8 ops, 75 for 200 ops, plus the running value, the gradient and a
temporary or two while the backward pass runs: about 78 arrays for hand-written NumPy backprop.

Each library runs in a fresh subprocess (so one library's freed-but-cached memory cannot hide
another's), with glibc told to map every block of 1 MiB or more on its own
(``MALLOC_MMAP_THRESHOLD_``), so freeing an array returns its pages and the resident set size
follows the live arrays. NumPy-based libraries (NumPy by hand, chainrule, HIPS autograd) are
measured with ``tracemalloc`` (NumPy reports its data allocations to it); PyTorch allocates
outside Python's allocator, so its figure is the rise of the peak resident set size (``VmHWM``
after resetting it through ``/proc/self/clear_refs``), which the other rows show in their note.

Target (from the issue): chainrule's peak <= NumPy by hand's (PyTorch ~77, HIPS autograd ~104),
compared to a tenth of an array (chainrule's peak also holds the graph's bookkeeping, about
0.02 arrays here).
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
from benchmarks.op_overhead import _NP_BACKWARD, _NP_FORWARD, CYCLE, _chain_ops
from benchmarks.timing import CheckFailed, Row, WorkloadResult, compare_arrays, unavailable_row

__all__ = ["NAME", "TITLE", "run", "CHAIN", "measure", "numpy_by_hand", "LIBRARIES"]

NAME = "memory_chain"
TITLE = "peak memory of forward + backward, 200 elementwise ops on 1,000,000 float64 values"

N_OPS = 200
SIZE = 1_000_000
CHAIN = tuple(CYCLE[i % len(CYCLE)] for i in range(N_OPS))
MMAP_THRESHOLD = 1 << 20  # bytes; blocks this size or larger get their own mapping
TIMEOUT_S = 300
RESOLUTION = 0.1  # arrays: the target compares peaks rounded to this

NUMPY, CHAINRULE, AUTOGRAD, TORCH = "NumPy (by hand)", "chainrule", "HIPS autograd", "PyTorch (eager)"
LIBRARIES = (NUMPY, CHAINRULE, AUTOGRAD, TORCH)
_TRACED = {NUMPY, CHAINRULE, AUTOGRAD}  # measured with tracemalloc; the others by resident set size


def _input(size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, size)


def numpy_by_hand(x: np.ndarray, chain: tuple[str, ...] = CHAIN) -> np.ndarray:
    """Gradient of sum(chain(x)) by hand-written backprop.

    >>> numpy_by_hand(np.zeros(3), ("sin", "mul_c")).tolist()
    [0.9, 0.9, 0.9]
    """
    saved = []
    y = x
    for name in chain:
        y, keep = _NP_FORWARD[name](y)
        saved.append(keep)
    # y (the chain's output) stays alive through the backward pass, as in the other libraries'
    # steps, where the caller holds the output it called .sum().backward() on.
    g = np.ones_like(x)
    for name in reversed(chain):
        g = _NP_BACKWARD[name](g, saved.pop())
    return g


def _step_numpy(x0: np.ndarray, chain: tuple[str, ...]) -> Callable[[], np.ndarray]:
    x = x0.copy()
    return lambda: numpy_by_hand(x, chain)


def _step_chainrule(x0: np.ndarray, chain: tuple[str, ...]) -> Callable[[], np.ndarray]:
    cr = libraries.load_chainrule()
    ops = _chain_ops(cr.sin, cr.tanh, cr.exp, cr.cos, chain)
    x = cr.tensor(x0.copy(), requires_grad=True)

    def step() -> np.ndarray:
        x.grad = None
        y = x
        for op in ops:
            y = op(y)
        y.sum().backward()
        return x.grad.numpy()

    return step


def _step_autograd(x0: np.ndarray, chain: tuple[str, ...]) -> Callable[[], np.ndarray]:
    autograd = libraries.load_autograd()
    anp = autograd.numpy
    ops = _chain_ops(anp.sin, anp.tanh, anp.exp, anp.cos, chain)

    def chain_sum(x):
        y = x
        for op in ops:
            y = op(y)
        return anp.sum(y)

    grad = autograd.grad(chain_sum)
    x = x0.copy()
    return lambda: np.asarray(grad(x))


def _step_torch(x0: np.ndarray, chain: tuple[str, ...]) -> Callable[[], np.ndarray]:
    torch = libraries.load_torch()
    ops = _chain_ops(torch.sin, torch.tanh, torch.exp, torch.cos, chain)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)

    def step() -> np.ndarray:
        x.grad = None
        y = x
        for op in ops:
            y = op(y)
        y.sum().backward()
        return x.grad.numpy()

    return step


_STEPS = {NUMPY: _step_numpy, CHAINRULE: _step_chainrule, AUTOGRAD: _step_autograd, TORCH: _step_torch}


# ---------------------------------------------------------------- in-process measurement
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current resident set size (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def measure(library: str, size: int = SIZE, n_ops: int = N_OPS) -> tuple[dict[str, float | None], np.ndarray]:
    """Run one forward + backward of ``library`` in this process; return its peaks and gradient.

    The peaks are bytes above what was allocated before the step (the input and the library's
    setup): ``traced`` from tracemalloc (NumPy-based libraries only) and ``rss`` from the peak
    resident set size (Linux; None elsewhere). Run it in a fresh process for clean RSS figures.

    >>> peaks, g = measure("NumPy (by hand)", size=1000, n_ops=16)
    >>> g.shape, peaks["traced"] > 0
    ((1000,), True)
    """
    chain = tuple(CYCLE[i % len(CYCLE)] for i in range(n_ops))
    step = _STEPS[library](_input(size), chain)
    gc.collect()
    traced = library in _TRACED
    if traced:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    rss_ok = _reset_peak_rss()
    rss0 = _status_kib("VmRSS") if rss_ok else None
    grad = step()
    hwm = _status_kib("VmHWM") if rss_ok else None
    peaks: dict[str, float | None] = {"traced": None, "rss": None}
    if traced:
        peaks["traced"] = float(tracemalloc.get_traced_memory()[1] - base)
        tracemalloc.stop()
    if hwm is not None and rss0 is not None:
        peaks["rss"] = float((hwm - rss0) * 1024)
    return peaks, grad


def _child(library: str, size: int, n_ops: int, out: str | None) -> int:
    try:
        peaks, grad = measure(library, size, n_ops)
    except Exception as error:  # reported as an n/a row by the parent
        reason = f"{type(error).__name__}: {error}"
        kind = "pending" if isinstance(error, (AttributeError, NotImplementedError)) else "n/a"
        print(json.dumps({"error": reason, "kind": kind}))
        return 0
    if out:
        np.save(out, np.asarray(grad, dtype=np.float64), allow_pickle=False)
    print(json.dumps(peaks))
    return 0


# ---------------------------------------------------------------- the workload
def _measure_in_subprocess(library: str, size: int, out: Path) -> dict:
    env = dict(os.environ)
    env["MALLOC_MMAP_THRESHOLD_"] = str(MMAP_THRESHOLD)
    command = [sys.executable, "-m", "benchmarks.memory_chain", "--measure", library,
               "--size", str(size), "--threads", str(libraries.THREADS), "--out", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                          cwd=libraries.REPO_ROOT, check=False)  # fmt: skip
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}", "kind": "n/a"}
    return json.loads(lines[-1])


def _arrays(nbytes: float | None, size: int) -> float | None:
    return None if nbytes is None else nbytes / (size * 8)


def run(quick: bool = False) -> WorkloadResult:
    """Measure each library's peak in its own process and compare it with NumPy by hand's.

    ``quick`` changes nothing: one step per library is the measurement.
    """
    size = SIZE
    reference = numpy_by_hand(_input(size))
    scale = float(np.max(np.abs(reference)))
    if not np.all(np.isfinite(reference)) or scale == 0.0:
        raise CheckFailed(f"reference gradient is degenerate: max |g| = {scale}")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="memory_chain_") as tmp:
        for library in LIBRARIES:
            out = Path(tmp) / f"{len(rows)}.npy"
            try:
                report = _measure_in_subprocess(library, size, out)
            except subprocess.TimeoutExpired:
                rows.append(unavailable_row(library, f"no result within {TIMEOUT_S} s"))
                continue
            if "error" in report:
                rows.append(unavailable_row(library, report["error"], prefix=report.get("kind", "n/a")))
                continue
            try:
                grad = np.load(out, allow_pickle=False)
                compare_arrays("gradient", grad, reference, rtol=1e-9, atol=1e-9 * scale)
            except CheckFailed as error:
                rows.append(Row(library, None, f"WRONG: {error}"))
                continue
            traced = _arrays(report.get("traced"), size)
            rss = _arrays(report.get("rss"), size)
            if library in _TRACED:
                peak = traced
                note = f"tracemalloc; peak RSS rise {rss:.1f} arrays" if rss is not None else "tracemalloc"
            else:
                peak = rss
                note = "peak resident set size rise (VmHWM)"
            if peak is None:
                rows.append(unavailable_row(library, "no memory figure on this platform (needs Linux /proc)"))
                continue
            rows.append(Row(library, peak, note))

    result = WorkloadResult(
        name=NAME, title=TITLE, unit="arrays (peak)", scale=1.0, rows=rows,
        ratio_to=[NUMPY, TORCH],
        target="chainrule's peak <= NumPy by hand's",
    )  # fmt: skip
    mine, floor = result.row(CHAINRULE), result.row(NUMPY)
    if mine and floor and mine.seconds is not None and floor.seconds is not None:
        # Compared at RESOLUTION arrays: chainrule's peak also holds its graph's nodes (about
        # 0.15 MB for 200 ops, 0.02 arrays here), which hand-written code has no need for.
        result.target_met = round(mine.seconds / RESOLUTION) <= round(floor.seconds / RESOLUTION)
        result.target_line = (
            f"chainrule {mine.seconds:.2f} arrays vs NumPy by hand {floor.seconds:.2f} "
            f"(compared to {RESOLUTION} array) -> {'MET' if result.target_met else 'NOT MET'}"
        )
    else:
        result.target_line = "cannot check: chainrule or NumPy row missing"
    result.details.append(
        f"one array = {size:,} float64 = {size * 8 / 2**20:.1f} MiB; chain: {N_OPS} ops cycling "
        f"{', '.join(CYCLE)}; the rules must keep 3 arrays per 8 ops ({3 * N_OPS // 8} in all); "
        "every library in its own process; gradients checked against NumPy (rtol 1e-9)"
    )
    return result


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_chain",
                                     description="Measure one library (used by run(); or run the workload).")  # fmt: skip
    parser.add_argument("--measure", choices=LIBRARIES, help="measure this library in this process")
    parser.add_argument("--size", type=int, default=SIZE)
    parser.add_argument("--ops", type=int, default=N_OPS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the gradient here (.npy)")
    args = parser.parse_args(argv)
    libraries.THREADS = args.threads
    if args.measure:
        return _child(args.measure, args.size, args.ops, args.out)
    from benchmarks.run import format_result

    print("\n".join(format_result(run())))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
