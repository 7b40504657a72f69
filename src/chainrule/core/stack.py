"""The interpreter stack: how transforms take part in ``bind`` without the core naming them.

A transform that must see every operation (a GradientTape, a forward accumulator, a vmap level,
anomaly mode) is an :class:`Interpreter`. Entering it pushes it on this thread's stack; leaving
pops it. ``bind`` with an empty stack runs the op and records it for ``requires_grad`` inputs
(the fast path, which never looks further). With interpreters on the stack, ``bind`` hands the op
to the top one's ``process_primitive``, which does its work around :func:`bind_below`: the same
op bound with the interpreters *under* it, down to the plain fast path at the bottom. JAX's
``Trace.process_primitive`` and autodidax's ``find_top_trace`` are the model.

The stack is ordered by ``rank``, then by push order. Tapes and forward accumulators have rank 0,
so they nest exactly as they were entered: an accumulator's tangent computation is seen by the
tapes and accumulators entered before it, and a tape entered inside an accumulator records the
primal ops only (TensorFlow's rule for reverse-over-forward and forward-over-reverse). Anomaly
mode (rank 1) sits above them so that it sees the nodes they record. vmap levels (rank 2) sit on
top: a batched op is turned into an op on the batched bases first, and every other interpreter
sees (and records) that op.

The stack a thread sees is ``state.stack``, a tuple. An interpreter's rules run under a smaller
one (``lower``), which :func:`run_with` installs for the duration of a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chainrule.core.dispatch import bind
from chainrule.core.modes import BUSY_THREADS, state

__all__ = [
    "Interpreter", "push", "pop", "current", "set_stack", "bind_below", "run_with", "of_type", "tracked",
    "needs_tensor_rules", "backward_observers",
]  # fmt: skip


class Interpreter:
    """A transform's level on the stack.

    Subclasses override :meth:`process_primitive` (and, where they take part in them, the
    queries below). The default passes every op through unchanged.
    """

    #: Higher ranks sit above lower ones whatever the order they were pushed in.
    rank = 0
    #: True when the backward pass must run its rules on Tensors (through ``bind``) so that this
    #: interpreter sees them: forward accumulators and vmap levels; a tape does not need it.
    tensor_rules = False
    #: ``observe_backward(node, index, cotangent)`` is called for every cotangent the backward pass
    #: computes while this interpreter is on the stack, when this is True.
    observes_backward = False

    def process_primitive(self, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Apply ``prim`` to ``args`` at this level: by default, one level down."""
        return bind_below(self, prim, args, params)

    def lower(self, stack: tuple[Interpreter, ...]) -> tuple[Interpreter, ...]:
        """The stack this interpreter's work runs under: everything below it."""
        return stack[: stack.index(self)]

    def tracks(self, t: Any) -> bool:
        """Whether this interpreter follows the tensor ``t`` (it has a tangent, it is watched)."""
        return False

    def observe_backward(self, node: Any, index: int, cotangent: Any) -> None:
        """See one cotangent of the backward pass (only when ``observes_backward``)."""


def set_stack(stack: tuple[Interpreter, ...]) -> None:
    """Make ``stack`` this thread's stack (``run_with`` for a block; this for a lasting change)."""
    state.stack = stack
    busy = state.busy = bool(stack)
    if busy is not state.counted:
        state.counted = busy
        if busy:
            BUSY_THREADS.append(None)
        else:
            BUSY_THREADS.pop()


_set = set_stack


def current() -> tuple[Interpreter, ...]:
    """This thread's stack, bottom first."""
    return state.stack


def push(interp: Interpreter) -> None:
    """Put ``interp`` on the stack: above every interpreter of its rank or lower."""
    stack = state.stack
    at = len(stack)
    while at > 0 and stack[at - 1].rank > interp.rank:
        at -= 1
    _set(stack[:at] + (interp,) + stack[at:])


def pop(interp: Interpreter) -> None:
    """Take ``interp`` off the stack (normally the last one of its rank pushed)."""
    _set(tuple(i for i in state.stack if i is not interp))


@contextmanager
def run_with(stack: tuple[Interpreter, ...]) -> Iterator[None]:
    """Run the block with ``stack`` as this thread's stack; the previous one comes back after."""
    saved = state.stack
    _set(stack)
    try:
        yield
    finally:
        _set(saved)


def bind_below(interp: Interpreter, prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Bind ``prim`` with the interpreters under ``interp`` (what its ``lower`` gives)."""
    saved = state.stack
    _set(interp.lower(saved))
    try:
        return bind(prim, *args, **params)
    finally:
        _set(saved)


def of_type(kind: type) -> list[Any]:
    """The interpreters of ``kind`` on this thread's stack, bottom first."""
    return [i for i in state.stack if isinstance(i, kind)]


def tracked(t: Any) -> bool:
    """Whether any interpreter on the stack follows ``t``."""
    return any(i.tracks(t) for i in state.stack)


def needs_tensor_rules() -> bool:
    """Whether an interpreter on the stack must see the backward rules as ops."""
    return any(i.tensor_rules for i in state.stack)


def backward_observers() -> list[Interpreter]:
    """The interpreters that look at each cotangent of a backward pass."""
    return [i for i in state.stack if i.observes_backward]
