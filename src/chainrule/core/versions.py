"""Storage versions: the check that a node's saved values are still the ones it recorded.

A tensor's version counter belongs to its storage (``Tensor._vc``, shared by views and
``detach()`` aliases; see ``core/tensor.py``). A node records the version of every input it keeps
and the counter of its output when its rules read it; before a rule runs, the engine calls
:func:`check_versions`, which raises if anything was written in place since.
"""

from __future__ import annotations

from chainrule.core.node import Node

__all__ = ["check_versions", "raise_modified"]


def check_versions(node: Node) -> None:
    """Refuse to run a rule whose saved inputs or output were written in place since recording.

    Versions belong to storage: a write through a view, a detached alias or the tensor itself
    bumps the one counter they share.
    """
    name = node.prim.grad_fn_name
    if node.versions is not None:
        for i, saved_tensor, version in node.versions:
            if saved_tensor._version != version:
                raise_modified(
                    f"input {i} of {name}, of shape {saved_tensor.shape}",
                    saved_tensor._version,
                    version,
                )
    vc = node.ans_vc
    if vc is not None and vc[0] != 0:
        raise_modified(f"output 0 of {name} (its result, of shape {node.out_shape})", vc[0], 0)


def raise_modified(what: str, found: int, expected: int) -> None:
    raise RuntimeError(
        f"one of the tensors needed for gradient computation has been modified by an in-place "
        f"operation: {what}, is at version {found}; expected version {expected}. Do the "
        "in-place change after backward, or work on a copy (.clone() / x = x + ...); writes "
        "through a view (x.T, x[0:2], x.reshape(...)) or a detached alias (x.detach()) change x "
        "too."
    )
