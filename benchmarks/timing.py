"""Shared timing and thread-pinning helpers for the benchmark runner.

This module imports nothing heavy at import time: ``pin_threads`` must run before NumPy, PyTorch or
JAX are imported, because OpenBLAS, MKL, OpenMP and XLA size their thread pools when they load.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "THREAD_ENV_VARS", "Row", "Timing", "WorkloadResult", "pin_threads", "limit_loaded_pools",
    "measure", "timed_row", "unavailable_row", "CheckFailed", "run_candidate", "compare_arrays",
    "Contention", "CONTENTION_LIMIT",
]  # fmt: skip

# Every variable a BLAS / OpenMP runtime in this stack reads for its pool size.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
)  # fmt: skip

_THREADPOOL_LIMITER: object | None = None
SETTLE_SECONDS = 0.2  # idle pause before each row is timed
CONTENTION_LIMIT = 0.05  # share of the machine's CPU other processes may take during a timing
ATTEMPTS = {True: 2, False: 3}  # timings per row at most (quick, full) while others are busy


def pin_threads(threads: int) -> str:
    """Pin every library to ``threads`` threads; call before importing NumPy, PyTorch or JAX.

    Sets the BLAS/OpenMP environment variables and, where the process may run on more CPUs than
    ``threads``, restricts its CPU affinity to the first ``threads`` of them. XLA has no flag for
    its intra-op pool size (it sizes the pool from the CPUs the process may use), so the affinity
    mask is what caps JAX; it caps everyone else the same way. Returns a one-line description.

    >>> import os
    >>> desc = pin_threads(2)
    >>> os.environ["OMP_NUM_THREADS"]
    '2'
    """
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    # A single XLA CPU device; Eigen's multithreading stays on so JAX gets the same pool as others.
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=true").strip()
    affinity = "affinity unchanged"
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > threads:
            os.sched_setaffinity(0, cpus[:threads])
            affinity = f"affinity pinned to CPUs {cpus[:threads]} of {len(cpus)}"
        else:
            affinity = f"process may use {len(cpus)} CPU(s): {cpus}"
    return f"{threads} threads per library ({affinity})"


def limit_loaded_pools(threads: int) -> str:
    """Cap the thread pools of libraries already loaded (threadpoolctl), for belt and braces.

    >>> isinstance(limit_loaded_pools(2), str)
    True
    """
    global _THREADPOOL_LIMITER
    try:
        import threadpoolctl
    except ImportError:
        return "threadpoolctl not installed (environment variables only)"
    _THREADPOOL_LIMITER = threadpoolctl.threadpool_limits(limits=threads)
    return f"threadpoolctl {threadpoolctl.__version__} limits={threads}"


@dataclass
class Timing:
    """Seconds per call, one sample per batch of ``number`` back-to-back calls."""

    per_call: list[float]
    number: int

    @property
    def median(self) -> float:
        return statistics.median(self.per_call)

    @property
    def best(self) -> float:
        return min(self.per_call)


def measure(
    fn: Callable[[], object],
    *,
    min_samples: int = 15,
    min_time: float = 1.0,
    max_samples: int = 2000,
    warmup: int = 3,
    sample_time: float = 50e-6,
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then many short samples.

    Each sample times ``number`` back-to-back calls, ``number`` being the fewest that last at
    least ``sample_time`` (one call, for anything slower than that), so the clock's own cost is
    negligible. Sampling continues until there are ``min_samples`` samples and ``min_time``
    seconds of them, or ``max_samples``. Short samples make the median robust: a pause caused by
    another process (or a collection) spoils one sample, not a whole repeat. The garbage collector
    stays enabled, so a library that builds reference cycles pays for collecting them.

    >>> t = measure(lambda: sum(range(100)), min_samples=3, min_time=0.001, warmup=1)
    >>> len(t.per_call) >= 3 and t.best <= t.median
    True
    """
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    number = 1
    while True:  # calibration (doubles as extra warm-up)
        start = clock()
        for _ in range(number):
            fn()
        elapsed = clock() - start
        if elapsed >= sample_time or number >= 1_000_000:
            break
        number = number * 10 if elapsed <= 0 else max(number + 1, int(number * 1.5 * sample_time / elapsed))
    gc.collect()
    per_call: list[float] = []
    total = 0.0
    while len(per_call) < max_samples and (len(per_call) < min_samples or total < min_time):
        start = clock()
        for _ in range(number):
            fn()
        elapsed = clock() - start
        total += elapsed
        per_call.append(elapsed / number)
    return Timing(per_call=per_call, number=number)


@dataclass
class Row:
    """One library's line in a workload's table.

    ``seconds`` is the time per unit of work (per op, per step), ``None`` when the library could
    not run; ``note`` then says why ("n/a: ...", "pending: ..."), otherwise it is extra detail.
    """

    library: str
    seconds: float | None
    note: str = ""
    best: float | None = None  # the fastest sample, per unit of work: a bound on what an idle machine gives


@dataclass
class WorkloadResult:
    """What a workload hands the runner: its rows, how to scale them, and its target check."""

    name: str
    title: str
    unit: str  # display unit, e.g. "µs/op"
    scale: float  # seconds -> display unit
    rows: list[Row]
    ratio_to: list[str]  # libraries whose time the ratio columns divide by
    target: str  # the target in words
    target_met: bool | None = None  # None: could not be checked (a row is missing)
    target_line: str = ""
    details: list[str] = field(default_factory=list)

    def row(self, library: str) -> Row | None:
        for row in self.rows:
            if row.library == library:
                return row
        return None


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat), or None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Contention:
    """How much of the machine's CPU other processes took since this object was made.

    On a 2-core machine a busy neighbour stalls two-threaded BLAS badly, so the runner re-times
    rows that ran under contention and marks the ones that stayed contended.

    >>> share = Contention().others_share()
    >>> share is None or share >= -1.0
    True
    """

    def __init__(self) -> None:
        self.machine = _busy_seconds()
        self.own = sum(os.times()[:2])
        self.wall = time.perf_counter()

    def others_share(self) -> float | None:
        machine = _busy_seconds()
        if machine is None or self.machine is None:
            return None
        wall = time.perf_counter() - self.wall
        others = (machine - self.machine) - (sum(os.times()[:2]) - self.own)
        return others / max(wall * (os.cpu_count() or 1), 1e-9)


def timed_row(library: str, fn: Callable[[], object], quick: bool, note: str = "",
              per_call_units: int = 1) -> Row:
    """Measure ``fn`` and return its row, time divided by ``per_call_units`` (e.g. ops per call).

    When other processes took more than ``CONTENTION_LIMIT`` of the CPUs during the timing, the
    row is timed again (up to ``ATTEMPTS``) and the least contended attempt kept; if even that one
    was contended, the note says "busy N%".

    >>> timed_row("noop", lambda: None, quick=True).seconds > 0
    True
    """
    best_attempt: tuple[float, Timing] | None = None
    for _ in range(ATTEMPTS[quick]):
        # Let thread pools left spinning by the previous row (OpenMP, XLA, OpenBLAS) go to sleep.
        time.sleep(SETTLE_SECONDS)
        contention = Contention()
        if quick:
            timing = measure(fn, min_samples=5, min_time=0.15, warmup=2)
        else:
            timing = measure(fn, min_samples=15, min_time=1.5, warmup=5)
        share = contention.others_share()
        share = 0.0 if share is None else max(share, 0.0)
        if best_attempt is None or share < best_attempt[0]:
            best_attempt = (share, timing)
        if share < CONTENTION_LIMIT:
            break
    share, timing = best_attempt
    if share >= CONTENTION_LIMIT:
        note = f"busy {100 * share:.0f}%" + (f"; {note}" if note else "")
    return Row(library, timing.median / per_call_units, note, timing.best / per_call_units)


def unavailable_row(library: str, error: BaseException | str, prefix: str = "n/a") -> Row:
    """A row for a library that cannot run here, naming the reason.

    >>> unavailable_row("JAX", ImportError("No module named 'jax'")).note
    "n/a: ImportError: No module named 'jax'"
    """
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    reason = " ".join(str(reason).split())
    if len(reason) > 90:
        reason = reason[:87] + "..."
    return Row(library, None, f"{prefix}: {reason}")


class CheckFailed(AssertionError):
    """A library computed a different result from the reference: its time would be meaningless."""


def run_candidate(
    library: str,
    setup: Callable[[], Callable[[], object]],
    check: Callable[[Callable[[], object]], None],
    *,
    quick: bool,
    per_call_units: int = 1,
    note: str = "",
    pending_on: tuple[type[BaseException], ...] = (),
) -> Row:
    """Set up one library, check its result against the reference, then time it.

    ``setup()`` builds the timed callable (imports, data conversion, compilation happen here, not
    in the timing). ``check(fn)`` runs it and raises ``CheckFailed`` if the result is wrong. A
    failure in ``setup`` or the first call gives an "n/a: <reason>" row, or "pending: <reason>"
    for the exception types in ``pending_on`` (features not written yet); a failed check gives a
    "WRONG: ..." row, which the runner reports as a failure.

    >>> def check(fn):
    ...     if fn() != 2:
    ...         raise CheckFailed("expected 2")
    >>> run_candidate("ok", lambda: (lambda: 1 + 1), check, quick=True).seconds > 0
    True
    >>> run_candidate("bad", lambda: (lambda: 3), check, quick=True).note
    'WRONG: expected 2'
    """
    try:
        fn = setup()
        check(fn)
    except CheckFailed as error:
        return Row(library, None, f"WRONG: {error}")
    except pending_on as error:
        return unavailable_row(library, _short_reason(error), prefix="pending")
    except Exception as error:  # any failure to run is reported in the table, not raised
        return unavailable_row(library, error)
    return timed_row(library, fn, quick, note=note, per_call_units=per_call_units)


def _short_reason(error: BaseException) -> str:
    if isinstance(error, AttributeError) and getattr(error, "name", None):
        return f"{error.name} ({type(error).__name__}: {error})"
    return f"{type(error).__name__}: {error}"


def compare_arrays(name: str, got: object, want: object, *, rtol: float, atol: float) -> None:
    """Raise ``CheckFailed`` naming the worst element if ``got`` is not close to ``want``.

    >>> import numpy as np
    >>> compare_arrays("g", np.ones(3), np.ones(3), rtol=1e-9, atol=0.0)
    >>> compare_arrays("g", np.ones(3), np.zeros(3), rtol=1e-9, atol=0.0)
    Traceback (most recent call last):
    ...
    benchmarks.timing.CheckFailed: g differs from the reference: max |diff| 1 (atol 0, rtol 1e-09)
    """
    import numpy as np

    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise CheckFailed(f"{name} has shape {got.shape}, the reference {want.shape}")
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        diff = float(np.max(np.abs(got - want)))
        raise CheckFailed(
            f"{name} differs from the reference: max |diff| {diff:.3g} (atol {atol:.3g}, rtol {rtol:.3g})"
        )
