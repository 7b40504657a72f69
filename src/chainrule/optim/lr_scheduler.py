"""Learning-rate schedules: StepLR, ExponentialLR, CosineAnnealingLR.

Call ``scheduler.step()`` once per epoch, after the optimizer's steps. Each schedule is a closed
form of the epoch count and the group's starting learning rate (``initial_lr``).
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.optim.optimizer import Optimizer, check_lr, check_range

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: subclasses define ``lr_at(base_lr, epoch)``, the learning rate at ``epoch``.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> class Halving(optim.LRScheduler):
    ...     def lr_at(self, base_lr, epoch):
    ...         return base_lr / 2**epoch
    >>> sched = Halving(optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0))
    >>> sched.step()
    >>> sched.get_last_lr(), sched.state_dict()["last_epoch"]
    ([0.5], 1)
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(
                    f"{type(self).__name__}: resuming at last_epoch={last_epoch} needs 'initial_lr' "
                    "in every parameter group (it is set when a scheduler starts from -1)"
                )
        self.base_lrs = [check_lr(group["initial_lr"], type(self).__name__) for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate (see the class examples)."""
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = check_lr(self.lr_at(base, self.last_epoch), type(self).__name__)

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step``."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, for saving."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """lr = initial_lr · gamma^(epoch // step_size).

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = optim.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0])
    ...     sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = check_range(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = initial_lr · gamma^epoch.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = optim.ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_range(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (initial_lr - eta_min)·(1 + cos(π·epoch / T_max)) / 2, then periodic.

    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = optim.CosineAnnealingLR(opt, T_max=2)
    >>> sched.step()
    >>> sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = check_lr(eta_min, "CosineAnnealingLR (eta_min)")
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
