"""Storage versions: the check that a node's saved values are still the ones it recorded.

A tensor's version counter belongs to its storage (``Tensor._vc``, shared by views and
``detach()`` aliases; see ``core/tensor.py``). A node records the version of every input it keeps
and the counter of its output when its rules read it; before a rule runs, the engine calls
:func:`check_versions`, which raises if anything was written in place since.
"""

from __future__ import annotations

from chainrule.core.node import Node

__all__ = ["check_versions", "raise_modified", "OutputCounter", "NEEDS_RECOMPUTE"]


class OutputCounter:
    """A node's entry for its own output in ``Node.versions``: the output's storage counter.

    ``versions`` entries are ``(index, holder, version)`` and the engine compares
    ``holder._vc[0]`` (or 0 for None) with ``version``; an output is entry ``-1`` with this
    holder, so one loop checks inputs and output alike.
    """

    __slots__ = ("_vc",)

    def __init__(self, vc: list[int]) -> None:
        self._vc = vc


class _Stale:
    """Holder whose version never matches: it makes the engine call :func:`check_versions`."""

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
    for i, holder, version in node.versions or ():
        vc = holder._vc
        found = 0 if vc is None else vc[0]
        if found == version:
            continue
        if i == -1:
            raise_modified(f"output 0 of {name} (its result, of shape {node.out_shape})", found, version)
        raise_modified(f"input {i} of {name}, of shape {holder.shape}", found, version)


def raise_modified(what: str, found: int, expected: int) -> None:
    raise RuntimeError(
        f"one of the tensors needed for gradient computation has been modified by an in-place "
        f"operation: {what}, is at version {found}; expected version {expected}. Do the "
        "in-place change after backward, or work on a copy (.clone() / x = x + ...); writes "
        "through a view (x.T, x[0:2], x.reshape(...)) or a detached alias (x.detach()) change x "
        "too."
    )
