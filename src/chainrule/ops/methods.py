"""Attach Python operators and array methods to Tensor.

Kept apart from ``core/tensor.py`` so that the core never imports the ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import library_name
from chainrule.core.dispatch import ALIAS_HOOKS, bind
from chainrule.core.modes import state
from chainrule.core.stack import tracked
from chainrule.core.tensor import CUT, Tensor, bump_version, wrap_array
from chainrule.ops import binary, nondiff, reduce, shape, unary

__all__ = ["install", "inplace_update", "check_inplace"]


def _binary(prim: Any) -> tuple[Any, Any]:
    def forward(self: Tensor, other: Any) -> Any:
        return bind(prim, self, other)

    def reflected(self: Tensor, other: Any) -> Any:
        return bind(prim, other, self)

    return forward, reflected


def check_inplace(self: Tensor, op: str) -> None:
    """Refuse in-place writes that PyTorch refuses, before anything is written."""
    if type(self._data) is not np.ndarray:
        # Autodiff's in-place checks (versions, views) read NumPy's view facts; other libraries
        # (a Dask array is immutable anyway) get the out-of-place form.
        raise RuntimeError(
            f"{op}: in-place operations are supported on NumPy tensors only; this one holds a "
            f"{library_name(self._data)} array of shape {tuple(self.shape)}. Write the out-of-place "
            "form instead (x = x + y, cr.where(mask, value, x))."
        )
    if state.grad_enabled:
        if self._node is None and self._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place operation. "
                "Wrap the update in `with chainrule.no_grad():` (as optimizers do), or work on a "
                "copy."
            )
        view = self._view
        if view is not None and view[0]._node is None and view[0]._requires_grad:
            raise RuntimeError(
                f"{op}: a view of a leaf tensor that requires grad is being used in an in-place "
                f"operation (the view has shape {self.shape}, its base {view[0].shape}). Write "
                "under `with chainrule.no_grad():`, or work on a copy (.clone())."
            )
    if not self._data.flags.writeable:
        raise RuntimeError(
            f"{op}: unsupported operation: the tensor of shape {self.shape} is a read-only view "
            "(from broadcast_to/expand, where several elements share one memory location). "
            "Call .clone() on it before writing in place."
        )


def inplace_update(self: Tensor, result: Any, op: str) -> Tensor:
    """Make ``self`` hold ``result``, writing into its storage (every alias sees the values).

    When ``result`` carries a history, ``self`` takes it; when ``self`` is a view, its base takes
    the history of "base with the view's entries replaced" (PyTorch's CopySlices), so gradients
    flow through writes made through views. The storage's version counter is bumped, so nodes
    that saved the old values refuse to run.
    """
    check_inplace(self, op)
    recorded = isinstance(result, Tensor) and (result._node is not None or (state.busy and tracked(result)))
    data = result._data if isinstance(result, Tensor) else np.asarray(result)
    if not recorded and state.grad_enabled and self.requires_grad:
        # A constant written over a value with a history (y.zero_(), y.fill_(1)): record it,
        # so that the old history stops receiving gradient (PyTorch's ZeroBackward).
        result = bind(indexing_put(), _alias(self), data, index=(Ellipsis,))
        data = result._data
        recorded = True
    if recorded and data.shape != self._data.shape:
        raise ValueError(
            f"{op}: the result has shape {data.shape} but the tensor has shape {self.shape}; "
            "an in-place op cannot change the shape"
        )
    view = self._view
    if view is not None and view[0] is CUT:
        view = None  # (a cut marker, not a view)
    if recorded and view is not None:
        _rebase_base(self, result, op)
    _write(self, data, op)
    if recorded:
        self._node = result._node
        self._requires_grad = result._requires_grad
        self._view = None if view is None else (view[0], view[1], view[0]._node)
        for hook in ALIAS_HOOKS:
            hook(self, result)
    return self


def indexing_put() -> Any:
    # ops.indexing imports this module; look the primitive up when first needed.
    from chainrule.core.primitive import registry

    return registry["index_put"]


def _write(self: Tensor, data: Any, op: str) -> None:
    try:
        np.copyto(self._data, data, casting="same_kind")
    except ValueError as exc:
        raise ValueError(
            f"{op}: cannot write a result of shape {np.shape(data)} into a tensor of shape "
            f"{self.shape}: {exc}"
        ) from None
    except TypeError as exc:
        raise TypeError(
            f"{op}: cannot write {np.asarray(data).dtype} values into a {self.dtype} tensor: {exc}"
        ) from None
    bump_version(self)


def _rebase_base(view_tensor: Tensor, value: Tensor, op: str) -> None:
    """Give the base of ``view_tensor`` the history of its new value: itself with the view's
    entries replaced by ``value``, built from each view op's write-back rule."""
    base, chain, _ = view_tensor._view  # type: ignore[misc]
    new_base = _write_back(base, chain, value, op)
    base._node = new_base._node
    base._requires_grad = new_base._requires_grad
    for hook in ALIAS_HOOKS:
        hook(base, new_base)


def _write_back(base: Tensor, chain: tuple[Any, ...], value: Any, op: str) -> Any:
    if not chain:
        return value
    (prim, params), rest = chain[0], chain[1:]
    if not callable(prim.view):
        raise RuntimeError(
            f"{op}: cannot record an in-place write through a {prim.name} view (of shape "
            f"{tuple(np.shape(value))}); call .clone() on the view first, or use the out-of-place op"
        )
    inner = bind(prim, base, **params)
    return prim.view(base, _write_back(inner, rest, value, op), **params)


def _alias(t: Tensor) -> Tensor:
    """Another Tensor object for the same value and history, with its own version counter.

    A recorded in-place op computes its result from this alias, not from ``self``; if the op's
    node keeps the alias for its rule, :func:`_keep_old_value` gives it a copy before ``self``
    is overwritten.
    """
    alias = wrap_array(t._data)
    # The same array object, not a new view: forward accumulators find tangents by array.
    alias._node = t._node
    alias._requires_grad = t._requires_grad
    return alias


def _keep_old_value(result: Any, source: Tensor) -> None:
    """If ``result``'s node saved ``source`` (the old value), give it its own copy of the data.

    PyTorch saves the original value of ``self`` for in-place ops whose derivative reads it
    (``y.mul_(w)``); without the copy, the write would change what the rule reads.
    """
    node = result._node if isinstance(result, Tensor) else None
    if node is None or node.saved is None or not any(s is source for s in node.saved):
        return
    old = source._data.copy()
    node.saved_data = tuple(old if s is source else d for s, d in zip(node.saved, node.saved_data))
    source._data = old


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
        check_inplace(self, name)
        if alpha is not None:
            if not with_alpha:
                raise TypeError(f"{name}() got an unexpected keyword argument 'alpha'")
            other = other * alpha
        if ufunc is not None and not _records(self, other):
            # Nothing to record: write straight into the buffer, as NumPy's `a -= b` does.
            data = other._data if isinstance(other, Tensor) else other
            shape = self._data.shape
            dshape = data.shape if type(data) is np.ndarray else np.shape(data)
            if dshape == shape or np.broadcast_shapes(dshape, shape) == shape:
                try:
                    ufunc(self._data, data, out=self._data, casting="same_kind")
                except TypeError as exc:
                    raise TypeError(
                        f"{name}: cannot write {np.result_type(self._data, data)} values into a "
                        f"{self.dtype} tensor: {exc}"
                    ) from None
                bump_version(self)
                return self
        source = _alias(self)
        result = bind(prim, source, other)
        _keep_old_value(result, source)
        return inplace_update(self, result, name)

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
        return inplace_update(self, np.zeros((), dtype=self._data.dtype), "zero_")

    def copy_(self: Tensor, src: Any) -> Tensor:
        return inplace_update(self, bind(shape.astype_p, src, dtype=self._data.dtype) if isinstance(src, Tensor) and src._node is not None else src, "copy_")

    def fill_(self: Tensor, value: Any) -> Tensor:
        if isinstance(value, Tensor) and value._node is not None:
            value = bind(binary.add_p, bind(binary.mul_p, self, 0.0), value)
        return inplace_update(self, value, "fill_")

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
    T.clone = _clone
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


def _clone(self: Tensor) -> Tensor:
    """A copy that keeps every derivative ``self`` carries: recorded for reverse mode, and seen
    by the interpreters (a forward accumulator gives it ``self``'s tangent, a tape records it)."""
    if self._requires_grad or (state.busy and tracked(self)):
        return bind(binary.mul_p, self, 1)
    return _copy(self)
