"""Nested containers of values ("pytrees"): flatten to a list of leaves and rebuild.

Lists, tuples (named tuples included) and dicts are containers; everything else (tensors,
arrays, numbers, None) is a leaf. The transforms flatten their inputs and outputs with these
functions, so ``grad`` of a function of a dict returns a dict of gradients with the same keys.
Dicts keep their insertion order.

>>> leaves, tree = flatten({"w": 1.0, "b": [2.0, (3.0,)]})
>>> leaves
[1.0, 2.0, 3.0]
>>> unflatten(tree, [x * 10 for x in leaves])
{'w': 10.0, 'b': [20.0, (30.0,)]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["TreeDef", "flatten", "unflatten", "tree_map", "broadcast_prefix", "is_container"]


class TreeDef:
    """The shape of a nested container, without its leaves."""

    __slots__ = ("kind", "meta", "children")

    def __init__(self, kind: str, meta: Any = None, children: tuple[TreeDef, ...] = ()) -> None:
        self.kind = kind  # "leaf", "list", "tuple", "namedtuple" or "dict"
        self.meta = meta  # dict keys, or the named tuple's type
        self.children = children

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.children))

    def __repr__(self) -> str:
        if self.kind == "leaf":
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        if self.kind == "list":
            return f"[{inner}]"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children)) + "}"
        return f"({inner},)" if len(self.children) == 1 else f"({inner})"


_LEAF = TreeDef("leaf")


def is_container(x: Any) -> bool:
    """True for the types that flatten into children (list, tuple, dict)."""
    return isinstance(x, (list, tuple, dict))


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """The leaves of ``tree`` in order, and its structure.

    >>> flatten([1, (2, 3)])[0]
    [1, 2, 3]
    """
    leaves: list[Any] = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if isinstance(tree, dict):
        keys = tuple(tree.keys())
        return TreeDef("dict", keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if isinstance(tree, tuple):
        children = tuple(_flatten(c, leaves) for c in tree)
        if hasattr(tree, "_fields"):
            return TreeDef("namedtuple", type(tree), children)
        return TreeDef("tuple", None, children)
    if isinstance(tree, list):
        return TreeDef("list", None, tuple(_flatten(c, leaves) for c in tree))
    leaves.append(tree)
    return _LEAF


def unflatten(treedef: TreeDef, leaves: Any) -> Any:
    """Rebuild a container of ``treedef``'s structure from ``leaves``.

    >>> leaves, tree = flatten((1, [2]))
    >>> unflatten(tree, ["a", "b"])
    ('a', ['b'])
    """
    it = iter(leaves)
    out = _unflatten(treedef, it)
    rest = list(it)
    if rest:
        raise ValueError(f"unflatten: {len(rest)} leaves too many for the structure {treedef!r}")
    return out


def _unflatten(treedef: TreeDef, it: Any) -> Any:
    kind = treedef.kind
    if kind == "leaf":
        try:
            return next(it)
        except StopIteration:
            raise ValueError("unflatten: too few leaves for the structure") from None
    children = [_unflatten(c, it) for c in treedef.children]
    if kind == "list":
        return children
    if kind == "tuple":
        return tuple(children)
    if kind == "namedtuple":
        return treedef.meta(*children)
    return dict(zip(treedef.meta, children))


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``fn`` to each leaf (and the matching leaves of ``rest``, of the same structure).

    >>> tree_map(lambda a, b: a + b, [1, {"k": 2}], [10, {"k": 20}])
    [11, {'k': 22}]
    """
    leaves, treedef = flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_def = flatten(r)
        if r_def != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef!r} and {r_def!r}")
        others.append(r_leaves)
    return unflatten(treedef, [fn(*args) for args in zip(leaves, *others)])


def broadcast_prefix(prefix: Any, tree: Any, what: str = "in_axes") -> list[Any]:
    """One value per leaf of ``tree``: ``prefix`` is a tree whose leaves cover whole subtrees.

    ``broadcast_prefix(0, (a, [b, c]))`` gives ``[0, 0, 0]``; ``broadcast_prefix((None, 1), (a, [b,
    c]))`` gives ``[None, 1, 1]``.

    >>> broadcast_prefix((None, 1), ("a", ["b", "c"]))
    [None, 1, 1]
    """
    out: list[Any] = []
    _broadcast(prefix, tree, out, what)
    return out


def _broadcast(prefix: Any, tree: Any, out: list[Any], what: str) -> None:
    if not is_container(prefix):
        out.extend([prefix] * flatten(tree)[1].num_leaves)
        return
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            raise ValueError(
                f"{what}: the dict {list(prefix)} does not match the argument's structure "
                f"{flatten(tree)[1]!r}"
            )
        for k in tree:
            _broadcast(prefix[k], tree[k], out, what)
        return
    if not isinstance(tree, (list, tuple)) or len(tree) != len(prefix):
        raise ValueError(
            f"{what}: {prefix!r} does not match the argument's structure {flatten(tree)[1]!r}; "
            "give one entry per element (or a single value for the whole argument)"
        )
    for p, t in zip(prefix, tree):
        _broadcast(p, t, out, what)
