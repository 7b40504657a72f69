"""Reverse mode as function transforms: ``vjp``, ``grad``, ``value_and_grad``, ``jacrev``.

Each call makes fresh inputs (new leaves, or, when an input is already tracked by an outer
transform or tape, new nodes through an identity op so that inner and outer perturbations stay
apart), runs ``f``, and pulls cotangents back with the engine's ``backprop`` — the same sweep as
``Tensor.backward`` and ``GradientTape.gradient``. The pull-back is itself recorded when an outer
transform or tape needs it (``create_graph``), which is what makes ``grad(grad(f))`` work.

``jacrev`` pulls back the whole identity basis at once: the cotangents are batched along a
batching level of their own, so the rules run once on the batch (see ``batching.py``). For one
output the basis is a structured batch (``structured.py``): it stays diagonal through the
elementwise rules and is made dense only where an op needs it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.core.backend import copy_array, dtype_kind, is_foreign, ones_like, zeros_like
from chainrule.core.dispatch import bind
from chainrule.core.engine import backprop
from chainrule.core.modes import state
from chainrule.core.primitive import registry
from chainrule.core.stack import current, of_type
from chainrule.core.tensor import Tensor
from chainrule.transforms import structured
from chainrule.transforms.batching import (
    BatchedTensor,
    active_levels,
    add_level,
    batching_active,
    below,
    from_base_world,
    lift_to_levels,
    pop_level,
    push_level,
    remove_level,
    to_base_world,
    user_levels,
)
from chainrule.transforms.forward import (
    ForwardAccumulator,
    _float_tensor,
    _normalize_argnums,
    _plain,
    _replace_args,
)
from chainrule.transforms.pytree import TreeDef, flatten, unflatten
from chainrule.transforms.structured import identity_batch

__all__ = ["vjp", "grad", "value_and_grad", "jacrev"]


class _Local(threading.local):
    def __init__(self) -> None:
        # How many reverse transforms are tracing a function in this thread right now.
        self.depth = 0


_local = _Local()

# The structures of one value that is not a container, and of a list holding one: what
# ``flatten`` gives for the usual single tensor argument and output, spelled out once.
_LEAF = flatten(0)[1]
_ONE_LEAF = flatten([0])[1]
_CONTAINERS = (list, tuple, dict)


def _base_of(t: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    if isinstance(t, BatchedTensor):
        return t._base, t._levels
    return t, ()


def _make_input(x: Tensor) -> Tensor:
    """A fresh differentiable copy of ``x``: a new leaf, or a new node if ``x`` is tracked.

    Inside vmap it is first spread over every active vmap level, so that each example gets its
    own gradient even where ``f`` mixes the input with batched values it closes over.
    """
    levels = user_levels()
    if levels:
        x = lift_to_levels(x, levels)
    saved = state.grad_enabled
    state.grad_enabled = True  # (enable_grad, without the context manager's calls)
    try:
        out = bind(registry["reshape"], x, shape=tuple(x.shape))
    finally:
        state.grad_enabled = saved
    base, _ = _base_of(out)
    if base._node is None:
        base._requires_grad = True
        out._requires_grad = True
    return out


def _trace(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], argnums: Any,
           has_aux: bool, op: str, fresh: bool = False) -> tuple[Any, Any, list[Tensor], Any, bool]:  # fmt: skip
    """Run ``f`` on fresh inputs in place of the ``argnums`` arguments.

    ``fresh``: those arguments already are the fresh inputs of an enclosing reverse transform
    that differentiates with respect to the same arguments and hands them on unchanged (the inner
    Jacobian of ``hessian``), so they are used as they are: no function but this transform's
    sees them, so no perturbation can mix, and the identity op between them is saved.
    """
    make = _float_tensor if fresh else _fresh_input
    if type(argnums) is int and 0 <= argnums < len(args) and not isinstance(args[argnums], _CONTAINERS):
        # One argument that is a single value (the usual call), without the pytree walk.
        x = make(args[argnums], op)
        xs = [x]
        in_def = _ONE_LEAF
        single = True
        new_args = list(args)
        new_args[argnums] = x
    else:
        nums, single = _normalize_argnums(argnums, len(args), op)
        leaves, in_def = flatten([args[i] for i in nums])
        xs = [make(v, op) for v in leaves]
        new_args = _replace_args(args, nums, unflatten(in_def, xs))
    _local.depth += 1
    saved = state.grad_enabled
    state.grad_enabled = True  # (enable_grad)
    try:
        out = f(*new_args, **kwargs)
    finally:
        state.grad_enabled = saved
        _local.depth -= 1
    aux = None
    if has_aux:
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise TypeError(f"{op}: with has_aux=True the function must return a pair (output, aux)")
        out, aux = out
    return out, aux, xs, in_def, single


def _fresh_input(v: Any, op: str) -> Tensor:
    return _make_input(_float_tensor(v, op))


def _nested(xs: list[Tensor]) -> bool:
    """Whether the pull-back must itself be recorded (an outer transform or tape is watching)."""
    if _local.depth > 0:
        return True
    if current():
        from chainrule.tape import GradientTape  # (tape.py imports this package)

        if of_type(GradientTape):
            return True
    return any(_base_of(x)[0]._node is not None for x in xs)


def _owned(g: Any) -> Tensor:
    data = g._data if isinstance(g, Tensor) else g
    if type(data) is not np.ndarray:
        if is_foreign(data):  # another library's array: copied there (a Dask one stays lazy)
            return _plain(copy_array(data))
        data = np.asarray(data)
    if data.base is not None or not data.flags.writeable:
        data = data.copy()
    return _plain(data)


def _pullback(outs: list[Any], cts: list[Any], xs: list[Tensor], *, retain: bool,
              create: bool) -> list[Tensor]:  # fmt: skip
    """Cotangents ``cts`` of the outputs ``outs`` pulled back to the inputs ``xs``."""
    roots = []
    any_batched = False
    for y, ct in zip(outs, cts):
        if ct is None or not isinstance(y, Tensor):
            continue
        base, levels = _base_of(y)
        seed = to_base_world(ct, levels)
        any_batched = any_batched or isinstance(seed, BatchedTensor)
        roots.append((base, seed))
    targets = [_base_of(x)[0] for x in xs]
    if not roots:
        grads: list[Any] = [None] * len(xs)
    elif batching_active() and not any_batched:
        # Everything lives on the bases: sweep below the vmap levels (plain arrays, fast).
        with below():
            grads = backprop(roots, targets=targets, retain_graph=retain, create_graph=create)
    else:
        grads = backprop(roots, targets=targets, retain_graph=retain, create_graph=create)
    # A forward accumulator (and jit tracing) keys values by the data array: results must not be
    # copied outside bind then.
    keep = create or any(isinstance(i, ForwardAccumulator) or getattr(i, "keys_by_array", False)
                         for i in state.stack)  # fmt: skip
    results = []
    for x, g in zip(xs, grads):
        if g is None:
            results.append(_plain(zeros_like(x._data) if is_foreign(x._data) else np.zeros(tuple(x.shape), dtype=x.dtype)))
            continue
        if isinstance(g, Tensor):
            g = g if keep or isinstance(g, BatchedTensor) else _owned(g)
        else:
            g = _owned(g)
        results.append(from_base_world(g, _base_of(x)[1]))
    return results


def _ones_like(y: Tensor) -> Tensor:
    if is_foreign(y._data):
        return _plain(ones_like(y._data))  # the seed in the output's library
    ones = np.empty(tuple(y.shape), dtype=y.dtype)
    ones.fill(1)  # (np.ones, without its Python wrapper)
    return _plain(ones)


def _scalar_output(y: Any, op: str) -> Tensor:
    if isinstance(y, (tuple, list, dict)):
        raise TypeError(
            f"{op}: the function returned a {type(y).__name__}, not a scalar tensor; to return "
            "extra values beside the output, pass has_aux=True and return (output, aux)"
        )
    if not isinstance(y, Tensor):
        arr = np.asarray(y, dtype=np.float64) if isinstance(y, (int, float)) else np.asarray(y)
        y = _plain(arr)
    if tuple(y.shape) != ():
        raise TypeError(
            f"{op}: the function must return a scalar (shape ()), but it returned shape "
            f"{tuple(y.shape)}. Reduce it first (for example with .sum()), or use jacrev / "
            "jacobian for the derivative of a non-scalar output."
        )
    if dtype_kind(y.dtype) != "f":
        raise TypeError(f"{op}: the function must return a floating-point scalar, got dtype {y.dtype}")
    return y


def _detached(y: Any) -> Any:
    if isinstance(y, BatchedTensor):
        from chainrule.transforms.batching import _batched

        return _batched(y._base.detach(), y._levels)
    if isinstance(y, Tensor):
        return y.detach()
    return y


def _assemble(in_def: Any, single: bool, values: list[Any]) -> Any:
    if single and in_def is _ONE_LEAF:
        return values[0]
    tree = unflatten(in_def, values)
    return tree[0] if single else tuple(tree)


def _flatten_out(out: Any) -> tuple[list[Any], TreeDef]:
    """``flatten(out)``, at once for the usual output that is a single tensor."""
    if isinstance(out, Tensor):
        return [out], _LEAF
    return flatten(out)


def _unflatten_out(o_def: TreeDef, values: list[Any]) -> Any:
    return values[0] if o_def is _LEAF else unflatten(o_def, values)


def value_and_grad(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``f``'s value and its gradient with respect to the ``argnums`` arguments.

    Returns ``(value, grad)``, or ``((value, aux), grad)`` with ``has_aux``.

    >>> import chainrule as cr
    >>> value, g = cr.value_and_grad(lambda x: (x ** 2).sum())(cr.tensor([1., 2.]))
    >>> float(value), g
    (5.0, tensor([2., 4.], dtype=float64))
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        out, aux, xs, in_def, single = _trace(f, args, kwargs, argnums, has_aux, "grad")
        y = _scalar_output(out, "grad")
        create = _nested(xs)
        grads = _pullback([y], [_ones_like(y)], xs, retain=create, create=create)
        # Under an outer forward transform the value keeps its tangent (detaching would zero it).
        value = y if create or of_type(ForwardAccumulator) else _detached(y)
        g = _assemble(in_def, single, grads)
        return ((value, aux), g) if has_aux else (value, g)

    value_and_grad_f.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar function with respect to its ``argnums`` arguments.

    Inputs may be numbers, arrays, tensors or containers (lists, tuples, dicts) of them; the
    gradient has the same structure. ``argnums`` is an int (one gradient) or a tuple (a tuple of
    gradients). ``grad(grad(f))`` gives second derivatives. A non-scalar output raises
    ``TypeError``.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x ** 3)(2.0)
    tensor(12., dtype=float64)
    >>> cr.grad(cr.grad(lambda x: x ** 3))(2.0)
    tensor(12., dtype=float64)
    """
    if not callable(f):
        raise TypeError(f"grad: expected a callable (the function to differentiate), got {type(f).__name__}")
    vg = value_and_grad(f, argnums, has_aux)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    grad_f.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return grad_f


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` gives one cotangent per primal.

    ``vjp_fn`` can be called many times (the recorded computation is kept while it lives).

    >>> import chainrule as cr
    >>> y, back = cr.vjp(lambda x: x * x, cr.tensor([1., 3.]))
    >>> back(cr.tensor([1., 1.]))
    (tensor([2., 6.], dtype=float64),)
    """
    if not primals:
        raise TypeError("vjp: give at least one primal, e.g. vjp(f, x)")
    out, aux, xs, in_def, _ = _trace(f, primals, {}, tuple(range(len(primals))), has_aux, "vjp")
    o_leaves, o_def = flatten(out)
    ys = [o if isinstance(o, Tensor) else _plain(np.asarray(o)) for o in o_leaves]
    create = _nested(xs)

    def vjp_fn(cotangents: Any) -> tuple[Any, ...]:
        c_leaves, c_def = flatten(cotangents)
        if c_def != o_def:
            raise ValueError(
                f"vjp: the cotangent has structure {c_def!r} but the output has {o_def!r}; give one "
                "cotangent per output"
            )
        cts = []
        for y, c in zip(ys, c_leaves):
            ct = c if isinstance(c, Tensor) else _plain(np.asarray(c, dtype=y.dtype))
            if tuple(ct.shape) != tuple(y.shape):
                raise ValueError(
                    f"vjp: a cotangent has shape {tuple(ct.shape)} but its output has shape "
                    f"{tuple(y.shape)}; they must match"
                )
            cts.append(ct)
        grads = _pullback(ys, cts, xs, retain=True, create=create)
        return tuple(unflatten(in_def, grads))

    value = unflatten(o_def, [y if create or of_type(ForwardAccumulator) else _detached(y) for y in ys])
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


def _structured_seed(ys: list[Tensor], level: Any) -> bool:
    """Whether the Jacobian's basis can be seeded as a structured batch: one output, not batched
    itself, and no batching level but the Jacobian's own."""
    if len(ys) != 1 or isinstance(ys[0], BatchedTensor) or not structured.enabled():
        return False
    return active_levels() == [level]


def jacrev(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``f`` by reverse mode: one batched backward sweep over the basis.

    For an output of shape ``S`` and an input of shape ``T`` the Jacobian has shape ``S + T``;
    containers give containers (outputs outside, inputs inside). ``jacobian`` is an alias.
    With one output the basis is kept symbolic while the sweep allows (a diagonal batch,
    ``chainrule.transforms.structured``), so ``jacrev(lambda x: cr.tanh(W @ x))`` costs one
    ``n x n`` product ``(1 - t**2)[:, None] * W`` rather than an ``n x n x n`` matrix product.

    >>> import chainrule as cr
    >>> cr.jacrev(lambda x: cr.sin(x) * 2)(cr.tensor([0.0, 0.0]))
    tensor([[2., 0.],
            [0., 2.]], dtype=float64)
    """
    return _jacrev(f, argnums, has_aux, False)


def _jacrev(f: Callable[..., Any], argnums: Any, has_aux: bool, fresh: bool) -> Callable[..., Any]:
    """:func:`jacrev`; ``fresh``: the ``argnums`` arguments it is called with are the fresh inputs
    of an enclosing reverse transform over the same arguments (see :func:`_trace`)."""

    def jac(*args: Any, **kwargs: Any) -> Any:
        out, aux, xs, in_def, single = _trace(f, args, kwargs, argnums, has_aux, "jacrev", fresh)
        o_leaves, o_def = _flatten_out(out)
        ys = [o if isinstance(o, Tensor) else _plain(np.asarray(o, dtype=np.float64)) for o in o_leaves]
        sizes = [math.prod(y.shape) for y in ys]
        total = sum(sizes)
        create = _nested(xs)
        if total == 1 and len(ys) == 1:
            grads = _pullback(ys, [_ones_like(ys[0])], xs, retain=create, create=create)
            rows = [[g] for g in grads]
            level = None
        elif total == 0:
            rows = [[_plain(np.zeros((0,) + tuple(x.shape), dtype=x.dtype))] * len(ys) for x in xs]
            level = None
        else:
            level = push_level(total, user=False)
            try:
                cts = []
                offset = 0
                dtype = ys[0].dtype if len(ys) == 1 else np.result_type(*[y.dtype for y in ys])
                if _structured_seed(ys, level):
                    # The identity kept symbolic (structured.py): rows stay diagonal while the
                    # rules allow, and are made dense only where an op needs them.
                    y = ys[0]
                    cts.append(identity_batch(tuple(y.shape), y.dtype if dtype_kind(y.dtype) == "f" else dtype,
                                              (level.id,)))  # fmt: skip
                    ys_dense: list[Any] = []
                else:
                    ys_dense = ys
                for y, m in zip(ys_dense, sizes):
                    basis = np.zeros((total, m), dtype=y.dtype if dtype_kind(y.dtype) == "f" else dtype)
                    basis[np.arange(offset, offset + m), np.arange(m)] = 1.0
                    offset += m
                    cts.append(add_level(basis.reshape((total,) + tuple(y.shape)), 0, level))
                grads = _pullback(ys, cts, xs, retain=create, create=create)
            finally:
                pop_level(level)
            rows = []
            for g in grads:
                stacked = remove_level(g, level, 0)  # (total, *x.shape)
                parts = []
                offset = 0
                for m in sizes:
                    part = stacked
                    if len(ys) > 1:
                        part = bind(registry["getitem"], stacked, index=(slice(offset, offset + m),))
                    parts.append(part)
                    offset += m
                rows.append(parts)
        per_output = []
        for k, y in enumerate(ys):
            jacs = []
            for i, x in enumerate(xs):
                part = rows[i][k]
                shape = tuple(y.shape) + tuple(x.shape)
                if tuple(part.shape) != shape:
                    part = bind(registry["reshape"], part, shape=shape)
                jacs.append(part)
            per_output.append(_assemble(in_def, single, jacs))
        result = _unflatten_out(o_def, per_output)
        return (result, aux) if has_aux else result

    jac.__name__ = f"jacrev({getattr(f, '__name__', 'f')})"
    return jac
