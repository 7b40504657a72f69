"""``chainrule.fft``: ``numpy.fft``'s names, differentiable. ``fftshift`` and ``ifftshift`` move
entries; the transforms (``fft``, ``rfft``, ``irfft``, their ``2``/``n`` forms, ``hfft``...) take
or give complex tensors, with gradients by JAX's complex convention (see
:mod:`chainrule.ops.fft`).

>>> import chainrule as cr
>>> x = cr.tensor([1., 2., 3., 4.], requires_grad=True)
>>> cr.sum(cr.fft.fftshift(x) * cr.tensor([1., 0., 0., 0.])).backward()
>>> x.grad
tensor([0., 0., 1., 0.], dtype=float64)
"""

from __future__ import annotations

from chainrule.ops.fft import (
    fft,
    fft2,
    fftn,
    fftshift,
    hfft,
    ifft,
    ifft2,
    ifftn,
    ifftshift,
    ihfft,
    irfft,
    irfft2,
    irfftn,
    rfft,
    rfft2,
    rfftn,
)

__all__ = [
    "fftshift", "ifftshift", "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2",
    "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn",
]  # fmt: skip
