"""The engine's two front doors: ``Tensor.backward()`` and ``autograd.grad``.

They check what they are given (outputs that require grad, seeds of the right shape, inputs that
can receive a gradient), explain what they refuse, then run :func:`engine.backprop`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.core.backend import copy_array, is_foreign, namespace_of, ones_like, zeros_like
from chainrule.core.engine import _as_tensor, backprop
from chainrule.core.tensor import Tensor, cut_by

__all__ = ["run_backward", "grad"]


def _seed(tensor: Tensor, gradient: Any, op: str) -> Any:
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs; this output has "
                f"shape {tensor.shape}. Pass gradient= (a tensor of that shape), or reduce the "
                "output first (.sum() or .mean())."
            )
        return ones_like(tensor._data)
    g = gradient
    if isinstance(g, Tensor):
        data = g._data
    elif is_foreign(g) or is_foreign(tensor._data):
        data = g if is_foreign(g) else namespace_of(tensor._data).asarray(g, dtype=tensor._data.dtype)
    else:
        data = np.asarray(g, dtype=tensor._data.dtype)
    if data.shape != tensor._data.shape:
        raise ValueError(
            f"{op}: the gradient has shape {data.shape} but the output has shape "
            f"{tensor._data.shape}; they must match."
        )
    return g if isinstance(g, Tensor) else data


def run_backward(
    tensor: Tensor,
    gradient: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """``tensor.backward()``: accumulate gradients into the ``.grad`` of leaves."""
    if not tensor._requires_grad:
        if cut_by(tensor) is not None:
            raise RuntimeError(_cut_message("backward", cut_by(tensor)))
        raise RuntimeError(
            "backward: element 0 of tensors does not require grad and does not have a grad_fn. "
            "Create the inputs with requires_grad=True (or call .requires_grad_()) before "
            "computing the output."
        )
    seed = _seed(tensor, gradient, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        if isinstance(inputs, Tensor):
            inputs = [inputs]
        inputs = list(inputs)
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor) or not t._requires_grad:
                raise RuntimeError(
                    f"backward: inputs[{i}] does not require grad, so it can receive no gradient; "
                    "pass tensors created with requires_grad=True, or computed from them"
                )
        grads = backprop(
            [(tensor, seed)], targets=inputs, retain_graph=retain_graph, create_graph=create_graph
        )
        for leaf, g in zip(inputs, grads):
            if g is None:
                continue
            gt = _as_tensor(g) if create_graph else _as_tensor(copy_array(_data_of(g)))
            leaf.grad = gt if leaf.grad is None else leaf.grad + gt
        return
    backprop([(tensor, seed)], retain_graph=retain_graph, create_graph=create_graph, accumulate=True)


def _cut_message(where: str, op: str) -> str:
    return (
        f"{where}: the output does not require grad: it was computed from a tensor that requires "
        f"grad, but through {op}, which is not differentiable (no derivative, or an integer "
        "result), so no gradient can flow back to the inputs. Compute it with differentiable ops "
        "(for a straight-through estimate: x + (op(x) - x).detach())."
    )


def _data_of(g: Any) -> np.ndarray:
    return g._data if isinstance(g, Tensor) else (g if is_foreign(g) else np.asarray(g))


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> (dx,) = cr.autograd.grad(x ** 3, x, create_graph=True)
    >>> cr.autograd.grad(dx, x)[0]
    tensor(18., dtype=float64)
    """
    single_output = isinstance(outputs, Tensor)
    outs = [outputs] if single_output else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        gouts: list[Any] = [None] * len(outs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        gouts = [grad_outputs]
    else:
        gouts = list(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(
            f"autograd.grad: got {len(gouts)} grad_outputs for {len(outs)} outputs; pass one "
            "per output."
        )
    for i, x in enumerate(ins):
        if not isinstance(x, Tensor):
            raise TypeError(f"autograd.grad: inputs[{i}] is a {type(x).__name__}, not a Tensor")
        if not x._requires_grad:
            raise RuntimeError(
                f"autograd.grad: inputs[{i}] (shape {x.shape}) does not require grad. Create it "
                "with requires_grad=True before computing the outputs."
            )
    roots = []
    for i, (out, gout) in enumerate(zip(outs, gouts)):
        if not isinstance(out, Tensor):
            raise TypeError(f"autograd.grad: outputs[{i}] is a {type(out).__name__}, not a Tensor")
        if not out._requires_grad:
            if cut_by(out) is not None:
                raise RuntimeError(_cut_message(f"autograd.grad: outputs[{i}]", cut_by(out)))
            raise RuntimeError(
                f"autograd.grad: outputs[{i}] does not require grad and does not have a grad_fn: "
                "it was not computed from any input that requires grad."
            )
        roots.append((out, _seed(out, gout, "autograd.grad")))
    if retain_graph is None:
        retain_graph = create_graph

    def unused(indices: list[int]) -> None:
        i = indices[0]
        raise RuntimeError(
            f"autograd.grad: inputs[{i}] (shape {ins[i].shape}) appears to not have been used in "
            "the graph of the outputs. Set allow_unused=True if this is the desired behavior "
            "(its gradient is then None)." + _why_none_hint(outs, ins[i])
        )

    check = None if (allow_unused or materialize_grads) else unused
    grads = backprop(roots, targets=ins, retain_graph=retain_graph, create_graph=create_graph,
                     on_unreached=check)  # fmt: skip
    result: list[Tensor | None] = []
    for x, g in zip(ins, grads):
        if g is None:
            # Reached but with a zero (None) cotangent, or unused with allow_unused.
            result.append(_as_tensor(zeros_like(x._data)) if materialize_grads or not allow_unused else None)
            continue
        result.append(_as_tensor(g) if create_graph else _as_tensor(_owned(g)))
    return tuple(result)


def _owned(g: Any) -> np.ndarray:
    data = _data_of(g)
    if type(data) is not np.ndarray:
        return copy_array(data)  # another library's array: no view facts to go by
    return data if data.base is None and data.flags.writeable else data.copy()


def _why_none_hint(outputs: list[Tensor], source: Tensor) -> str:
    """An explanation from the recorded history, when the viz package can give one."""
    explain = _WHY_NONE_HOOK[0]
    if explain is None:
        return ""
    try:
        return "\n" + explain(outputs, source)
    except Exception:  # pragma: no cover - the explanation must never hide the real error
        return ""


#: Set by chainrule.viz to a function (outputs, source) -> explanation text.
_WHY_NONE_HOOK: list[Any] = [None]
