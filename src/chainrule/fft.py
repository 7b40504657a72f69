"""``chainrule.fft``: ``numpy.fft``'s names. ``fftshift`` and ``ifftshift`` are differentiable;
the transforms (``fft``, ``rfft``, ``irfft``, their ``2``/``n`` forms...) involve complex values,
which chainrule tensors do not hold, and raise ``NotImplementedError`` with the way out.

>>> import chainrule as cr
>>> x = cr.tensor([1., 2., 3., 4.], requires_grad=True)
>>> cr.sum(cr.fft.fftshift(x) * cr.tensor([1., 0., 0., 0.])).backward()
>>> x.grad
tensor([0., 0., 1., 0.], dtype=float64)
"""

from __future__ import annotations

from chainrule.ops.fft import REFUSED, fftshift, ifftshift

fft = REFUSED["fft"]
ifft = REFUSED["ifft"]
rfft = REFUSED["rfft"]
irfft = REFUSED["irfft"]
hfft = REFUSED["hfft"]
ihfft = REFUSED["ihfft"]
fft2 = REFUSED["fft2"]
ifft2 = REFUSED["ifft2"]
rfft2 = REFUSED["rfft2"]
irfft2 = REFUSED["irfft2"]
fftn = REFUSED["fftn"]
ifftn = REFUSED["ifftn"]
rfftn = REFUSED["rfftn"]
irfftn = REFUSED["irfftn"]

__all__ = [
    "fftshift", "ifftshift", "fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2",
    "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn",
]  # fmt: skip
