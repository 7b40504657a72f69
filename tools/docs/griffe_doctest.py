"""A Griffe extension: chainrule's reST-flavoured docstrings, shown as Markdown by mkdocstrings.

chainrule's docstrings are prose with doctest examples (``>>>``), a few ``::`` literal blocks and
Sphinx roles (:func:`save`). Markdown would read ``>>>`` as nested quotes and a literal block as a
paragraph, so each docstring is rewritten once, when Griffe loads it:

- a doctest example (from a ``>>>`` line to the next blank line) becomes a ``pycon`` code block;
- a paragraph ending in ``::`` followed by an indented block: the block becomes a code block and
  the paragraph ends with ``:``;
- a role such as :func:`save` becomes the code span `save` (no link: the roles name objects
  relative to their module, which a link could not resolve reliably).

It also keeps Griffe's inspection honest about where an object lives: a function made by a
factory (``unary_function`` in ``chainrule.ops._api``) says it was defined in the factory's
module, under a name that module does not have, so Griffe's alias to it could not be resolved.
Such an object is documented where it is found instead.

The docstrings themselves are not changed; only what the site shows.
"""

from __future__ import annotations

import importlib
import re
import textwrap
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj):`~?([^`]+)`")
FENCE = "```"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def to_markdown(text: str) -> str:
    """The Markdown that mkdocstrings should render for the docstring ``text``."""
    lines = textwrap.dedent(text).splitlines()
    out: list[str] = []
    i = 0
    in_fence = False
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(FENCE):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        if stripped.startswith(">>>"):
            pad = " " * _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(pad):] if lines[i].startswith(pad) else lines[i].strip())
                i += 1
            out += [f"{pad}{FENCE}pycon"] + [pad + b for b in block] + [f"{pad}{FENCE}"]
            continue
        if stripped.endswith("::") and i + 1 < len(lines):
            # A literal block: the next non-blank lines indented deeper than this paragraph.
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            base = _indent(line)
            if j < len(lines) and _indent(lines[j]) > base:
                block = []
                while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
                    block.append(lines[j])
                    j += 1
                while block and not block[-1].strip():
                    block.pop()
                head = line.rstrip()[:-2].rstrip()
                out.append(_ROLE.sub(r"`\1`", head) + ":" if head else "")
                pad = " " * base
                body = textwrap.dedent("\n".join(block)).splitlines()
                out += ["", f"{pad}{FENCE}text"] + [pad + b for b in body] + [f"{pad}{FENCE}", ""]
                i = j
                continue
        out.append(_ROLE.sub(r"`\1`", line))
        i += 1
    return "\n".join(out)


def _found_at(path: str, obj: object) -> bool:
    """Whether ``path`` (``module.qualname``) names ``obj`` at run time."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr, _MISSING)
            if value is _MISSING:
                return False
        return value is obj
    return False


_MISSING = object()


class DoctestBlocks(griffe.Extension):
    """Rewrites each loaded docstring with :func:`to_markdown`; inspects unresolvable aliases."""

    def on_alias_instance(self, *, alias: griffe.Alias, node: Any, agent: Any, **kwargs: Any) -> None:
        if not hasattr(node, "children"):  # static analysis: the alias names real source
            return
        child = next((c for c in node.children if c.name == alias.name), None)
        if (
            child is not None
            and not child.is_module
            and alias.target_path.startswith("chainrule.")
            and not _found_at(alias.target_path, child.obj)
        ):
            agent.inspect(child)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
