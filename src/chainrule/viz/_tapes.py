"""Tape support for the viz package: a GradientTape keeps the nodes it recorded."""

from __future__ import annotations

from typing import Any

from chainrule.core.node import Node

__all__ = ["as_tape", "tape_nodes", "sinks", "watched_names"]


def as_tape(obj: Any) -> Any:
    """``obj`` when it is a GradientTape, else None."""
    try:
        from chainrule.tape import GradientTape
    except ImportError:  # pragma: no cover - the tape module is part of the package
        return None
    return obj if isinstance(obj, GradientTape) else None


def tape_nodes(tape: Any) -> set[Node]:
    """The nodes a tape's ``gradient`` would run over; a clear error once they are freed."""
    nodes = set(tape._nodes) | set(tape._boundary)
    if not nodes and tape._used and not tape._persistent:
        raise ValueError(
            "this GradientTape was already used: a non-persistent tape frees its records after "
            "the first gradient() call. Create it with GradientTape(persistent=True), or capture "
            "the graph before calling gradient()."
        )
    return nodes


def sinks(nodes: set[Node]) -> list[Node]:
    """Recorded nodes whose output no other recorded node reads (the tape's results)."""
    used = {id(p) for n in nodes for p in n.parents if type(p) is Node}
    return sorted((n for n in nodes if id(n) not in used), key=id)


def watched_names(tape: Any) -> dict[Any, str]:
    """``{variable: name}`` for the named Variables the tape watches."""
    out = {}
    for t in tape._watched.values():
        name = getattr(t, "name", None)
        if isinstance(name, str) and name and name != "Variable":
            out[t] = name.split(":")[0]  # TensorFlow's "x:0" is the variable x, as in capture
    return out
