"""The course diagrams on the built pages: present as inline SVG, then, in headless
Chromium at a phone's width, drawn at a readable size and switched by the book's
dark-mode toggle.

The book is built by ``make test`` (or by the ``built_book`` fixture in conftest.py).
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from coursekit.diagrams import DIAGRAMS, show_diagram
from coursekit.diagrams.registry import render
from coursekit.diagrams.svg import PALETTE, WIDTH
from test_book import browser, server  # noqa: F401  (fixtures: the chapter tests' HTTP server and Chromium)

pytestmark = pytest.mark.book

PHONE = {"width": 390, "height": 844}  # an iPhone 12-15 viewport
MIN_PX = 11.0  # the smallest label on a phone, in CSS pixels
CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


def chapter_doc(chapter: int) -> str:
    (path,) = CHAPTERS.glob(f"{chapter:02d}_*.ipynb")
    return f"chapters/{path.stem}"


def svg_id(name: str) -> str:
    return "ckd-" + name.replace("_", "-")


@pytest.mark.parametrize("name", list(DIAGRAMS))
def test_diagram_is_on_its_page(name: str, built_book: Path):
    entry = DIAGRAMS[name]
    page = built_book / f"{chapter_doc(entry.chapter)}.html"
    assert page.is_file(), f"{page} was not built"
    text = page.read_text(encoding="utf-8")
    sid = svg_id(name)
    assert text.count(f'<svg xmlns="http://www.w3.org/2000/svg" id="{sid}"') == 1, (
        f"{page.name}: diagram {name} (svg id {sid}) is not on the page exactly once")
    fresh = render(name) in text  # (a bool, so that a failure does not print the whole page)
    assert fresh, (
        f"{page.name}: diagram {name} on the page differs from what coursekit.diagrams draws now. "
        "The book's execution cache keeps a notebook's outputs until its code changes, and a "
        "change to coursekit.diagrams changes no notebook: remove the chapter's record "
        "(`jcache cache -p _build/.jupyter_cache list`, then `... remove ID`), `touch` the notebook "
        "(Sphinx re-reads only changed files) and rebuild.")
    assert f'<title id="{sid}-title">{html.escape(entry.title)}</title>' in text, f"{page.name}: {name} has no title"
    assert f'<desc id="{sid}-desc">{html.escape(entry.alt)}</desc>' in text, f"{page.name}: {name} has no alt text"
    start = text.index(f'id="{sid}"')
    assert text.rfind('class="cell_output', 0, start) > text.rfind('class="cell_input', 0, start), (
        f"{page.name}: {name} is not in a cell's output")
    assert "&lt;svg" not in text[start - 2000 : start], f"{page.name}: {name} was escaped, not rendered"


# ----------------------------------------------------------------------------- in a browser
@pytest.fixture(scope="module")
def phone_page(server: str, browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
    yield context.new_page()
    context.close()


JS_MEASURE = """(sid) => {
  const svg = document.getElementById(sid);
  if (!svg) return null;
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  const sizes = Array.from(svg.querySelectorAll('text')).map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
  const bg = getComputedStyle(svg.querySelector('.ckd-bg')).fill;
  const ink = getComputedStyle(svg.querySelector('text.ckd-t-ink')).fill;
  return {width: box.width, viewport: document.documentElement.clientWidth, smallest: Math.min(...sizes),
          bg: bg, ink: ink};
}"""


def rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"rgb({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)})"


@pytest.mark.parametrize("chapter", sorted({e.chapter for e in DIAGRAMS.values()}))
def test_diagrams_on_a_phone_in_light_and_dark(chapter: int, server: str, phone_page):
    page = phone_page
    page.goto(f"{server}/{chapter_doc(chapter)}.html", wait_until="load")
    names = [n for n, e in DIAGRAMS.items() if e.chapter == chapter]
    for mode in ("light", "dark"):
        # What the theme's toggle does: set data-theme on <html>.
        page.evaluate("(m) => { document.documentElement.dataset.mode = m; document.documentElement.dataset.theme = m; }",
                      mode)
        for name in names:
            m = page.evaluate(JS_MEASURE, svg_id(name))
            assert m is not None, f"{name}: not in the page"
            assert 0.8 * PHONE["width"] <= m["width"] <= m["viewport"], f"{name}: drawn {m['width']} px wide on a phone"
            assert m["smallest"] >= MIN_PX - 0.05, (
                f"{name}: smallest text {m['smallest']:.2f} px on a {PHONE['width']} px phone "
                f"(drawn {m['width']:.0f} of {WIDTH} units)")
            assert m["bg"] == rgb(PALETTE[mode]["bg"]), f"{name} in {mode} mode: background {m['bg']}"
            assert m["ink"] == rgb(PALETTE[mode]["ink"]), f"{name} in {mode} mode: text colour {m['ink']}"


# (html attributes, body attributes, the browser's preference) -> the mode the diagram must show
ENVIRONMENTS = [
    ('data-theme="light"', "", "light", "light"),  # the book, light
    ('data-theme="dark"', "", "light", "dark"),  # the book's toggle set to dark on a light system
    ('data-theme="light"', "", "dark", "light"),  # the toggle set to light on a dark system
    ("", 'data-jp-theme-light="false"', "light", "dark"),  # JupyterLab, dark theme
    ("", 'data-jp-theme-light="true"', "dark", "light"),  # JupyterLab, light theme on a dark system
    ("", 'class="vscode-dark"', "light", "dark"),  # VS Code, dark theme
    ("", "", "dark", "dark"),  # a page that says nothing (Colab's output frame), dark system
    ("", "", "light", "light"),
]


def test_dark_mode_signals(tmp_path: Path, browser):
    """The diagram follows each environment's own dark-mode signal (no built book needed)."""
    wrong = []
    for k, (html_attrs, body_attrs, scheme, want) in enumerate(ENVIRONMENTS):
        page_file = tmp_path / f"page{k}.html"
        page_file.write_text(
            f"<!doctype html><html {html_attrs}><body {body_attrs}>{show_diagram('han').svg}</body></html>",
            encoding="utf-8")
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(page_file.as_uri())
        m = page.evaluate(JS_MEASURE, svg_id("han"))
        context.close()
        if (m["bg"], m["ink"]) != (rgb(PALETTE[want]["bg"]), rgb(PALETTE[want]["ink"])):
            wrong.append(f"<html {html_attrs}><body {body_attrs}>, system {scheme}: want {want}, got {m}")
    assert not wrong, "\n".join(wrong)
