"""The documentation site (mkdocs.yml, docs/, tools/docs/): it builds with --strict, its API
reference has an entry for every public name, and the printed results on its pages are what the
library prints when the same code runs again.

The build needs the `docs` extra (`pip install -e '.[docs]'`, which `make test` and `make docs`
install). Without it the build test is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is not installed: CI must build the docs (pip install -e '.[docs]')")
        pytest.skip(f"{module} is not installed (pip install -e '.[docs]' to build the site)")


# --- the docstring rewriting (tools/docs/griffe_doctest.py) -------------------------------------


@pytest.fixture(scope="module")
def doctest_ext():
    _need("griffe")
    return _load("griffe_doctest", ROOT / "tools" / "docs" / "griffe_doctest.py")


def test_doctest_examples_become_code_blocks(doctest_ext):
    text = "Squares.\n\n>>> f(2)\n4\n>>> f(3)\n9\n\nAfter."
    assert doctest_ext.to_markdown(text).splitlines() == [
        "Squares.", "", "```pycon", ">>> f(2)", "4", ">>> f(3)", "9", "```", "", "After.",
    ]  # fmt: skip


def test_literal_blocks_and_roles(doctest_ext):
    text = textwrap.dedent(
        """\
        See :func:`save` and :class:`~pkg.Error`. With g = grad::

            p = p - lr * g

        Done."""
    )
    out = doctest_ext.to_markdown(text)
    assert "See `save` and `pkg.Error`. With g = grad:" in out
    assert "```text\np = p - lr * g\n```" in out
    assert "::" not in out and ":func:" not in out


def test_code_already_fenced_is_left_alone(doctest_ext):
    text = "```python\n>>> 1 + 1\n```"
    assert doctest_ext.to_markdown(text) == text


# --- the built site ----------------------------------------------------------------------------

_EXEC_BLOCK = re.compile(r"^```python ([^\n]*exec=\"on\"[^\n]*)\n(.*?)^```", re.M | re.S)


def _exec_blocks(page: Path) -> list[tuple[dict[str, str], str]]:
    blocks = []
    for match in _EXEC_BLOCK.finditer(page.read_text()):
        options = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        blocks.append((options, match.group(2)))
    return blocks


def _page_text(path: Path) -> str:
    """The text a reader sees in a built page's article (tags dropped, entities decoded)."""
    page = path.read_text()
    page = page[page.find("<article") : page.find("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _normalize(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


_RUNNER = """
import contextlib, io, json, sys
sys.path.insert(0, {src!r})
blocks = json.loads(sys.stdin.read())
namespace = {{"__name__": "__main__"}}
outputs = []
for code in blocks:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<docs>", "exec"), namespace)
    outputs.append(buffer.getvalue())
print(json.dumps(outputs))
"""


def _rerun(blocks: list[str]) -> list[str]:
    """Each block's printed output, the blocks run in order in one fresh interpreter."""
    import json

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(src=str(ROOT / "src"))],
        input=json.dumps(blocks), capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_site_builds_strict_with_every_public_name_and_real_outputs(tmp_path):
    _need("mkdocs")
    _need("mkdocstrings_handlers.python")
    _need("markdown_exec")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-5000:]}"

    # Every name in every public module's __all__ has its entry (an element with its id).
    hooks = _load("docs_hooks", ROOT / "tools" / "docs" / "hooks.py")
    modules = hooks.public_modules()
    assert {"chainrule", "chainrule.tf", "chainrule.torch", "chainrule.nn", "chainrule.optim",
            "chainrule.data", "chainrule.viz", "chainrule.transforms"} <= set(modules)  # fmt: skip
    missing = []
    for module, names in modules.items():
        page = site / hooks.page_path(module).replace(".md", ".html")
        ids = set(re.findall(r'id="([^"]+)"', page.read_text())) if page.exists() else set()
        missing += [f"{module}.{name}" for name in names if f"{module}.{name}" not in ids]
    assert not missing, f"{len(missing)} public names have no API entry: {missing[:20]}"

    # The printed results in the site are what the library prints: run each page's blocks again
    # (in order, in one interpreter, as markdown-exec's session does) and find each text output.
    pages = sorted(p for p in DOCS.rglob("*.md") if _exec_blocks(p))
    assert len(pages) >= 8, [str(p) for p in pages]
    for page in pages:
        blocks = _exec_blocks(page)
        outputs = _rerun([code for _, code in blocks])
        built = _normalize(_page_text(site / page.relative_to(DOCS).with_suffix(".html")))
        for (options, code), output in zip(blocks, outputs):
            if options.get("html") == "true" or not output.strip():
                continue  # raw HTML (an SVG picture) is not shown as text
            assert _normalize(output) in built, (
                f"{page.relative_to(ROOT)}: the site does not show what this block prints now:\n"
                f"{code}\n--- prints ---\n{output}"
            )

    # Offline: no web fonts, no scripts or styles from other hosts.
    for path in site.rglob("*.html"):
        text = path.read_text()
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, path
        assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', text), path
