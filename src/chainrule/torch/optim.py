"""``torch.optim``: chainrule's optimizers under PyTorch's signatures.

>>> from chainrule import torch
>>> from chainrule.torch import nn, optim
>>> w = nn.Parameter(torch.tensor([1.0]))
>>> opt = optim.SGD([w], lr=0.1)
>>> (w ** 2).sum().backward()
>>> opt.step()
>>> w
Parameter containing:
tensor([0.8000], requires_grad=True)
"""

from __future__ import annotations

from typing import Any

from chainrule import optim as _native
from chainrule.optim import (
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    Optimizer,
    RMSprop,
    StepLR,
)  # fmt: skip

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]


def _unsupported(where: str, **flags: Any) -> None:
    used = [name for name, value in flags.items() if value]
    if used:
        raise NotImplementedError(f"{where}: {', '.join(used)} not supported by chainrule")


class SGD(_native.SGD):
    """Stochastic gradient descent with PyTorch's argument order (momentum, dampening,
    weight_decay, nesterov)."""

    def __init__(self, params: Any, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: Any = None, differentiable: bool = False, fused: Any = None) -> None:  # fmt: skip
        _unsupported("SGD", maximize=maximize, differentiable=differentiable)
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                         weight_decay=weight_decay)  # fmt: skip


class Adam(_native.Adam):
    """Adam with PyTorch's arguments."""

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach: Any = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: Any = None) -> None:  # fmt: skip
        _unsupported("Adam", maximize=maximize, differentiable=differentiable)
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


class _LRSchedulers:
    """``torch.optim.lr_scheduler``."""

    LRScheduler = LRScheduler
    StepLR = StepLR
    ExponentialLR = ExponentialLR
    CosineAnnealingLR = CosineAnnealingLR


lr_scheduler = _LRSchedulers()


from chainrule.torch._unsupported import missing_attribute  # noqa: E402

__getattr__ = missing_attribute("torch.optim")
