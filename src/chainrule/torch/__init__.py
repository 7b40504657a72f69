"""chainrule.torch: PyTorch's names and semantics on chainrule's engine.

``from chainrule import torch`` in place of ``import torch`` runs PyTorch-style autograd code on
chainrule. It is a naming layer: every value is computed and differentiated by the native
functions (``chainrule.*``, ``chainrule.nn``, ``chainrule.optim``, ``chainrule.transforms``); this
package renames arguments, re-defaults dtypes to float32, reproduces PyTorch's CPU random streams
and prints tensors as PyTorch does. See ``docs/dialects/torch.md`` for what differs.

>>> from chainrule import torch
>>> x = torch.tensor(2., requires_grad=True)
>>> y = torch.tensor(3., requires_grad=True)
>>> f = 2 * x ** 3 + 3 * y ** 2 + torch.tensor(1.)
>>> f
tensor(44., grad_fn=<AddBackward0>)
>>> f.backward()
>>> x.grad, y.grad
(tensor(24.), tensor(18.))
"""

import chainrule as _cr
from chainrule.torch import _functions, _methods
from chainrule.torch._creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_rng_state,
    initial_seed,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    seed,
    set_rng_state,
    tensor,
    zeros,
    zeros_like,
)  # fmt: skip
from chainrule.torch._dtypes import (
    Size,
    bool,
    device,
    double,
    dtype,
    float,
    float16,
    float32,
    float64,
    get_default_device,
    get_default_dtype,
    half,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    set_default_device,
    set_default_dtype,
    short,
    uint8,
)  # fmt: skip
from chainrule.torch._format import set_printoptions
from chainrule.torch._functions import *  # noqa: F403
from chainrule.torch._functions import __all__ as _function_names
from chainrule.torch._random import Generator, default_generator
from chainrule.torch._serialization import load, save
from chainrule.torch._tensor import Tensor

_methods.install()

no_grad = _cr.no_grad
enable_grad = _cr.enable_grad
set_grad_enabled = _cr.set_grad_enabled
is_grad_enabled = _cr.is_grad_enabled
#: PyTorch's inference mode is grad mode off here (chainrule has no separate inference tensors).
inference_mode = _cr.no_grad

# Submodules, imported last: they build on the names above.
from chainrule.torch import accelerator, autograd, backends, cuda, func, nn, optim, utils  # noqa: E402
from chainrule.torch._compile import compile  # noqa: E402
from chainrule.torch._unsupported import NotSupportedError, missing_attribute  # noqa: E402

#: ``torch.vmap`` is ``torch.func.vmap``, as in PyTorch.
vmap = func.vmap

# A PyTorch name the dialect lacks raises NotSupportedError naming it (an AttributeError too).
__getattr__ = missing_attribute("torch")

__all__ = [
    "Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "eye",
    "arange", "linspace", "zeros_like", "ones_like", "full_like", "empty_like", "rand", "randn",
    "randint", "rand_like", "randn_like", "randint_like", "normal", "manual_seed", "seed",
    "initial_seed", "get_rng_state", "set_rng_state", "Generator", "default_generator",
    "dtype", "float16", "half", "float32", "float", "float64", "double", "int8", "int16",
    "short", "int32", "int", "int64", "long", "uint8", "bool", "Size", "device",
    "get_default_dtype", "set_default_dtype", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "inference_mode", "set_printoptions", "save", "load", "autograd", "func", "nn", "optim",
    "cuda", "backends", "accelerator", "utils", "compile", "vmap", "get_default_device",
    "set_default_device", "NotSupportedError",
] + list(_function_names)  # fmt: skip
del _functions
