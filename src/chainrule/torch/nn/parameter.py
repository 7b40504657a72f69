"""``torch.nn.parameter``: the Parameter class.

>>> from chainrule import torch
>>> from chainrule.torch import nn
>>> nn.parameter.Parameter(torch.tensor([[1., 2.], [3., 4.]]))
Parameter containing:
tensor([[1., 2.],
        [3., 4.]], requires_grad=True)
"""

from chainrule.torch._tensor import Parameter

__all__ = ["Parameter"]
