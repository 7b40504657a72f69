"""The array library under a tensor: NumPy by default, any array-API library on request.

A Tensor holds an array of some library (NumPy, CuPy, Dask, array-api-strict...). Every
primitive's forward takes its functions from the namespace of its inputs: for NumPy arrays that
is ``numpy`` itself (NumPy 2 speaks the array API's names: ``np.concat``, ``np.permute_dims``,
``np.pow``...), which keeps NumPy's fast path exactly as it was; for another library it is the
namespace ``array_api_compat.array_namespace`` gives. ``bind`` tells the two apart with one type
test per input, and sends the other libraries' arrays through :func:`foreign_namespace`.

Python numbers, NumPy scalars and 0-d NumPy arrays mix with any library (as a CPU scalar mixes
with a CUDA tensor in PyTorch); two libraries' arrays in one op are an error that names both.

>>> import numpy as np
>>> namespace_of(np.ones(3)) is np
True
>>> dtype_kind(np.dtype("float32"))
'f'
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = [
    "PLAIN_TYPES", "is_plain", "is_foreign", "has_foreign", "namespace_of", "foreign_namespace", "library_name", "dtype_kind",
    "extension", "impl_for", "to_numpy", "copy_array", "ones_like", "zeros_like", "MixedLibrariesError", "UnsupportedOnLibrary",
]  # fmt: skip

_ndarray = np.ndarray

#: Values that go with NumPy's fast path: NumPy arrays, Python numbers and NumPy scalars.
PLAIN_TYPES = frozenset(
    {_ndarray, float, int, bool, complex, type(None)}
    | {t for t in np.sctypeDict.values() if isinstance(t, type) and issubclass(t, np.generic)}
)


class MixedLibrariesError(TypeError):
    """Arrays of two libraries met in one op."""


class UnsupportedOnLibrary(NotImplementedError):
    """The op needs a function the array's library does not have (outside the array API)."""


def is_plain(value: Any) -> bool:
    """Whether ``value`` belongs on NumPy's path (an ndarray, a Python number, a NumPy scalar)."""
    return type(value) in PLAIN_TYPES or isinstance(value, np.generic)


def _is_array(value: Any) -> bool:
    # An array of some library other than NumPy (array_api_compat knows CuPy, Dask, JAX, PyTorch,
    # sparse; any other array-API library carries __array_namespace__).
    if isinstance(value, (_ndarray, np.generic)) or not hasattr(value, "shape"):
        return False
    import array_api_compat

    return bool(array_api_compat.is_array_api_obj(value))


def is_foreign(value: Any) -> bool:
    """Whether ``value`` is an array of another library than NumPy."""
    return type(value) not in PLAIN_TYPES and not isinstance(value, np.generic) and _is_array(value)


def has_foreign(values: Any) -> bool:
    """Whether any of ``values`` is an array of another library than NumPy."""
    for v in values:
        if type(v) not in PLAIN_TYPES and is_foreign(v):
            return True
    return False


def library_name(value: Any) -> str:
    """A short name for the library ``value`` (an array) comes from: ``numpy``, ``dask``..."""
    if isinstance(value, (_ndarray, np.generic)):
        return "numpy"
    module = type(value).__module__ or ""
    return module.split(".")[0] or type(value).__name__


@functools.cache
def _namespace_for_type(kind: type) -> Any:
    import array_api_compat  # a dependency; imported only when a non-NumPy array shows up

    probe = _PROBES.get(kind)
    return array_api_compat.array_namespace(probe) if probe is not None else None


_PROBES: dict[type, Any] = {}


def _namespace_of_array(value: Any) -> Any:
    kind = type(value)
    if kind not in _PROBES:
        _PROBES[kind] = value
    ns = _namespace_for_type(kind)
    if ns is None:  # pragma: no cover - the probe is always set just above
        raise TypeError(f"no array namespace for {kind.__name__}")
    return ns


def namespace_of(*values: Any) -> Any:
    """The array namespace of ``values``: ``numpy`` when they are all NumPy values or numbers,
    else the one other library's (``MixedLibrariesError`` when two libraries meet)."""
    for v in values:
        if not is_plain(v) and _is_array(v):
            return foreign_namespace(values, "namespace_of")
    return np


def foreign_namespace(values: Any, op: str) -> Any:
    """The namespace of the non-NumPy arrays among ``values`` (there is at least one).

    NumPy arrays may join only when they are 0-d (a scalar); anything else from another library
    than the first foreign array's is an error naming the op and both libraries.
    """
    ns = None
    first = None
    for v in values:
        if is_plain(v):
            if type(v) is _ndarray and v.ndim != 0 and first is not None:
                raise _mixed(op, first, v)
            continue
        if not _is_array(v):
            continue
        this = _namespace_of_array(v)
        if ns is None:
            ns, first = this, v
        elif this is not ns:
            raise _mixed(op, first, v)
    if ns is None:
        return np
    for v in values:  # an n-d NumPy array before the first foreign one
        if type(v) is _ndarray and v.ndim != 0:
            raise _mixed(op, first, v)
    return ns


def _mixed(op: str, a: Any, b: Any) -> MixedLibrariesError:
    la, lb = library_name(a), library_name(b)
    return MixedLibrariesError(
        f"{op}: the inputs come from two array libraries, {la} ({type(a).__name__} of shape "
        f"{tuple(a.shape)}) and {lb} ({type(b).__name__} of shape {tuple(b.shape)}); chainrule does "
        f"not move data between libraries behind your back. Convert one explicitly, e.g. "
        f"cr.asarray(t, like=other) or t.to('{la}')."
    )


def dtype_kind(dtype: Any) -> str:
    """NumPy's one-letter kind (``f``, ``c``, ``i``, ``u``, ``b``) of any library's dtype."""
    kind = getattr(dtype, "kind", None)
    if kind is not None:
        return kind
    return _kind_by_name(str(dtype).rsplit(".", 1)[-1])


@functools.cache
def _kind_by_name(name: str) -> str:
    try:
        return np.dtype(name).kind
    except TypeError:
        return "O"


def extension(xp: Any, name: str, op: str) -> Any:
    """``xp.name``, for a function outside the array API standard (einsum, some linalg); a clear
    ``UnsupportedOnLibrary`` when the library lacks it."""
    fn = getattr(xp, name, None)
    if fn is None:
        raise UnsupportedOnLibrary(
            f"{op}: needs {name}, which {_ns_name(xp)} does not provide ({name} is not in the "
            "Python array API standard). Convert the tensor to NumPy (t.numpy() / "
            "cr.asarray(t, like=np.empty(0))) for this op."
        )
    return fn


def _ns_name(xp: Any) -> str:
    name = getattr(xp, "__name__", repr(xp))
    return name.replace("array_api_compat.", "")


# NumPy's ufunc names and the array API's, where they differ.
_API_NAMES = {
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "power": "pow", "absolute": "abs", "conjugate": "conj",
    "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift", "invert": "bitwise_invert",
    "true_divide": "divide",
}  # fmt: skip


def impl_for(prim: Any, xp: Any) -> Any:
    """``prim``'s forward with the functions of namespace ``xp`` (cached on the primitive).

    A NumPy ufunc forward maps to the namespace's function of the same (array API) name; a
    Python forward that takes ``xp=`` gets it bound. Anything else is written for NumPy only,
    and says so.
    """
    cache = prim.xp_impls
    if cache is None:
        cache = prim.xp_impls = {}
    fn = cache.get(xp)
    if fn is None:
        fn = cache[xp] = _make_impl(prim, xp)
    return fn


def _make_impl(prim: Any, xp: Any) -> Any:
    impl = prim.impl
    if isinstance(impl, np.ufunc):
        name = _API_NAMES.get(impl.__name__, impl.__name__)
        fn = getattr(xp, name, None)
        if fn is None:
            return _refuser(prim, xp, f"{name} is not in the array API standard")
        return fn
    import inspect

    try:
        takes_xp = "xp" in inspect.signature(impl).parameters
    except (TypeError, ValueError):
        takes_xp = False
    if takes_xp:
        return functools.partial(impl, xp=xp)
    return _refuser(prim, xp, "its forward is written for NumPy arrays only")


def _refuser(prim: Any, xp: Any, why: str) -> Any:
    def refuse(*args: Any, **params: Any) -> Any:
        raise UnsupportedOnLibrary(
            f"{prim.name}: not available for {_ns_name(xp)} arrays ({why}). Convert the tensor "
            "to NumPy for this op (t.numpy(), or cr.asarray(t, like=np.empty(0)))."
        )

    return refuse


def to_numpy(value: Any) -> np.ndarray:
    """Any library's array as a NumPy array (computes a Dask array; copies a CuPy one to host)."""
    if isinstance(value, _ndarray):
        return value
    if hasattr(value, "compute"):  # Dask: compute first
        value = value.compute()
    get = getattr(value, "get", None)
    if get is not None and type(value).__module__.startswith("cupy"):
        return get()
    try:
        return np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        import array_api_compat

        return np.asarray(array_api_compat.to_device(value, "cpu"))


def copy_array(a: Any) -> Any:
    """A copy of ``a`` in its own library (a NumPy array for NumPy values and numbers)."""
    if is_foreign(a):
        return namespace_of(a).asarray(a, copy=True)
    return np.array(a)


def ones_like(a: Any) -> Any:
    """Ones of ``a``'s shape and dtype, in ``a``'s library."""
    if is_foreign(a):
        return namespace_of(a).ones_like(a)
    return np.ones(np.shape(a), dtype=np.asarray(a).dtype)


def zeros_like(a: Any) -> Any:
    """Zeros of ``a``'s shape and dtype, in ``a``'s library."""
    if is_foreign(a):
        return namespace_of(a).zeros_like(a)
    return np.zeros_like(a)
