"""PyTorch's CPU random streams: a Mersenne Twister and PyTorch's conversions to floats.

PyTorch's CPU generator is an MT19937 seeded with the classic ``init_genrand(seed)``, the state
that NumPy's legacy seeding builds, so NumPy's ``MT19937`` bit generator yields the same raw
32-bit words. On top of those words this module applies PyTorch's conversions:

- uniform float32: the low 24 bits of one word, times 2**-24; float64: the low 53 bits of a
  64-bit value made of two words (first word high), times 2**-53; then ``x * (to - from) + from``;
- normal, fewer than 16 values (or float64 anything below 16): Box-Muller on two float64 uniforms
  per pair, ``r = sqrt(-2 log(1 - u2))``, ``theta = 2 pi u1``, returning ``r cos(theta)`` and
  keeping ``r sin(theta)`` for the next request (a cache that ``manual_seed`` clears);
- normal, 16 values or more: all uniforms drawn first, then each block of 16 transformed in place
  (the first 8 give ``u1 = 1 - u``, the next 8 ``u2``; cosines land in the first half, sines in
  the second); when the size is not a multiple of 16, the last 16 positions are redrawn and
  transformed again.

float64 results match PyTorch bit for bit. For float32 normals of 16 or more values PyTorch's x86
build uses vectorised approximations of log/sin/cos, so results can differ from it in the last
bits (about 1e-6); they print identically at PyTorch's 4 decimals except, rarely, at a rounding
boundary.
"""

from __future__ import annotations

import math
import random as _pyrandom
import threading
from typing import Any

import numpy as np

__all__ = ["Generator", "default_generator", "DEFAULT_SEED"]

#: The seed PyTorch's default CPU generator starts from when ``manual_seed`` was never called.
DEFAULT_SEED = 67280421310721

_MASK24 = np.uint64((1 << 24) - 1)
_MASK53 = np.uint64((1 << 53) - 1)
_SHIFT32 = np.uint64(32)


class Generator:
    """A random stream with PyTorch's CPU algorithm: ``Generator().manual_seed(42)``.

    >>> from chainrule import torch
    >>> g = torch.Generator().manual_seed(42)
    >>> torch.rand(3, generator=g)
    tensor([0.8823, 0.9150, 0.3829])
    """

    def __init__(self, device: Any = "cpu") -> None:
        self._lock = threading.Lock()
        self._bits = np.random.MT19937()
        self._seed = 0
        self._cached_normal: float | None = None
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self) -> str:
        return "cpu"

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (PyTorch keeps its low 32 bits for the twister)."""
        value = int(seed)
        if not -(1 << 63) <= value < (1 << 64):
            raise RuntimeError(
                f"manual_seed: seed must be within [-0x8000_0000_0000_0000, "
                f"0xffff_ffff_ffff_ffff], got {seed}"
            )
        value %= 1 << 64
        with self._lock:
            self._seed = value
            self._bits._legacy_seeding(value & 0xFFFFFFFF)
            self._cached_normal = None
        return self

    def seed(self) -> int:
        """Seed from a non-deterministic source and return that seed."""
        value = _pyrandom.SystemRandom().getrandbits(63)
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._seed

    def get_state(self) -> dict[str, Any]:
        """A snapshot of the stream (a dict, not PyTorch's byte tensor) for ``set_state``."""
        with self._lock:
            return {"mt19937": self._bits.state, "seed": self._seed, "normal": self._cached_normal}

    def set_state(self, state: dict[str, Any]) -> Generator:
        """Return to a snapshot taken by ``get_state``."""
        with self._lock:
            self._bits.state = state["mt19937"]
            self._seed = state["seed"]
            self._cached_normal = state["normal"]
        return self

    # ------------------------------------------------------------------ raw words
    def _words(self, n: int) -> np.ndarray:
        return self._bits.random_raw(n) if n else np.zeros(0, np.uint64)

    def _words64(self, n: int) -> np.ndarray:
        pairs = self._words(2 * n).reshape(n, 2)
        return (pairs[:, 0] << _SHIFT32) | pairs[:, 1]

    def _unit(self, n: int, dtype: np.dtype) -> np.ndarray:
        """``n`` uniforms in [0, 1) as float64 values, drawn as PyTorch draws ``dtype``."""
        if dtype == np.float64:
            return (self._words64(n) & _MASK53).astype(np.float64) * 2.0**-53
        return (self._words(n) & _MASK24).astype(np.float64) * 2.0**-24

    # ------------------------------------------------------------------ distributions
    def uniform(self, n: int, dtype: np.dtype, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """``n`` samples of U(low, high) in ``dtype`` (float16/32/64), PyTorch's stream."""
        dtype = np.dtype(dtype)
        with self._lock:
            unit = self._unit(n, np.dtype(np.float64) if dtype == np.float64 else dtype)
        # PyTorch casts the bounds to the tensor's type and subtracts there, then scales in
        # double precision.
        lo = dtype.type(low)
        span = dtype.type(dtype.type(high) - lo)
        if low == 0.0 and high == 1.0:
            return unit.astype(dtype)
        return (unit * np.float64(span) + np.float64(lo)).astype(dtype)

    def normal(self, n: int, dtype: np.dtype, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
        """``n`` samples of N(mean, std**2) in ``dtype``, PyTorch's stream."""
        dtype = np.dtype(dtype)
        with self._lock:
            if n >= 16:
                return self._normal_blocks(n, dtype, mean, std)
            out = np.empty(n, dtype=np.float64)
            for i in range(n):
                out[i] = self._normal_one() * std + mean
            return out.astype(dtype)

    def _normal_one(self) -> float:
        cached = self._cached_normal
        if cached is not None:
            self._cached_normal = None
            return cached
        u1, u2 = self._unit(2, np.dtype(np.float64)).tolist()
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        self._cached_normal = radius * math.sin(theta)
        return radius * math.cos(theta)

    def _normal_blocks(self, n: int, dtype: np.dtype, mean: float, std: float) -> np.ndarray:
        work = np.float64 if dtype == np.float64 else np.float32
        data = self._unit(n, dtype).astype(work)
        whole = n - n % 16
        out = np.empty(n, dtype=work)
        if whole:
            out[:whole] = _box_muller_16(data[:whole].reshape(-1, 16), work, mean, std).reshape(-1)
        if n % 16:
            out[whole:] = data[whole:]
            tail = self._unit(16, dtype).astype(work).reshape(1, 16)
            out[n - 16 :] = _box_muller_16(tail, work, mean, std).reshape(-1)
        return out.astype(dtype)

    def randint(self, n: int, low: int, high: int) -> np.ndarray:
        """``n`` integers in [low, high): PyTorch's ``word % range + low``."""
        span = high - low
        if span <= 0:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        with self._lock:
            words = self._words64(n) if span >= 1 << 32 else self._words(n)
        return (words % np.uint64(span)).astype(np.int64) + low


def _box_muller_16(blocks: np.ndarray, work: Any, mean: float, std: float) -> np.ndarray:
    """PyTorch's in-place transform of rows of 16 uniforms into 16 normals."""
    if work is np.float64:
        u1 = 1.0 - blocks[:, :8]
        u2 = blocks[:, 8:]
        radius = np.sqrt(-2.0 * _libm(math.log, u1))
        theta = 2.0 * math.pi * u2
        cos = _libm(math.cos, theta)
        sin = _libm(math.sin, theta)
        return np.concatenate([radius * cos * std + mean, radius * sin * std + mean], axis=1)
    # float32: each step rounded to float32 as PyTorch's float kernel does; the transcendental
    # functions are evaluated in float64 and rounded (correctly rounded float32 results).
    f32 = np.float32
    u1 = (f32(1.0) - blocks[:, :8]).astype(np.float64)
    u2 = blocks[:, 8:].astype(np.float64)
    log = np.log(u1).astype(f32)
    radius = np.sqrt((f32(-2.0) * log).astype(np.float64)).astype(f32)
    theta = (2.0 * math.pi * u2).astype(f32).astype(np.float64)
    cos = np.cos(theta).astype(f32)
    sin = np.sin(theta).astype(f32)
    return np.concatenate(
        [radius * cos * f32(std) + f32(mean), radius * sin * f32(std) + f32(mean)], axis=1
    )


def _libm(fn: Any, values: np.ndarray) -> np.ndarray:
    """Apply a ``math`` function element by element: the C library's results, as PyTorch gets."""
    return np.fromiter((fn(v) for v in values.reshape(-1).tolist()), np.float64, values.size).reshape(values.shape)


default_generator = Generator()
