"""Storage versions: the check that a node's saved values are still the ones it recorded.

A tensor's version counter belongs to its storage (``Tensor._vc``, shared by views and
``detach()`` aliases; see ``core/tensor.py``). A node records the version of every input it keeps
and the counter of its output when its rules read it; before a rule runs, the engine calls
:func:`check_versions`, which raises if anything was written in place since.
"""

from __future__ import annotations

from chainrule.core.node import Node

__all__ = ["check_versions", "raise_modified", "NEEDS_RECOMPUTE"]


class _Stale:
    """A saved-tensor stand-in whose version never matches: the engine's version loop then
    calls :func:`check_versions`, which recomputes (see ``NEEDS_RECOMPUTE``)."""

    __slots__ = ("_vc",)

    def __init__(self) -> None:
        self._vc = [1]


#: What ``Node.versions`` holds while the node's saved values were dropped for recomputation
#: (``checkpoint``): the engine's version loop then takes the slow path, which recomputes.
NEEDS_RECOMPUTE = ((-2, _Stale(), 0),)


def check_versions(node: Node) -> None:
    """The slow path of the engine's version loop: put back dropped saved values
    (``node.recompute``), then refuse to run a rule whose saved inputs or output were written in
    place since recording.

    Versions belong to storage: a write through a view, a detached alias or the tensor itself
    bumps the one counter they share.
    """
    if node.recompute is not None:
        node.recompute(node)  # restores saved values and their real versions
    name = node.prim.grad_fn_name
    for i, saved_tensor, version in node.versions or ():
        vc = saved_tensor._vc
        found = 0 if vc is None else vc[0]
        if found != version:
            raise_modified(f"input {i} of {name}, of shape {saved_tensor.shape}", found, version)
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
