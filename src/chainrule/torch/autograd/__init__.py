"""``torch.autograd``: ``grad``, ``backward``, grad-mode switches, anomaly mode.

>>> from chainrule import torch
>>> x = torch.tensor(3., requires_grad=True)
>>> (dx,) = torch.autograd.grad(x ** 3, x, create_graph=True)
>>> dx
tensor(27., grad_fn=<MulBackward0>)
>>> torch.autograd.grad(dx, x)
(tensor(18.),)
"""

from __future__ import annotations

from typing import Any

from chainrule import autograd as _native
from chainrule.autograd import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)  # fmt: skip
from chainrule.torch._tensor import wrap
from chainrule.torch.autograd import functional

__all__ = [
    "grad", "backward", "functional", "no_grad", "enable_grad", "set_grad_enabled",
    "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "Variable",
]  # fmt: skip


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple[Any, ...]:  # fmt: skip
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated).

    An input the outputs do not depend on raises unless ``allow_unused=True`` (then its
    gradient is None), as in PyTorch.

    >>> from chainrule import torch
    >>> x = torch.tensor([1., 2.], requires_grad=True)
    >>> torch.autograd.grad((x ** 2).sum(), x)
    (tensor([2., 4.]),)
    """
    if is_grads_batched:
        raise NotImplementedError("autograd.grad: is_grads_batched=True is not supported; use torch.func.vmap")
    return wrap(
        tuple(
            _native.grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                         materialize_grads)  # fmt: skip
        )
    )


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Any = None) -> None:  # fmt: skip
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``.

    >>> from chainrule import torch
    >>> x = torch.tensor(2., requires_grad=True)
    >>> torch.autograd.backward(x * x)
    >>> x.grad
    tensor(4.)
    """
    _native.backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def Variable(data: Any, requires_grad: bool = False) -> Any:  # noqa: N802 - PyTorch's name
    """PyTorch's deprecated ``Variable``: a tensor with ``requires_grad`` set."""
    from chainrule.torch._creation import tensor

    return tensor(data, requires_grad=requires_grad)
