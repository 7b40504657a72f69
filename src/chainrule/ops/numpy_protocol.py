"""NumPy interoperability: ``np.sin(t)`` and ``ndarray * t`` dispatch to chainrule's ops.

A Tensor defines ``__array_ufunc__``, so NumPy hands every ufunc call that involves a Tensor to
chainrule, which applies the matching primitive (keeping the result differentiable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.dispatch import bind
from chainrule.core.tensor import Tensor
from chainrule.ops import binary, nondiff, unary

__all__ = ["install", "UFUNC_PRIMITIVES"]

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


def _array_ufunc(self: Tensor, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
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


def install() -> None:
    Tensor.__array_ufunc__ = _array_ufunc
