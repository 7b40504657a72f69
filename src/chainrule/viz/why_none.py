"""Why is my gradient None? An answer read from the recorded history.

``why_none(target, source)`` (or ``why_none(tape, target, source)`` for a tape) looks at what
was recorded and returns a :class:`Diagnosis`: a ``cause`` code and a message saying what
happened and what to do. The causes:

========================  ==============================================================
``not_a_tensor``          the source is a number or an array: it has no history at all
``target_not_tensor``     the target is a number or an array (``.numpy()``, ``float()``)
``integer_dtype``         integer and bool tensors have no gradient
``no_requires_grad``      a constant: created without ``requires_grad=True``
``not_trainable``         a ``Variable(..., trainable=False)``: tapes do not watch it
``not_watched``           a constant, or a Variable under ``watch_accessed_variables=False``
``computed_outside_tape`` an intermediate computed before the tape started recording
``tape_used``             a non-persistent tape already gave its gradient and freed its records
``target_no_history``     the target was computed without recording (constants, ``no_grad``)
``nondifferentiable``     the path goes through argmax, a comparison, an integer cast, floor...
``left_graph``            the value left the graph (``.numpy()``, ``float()``, ``.item()``)
``detached``              the path goes through ``detach()`` / ``stop_gradient``
``assigned``              the path goes through an in-place ``assign`` of a Variable
``stop_recording``        the path goes through ops the tape did not record
``unused``                the target does not depend on the source
``non_leaf``              ``.grad`` is kept only for leaves (use ``retain_grad()``)
``connected``             the target does depend on the source: the gradient is not None
========================  ==============================================================

Some causes leave no trace in the graph (an unsaved constant carries no value); the message then
says what is certain (no recorded path) and lists the usual reasons.

>>> import chainrule as cr
>>> x = cr.tensor(2.0, requires_grad=True)
>>> y = x.detach() * 3.0
>>> why_none(y + x * 0, cr.tensor(1.0)).cause
'no_requires_grad'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from chainrule.core.node import Node
from chainrule.core.tensor import Tensor
from chainrule.viz.capture import format_value

__all__ = ["why_none", "Diagnosis", "CAUSES"]

CAUSES = (
    "not_a_tensor", "target_not_tensor", "integer_dtype", "no_requires_grad", "not_trainable",
    "not_watched", "computed_outside_tape", "tape_used", "target_no_history", "nondifferentiable",
    "left_graph", "detached", "assigned", "stop_recording", "unused", "non_leaf", "connected",
)  # fmt: skip

_CUT_REASONS = (
    "detach() or stop_gradient, .numpy()/float()/.item() (the value left the graph), a "
    "non-differentiable op (argmax, a comparison, an integer cast, floor/round), no_grad(), "
    "or an in-place assign"
)


@dataclass
class Diagnosis:
    """The answer: ``cause`` (one of :data:`CAUSES`) and ``message`` (what happened, what to do)."""

    cause: str
    message: str

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Diagnosis({self.cause!r}: {self.message})"


def _is_variable(t: Any) -> bool:
    return type(t).__name__ == "Variable" and hasattr(t, "trainable")


def _describe(t: Any) -> str:
    if _is_variable(t):
        if t.name and t.name != "Variable":
            return f"the Variable '{t.name}'"
        return f"the unnamed Variable of shape {t.shape} (value {format_value(t._data)})"
    if isinstance(t, Tensor):
        what = "leaf tensor" if t._node is None else f"tensor computed by {t._node.prim.name}"
        return f"the {what} of shape {t.shape} (value {format_value(t._data)})"
    return f"a {type(t).__name__}"


def _key(t: Tensor) -> Any:
    return t._node if t._node is not None else t


@dataclass
class _Walk:
    """What the recorded graph behind the targets contains."""

    nodes: list[Node]
    leaves: list[Tensor]
    constants: list[tuple[Node, int, Any]]  # (node, input index, the constant or None)
    outside: list[Node]  # nodes reached but not allowed (not recorded by the tape)


def _walk(targets: list[Tensor], allowed: set[Node] | None) -> _Walk:
    nodes: list[Node] = []
    leaves: dict[int, Tensor] = {}
    constants: list[tuple[Node, int, Any]] = []
    outside: list[Node] = []
    seen: set[int] = set()
    stack: list[Node] = []
    for t in targets:
        if t._node is None:
            leaves[id(t)] = t
        elif allowed is not None and t._node not in allowed:
            outside.append(t._node)
        else:
            stack.append(t._node)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        saved = node.saved
        for i, parent in enumerate(node.parents):
            if parent is None:
                constants.append((node, i, saved[i] if saved is not None and i < len(saved) else None))
            elif type(parent) is Node:
                if allowed is not None and parent not in allowed:
                    outside.append(parent)
                    constants.append((node, i, saved[i] if saved is not None and i < len(saved) else None))
                elif id(parent) not in seen:
                    stack.append(parent)
            else:
                leaves[id(parent)] = parent
    return _Walk(nodes, list(leaves.values()), constants, outside)


def _reaches(walk: _Walk, source: Tensor) -> bool:
    key = _key(source)
    if type(key) is Node:
        return any(n is key for n in walk.nodes)
    return any(leaf is key for leaf in walk.leaves)


def _data(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _where(node: Node, i: int) -> str:
    return f"input {i} of {node.prim.name} ({node.prim.grad_fn_name})"


def _nondiff_match(value: np.ndarray, source: np.ndarray) -> str | None:
    """Which non-differentiable function of ``source`` gives ``value``, if one does.

    Integer results are compared with argmax/argmin (of an array) and an integer cast, float
    results with floor/ceil/round; a value equal to the source itself matches nothing.
    """
    if value.shape == source.shape and np.array_equal(value, source):
        return None
    checks: dict[str, Any] = {}
    if value.dtype.kind in "iu":
        if source.ndim >= 1:
            checks["argmax"] = lambda: np.argmax(source)
            checks["argmin"] = lambda: np.argmin(source)
        checks["an integer cast"] = lambda: np.trunc(source)
    elif value.dtype.kind == "f":
        checks.update(floor=lambda: np.floor(source), ceil=lambda: np.ceil(source),
                      round=lambda: np.round(source))  # fmt: skip
    with np.errstate(all="ignore"):
        for name, fn in checks.items():
            candidate = np.asarray(fn())
            if candidate.shape == value.shape and np.array_equal(candidate, value):
                return name
    return None


def _clues(walk: _Walk, source: Tensor, what: str) -> tuple[str, str] | None:
    """Look for where the path from ``source`` was cut, among the target's constants."""
    src = source._data
    for node, i, const in walk.constants:
        data = _data(const)
        if isinstance(data, np.ndarray) and (data is src or (data.size and np.shares_memory(data, src))):
            if isinstance(const, Tensor):
                return "detached", (
                    f"the target reads a detached copy of {what}: {_where(node, i)} is a tensor "
                    "that shares its memory but has no history, as detach() (or stop_gradient) "
                    "returns. The gradient stops there. Use the tensor itself where the gradient "
                    "should flow."
                )
            return "left_graph", (
                f"the value of {what} left the graph: {_where(node, i)} is its NumPy array "
                "(.numpy()), which has no history. Keep computing with the tensor itself."
            )
    for leaf in walk.leaves:
        if _is_variable(leaf) and leaf._version > 0 and leaf is not source:
            return "assigned", (
                f"the path goes through an in-place assign: the target reads the Variable "
                f"'{leaf.name}', which was assigned (assign/assign_add/assign_sub). Assigning "
                "copies values into the variable without recording where they came from, so "
                f"the gradient does not flow back to {what}. Use the assigned expression "
                "directly instead of reading the variable back."
            )
    for node, i, const in walk.constants:
        data = _data(const)
        if data is None or isinstance(data, (int, bool)) and not isinstance(data, np.generic):
            continue  # Python int literals (2 * x) are the user's own constants
        arr = np.asarray(data)
        match = _nondiff_match(arr, src) if arr.dtype.kind in "fiub" else None
        if match is not None or arr.dtype.kind in "biu":
            op = match or ("a comparison" if arr.dtype.kind == "b" else "argmax/argmin or an integer cast")
            return "nondifferentiable", (
                f"the path goes through a non-differentiable op: {_where(node, i)} is a "
                f"{arr.dtype} constant" + (f" equal to {op} of {what}" if match else f" (the result of {op})")
                + ", which carries no gradient. Such ops (argmax, "
                "comparisons, integer casts, floor/round) have zero or undefined derivatives; "
                "use a differentiable relaxation (softmax instead of argmax, sigmoid instead of "
                "a comparison) if you need one."
            )
    for node, i, const in walk.constants:
        data = _data(const)
        if data is None or (isinstance(data, int) and not isinstance(data, np.generic)):
            continue
        arr = np.asarray(data)
        if arr.dtype.kind == "f" and arr.shape == src.shape and np.array_equal(arr, src):
            return "left_graph", (
                f"the value of {what} probably left the graph: {_where(node, i)} is a constant "
                f"equal to it ({format_value(arr)}), as float(x), x.item() or x.numpy() give. "
                "Such a value has no history, so the gradient stops there. Keep computing with "
                "the tensor itself."
            )
    return None


def _no_history(target: Tensor, source: Tensor, what: str, tape: Any) -> tuple[str, str]:
    src = source._data
    data = target._data
    if data.dtype.kind in "biu":
        match = _nondiff_match(data, src)
        op = match or ("a comparison" if data.dtype.kind == "b" else "argmax/argmin or an integer cast")
        return "nondifferentiable", (
            f"the target is a {data.dtype} tensor, the result of a non-differentiable op "
            f"({op}); such results carry no gradient. Differentiate a float quantity instead."
        )
    if data is src or (data.size and np.shares_memory(data, src)):
        return "detached", (
            f"the target shares its memory with {what} but has no history: it came from "
            "detach() (or stop_gradient). Differentiate the tensor itself."
        )
    match = _nondiff_match(data, src)
    if match is not None:
        return "nondifferentiable", (
            f"the target equals {match} of {what}, a non-differentiable op: it has no history "
            "and carries no gradient."
        )
    where = "outside the tape's `with` block or under tape.stop_recording()" if tape is not None else "under no_grad()"
    return "target_no_history", (
        f"the target has no recorded history: it was computed from constants only, {where}, "
        f"or from values that left the graph ({_CUT_REASONS}). Nothing connects it to {what}."
    )


def _dead_ends(tape_nodes: set[Node], source: Tensor, walk: _Walk) -> list[Node]:
    """Recorded descendants of ``source`` whose values nothing recorded uses afterwards."""
    children: dict[int, list[Node]] = {}
    for n in tape_nodes:
        for p in n.parents:
            if p is not None:
                children.setdefault(id(p), []).append(n)
    start = _key(source)
    seen: set[int] = set()
    stack = list(children.get(id(start), []))
    ends: list[Node] = []
    in_target = {id(n) for n in walk.nodes}
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        kids = children.get(id(n), [])
        if not kids and id(n) not in in_target:
            ends.append(n)
        stack.extend(kids)
    return ends


def _value_of(node: Node) -> Any:
    if node.ans is not None:
        return node.ans
    saved = node.saved_data
    if saved is None:
        return None
    # A node keeps only what its rules read (x * 3.0 keeps nothing): an input it did not keep
    # can still be read from a leaf parent.
    saved = tuple(
        parent._data if v is None and isinstance(parent, Tensor) else v
        for v, parent in zip(saved, node.parents)
    )
    if any(v is None for v in saved):
        return None
    try:
        with np.errstate(all="ignore"):
            return np.asarray(node.prim.impl(*saved, **(node.params or {})))
    except Exception:  # noqa: BLE001 - no value, no clue
        return None


def _constant_from(ends: list[Node], walk: _Walk) -> tuple[Node, Node, int] | None:
    """A dead-end result that reappears as a constant of the target's graph."""
    for end in ends:
        value = _value_of(end)
        if value is None:
            continue
        for node, i, const in walk.constants:
            data = _data(const)
            if data is None or (isinstance(data, int) and not isinstance(data, np.generic)):
                continue
            arr = np.asarray(data)
            if arr.shape == np.shape(value) and arr.dtype.kind == "f" and np.array_equal(arr, value):
                return end, node, i
    return None


def _unused(targets: list[Tensor], source: Tensor, what: str, walk: _Walk, tape: Any) -> Diagnosis:
    found = _clues(walk, source, what)
    if found is not None:
        return Diagnosis(*found)
    if tape is not None:
        full = _walk(targets, None)
        if _reaches(full, source):
            op = walk.outside[0].prim.name if walk.outside else "an op"
            return Diagnosis("stop_recording", (
                f"the path from {what} goes through ops the tape did not record (first: {op}): "
                "they ran under tape.stop_recording() or outside the tape's `with` block, so "
                "tape.gradient stops there. Compute them while the tape records."
            ))  # fmt: skip
        ends = _dead_ends(set(tape._nodes), source, walk)
        found = _constant_from(ends, walk)
        if found is not None:
            end, node, i = found
            return Diagnosis("detached", (
                f"the path from {what} stops after {end.prim.name}: the target reads, at "
                f"{_where(node, i)}, a constant equal to that result, so the value was taken out "
                "of the graph on the way: stop_gradient/detach(), .numpy()/float(), or an op run "
                "under tape.stop_recording(). Use the result itself where the gradient should "
                "flow."
            ))  # fmt: skip
        if ends:
            last = ", ".join(sorted({f"{n.prim.name} (value {format_value(n.ans)})" if n.ans is not None
                                     else n.prim.name for n in ends}))  # fmt: skip
            return Diagnosis("stop_recording", (
                f"the path from {what} stops after {last}: that result was recorded, but nothing "
                "the tape recorded afterwards uses it. It was used unrecorded: under "
                f"tape.stop_recording(), or through {_CUT_REASONS}."
            ))  # fmt: skip
    return Diagnosis("unused", (
        f"the target does not depend on {what}: no recorded path leads from it to the target "
        f"({len(walk.nodes)} recorded ops checked). If you expected one, the path was cut by "
        f"{_CUT_REASONS}."
    ))  # fmt: skip


def why_none(*args: Any, tape: Any = None) -> Diagnosis:
    """Say why the gradient of ``target`` with respect to ``source`` is None.

    Call as ``why_none(target, source)`` (the target may be a list of tensors) or
    ``why_none(tape, target, source)`` / ``why_none(target, source, tape=tape)`` for a
    ``GradientTape``. Returns a :class:`Diagnosis`; ``str()`` of it is the explanation.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> y = cr.tensor(3.0, requires_grad=True)
    >>> why_none(y * 2, x).cause
    'unused'
    >>> z = cr.tensor(float(x)) * y
    >>> print(why_none(z, x).cause)
    left_graph
    """
    from chainrule.viz import _tapes

    if args and _tapes.as_tape(args[0]) is not None:
        tape, args = args[0], args[1:]
    if len(args) != 2:
        raise TypeError("why_none(target, source) or why_none(tape, target, source)")
    target, source = args
    targets = target if isinstance(target, (list, tuple)) else [target]
    if not isinstance(source, Tensor):
        return Diagnosis("not_a_tensor", (
            f"the source is {_describe(source)}, not a tensor: it has no history, so nothing "
            "can be differentiated with respect to it. If it came from .numpy(), float() or "
            ".item(), use the tensor it came from."
        ))  # fmt: skip
    what = _describe(source)
    for t in targets:
        if not isinstance(t, Tensor):
            return Diagnosis("target_not_tensor", (
                f"the target is {_describe(t)}, not a tensor: its value left the graph "
                "(.numpy(), float(), .item() or a NumPy function), so it has no history. "
                "Differentiate the tensor before converting it."
            ))  # fmt: skip
    if source._data.dtype.kind != "f":
        return Diagnosis("integer_dtype", (
            f"the source is {what} of dtype {source.dtype}: only floating-point tensors have "
            "gradients. Create it as a float (e.g. 2.0, not 2, or .astype('float64'))."
        ))  # fmt: skip
    allowed: set[Node] | None = None
    if tape is not None:
        allowed = set(tape._nodes) | set(tape._boundary)
        node = source._node
        tracked = (node is not None and node in allowed) or tape._is_watched(source)
        if not tracked and not (tape._used and node is not None):
            return Diagnosis(*_untracked_by_tape(source, what, tape))
        if tape._used and not tape._persistent:
            return Diagnosis("tape_used", (
                "the tape was already used: a non-persistent GradientTape frees its records "
                "after the first gradient() (or jacobian()) call, so a second call raises and "
                "nothing is left to differentiate. Create it with GradientTape(persistent=True) "
                "to ask for several gradients."
            ))  # fmt: skip
    elif source._node is None and not source._requires_grad:
        if _is_variable(source):
            return Diagnosis("not_watched", (
                f"{what} was never watched: Variables are watched by a GradientTape, and no "
                "tape was given. Compute inside `with GradientTape() as tape:` and call "
                "why_none(tape, target, source), or use a tensor with requires_grad=True."
            ))  # fmt: skip
        return Diagnosis("no_requires_grad", (
            f"{what} is a constant: it was created without requires_grad=True, so no op "
            "recorded it. Create it with requires_grad=True (or call .requires_grad_()) before "
            "computing the target."
        ))  # fmt: skip
    histories = [t for t in targets if t._node is not None or t is source]
    if not histories:
        cause, message = _no_history(targets[0], source, what, tape)
        return Diagnosis(cause, message)
    walk = _walk(histories, allowed)
    if _reaches(walk, source):
        if source._node is not None and tape is None:
            return Diagnosis("non_leaf", (
                f"the target does depend on {what}, but it is not a leaf: .grad is kept only "
                "for leaf tensors. Call .retain_grad() on it before backward(), or use "
                "autograd.grad(target, it)."
            ))  # fmt: skip
        return Diagnosis("connected", (
            f"the target does depend on {what}: its gradient is not None (it may be zero). If "
            ".grad is None, backward() was not called on this target, or .grad was reset."
        ))  # fmt: skip
    return _unused(histories, source, what, walk, tape)


def _untracked_by_tape(source: Tensor, what: str, tape: Any) -> tuple[str, str]:
    if _is_variable(source):
        if not source.trainable:
            return "not_trainable", (
                f"{what} was never watched: it is trainable=False, and tapes watch only "
                "trainable Variables by themselves. Call tape.watch(v) inside the tape, or "
                "create it with trainable=True."
            )
        if not tape._watch_accessed:
            return "not_watched", (
                f"{what} was never watched: the tape was created with "
                "watch_accessed_variables=False, so it watches only what tape.watch() names. "
                "Call tape.watch(v) before using it."
            )
        return "unused", (
            f"{what} was never read while the tape was recording, so the target does not "
            "depend on it (as far as the tape knows). Use it inside the tape's `with` block."
        )
    if source._node is not None:
        return "computed_outside_tape", (
            f"{what} was computed before the tape started recording (or outside it): it is an "
            "intermediate result, not a Variable, so the tape does not watch it. Arithmetic on "
            "a Variable (Variable(1.5) + 1.0) gives a plain tensor. Call tape.watch() on it "
            "inside the tape, or compute it inside the tape from a Variable."
        )
    return "not_watched", (
        f"{what} was never watched: it is a constant (chainrule.constant, a plain tensor, or "
        "arithmetic on a Variable done outside the tape, like Variable(1.5) + 1.0), and tapes "
        "watch only trainable Variables by themselves. Call tape.watch() on it before using "
        "it, or make it a Variable."
    )
