"""``tf.Module``: a named container whose variables and submodules are found by walking its
attributes, as TensorFlow's ``Module`` finds them.

>>> from chainrule import tf
>>> class Dense(tf.Module):
...     def __init__(self, n_in, n_out, name=None):
...         super().__init__(name=name)
...         self.w = tf.Variable(tf.ones([n_in, n_out]), name="w")
...         self.b = tf.Variable(tf.zeros([n_out]), name="b")
>>> class MLP(tf.Module):
...     def __init__(self):
...         super().__init__()
...         self.layers = [Dense(2, 3), Dense(3, 1, name="last")]
>>> model = MLP()
>>> model.name, [m.name for m in model.submodules]
('mlp', ['dense', 'last'])
>>> [v.name for v in model.trainable_variables]
['b:0', 'w:0', 'b:0', 'w:0']
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

from chainrule.tf._tensor import Variable

__all__ = ["Module"]

_CAMEL_BOUNDARY = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def camel_to_snake(value: str) -> str:
    """``MyModule`` -> ``my_module``, ``MLP`` -> ``mlp`` (TensorFlow's default module names)."""
    return _CAMEL_BOUNDARY.sub(r"_\1", value).lower()


class _NameScope(contextlib.AbstractContextManager):
    """A module's ``name_scope``: a context that only carries the name (no graph to name here)."""

    def __init__(self, name: str) -> None:
        self.name = name + "/"

    def __exit__(self, *exc: object) -> None:
        return None


class Module:
    """Base class for models and layers: ``name``, ``variables``, ``trainable_variables``,
    ``non_trainable_variables`` and ``submodules``.

    Variables and submodules are found in the module's attributes (sorted by attribute name,
    looking inside lists, tuples and dicts), each counted once, the module's own first and then
    each submodule's, recursively, in the order TensorFlow gives them.
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not _IDENTIFIER.match(name):
            raise ValueError(
                f"{name!r} is not a valid module name. Module names must be valid Python "
                "identifiers (e.g. a valid class name)."
            )
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def name_scope(self) -> _NameScope:
        return _NameScope(self._name)

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(self._flatten(lambda v: isinstance(v, Variable)))

    @property
    def trainable_variables(self) -> tuple[Variable, ...]:
        return tuple(self._flatten(lambda v: isinstance(v, Variable) and v.trainable))

    @property
    def non_trainable_variables(self) -> tuple[Variable, ...]:
        return tuple(self._flatten(lambda v: isinstance(v, Variable) and not v.trainable))

    @property
    def trainable_weights(self) -> tuple[Variable, ...]:
        return self.trainable_variables

    @property
    def submodules(self) -> tuple[Module, ...]:
        return tuple(self._flatten(lambda m: isinstance(m, Module)))

    @classmethod
    def with_name_scope(cls, method: Callable[..., Any]) -> Callable[..., Any]:
        """TensorFlow's decorator that opens the module's name scope: names mean nothing here."""
        return method

    def _flatten(self, predicate: Callable[[Any], bool]) -> Iterator[Any]:
        seen = {id(self)}
        yield from _walk(self, predicate, seen, [])


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key in sorted(value, key=repr):
            yield from _leaves(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _walk(module: Module, predicate: Callable[[Any], bool], seen: set[int], stack: list[int]) -> Iterator[Any]:
    recurse = id(module) not in stack
    submodules = []
    for key in sorted(vars(module)):
        for leaf in _leaves(vars(module)[key]):
            if id(leaf) in seen:
                continue
            seen.add(id(leaf))
            if predicate(leaf):
                yield leaf
            if recurse and isinstance(leaf, Module):
                submodules.append(leaf)
    stack.append(id(module))
    for sub in submodules:
        yield from _walk(sub, predicate, seen, stack)
    stack.pop()
