"""PyTorch-style functional autograd: ``chainrule.autograd.grad`` and friends."""

from chainrule.core.engine import grad
from chainrule.core.modes import enable_grad, no_grad, set_grad_enabled

__all__ = ["grad", "no_grad", "enable_grad", "set_grad_enabled", "backward"]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):  # type: ignore[no-untyped-def]
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad`` (``torch.autograd.backward``)."""
    from chainrule.core.tensor import Tensor

    if isinstance(tensors, Tensor):
        tensors = [tensors]
        grad_tensors = [grad_tensors]
    elif grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    for t, g in zip(tensors, grad_tensors):
        t.backward(g, retain_graph=True if retain_graph is None else retain_graph,
                   create_graph=create_graph, inputs=inputs)  # fmt: skip
