"""PyTorch's CPU random streams: a Mersenne Twister and PyTorch's conversions to floats.

PyTorch's CPU generator is an MT19937 seeded with the classic ``init_genrand(seed)``; that state
is built here and handed to NumPy's ``MT19937`` bit generator, which then yields the same raw
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

The results match PyTorch bit for bit. For float32 normals of 16 or more values this means
following PyTorch's x86 build (AVX2 and newer), which evaluates log and sin/cos with vectorised
single-precision Cephes polynomials and fused multiply-adds; PyTorch builds without those kernels
(ARM, very old x86) use the C library's functions and can differ from it in the last bit.
"""

from __future__ import annotations

import math
import random as _pyrandom
import threading
from typing import Any

import numpy as np

__all__ = ["Generator", "default_generator", "DEFAULT_SEED"]

#: The seed the default stream starts from when ``manual_seed`` was never called: older PyTorch's
#: fixed default. (PyTorch 2.13 seeds its default generator randomly at start-up; the dialect
#: keeps a fixed start so that unseeded runs repeat.)
DEFAULT_SEED = 67280421310721

_MASK24 = np.uint64((1 << 24) - 1)
_MASK53 = np.uint64((1 << 53) - 1)
_SHIFT32 = np.uint64(32)


def _init_genrand(seed: int) -> dict[str, Any]:
    """The MT19937 state of the classic ``init_genrand(seed)``, for NumPy's public ``state``."""
    key = np.empty(624, dtype=np.uint32)
    word = seed & 0xFFFFFFFF
    key[0] = word
    for i in range(1, 624):
        word = (1812433253 * (word ^ (word >> 30)) + i) & 0xFFFFFFFF
        key[i] = word
    # pos = 624: the first draw regenerates the whole block, as PyTorch's generator does.
    return {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}


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
            self._bits.state = _init_genrand(value & 0xFFFFFFFF)
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
    f32 = np.float32
    u1 = f32(1.0) - blocks[:, :8]
    u2 = blocks[:, 8:]
    radius = np.sqrt(f32(-2.0) * _log_f32(u1))
    sin, cos = _sincos_f32(f32(2.0 * math.pi) * u2)
    std32, mean32 = f32(std), f32(mean)
    return np.concatenate([_fma(radius * cos, std32, mean32), _fma(radius * sin, std32, mean32)], axis=1)


# PyTorch's x86 build transforms float32 blocks with vectorised single-precision log and
# sin/cos: the Cephes polynomials, evaluated with fused multiply-adds. These reproduce that
# arithmetic step by step so that the results match bit for bit.
_LOG_POLY = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
             1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
             3.3333331174e-1)  # fmt: skip
_COS_POLY = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)
_SIN_POLY = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
_PI4_PARTS = (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8)


def _fma(a: Any, b: Any, c: Any) -> np.ndarray:
    """float32 ``a * b + c`` with one rounding (the product of two float32 values is exact in
    float64)."""
    wide = np.asarray(a, np.float32).astype(np.float64) * np.float64(np.float32(b)) if np.isscalar(b) \
        else np.asarray(a, np.float32).astype(np.float64) * np.asarray(b, np.float32).astype(np.float64)  # fmt: skip
    return (wide + np.asarray(c, np.float32).astype(np.float64)).astype(np.float32)


def _log_f32(x: np.ndarray) -> np.ndarray:
    f32 = np.float32
    x = np.maximum(x, f32(1.17549435e-38)).astype(f32)
    bits = x.view(np.int32)
    exponent = ((bits >> 23) - 0x7F).astype(f32) + f32(1.0)
    mantissa = ((bits & ~np.int32(0x7F800000)) | f32(0.5).view(np.int32)).view(f32)  # in [0.5, 1)
    small = mantissa < f32(0.707106781186547524)
    exponent = exponent - np.where(small, f32(1.0), f32(0.0))
    x = (mantissa - f32(1.0)) + np.where(small, mantissa, f32(0.0))
    z = x * x
    y = np.full_like(x, f32(_LOG_POLY[0]))
    for c in _LOG_POLY[1:]:
        y = _fma(y, x, f32(c))
    y = _fma(y * x, z, exponent * f32(-2.12194440e-4))
    y = _fma(z, f32(-0.5), y)
    return _fma(exponent, f32(0.693359375), x + y)


def _sincos_f32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f32 = np.float32
    negative = x < 0
    x = np.abs(x)
    octant = (x * f32(1.27323954473516)).astype(np.int32)
    octant = (octant + 1) & ~1
    y = octant.astype(f32)
    for part in _PI4_PARTS:
        x = _fma(y, f32(part), x)
    sin_negative = negative ^ ((octant & 4) != 0)
    cos_negative = ((~(octant - 2)) & 4) != 0
    use_sin_poly = (octant & 2) == 0
    z = x * x
    yc = np.full_like(x, f32(_COS_POLY[0]))
    for c in _COS_POLY[1:]:
        yc = _fma(yc, z, f32(c))
    yc = _fma(yc * z, z, -(z * f32(0.5))) + f32(1.0)
    ys = np.full_like(x, f32(_SIN_POLY[0]))
    for c in _SIN_POLY[1:]:
        ys = _fma(ys, z, f32(c))
    ys = _fma(ys * z, x, x)
    sin = np.where(use_sin_poly, ys, yc)
    cos = np.where(use_sin_poly, yc, ys)
    return np.where(sin_negative, -sin, sin), np.where(cos_negative, -cos, cos)


def _libm(fn: Any, values: np.ndarray) -> np.ndarray:
    """Apply a ``math`` function element by element: the C library's results, as PyTorch gets."""
    return np.fromiter((fn(v) for v in values.reshape(-1).tolist()), np.float64, values.size).reshape(values.shape)


default_generator = Generator()
