"""``torch.utils.checkpoint``: a name map over ``chainrule.checkpoint``.

The forward keeps only the inputs; the backward runs the function again and differentiates it.
Both of PyTorch's variants give the same gradients here (``use_reentrant=True`` records no
separate node, unlike PyTorch's, and ``autograd.grad`` works with either). PyTorch's random
stream (``torch.manual_seed``, dropout) is replayed in the recomputation unless
``preserve_rng_state=False``, as in PyTorch.

>>> from chainrule import torch
>>> from chainrule.torch.utils.checkpoint import checkpoint
>>> x = torch.tensor([0.5, 1.0], requires_grad=True)
>>> y = checkpoint(torch.sin, x, use_reentrant=False)
>>> y.sum().backward()
>>> x.grad
tensor([0.8776, 0.5403])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import chainrule as _cr
from chainrule.torch._random import default_generator
from chainrule.torch._tensor import wrap_tree
from chainrule.torch._unsupported import unsupported

__all__ = ["checkpoint", "checkpoint_sequential"]

_REENTRANT_WARNING = (
    "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in "
    "PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants."
)


def _replaying(function: Callable[..., Any], preserve_rng_state: bool) -> Callable[..., Any]:
    """``function``, with PyTorch's random stream put back to where the first call found it each
    time it runs again (the recomputation then draws the same dropout masks)."""
    first: list[Any] = []

    def replay(*args: Any, **kwargs: Any) -> Any:
        if not preserve_rng_state:
            return function(*args, **kwargs)
        if not first:
            first.append(default_generator.get_state())
            return function(*args, **kwargs)
        now = default_generator.get_state()
        default_generator.set_state(first[0])
        try:
            return function(*args, **kwargs)
        finally:
            default_generator.set_state(now)

    replay.__name__ = getattr(function, "__name__", type(function).__name__)
    return replay


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               context_fn: Any = None, determinism_check: str = "default", debug: bool = False,
               early_stop: bool = True, preserve_rng_state: bool = True, **kwargs: Any) -> Any:  # fmt: skip
    """``function(*args, **kwargs)``, with its intermediate values recomputed in the backward
    pass instead of kept.

    >>> from chainrule import torch
    >>> from chainrule.torch.utils.checkpoint import checkpoint
    >>> w = torch.tensor(3.0, requires_grad=True)
    >>> y = checkpoint(lambda t: (t * w) ** 2, torch.tensor(2.0), use_reentrant=False)
    >>> y.backward()
    >>> w.grad
    tensor(24.)
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
    if context_fn is not None:
        raise unsupported("torch.utils.checkpoint.checkpoint(context_fn=...)", "selective checkpointing is not supported")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got {determinism_check}")
    return wrap_tree(_cr.checkpoint(_replaying(function, preserve_rng_state))(*args, **kwargs))


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,  # noqa: A002
                          **kwargs: Any) -> Any:  # fmt: skip
    """Run ``functions`` (a list or ``nn.Sequential``) in ``segments`` checkpointed chunks; the
    last chunk is not checkpointed, as in PyTorch.

    >>> from chainrule import torch
    >>> from chainrule.torch.utils.checkpoint import checkpoint_sequential
    >>> layers = [torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.Tanh(), torch.nn.Tanh()]
    >>> x = torch.tensor([0.5], requires_grad=True)
    >>> checkpoint_sequential(layers, 2, x, use_reentrant=False).shape
    torch.Size([1])
    """
    if use_reentrant is None:
        warnings.warn(_REENTRANT_WARNING, UserWarning, stacklevel=2)
    preserve = kwargs.pop("preserve", kwargs.pop("preserve_rng_state", True))
    if kwargs:
        raise TypeError(f"checkpoint_sequential: unexpected keyword arguments {sorted(kwargs)}")
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    size = len(fns) // segments

    def run(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for fn in fns[start : end + 1]:
                x = fn(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant if use_reentrant is not None else True,  # noqa: A001
                           preserve_rng_state=preserve)  # fmt: skip
    return wrap_tree(run(end + 1, len(fns) - 1)(input))
