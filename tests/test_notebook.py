"""The examples run: the notebooks in a real Jupyter kernel (graph and explorer inline), the
seed-004 script."""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _need(module: str) -> None:
    pytest.importorskip(
        module,
        reason=f"{module} is not installed; the notebook test needs nbclient, nbformat and "
        "ipykernel (pip install nbclient nbformat ipykernel)",
    )


def test_notebook_displays_the_graph_inline(tmp_path: Path) -> None:
    for module in ("nbclient", "nbformat", "ipykernel"):
        _need(module)
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / "graph_inline.ipynb", as_version=4)
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    svgs = [out.data["image/svg+xml"] for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert len(svgs) == 2  # the seed-004 graph and the tape's graph
    texts = [
        "".join(t.itertext())
        for t in ET.fromstring(svgs[0]).iter("{http://www.w3.org/2000/svg}text")
    ]
    for label in ["x", "y", "add", "pow", "mul", "adjoint -12", "adjoint 0", "value -12"]:
        assert label in texts, label
    markdown = [out.data["text/markdown"] for out in outputs if "text/markdown" in out.get("data", {})]
    assert markdown and r"\frac{\partial f}{\partial x} = (-8) + (-4) = -12" in markdown[0]
    html = [out.data["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert html and "Adjoint trace" in html[0]
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "trainable=False" in printed


def test_seed004_walkthrough_script(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "seed004_walkthrough.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "df/dx = (-8) (from v3) + (-4) (from v1) = -12" in out
    assert "backward() agrees: df/dx = -12, df/dy = 0" in out
    assert "with a tape: df/dx = -12, df/dy = 0" in out
    assert "trainable=False" in out and "persistent=True" in out
    assert (tmp_path / "seed004_graph.svg").stat().st_size > 5_000
    assert (tmp_path / "seed004_graph.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "seed004_graph.dot").read_text().startswith("digraph")


def _execute(name: str, tmp_path: Path) -> list:
    for module in ("nbclient", "nbformat", "ipykernel"):
        _need(module)
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(EXAMPLES / name, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells), f"{name}: commit notebooks without outputs"
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    return outputs


def _explorer_pages(outputs: list) -> list[dict]:
    """The data of every interactive page shown inline (an iframe holding the whole page)."""
    pages = []
    for out in outputs:
        text = out.get("data", {}).get("text/html", "")
        m = re.fullmatch(r'<iframe class="chainrule-explorer" [^>]*srcdoc="([^"]*)"></iframe>', text)
        if m is None:
            continue
        page = html.unescape(m.group(1))
        data = re.search(r'<script type="application/json" id="cr-data">(.*?)</script>', page, re.S)
        assert page.startswith("<!DOCTYPE html>") and data is not None
        pages.append(json.loads(data.group(1)))
    return pages


def test_seed004_walkthrough_notebook_steps_through_inline(tmp_path: Path) -> None:
    outputs = _execute("seed004_walkthrough.ipynb", tmp_path)
    pages = _explorer_pages(outputs)
    assert len(pages) == 2  # seed 004 itself, and the seed's In [21] on a tape
    done = pages[0]["steps"][-1]
    assert done["head"] == "Done: df/dx = -12, df/dy = 0"
    assert "df/dx = (-8) + (-4) = -12" in done["lines"]
    # d/dx = 2(x + b) + 2b = 2 and d/db = 2(x + b) + 2x = -5 at x = -2, b = 1.5
    assert pages[1]["steps"][-1]["head"] == "Done: df/dx = 2, df/db = -5"
    markdown = [out.data["text/markdown"] for out in outputs if "text/markdown" in out.get("data", {})]
    assert r"\frac{\partial f}{\partial x} = (-8) + (-4) = -12" in markdown[0]
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "df/dx = -12, df/dy = 0" in printed and "[None, None]" in printed


def test_explorer_notebook_shows_fan_out_tensor_and_large_pages(tmp_path: Path) -> None:
    outputs = _execute("explorer.ipynb", tmp_path)
    fan_out, tensor, large = _explorer_pages(outputs)
    x = 0.5  # g = x sin x + exp x: dg/dx = sin x + x cos x + exp x, summed over three uses of x
    expected = math.sin(x) + x * math.cos(x) + math.exp(x)
    assert fan_out["steps"][-1]["head"] == f"Done: df/dx = {expected:.6g}"
    assert len([line for line in fan_out["steps"][-1]["lines"] if line.startswith("df/dx = ")]) == 1
    assert re.search(r"df/dx = \S+ \+ \S+ \+ \S+ = ", fan_out["steps"][-1]["lines"][0])
    assert tensor["steps"][-1]["head"].startswith("Done: df/dW = shape (2, 3)")
    assert (tmp_path / "runs" / "tensor_explorer.html").read_text().startswith("<!DOCTYPE html>")
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "drawn collapsed as" in printed
