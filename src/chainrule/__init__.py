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

from chainrule import autograd, data, nn, optim, random, testing, transforms, viz

# numpy.linalg's and numpy.fft's namespaces (kept apart from the star imports below).
from chainrule import fft, linalg  # isort: skip
from chainrule.core.modes import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.core.primitive import Primitive
from chainrule.core.tensor import Tensor
from chainrule.ops import FAMILIES as _FAMILIES
from chainrule.ops.backends import *  # noqa: F403
from chainrule.ops.binary import *  # noqa: F403
from chainrule.ops.complex import *  # noqa: F403
from chainrule.ops.creation import *  # noqa: F403
from chainrule.ops.indexing import *  # noqa: F403
from chainrule.ops.linalg import *  # noqa: F403
from chainrule.ops.nn import *  # noqa: F403
from chainrule.ops.nondiff import *  # noqa: F403
from chainrule.ops.reduce import *  # noqa: F403
from chainrule.ops.shape import *  # noqa: F403
from chainrule.ops.unary import *  # noqa: F403
from chainrule.tape import GradientTape, Variable, constant
from chainrule.transforms import (
    ForwardAccumulator,
    UnconnectedGradients,
    checkpoint,
    custom_jvp,
    custom_vjp,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    remat,
    value_and_grad,
    vjp,
    vmap,
)  # fmt: skip

# HIPS autograd's transform names beside the JAX ones; grad, value_and_grad, jacobian and hessian
# are rebound to versions that take argnum= (autograd) as well as argnums= (JAX).
from chainrule.transforms.autograd_api import (  # noqa: E402, F811
    elementwise_grad,
    grad,
    grad_and_aux,
    hessian,
    hessian_tensor_product,
    hessian_vector_product,
    jacobian,
    make_ggnvp,
    make_hvp,
    make_jvp,
    make_vjp,
    tensor_jacobian_product,
    value_and_grad,
    vector_jacobian_product,
)  # fmt: skip

# Taylor mode (transforms/jet.py)
from chainrule.transforms.jet import jet, taylor

float32 = "float32"
float64 = "float64"
int32 = "int32"
int64 = "int64"
bool_ = "bool"

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Primitive", "autograd", "linalg", "fft", "random", "testing", "viz", "nn", "optim", "data", "transforms", "GradientTape",
    "Variable", "constant", "ForwardAccumulator", "UnconnectedGradients", "grad", "value_and_grad",
    "vjp", "jacrev", "jacfwd", "jacobian", "hessian", "hvp", "jvp", "vmap", "custom_vjp", "custom_jvp",
    "checkpoint", "remat", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "float32", "float64", "int32", "int64", "bool_",
] + [
    "elementwise_grad", "make_vjp", "make_jvp", "make_hvp", "hessian_tensor_product",
    "hessian_vector_product", "tensor_jacobian_product", "vector_jacobian_product", "grad_and_aux",
    "make_ggnvp",
] + [name for family in _FAMILIES for name in family.__all__]  # fmt: skip
__all__ += ["jet", "taylor"]

# cr.jit and its control flow (transforms/jit.py)
from chainrule.transforms.jit import cond, fori_loop, jit  # noqa: E402

__all__ += ["jit", "cond", "fori_loop"]

# cr.switch: the n-way cond, traced once per branch inside jit (transforms/jit_control.py)
from chainrule.transforms.jit_control import switch  # noqa: E402

__all__ += ["switch"]
