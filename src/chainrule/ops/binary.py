"""Elementwise primitives of two or three inputs, with NumPy broadcasting.

Rules may return cotangents of the broadcast shape: the engine sums them back to each input's
shape. Ties follow PyTorch: ``maximum``/``minimum`` split the gradient evenly between equal
inputs; ``clip`` passes the gradient at the bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import is_plain
from chainrule.core.primitive import Primitive
from chainrule.ops import _taylor as T
from chainrule.ops._api import Tensor, binary_function, ensure_tensor
from chainrule.ops.nondiff import (
    equal_p,
    floor_divide_p,
    greater_equal_p,
    greater_p,
    less_equal_p,
    less_p,
    logical_and_p,
)  # fmt: skip
from chainrule.ops.unary import log_p

__all__ = [
    "add", "subtract", "multiply", "divide", "power", "arctan2", "maximum", "minimum",
    "where", "clip", "mod",
]  # fmt: skip
# NumPy's further elementwise functions (the block at the end of this file).
__all__ += ["hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "select"]


def _elementwise(name: str, impl: Any, nin: int, **kwargs: Any) -> Primitive:
    return Primitive(name, impl, nin=nin, batching="elementwise", **kwargs)


# The partials (or, where the seed reads better inside, one rule for both modes) of each input.
add_p = _elementwise("add", np.add, 2, saves=()).def_partials(1, 1)
add_p.def_jet(T.add)
sub_p = _elementwise("sub", np.subtract, 2, saves=()).def_partials(1, -1)
sub_p.def_jet(T.sub)
mul_p = _elementwise("mul", np.multiply, 2, reads=((1,), (0,)))
mul_p.def_chain(lambda s, ans, x, y: s * y, lambda s, ans, x, y: s * x)
mul_p.def_jet(T.multiply)
div_p = _elementwise("div", np.true_divide, 2, saves=(1,), saves_ans=True)
div_p.def_chain(lambda s, ans, x, y: s / y, lambda s, ans, x, y: -s * ans / y)
div_p.def_jet(T.divide)


def _pow_dx(g, ans, x, y):  # type: ignore[no-untyped-def]
    if isinstance(y, (int, float)):
        if y == 0:
            return g * 0
        if y == 2:
            # x ** 1 is x exactly: the square's partial without a pow (one op less in every
            # recorded backward pass, and in a Hessian's batched sweep over it).
            return g * mul_p(2, x)
        return g * (y * pow_p(x, y - 1))
    # y * x**(y-1), set to 0 only at 0**0 (PyTorch's value there). At y == 0 with x != 0 the
    # expression is 0 by itself and must stay: its derivative in y, x**-1, is the mixed second
    # derivative. Masked entries use x = 1, so no inf or nan enters a backward pass.
    zero_zero = logical_and_p(equal_p(y, 0), equal_p(x, 0))
    return g * where_p(zero_zero, 0.0, y * pow_p(where_p(zero_zero, 1.0, x), y - 1))


def _pow_dy(g, ans, x, y):  # type: ignore[no-untyped-def]
    # d/dy x**y = x**y log x; PyTorch's convention: 0 where x == 0 and y >= 0.
    safe_log = where_p(equal_p(x, 0), 0.0, log_p(where_p(equal_p(x, 0), 1.0, x)))
    if is_plain(safe_log) and not is_plain(ans):
        # A NumPy base (a number) with another library's exponent: bind joins the two.
        return g * mul_p(ans, safe_log)
    return g * (ans * safe_log)


def _pow_impl(x: Any, y: Any, *, xp: Any = np) -> Any:
    if xp is not np:
        return xp.pow(x, y)
    try:
        return np.power(x, y)
    except ValueError as exc:
        if "negative integer powers" not in str(exc):
            raise
        raise TypeError(
            "integers cannot be raised to negative integer powers; convert the base to float "
            "first (x.astype('float64'))"
        ) from None


pow_p = _elementwise("pow", _pow_impl, 2, saves=(0, 1), saves_ans=True).def_chain(_pow_dx, _pow_dy)
pow_p.def_jet(T.power)

arctan2_p = _elementwise("arctan2", np.arctan2, 2, grad_fn_name="Atan2Backward0")
arctan2_p.def_chain(
    lambda s, ans, y, x: s * x / (x * x + y * y),
    lambda s, ans, y, x: -s * y / (x * x + y * y),
)
arctan2_p.def_jet(T.arctan2)


def _share_first(x, y):  # type: ignore[no-untyped-def]
    """1 where x wins, 0.5 at ties, 0 where y wins (a constant: no derivative of its own)."""
    return _flt(greater_p(x, y), x, y) + _flt(equal_p(x, y), x, y) * 0.5


def _flt(mask: Any, x: Any, y: Any) -> Any:
    """``mask * 1.0``: NumPy turns bools into float64 itself; the array API standard mixes no
    bools with numbers, so another library's mask becomes 1.0/0.0 in its float dtype."""
    from chainrule.ops._api import as_array

    if is_plain(as_array(mask)):
        return mask * 1.0
    from chainrule.ops.shape import astype_p

    a = as_array(x)
    if is_plain(a) or not _is_floating(a.dtype):
        a = as_array(y)
    dtype = a.dtype if not is_plain(a) and _is_floating(a.dtype) else np.dtype(np.float64)
    return astype_p(mask, dtype=dtype)


def _is_floating(dtype: Any) -> bool:
    from chainrule.core.backend import dtype_kind

    return dtype_kind(dtype) in "fc"


maximum_p = _elementwise("maximum", np.maximum, 2)
maximum_p.def_partials(lambda ans, x, y: _share_first(x, y), lambda ans, x, y: _share_first(y, x))
maximum_p.def_jet(T.maximum)
minimum_p = _elementwise("minimum", np.minimum, 2)
minimum_p.def_partials(lambda ans, x, y: _share_first(y, x), lambda ans, x, y: _share_first(x, y))
minimum_p.def_jet(T.minimum)


def _where_impl(cond: Any, x: Any, y: Any, *, xp: Any = np) -> Any:
    return xp.where(cond, x, y)


where_p = _elementwise("where", _where_impl, 3, saves=(0,), grad_fn_name="WhereBackward0")
# The seed is selected, not multiplied by the condition: a NaN seed stays out of the other entries.
where_p.def_chain(
    None,
    lambda s, ans, c, x, y: where_p(c, s, 0.0),
    lambda s, ans, c, x, y: where_p(c, 0.0, s),
)
where_p.def_jet(T.where)


def _clip_impl(x: Any, *, min: Any = None, max: Any = None, xp: Any = np) -> Any:  # noqa: A002
    if xp is np:
        return np.clip(x, min, max)
    return xp.clip(x, min=min, max=max)


def _clip_pass(x, min, max):  # type: ignore[no-untyped-def] # noqa: A002
    if min is not None and max is not None:
        return _flt(logical_and_p(greater_equal_p(x, min), less_equal_p(x, max)), x, x)
    if min is not None:
        return _flt(greater_equal_p(x, min), x, x)
    return _flt(less_equal_p(x, max), x, x)


clip_p = _elementwise("clip", _clip_impl, 1, grad_fn_name="ClampBackward1")
clip_p.def_partials(lambda ans, x, min=None, max=None: _clip_pass(x, min, max))  # noqa: A002
clip_p.def_jet(T.clip)

mod_p = _elementwise("mod", np.mod, 2, grad_fn_name="RemainderBackward0")
mod_p.def_partials(1, lambda ans, x, y: -floor_divide_p(x, y))
mod_p.def_jet(T.mod)

add = binary_function(add_p, "Elementwise x + y, broadcasting.\n\n>>> import chainrule as cr\n>>> cr.add(cr.tensor([1., 2.]), 1.0)\ntensor([2., 3.], dtype=float64)")
subtract = binary_function(sub_p, "Elementwise x - y, broadcasting.\n\n>>> import chainrule as cr\n>>> cr.subtract(cr.tensor(3.0), 1.0)\ntensor(2., dtype=float64)")
multiply = binary_function(mul_p, "Elementwise x * y, broadcasting.\n\n>>> import chainrule as cr\n>>> cr.multiply(cr.tensor(3.0), 2.0)\ntensor(6., dtype=float64)")
divide = binary_function(div_p, "Elementwise x / y, broadcasting.\n\n>>> import chainrule as cr\n>>> cr.divide(cr.tensor(3.0), 2.0)\ntensor(1.5, dtype=float64)")
power = binary_function(pow_p, "Elementwise x ** y; y may be a tensor.\n\n>>> import chainrule as cr\n>>> cr.power(cr.tensor(3.0), 2)\ntensor(9., dtype=float64)")
arctan2 = binary_function(arctan2_p, "Elementwise angle of the point (x, y): arctan2(y, x).\n\n>>> import chainrule as cr\n>>> float(cr.arctan2(cr.tensor(1.0), 1.0))\n0.7853981633974483")
maximum = binary_function(maximum_p, "Elementwise maximum; at ties the gradient is split evenly.\n\n>>> import chainrule as cr\n>>> cr.maximum(cr.tensor([1., 5.]), 3.0)\ntensor([3., 5.], dtype=float64)")
minimum = binary_function(minimum_p, "Elementwise minimum; at ties the gradient is split evenly.\n\n>>> import chainrule as cr\n>>> cr.minimum(cr.tensor([1., 5.]), 3.0)\ntensor([1., 3.], dtype=float64)")
mod = binary_function(mod_p, "Elementwise remainder x % y, with the sign of y (as NumPy).\n\n>>> import chainrule as cr\n>>> cr.mod(cr.tensor(7.0), 3.0)\ntensor(1., dtype=float64)")


def where(condition: Any, x: Any, y: Any) -> Any:
    """Elementwise ``x`` where ``condition`` holds, else ``y``; differentiable in x and y.

    >>> import chainrule as cr
    >>> cr.where(cr.tensor([True, False]), cr.tensor([1., 2.]), 0.0)
    tensor([1., 0.], dtype=float64)
    """
    return ensure_tensor(where_p(condition, x, y))


def clip(x: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002
    """Limit values to ``[min, max]``; the gradient passes inside and at the bounds.

    >>> import chainrule as cr
    >>> cr.clip(cr.tensor([-2., 0.5, 3.]), -1.0, 1.0)
    tensor([-1. ,  0.5,  1. ], dtype=float64)
    >>> cr.clip(cr.tensor([-2., 0.5]), cr.tensor([-1., 0.0]))
    tensor([-1. ,  0.5], dtype=float64)
    """
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Tensor bounds may be differentiable: compose from where. The gradient goes to x
        # inside and at the bounds, and to a bound where x lies beyond it.
        out = x
        if min is not None:
            out = where_p(less_p(x, min), min, out)
        if max is not None:
            out = where_p(greater_p(x, max), max, out)
        return ensure_tensor(out)
    return ensure_tensor(clip_p(x, min=min, max=max))


# ---------------------------------------------------------------- NumPy's further elementwise ops
def _over_hypot(v, ans):  # type: ignore[no-untyped-def]
    # v / hypot, with 0 at hypot == 0 (the kink at the origin: abs's convention).
    zero = equal_p(ans, 0)
    return where_p(zero, 0.0, v / where_p(zero, 1.0, ans))


hypot_p = _elementwise("hypot", np.hypot, 2, saves_ans=True)
hypot_p.def_partials(lambda ans, x, y: _over_hypot(x, ans), lambda ans, x, y: _over_hypot(y, ans))
hypot_p.def_jet(T.hypot)


def _exp_p():  # type: ignore[no-untyped-def]
    from chainrule.ops.unary import exp_p

    return exp_p


def _exp2_p():  # type: ignore[no-untyped-def]
    from chainrule.ops.unary import exp2_p

    return exp2_p


# d/dx log(e^x + e^y) = e^(x - ans): a softmax weight, at most 1, so no overflow.
logaddexp_p = _elementwise("logaddexp", np.logaddexp, 2, saves_ans=True)
logaddexp_p.def_partials(lambda ans, x, y: _exp_p()(x - ans), lambda ans, x, y: _exp_p()(y - ans))
logaddexp_p.def_jet(T.logaddexp)
logaddexp2_p = _elementwise("logaddexp2", np.logaddexp2, 2, saves_ans=True)
logaddexp2_p.def_partials(lambda ans, x, y: _exp2_p()(x - ans), lambda ans, x, y: _exp2_p()(y - ans))
logaddexp2_p.def_jet(T.logaddexp2)


def _fshare_first(x, y):  # type: ignore[no-untyped-def]
    """fmax/fmin's share of the first input: 1 where it is chosen (a NaN loses), 0.5 at ties."""
    from chainrule.ops.nondiff import isnan_p, logical_not_p

    nan_y_only = logical_and_p(isnan_p(y), logical_not_p(isnan_p(x)))
    return _flt(nan_y_only, x, y) + (_flt(greater_p(x, y), x, y) + _flt(equal_p(x, y), x, y) * 0.5)


def _fshare_first_min(x, y):  # type: ignore[no-untyped-def]
    from chainrule.ops.nondiff import isnan_p, logical_not_p

    nan_y_only = logical_and_p(isnan_p(y), logical_not_p(isnan_p(x)))
    return _flt(nan_y_only, x, y) + (_flt(less_p(x, y), x, y) + _flt(equal_p(x, y), x, y) * 0.5)


fmax_p = _elementwise("fmax", np.fmax, 2)
fmax_p.def_partials(lambda ans, x, y: _fshare_first(x, y), lambda ans, x, y: _fshare_first(y, x))
fmax_p.def_jet(T.fmax)
fmin_p = _elementwise("fmin", np.fmin, 2)
fmin_p.def_partials(lambda ans, x, y: _fshare_first_min(x, y), lambda ans, x, y: _fshare_first_min(y, x))
fmin_p.def_jet(T.fmin)

hypot = binary_function(hypot_p, "Elementwise √(x² + y²) without overflow; its gradient at the origin is 0.\n\n>>> import chainrule as cr\n>>> cr.hypot(cr.tensor(3.0), 4.0)\ntensor(5., dtype=float64)")
logaddexp = binary_function(logaddexp_p, "Elementwise log(eˣ + eʸ), stable for large inputs.\n\n>>> import chainrule as cr\n>>> float(cr.logaddexp(cr.tensor(0.0), 0.0))\n0.6931471805599453")
logaddexp2 = binary_function(logaddexp2_p, "Elementwise log₂(2ˣ + 2ʸ), stable for large inputs.\n\n>>> import chainrule as cr\n>>> cr.logaddexp2(cr.tensor(1.0), 1.0)\ntensor(2., dtype=float64)")
fmax = binary_function(fmax_p, "Elementwise maximum that ignores NaN (``numpy.fmax``): the gradient goes to the number chosen, split evenly at ties.\n\n>>> import chainrule as cr\n>>> cr.fmax(cr.tensor([1., float('nan')]), cr.tensor([3., 2.]))\ntensor([3., 2.], dtype=float64)")
fmin = binary_function(fmin_p, "Elementwise minimum that ignores NaN (``numpy.fmin``): the gradient goes to the number chosen, split evenly at ties.\n\n>>> import chainrule as cr\n>>> cr.fmin(cr.tensor([1., float('nan')]), cr.tensor([3., 2.]))\ntensor([1., 2.], dtype=float64)")


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """Entries of the first choice whose condition holds, else ``default`` (``numpy.select``).

    A composite of ``where``: the gradient goes to the choice (or default) each entry comes from.

    >>> import chainrule as cr
    >>> x = cr.tensor([-1., 0.5, 3.])
    >>> cr.select([x < 0, x > 1], [-x, x * 10], default=x)
    tensor([ 1. ,  0.5, 30. ], dtype=float64)
    """
    from chainrule.ops._api import as_array
    from chainrule.ops.shape import _rows

    condlist, choicelist = list(_rows(condlist, "select")), list(_rows(choicelist, "select"))
    if len(condlist) != len(choicelist):
        raise ValueError(
            f"select: {len(condlist)} conditions but {len(choicelist)} choices; give one choice per "
            "condition"
        )
    if not condlist:
        raise ValueError("select: needs at least one condition and choice")
    for i, c in enumerate(condlist):
        a = as_array(c)
        dt = a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype
        if dt != np.bool_ and str(dt).rsplit(".", 1)[-1] != "bool":
            raise TypeError(
                f"select: condition {i} has dtype {dt}, not bool; pass comparisons (x > 0) or "
                "cast with astype(bool)"
            )
    shapes = [np.shape(as_array(a)) for a in [*condlist, *choicelist, default]]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"select: the conditions, choices and default of shapes {shapes} do not broadcast together") from None
    out = default
    for c, v in zip(reversed(condlist), reversed(choicelist)):
        out = where_p(c, v, out)
    result = ensure_tensor(out)
    full = np.broadcast_shapes(*shapes)
    if result.shape != full:
        from chainrule.ops.shape import broadcast_to_p

        result = ensure_tensor(broadcast_to_p(result, shape=full))
    return result
