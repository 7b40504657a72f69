"""Moving tensors between array libraries: ``cr.asarray(t, like=...)`` and ``t.to("dask")``.

chainrule never moves data between libraries behind your back (two libraries' arrays in one op
are an error, core/backend.py); these are the explicit moves. Like PyTorch's ``.to(device)``
the move is differentiable: it is the primitive ``to_library``, and the gradient that reaches
its output flows back converted to the input's library (a NumPy leaf gets a NumPy gradient even
when the loss was computed by Dask).

The libraries: ``"numpy"``, ``"dask"`` (``dask.array``), ``"cupy"`` and ``"array_api_strict"``.

>>> import numpy as np
>>> import chainrule as cr
>>> x = cr.tensor([1.0, 2.0], requires_grad=True)
>>> y = x.to("dask")                      # lazy from here on
>>> type(y.numpy()).__name__, cr.asarray(y, like=np.empty(0)).numpy()
('ndarray', array([1., 2.]))
>>> (cr.asarray(y * y, like=x) * 1.0).backward(gradient=np.ones(2))
>>> x.grad                                # back in NumPy
tensor([2., 4.], dtype=float64)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, is_foreign, library_name, to_numpy
from chainrule.core.dispatch import record, refresh_view
from chainrule.core.modes import BUSY_THREADS, state
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import CUT, DIFFERENTIABLE_KINDS, Tensor, wrap_array

__all__ = ["asarray", "compute"]

#: The libraries a tensor can be moved to, by the name ``library_name`` gives their arrays.
LIBRARIES = ("numpy", "dask", "cupy", "array_api_strict")
_ALIASES = {
    "np": "numpy", "dask.array": "dask", "da": "dask", "cp": "cupy", "array-api-strict": "array_api_strict",
    "strict": "array_api_strict",
}  # fmt: skip


# ---------------------------------------------------------------- the conversions, raw arrays
def _owned_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array that nothing else holds (so a later in-place write to the NumPy
    tensor cannot change what the other library's array shows, nor the other way round).

    Always a copy: what another library hands over may be its own memory (array-api-strict
    gives its inner array; a persisted Dask array's compute may return a chunk it keeps)."""
    return np.array(to_numpy(x) if is_foreign(x) else x, copy=True)


def _convert(x: Any, library: str, chunks: Any) -> Any:
    """``x`` (an array of any of ``LIBRARIES``, or a number) as an array of ``library``; always
    a new array, never a view of ``x``'s memory (a Dask array, immutable, may come back as is)."""
    source = library_name(x) if is_foreign(x) else "numpy"
    if library == "numpy":
        return _owned_numpy(x)
    if library == "dask":
        import dask.array as da

        if source == "dask":
            return x if chunks is None else x.rechunk(chunks)
        # CuPy blocks stay on the GPU under Dask; anything else goes through the host.
        host = x.copy() if source == "cupy" else _owned_numpy(x)
        return da.from_array(host, chunks="auto" if chunks is None else chunks)
    if library == "cupy":
        import cupy

        if source == "dask":
            x = x.compute()
            source = library_name(x) if is_foreign(x) else "numpy"
        if source == "cupy":
            return cupy.array(x, copy=True)
        return cupy.asarray(_owned_numpy(x))
    if library == "array_api_strict":
        import array_api_strict

        if source == "array_api_strict":
            return array_api_strict.asarray(x, copy=True)
        return array_api_strict.asarray(_owned_numpy(x))
    raise ValueError(f"to_library: unknown library {library!r}; use one of {', '.join(LIBRARIES)}")


def _to_library_impl(
    x: Any, *, library: str, source: str, chunks: Any = None, back_chunks: Any = None, xp: Any = np
) -> Any:
    # (source and back_chunks are for the rule, which converts the gradient back; xp is there so
    # that bind hands every library's arrays to this forward: it takes no functions from xp.)
    return _convert(x, library, chunks)


def _to_library_rule(s: Any, ans: Any, x: Any, **params: Any) -> Any:
    # The move back: the same primitive with the two libraries (and Dask chunks) swapped.
    return _move(
        s,
        library=params["source"],
        source=params["library"],
        chunks=params["back_chunks"],
        back_chunks=params["chunks"],
    )


to_library_p = Primitive(
    "to_library", _to_library_impl, nin=1, saves=(), batching="elementwise", complex_ok=True
)
to_library_p.def_vjp(_to_library_rule).def_linear()


# ---------------------------------------------------------------- on tensors
def _only_sharing(stack: tuple[Any, ...]) -> bool:
    """Whether the interpreters on ``stack`` only share repeated ops of a recorded backward sweep
    (core/sharing.py): they change no value, so the move may run here, unseen by them."""
    from chainrule.core.sharing import SharedSubexpressions

    return all(type(i) is SharedSubexpressions for i in stack)


def _move(x: Any, **params: Any) -> Any:
    """``to_library`` applied to ``x``: a raw array gives a raw array, a Tensor a Tensor.

    bind would hand a NumPy input's result to ``np.asarray`` (its NumPy path keeps results
    NumPy arrays), which would compute a Dask result or refuse a strict one; so with no
    transform running this applies the primitive itself, with bind's bookkeeping for one input.
    """
    if not isinstance(x, Tensor):
        return to_library_p(x, **params)
    if BUSY_THREADS and state.busy and not _only_sharing(state.stack):
        if type(x._data) is np.ndarray and params["library"] != "numpy":
            raise NotImplementedError(
                f"to_library: moving a NumPy tensor to {params['library']} inside a transform "
                "(jit, vmap, jvp, a tape...) is not supported. Move it before the transform "
                "(cr.asarray(t, like=...) outside the function being transformed)."
            )
        return to_library_p(x, **params)
    view = x._view
    if view is not None and view[0] is not CUT and view[0]._node is not view[2]:
        refresh_view(x)  # a view of a base written in place since: take the base's history
    t = wrap_array(_to_library_impl(x._data, **params))
    if x._requires_grad:
        if state.grad_enabled:
            if dtype_kind(t._data.dtype) in DIFFERENTIABLE_KINDS:
                record(to_library_p, (x,), params, t, None)
            else:
                t._view = (CUT, to_library_p.name, None)
    elif view is not None and view[0] is CUT:
        t._view = view  # an untracked value cut from a graph stays marked as such
    return t


# ---------------------------------------------------------------- naming the target
def _library_of_name(name: str, op: str) -> str:
    lib = _ALIASES.get(name, name)
    if lib not in LIBRARIES:
        raise ValueError(
            f"{op}: unknown array library {name!r}; chainrule moves tensors between "
            f"{', '.join(repr(n) for n in LIBRARIES)}"
        )
    return lib


def _target(like: Any, op: str) -> str:
    """The library ``like`` names: a name, a module (``numpy``, ``dask.array``...), a Tensor or
    an array of that library."""
    if isinstance(like, str):
        return _library_of_name(like, op)
    if isinstance(like, Tensor):
        like = like._data
    if isinstance(like, type(np)):
        name = like.__name__.removeprefix("array_api_compat.")
        if name == "dask.array":
            return "dask"
        return _library_of_name(name.split(".")[0], op)
    if isinstance(like, (np.ndarray, np.generic)):
        return "numpy"
    if is_foreign(like):
        name = library_name(like)
        if name in LIBRARIES:
            return name
        raise ValueError(
            f"{op}: chainrule cannot move tensors to {name} arrays ({type(like).__name__}); it "
            f"moves them between {', '.join(repr(n) for n in LIBRARIES)}"
        )
    raise TypeError(
        f"{op}: like= takes a tensor or an array of the target library, the library's module "
        f"or its name ({', '.join(repr(n) for n in LIBRARIES)}), not {type(like).__name__}"
    )


def _source(t: Tensor, op: str) -> str:
    if not is_foreign(t._data):
        return "numpy"
    name = library_name(t._data)
    if name not in LIBRARIES:
        raise ValueError(
            f"{op}: this tensor holds a {name} array ({type(t._data).__name__}); chainrule moves "
            f"tensors between {', '.join(repr(n) for n in LIBRARIES)} only"
        )
    return name


def _same_chunks(like: Any, shape: tuple[int, ...]) -> Any:
    data = like._data if isinstance(like, Tensor) else like
    chunks = getattr(data, "chunks", None)
    if chunks is not None and tuple(data.shape) == tuple(shape) and library_name(data) == "dask":
        return chunks
    return None


def _to(t: Tensor, library: str, *, copy: bool | None, chunks: Any, op: str) -> Tensor:
    source = _source(t, op)
    if source == library and not copy and (chunks is None or library != "dask"):
        return t
    if copy is False and source != library:
        raise ValueError(
            f"{op}: moving a {source} tensor to {library} copies its data, and copy=False "
            "forbids a copy; leave copy unset (or True)"
        )
    back = t._data.chunks if source == "dask" else None
    params = {"library": library, "source": source, "chunks": chunks if library == "dask" else None,
              "back_chunks": back}  # fmt: skip
    return _move(t, **params)


# ---------------------------------------------------------------- public API
def asarray(obj: Any, dtype: Any = None, *, like: Any = None, copy: bool | None = None, chunks: Any = None) -> Tensor:
    """``obj`` as a tensor; with ``like=``, in the array library of ``like``.

    ``like`` is a tensor or an array of the target library (as in NumPy's and JAX's ``like=``),
    the library's module, or its name: ``"numpy"``, ``"dask"``, ``"cupy"``, ``"array_api_strict"``.
    A tensor already in that library comes back as it is (unless ``copy=True``); otherwise its
    data is copied into the target library, and the move is recorded: gradients flow back
    through it, converted to the source library (as PyTorch's ``.to(device)``). A move to Dask
    makes a lazy array with ``chunks`` (default: ``like``'s chunks when ``like`` is a Dask array
    of the same shape, else Dask's ``"auto"``); a move from Dask computes it.

    Without ``like``, ``obj`` keeps its library: a tensor comes back as it is, other data
    becomes a tensor as with :func:`chainrule.as_tensor` (a Dask array stays lazy). ``dtype``
    then converts it (differentiably, as ``astype``).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> t = cr.tensor([1.0, 2.0])
    >>> cr.asarray(t) is t, cr.asarray(t, like=np.zeros(3)) is t
    (True, True)
    >>> s = cr.asarray(t, like="array_api_strict")
    >>> type(s._data).__module__.split(".")[0]
    'array_api_strict'
    >>> cr.asarray([1, 2], dtype="float32")
    tensor([1., 2.], dtype=float32)
    """
    from chainrule.ops.creation import as_tensor
    from chainrule.ops.shape import astype

    op = "asarray"
    if isinstance(obj, Tensor):
        t, shared = obj, True
    elif is_foreign(obj):
        t, shared = Tensor(obj), True  # (the tensor holds obj itself)
    else:
        t, shared = as_tensor(obj), False  # (as_tensor copies raw data)
    if dtype is not None and not _same_dtype(t._data.dtype, dtype):
        t, shared = astype(t, dtype), False
    library = _source(t, op) if like is None else _target(like, op)
    if library == "dask" and chunks is None and like is not None:
        chunks = _same_chunks(like, tuple(t.shape))
    if copy and not shared:
        copy = None  # already a new array
    return _to(t, library, copy=copy, chunks=chunks, op=op)


def _same_dtype(have: Any, want: Any) -> bool:
    return str(np.dtype(want)) == str(have).rsplit(".", 1)[-1]


def to(self: Tensor, library: Any, *, copy: bool = False, chunks: Any = None) -> Tensor:
    """The tensor in another array library (``"numpy"``, ``"dask"``, ``"cupy"``,
    ``"array_api_strict"``, or that library's module, or a tensor/array of it).

    Differentiable, like PyTorch's ``.to(device)``: the gradient comes back in this tensor's
    library. The tensor itself when it already is in that library (unless ``copy=True``).
    ``chunks`` sets a Dask array's chunks (Dask's ``"auto"`` by default).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = x.to("dask", chunks=2)
    >>> y
    tensor(<lazy dask array, shape=(3,)>, dtype=float64, grad_fn=<ToLibraryBackward0>)
    >>> x.to("numpy") is x
    True
    """
    op = "Tensor.to"
    return _to(self, _target(library, op), copy=True if copy else None, chunks=chunks, op=op)


def compute(*tensors: Any, **dask_options: Any) -> tuple[np.ndarray, ...]:
    """The values of ``tensors`` as NumPy arrays, the Dask ones computed together in one pass.

    ``t.numpy()`` computes one lazy tensor; a loss and its gradient share most of their task
    graph (the data, the forward), so computing them together reads the data once. As
    ``dask.compute``, this returns a tuple (one array per tensor) and runs on the default
    scheduler, a ``dask.distributed`` Client when one is active; ``dask_options`` go to
    ``dask.compute`` (``scheduler=``...). Other tensors give their values as ``.numpy()`` does.

    >>> import dask.array as da
    >>> import chainrule as cr
    >>> x = cr.tensor(da.arange(4.0, chunks=2))
    >>> squares, doubled = cr.compute(x * x, x * 2.0)
    >>> squares, doubled
    (array([0., 1., 4., 9.]), array([0., 2., 4., 6.]))
    """
    datas = [t._data if isinstance(t, Tensor) else t for t in tensors]
    lazy = [i for i, d in enumerate(datas) if is_foreign(d) and library_name(d) == "dask"]
    if lazy:
        import dask

        for i, value in zip(lazy, dask.compute(*(datas[i] for i in lazy), **dask_options)):
            datas[i] = value
    return tuple(to_numpy(d) if is_foreign(d) else np.asarray(d) for d in datas)


def install() -> None:
    """Attach ``Tensor.to``."""
    Tensor.to = to  # type: ignore[attr-defined]
