"""NumPy interoperability: ``np.sin(t)`` and ``ndarray * t`` dispatch to chainrule's ops.

A Tensor defines ``__array_ufunc__``, so NumPy hands every ufunc call that involves a Tensor to
chainrule, which applies the matching primitive (keeping the result differentiable).

``out=`` is refused, for ufuncs and for the other NumPy functions (``__array_function__``):
writing into an existing array is an in-place update that autograd would not see (and NumPy,
handed a Tensor as ``out``, would call back into ``__array_ufunc__`` forever).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.tensor import Tensor
from chainrule.ops import binary, nondiff, unary

__all__ = ["install", "UFUNC_PRIMITIVES"]

_NO_OUT_PARAMETER = -1

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
    implementation = getattr(func, "_implementation", None)
    if implementation is None or not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    # What NumPy does when no argument overrides the function: Tensors reach it through
    # __array__ or their methods, exactly as before this hook existed.
    return implementation(*args, **kwargs)


def install() -> None:
    Tensor.__array_ufunc__ = _array_ufunc
    Tensor.__array_function__ = _array_function
