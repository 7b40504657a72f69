"""``torch.autograd.Function``: custom forward/backward pairs, a name map over
``chainrule.custom_vjp``.

``MyFn.apply(*args)`` calls ``chainrule.custom_vjp``: ``forward`` (with its ``ctx``) is the
forward rule, the ``ctx`` and the tensors saved on it are the residuals, ``backward`` is the
backward rule. So one node is recorded per call (shown as ``<MyFnBackward>``), ``backward`` runs
once per backward pass, and a ``backward`` written with torch operations is itself
differentiated under ``create_graph=True``. The dialect only translates PyTorch's conventions:
the ``ctx`` object, ``needs_input_grad``, ``None`` gradients for non-tensor inputs, gradients
cast to their input's dtype and summed to its shape, ``mark_non_differentiable``.

A ``jvp`` staticmethod (with ``ctx.save_for_forward`` and ``ctx.saved_tensors`` in it) is the
forward rule ``chainrule.custom_vjp.defjvp`` is given: forward mode (``forward_ad``,
``torch.func.jvp``, ``gradcheck(check_forward_ad=True)``) uses it; without one, forward mode
raises ``TypeError``.

Differences from PyTorch: ``forward`` is recorded (PyTorch runs it under ``no_grad``), so saved
intermediate values keep their history and double backward through them is exact; when both
reverse and forward mode follow a call, ``forward`` runs twice (once for each rule's ``ctx``);
gradients of unused outputs always arrive as zeros (``set_materialize_grads(False)`` is
accepted); ``forward`` may not read a tensor that requires grad from its closure (an error says
so); ``torch.func`` transforms accept Functions without ``setup_context``.

>>> from chainrule import torch
>>> class Cube(torch.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, grad_output):
...         (x,) = ctx.saved_tensors
...         return grad_output * 3 * x ** 2
>>> x = torch.tensor([1.0, 2.0], requires_grad=True)
>>> y = Cube.apply(x)
>>> y
tensor([1., 8.], grad_fn=<CubeBackward>)
>>> y.sum().backward()
>>> x.grad
tensor([ 3., 12.])
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as _cr
from chainrule.torch._tensor import label, wrap, wrap_tree
from chainrule.torch._unsupported import unsupported

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

_Native = _cr.Tensor


class FunctionCtx:
    """The ``ctx`` a ``forward`` and its ``backward`` share: saved tensors, flags, any attribute."""

    def __init__(self, needs_input_grad: tuple[bool, ...] = ()) -> None:
        self.needs_input_grad = needs_input_grad
        self.materialize_grads = True
        self.to_save: tuple[Any, ...] = ()
        self.saved_for_forward: tuple[Any, ...] = ()
        self._in_jvp = False
        self._non_differentiable: list[Any] = []

    def save_for_backward(self, *tensors: Any) -> None:
        """Keep ``tensors`` (or None) for ``backward``, which reads them as ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Native):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of type "
                    f"{type(t).__name__}"
                )
        self.to_save = tensors

    def save_for_forward(self, *tensors: Any) -> None:
        """Keep ``tensors`` (or None) for ``jvp``, which reads them as ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Native):
                raise TypeError(
                    f"save_for_forward expects all arguments to be tensors; but got argument {i} "
                    f"of type {type(t).__name__}"
                )
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors given to ``save_for_backward`` (in ``jvp``: to ``save_for_forward``)."""
        return tuple(wrap(t) for t in (self.saved_for_forward if self._in_jvp else self.to_save))

    def mark_non_differentiable(self, *args: Any) -> None:
        """These outputs get no gradient (they do not require grad)."""
        self._non_differentiable += list(args)

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted; gradients of unused outputs arrive as zeros either way."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *args: Any) -> None:
        raise unsupported("ctx.mark_dirty", "in-place custom Functions are not supported; return a new tensor")

    def mark_shared_storage(self, *pairs: Any) -> None:
        raise unsupported("ctx.mark_shared_storage")


class Function:
    """Base class of custom autograd Functions: define ``forward`` and ``backward`` as
    staticmethods (or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``), then call
    ``MyFn.apply(*args)``. See the module docstring."""

    generate_vmap_rule = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            f"{type(self)} should not be instantiated. Methods on autograd functions are all "
            "static, so you should invoke them on the class itself. Instantiating an autograd "
            "function will raise an error in a future version of PyTorch.",
            DeprecationWarning, stacklevel=2,
        )  # fmt: skip

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)"
        )

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> Any:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError(
            "You must implement the jvp function for custom autograd.Function to use it with "
            "forward mode AD."
        )

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and record one node whose gradient ``backward`` gives."""
        name = f"{cls.__name__}Backward"
        with_setup = cls.setup_context is not Function.setup_context
        marked: list[int] = []
        out_meta: list[tuple[tuple[int, ...], Any] | None] = []

        def run(ctx: FunctionCtx, xs: tuple[Any, ...]) -> Any:
            xs = tuple(wrap(x) for x in xs)
            if with_setup:
                out = cls.forward(*xs, **kwargs)
                cls.setup_context(ctx, xs, out)
            else:
                out = cls.forward(ctx, *xs, **kwargs)
            return out

        def plain(*xs: Any) -> Any:
            return run(FunctionCtx((False,) * len(xs)), xs)

        def fwd(*xs: Any) -> Any:
            ctx = FunctionCtx(tuple(isinstance(x, _Native) and x.requires_grad for x in xs))
            out = run(ctx, xs)
            leaves = list(out) if isinstance(out, tuple) else [out]
            ids = {id(t) for t in ctx._non_differentiable}
            marked[:] = [k for k, o in enumerate(leaves) if id(o) in ids]
            out_meta[:] = [(tuple(o.shape), o.dtype) if isinstance(o, _Native) else None for o in leaves]
            return out, (ctx, ctx.to_save)

        def bwd(res: Any, g: Any) -> tuple[Any, ...]:
            ctx, _ = res
            gs = list(g) if isinstance(g, tuple) else [g]
            for k, (gk, meta) in enumerate(zip(gs, out_meta)):
                if gk is None and meta is not None and ctx.materialize_grads:
                    gs[k] = _cr.zeros(meta[0], dtype=meta[1])  # an integer output's zero gradient
            grads = cls.backward(ctx, *(wrap(gk) for gk in gs))
            return _checked_grads(name, grads, args)

        def jvp_rule(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> Any:
            ctx = FunctionCtx(tuple(isinstance(x, _Native) and x.requires_grad for x in primals))
            out = run(ctx, primals)
            # PyTorch passes None for the tangent of an argument that is not a tensor.
            ts = [wrap(t) if isinstance(x, _Native) and t is not None else None for x, t in zip(args, tangents)]
            ctx._in_jvp = True
            try:
                t_out = cls.jvp(ctx, *ts)
            finally:
                ctx._in_jvp = False
            return out, _checked_tangents(name, t_out, out)

        plain.__name__ = cls.__name__
        op = _cr.custom_vjp(plain)
        op.defvjp(fwd, bwd)
        if cls.jvp is not Function.jvp:
            op.defjvp(jvp_rule)
        result = wrap_tree(op(*args))
        leaves = list(result) if isinstance(result, tuple) else [result]
        for k in marked:
            leaves[k] = wrap(leaves[k].detach())
        leaves = [label(o, name, *args) if isinstance(o, _Native) and o.requires_grad else o for o in leaves]
        return tuple(leaves) if isinstance(result, tuple) else leaves[0]

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap staticmethod or set generate_vmap_rule=True.")


def _checked_grads(name: str, grads: Any, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """``backward``'s answer under PyTorch's rules: one per input (extra Nones dropped), None for
    a non-tensor input, cast to the input's dtype and summed to its shape when broadcast."""
    grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    n = len(inputs)
    if len(grads) > n and all(g is None for g in grads[n:]):
        grads = grads[:n]
    if len(grads) != n:
        raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected {n}, got {len(grads)})")
    out = []
    for i, (g, x) in enumerate(zip(grads, inputs)):
        if not isinstance(x, _Native) or x.dtype.kind != "f":
            if g is not None and not isinstance(x, _Native):
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position {i + 1}, "
                    "but the corresponding forward input was not a Variable"
                )
            out.append(None)
            continue
        if g is None:
            out.append(None)
            continue
        if not isinstance(g, _Native):
            g = _cr.tensor(np.asarray(g))
        shape, want = tuple(g.shape), tuple(x.shape)
        if shape != want:
            if not _expandable(want, shape):
                raise RuntimeError(
                    f"Function {name} returned an invalid gradient at index {i} - got "
                    f"{list(shape)} but expected shape compatible with {list(want)}"
                )
            g = _cr.sum_to(g, want)
        if g.dtype != x.dtype:
            g = _cr.astype(g, x.dtype)
        out.append(g)
    return tuple(out)


def _checked_tangents(name: str, tangents: Any, out: Any) -> Any:
    """``jvp``'s answer with ``forward``'s structure: one tangent per output (None: zero), each
    cast to its output's dtype."""
    outs = list(out) if isinstance(out, tuple) else [out]
    ts = list(tangents) if isinstance(tangents, (tuple, list)) else [tangents]
    if len(ts) != len(outs):
        raise RuntimeError(
            f"function {name} returned an incorrect number of forward gradients (expected "
            f"{len(outs)}, got {len(ts)})"
        )
    fixed = []
    for i, (t, o) in enumerate(zip(ts, outs)):
        if not isinstance(o, _Native) or o.dtype.kind != "f":
            fixed.append(None if not isinstance(o, _Native) else _cr.zeros(tuple(o.shape), dtype=o.dtype))
            continue
        if t is None:
            t = _cr.zeros(tuple(o.shape), dtype=o.dtype)
        if not isinstance(t, _Native):
            t = _cr.tensor(np.asarray(t))
        if tuple(t.shape) != tuple(o.shape):
            raise RuntimeError(
                f"Function {name} returned an invalid forward gradient at index {i} - got "
                f"{list(t.shape)} but expected {list(o.shape)}"
            )
        if t.dtype != o.dtype:
            t = _cr.astype(t, o.dtype)
        fixed.append(t)
    return tuple(fixed) if isinstance(out, tuple) else fixed[0]


def _expandable(shape: tuple[int, ...], to: tuple[int, ...]) -> bool:
    """Whether ``shape`` broadcasts to ``to`` (the gradient may then be summed back)."""
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(to)))


def once_differentiable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a ``backward`` without recording it; differentiating its result again (double
    backward) then raises, as in PyTorch, instead of giving a silently wrong zero."""

    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        with _cr.no_grad():
            outputs = fn(ctx, *args)
        if not _cr.is_grad_enabled():
            return outputs
        anchors = [a for a in args if isinstance(a, _Native) and a.requires_grad]
        anchors += [t for t in getattr(ctx, "to_save", ()) if isinstance(t, _Native) and t.requires_grad]
        if not anchors:
            return outputs
        many = isinstance(outputs, tuple)
        refused = tuple(_refuse(o, anchors) if isinstance(o, _Native) and o.dtype.kind == "f" else o
                        for o in (outputs if many else (outputs,)))  # fmt: skip
        return refused if many else refused[0]

    return wrapper


def _delayed_error(value: Any, *anchors: Any) -> Any:
    return value


def _raise_twice(*_: Any) -> Any:
    raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


_refuse_op = _cr.custom_vjp(_delayed_error)
_refuse_op.defvjp(lambda value, *anchors: (value, None), _raise_twice)


def _refuse(value: Any, anchors: list[Any]) -> Any:
    return wrap(_refuse_op(value, *anchors))
