"""Tensor: a NumPy array with an autodiff history.

Operators (``+``, ``@``, ``.sum()``...) are attached by ``chainrule.ops`` when it is imported, so
this module never imports the ops and no import cycle appears.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from chainrule.core.backend import dtype_kind, is_foreign, library_name, namespace_of, to_numpy
from chainrule.core.modes import BUSY_THREADS, state

__all__ = ["Tensor", "DIFFERENTIABLE_KINDS", "wrap_array", "share_version", "bump_version", "CUT",
           "cut_by"]

#: NumPy dtype kinds whose tensors can require grad (complex under JAX's convention).
DIFFERENTIABLE_KINDS = "fc"

_SUPPORTED_KINDS = "fciub"


def _check_dtype(data: np.ndarray, where: str) -> None:
    if dtype_kind(data.dtype) not in _SUPPORTED_KINDS:
        raise TypeError(
            f"{where}: unsupported dtype {data.dtype}; chainrule tensors hold float32/float64, "
            "complex64/complex128, integer or bool data. Convert with np.asarray(data, dtype=np.float64) first."
        )


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.], dtype=float64)
    """

    # ``_vc`` is the version counter of the tensor's storage: None until the storage is shared
    # or written (then a one-element list, shared by every alias: views, ``detach()``). ``_view``
    # is None, or ``(base, chain, base_node)`` for a view: the root tensor whose storage it
    # shows, the view ops that lead there, and the base's history when this view's was taken.
    # ``_view`` also carries, as ``(CUT, op_name, None)``, the non-differentiable op that cut an
    # untracked value off a tracked input (floor, argmax), so that "why does it not require
    # grad?" gets the true answer. One slot for both: every op reads it anyway (a view's history
    # may be stale), so the cut marker costs no extra read or store per op.
    __slots__ = ("_data", "_node", "_requires_grad", "grad", "_vc", "_view", "_hooks",
                 "__weakref__")  # fmt: skip

    # Let NumPy defer to Tensor in mixed expressions like `ndarray * tensor`.
    __array_priority__ = 1000

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data._data
        if is_foreign(data):
            # Another array library's array (CuPy, Dask, array-api-strict): kept as it is, in
            # its own library (a Dask array stays lazy). Moving it is explicit: cr.asarray(like=).
            arr = data if dtype is None else namespace_of(data).astype(data, dtype)
        else:
            arr = None
        try:
            if arr is None:
                arr = np.array(data, dtype=dtype)
        except ValueError as exc:
            if "inhomogeneous" not in str(exc):
                raise
            raise ValueError(
                "tensor: the nested lists are ragged (their rows have different lengths), so "
                "they have no array shape; give every row the same length (pad the short ones)"
            ) from None
        _check_dtype(arr, "tensor")
        self._data = arr
        self._node = None
        self._requires_grad = False
        self.grad: Tensor | None = None
        self._vc: list[int] | None = None
        self._view: tuple[Tensor, tuple[Any, ...], Any] | None = None
        self._hooks: list[Callable[[Tensor], Tensor | None]] | None = None
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------------ array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return int(self._data.shape[0])

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(int(self._data.shape[0])):
            yield self[i]  # type: ignore[index]

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory; the result is outside the graph).

        A tensor of another library is converted: a Dask array is computed, a CuPy array copied
        to the host.
        """
        if BUSY_THREADS and state.busy:
            _host_read(self, "the value (.numpy())")
        return _host(self._data)

    def _array(self) -> np.ndarray:
        """``numpy()`` for the library's own reads of a tensor's facts (its shape, dtype, printing):
        not a read of the value into the user's Python, so a tracer does not refuse it."""
        return _host(self._data)

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python scalar, "
                f"this one has shape {self._data.shape}"
            )
        if BUSY_THREADS and state.busy:
            _host_read(self, "the value (.item(), float(), int())")
        return _host(self._data).item()

    def tolist(self) -> Any:
        if BUSY_THREADS and state.busy:
            _host_read(self, "the value (.tolist())")
        return _host(self._data).tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if BUSY_THREADS and state.busy:
            _host_read(self, "the value (np.asarray(), np.array())")
        data = _host(self._data)
        if dtype is not None and dtype != data.dtype:
            return data.astype(dtype)
        return data

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if dtype_kind(self._data.dtype) not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self._data.shape} is ambiguous; "
                "use .any() or .all()"
            )
        if BUSY_THREADS and state.busy:
            _host_read(self, "the truth value")
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return format(str(self._data), spec)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ autodiff state
    @property
    def requires_grad(self) -> bool:
        """True for a leaf that asked for gradients and for every tensor computed from one."""
        view = self._view
        if view is not None and view[0]._node is not view[2]:
            _refresh_view(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._node is not None:
            if not flag:
                raise RuntimeError(
                    "requires_grad: you can only change requires_grad flags of leaf tensors. "
                    "Use .detach() to get a tensor outside the graph."
                )
            return
        if flag and dtype_kind(self._data.dtype) not in DIFFERENTIABLE_KINDS:
            raise TypeError(
                f"requires_grad: only floating-point or complex tensors can require gradients, this one is "
                f"{self._data.dtype}. Convert it first with .astype(np.float64)."
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op produced this tensor."""
        view = self._view
        if view is not None and view[0]._node is not view[2]:
            _refresh_view(self)
        return self._node is None

    @property
    def grad_fn(self) -> Any:
        """The node that produced this tensor (``None`` for a leaf)."""
        view = self._view
        if view is not None and view[0]._node is not view[2]:
            _refresh_view(self)
        return self._node

    @property
    def _version(self) -> int:
        """How many in-place writes the storage has seen (shared by views and aliases)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [value]
        else:
            vc[0] = value

    @property
    def _is_view(self) -> bool:
        view = self._view
        return view is not None and view[0] is not CUT

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        # PyTorch's rule: only leaves can be deep-copied. Copying a non-leaf would mean copying
        # its history, which is neither meaningful nor safe (a long history would recurse).
        if self._node is not None:
            raise RuntimeError(
                f"deepcopy: only tensors created by the user (graph leaves) can be deep-copied; "
                f"this tensor of shape {self.shape} was computed by {self._node.name}. Deep-copy "
                "x.detach() (or x.detach().clone()) instead, then call requires_grad_() if needed."
            )
        import copy

        cls = type(self)
        out = cls.__new__(cls)
        memo[id(self)] = out
        for klass in cls.__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name == "__weakref__" or not hasattr(self, name):
                    continue
                object.__setattr__(out, name, copy.deepcopy(getattr(self, name), memo))
        if hasattr(self, "__dict__"):
            out.__dict__.update(copy.deepcopy(self.__dict__, memo))
        out._data = self._data.copy()
        out._vc = None
        out._view = None
        out._node = None
        return out

    def detach(self) -> Tensor:
        """A tensor with the same data (shared memory) and no history.

        The data is a new NumPy view of the same memory: forward-mode accumulators look
        tangents up by array, so a detached tensor carries no tangent either.
        """
        data = self._data  # (another library's array: a new array object, as views have no meaning there)
        out = wrap_array(data.view() if type(data) is _ndarray else data[...])
        # An alias: in-place writes through it are writes to this tensor's storage.
        out._vc = share_version(self)
        return out

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        if self._node is None:
            if not self._requires_grad:
                raise RuntimeError(
                    "retain_grad: can't retain_grad on a tensor that has requires_grad=False"
                )
            return
        node = self._node
        node.out_ref = weakref.ref(self)
        if node.hooks is None:
            node.hooks = []  # (the sweeps test hooks only: see Node.hooks)

    @property
    def retains_grad(self) -> bool:
        node = self._node
        return node is not None and node.out_ref is not None and node.out_ref() is self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one.

        Returns a handle whose ``remove()`` unregisters the hook.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self._node is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = []
            hooks = self._node.hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Any = None,
    ) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves it depends on.

        ``gradient`` is required for a non-scalar tensor (the vector in the vector-Jacobian
        product). ``retain_graph`` keeps the saved values for another backward;
        ``create_graph`` records the backward pass so its result can be differentiated again.
        """
        from chainrule.core.entry import run_backward

        run_backward(self, gradient, retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        data = self._data
        if type(data) is _ndarray:
            body = np.array2string(data, separator=", ", prefix="tensor(")
        else:
            body = _foreign_body(data)
        extras = [f"dtype={self._data.dtype}"]
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.grad_fn_name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    def __str__(self) -> str:
        return self.__repr__()


#: Called as ``hook(tensor, what)`` when a tensor's value is read into Python (``item``,
#: ``float``, ``int``, ``bool``, ``tolist``, ``numpy()``, ``np.asarray``) while an interpreter is on
#: this thread's stack. A tracing interpreter (``cr.jit``) refuses the reads whose value a replay
#: would not see again. The library's own reads of a tensor's facts (shape, dtype, printing) go
#: through ``Tensor._array``, which is not hooked.
HOST_READ_HOOKS: list[Callable[[Tensor, str], None]] = []


def _host_read(t: Tensor, what: str) -> None:
    for hook in HOST_READ_HOOKS:
        hook(t, what)


def _host(data: Any) -> np.ndarray:
    return data if type(data) is _ndarray else to_numpy(data)


def _foreign_body(data: Any) -> str:
    """How another library's array shows inside ``tensor(...)``: a lazy (Dask) array by its shape
    and chunks, never computed by printing; others by their values."""
    if hasattr(data, "compute"):
        return f"<lazy {library_name(data)} array, shape={tuple(data.shape)}>"
    try:
        return np.array2string(to_numpy(data), separator=", ", prefix="tensor(")
    except Exception:  # a library that cannot hand its values over: show what it is
        return f"<{library_name(data)} array, shape={tuple(data.shape)}>"


def wrap_array(data: Any) -> Tensor:
    """A fresh Tensor around ``data`` (an ndarray is not copied), with no history.

    The one place that builds Tensors without ``__init__``'s conversions: ops call it for every
    result, so it sets the slots directly.
    """
    if type(data) is not _ndarray and not is_foreign(data):
        data = np.asarray(data)
    t = _new(Tensor)
    t._data = data
    t._node = None
    t._requires_grad = False
    t.grad = None
    t._vc = None
    t._view = None
    t._hooks = None
    return t


_new = object.__new__
_ndarray = np.ndarray


class _CutMark:
    """The first item of a cut marker in ``Tensor._view``: not a base, never stale."""

    __slots__ = ()
    _node = None
    _requires_grad = False

    def __repr__(self) -> str:
        return "CUT"


#: ``Tensor._view`` is ``(CUT, op_name, None)`` for a value a non-differentiable op cut off a
#: tracked input. ``CUT._node is None``, so the views' staleness check passes it by.
CUT = _CutMark()


def cut_by(t: Tensor) -> str | None:
    """The name of the non-differentiable op that cut ``t`` off a tracked input, if any."""
    view = t._view
    return view[1] if view is not None and view[0] is CUT else None


def share_version(t: Tensor) -> list[int]:
    """``t``'s storage version counter, created on first use, for an alias to share."""
    vc = t._vc
    if vc is None:
        vc = t._vc = [0]
    return vc


def bump_version(t: Tensor) -> None:
    """Record an in-place write to ``t``'s storage (every alias sees the new version)."""
    vc = t._vc
    if vc is None:
        t._vc = [1]
    else:
        vc[0] += 1


def _refresh_view(t: Tensor) -> None:
    # Late import: the view machinery lives in dispatch, which imports this module.
    from chainrule.core.dispatch import refresh_view

    refresh_view(t)


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
