"""The examples run: the notebook in a real Jupyter kernel (graph inline), the seed-004 script."""

from __future__ import annotations

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
