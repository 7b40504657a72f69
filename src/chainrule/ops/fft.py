"""``numpy.fft`` for real tensors: the shifts (``fftshift``, ``ifftshift``), exact composites of
``roll``; and the transforms themselves, which refuse clearly.

Every discrete Fourier transform (``fft``, ``rfft``, ``irfft``...) takes or returns complex
arrays, and chainrule tensors are real (float32/float64): the engine records and differentiates
real values only. Rather than return something that is not NumPy's result, or drop the
imaginary part silently, those functions raise ``NotImplementedError`` naming the way out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor
from chainrule.ops._api import as_operand, ensure_tensor
from chainrule.ops.shape import roll_p

__all__: list[str] = []  # the public names live in ``chainrule.fft``, as in NumPy

TRANSFORMS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
              "fftn", "ifftn", "rfftn", "irfftn")  # fmt: skip


def _shift_axes(x: Any, axes: Any, op: str) -> tuple[int, ...]:
    nd = x.ndim
    if axes is None:
        return tuple(range(nd))
    seq = (axes,) if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool) else tuple(axes)
    out = []
    for a in seq:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axes must be an int or a sequence of ints, got {axes!r}")
        if not -nd <= a < nd:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {nd} dimensions")
        out.append(int(a) % nd)
    return tuple(out)


def _shift(x: Any, axes: Any, op: str, sign: int) -> Tensor:
    x = as_operand(x)
    ax = _shift_axes(x, axes, op)
    if not ax:
        return ensure_tensor(x)
    shifts = tuple(sign * (int(x.shape[a]) // 2) for a in ax)
    return ensure_tensor(roll_p(x, shift=shifts, axis=ax))


def fftshift(x: Any, axes: Any = None) -> Tensor:
    """Move the zero-frequency entry to the centre: a roll by ``n // 2`` along each of ``axes``
    (every axis when None), as ``numpy.fft.fftshift``.

    >>> import chainrule as cr
    >>> cr.fft.fftshift(cr.tensor([0., 1., 2., -3., -2., -1.]))
    tensor([-3., -2., -1.,  0.,  1.,  2.], dtype=float64)
    """
    return _shift(x, axes, "fftshift", 1)


def ifftshift(x: Any, axes: Any = None) -> Tensor:
    """The inverse of ``fftshift`` (a roll by ``-(n // 2)``; they differ for odd lengths), as
    ``numpy.fft.ifftshift``.

    >>> import chainrule as cr
    >>> cr.fft.ifftshift(cr.fft.fftshift(cr.arange(5.0)))
    tensor([0., 1., 2., 3., 4.], dtype=float64)
    """
    return _shift(x, axes, "ifftshift", -1)


def _refuse(name: str) -> Any:
    def transform(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"fft.{name}: a Fourier transform's input or result is complex, and chainrule tensors "
            "are real (float32/float64), so chainrule.fft offers only fftshift and ifftshift. "
            f"For a value without gradient use numpy.fft.{name}(x.numpy()); for a differentiable "
            "real spectrum, write the transform as a product with cos/sin matrices (cr.matmul)."
        )

    transform.__name__ = transform.__qualname__ = name
    transform.__doc__ = (
        f"``numpy.fft.{name}``: not supported (complex values); raises ``NotImplementedError``.\n\n"
        ">>> import chainrule as cr\n"
        f">>> cr.fft.{name}(cr.ones(4))\n"
        "Traceback (most recent call last):\n"
        "    ...\n"
        f"NotImplementedError: fft.{name}: a Fourier transform's input or result is complex, and "
        "chainrule tensors are real (float32/float64), so chainrule.fft offers only fftshift and "
        f"ifftshift. For a value without gradient use numpy.fft.{name}(x.numpy()); for a "
        "differentiable real spectrum, write the transform as a product with cos/sin matrices "
        "(cr.matmul).\n"
    )
    return transform


REFUSED = {name: _refuse(name) for name in TRANSFORMS}
