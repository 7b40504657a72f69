"""NumPy interoperability: ``np.sin(t)``, ``ndarray * t`` and ``np.mean(t, axis=0)`` dispatch to
chainrule's ops.

A Tensor defines ``__array_ufunc__`` and ``__array_function__``, so NumPy hands every ufunc call
and every NumPy function call that involves a Tensor to chainrule. Those with a chainrule
counterpart (:data:`UFUNC_PRIMITIVES`, :data:`ARRAY_FUNCTIONS`) run it, and the result stays
differentiable. The others run NumPy's own code on the values; when a tensor that carries a
derivative (it requires grad, has a history, is watched by a recording tape or carries a
forward tangent, or is batched by ``vmap``) would lose it that way, they raise instead.

>>> import numpy as np
>>> import chainrule as cr
>>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = np.mean(x ** 2, axis=0)
>>> y
tensor([ 5., 10.], dtype=float64, grad_fn=<MeanBackward0>)
>>> y.sum().backward()
>>> x.grad
tensor([[1., 2.],
        [3., 4.]], dtype=float64)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.modes import state
from chainrule.core.stack import tracked
from chainrule.core.tensor import Tensor
from chainrule.ops import binary, creation, fft, indexing, linalg, nondiff, reduce, unary
from chainrule.ops import shape as shape_ops

__all__ = ["install", "UFUNC_PRIMITIVES", "ARRAY_FUNCTIONS"]

UFUNC_PRIMITIVES: dict[Any, Any] = {
    np.add: binary.add_p, np.subtract: binary.sub_p, np.multiply: binary.mul_p,
    np.true_divide: binary.div_p, np.power: binary.pow_p, np.arctan2: binary.arctan2_p,
    np.maximum: binary.maximum_p, np.minimum: binary.minimum_p, np.mod: binary.mod_p,
    np.remainder: binary.mod_p, np.floor_divide: nondiff.floor_divide_p,
    np.negative: unary.neg_p, np.square: unary.square_p, np.sqrt: unary.sqrt_p,
    np.reciprocal: unary.reciprocal_p, np.exp: unary.exp_p, np.expm1: unary.expm1_p,
    np.log: unary.log_p, np.log1p: unary.log1p_p, np.log2: unary.log2_p, np.log10: unary.log10_p,
    np.sin: unary.sin_p, np.cos: unary.cos_p, np.tan: unary.tan_p, np.arcsin: unary.arcsin_p,
    np.arccos: unary.arccos_p, np.arctan: unary.arctan_p, np.sinh: unary.sinh_p,
    np.cosh: unary.cosh_p, np.tanh: unary.tanh_p, np.absolute: unary.abs_p,
    np.sign: unary.sign_p, np.equal: nondiff.equal_p, np.not_equal: nondiff.not_equal_p,
    np.less: nondiff.less_p, np.less_equal: nondiff.less_equal_p, np.greater: nondiff.greater_p,
    np.greater_equal: nondiff.greater_equal_p, np.logical_and: nondiff.logical_and_p,
    np.logical_or: nondiff.logical_or_p, np.logical_xor: nondiff.logical_xor_p,
    np.logical_not: nondiff.logical_not_p, np.isfinite: nondiff.isfinite_p,
    np.isnan: nondiff.isnan_p, np.isinf: nondiff.isinf_p, np.floor: nondiff.floor_p,
    np.ceil: nondiff.ceil_p, np.rint: nondiff.round_p,
}  # fmt: skip


def _refuse_out(name: str, call: str) -> TypeError:
    return TypeError(
        f"{name}: out= is not supported with chainrule tensors (writing into an existing array "
        "is an in-place update that autograd does not record). Assign the result instead, "
        f"e.g. {call}"
    )


def _array_ufunc(self: Tensor, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if any(o is not None for o in kwargs.get("out", ())):
        # NumPy passes out= as a tuple; with a Tensor in it, running the ufunc on raw inputs
        # would hand the Tensor back to this method (endless recursion).
        name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        args = "x" if ufunc.nin == 1 or method != "__call__" else ", ".join(f"x{i + 1}" for i in range(ufunc.nin))
        target = "y" if ufunc.nout == 1 else ", ".join(f"y{i + 1}" for i in range(ufunc.nout))
        raise _refuse_out(name, f"{target} = np.{ufunc.__name__}{'' if method == '__call__' else '.' + method}({args})")
    prim = UFUNC_PRIMITIVES.get(ufunc)
    if method == "__call__" and prim is not None and not kwargs:
        if ufunc is np.matmul:
            return NotImplemented
        return bind(prim, *inputs)
    if method == "__call__" and ufunc is np.matmul and not kwargs:
        from chainrule.core.primitive import registry

        if "matmul" in registry:
            return bind(registry["matmul"], *inputs)
    # Anything else (out=, reduce, accumulate, an unsupported ufunc) runs on plain arrays and
    # leaves the graph: say so rather than silently dropping gradients.
    if any(isinstance(x, Tensor) and x._requires_grad for x in inputs):
        raise TypeError(
            f"numpy.{ufunc.__name__}.{method} is not differentiable in chainrule; use the "
            "chainrule function of the same name, or call .detach().numpy() first to leave the graph"
        )
    raw = [x._data if isinstance(x, Tensor) else x for x in inputs]
    out = getattr(ufunc, method)(*raw, **kwargs)
    return Tensor(out) if isinstance(out, np.ndarray) else out


# ---------------------------------------------------------------- NumPy functions
class _NumPyDefault(Exception):
    """A handler's way of saying: this call (an ``out=``, a ``where=``...) is NumPy's to run."""


_NO = object()


def _plain_only(**given: Any) -> None:
    for key, value in given.items():
        if value is not _NO and value is not None:
            raise _NumPyDefault(f"{key}=")


def _reduction(native: Callable[..., Any]) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
                initial: Any = _NO, where: Any = _NO) -> Any:  # fmt: skip
        _plain_only(out=out, initial=initial, where=where)
        x = a if dtype is None else shape_ops.astype(a, dtype)
        return native(x, _axis(axis), bool(keepdims))

    return handler


def _extreme(native: Callable[..., Any]) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
                initial: Any = _NO, where: Any = _NO) -> Any:  # fmt: skip
        _plain_only(out=out, initial=initial, where=where)
        return native(a, _axis(axis), bool(keepdims))

    return handler


def _spread(native: Callable[..., Any]) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
                keepdims: bool = False, *, where: Any = _NO, mean: Any = _NO,
                correction: Any = _NO) -> Any:  # fmt: skip
        _plain_only(out=out, where=where, mean=mean)
        if correction is not _NO:
            ddof = correction
        x = a if dtype is None else shape_ops.astype(a, dtype)
        return native(x, _axis(axis), int(ddof), bool(keepdims))

    return handler


def _axis(axis: Any) -> Any:
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)


def _np_reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None) -> Any:
    target = shape if shape is not None else newshape
    if order != "C" or target is None or copy is not None:
        raise _NumPyDefault("order=" if order != "C" else "copy=")
    return shape_ops.reshape(a, target)


def _np_concatenate(arrays: Any, axis: Any = 0, out: Any = None, *, dtype: Any = None,
                    casting: Any = _NO) -> Any:  # fmt: skip
    _plain_only(out=out, dtype=dtype, casting=casting)
    return shape_ops.concatenate(list(arrays), axis)


def _np_stack(arrays: Any, axis: int = 0, out: Any = None, *, dtype: Any = None, casting: Any = _NO) -> Any:
    _plain_only(out=out, dtype=dtype, casting=casting)
    return shape_ops.stack(list(arrays), int(axis))


def _np_where(condition: Any, *xy: Any) -> Any:
    if len(xy) != 2:
        raise _NumPyDefault("one argument")
    return binary.where(condition, xy[0], xy[1])


def _np_clip(a: Any, a_min: Any = _NO, a_max: Any = _NO, out: Any = None, *, min: Any = _NO,  # noqa: A002
             max: Any = _NO, **kwargs: Any) -> Any:  # noqa: A002 # fmt: skip
    _plain_only(out=out, **kwargs)
    low = a_min if a_min is not _NO else (None if min is _NO else min)
    high = a_max if a_max is not _NO else (None if max is _NO else max)
    return binary.clip(a, low, high)


def _np_einsum(subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False, **kwargs: Any) -> Any:
    _plain_only(out=out, **kwargs)
    return linalg.einsum(subscripts, *operands)


def _np_like(native: Callable[..., Any]) -> Callable[..., Any]:
    def handler(a: Any, dtype: Any = None, order: Any = _NO, subok: Any = _NO, shape: Any = None,
                **kwargs: Any) -> Any:  # fmt: skip
        _plain_only(shape=shape, **kwargs)
        return native(a, dtype=dtype)

    return handler


def _np_full_like(a: Any, fill_value: Any, dtype: Any = None, order: Any = _NO, subok: Any = _NO,
                  shape: Any = None, **kwargs: Any) -> Any:  # fmt: skip
    _plain_only(shape=shape, **kwargs)
    return creation.full_like(a, fill_value, dtype=dtype)


def _np_squeeze(a: Any, axis: Any = None) -> Any:
    return shape_ops.squeeze(a, _axis(axis))


def _np_transpose(a: Any, axes: Any = None) -> Any:
    return shape_ops.transpose(a, None if axes is None else tuple(axes))


def _np_ravel(a: Any, order: str = "C") -> Any:
    if order != "C":
        raise _NumPyDefault("order=")
    return shape_ops.reshape(a, -1)


def _np_cumulative(native: Callable[..., Any]) -> Callable[..., Any]:
    def handler(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        _plain_only(out=out)
        x = a if dtype is None else shape_ops.astype(a, dtype)
        return native(x, None if axis is None else int(axis))

    return handler


def _np_round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    _plain_only(out=out)
    if decimals:
        raise _NumPyDefault("decimals=")
    return nondiff.round(a)


def _np_expand_dims(a: Any, axis: Any) -> Any:
    return shape_ops.expand_dims(a, axis)


def _np_swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    return shape_ops.swapaxes(a, axis1, axis2)


def _np_moveaxis(a: Any, source: Any, destination: Any) -> Any:
    return shape_ops.moveaxis(a, source, destination)


def _np_broadcast_to(array: Any, shape: Any, subok: bool = False) -> Any:
    return shape_ops.broadcast_to(array, shape)


def _np_tile(A: Any, reps: Any) -> Any:  # noqa: N803 - NumPy's argument name
    return shape_ops.tile(A, reps)


def _np_flip(m: Any, axis: Any = None) -> Any:
    return shape_ops.flip(m, axis)


def _np_roll(a: Any, shift: Any, axis: Any = None) -> Any:
    return shape_ops.roll(a, shift, axis)


def _np_take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    _plain_only(out=out)
    if mode != "raise":
        raise _NumPyDefault("mode=")
    return indexing.take(a, indices, axis)


def _np_dot(a: Any, b: Any, out: Any = None) -> Any:
    _plain_only(out=out)
    return linalg.dot(a, b)


def _np_outer(a: Any, b: Any, out: Any = None) -> Any:
    _plain_only(out=out)
    return linalg.outer(a, b)


def _np_trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None) -> Any:
    _plain_only(dtype=dtype, out=out)
    return linalg.trace(a, offset, axis1, axis2)


def _np_diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return linalg.diagonal(a, offset, axis1, axis2)


def _np_argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    _plain_only(out=out)
    return nondiff.argmax(a, axis, keepdims)


def _np_argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    _plain_only(out=out)
    return nondiff.argmin(a, axis, keepdims)


#: NumPy functions with a chainrule counterpart: ``np.mean(t, axis=0)`` runs ``chainrule.mean``.
#: Each handler takes NumPy's signature; a keyword it cannot honour (``out=``, ``where=``...)
#: hands the call back to NumPy (see :func:`_array_function`).
ARRAY_FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _reduction(reduce.sum),
    np.mean: _reduction(reduce.mean),
    np.prod: _reduction(reduce.prod),
    np.max: _extreme(reduce.max),
    np.amax: _extreme(reduce.max),
    np.min: _extreme(reduce.min),
    np.amin: _extreme(reduce.min),
    np.var: _spread(reduce.var),
    np.std: _spread(reduce.std),
    np.cumsum: _np_cumulative(reduce.cumsum),
    np.cumprod: _np_cumulative(reduce.cumprod),
    np.reshape: _np_reshape,
    np.ravel: _np_ravel,
    np.transpose: _np_transpose,
    np.squeeze: _np_squeeze,
    np.expand_dims: _np_expand_dims,
    np.swapaxes: _np_swapaxes,
    np.moveaxis: _np_moveaxis,
    np.broadcast_to: _np_broadcast_to,
    np.tile: _np_tile,
    np.flip: _np_flip,
    np.roll: _np_roll,
    np.concatenate: _np_concatenate,
    np.stack: _np_stack,
    np.where: _np_where,
    np.clip: _np_clip,
    np.take: _np_take,
    np.dot: _np_dot,
    np.outer: _np_outer,
    np.einsum: _np_einsum,
    np.trace: _np_trace,
    np.diagonal: _np_diagonal,
    np.linalg.inv: linalg.inv,
    np.linalg.det: linalg.det,
    np.linalg.solve: linalg.solve,
    # numpy.linalg's and numpy.fft's names (chainrule.linalg, chainrule.fft)
    np.linalg.norm: linalg.norm,
    np.linalg.svd: linalg.svd,
    np.linalg.eigh: linalg.eigh,
    np.linalg.eigvalsh: linalg.eigvalsh,
    np.linalg.eig: linalg.eig,
    np.linalg.eigvals: linalg.eigvals,
    np.linalg.pinv: linalg.pinv,
    np.linalg.matrix_power: linalg.matrix_power,
    np.linalg.slogdet: linalg.slogdet,
    np.linalg.cholesky: linalg.cholesky,
    np.fft.fftshift: fft.fftshift,
    np.fft.ifftshift: fft.ifftshift,
    np.round: _np_round,
    np.around: _np_round,
    np.argmax: _np_argmax,
    np.argmin: _np_argmin,
    np.zeros_like: _np_like(creation.zeros_like),
    np.ones_like: _np_like(creation.ones_like),
    np.full_like: _np_full_like,
}  # fmt: skip


def _tensors_in(value: Any, found: list[Tensor]) -> None:
    if isinstance(value, Tensor):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _tensors_in(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _tensors_in(v, found)


def _raw(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, list):
        return [_raw(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_raw(v) for v in value)
    if isinstance(value, dict):
        return {k: _raw(v) for k, v in value.items()}
    return value


def _carries_derivative(t: Tensor) -> bool:
    """Whether NumPy running on ``t``'s values would drop a derivative it carries."""
    if t._requires_grad or t._node is not None:
        return True
    if type(t).__name__ == "BatchedTensor":
        return True
    if t._data.dtype.kind != "f":
        return False
    return state.busy and tracked(t)


def _is_floating_result(out: Any) -> bool:
    if isinstance(out, (np.ndarray, np.generic)):
        return out.dtype.kind in "fc"
    if isinstance(out, float):
        return True
    if isinstance(out, (list, tuple)):
        return any(_is_floating_result(o) for o in out)
    return False


# The dialects decide what NumPy functions do with their tensors (TensorFlow computes on the
# values, PyTorch calls the tensor's method); a dialect class that does not override
# __array_function__ keeps NumPy's own behaviour rather than getting native results.
_DIALECT_PACKAGES = ("chainrule.tf", "chainrule.torch")


_NO_OUT_PARAMETER = -1
_out_positions: dict[Any, int] = {}


def _out_position(func: Any) -> int:
    """Index of ``out`` among ``func``'s positional parameters (``_NO_OUT_PARAMETER`` if none)."""
    try:
        return _out_positions[func]
    except (KeyError, TypeError):
        pass
    position = _NO_OUT_PARAMETER
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    for i, p in enumerate(params):
        if p.name == "out" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            position = i
            break
    try:
        _out_positions[func] = position
    except TypeError:
        pass
    return position


def _array_function(self: Tensor, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    out = kwargs.get("out")
    if out is None:
        position = _out_position(func)
        if 0 <= position < len(args):
            out = args[position]
    if out is not None:
        raise _refuse_out(f"numpy.{func.__name__}", f"y = np.{func.__name__}(...)")
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    if any(t.__module__.startswith(_DIALECT_PACKAGES) for t in types):
        return func._implementation(*args, **kwargs)
    handler = ARRAY_FUNCTIONS.get(func)
    name = f"{func.__module__}.{func.__name__}"
    advice = f"{name} has no chainrule counterpart: write it with chainrule functions"
    if handler is not None:
        try:
            return handler(*args, **kwargs)
        except _NumPyDefault as unsupported:
            advice = f"chainrule's {func.__name__} does not take {unsupported}: leave it out"
    found: list[Tensor] = []
    _tensors_in((args, kwargs), found)
    out = func(*_raw(args), **_raw(kwargs))
    if _is_floating_result(out) and any(_carries_derivative(t) for t in found):
        raise TypeError(
            f"{name} would compute on the values of a tensor that carries a derivative and drop "
            f"it; {advice}, or call .detach().numpy() first to leave the graph on purpose"
        )
    return out


def install() -> None:
    Tensor.__array_ufunc__ = _array_ufunc
    Tensor.__array_function__ = _array_function


# ---------------------------------------------------------------- NumPy's further functions
# The ops of issue 17, under their NumPy names: each chainrule function takes NumPy's signature.
UFUNC_PRIMITIVES.update({
    np.exp2: unary.exp2_p, np.arcsinh: unary.arcsinh_p, np.arccosh: unary.arccosh_p,
    np.arctanh: unary.arctanh_p, np.hypot: binary.hypot_p, np.logaddexp: binary.logaddexp_p,
    np.logaddexp2: binary.logaddexp2_p, np.fmax: binary.fmax_p, np.fmin: binary.fmin_p,
})  # fmt: skip
ARRAY_FUNCTIONS.update({
    np.sinc: unary.sinc, np.nan_to_num: unary.nan_to_num, np.select: binary.select,
    np.tril: shape_ops.tril, np.triu: shape_ops.triu, np.append: shape_ops.append,
    np.vstack: shape_ops.vstack, np.hstack: shape_ops.hstack, np.dstack: shape_ops.dstack,
    np.column_stack: shape_ops.column_stack, np.array_split: shape_ops.array_split,
    np.split: shape_ops.split, np.vsplit: shape_ops.vsplit, np.hsplit: shape_ops.hsplit,
    np.dsplit: shape_ops.dsplit, np.rot90: shape_ops.rot90, np.flipud: shape_ops.flipud,
    np.fliplr: shape_ops.fliplr, np.rollaxis: shape_ops.rollaxis,
    np.atleast_1d: shape_ops.atleast_1d, np.atleast_2d: shape_ops.atleast_2d,
    np.atleast_3d: shape_ops.atleast_3d, np.diff: reduce.diff, np.gradient: reduce.gradient,
    np.diag: linalg.diag, np.kron: linalg.kron, np.inner: linalg.inner,
    np.tensordot: linalg.tensordot, np.cross: linalg.cross, np.sort: indexing.sort,
    np.partition: indexing.partition, np.argsort: nondiff.argsort,
    np.argpartition: nondiff.argpartition,
})  # fmt: skip
