"""The built book works in a real browser with no internet.

Headless Chromium (Debian's, driven by Playwright) loads ``_build/html`` from a
local HTTP server; every request to any other host is aborted and recorded.
For every chapter page in ``_toc.yml`` it checks that every Altair chart, every
bertviz view and every ipywidget rendered from the book's own files, that
MathJax typeset the math, that no script failed, that exercise solutions are
collapsed, and that the Colab launch link points at the chapter's notebook.
A full-page screenshot of each chapter lands in ``_build/screenshots/``.

The book is built by ``make test`` before pytest runs (or by the ``built_book``
fixture in conftest.py when it is missing).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

pytestmark = pytest.mark.book

CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RENDER_TIMEOUT_MS = 45_000

# Requests that notebook outputs make on their own and that the static book does
# not need. Anything else that tries to leave the machine fails the test.
HARMLESS_BLOCKED = {
    # bertviz's head_view output starts with a <script> for require.js from
    # cdnjs; the book loads its own require.js first, so this one is not needed.
    r"^https://cdnjs\.cloudflare\.com/ajax/libs/require\.js/[\d.]+/require\.min\.js$":
        "bertviz asks for require.js; the book already loaded its own",
}

# Console errors that come from the theme, not from the course's pages, and are
# harmless: (message regex, script URL regex, reason).
THEME_CONSOLE_NOISE = [
    (r"^Got invalid theme mode: \. Resetting to auto\.$", r"/_static/scripts/pydata-sphinx-theme\.js",
     "pydata-sphinx-theme logs this for a visitor with no stored light/dark choice"),
]

# Browser-side checks, one JavaScript function per kind of output. Each returns
# a list of {id, ok, why} records (empty when the page has none of that output).
JS_ALTAIR = """() => Array.from(document.querySelectorAll('div[id^="altair-viz-"]')).map(div => {
  const error = div.querySelector('.error');
  const drawn = Array.from(div.querySelectorAll('canvas, svg.marks')).filter(el => {
    const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  const ok = div.classList.contains('vega-embed') && drawn.length > 0 && !error;
  return {id: div.id, ok: ok, why: error ? error.innerText :
          (div.classList.contains('vega-embed') ? 'no canvas/svg with a size' : 'vega-embed never ran')};
})"""

JS_BERTVIZ = """() => Array.from(document.querySelectorAll('div[id^="bertviz-"]')).map(div => {
  const svg = div.querySelector('#vis svg');
  const r = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const layers = div.querySelectorAll('select#layer option').length;
  const boxes = svg ? svg.querySelectorAll('rect').length : 0;
  const lines = svg ? svg.querySelectorAll('line').length : 0;
  const ok = !!svg && r.width > 0 && r.height > 0 && layers > 0 && boxes > 0 && lines > 0;
  return {id: div.id, ok: ok,
          why: `svg=${!!svg} size=${Math.round(r.width)}x${Math.round(r.height)} ` +
               `layer options=${layers} rects=${boxes} lines=${lines}`};
})"""

JS_WIDGETS = """() => Array.from(document.querySelectorAll(
    'script[type="application/vnd.jupyter.widget-view+json"]')).map(s => {
  const spec = JSON.parse(s.textContent);
  const out = s.parentElement;
  const view = out.querySelector('.jupyter-widgets, .widget-inline-hbox, [class*="widget-"]');
  const r = view ? view.getBoundingClientRect() : {width: 0, height: 0};
  return {id: spec.model_id, ok: !!view && r.width > 0 && r.height > 0,
          why: view ? `size ${Math.round(r.width)}x${Math.round(r.height)}` : 'no widget view next to its script'};
})"""

JS_MATH = """() => {
  const math = document.querySelectorAll('main .math, main span.math, main div.math').length;
  const typeset = document.querySelectorAll('main mjx-container').length;
  const errors = document.querySelectorAll('main mjx-merror').length;
  return {math: math, typeset: typeset, errors: errors};
}"""

JS_READY = """() => {
  const all = (sel, f) => Array.from(document.querySelectorAll(sel)).every(f);
  const altairDone = all('div[id^="altair-viz-"]', d => d.querySelector('canvas, svg.marks, .error'));
  const bertvizDone = all('div[id^="bertviz-"]', d => d.querySelector('#vis svg line'));
  const widgetsDone = all('script[type="application/vnd.jupyter.widget-view+json"]',
                          s => s.parentElement.querySelector('[class*="widget-"], .jupyter-widgets'));
  const math = document.querySelectorAll('main .math').length;
  const mathDone = math === 0 || (window.MathJax && MathJax.startup && MathJax.startup.promise &&
                                  document.querySelectorAll('main mjx-container').length > 0);
  return altairDone && bertvizDone && widgetsDone && mathDone;
}"""


# ---------------------------------------------------------------------------
# What the book should contain, read from its sources
# ---------------------------------------------------------------------------

def toc_files(root: Path) -> list[str]:
    """Every file named in _toc.yml, in order (without suffix)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)

    walk(toc)
    return [re.sub(r"\.(ipynb|md)$", "", f) for f in files]


def chapter_docs(root: Path) -> list[str]:
    return [f for f in toc_files(root) if f.startswith("chapters/") and (root / f"{f}.ipynb").is_file()]


def colab_url(root: Path, doc: str) -> str:
    cfg = yaml.safe_load((root / "_config.yml").read_text())
    repo = urlsplit(cfg["repository"]["url"]).path.strip("/")
    branch = cfg["repository"].get("branch", "main")
    base = cfg["launch_buttons"]["colab_url"].rstrip("/")
    prefix = (cfg["repository"].get("path_to_book") or "").strip("/")
    path = f"{prefix}/{doc}.ipynb" if prefix else f"{doc}.ipynb"
    return f"{base}/github/{repo}/blob/{branch}/{path}"


def tagged_cells(root: Path, doc: str, tag: str) -> int:
    nb = json.loads((root / f"{doc}.ipynb").read_text())
    return sum(tag in c.get("metadata", {}).get("tags", []) for c in nb["cells"])


def _params(root_default: Path) -> list[str]:
    try:
        return chapter_docs(root_default)
    except FileNotFoundError:
        return []


# ---------------------------------------------------------------------------
# Server, browser and page fixtures
# ---------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def server(built_book: Path):
    handler = functools.partial(_QuietHandler, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@dataclass
class Visit:
    """A page loaded with the network blocked, and what happened while it loaded."""

    page: object
    url: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_local: list[str] = field(default_factory=list)

    def script_errors(self) -> list[str]:
        return self.page_errors + self.console_errors

    def unexpected_blocked(self) -> list[str]:
        return [u for u in self.blocked if not any(re.search(p, u) for p in HARMLESS_BLOCKED)]


def visit(browser, url: str, *, wait_js: str | None = None) -> Visit:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    v = Visit(page=page, url=url)

    def route(r):
        host = urlsplit(r.request.url).hostname or ""
        if host in LOCAL_HOSTS:
            r.continue_()
        else:
            v.blocked.append(r.request.url)
            r.abort("blockedbyclient")

    def on_console(msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        # The browser's own "Failed to load resource" line for a request we blocked.
        if msg.text.startswith("Failed to load resource") and (
            where in v.blocked or urlsplit(where).hostname not in LOCAL_HOSTS
        ):
            return
        if any(re.search(t, msg.text) and re.search(u, where) for t, u, _ in THEME_CONSOLE_NOISE):
            return
        v.console_errors.append(f"{msg.text} ({where})")

    def on_failed(req):
        if urlsplit(req.url).hostname in LOCAL_HOSTS:
            v.failed_local.append(f"{req.url}: {req.failure}")

    context.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda exc: v.page_errors.append(f"{exc}\n{exc.stack or ''}".strip()))
    page.on("requestfailed", on_failed)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
    if wait_js:
        try:
            page.wait_for_function(wait_js, arg=None, timeout=RENDER_TIMEOUT_MS)
        except Exception:  # the assertions below say what did not render
            pass
    page.wait_for_timeout(300)  # let late errors surface
    return v


JS_NUDGE = """(el) => {
  if (el.tagName === 'SELECT') {
    el.selectedIndex = (el.selectedIndex + 1) % el.options.length;
  } else {
    el.value = Number(el.value) === Number(el.min) ? el.max : el.min;
  }
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
}"""


def altair_bindings_that_do_nothing(page, per_chart: int = 3) -> list[str]:
    """Ids of charts with range/select bindings none of which changes the drawing."""
    dead = []
    charts = page.locator('div[id^="altair-viz-"]')
    for i in range(charts.count()):
        chart = charts.nth(i)
        controls = chart.locator('.vega-bindings input[type="range"], .vega-bindings select')
        if controls.count() == 0:
            continue
        drawing = chart.locator("canvas, svg.marks").first
        redrawn = False
        for j in range(min(per_chart, controls.count())):
            before = drawing.screenshot()
            controls.nth(j).evaluate(JS_NUDGE)
            page.wait_for_timeout(250)
            if drawing.screenshot() != before:
                redrawn = True
                break
        if not redrawn:
            dead.append(chart.get_attribute("id"))
    return dead


def assert_clean(v: Visit) -> None:
    assert not v.script_errors(), f"{v.url}: script errors:\n" + "\n".join(v.script_errors())
    assert not v.failed_local, f"{v.url}: local files failed to load:\n" + "\n".join(v.failed_local)
    assert not v.unexpected_blocked(), (
        f"{v.url}: the page tried to fetch from the internet (blocked); vendor it in "
        "scripts/vendor_assets.py or list it in HARMLESS_BLOCKED with a reason:\n"
        + "\n".join(v.unexpected_blocked())
    )
    text = v.page.inner_text("body")
    for bad in ("Error loading script", "Javascript Error", "Requirejs is needed"):
        assert bad not in text, f"{v.url}: the page shows {bad!r}"


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_toc_lists_chapters(book_root: Path):
    docs = chapter_docs(book_root)
    assert docs, "_toc.yml lists no chapters/*.ipynb that exist"
    for doc in toc_files(book_root):
        assert (book_root / f"{doc}.ipynb").is_file() or (book_root / f"{doc}.md").is_file(), doc


@pytest.mark.parametrize("doc", _params(Path(__file__).resolve().parent.parent))
def test_chapter_renders_offline(doc: str, book_root: Path, built_book: Path, server: str, browser):
    if doc not in chapter_docs(book_root):
        pytest.skip(f"{doc} is not a chapter of the book at {book_root}")
    html = built_book / f"{doc}.html"
    assert html.is_file(), f"{html} was not built"
    v = visit(browser, f"{server}/{doc}.html", wait_js=JS_READY)
    page = v.page

    shots = built_book.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / f"{Path(doc).name}.png"), full_page=True)

    # Interactive outputs, each drawn from the book's own files.
    charts = page.evaluate(JS_ALTAIR)
    views = page.evaluate(JS_BERTVIZ)
    widgets = page.evaluate(JS_WIDGETS)
    bad = [f"altair {c['id']}: {c['why']}" for c in charts if not c["ok"]]
    bad += [f"bertviz {b['id']}: {b['why']}" for b in views if not b["ok"]]
    bad += [f"widget {w['id']}: {w['why']}" for w in widgets if not w["ok"]]
    assert not bad, f"{doc}: outputs that did not render:\n" + "\n".join(bad)
    has_widget_state = page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count()
    if has_widget_state:
        assert page.locator(".jupyter-widgets, [class*='widget-']").count() > 0, f"{doc}: widget state but no widget"
    # The chapter contract asks every chapter for at least one interactive figure.
    assert charts or views, f"{doc}: no Altair chart and no bertviz view on the page"

    # Interactive in the static page: moving a chart's bound slider or select
    # redraws the chart (Vega runs in the page, no kernel).
    still = altair_bindings_that_do_nothing(page)
    assert not still, f"{doc}: changing these charts' controls did not redraw them: {still}"

    # Math typeset by the vendored MathJax.
    math = page.evaluate(JS_MATH)
    if math["math"]:
        assert math["typeset"] > 0, f"{doc}: {math['math']} math elements, none typeset by MathJax"
        assert math["errors"] == 0, f"{doc}: {math['errors']} MathJax errors"

    # Solutions (cells tagged hide-input) are collapsed behind a toggle.
    n_hidden = tagged_cells(book_root, doc, "hide-input")
    cells = page.locator("div.cell.tag_hide-input")
    assert cells.count() == n_hidden, f"{doc}: {n_hidden} hide-input cells in the notebook, {cells.count()} in the page"
    for i in range(n_hidden):
        cell = cells.nth(i)
        details = cell.locator("details.hide.above-input")
        assert details.count() == 1, f"{doc}: hide-input cell {i} has no toggle"
        assert details.get_attribute("open") is None, f"{doc}: solution {i} is open"
        assert not cell.locator(".cell_input").is_visible(), f"{doc}: solution {i}'s code is visible"
        assert details.locator("summary").is_visible(), f"{doc}: solution {i}'s toggle is not visible"
    if n_hidden:  # the toggle really opens
        cells.first.locator("summary").click()
        assert cells.first.locator(".cell_input").is_visible(), f"{doc}: the toggle does not show the solution"

    # Open in Colab: the launch menu links to this chapter's notebook.
    want = colab_url(book_root, doc)
    link = page.locator(f'a[href="{want}"]')
    assert link.count() >= 1, f"{doc}: no Colab launch link to {want}"

    assert_clean(v)
    print(f"{doc}: {len(charts)} Altair charts, {len(views)} bertviz views, {len(widgets)} widgets, "
          f"{math['typeset']} formulas, {n_hidden} hidden solutions; blocked {len(v.blocked)} request(s): "
          f"{sorted(set(v.blocked))}")
    page.context.close()


@pytest.mark.parametrize("doc", ["book/intro", "book/setup"])
def test_front_matter_renders(doc: str, built_book: Path, server: str, browser):
    v = visit(browser, f"{server}/{doc}.html", wait_js="() => document.querySelector('main h1') !== null")
    h1 = v.page.locator("main h1").first.inner_text()
    assert h1.strip(), f"{doc}: no title"
    assert_clean(v)
    v.page.context.close()


def test_index_redirects_to_intro(built_book: Path, server: str, browser):
    v = visit(browser, f"{server}/index.html")
    v.page.wait_for_url(re.compile(r"book/intro\.html$"), timeout=10_000)
    v.page.context.close()


def test_bibliography_lists_cited_works(book_root: Path, built_book: Path, server: str, browser):
    v = visit(browser, f"{server}/book/bibliography.html")
    entries = v.page.locator(".citation")
    cited = set()
    for doc in chapter_docs(book_root):
        text = (book_root / f"{doc}.ipynb").read_text()
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in keys.split(","))
    assert entries.count() >= len(cited) > 0, f"{entries.count()} entries for {len(cited)} cited keys"
    assert_clean(v)
    v.page.context.close()
