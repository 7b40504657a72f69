"""``torch.utils.benchmark``: ``Timer`` and the ``Measurement`` it returns.

``Timer`` runs its statement with Python's ``timeit`` module, as PyTorch's does (``stmt`` and
``setup`` are code strings of the program, executed by ``timeit`` in ``globals``, or callables).
A ``Measurement`` prints in PyTorch's layout: the statement, the time per run in a unit chosen
as PyTorch chooses it, and the number of runs. The times themselves are chainrule's, so they
differ from PyTorch's.

>>> from chainrule import torch
>>> from chainrule.torch.utils.benchmark import Timer
>>> m = Timer(stmt="x + 1", globals={"x": torch.ones(3)}).timeit(10)
>>> m.number_per_run, len(m.times)
(10, 1)
"""

from __future__ import annotations

import math
import statistics
import textwrap
import timeit as _timeit
from collections.abc import Callable
from typing import Any

from chainrule.torch._unsupported import missing_attribute

__all__ = ["Timer", "Measurement", "select_unit"]


def select_unit(t: float) -> tuple[str, float]:
    """The unit PyTorch prints a time of ``t`` seconds in, and its scale.

    >>> from chainrule.torch.utils.benchmark import select_unit
    >>> select_unit(2.5e-5), select_unit(3.0)
    (('us', 1e-06), ('s', 1))
    """
    exponent = math.floor(math.log10(t)) // 3 if t > 0 else -3
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(exponent, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


class Measurement:
    """The result of a ``Timer`` run: ``times`` holds seconds per run, one per measurement.

    >>> from chainrule.torch.utils.benchmark import Measurement
    >>> m = Measurement(100, [0.002], stmt="f(x)")
    >>> m.times, m.median
    ([2e-05], 2e-05)
    >>> print(str(m).splitlines()[1:])
    ['f(x)', '  20.00 us', '  1 measurement, 100 runs , 1 thread']
    """

    def __init__(self, number_per_run: int, raw_times: list[float], stmt: str = "", label: str | None = None,
                 sub_label: str | None = None, description: str | None = None, num_threads: int = 1) -> None:  # fmt: skip
        self.number_per_run = int(number_per_run)
        self.raw_times = [float(t) for t in raw_times]
        self.stmt = stmt
        self.label = label
        self.sub_label = sub_label
        self.description = description
        self.num_threads = int(num_threads)

    @property
    def times(self) -> list[float]:
        """Seconds per run, one entry per measurement."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def _quantile(self, q: float) -> float:
        ordered = sorted(self.times)
        if len(ordered) == 1:
            return ordered[0]
        position = q * (len(ordered) - 1)
        lo = math.floor(position)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)

    @property
    def iqr(self) -> float:
        """Interquartile range of the times (0 for a single measurement)."""
        return self._quantile(0.75) - self._quantile(0.25)

    @property
    def title(self) -> str:
        """The label (and sub-label), else the statement, as PyTorch titles a measurement."""
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" not in self.stmt:
            return self.stmt + (f": {self.sub_label}" if self.sub_label else "")
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n{textwrap.indent(self.stmt, '  ')}"

    def __repr__(self) -> str:
        n = len(self.raw_times)
        unit, scale = select_unit(self.median)
        lines = [
            f"<torch.utils.benchmark.utils.common.Measurement object at {hex(id(self))}>",
            self.title,
        ]
        if self.description:
            lines.append(self.description)
        lines.append(f"  {'Median: ' if n > 1 else ''}{self.median / scale:.2f} {unit}")
        if n >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({self._quantile(0.25) / scale:.2f} to "
                         f"{self._quantile(0.75) / scale:.2f})")  # fmt: skip
        threads = f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        per = "per measurement," if n > 1 else ","
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs {per} {threads}")
        return "\n".join(lines)

    __str__ = __repr__


class Timer:
    """Time a statement (a code string run by Python's ``timeit`` in ``globals``, or a
    callable), as PyTorch's ``torch.utils.benchmark.Timer``.

    >>> from chainrule.torch.utils.benchmark import Timer
    >>> Timer(stmt=lambda: sum(range(10))).timeit(5).number_per_run
    5
    """

    def __init__(self, stmt: str | Callable[[], Any] = "pass", setup: str | Callable[[], Any] = "pass",
                 global_setup: str = "", timer: Callable[[], float] = _timeit.default_timer,
                 globals: dict[str, Any] | None = None, label: str | None = None,  # noqa: A002
                 sub_label: str | None = None, description: str | None = None, env: str | None = None,
                 num_threads: int = 1, language: Any = "python") -> None:  # fmt: skip
        if str(language).lower() not in ("python", "py", "language.python"):
            raise NotImplementedError("Timer: only language='python' is supported by chainrule.torch")
        if global_setup:
            raise NotImplementedError("Timer: global_setup is for C++ statements; not supported by chainrule.torch")
        self._stmt = stmt if isinstance(stmt, str) else getattr(stmt, "__name__", "stmt")
        self._label, self._sub_label, self._description = label, sub_label, description
        self._num_threads = num_threads
        # A copy, as PyTorch's Timer takes: later rebinding of the caller's names is not seen.
        self._timer = _timeit.Timer(stmt, setup, timer, dict(globals) if globals is not None else None)

    def _measurement(self, number: int, raw_times: list[float]) -> Measurement:
        return Measurement(number, raw_times, self._stmt, self._label, self._sub_label, self._description,
                           self._num_threads)  # fmt: skip

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run the statement ``number`` times (after one warm-up run); one measurement."""
        self._timer.timeit(1)
        return self._measurement(number, [self._timer.timeit(number)])

    def repeat(self, repeat: int = -1, number: int = -1) -> Any:
        raise NotImplementedError("Timer.repeat is not implemented in PyTorch either; use timeit or blocked_autorange")

    def blocked_autorange(self, callback: Any = None, min_run_time: float = 0.2) -> Measurement:
        """Measure blocks of runs until ``min_run_time`` seconds have been spent."""
        number = 1
        while True:  # grow the block until one takes at least 0.1 ms, as PyTorch's does
            took = self._timer.timeit(number)
            if took >= 1e-4 or number >= 10**6:
                break
            number *= 10
        raw: list[float] = []
        spent = 0.0
        while spent < min_run_time or not raw:
            t = self._timer.timeit(number)
            if callback is not None:
                callback(number, t)
            raw.append(t)
            spent += t
        return self._measurement(number, raw)

    adaptive_autorange = blocked_autorange


__getattr__ = missing_attribute("torch.utils.benchmark")
