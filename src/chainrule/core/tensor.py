"""Tensor: a NumPy array with an autodiff history.

Operators (``+``, ``@``, ``.sum()``...) are attached by ``chainrule.ops`` when it is imported, so
this module never imports the ops and no import cycle appears.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["Tensor", "DIFFERENTIABLE_KINDS"]

#: NumPy dtype kinds whose tensors can require grad.
DIFFERENTIABLE_KINDS = "f"

_SUPPORTED_KINDS = "fiub"


def _check_dtype(data: np.ndarray, where: str) -> None:
    if data.dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(
            f"{where}: unsupported dtype {data.dtype}; chainrule tensors hold float32/float64, "
            "integer or bool data. Convert with np.asarray(data, dtype=np.float64) first."
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

    __slots__ = ("_data", "_node", "_requires_grad", "grad", "_version", "_hooks", "__weakref__")

    # Let NumPy defer to Tensor in mixed expressions like `ndarray * tensor`.
    __array_priority__ = 1000

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data._data
        try:
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
        self._version = 0
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
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self._data)):
            yield self[i]  # type: ignore[index]

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory; the result is outside the graph)."""
        return self._data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to a Python scalar, "
                f"this one has shape {self._data.shape}"
            )
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and dtype != self._data.dtype:
            return self._data.astype(dtype)
        return self._data

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.dtype}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self._data.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(str(self._data), spec)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ autodiff state
    @property
    def requires_grad(self) -> bool:
        """True for a leaf that asked for gradients and for every tensor computed from one."""
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
        if flag and self._data.dtype.kind not in DIFFERENTIABLE_KINDS:
            raise TypeError(
                f"requires_grad: only floating-point tensors can require gradients, this one is "
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
        return self._node is None

    @property
    def grad_fn(self) -> Any:
        """The node that produced this tensor (``None`` for a leaf)."""
        return self._node

    def detach(self) -> Tensor:
        """A tensor with the same data (shared memory) and no history.

        The data is a new NumPy view of the same memory: forward-mode accumulators look
        tangents up by array, so a detached tensor carries no tangent either.
        """
        out = Tensor.__new__(Tensor)
        out._data = self._data.view()
        out._node = None
        out._requires_grad = False
        out.grad = None
        out._version = 0
        out._hooks = None
        return out

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward``."""
        if self._node is None:
            if not self._requires_grad:
                raise RuntimeError(
                    "retain_grad: can't retain_grad on a tensor that has requires_grad=False"
                )
            return
        self._node.out_ref = weakref.ref(self)

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
        from chainrule.core.engine import run_backward

        run_backward(self, gradient, retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extras = [f"dtype={self._data.dtype}"]
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.prim.grad_fn_name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}, {', '.join(extras)})"

    def __str__(self) -> str:
        return self.__repr__()


class _HookHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
