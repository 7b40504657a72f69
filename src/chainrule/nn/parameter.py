"""Parameter: a tensor that a Module registers as trainable."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad and that a :class:`Module` collects in ``parameters()``.

    Built from a Tensor it shares that tensor's array (no copy) and drops its history; built from
    anything else (lists, NumPy arrays) it copies the data.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> p = nn.Parameter(cr.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    >>> print(p)
    Parameter containing:
    tensor([0., 0.], dtype=float64, requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float64)
        if isinstance(data, Tensor):
            array = data._data
        else:
            array = np.array(data)
            if array.dtype.kind in "iub" and requires_grad:
                # Integer data would make a parameter that can never be trained.
                raise TypeError(
                    f"Parameter: got {array.dtype} data; a trainable parameter needs floating-point "
                    "values. Pass float data (np.asarray(data, dtype=np.float64)) or "
                    "requires_grad=False."
                )
        super().__init__(array, requires_grad=requires_grad)
        # Share, do not copy, the array of a tensor that was passed in.
        self._data = array

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Parameter, (np.array(self._data), self._requires_grad))

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        copy = Parameter(np.array(self._data), requires_grad=self._requires_grad)
        memo[id(self)] = copy
        return copy
