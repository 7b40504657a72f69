"""viz.explore in a real browser: headless Chromium driven by Playwright.

Debian's ``chromium`` is used (``executable_path``), never Playwright's own browser download.
Outside CI the tests skip, saying why, when Chromium or the ``playwright`` package is missing;
in CI (``CI`` set, as ``.ci/run`` does) they fail instead. The final step's screenshot is
written to ``runs/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import viz
from chainrule.cli import main

RUNS = Path(__file__).resolve().parent.parent / "runs"
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

# The page's visible state: what Previous must restore exactly.
STATE_JS = """() => ({
  nodes: Array.from(document.querySelectorAll('g.node')).map(g => g.getAttribute('class') + ' | ' +
         Array.from(g.querySelectorAll('text')).map(t => t.textContent).join(' / ')),
  edges: Array.from(document.querySelectorAll('path.edge')).map(e => e.getAttribute('class')),
  rows: Array.from(document.querySelectorAll('tr.cur')).map(r => r.id),
  step: document.getElementById('cr-step').innerText,
  counter: document.getElementById('cr-counter').textContent,
  said: document.querySelector('[aria-live]').textContent,
  prev: document.getElementById('cr-prev').disabled,
  next: document.getElementById('cr-next').disabled,
})"""


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHAINRULE_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):  # fmt: skip
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(f"{reason}; the browser tests need it (apt-get install chromium; pip install playwright)")


@pytest.fixture(scope="module")
def browser() -> Any:
    exe = _chromium()
    if exe is None:
        _unavailable("no Chromium found (looked for /usr/bin/chromium, chromium, chromium-browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe)
        yield b
        b.close()


class Opened:
    """A page with its console errors and every request it made."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1300, "height": 900}, offline=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)

    def state(self) -> dict[str, Any]:
        return self.page.evaluate(STATE_JS)

    def close(self) -> None:
        assert not self.errors, self.errors
        outside = [u for u in self.requests if not u.startswith(("file:", "about:", "data:"))]
        assert not outside, f"the page fetched {outside}"
        self.context.close()


def seed004_page(tmp_path: Path, **kwargs: Any) -> tuple[Path, Any]:
    x = cr.tensor(2.0, requires_grad=True)
    y = cr.tensor(-4.0, requires_grad=True)
    page = viz.explore((x + y) ** 2 + 2 * x * y, names={x: "x", y: "y"}, **kwargs)
    return page.save(tmp_path / "seed004.html"), page


def node(opened: Opened, title: str) -> Any:
    return opened.page.locator("g.node").filter(has=opened.page.locator("text.title", has_text=re.compile(f"^{re.escape(title)}$")))


def test_seed004_stepped_to_the_end_shows_minus_12_and_0(browser: Any, tmp_path: Path) -> None:
    # The page as the command writes it, opened from disk with the network off.
    path = tmp_path / "out.html"
    assert main(["grad", "(x + y)**2 + 2*x*y", "x=2", "y=-4", "--html", str(path)]) == 0
    _, model = seed004_page(tmp_path)
    steps = model.steps
    o = Opened(browser, path.as_uri())
    page = o.page
    next_button = page.get_by_role("button", name="Next step", exact=True)
    shown: list[str] = []
    for k in range(len(steps)):
        s = o.state()
        assert s["counter"] == f"Step {k + 1} of {len(steps)}"
        # In sync: the step text, the highlighted rows, node and edge are this step's.
        assert s["step"].splitlines()[0] == steps[k]["head"]
        assert s["rows"] == [f"cr-{r}" for r in steps[k]["rows"]]
        current = page.locator("g.node.cur")
        if steps[k]["node"] is None:
            assert current.count() == 0
        else:
            assert current.get_attribute("id") == f"cr-n{steps[k]['node']}"
        edge = page.locator("path.edge.cur")
        assert edge.count() == (0 if steps[k]["edge"] is None else 1)
        # The highlighted trace row is this step's: its numbers are the step's numbers.
        cells = page.locator("tr.cur").first.locator("td")
        if steps[k]["kind"] == "forward":
            assert cells.last.text_content() == model.graph.nodes[steps[k]["lit"]].value_text
        if steps[k]["kind"] == "edge":
            contribution = steps[k]["lines"][3].rsplit(" = ", 1)[1]
            assert cells.nth(2).text_content().endswith(contribution.strip("()"))
        shown.append(s["step"])
        if k < len(steps) - 1:
            next_button.click()
    assert next_button.is_disabled()
    assert node(o, "x").locator("text.adjoint").text_content() == "adjoint -12"
    assert node(o, "y").locator("text.adjoint").text_content() == "adjoint 0"
    assert node(o, "f = add").locator("text.value").text_content() == "value -12"
    final = page.locator("#cr-step").inner_text()
    assert "Done: df/dx = -12, df/dy = 0" in final and "df/dx = (-8) + (-4) = -12" in final
    assert any("running sum: df/dx = (-8) + (-4) = -12" in text for text in shown)
    assert any("upstream · local = contribution: (-4) · 2 = -8" in text for text in shown)
    assert [page.locator("tr.cur").nth(i).locator("td").last.text_content() for i in range(2)] == ["-12", "0"]
    assert page.locator("[aria-live=polite]").text_content().startswith(f"Step {len(steps)} of {len(steps)}. Done")
    RUNS.mkdir(exist_ok=True)
    shot = RUNS / "explore_seed004_final.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:4] == b"\x89PNG"
    o.close()


def test_previous_undoes_next_and_reset_starts_over(browser: Any, tmp_path: Path) -> None:
    path, model = seed004_page(tmp_path)
    o = Opened(browser, path.as_uri())
    page = o.page
    forward = [o.state()]
    for _ in range(len(model.steps) - 1):
        page.get_by_role("button", name="Next step", exact=True).click()
        forward.append(o.state())
    assert len({str(s) for s in forward}) == len(forward)  # every step changes the page
    for k in range(len(model.steps) - 2, -1, -1):
        page.get_by_role("button", name="Previous step", exact=True).click()
        assert o.state() == forward[k], f"Previous did not restore step {k + 1}"
    assert o.state()["prev"] is True
    for _ in range(11):
        page.keyboard.press("ArrowRight")
    assert o.state() == forward[11]
    page.get_by_role("button", name="Reset", exact=True).click()
    assert o.state() == forward[0]
    o.close()


def test_keyboard_alone(browser: Any, tmp_path: Path) -> None:
    path, model = seed004_page(tmp_path)
    o = Opened(browser, path.as_uri())
    page = o.page
    for name in ("Next step", "Previous step", "Play", "Reset"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1

    def focused() -> str:
        return page.evaluate("() => { const e = document.activeElement; "
                             "return e.id + ':' + (e.getAttribute('aria-label') || e.textContent); }")  # fmt: skip

    for _ in range(10):  # Tab to the Next step button
        page.keyboard.press("Tab")
        if focused().startswith("cr-next"):
            break
    assert focused().startswith("cr-next")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    assert o.state()["counter"] == f"Step 3 of {len(model.steps)}"
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    assert o.state()["counter"] == f"Step 7 of {len(model.steps)}"
    assert o.state()["said"].startswith(f"Step 7 of {len(model.steps)}. Forward 6 of 7: v4.")
    for _ in range(20):  # Tab on to the node x, open it with Enter
        page.keyboard.press("Tab")
        if focused().startswith("cr-n0:"):
            break
    assert focused() == "cr-n0:node x: show its full value and adjoint"
    page.keyboard.press("Enter")
    panel = page.locator("#cr-node").inner_text()
    assert "value\n2" in panel and "adjoint (df/dx)\nnot computed yet at this step" in panel
    for _ in range(len(model.steps)):
        page.keyboard.press("ArrowRight")
    assert "adjoint (df/dx)\n-12" in page.locator("#cr-node").inner_text()  # kept up to date
    o.close()


def test_play_runs_to_the_end(browser: Any, tmp_path: Path) -> None:
    path, model = seed004_page(tmp_path, interval_ms=15)
    o = Opened(browser, path.as_uri())
    play = o.page.get_by_role("button", name="Play", exact=True)
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    last = f"Step {len(model.steps)} of {len(model.steps)}"
    o.page.wait_for_function(f"document.getElementById('cr-counter').textContent === {last!r}", timeout=10_000)
    o.page.wait_for_function("document.getElementById('cr-play').getAttribute('aria-pressed') === 'false'")
    assert node(o, "x").locator("text.adjoint").text_content() == "adjoint -12"
    o.close()


def test_inline_in_a_notebook_frame_with_tensors(browser: Any, tmp_path: Path) -> None:
    w = cr.tensor(np.arange(6.0).reshape(2, 3) / 4, requires_grad=True)
    v = cr.tensor([1.0, -1.0, 2.0], requires_grad=True)
    loss = cr.sum(cr.tanh(w @ v) ** 2)
    model = viz.explore(loss, names={w: "W", v: "v"})
    gw = cr.autograd.grad(loss, [w], retain_graph=True)[0].numpy()
    host = tmp_path / "notebook.html"
    # What Jupyter does with _repr_html_: put it inside its own page.
    host.write_text(f"<!DOCTYPE html><html><body><p>cell output:</p>{model._repr_html_()}</body></html>")
    o = Opened(browser, host.as_uri())
    frame = o.page.frame_locator("iframe.chainrule-explorer")
    next_button = frame.get_by_role("button", name="Next step", exact=True)
    for _ in range(len(model.steps) - 1):
        next_button.click()
    assert next_button.is_disabled()
    box = frame.locator("g.node", has=frame.locator("text.title", has_text=re.compile(r"^W  \(2, 3\)$")))
    assert box.locator("text.value").text_content() == "value (2, 3) mean 0.625"
    box.click()
    with np.printoptions(threshold=400, edgeitems=4, precision=6):
        full = np.array2string(gw, separator=", ")
    panel = frame.locator("#cr-node").inner_text()
    assert f"adjoint (df/dW)\nshape (2, 3), float64\n{full}" in panel
    o.close()
