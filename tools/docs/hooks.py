"""MkDocs hooks for chainrule's site: the API reference is written from the public modules.

Every public module (the roots below, and every module that a public module lists in its
``__all__``) gets one page, ``api/<module>.md``, with one mkdocstrings entry per name in its
``__all__``, in that order. The pages are generated at build time (nothing is written to docs/),
and the "API reference" section of the navigation is filled with them. A name that is itself a
module is a link to that module's page. ``tests/test_docs_site.py`` checks, on a built site,
that every public name has its entry.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The public entry points; every module they list in __all__ is documented too.
ROOTS = [
    "chainrule",
    "chainrule.autograd",
    "chainrule.transforms",
    "chainrule.nn",
    "chainrule.optim",
    "chainrule.data",
    "chainrule.viz",
    "chainrule.random",
    "chainrule.testing",
    "chainrule.tf",
    "chainrule.torch",
]

API_DIR = "api"


def public_modules() -> dict[str, list[str]]:
    """Each public module's name and its ``__all__``, the roots first, then breadth-first."""
    found: dict[str, list[str]] = {}
    queue = list(ROOTS)
    while queue:
        name = queue.pop(0)
        if name in found:
            continue
        module = importlib.import_module(name)
        if not hasattr(module, "__all__"):
            raise RuntimeError(f"docs: the public module {name} has no __all__ to document")
        names = list(module.__all__)
        found[name] = names
        for attr in names:
            value = getattr(module, attr)
            if _is_chainrule_module(value):
                queue.append(value.__name__)
    return found


def _is_chainrule_module(value: object) -> bool:
    return isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == "chainrule"


def page_path(module: str) -> str:
    return f"{API_DIR}/{module}.md"


def _summary(module: types.ModuleType) -> str:
    doc = (module.__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ") if doc else ""


def module_page(module_name: str, names: list[str]) -> str:
    module = importlib.import_module(module_name)
    lines = [
        f"# `{module_name}`",
        "",
        f"::: {module_name}",
        "    options:",
        "      show_root_heading: false",
        "      show_root_toc_entry: false",
        "      members: false",
        "",
    ]
    for attr in names:
        value = getattr(module, attr)
        if _is_chainrule_module(value):
            target = value.__name__
            lines += [
                f"## `{module_name}.{attr}` {{ #{module_name}.{attr} }}",
                "",
                f"The module [`{target}`]({Path(page_path(target)).name}). {_summary(value)}",
                "",
            ]
        elif callable(value):
            lines += [f"::: {module_name}.{attr}", ""]
        else:
            # A constant (a dtype, a name, None): what it is, not a docstring it does not have.
            shown = repr(value)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            lines += [
                f"## `{module_name}.{attr}` {{ #{module_name}.{attr} }}",
                "",
                f"A constant: `{shown}` (a `{type(value).__name__}`).",
                "",
            ]
    return "\n".join(lines)


def index_page(modules: dict[str, list[str]]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the docstrings, one page per public module; each page lists the "
        "module's `__all__` in order. The dialects (`chainrule.tf`, `chainrule.torch`) map "
        "their names onto the native API: their entries show the docstring of the function "
        "that runs.",
        "",
        "| module | names | what |",
        "|---|---|---|",
    ]
    for name, names in modules.items():
        summary = _summary(importlib.import_module(name)).replace("|", "\\|")
        lines.append(f"| [`{name}`]({Path(page_path(name)).name}) | {len(names)} | {summary} |")
    return "\n".join(lines) + "\n"


_MODULES: dict[str, list[str]] = {}


def on_config(config):  # noqa: ANN001, ANN201 - MkDocs hook signature
    # The site documents this checkout, installed or not (MkDocs restores sys.path after loading
    # a hook, so this is done here; the code blocks that markdown-exec runs see it too).
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    _MODULES.clear()
    _MODULES.update(public_modules())
    api = [f"{API_DIR}/index.md"] + [{name: page_path(name)} for name in _MODULES]
    nav = config["nav"] or []
    for entry in nav:
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = api
            break
    else:
        nav.append({"API reference": api})
    config["nav"] = nav
    return config


def on_files(files, config):  # noqa: ANN001, ANN201 - MkDocs hook signature
    from mkdocs.structure.files import File

    files.append(File.generated(config, f"{API_DIR}/index.md", content=index_page(_MODULES)))
    for name, names in _MODULES.items():
        files.append(File.generated(config, page_path(name), content=module_page(name, names)))
    return files
