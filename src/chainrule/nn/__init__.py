"""chainrule.nn: modules, layers, losses, initialisers and saving/loading of state.

>>> import chainrule as cr
>>> from chainrule import nn
>>> model = nn.Sequential(nn.Linear(4, 8, generator=0), nn.ReLU(), nn.Linear(8, 3, generator=1))
>>> logits = model(cr.ones(2, 4))
>>> loss = nn.CrossEntropyLoss()(logits, cr.tensor([0, 2]))
>>> loss.backward()
>>> model[0].weight.grad.shape
(8, 4)
"""

from chainrule.nn import functional, init
from chainrule.nn.layers import (
    GELU,
    AvgPool2d,
    BatchNorm1d,
    Conv2d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)  # fmt: skip
from chainrule.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from chainrule.nn.module import IncompatibleKeys, Module
from chainrule.nn.parameter import Parameter
from chainrule.nn.serialization import StateFileError, load, save
from chainrule.nn.stateless import functional_call, stack_module_state

__all__ = [
    "Parameter", "Module", "IncompatibleKeys", "functional", "init",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d",
    "Sequential", "Identity", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
    "GELU", "MSELoss", "L1Loss", "CrossEntropyLoss", "BCEWithLogitsLoss",
    "save", "load", "StateFileError", "functional_call", "stack_module_state",
]  # fmt: skip
