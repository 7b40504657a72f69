"""Sample generators shared by the op entries: shapes inside a domain, away from kinks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tests.op_db import Sample

UNARY_SHAPES = [(), (4,), (3, 2), (2, 1, 3)]
BINARY_SHAPES = [((), ()), ((4,), (4,)), ((3, 2), (3, 2)), ((3, 1), (1, 2)), ((2, 3), (3,)), ((), (2, 2))]


def uniform(rng: np.random.Generator, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, size=shape).astype(np.float64)


def away_from(values: np.ndarray, kinks: list[float], margin: float = 0.15) -> np.ndarray:
    """Push values that sit within ``margin`` of a kink off it, so finite differences are valid."""
    out = np.array(values, dtype=np.float64)
    for k in kinks:
        close = np.abs(out - k) < margin
        out = np.where(close, k + np.where(out >= k, margin, -margin) * 2, out)
    return out


def unary(low: float = -2.0, high: float = 2.0, kinks: list[float] | None = None) -> Callable[[np.random.Generator], list[Sample]]:
    def make(rng: np.random.Generator) -> list[Sample]:
        out = []
        for shape in UNARY_SHAPES:
            x = uniform(rng, shape, low, high)
            if kinks:
                x = away_from(x, kinks)
            out.append(Sample((x,), name=f"{shape}"))
        return out

    return make


def binary(low: float = -2.0, high: float = 2.0, low2: float | None = None,
           high2: float | None = None) -> Callable[[np.random.Generator], list[Sample]]:  # fmt: skip
    """Pairs of every broadcasting kind (equal shapes, size-1 axes, missing axes, 0-d)."""

    def make(rng: np.random.Generator) -> list[Sample]:
        out = []
        for sx, sy in BINARY_SHAPES:
            x = uniform(rng, sx, low, high)
            y = uniform(rng, sy, low if low2 is None else low2, high if high2 is None else high2)
            out.append(Sample((x, y), name=f"{sx}x{sy}"))
        return out

    return make


def fixed(*samples: Any) -> Callable[[np.random.Generator], list[Sample]]:
    return lambda rng: list(samples)
