"""Entries for ops/fft.py: fftshift and ifftshift (rolls) over all or some axes, odd and even
lengths; the transforms, read out as real values; real, imag, conj, angle and abs of complex values."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from tests.op_db import OpInfo, Sample
from tests.op_entries._samples import uniform


def _samples(rng):
    return [Sample((uniform(rng, s, -1, 1),), name=str(s)) for s in [(5,), (4, 3), (2, 3, 5)]]


E = OpInfo
ENTRIES = [
    E("fftshift", cr.fft.fftshift, np.fft.fftshift, _samples, ("roll",)),
    E("ifftshift", cr.fft.ifftshift, np.fft.ifftshift, _samples, ("roll",)),
    E("fftshift_axes", lambda x: cr.fft.fftshift(x, axes=-1), lambda x: np.fft.fftshift(x, axes=-1), _samples,
      ("roll",)),
    E("ifftshift_axes", lambda x: cr.fft.ifftshift(x, axes=(0,)), lambda x: np.fft.ifftshift(x, axes=(0,)),
      _samples, ("roll",)),
]


# ---------------------------------------------------------------- the transforms
# The op table checks real functions of real inputs, so each transform is composed with a real
# linear read-out of its complex result that sees both parts, and a complex input is built from
# two real ones: first and second order, both modes, against finite differences in each part.
def _read(y):
    return cr.real(y) * 1.3 + cr.imag(y) * 0.7


def _read_np(y):
    return np.real(y) * 1.3 + np.imag(y) * 0.7


def _complex_samples(rng):
    return [Sample((uniform(rng, s, -1, 1), uniform(rng, s, -1, 1)), name=str(s))
            for s in [(6,), (4, 5), (2, 3, 4)]]  # fmt: skip


def _real_samples(rng):
    return [Sample((uniform(rng, s, -1, 1),), name=str(s)) for s in [(6,), (5,), (4, 5), (2, 3, 4)]]


def _c2c(name, kwargs):
    def op(x, y):
        return _read(getattr(cr.fft, name)(x + y * 1j, **kwargs))

    def ref(x, y):
        return _read_np(getattr(np.fft, name)(x + y * 1j, **kwargs))

    return op, ref


def _r2c(name, kwargs):
    return (lambda x: _read(getattr(cr.fft, name)(x, **kwargs)),
            lambda x: _read_np(getattr(np.fft, name)(x, **kwargs)))


def _c2r(name, kwargs):
    return (lambda x, y: getattr(cr.fft, name)(x + y * 1j, **kwargs),
            lambda x, y: getattr(np.fft, name)(x + y * 1j, **kwargs))


_PRIMS = {"c2c": ("fft_c2c", "real", "imag", "mul", "add"), "r2c": ("fft_r2c", "real", "imag"),
          "c2r": ("fft_c2r", "mul", "add")}
for _kind, _name, _kw in [
    ("c2c", "fft", {}), ("c2c", "fft", {"n": 4, "norm": "ortho"}), ("c2c", "fft", {"n": 8, "axis": 0}),
    ("c2c", "ifft", {}), ("c2c", "ifft", {"norm": "forward", "n": 3}), ("c2c", "fft2", {}),
    ("c2c", "ifftn", {"s": (3, 7), "axes": (-2, -1)}), ("c2c", "fftn", {"axes": (0,), "norm": "ortho"}),
    ("r2c", "rfft", {}), ("r2c", "rfft", {"n": 5, "norm": "ortho"}), ("r2c", "rfft", {"n": 9, "axis": 0}),
    ("r2c", "rfft2", {}), ("r2c", "rfftn", {"s": (3, 7), "axes": (-2, -1)}), ("r2c", "ihfft", {"norm": "forward"}),
    ("c2r", "irfft", {}), ("c2r", "irfft", {"n": 7, "norm": "ortho"}), ("c2r", "irfft", {"n": 4}),
    ("c2r", "irfft2", {}), ("c2r", "irfftn", {"s": (5, 5), "axes": (-2, -1)}), ("c2r", "hfft", {"norm": "forward"}),
    ("c2r", "hfft", {"n": 5}),
]:
    _op, _ref = {"c2c": _c2c, "r2c": _r2c, "c2r": _c2r}[_kind](_name, _kw)
    _label = _name + "".join(f"_{k}{v}" for k, v in _kw.items()).replace(" ", "").replace(",", "x")
    _samples_for = _real_samples if _kind == "r2c" else _complex_samples
    if _name.endswith(("2", "n")) or "axis" in _kw:
        # (the 1-d samples have no second axis)
        _samples_for = {_real_samples: lambda rng: _real_samples(rng)[2:],
                        _complex_samples: lambda rng: _complex_samples(rng)[1:]}[_samples_for]  # fmt: skip
    _prims = _PRIMS[_kind] + (("conj",) if _name in ("hfft", "ihfft") else ()) + (("pad",) if set(_kw) & {"n", "s"} else ())
    ENTRIES.append(E(f"fft_{_label}", _op, _ref, _samples_for, _prims))


# ---------------------------------------------------------------- real, imag, conj, angle, abs of complex
def _z_samples(rng):
    return [Sample((uniform(rng, s, 0.3, 1.5) * rng.choice([-1, 1], size=s),
                    uniform(rng, s, 0.3, 1.5) * rng.choice([-1, 1], size=s)), name=str(s))
            for s in [(), (4,), (3, 2)]]  # fmt: skip


ENTRIES += [
    E("complex_real_imag", lambda x, y: cr.real((x + y * 1j) ** 2) + cr.imag(cr.exp(x + y * 1j)),
      lambda x, y: np.real((x + y * 1j) ** 2) + np.imag(np.exp(x + y * 1j)), _z_samples,
      ("real", "imag", "pow", "exp")),
    E("complex_conj", lambda x, y: _read(cr.conj(x + y * 1j) * (x + y * 1j) * (x - y * 2j)),
      lambda x, y: _read_np(np.conj(x + y * 1j) * (x + y * 1j) * (x - y * 2j)), _z_samples, ("conj",)),
    E("complex_abs", lambda x, y: cr.abs(x + y * 1j), lambda x, y: np.abs(x + y * 1j), _z_samples, ("abs",)),
    E("complex_angle", lambda x, y: cr.angle(x + y * 1j), lambda x, y: np.angle(x + y * 1j), _z_samples,
      ("angle",)),
    E("complex_angle_deg", lambda x, y: cr.angle(x + y * 1j, deg=True), lambda x, y: np.angle(x + y * 1j, deg=True),
      _z_samples, ("angle",)),
]
