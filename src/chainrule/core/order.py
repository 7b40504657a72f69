"""The orders the backward sweep walks a recorded graph in (all iterative: no recursion limit).

``dependencies`` counts the edges into each reachable node (the engine's Kahn order, also used by
``viz`` to list nodes in the order the engine runs them); ``post_order`` lists nodes after their
parents; ``reachable_targets`` finds which nodes lead to requested targets, so a sweep for
``autograd.grad`` skips the rest.
"""

from __future__ import annotations

from typing import Any

from chainrule.core.node import Node

__all__ = ["dependencies", "kahn_order", "post_order", "reachable_targets"]


def dependencies(roots: list[Node], allowed: set[Node] | None) -> dict[Node, int]:
    """Count, for each reachable node, the edges into it from other reachable nodes."""
    deps: dict[Node, int] = {}
    get = deps.get
    if len(roots) == 1 and allowed is None:
        # One root (every .backward()): a node is first reached when its count becomes 1, and
        # the root cannot be reached from itself, so no set of seen nodes is needed.
        stack = list(roots)
        pop = stack.pop
        push = stack.append
        while stack:
            for parent in pop().parents:
                if type(parent) is Node:
                    count = get(parent, 0) + 1
                    deps[parent] = count
                    if count == 1:
                        push(parent)
        return deps
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if type(parent) is Node and (allowed is None or parent in allowed):
                deps[parent] = get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    return deps


def post_order(roots: list[Node], allowed: set[Node] | None) -> list[Node]:
    """Reachable nodes, each after all of its parents (iterative depth-first search)."""
    order: list[Node] = []
    seen: set[Node] = set()
    stack: list[tuple[Node, bool]] = [(n, False) for n in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for parent in node.parents:
            if type(parent) is Node and parent not in seen and (allowed is None or parent in allowed):
                stack.append((parent, False))
    return order


def reachable_targets(
    order: list[Node], target_keys: set[Any], allowed: set[Node] | None
) -> tuple[set[Any], set[Any]]:
    """Nodes and leaves from which some target is reachable (post-order: parents come first),
    and the targets the sweep reaches at all."""
    needed: set[Any] = set()
    reached: set[Any] = set()
    for node in order:
        for parent in node.parents:
            if parent is None:
                continue
            if type(parent) is Node:
                if parent in needed and (allowed is None or parent in allowed):
                    needed.add(node)
            elif parent in target_keys:
                needed.add(node)
                reached.add(parent)
        if node in target_keys:
            needed.add(node)
            reached.add(node)
    needed.update(k for k in target_keys if not isinstance(k, Node))
    return needed, reached


def kahn_order(roots: list[Node], deps: dict[Node, int], allowed: set[Node] | None) -> list[Node]:
    """The nodes in the order the engine's sweep visits them (it uses up ``deps``)."""
    ready = [n for n in dict.fromkeys(roots) if deps.get(n, 0) == 0]
    order: list[Node] = []
    append = order.append
    pop = ready.pop
    push = ready.append
    while ready:
        node = pop()
        append(node)
        for parent in node.parents:
            if type(parent) is Node and (allowed is None or parent in allowed):
                remaining = deps[parent] - 1
                deps[parent] = remaining
                if remaining == 0:
                    push(parent)
    return order
