"""Function transforms on the one engine: reverse mode (``grad``, ``vjp``, ``jacrev``), forward
mode (``jvp``, ``jacfwd``, ``ForwardAccumulator``), batching (``vmap``) and their compositions
(``hessian``, ``hvp``), custom derivatives (``custom_vjp``, ``custom_jvp``) and
rematerialization (``checkpoint``). They compose freely: ``grad(grad(f))``, ``jacfwd(jacrev(f))``,
``vmap(grad(f))``.

>>> import chainrule as cr
>>> cr.hessian(lambda x: (x ** 2).sum())(cr.tensor([1., 2.]))
tensor([[2., 0.],
        [0., 2.]], dtype=float64)
"""

from chainrule.transforms.api import hessian, hvp, jacobian
from chainrule.transforms.batching import BatchedTensor, vmap
from chainrule.transforms.checkpoint import checkpoint, remat
from chainrule.transforms.custom import custom_jvp, custom_vjp
from chainrule.transforms.forward import ForwardAccumulator, UnconnectedGradients, jacfwd, jvp
from chainrule.transforms.jet import jet, taylor
from chainrule.transforms.pytree import flatten as tree_flatten
from chainrule.transforms.pytree import tree_map
from chainrule.transforms.pytree import unflatten as tree_unflatten
from chainrule.transforms.reverse import grad, jacrev, value_and_grad, vjp

__all__ = [
    "grad", "value_and_grad", "vjp", "jacrev", "jacobian", "jvp", "jacfwd", "hessian", "hvp",
    "vmap", "ForwardAccumulator", "UnconnectedGradients", "tree_flatten", "tree_unflatten",
    "tree_map", "BatchedTensor", "custom_vjp", "custom_jvp", "checkpoint", "remat",
]  # fmt: skip
__all__ += ["jet", "taylor"]

# cr.jit: trace once, replay on arrays (jit.py, jit_program.py)
from chainrule.transforms.jit import Traced, callback, cond, fori_loop, jit, retype  # noqa: E402

__all__ += ["jit", "cond", "fori_loop", "callback", "Traced", "retype"]

# switch, the n-way cond (jit_control.py)
from chainrule.transforms.jit_control import switch  # noqa: E402

__all__ += ["switch"]
