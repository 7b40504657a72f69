"""chainrule: automatic differentiation you can see inside.

One NumPy-backed engine: reverse and forward mode, derivatives of any order, Jacobians and
Hessians, and two familiar front doors (``chainrule.tf`` and ``chainrule.torch``).

>>> import chainrule as cr
>>> x = cr.tensor(3.0, requires_grad=True)
>>> y = x ** 2
>>> y.backward()
>>> x.grad
tensor(6., dtype=float64)
"""

from chainrule import autograd, random
from chainrule.core.modes import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops import *  # noqa: F403
from chainrule.ops.binary import (
    add, arctan2, clip, divide, maximum, minimum, mod, multiply, power, subtract, where,
)  # fmt: skip
from chainrule.ops.creation import (
    arange, as_tensor, empty, eye, full, full_like, linspace, ones, ones_like, tensor, zeros,
    zeros_like,
)  # fmt: skip
from chainrule.ops.nondiff import (
    argmax, argmin, ceil, equal, floor, floor_divide, greater, greater_equal, isfinite, isinf,
    isnan, less, less_equal, logical_and, logical_not, logical_or, logical_xor, not_equal, round,
)  # fmt: skip
from chainrule.ops.reduce import sum
from chainrule.ops.shape import astype, broadcast_to, expand_dims, flatten, reshape, sum_to, transpose
from chainrule.ops.unary import (
    abs, arccos, arcsin, arctan, cos, cosh, erf, exp, expm1, gelu, leaky_relu, log, log1p, log2,
    log10, neg, reciprocal, relu, sigmoid, sign, sin, sinh, softplus, sqrt, square, tan, tanh,
)  # fmt: skip

float32 = "float32"
float64 = "float64"
int32 = "int32"
int64 = "int64"
bool_ = "bool"

__version__ = "0.1.0"
