"""Entries for ops/fft.py: fftshift and ifftshift (rolls) over all or some axes, odd and even
lengths. The complex transforms refuse (see tests/test_linalg_numpy.py)."""

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
