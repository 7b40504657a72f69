"""Node: one recorded application of a primitive, as the backward pass needs it.

A node keeps what its rules need and nothing more (``Primitive.saves``/``saves_ans``), and points
*backwards* only: to the nodes that produced its inputs, or to the leaf tensors themselves. A
tensor points to its node; a node never points to its output tensor (except through a weak
reference for ``retain_grad``/hooks), so there is no reference cycle and refcounting frees a graph
as soon as its outputs die.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Node"]


class Node:
    """One recorded op. Attributes (set by ``dispatch._record``):

    - ``prim``, ``params``: the primitive and its static settings;
    - ``parents``: per input, the producing Node, the leaf Tensor that receives the gradient, or None;
    - ``saved`` / ``saved_data``: per input, the kept input as a Tensor / as its raw array (None when
      the rules do not read it); constants are always kept;
    - ``versions``: ``((index, tensor, version), ...)`` for the kept tensors, checked at backward;
    - ``ans``: the output array when the rules read it, and ``ans_vc``, its storage's version
      counter (the output was new, so any version but 0 means it was written in place);
    - ``in_meta``: per input, ``(shape, dtype)`` so cotangents can be summed back and cast;
    - ``out_shape``, ``out_dtype``.

    No ``__slots__``: the rarely set fields below live on the class as defaults, which makes
    recording a node cheaper than setting every slot.
    """

    released = False
    #: How many unreleased tapes recorded this node.
    tape_refs = 0
    #: Weak reference to the output tensor, set by retain_grad()/register_hook().
    out_ref: Any = None
    #: The hooks of the output tensor; also an (empty) list whenever ``out_ref`` is set, so that
    #: the backward sweeps test one field per node for both (a class default costs a slow read).
    hooks: list[Any] | None = None
    #: Where the op was recorded (file, line), filled only in anomaly mode.
    trace: Any = None
    versions: Any = None
    ans: Any = None
    #: The version counter of the output's storage when the rules read the output (``ans``).
    ans_vc: Any = None
    #: Called as ``recompute(node)`` before the rules run, to put back saved values that were
    #: dropped after the forward (``checkpoint``); it sets this back to None once they are back.
    recompute: Any = None

    @property
    def name(self) -> str:
        """The node's display name, PyTorch style (``MulBackward0``)."""
        return self.prim.grad_fn_name

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The nodes this one sends cotangents to (PyTorch's ``grad_fn.next_functions``)."""
        out = []
        for parent in self.parents:
            if parent is None or isinstance(parent, Node):
                out.append((parent, 0))
            else:
                out.append((_AccumulateGrad(parent), 0))
        return tuple(out)

    def release(self) -> None:
        """Drop the saved values; a later backward through this node raises a clear error."""
        self.saved = None
        self.saved_data = None
        self.versions = None
        self.ans = self.ans_vc = None
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.prim.grad_fn_name} object at {hex(id(self))}>"


class _AccumulateGrad:
    """What ``next_functions`` shows for a leaf, as in PyTorch."""

    __slots__ = ("variable",)
    name = "AccumulateGrad"

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    @property
    def next_functions(self) -> tuple[()]:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"
