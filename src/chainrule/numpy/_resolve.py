"""How ``chainrule.numpy`` (and its ``linalg`` and ``fft``) find a NumPy name: the one rule.

A name ``X`` asked of ``chainrule.numpy`` is looked up, first hit wins, in

1. the wrappers written in ``chainrule.numpy`` itself (where the native signature differs from
   NumPy's: ``array``, ``where``, ``zeros``, ``eye``...);
2. the NumPy-signature handlers of the NumPy protocol (``chainrule.ops.numpy_protocol.
   ARRAY_FUNCTIONS[numpy.X]``: the same code that runs for ``numpy.X(tensor)``);
3. the ufunc table of that protocol (``UFUNC_PRIMITIVES[numpy.X]``: ``absolute``, ``negative``...);
4. the native op ``chainrule.X``, when ``X`` is a NumPy name too (a native op that shares a
   NumPy name takes NumPy's positional arguments), or a native index trick (``r_``, ``c_``);
5. NumPy's own object, for the names that carry no derivative (dtypes, constants, ``shape``,
   ``allclose``, ``argsort``...: :data:`NUMPY_AS_IS`). Given a tensor, those run through the
   NumPy protocol, which refuses to drop a derivative silently;
6. otherwise ``AttributeError: chainrule.numpy has no X yet``.

Steps 2 to 4 are read when the name is first asked for, so an op added to the native API (or a
row added to the protocol's tables) shows up here without anyone editing this package.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

import numpy

from chainrule.core.dispatch import bind
from chainrule.core.tensor import Tensor
from chainrule.ops import numpy_protocol
from chainrule.ops._api import ensure_tensor

__all__ = ["resolve", "refuse_out", "NUMPY_AS_IS", "missing"]

#: NumPy names served by NumPy itself: types, constants, and functions whose result carries no
#: derivative (predicates, shapes, indices, comparisons of whole arrays).
NUMPY_AS_IS = frozenset({
    # constants and the indexing helper
    "pi", "e", "inf", "nan", "newaxis", "euler_gamma", "PINF", "NINF", "NAN", "Inf", "NaN",
    "infty", "__version__",
    # scalar types, dtypes and type information
    "float16", "float32", "float64", "longdouble", "half", "single", "double", "int8",
    "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "intp", "uintp", "int_",
    "uint", "bool_", "bool", "float_", "integer", "floating", "number", "signedinteger",
    "unsignedinteger", "inexact", "generic", "dtype", "ndarray", "finfo", "iinfo",
    "issubdtype", "result_type", "promote_types", "can_cast", "min_scalar_type", "ScalarType",
    "complexfloating", "complex64", "complex128", "complex_", "cdouble", "csingle",
    "clongdouble", "longlong", "ulonglong", "short", "ushort", "intc", "uintc", "byte", "ubyte",
    # shape and type predicates
    "shape", "ndim", "size", "isscalar", "iscomplexobj", "isrealobj", "iscomplex", "isreal",
    "broadcast_shapes", "ndindex", "ndenumerate", "broadcast",
    # comparisons of whole arrays
    "allclose", "isclose", "array_equal", "array_equiv",
    # indices and searching (integer results)
    "argsort", "argpartition", "argwhere", "nonzero", "flatnonzero", "count_nonzero",
    "searchsorted", "unravel_index", "ravel_multi_index", "indices", "ix_", "mgrid", "ogrid",
    "tril_indices", "triu_indices", "diag_indices", "tril_indices_from", "triu_indices_from",
    "diag_indices_from", "digitize", "bincount", "lexsort",
    # truth tests and NaN/Inf predicates
    "all", "any", "isneginf", "isposinf",
    # configuration and errors
    "errstate", "seterr", "geterr", "set_printoptions", "get_printoptions", "printoptions",
    "AxisError", "ComplexWarning", "RankWarning",
})  # fmt: skip

# Names NumPy has whose native chainrule object means something else (a module, a PyTorch-style
# method): never taken from step 4.
_NOT_FROM_NATIVE = frozenset({"random", "testing", "linalg", "fft", "dtype", "float32", "float64",
                              "int32", "int64", "bool_", "flatten", "empty"})  # fmt: skip


def missing(where: str, name: str) -> AttributeError:
    return AttributeError(
        f"{where} has no {name} yet: chainrule does not implement numpy's {name} (as a "
        "differentiable operation). Write it with the functions chainrule.numpy has, or "
        "compute it on plain values with numpy itself outside the differentiated function"
    )


def refuse_out(name: str) -> TypeError:
    return TypeError(
        f"{name}: out= is not supported (writing into an existing array is an in-place update "
        f"the derivative cannot follow); assign the result instead, e.g. y = np.{name}(...)"
    )


def _protocol_handler(name: str, np_func: Any, handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(np_func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            raise refuse_out(name)
        kwargs.pop("out", None)
        try:
            return handler(*args, **kwargs)
        except numpy_protocol._NumPyDefault as unsupported:
            raise TypeError(
                f"chainrule.numpy.{name} does not support {unsupported} yet; leave it out (or "
                "compute on plain values with numpy outside the differentiated function)"
            ) from None

    wrapper.__wrapped__ = np_func
    return wrapper


def _ufunc(name: str, ufunc: Any, prim: Any) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            raise refuse_out(name)
        kwargs.pop("out", None)
        if kwargs:
            raise TypeError(
                f"chainrule.numpy.{name} takes no keyword arguments ({', '.join(sorted(kwargs))} "
                "given): NumPy's ufunc options where=, dtype=, casting= are not supported"
            )
        if len(args) != ufunc.nin:
            raise TypeError(f"chainrule.numpy.{name} takes {ufunc.nin} argument(s), got {len(args)}")
        return ensure_tensor(bind(prim, *args))

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = f"NumPy's ``{name}``, differentiable (the ``{prim.name}`` primitive)."
    return wrapper


def _native(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            raise refuse_out(name)
        kwargs.pop("out", None)
        return fn(*args, **kwargs)

    return wrapper


#: NumPy functions whose first argument is a sequence of arrays, where NumPy also takes a single
#: array as the sequence of its slices along axis 0 (``np.vstack(a)``, ``np.stack(a)``).
SEQUENCE_FIRST = frozenset({"stack", "concatenate", "vstack", "hstack", "dstack", "column_stack",
                            "row_stack", "block"})  # fmt: skip


def _array_as_sequence(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(arrays: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(arrays, (Tensor, numpy.ndarray)):
            if not arrays.ndim:
                raise ValueError(f"chainrule.numpy.{name}: a 0-d array is not a sequence of arrays")
            arrays = [arrays[i] for i in range(arrays.shape[0])]  # differentiable slices
        return fn(arrays, *args, **kwargs)

    return wrapper


def resolve(name: str, np_module: types.ModuleType, native: list[Any], where: str) -> Any:
    """:func:`_find`, with NumPy's single-array form of the sequence functions added."""
    found = _find(name, np_module, native, where)
    if np_module is numpy and name in SEQUENCE_FIRST and callable(found):
        return _array_as_sequence(name, found)
    return found


def _find(name: str, np_module: types.ModuleType, native: list[Any], where: str) -> Any:
    """Steps 2 to 6 of the rule above for ``name`` (step 1 is the caller's module globals).

    ``np_module`` is ``numpy`` or one of its submodules; ``native`` the chainrule objects to look
    in (``chainrule`` itself, ``chainrule.linalg`` if it exists...).
    """
    if name.startswith("__") and name != "__version__":
        raise AttributeError(name)
    np_obj = getattr(np_module, name, None)
    if np_obj is None and not hasattr(np_module, name):
        raise AttributeError(f"{where} has no {name} (nor has {np_module.__name__})")
    handler = numpy_protocol.ARRAY_FUNCTIONS.get(np_obj) if _hashable(np_obj) else None
    if handler is not None:
        return _protocol_handler(name, np_obj, handler)
    prim = numpy_protocol.UFUNC_PRIMITIVES.get(np_obj) if isinstance(np_obj, numpy.ufunc) else None
    if prim is not None:
        return _ufunc(name, np_obj, prim)
    # (The exclusions are top-level NumPy names: numpy.fft.fft is the transform, not the module.)
    if name not in _NOT_FROM_NATIVE or np_module is not numpy:
        for space in native:
            fn = getattr(space, name, None)
            if isinstance(fn, (type, types.ModuleType)):
                continue
            if callable(fn):
                return _native(name, fn)
            if hasattr(type(fn), "__getitem__") and not isinstance(fn, (str, bytes, tuple, list, dict)):
                return fn  # an index trick such as r_ / c_
    if np_module is numpy and name in NUMPY_AS_IS:
        return np_obj
    raise missing(where, name)


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)
