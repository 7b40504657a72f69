"""Calling a module with other parameters: ``functional_call`` and ``stack_module_state``.

``functional_call(module, values, args)`` runs ``module(*args)`` with some of its parameters and
buffers replaced by the tensors in ``values`` (by dotted name), for the duration of the call
only. The replacements can be anything a transform hands a function (plain tensors that a
``grad`` traces, batched values inside ``vmap``, values followed by a ``ForwardAccumulator``), so
a module becomes a function of its parameters:

>>> import chainrule as cr
>>> from chainrule import nn
>>> layer = nn.Linear(2, 1, generator=0)
>>> w = {"weight": cr.tensor([[1.0, 2.0]]), "bias": cr.tensor([0.5])}
>>> nn.functional_call(layer, w, (cr.tensor([[1.0, 1.0]]),))
tensor([[3.5]], dtype=float64)
>>> cr.grad(lambda p: nn.functional_call(layer, p, (cr.ones(1, 2),)).sum())(w)["weight"]
tensor([[1., 1.]], dtype=float64)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from chainrule.core.tensor import Tensor
from chainrule.nn.module import Module
from chainrule.ops.shape import stack

__all__ = ["functional_call", "stack_module_state"]

_MISSING = object()


def _owner(module: Module, key: str) -> tuple[Module, str]:
    """The sub-module that holds the dotted name ``key``, and the last part of the name."""
    *path, name = key.split(".")
    owner = module
    for part in path:
        child = owner._modules.get(part) if isinstance(owner, Module) else None
        if child is None:
            raise AttributeError(
                f"functional_call: {type(module).__name__} has no sub-module '{'.'.join(path)}' "
                f"(from the key '{key}')"
            )
        owner = child
    return owner, name


def _slot(owner: Module, name: str) -> dict[str, Any] | None:
    for table in (owner._parameters, owner._buffers):
        if name in table:
            return table
    return None


@contextlib.contextmanager
def _swapped(module: Module, values: Mapping[str, Any], strict: bool, tie_weights: bool) -> Iterator[None]:
    known = {}
    for prefix, sub in module.named_modules():
        for table in (sub._parameters, sub._buffers):
            for name, value in table.items():
                known[f"{prefix}.{name}" if prefix else name] = value
    unexpected = [k for k in values if k not in known]
    missing = [k for k in known if k not in values]
    if strict and (unexpected or missing):
        raise RuntimeError(
            "functional_call: with strict=True the values must name every parameter and buffer; "
            f"missing: {missing}, unexpected: {unexpected}"
        )
    plan = dict(values)
    if tie_weights:
        # A tensor registered under several names (tied weights) is replaced under all of them.
        by_id = {id(known[k]): v for k, v in values.items() if k in known and known[k] is not None}
        for key, original in known.items():
            if key not in plan and original is not None and id(original) in by_id:
                plan[key] = by_id[id(original)]
    undo: list[tuple[Any, str, Any]] = []
    try:
        for key, value in plan.items():
            owner, name = _owner(module, key)
            table = _slot(owner, name)
            if table is not None:
                undo.append((table, name, table[name]))
                table[name] = value
            else:
                undo.append((owner, name, owner.__dict__.get(name, _MISSING)))
                object.__setattr__(owner, name, value)
        yield
    finally:
        for where, name, old in reversed(undo):
            if isinstance(where, dict):
                where[name] = old
            elif old is _MISSING:
                where.__dict__.pop(name, None)
            else:
                object.__setattr__(where, name, old)


def functional_call(module: Module, parameters_and_buffers: Any, args: Any = None, kwargs: Mapping[str, Any] | None = None,
                    *, tie_weights: bool = True, strict: bool = False) -> Any:  # fmt: skip
    """``module(*args, **kwargs)`` with parameters and buffers taken from
    ``parameters_and_buffers`` (a dict by dotted name, or a tuple of dicts) for this call only.

    Names not given keep the module's own values (all must be given with ``strict=True``); a
    name that is no parameter or buffer is set as a plain attribute for the call. With
    ``tie_weights``, a tensor registered under several names is replaced under all of them.
    ``args`` is a tuple of positional arguments (a single non-tuple value is one argument).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> layer = nn.Linear(1, 1, generator=0)
    >>> nn.functional_call(layer, {"weight": cr.tensor([[2.0]])}, cr.tensor([[3.0]])) - layer.bias
    tensor([[6.]], dtype=float64, grad_fn=<SubBackward0>)
    """
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected a Module, got {type(module).__name__}")
    if isinstance(parameters_and_buffers, Mapping):
        values = dict(parameters_and_buffers)
    elif isinstance(parameters_and_buffers, Sequence) and all(isinstance(d, Mapping) for d in parameters_and_buffers):
        values = {}
        for d in parameters_and_buffers:
            for key, value in d.items():
                if key in values:
                    raise ValueError(f"functional_call: {key!r} appears in more than one of the dicts given")
                values[key] = value
    else:
        raise TypeError(
            "functional_call: parameters_and_buffers must be a dict of tensors by dotted name, or a "
            f"tuple of such dicts; got {type(parameters_and_buffers).__name__}"
        )
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, values, strict, tie_weights):
        return module(*args, **(kwargs or {}))


def stack_module_state(models: Sequence[Module]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters and buffers of same-shaped ``models``, each stacked along a new leading
    dimension: ``(params, buffers)`` by dotted name, ready for ``vmap(functional_call)`` over an
    ensemble. The stacked parameters are new leaves (requiring grad where the originals do).

    >>> from chainrule import nn
    >>> params, buffers = nn.stack_module_state([nn.Linear(3, 2, generator=i) for i in range(4)])
    >>> params["weight"].shape, params["bias"].requires_grad
    ((4, 2, 3), True)
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    kinds = {type(m) for m in models}
    if len(kinds) > 1:
        raise RuntimeError(f"stack_module_state: expected all models to be of the same class, got {sorted(k.__name__ for k in kinds)}")
    training = {m.training for m in models}
    if len(training) > 1:
        raise RuntimeError("stack_module_state: expected all models to be in the same mode (all .train() or all .eval())")

    def stacked(named: list[dict[str, Tensor]], what: str) -> dict[str, Tensor]:
        names = list(named[0])
        for d in named[1:]:
            if list(d) != names:
                raise RuntimeError(f"stack_module_state: the models have different {what}: {names} and {list(d)}")
        out = {}
        for name in names:
            out[name] = stack([d[name].detach() for d in named], 0)
        return out

    params = stacked([dict(m.named_parameters()) for m in models], "parameters")
    for name, value in params.items():
        if dict(models[0].named_parameters())[name].requires_grad:
            value.requires_grad_(True)
    buffers = stacked([dict(m.named_buffers()) for m in models], "buffers")
    return params, buffers
