"""The core imports nothing above it: transforms, tapes, the see-inside tools, nn and the dialects
plug into it (through hooks it defines), never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import chainrule.core

CORE = Path(chainrule.core.__file__).parent
ABOVE = ("chainrule.transforms", "chainrule.tape", "chainrule.viz", "chainrule.nn", "chainrule.torch",
         "chainrule.tf", "chainrule.ops", "chainrule.optim", "chainrule.data", "chainrule.commands")  # fmt: skip


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_imports_nothing_above_it() -> None:
    offenders = [
        f"{path.name}:{line} imports {name}"
        for path in sorted(CORE.glob("*.py"))
        for line, name in _imports(path)
        if name.startswith(ABOVE) or name == "chainrule"
    ]
    assert not offenders, "\n".join(offenders)
