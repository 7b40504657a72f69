"""Loss modules: MSELoss, L1Loss, CrossEntropyLoss, BCEWithLogitsLoss.

Each takes ``reduction``: ``"mean"`` (the default), ``"sum"`` or ``"none"`` (one loss per element
or per sample).
"""

from __future__ import annotations

from typing import Any

from chainrule.core.tensor import Tensor
from chainrule.nn import functional as F
from chainrule.nn.module import Module

__all__ = ["MSELoss", "L1Loss", "CrossEntropyLoss", "BCEWithLogitsLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error between prediction and target.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.MSELoss()(cr.tensor([1.0, 3.0]), cr.tensor([1.0, 1.0]))
    tensor(2., dtype=float64)
    """

    def forward(self, pred: Any, target: Any) -> Tensor:
        return F.mse_loss(pred, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error between prediction and target.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> nn.L1Loss(reduction="sum")(cr.tensor([1.0, 3.0]), cr.tensor([1.0, 1.0]))
    tensor(2., dtype=float64)
    """

    def forward(self, pred: Any, target: Any) -> Tensor:
        return F.l1_loss(pred, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy from logits; the target holds class indices (N,) or probabilities (N, C).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> loss = nn.CrossEntropyLoss()(cr.tensor([[2.0, 0.0], [0.0, 2.0]]), cr.tensor([0, 1]))
    >>> round(float(loss), 4)
    0.1269
    """

    def forward(self, logits: Any, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1].

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> round(float(nn.BCEWithLogitsLoss()(cr.tensor([0.0]), cr.tensor([0.0]))), 4)
    0.6931
    """

    def forward(self, logits: Any, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)
