"""Attach Python operators and array methods to Tensor.

Kept apart from ``core/tensor.py`` so that the core never imports the ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import state
from chainrule.core.tensor import Tensor
from chainrule.ops import binary, nondiff, reduce, shape, unary

__all__ = ["install"]


def _binary(prim: Any) -> tuple[Any, Any]:
    def forward(self: Tensor, other: Any) -> Any:
        return bind(prim, self, other)

    def reflected(self: Tensor, other: Any) -> Any:
        return bind(prim, other, self)

    return forward, reflected


def _check_inplace(self: Tensor, op: str) -> None:
    if self._node is None and self._requires_grad and state.grad_enabled:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad is being used in an in-place operation. "
            "Wrap the update in `with chainrule.no_grad():` (as optimizers do), or work on a copy."
        )


def inplace_update(self: Tensor, result: Any, op: str) -> Tensor:
    """Make ``self`` hold ``result``: in place when no history is involved, rebased otherwise."""
    _check_inplace(self, op)
    if isinstance(result, Tensor) and (result._node is not None or state.forward):
        # (Forward accumulators key tangents by the data array, so under forward mode the tensor
        # must take the result's array, not copy values into its old one.)
        # Recording: ``self`` takes the new history. Its old array is left untouched, so values
        # saved by earlier ops stay valid.
        if result._data.shape != self._data.shape:
            raise ValueError(
                f"{op}: the result has shape {result.shape} but the tensor has shape {self.shape}; "
                "an in-place op cannot change the shape"
            )
        self._data = result._data.astype(self._data.dtype, copy=False)
        self._node = result._node
        self._requires_grad = result._requires_grad
        self._version += 1
        return self
    data = result._data if isinstance(result, Tensor) else np.asarray(result)
    try:
        np.copyto(self._data, data, casting="same_kind")
    except ValueError as exc:
        raise ValueError(
            f"{op}: cannot write a result of shape {data.shape} into a tensor of shape "
            f"{self.shape}: {exc}"
        ) from None
    except TypeError as exc:
        raise TypeError(f"{op}: cannot write {data.dtype} values into a {self.dtype} tensor: {exc}") from None
    self._version += 1
    return self


def _alias(t: Tensor) -> Tensor:
    """Another Tensor object for the same value and history, with its own version counter.

    A recorded in-place op saves this alias, not ``self``: ``self`` then moves on to the new
    value and history, while the alias keeps what the op's rule needs.
    """
    alias = t.detach()
    # The same array object, not detach's new view: forward accumulators find tangents by array.
    alias._data = t._data
    alias._node = t._node
    alias._requires_grad = t._requires_grad
    return alias


def _records(self: Tensor, other: Any) -> bool:
    """Whether an op on these operands would be recorded (or seen by a transform)."""
    if state.busy:
        return True
    return state.grad_enabled and (
        self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
    )


def _inplace(prim: Any, name: str, with_alpha: bool = False) -> Any:
    ufunc = prim.impl if isinstance(prim.impl, np.ufunc) else None

    def method(self: Tensor, other: Any, *, alpha: Any = None) -> Tensor:
        _check_inplace(self, name)
        if alpha is not None:
            if not with_alpha:
                raise TypeError(f"{name}() got an unexpected keyword argument 'alpha'")
            other = other * alpha
        if ufunc is not None and not _records(self, other):
            # Nothing to record: write straight into the buffer, as NumPy's `a -= b` does.
            data = other._data if isinstance(other, Tensor) else other
            if np.broadcast_shapes(np.shape(data), self._data.shape) == self._data.shape:
                try:
                    ufunc(self._data, data, out=self._data, casting="same_kind")
                except TypeError as exc:
                    raise TypeError(
                        f"{name}: cannot write {np.result_type(self._data, data)} values into a "
                        f"{self.dtype} tensor: {exc}"
                    ) from None
                self._version += 1
                return self
        source = _alias(self) if state.grad_enabled else self
        return inplace_update(self, bind(prim, source, other), name)

    method.__name__ = name
    return method


def install() -> None:
    T = Tensor
    for name, prim in [
        ("add", binary.add_p),
        ("sub", binary.sub_p),
        ("mul", binary.mul_p),
        ("truediv", binary.div_p),
        ("pow", binary.pow_p),
        ("mod", binary.mod_p),
        ("floordiv", nondiff.floor_divide_p),
        ("eq", nondiff.equal_p),
        ("ne", nondiff.not_equal_p),
        ("lt", nondiff.less_p),
        ("le", nondiff.less_equal_p),
        ("gt", nondiff.greater_p),
        ("ge", nondiff.greater_equal_p),
        ("and", nondiff.logical_and_p),
        ("or", nondiff.logical_or_p),
        ("xor", nondiff.logical_xor_p),
    ]:
        forward, reflected = _binary(prim)
        setattr(T, f"__{name}__", forward)
        if name not in ("eq", "ne", "lt", "le", "gt", "ge"):
            setattr(T, f"__r{name}__", reflected)
    T.__neg__ = lambda self: bind(unary.neg_p, self)
    T.__pos__ = lambda self: self
    T.__abs__ = lambda self: bind(unary.abs_p, self)
    T.__invert__ = lambda self: bind(nondiff.logical_not_p, self)
    T.__iadd__ = _inplace(binary.add_p, "__iadd__")
    T.__isub__ = _inplace(binary.sub_p, "__isub__")
    T.__imul__ = _inplace(binary.mul_p, "__imul__")
    T.__itruediv__ = _inplace(binary.div_p, "__itruediv__")
    T.add_ = _inplace(binary.add_p, "add_", with_alpha=True)
    T.sub_ = _inplace(binary.sub_p, "sub_", with_alpha=True)
    T.subtract_ = _inplace(binary.sub_p, "subtract_", with_alpha=True)
    T.mul_ = _inplace(binary.mul_p, "mul_")
    T.div_ = _inplace(binary.div_p, "div_")

    def zero_(self: Tensor) -> Tensor:
        _check_inplace(self, "zero_")
        self._data[...] = 0
        self._version += 1
        return self

    def copy_(self: Tensor, src: Any) -> Tensor:
        return inplace_update(self, bind(shape.astype_p, src, dtype=self._data.dtype) if isinstance(src, Tensor) and src._node is not None else src, "copy_")

    def fill_(self: Tensor, value: Any) -> Tensor:
        _check_inplace(self, "fill_")
        self._data[...] = value
        self._version += 1
        return self

    T.zero_ = zero_
    T.copy_ = copy_
    T.fill_ = fill_

    # Array methods mirror the module functions.
    T.sum = lambda self, axis=None, keepdims=False: reduce.sum(self, axis, keepdims)
    T.reshape = lambda self, *shp: shape.reshape(self, *shp)
    T.view = T.reshape
    T.flatten = lambda self, start_dim=0, end_dim=-1: shape.flatten(self, start_dim, end_dim)
    T.transpose = lambda self, *axes: shape.transpose(
        self, axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else (axes or None)
    )
    T.T = property(lambda self: bind(shape.transpose_p, self, axes=None))
    T.mT = property(lambda self: shape.transpose(self, tuple(range(self.ndim - 2)) + (self.ndim - 1, self.ndim - 2)))
    T.astype = lambda self, dtype: shape.astype(self, dtype)
    T.broadcast_to = lambda self, shp: shape.broadcast_to(self, shp)
    T.expand_dims = lambda self, axis: shape.expand_dims(self, axis)
    T.clone = lambda self: bind(binary.mul_p, self, 1) if self._requires_grad else _copy(self)
    T.argmax = lambda self, axis=None, keepdims=False: nondiff.argmax(self, axis, keepdims)
    T.argmin = lambda self, axis=None, keepdims=False: nondiff.argmin(self, axis, keepdims)
    T.any = lambda self, axis=None, keepdims=False: Tensor(np.any(self._data, axis=axis, keepdims=keepdims))
    T.all = lambda self, axis=None, keepdims=False: Tensor(np.all(self._data, axis=axis, keepdims=keepdims))
    for fname in ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "sqrt", "square",
                  "relu", "sign", "abs", "log1p", "expm1", "sinh", "cosh", "reciprocal"):  # fmt: skip
        setattr(T, fname, getattr(unary, fname))
    T.clip = lambda self, min=None, max=None: binary.clip(self, min, max)  # noqa: A002
    T.clamp = T.clip


def _copy(t: Tensor) -> Tensor:
    return Tensor(t._data.copy())
