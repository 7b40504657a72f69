"""Taylor mode: ``jet`` pushes truncated Taylor series through a function in one pass; ``taylor``
gives all derivatives up to an order.

``jet(fun, primals, series)`` has the semantics of ``jax.experimental.jet.jet``: with input
curves ``x(t) = x0 + x1·t + x2·t²/2! + ...`` (``primals`` are the ``x0``, ``series`` the terms
``x1 .. xK``, i.e. the derivatives of the curve at 0), it returns ``fun(x0)`` and the first K
derivatives of ``fun(x(t))`` at 0. One evaluation of ``fun`` costs a small multiple of K² NumPy
calls per op, where nesting first-order derivatives grows geometrically with the order.

How it runs: ``fun`` is called on ``JetTracer`` values (Tensors that also carry their series).
While a jet is active (an interpreter on the core's stack) every op goes to :func:`bind_jet`,
which computes the output on the primals and its series with the primitive's Taylor rule: the
rule declared next to the op (``Primitive.def_jet``, helpers in ``ops/_taylor.py``), or for an op
declared linear (``def_linear``) the op applied to every coefficient (a Cauchy sum for an op
linear in each of two inputs, such as matmul). A differentiable primitive without a rule raises
``NotImplementedError`` naming it; non-differentiable ones (comparisons, floor, argmax) give
constants.

Not supported (each raises): jet inside another transform or an open tape, nested jets, and
in-place writes to a jet value.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from chainrule.core.dispatch import SEQUENCE_TO_TENSOR, _op_error, bind
from chainrule.core.modes import state
from chainrule.core.primitive import OP_ERRORS, Primitive
from chainrule.core.stack import Interpreter, bind_below, current, of_type, pop, push
from chainrule.core.tensor import Tensor, wrap_array
from chainrule.ops._taylor import nz
from chainrule.transforms.batching import BatchLevel
from chainrule.transforms.forward import ForwardAccumulator
from chainrule.transforms.pytree import flatten, unflatten

__all__ = ["jet", "taylor", "JetTracer", "bind_jet"]

_new = object.__new__


class _Jet(Interpreter):
    """One active jet evaluation, an interpreter on the core's stack: its truncation order."""

    __slots__ = ("order",)

    def __init__(self, order: int) -> None:
        self.order = order

    def process_primitive(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        return bind_jet(prim, args, params)


class JetTracer(Tensor):
    """A value inside ``jet``: a Tensor (its data is the primal) with normalised Taylor
    coefficients ``_series = [a1 .. aK]`` (raw arrays, or the float 0.0 for a known zero)."""

    __slots__ = ("_series",)

    def __repr__(self) -> str:
        return f"JetTracer(primal={self._data!r}, order={len(self._series)})"

    def clone(self) -> JetTracer:
        return _tracer(self._data.copy(), list(self._series))

    # In-place writes would change the primal and leave the series behind: refused. The
    # augmented operators compute out of place (``x += y`` rebinds ``x``, as with JAX arrays).
    def __iadd__(self, other: Any) -> Any:
        return self + other

    def __isub__(self, other: Any) -> Any:
        return self - other

    def __imul__(self, other: Any) -> Any:
        return self * other

    def __itruediv__(self, other: Any) -> Any:
        return self / other

    def __setitem__(self, index: Any, value: Any) -> None:
        _refuse_inplace("__setitem__", self)


def _refuse_inplace(name: str, t: Tensor) -> Any:
    raise TypeError(
        f"jet: {name} on a jet value of shape {t.shape} is not supported (an in-place write "
        "would leave its Taylor series behind); use the out-of-place op instead"
    )


def _make_refusal(name: str) -> Callable[..., Any]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return _refuse_inplace(name, self)

    method.__name__ = name
    return method


for _name in ("add_", "sub_", "subtract_", "mul_", "div_", "zero_", "copy_", "fill_"):
    setattr(JetTracer, _name, _make_refusal(_name))


def _tracer(primal: np.ndarray, series: list[Any]) -> JetTracer:
    t = _new(JetTracer)
    t._data = primal
    t._node = t.grad = t._vc = t._view = t._hooks = None
    t._requires_grad = False
    t._series = series
    return t


# ---------------------------------------------------------------- the hook
def _holds_tensor(seq: Any) -> bool:
    return any(isinstance(i, Tensor) or (isinstance(i, (list, tuple)) and _holds_tensor(i)) for i in seq)


def _without_jet(prim: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
    """Run ``prim`` the ordinary way (no jet value among its inputs)."""
    return bind_below(_active(), prim, tuple(args), params)


def _active() -> _Jet:
    return of_type(_Jet)[-1]


def bind_jet(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Apply ``prim`` while a jet is active: on the primals, and on the series by its rule."""
    if SEQUENCE_TO_TENSOR[0] is not None and any(
        type(a) in (list, tuple) and _holds_tensor(a) for a in args
    ):
        stack = SEQUENCE_TO_TENSOR[0]
        return bind(prim, *(stack(a) if type(a) in (list, tuple) and _holds_tensor(a) else a
                            for a in args), **params)  # fmt: skip
    if not any(type(a) is JetTracer for a in args):
        return _without_jet(prim, args, params)
    order = _active().order
    primals = []
    for a in args:
        if type(a) is JetTracer:
            primals.append(a._data)
        elif isinstance(a, Tensor):
            if state.grad_enabled and (a._requires_grad or a._node is not None):
                raise NotImplementedError(
                    f"jet: '{prim.name}' mixes a jet value with a tensor that requires grad (shape "
                    f"{a.shape}); reverse mode through jet is not supported: detach it, or take "
                    "the derivatives with jet alone"
                )
            primals.append(a._data)
        else:
            primals.append(a)
    try:
        ans = prim.impl(*primals, **params)
    except OP_ERRORS as exc:
        raise _op_error(prim, primals, params, exc) from exc
    ans = np.asarray(ans)
    if ans.dtype.kind == "c" or any(np.iscomplexobj(p) for p in primals):
        # Complex coefficients would need their own series algebra; a zero series here would be
        # a silently wrong derivative.
        raise NotImplementedError(
            f"jet: '{prim.name}' has a complex input or output; Taylor mode supports real values "
            "only. Use nested grad/jvp for complex intermediates"
        )
    if not prim.differentiable or ans.dtype.kind != "f":
        return wrap_array(ans)  # piecewise constant in t: no series
    rule = prim.jet
    if rule is None:
        raise NotImplementedError(
            f"jet: the primitive '{prim.name}' has no Taylor rule (inputs of shape "
            f"{', '.join(str(np.shape(p)) for p in primals)}); declare one with "
            f"{prim.name}_p.def_jet(rule) (see chainrule/ops/_taylor.py), or compute this "
            "derivative with nested grad/jvp"
        )
    xs = [[p, *(a._series if type(a) is JetTracer else [0.0] * order)] for p, a in zip(primals, args)]
    if rule == "linear":
        out = _linear(prim, xs, params, order)
    else:
        out = rule(ans, *xs, **params)[1:]
    if len(out) != order:
        raise RuntimeError(f"jet: the Taylor rule of '{prim.name}' returned {len(out)} coefficients, expected {order}")
    return _tracer(ans, [_fit(c, ans) for c in out])


def _fit(c: Any, ans: np.ndarray) -> Any:
    """A coefficient with the output's shape and dtype (a known zero stays the float 0.0)."""
    if not nz(c):
        return 0.0
    c = np.asarray(c)
    if c.shape != ans.shape:
        c = np.broadcast_to(c, ans.shape)
    if c.dtype != ans.dtype:
        c = c.astype(ans.dtype)
    return c


def _linear(prim: Primitive, xs: list[list[Any]], params: dict[str, Any], order: int) -> list[Any]:
    """An op linear in each input: every coefficient of the output is a sum of the op applied to
    one coefficient per input whose orders add up (one input: the op on each coefficient)."""
    impl = prim.impl
    n = len(xs)
    if n == 1:
        return [impl(c, **params) if nz(c) else 0.0 for c in xs[0][1:]]
    out = []
    for k in range(1, order + 1):
        total: Any = 0.0
        for ks in itertools.product(range(k + 1), repeat=n - 1):
            last = k - sum(ks)
            if last < 0:
                continue
            coefs = [x[j] for x, j in zip(xs, (*ks, last))]
            if all(nz(c) for c in coefs):
                term = impl(*coefs, **params)
                total = term if not nz(total) else total + term
        out.append(total)
    return out



# ---------------------------------------------------------------- the transforms
def _as_array(x: Any, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        if type(x) is not Tensor and type(x) is not JetTracer:
            raise NotImplementedError(f"jet: {what} is a {type(x).__name__}; jet inside vmap is not supported")
        return x._data
    if isinstance(x, (list, tuple, dict)):
        raise ValueError(f"jet: {what} is a {type(x).__name__}, not an array (pass one array per argument)")
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"jet: {what} is not an array: {exc}") from None


def _check_context(inputs: list[Any]) -> None:
    if of_type(_Jet):
        raise NotImplementedError("jet: a jet inside another jet is not supported")
    from chainrule.tape import GradientTape  # (tape.py imports this package)

    if any(isinstance(i, (GradientTape, ForwardAccumulator, BatchLevel)) for i in current()):
        raise NotImplementedError(
            "jet: Taylor mode inside another transform (a GradientTape, ForwardAccumulator, jvp or "
            "vmap) is not supported: its ops would not be recorded. Call jet outside it"
        )
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and state.grad_enabled and (x._requires_grad or x._node is not None):
            raise NotImplementedError(
                f"jet: input {i} (shape {x.shape}) requires grad, and reverse mode through jet is "
                "not supported; pass x.detach(), or take the derivatives with jet alone"
            )


def _refuse_complex(x: np.ndarray, what: str) -> None:
    # (a cast to float would drop the imaginary part: a silently wrong series)
    if x.dtype.kind == "c":
        raise NotImplementedError(
            f"jet: {what} is complex ({x.dtype}, shape {x.shape}); Taylor mode supports real values "
            "only. Use nested grad/jvp for complex inputs"
        )


def jet(fun: Callable[..., Any], primals: Sequence[Any], series: Sequence[Sequence[Any]]) -> tuple[Any, Any]:
    """Taylor-mode derivatives of ``fun`` along input curves, in one pass (JAX's ``jet``).

    ``primals`` holds one array per positional argument of ``fun``; ``series`` one list per
    argument of K terms ``(x1, ..., xK)``, the derivatives of the input curve
    ``x(t) = x0 + x1·t + x2·t²/2! + ...`` at ``t = 0`` (same shape as the primal). Returns
    ``(fun(*primals), terms)`` where ``terms`` has the structure of the output with each array
    replaced by the list of the first K derivatives of ``fun(x(t))`` at 0.

    With ``series = [(v, 0, ..., 0)]`` the terms are the directional derivatives
    ``∂ᵏf(x)[v, ..., v]``; a scalar input with ``v = 1`` gives ``f'(x), ..., f⁽ᴷ⁾(x)``.

    >>> import chainrule as cr
    >>> y0, (y1, y2, y3) = cr.jet(cr.sin, (0.5 ** 3,), ((3 * 0.5 ** 2, 6 * 0.5, 6.0),))
    >>> round(float(y1), 6), round(float(y2), 6)   # sin(h(z)), h = z³ at 0.5 (Faà di Bruno)
    (0.744148, 2.906463)
    >>> cr.jet(lambda x: x ** 3, (2.0,), ((1.0, 0.0, 0.0, 0.0),))[1]   # 3x², 6x, 6, 0
    [tensor(12., dtype=float64), tensor(12., dtype=float64), tensor(6., dtype=float64), tensor(0., dtype=float64)]
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(series, (tuple, list)):
        raise TypeError(
            f"jet: primals and series must be tuples or lists (one entry per argument of fun), "
            f"got {type(primals).__name__} and {type(series).__name__}"
        )
    if len(primals) != len(series):
        raise ValueError(f"jet: {len(primals)} primals but {len(series)} series; give one series per primal")
    for i, s in enumerate(series):
        if not isinstance(s, (tuple, list)):
            raise TypeError(f"jet: series {i} must be a tuple or list of terms, got {type(s).__name__}")
    orders = {len(s) for s in series}
    if len(orders) > 1:
        raise ValueError(
            f"jet: jet terms have inconsistent lengths for different arguments ({[len(s) for s in series]})"
        )
    order = orders.pop() if orders else 0
    _check_context([*primals, *(t for s in series for t in s)])
    tracers = []
    for i, (p, s) in enumerate(zip(primals, series)):
        x0 = _as_array(p, f"primal {i}")
        _refuse_complex(x0, f"primal {i}")
        if x0.dtype.kind != "f":
            x0 = x0.astype(np.float64)
        coefs: list[Any] = []
        for k, term in enumerate(s, start=1):
            t = _as_array(term, f"term {k} of argument {i}")
            _refuse_complex(t, f"term {k} of argument {i}")
            if t.shape != x0.shape:
                raise ValueError(
                    f"jet: term {k} of argument {i} has shape {t.shape}, the primal {x0.shape}; "
                    "each term must have its primal's shape"
                )
            coefs.append(t.astype(x0.dtype) / math.factorial(k) if np.any(t) else 0.0)
        tracers.append(_tracer(x0, coefs))
    level = _Jet(order)
    push(level)
    try:
        out = fun(*tracers)
    finally:
        pop(level)
    leaves, treedef = flatten(out)
    primals_out, terms_out = [], []
    for leaf in leaves:
        if isinstance(leaf, Tensor) or isinstance(leaf, (np.ndarray, int, float, np.number)):
            data = leaf._data if isinstance(leaf, Tensor) else np.asarray(leaf)
            coefs = leaf._series if type(leaf) is JetTracer else [0.0] * order
            primals_out.append(wrap_array(data))
            terms_out.append([_term(c, k, data) for k, c in enumerate(coefs, start=1)])
        else:
            raise TypeError(f"jet: fun returned a {type(leaf).__name__}; return tensors (or containers of them)")
    return unflatten(treedef, primals_out), unflatten(treedef, terms_out)


def _term(c: Any, k: int, like: np.ndarray) -> Tensor:
    dtype = like.dtype if like.dtype.kind == "f" else np.float64
    if not nz(c):
        return wrap_array(np.zeros(like.shape, dtype))
    return wrap_array(np.array(np.broadcast_to(c * math.factorial(k), like.shape), dtype=dtype))


def taylor(fun: Callable[[Any], Any], x: Any, order: int, v: Any = None) -> list[Any]:
    """``[f(x), f'(x), ..., f⁽ᵒʳᵈᵉʳ⁾(x)]`` in one Taylor-mode pass (``jet`` along one direction).

    For a scalar ``x`` the k-th entry is the k-th derivative of ``fun`` at ``x``. For an array
    ``x``, give a direction ``v`` (its shape): the k-th entry is then the directional derivative
    ``dᵏ/dtᵏ fun(x + t·v)`` at ``t = 0``. Each entry has the output's shape.

    >>> import chainrule as cr
    >>> [round(float(d), 6) for d in cr.taylor(lambda x: cr.sin(x) * cr.exp(x), 0.0, 4)]
    [0.0, 1.0, 2.0, 2.0, 0.0]
    >>> cr.taylor(lambda x: (x ** 2).sum(), cr.tensor([1., 2.]), 2, v=cr.tensor([1., 0.]))[1:]
    [tensor(2., dtype=float64), tensor(2., dtype=float64)]
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"taylor: order must be a non-negative integer, got {order!r}")
    x0 = _as_array(x, "x")
    if v is None:
        if x0.ndim != 0:
            raise ValueError(
                f"taylor: x has shape {x0.shape}; for an array input give a direction v of that "
                "shape (the derivatives are then along v)"
            )
        direction = np.ones((), dtype=x0.dtype if x0.dtype.kind == "f" else np.float64)
    else:
        direction = _as_array(v, "v")
        if direction.shape != x0.shape:
            raise ValueError(f"taylor: v has shape {direction.shape} but x has shape {x0.shape}; they must match")
    zeros = np.zeros_like(direction)
    terms = [direction] + [zeros] * (order - 1) if order else []
    y0, ys = jet(fun, (x,), (terms,))
    if isinstance(y0, Tensor):
        return [y0, *ys]
    raise TypeError(f"taylor: fun must return one tensor, got {type(y0).__name__}; use jet for containers")
