"""chainrule.optim: optimizers that update parameters in place, and learning-rate schedules.

>>> import chainrule as cr
>>> from chainrule import nn, optim
>>> model = nn.Linear(1, 1, generator=0)
>>> opt = optim.Adam(model.parameters(), lr=0.1)
>>> x, y = cr.tensor([[1.0], [2.0]]), cr.tensor([[2.0], [4.0]])
>>> for _ in range(400):
...     opt.zero_grad()
...     loss = nn.functional.mse_loss(model(x), y)
...     loss.backward()
...     opt.step()
>>> float(loss) < 1e-3
True
"""

from chainrule.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from chainrule.optim.optimizer import Optimizer
from chainrule.optim.optimizers import SGD, Adam, AdamW, RMSprop

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR",
]  # fmt: skip
