"""The engine: Tensor, Primitive, Node, bind, backprop, and the recording modes."""

from chainrule.core.dispatch import bind
from chainrule.core.engine import backprop
from chainrule.core.modes import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.core.node import Node
from chainrule.core.primitive import Primitive, registry
from chainrule.core.tensor import Tensor

__all__ = [
    "Tensor", "Primitive", "Node", "bind", "backprop", "registry",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
]  # fmt: skip
