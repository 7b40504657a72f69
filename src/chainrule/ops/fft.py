"""``numpy.fft`` for chainrule tensors: the shifts (``fftshift``, ``ifftshift``), exact composites
of ``roll``, and the discrete Fourier transforms, built on three primitives:

- ``fft_c2c``: the complex transform over some axes (``fftn``/``ifftn``, unnormalized or not);
- ``fft_r2c``: the transform of a real input along one axis, keeping the ``n // 2 + 1``
  non-negative frequencies (``rfft``);
- ``fft_c2r``: its inverse, a Hermitian spectrum to a real signal of length ``n`` (``irfft``);

with zero-padding or cropping to the requested lengths done by ``pad`` beforehand, as NumPy does.

Gradients follow JAX's complex convention (see :mod:`chainrule.ops.complex`): the VJP of a
complex-linear map is its transpose. The DFT matrix is symmetric, so the VJP of ``fft_c2c`` is
``fft_c2c`` itself with the same settings; that of ``fft_r2c`` is the real part of the full
transform of the cotangent zero-padded to ``n``; ``fft_c2r`` is only real-linear (it ignores the
imaginary parts of the zero and Nyquist frequencies), and its VJP is ``w * conj(rfft(g))``, with
``w`` the inverse transform's scale times 1 at those two frequencies and 2 elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops._api import as_operand, ensure_tensor
from chainrule.ops._like import const_like, fft_ns, np_dtype
from chainrule.ops.binary import mul_p
from chainrule.ops.complex import conj_p, real_p
from chainrule.ops.shape import pad_p, roll_p

__all__: list[str] = []  # the public names live in ``chainrule.fft``, as in NumPy


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


_NORMS = ("backward", "ortho", "forward")


def _check_norm(norm: Any, op: str) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise ValueError(f"{op}: norm must be None, 'backward', 'ortho' or 'forward', got {norm!r}")
    return str(norm)


def _swap_norm(norm: str) -> str:
    # hfft/ihfft are irfft/rfft of the conjugate with the scaling on the other side.
    return {"backward": "forward", "forward": "backward"}.get(norm, norm)


# ---------------------------------------------------------------- the primitives
# On another library's arrays the forwards use the array API's optional fft extension (``xp.fft``),
# which takes complex input for the complex transforms: a real input is cast first, as NumPy does.
def _c2c_impl(x: Any, *, axes: tuple[int, ...], norm: str, inverse: bool, xp: Any = np) -> Any:
    if xp is np:
        return (np.fft.ifftn if inverse else np.fft.fftn)(x, axes=axes, norm=norm)
    ns = fft_ns(xp, "ifftn" if inverse else "fftn")
    if dtype_kind(x.dtype) != "c":
        x = xp.astype(x, xp.complex64 if np_dtype(x.dtype) == np.float32 else xp.complex128)
    return (ns.ifftn if inverse else ns.fftn)(_whole_along(x, axes), axes=axes, norm=norm)


def _whole_along(x: Any, axes: Any) -> Any:
    """Dask transforms only along an axis held in one chunk: rechunk those axes (a padded
    cotangent, a sliced input come in several)."""
    rechunk = getattr(x, "rechunk", None)
    if rechunk is None:
        return x
    return rechunk({a % len(x.shape): -1 for a in axes})


fft_c2c_p = Primitive("fft_c2c", _c2c_impl, nin=1, saves=(), grad_fn_name="FftC2CBackward0",
                      batching=("axis", "axes"), complex_ok=True)  # fmt: skip
# The (inverse) DFT matrix is symmetric, and so is a product of them over several axes: the
# transpose the convention asks for is the transform itself. A real input takes the real part
# (the engine's cast back to the input's dtype).
fft_c2c_p.def_vjp(
    lambda g, ans, x, axes, norm, inverse: fft_c2c_p(g, axes=axes, norm=norm, inverse=inverse)
).def_linear()


def _r2c_impl(x: Any, *, axis: int, norm: str, xp: Any = np) -> Any:
    if xp is np:
        return np.fft.rfft(x, axis=axis, norm=norm)
    return fft_ns(xp, "rfft").rfft(_whole_along(x, (axis,)), axis=axis, norm=norm)


def _r2c_vjp(g: Any, ans: Any, x: Any, axis: int, norm: str) -> Any:
    # rfft = (the first n//2 + 1 rows of) the DFT: the transpose pads the cotangent with zeros
    # to n and applies the (symmetric) DFT; the input is real, so its cotangent is the real part.
    n = x.shape[axis]
    m = g.shape[axis]
    widths = tuple((0, n - m) if i == axis else (0, 0) for i in range(len(x.shape)))
    full = pad_p(g, widths=widths) if n != m else g
    return real_p(fft_c2c_p(full, axes=(axis,), norm=norm, inverse=False))


fft_r2c_p = Primitive("fft_r2c", _r2c_impl, nin=1, saves=(), uses_shapes=True,
                      grad_fn_name="FftR2CBackward0", batching=("axis", "axis"), complex_ok=True)  # fmt: skip
fft_r2c_p.def_vjp(_r2c_vjp).def_linear()


def _c2r_impl(x: Any, *, axis: int, n: int, norm: str, xp: Any = np) -> Any:
    if xp is np:
        return np.fft.irfft(x, n=n, axis=axis, norm=norm)
    if dtype_kind(x.dtype) != "c":
        x = xp.astype(x, xp.complex64 if np_dtype(x.dtype) == np.float32 else xp.complex128)
    return fft_ns(xp, "irfft").irfft(_whole_along(x, (axis,)), n=n, axis=axis, norm=norm)


def _c2r_weights(n: int, ndim: int, axis: int, norm: str, dtype: Any) -> np.ndarray:
    # out[k] = s * (Re c_0 + 2 sum_j Re(c_j e^{2 pi i jk/n}) [+ Re c_{n/2} (-1)^k]); s is the
    # inverse's scale. d out / d Re c_j = s a_j cos, d out / d Im c_j = -s a_j sin, so the
    # cotangent dL/dRe - i dL/dIm is s a_j sum_k g_k e^{+2 pi i jk/n} = s a_j conj(rfft(g))_j.
    m = n // 2 + 1
    a = np.full(m, 2.0)
    a[0] = 1.0
    if n % 2 == 0:
        a[-1] = 1.0
    scale = {"backward": 1.0 / n, "ortho": 1.0 / np.sqrt(n), "forward": 1.0}[norm]
    shape = [1] * ndim
    shape[axis] = m
    real = np.float32 if np_dtype(dtype) in (np.complex64, np.float32) else np.float64
    return (a * scale).astype(real).reshape(shape)


def _c2r_vjp(g: Any, ans: Any, x: Any, axis: int, n: int, norm: str) -> Any:
    w = const_like(_c2r_weights(n, len(x.shape), axis, norm, x.dtype), g)
    return mul_p(conj_p(fft_r2c_p(g, axis=axis, norm="backward")), w)


fft_c2r_p = Primitive("fft_c2r", _c2r_impl, nin=1, saves=(), uses_shapes=True,
                      grad_fn_name="FftC2RBackward0", batching=("axis", "axis"), complex_ok=True)  # fmt: skip
# Real-linear: the tangent goes through the same map.
fft_c2r_p.def_vjp(_c2r_vjp).def_linear()


# ---------------------------------------------------------------- argument handling
def _axis(x: Any, axis: Any, op: str) -> int:
    nd = x.ndim
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -nd <= axis < nd:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor with {nd} dimensions")
    return int(axis) % nd


def _length(n: Any, op: str, what: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{op}: {what} must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"{op}: invalid number of data points {what}={n}; it must be at least 1")
    return int(n)


def _resize(x: Any, sizes: dict[int, int]) -> Any:
    """``x`` zero-padded or cropped (at the end) to ``sizes[axis]`` along each given axis."""
    widths = tuple((0, sizes.get(i, d) - d) for i, d in enumerate(x.shape))
    if not any(hi for _, hi in widths):
        return x
    return pad_p(x, widths=widths)


def _refuse_complex_input(x: Any, op: str) -> None:
    if dtype_kind(x.dtype) == "c":
        raise TypeError(
            f"{op}: the input must be real, got {x.dtype} of shape {tuple(x.shape)}; for a complex "
            f"input use the full transform ({op[1:] if op.startswith('r') else 'fft'}), or "
            "cr.real(x) if the imaginary part is to be dropped"
        )


def _nd_args(x: Any, s: Any, axes: Any, op: str, real_inverse: bool = False) -> tuple[list[int], list[int]]:
    """NumPy's rules for ``s`` and ``axes`` of the n-dimensional transforms."""
    nd = x.ndim
    if s is not None and (isinstance(s, (int, np.integer)) or not hasattr(s, "__len__")):
        raise TypeError(f"{op}: s must be a sequence of ints, got {s!r}")
    if axes is None:
        ax = list(range(nd)) if s is None else list(range(nd - len(s), nd))
    else:
        ax = [_axis(x, a, op) for a in ((axes,) if isinstance(axes, (int, np.integer)) else axes)]
    if s is None:
        sizes = [int(x.shape[a]) for a in ax]
        if real_inverse and ax:
            sizes[-1] = (sizes[-1] - 1) * 2
    else:
        if len(s) != len(ax):
            raise ValueError(f"{op}: s and axes must have the same length, got s={s!r} and axes={axes!r}")
        sizes = [_length(n, op, "s") for n in s]
    return ax, sizes


def _c2c(x: Any, ax: list[int], sizes: list[int], norm: str, inverse: bool) -> Any:
    if not ax:
        return x
    if len(set(ax)) == len(ax):
        return fft_c2c_p(_resize(x, dict(zip(ax, sizes))), axes=tuple(ax), norm=norm, inverse=inverse)
    # A repeated axis is transformed once per mention, last first (NumPy's order).
    for a, n in reversed(list(zip(ax, sizes))):
        x = fft_c2c_p(_resize(x, {a: n}), axes=(a,), norm=norm, inverse=inverse)
    return x


def _rfft1(x: Any, n: Any, axis: int, norm: str, op: str) -> Any:
    _refuse_complex_input(x, op)
    size = int(x.shape[axis]) if n is None else _length(n, op)
    return fft_r2c_p(_resize(x, {axis: size}), axis=axis, norm=norm)


def _irfft1(x: Any, n: Any, axis: int, norm: str, op: str) -> Any:
    size = 2 * (int(x.shape[axis]) - 1) if n is None else _length(n, op)
    if size < 1:
        raise ValueError(
            f"{op}: invalid number of data points n={size} (from an input of length "
            f"{x.shape[axis]} along axis {axis}); pass n, or an input of length at least 2"
        )
    return fft_c2r_p(_resize(x, {axis: size // 2 + 1}), axis=axis, n=size, norm=norm)


# ---------------------------------------------------------------- public functions
def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The one-dimensional discrete Fourier transform along ``axis``, the input zero-padded or
    cropped to ``n``, as ``numpy.fft.fft`` (complex result; gradients by JAX's convention).

    >>> import chainrule as cr
    >>> x = cr.tensor([1., 2., 3., 4.], requires_grad=True)
    >>> cr.sum(cr.abs(cr.fft.fft(x)) ** 2).backward()   # Parseval: 4 * |x|^2
    >>> x.grad
    tensor([ 8., 16., 24., 32.], dtype=float64)
    """
    x = as_operand(a)
    ax = _axis(x, axis, "fft")
    size = int(x.shape[ax]) if n is None else _length(n, "fft")
    return ensure_tensor(_c2c(x, [ax], [size], _check_norm(norm, "fft"), False))


def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The inverse of :func:`fft`, as ``numpy.fft.ifft``.

    >>> import chainrule as cr
    >>> cr.real(cr.fft.ifft(cr.fft.fft(cr.tensor([1., 2., 3.]))))
    tensor([1., 2., 3.], dtype=float64)
    """
    x = as_operand(a)
    ax = _axis(x, axis, "ifft")
    size = int(x.shape[ax]) if n is None else _length(n, "ifft")
    return ensure_tensor(_c2c(x, [ax], [size], _check_norm(norm, "ifft"), True))


def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None) -> Tensor:
    """The n-dimensional transform over ``axes`` (all of them by default) with lengths ``s``,
    as ``numpy.fft.fftn``.

    >>> import chainrule as cr
    >>> cr.fft.fftn(cr.ones((2, 2)))
    tensor([[4.+0.j, 0.+0.j],
            [0.+0.j, 0.+0.j]], dtype=complex128)
    """
    x = as_operand(a)
    ax, sizes = _nd_args(x, s, axes, "fftn")
    return ensure_tensor(_c2c(x, ax, sizes, _check_norm(norm, "fftn"), False))


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None) -> Tensor:
    """The inverse of :func:`fftn`, as ``numpy.fft.ifftn``.

    >>> import chainrule as cr
    >>> cr.real(cr.fft.ifftn(cr.fft.fftn(cr.eye(2))))
    tensor([[1., 0.],
            [0., 1.]], dtype=float64)
    """
    x = as_operand(a)
    ax, sizes = _nd_args(x, s, axes, "ifftn")
    return ensure_tensor(_c2c(x, ax, sizes, _check_norm(norm, "ifftn"), True))


def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None) -> Tensor:
    """:func:`fftn` over the last two axes, as ``numpy.fft.fft2``.

    >>> import chainrule as cr
    >>> cr.fft.fft2(cr.ones((2, 2)))[0, 0]
    tensor(4.+0.j, dtype=complex128)
    """
    return fftn(a, s, axes, norm)


def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None) -> Tensor:
    """:func:`ifftn` over the last two axes, as ``numpy.fft.ifft2``.

    >>> import chainrule as cr
    >>> cr.fft.ifft2(cr.ones((2, 2)))[0, 0]
    tensor(1.+0.j, dtype=complex128)
    """
    return ifftn(a, s, axes, norm)


def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The transform of a real input, keeping the ``n // 2 + 1`` non-negative frequencies, as
    ``numpy.fft.rfft``.

    >>> import chainrule as cr
    >>> cr.fft.rfft(cr.tensor([1., 2., 3., 4.]))
    tensor([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex128)
    """
    x = as_operand(a)
    return ensure_tensor(_rfft1(x, n, _axis(x, axis, "rfft"), _check_norm(norm, "rfft"), "rfft"))


def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The real signal of length ``n`` (``2 * (m - 1)`` by default) whose :func:`rfft` is ``a``, as
    ``numpy.fft.irfft`` (the imaginary parts of the zero and Nyquist frequencies are ignored).

    >>> import chainrule as cr
    >>> cr.fft.irfft(cr.fft.rfft(cr.tensor([1., 2., 3., 4.])))
    tensor([1., 2., 3., 4.], dtype=float64)
    """
    x = as_operand(a)
    return ensure_tensor(_irfft1(x, n, _axis(x, axis, "irfft"), _check_norm(norm, "irfft"), "irfft"))


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None) -> Tensor:
    """:func:`rfft` along the last of ``axes``, then :func:`fftn` along the others, as
    ``numpy.fft.rfftn``.

    >>> import chainrule as cr
    >>> cr.fft.rfftn(cr.ones((2, 4))).shape
    (2, 3)
    """
    x = as_operand(a)
    ax, sizes = _nd_args(x, s, axes, "rfftn")
    nrm = _check_norm(norm, "rfftn")
    if not ax:
        raise ValueError("rfftn: at least one axis must be transformed")
    out = _rfft1(x, sizes[-1], ax[-1], nrm, "rfftn")
    return ensure_tensor(_c2c(out, ax[:-1], sizes[:-1], nrm, False))


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None) -> Tensor:
    """The inverse of :func:`rfftn`: :func:`ifftn` along all but the last of ``axes``, then
    :func:`irfft` along it, as ``numpy.fft.irfftn``.

    >>> import chainrule as cr
    >>> cr.fft.irfftn(cr.fft.rfftn(cr.eye(2))).shape
    (2, 2)
    """
    x = as_operand(a)
    ax, sizes = _nd_args(x, s, axes, "irfftn", real_inverse=True)
    nrm = _check_norm(norm, "irfftn")
    if not ax:
        raise ValueError("irfftn: at least one axis must be transformed")
    out = _c2c(x, ax[:-1], sizes[:-1], nrm, True)
    return ensure_tensor(_irfft1(out, sizes[-1], ax[-1], nrm, "irfftn"))


def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None) -> Tensor:
    """:func:`rfftn` over the last two axes, as ``numpy.fft.rfft2``.

    >>> import chainrule as cr
    >>> cr.fft.rfft2(cr.ones((4, 4))).shape
    (4, 3)
    """
    return rfftn(a, s, axes, norm)


def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: Any = None) -> Tensor:
    """:func:`irfftn` over the last two axes, as ``numpy.fft.irfft2``.

    >>> import chainrule as cr
    >>> cr.fft.irfft2(cr.fft.rfft2(cr.ones((4, 4)))).shape
    (4, 4)
    """
    return irfftn(a, s, axes, norm)


def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The real spectrum of a signal with Hermitian symmetry given by its first half ``a``:
    ``irfft(conj(a))`` with the scaling on the other side, as ``numpy.fft.hfft``.

    >>> import chainrule as cr
    >>> cr.fft.hfft(cr.tensor([1., 2., 3.]))
    tensor([ 8., -2.,  0., -2.], dtype=float64)
    """
    x = as_operand(a)
    ax = _axis(x, axis, "hfft")
    nrm = _swap_norm(_check_norm(norm, "hfft"))
    return ensure_tensor(_irfft1(conj_p(x), n, ax, nrm, "hfft"))


def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None) -> Tensor:
    """The inverse of :func:`hfft`: ``conj(rfft(a))`` with the scaling on the other side, as
    ``numpy.fft.ihfft``.

    >>> import chainrule as cr
    >>> cr.fft.ihfft(cr.fft.hfft(cr.tensor([1., 2., 3.])))
    tensor([1.-0.j, 2.-0.j, 3.-0.j], dtype=complex128)
    """
    x = as_operand(a)
    ax = _axis(x, axis, "ihfft")
    nrm = _swap_norm(_check_norm(norm, "ihfft"))
    return ensure_tensor(conj_p(_rfft1(x, n, ax, nrm, "ihfft")))
