"""Constants and dtypes in the library of the data (issue 16), for forwards and rules that build
masks, identities or weights with NumPy.

A rule's constant (an identity, a triangle mask, the DFT weights) is built once with NumPy and
cached; :func:`const_like` hands it over unchanged when the data it meets is NumPy's (no added
work on the fast path) and as an array of the data's own library otherwise (array-api-strict,
Dask, CuPy refuse to mix with an n-d NumPy array).

>>> import numpy as np
>>> const_like(np.eye(2), np.ones(3)) is not None
True
>>> np_dtype(np.dtype("float32"))
dtype('float32')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import UnsupportedOnLibrary, is_foreign, namespace_of

__all__ = ["const_like", "data_of", "np_dtype", "xp_dtype", "linalg_fn", "fft_ns"]


def data_of(x: Any) -> Any:
    """The raw array under a Tensor, or ``x`` itself."""
    data = getattr(x, "_data", None)
    return x if data is None else data


def const_like(value: np.ndarray, like: Any) -> Any:
    """``value`` (a NumPy constant) as an array of ``like``'s library (a Tensor or a raw array);
    ``value`` itself when ``like`` is NumPy data."""
    data = data_of(like)
    if type(data) is np.ndarray or not is_foreign(data):
        return value
    return namespace_of(data).asarray(value)


def np_dtype(dtype: Any) -> np.dtype:
    """NumPy's dtype of the same name as ``dtype`` (any library's dtype)."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        return np.dtype(str(dtype).rsplit(".", 1)[-1])


def xp_dtype(xp: Any, dtype: Any) -> Any:
    """Namespace ``xp``'s dtype of the same name as ``dtype`` (a NumPy dtype or a name)."""
    if xp is np:
        return np.dtype(dtype)
    return getattr(xp, np_dtype(dtype).name)


def _library(xp: Any) -> str:
    return getattr(xp, "__name__", repr(xp)).replace("array_api_compat.", "")


def linalg_fn(xp: Any, name: str, op: str) -> Any:
    """``xp.linalg.<name>`` (the array API's optional linalg extension), or a clear refusal."""
    fn = getattr(getattr(xp, "linalg", None), name, None)
    if fn is None:
        raise UnsupportedOnLibrary(
            f"{op}: needs linalg.{name}, which {_library(xp)} does not provide (the array API's "
            "linalg extension is optional). Convert the tensor to NumPy for this op (t.numpy(), "
            "or cr.asarray(t, like=np.empty(0)))."
        )
    return fn


def fft_ns(xp: Any, op: str) -> Any:
    """``xp.fft`` (the array API's optional fft extension), or a clear refusal."""
    ns = getattr(xp, "fft", None)
    if ns is None:
        raise UnsupportedOnLibrary(
            f"{op}: needs the fft extension of the array API, which {_library(xp)} does not "
            "provide. Convert the tensor to NumPy for this op (t.numpy(), or "
            "cr.asarray(t, like=np.empty(0)))."
        )
    return ns
