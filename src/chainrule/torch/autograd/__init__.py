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

import chainrule as _cr
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
from chainrule.torch._unsupported import missing_attribute, unsupported
from chainrule.torch.autograd import forward_ad, function, functional
from chainrule.torch.autograd.function import Function

__all__ = [
    "grad", "backward", "functional", "forward_ad", "function", "no_grad", "enable_grad", "set_grad_enabled",
    "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "Variable", "Function",
    "gradcheck", "gradgradcheck", "GradcheckError",
]  # fmt: skip

#: What a failed ``gradcheck`` raises (chainrule's, an AssertionError with the worst entry).
GradcheckError = _cr.testing.GradcheckError


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


def _checked_inputs(func: Any, inputs: Any, op: str) -> tuple[Any, list[Any]]:
    """``func`` as a function of only the inputs that require grad (PyTorch checks those), and
    those inputs."""
    args = (inputs,) if isinstance(inputs, _cr.Tensor) else tuple(inputs)
    wanted = [i for i, a in enumerate(args) if isinstance(a, _cr.Tensor) and a.requires_grad]
    if not wanted:
        raise ValueError(f"{op} expects at least one input tensor to require gradient, but none of the them have requires_grad=True.")

    def partial(*chosen: Any) -> Any:
        full = list(args)
        for i, value in zip(wanted, chosen):
            full[i] = wrap(value)
        return func(*full)

    return partial, [args[i].detach() for i in wanted]


def gradcheck(func: Any, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0, check_undefined_grad: bool = True,
              check_grad_dtypes: bool = False, check_batched_grad: bool = False,
              check_batched_forward_grad: bool = False, check_forward_ad: bool = False,
              check_backward_ad: bool = True, fast_mode: bool = False, masked: Any = None) -> bool:  # fmt: skip
    """Compare the derivatives of ``func`` with respect to the inputs that require grad with
    central finite differences: reverse mode (``check_backward_ad``) and forward mode
    (``check_forward_ad``). Inputs must be float64. Returns True, or raises ``GradcheckError``
    (False with ``raise_exception=False``).

    ``fast_mode`` and ``nondet_tol`` are accepted (the full check always runs); the batched
    checks are not supported.

    >>> from chainrule import torch
    >>> x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(torch.sin, (x,), check_forward_ad=True)
    True
    """
    if check_batched_grad or check_batched_forward_grad:
        raise unsupported("gradcheck(check_batched_grad=True)", "check a vmap of the gradient with torch.func instead")
    partial, xs = _checked_inputs(func, inputs, "gradcheck")
    return _cr.testing.gradcheck(partial, xs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception,
                                 check_backward=check_backward_ad, check_forward=check_forward_ad)  # fmt: skip


def gradgradcheck(func: Any, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False, raise_exception: bool = True,
                  nondet_tol: float = 0.0, check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False, masked: bool = False) -> bool:  # fmt: skip
    """Check second derivatives: gradcheck of the differentiable vector-Jacobian product.

    >>> from chainrule import torch
    >>> x = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradgradcheck(lambda t: t ** 3, (x,))
    True
    """
    if check_batched_grad or check_fwd_over_rev:
        raise unsupported("gradgradcheck(check_batched_grad=/check_fwd_over_rev=True)")
    partial, xs = _checked_inputs(func, inputs, "gradgradcheck")
    return _cr.testing.gradgradcheck(partial, xs, grad_outputs=grad_outputs, eps=eps, atol=atol, rtol=rtol,
                                     raise_exception=raise_exception)  # fmt: skip


__getattr__ = missing_attribute("torch.autograd")
