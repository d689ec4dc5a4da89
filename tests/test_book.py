"""The built book works in a real browser with no internet.

Headless Chromium (Debian's, driven by Playwright) loads ``_build/html`` from a
local HTTP server; every request to any other host is aborted and recorded.
For every chapter page in ``_toc.yml`` it checks that every Altair chart, every
bertviz view and every ipywidget rendered from the book's own files, that
MathJax typeset the math, that no script failed, that exercise solutions are
collapsed behind a toggle labelled as the solution, and that the Colab launch
link points at the chapter's notebook. Then, as a reader sees it: on a 390 px
phone no chart is wider than the screen and every legend sits inside its chart;
cell code stays within the column at 1280 px and wide equations scroll on
purpose; in dark mode the code in exercise feedback is readable (>= 4.5:1);
exercise stubs show a one-line note (no traceback, no "Not yet"); live widgets
say they need a kernel; no hidden progress bars; every chart has a description
for screen readers; chart libraries load only where a page has charts; and no
page makes any request beyond the book's own server.
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
# not need: none. (bertviz's CDN require.js tag is dropped by book/_ext/course_cells.py.)
# Anything that tries to leave the machine fails the test.
HARMLESS_BLOCKED: dict[str, str] = {}

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
  // A head view has a layer menu that must be filled; a model view draws every layer at
  // once and has no menu (chapters 9 and 11 show both).
  const menu = div.querySelector('select#layer');
  const layers = div.querySelectorAll('select#layer option').length;
  const boxes = svg ? svg.querySelectorAll('rect').length : 0;
  const lines = svg ? svg.querySelectorAll('line').length : 0;
  const ok = !!svg && r.width > 0 && r.height > 0 && (!menu || layers > 0) && boxes > 0 && lines > 0;
  return {id: div.id, ok: ok,
          why: `svg=${!!svg} size=${Math.round(r.width)}x${Math.round(r.height)} ` +
               `layer menu=${!!menu} options=${layers} rects=${boxes} lines=${lines}`};
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


# What a reader sees (see the module docstring); each returns a list of problems.
JS_PHONE = """() => {
  const bad = [];
  const vw = window.innerWidth;
  for (const v of document.querySelectorAll('.vega-embed')) {
    const drawn = v.querySelector('svg.marks, canvas');
    if (!drawn) continue;
    const r = drawn.getBoundingClientRect();
    const cell = (v.closest('.cell_output') || document.querySelector('article')).getBoundingClientRect();
    if (r.width > cell.width + 1 || r.right > vw + 1)
      bad.push(`${v.id}: ${Math.round(r.width)} px wide in a ${Math.round(cell.width)} px column`);
    for (const g of v.querySelectorAll('g.role-legend')) {
      const lr = g.getBoundingClientRect();
      if (lr.width && (lr.right > r.right + 1 || lr.left < r.left - 1 || lr.right > vw + 1))
        bad.push(`${v.id}: a legend reaches ${Math.round(lr.right)} px, the chart ends at ${Math.round(r.right)} px`);
    }
  }
  return bad;
}"""

JS_DARK_CONTRAST = """() => {
  const lum = c => { const m = c.match(/[\\d.]+/g).map(Number); const f = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(m[0]) + 0.7152 * f(m[1]) + 0.0722 * f(m[2]); };
  const opaque = c => !/rgba\\([^)]*, 0\\)|transparent/.test(c);
  const bg = e => { while (e) { const b = getComputedStyle(e).backgroundColor;
    if (b && opaque(b)) return b; e = e.parentElement; } return 'rgb(255, 255, 255)'; };
  return Array.from(document.querySelectorAll('.coursekit-check code, .coursekit-note code')).map(c => {
    const a = lum(getComputedStyle(c).color), b = lum(bg(c));
    return {text: c.textContent.slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
}"""

JS_READING = """() => {
  const bad = [];
  const visible = e => e.offsetParent !== null;
  // Cell code stays within the column (it wraps); outputs may scroll.
  for (const pre of document.querySelectorAll('div.cell_input pre, main div[class*="highlight-"]:not(.output) pre')) {
    if (visible(pre) && !pre.closest('.cell_output') && pre.scrollWidth > pre.clientWidth + 1)
      bad.push(`code cut off: ${pre.textContent.trim().split('\\n')[0].slice(0, 60)}`);
  }
  // A display equation fits, or scrolls inside the column on purpose.
  for (const d of document.querySelectorAll('main div.math')) {
    const m = d.querySelector('mjx-container'); if (!m || !visible(d)) continue;
    const fits = m.scrollWidth <= m.clientWidth + 1;
    const scrolls = /auto|scroll/.test(getComputedStyle(m).overflowX) &&
                    m.getBoundingClientRect().right <= d.getBoundingClientRect().right + 1;
    if (!fits && !scrolls) bad.push(`equation cut off: ${d.textContent.trim().slice(0, 60)}`);
  }
  return bad;
}"""

JS_A11Y = """() => {
  const charts = Array.from(document.querySelectorAll('.vega-embed')).map(v => {
    const el = v.querySelector('[role="graphics-document"][aria-label]');  // vega's view container
    return {id: v.id, label: el ? el.getAttribute('aria-label') : null};
  });
  const selects = Array.from(document.querySelectorAll('[id^="bertviz-"] select')).map(s =>
    ({id: s.id, label: s.getAttribute('aria-label') || (s.labels && s.labels.length ? s.labels[0].textContent : null)}));
  return {charts, selects};
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


def visit(browser, url: str, *, wait_js: str | None = None, width: int = 1280, dark: bool = False) -> Visit:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light")
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
    if dark:  # what the theme's switch does
        page.evaluate("document.documentElement.dataset.theme = 'dark'; document.documentElement.dataset.mode = 'dark'")
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
        if "tag_solution" in (cell.get_attribute("class") or ""):  # labelled as the solution
            label = details.locator("summary").inner_text().strip()
            assert label == "Show the solution", f"{doc}: solution {i}'s toggle reads {label!r}"
    if n_hidden:  # the toggle really opens
        cells.first.locator("summary").click()
        assert cells.first.locator(".cell_input").is_visible(), f"{doc}: the toggle does not show the solution"

    # Exercises read calmly: each stub shows a one-line note instead of its traceback, and the
    # check of the unwritten stub says what it does rather than "Not yet" (the solution's passes).
    stubs = page.locator("div.cell.tag_exercise")
    assert stubs.count() == tagged_cells(book_root, doc, "exercise"), f"{doc}: exercise cells missing"
    for i in range(stubs.count()):
        stub = stubs.nth(i)
        assert stub.locator(".traceback").count() == 0, f"{doc}: exercise stub {i} shows a traceback"
        if stub.locator(".cell_output").count():
            note = stub.locator(".coursekit-stub-note").inner_text()
            assert "NotImplementedError" in note and "Colab or Jupyter" in note, f"{doc}: stub {i}: {note!r}"
    assert page.locator(".coursekit-check[data-passed='false']").count() == 0, f"{doc}: a check says Not yet"
    passed = page.locator("div.cell.tag_solution .coursekit-check[data-passed='true']").count()
    assert passed == tagged_cells(book_root, doc, "solution"), f"{doc}: {passed} passing checks under the solutions"
    assert "Traceback (most recent call last)" not in page.inner_text("main"), f"{doc}: a traceback is shown"

    # Live ipywidgets say, in the static page, that they need a kernel; no hidden tqdm bars.
    n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    notes = page.locator(".coursekit-live-note")
    assert notes.count() == n_views, f"{doc}: {n_views} widgets, {notes.count()} 'needs a kernel' notes"
    for i in range(notes.count()):
        assert "running kernel" in notes.nth(i).inner_text(), f"{doc}: live-widget note {i}"
    assert not progress_bars(page), f"{doc}: tqdm progress bars embedded in the page: {progress_bars(page)}"

    # Code within the column, equations that fit or scroll on purpose, charts a screen reader can name.
    reading = page.evaluate(JS_READING)
    assert not reading, f"{doc}: at 1280 px:\n" + "\n".join(reading)
    a11y = page.evaluate(JS_A11Y)
    unnamed = [c["id"] for c in a11y["charts"] if not c["label"] or c["label"] == "Vega visualization"]
    assert not unnamed, f"{doc}: charts without a description: {unnamed}"
    unlabelled = [s["id"] for s in a11y["selects"] if not s["label"]]
    assert not unlabelled, f"{doc}: bertviz menus without a label: {unlabelled}"

    # Open in Colab: the launch menu links to this chapter's notebook.
    want = colab_url(book_root, doc)
    link = page.locator(f'a[href="{want}"]')
    assert link.count() >= 1, f"{doc}: no Colab launch link to {want}"

    assert_clean(v)
    print(f"{doc}: {len(charts)} Altair charts, {len(views)} bertviz views, {len(widgets)} widgets, "
          f"{math['typeset']} formulas, {n_hidden} hidden solutions; blocked {len(v.blocked)} request(s): "
          f"{sorted(set(v.blocked))}")
    page.context.close()


def progress_bars(page) -> list[str]:
    """Models of tqdm's notebook bars (a FloatProgress/IntProgress) in the page's widget state."""
    states = page.locator('script[type="application/vnd.jupyter.widget-state+json"]')
    found = []
    for i in range(states.count()):
        state = json.loads(states.nth(i).text_content()).get("state", {})
        found += [k for k, m in state.items() if m.get("model_name") in ("FloatProgressModel", "IntProgressModel")]
    return found


@pytest.mark.parametrize("doc", _params(Path(__file__).resolve().parent.parent))
def test_chapter_fits_a_phone(doc: str, book_root: Path, built_book: Path, server: str, browser):
    """At 390 px no chart is wider than its column or the screen, and every legend sits inside its chart."""
    if doc not in chapter_docs(book_root):
        pytest.skip(f"{doc} is not a chapter of the book at {book_root}")
    v = visit(browser, f"{server}/{doc}.html", wait_js=JS_READY, width=390)
    problems = v.page.evaluate(JS_PHONE)
    n_charts = v.page.locator(".vega-embed").count()
    assert n_charts, f"{doc}: no chart rendered on the phone"
    assert not problems, f"{doc} at 390 px:\n" + "\n".join(problems)
    shots = built_book.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    v.page.screenshot(path=str(shots / f"{Path(doc).name}-390.png"), full_page=True)
    assert_clean(v)
    v.page.context.close()


@pytest.mark.parametrize("doc", _params(Path(__file__).resolve().parent.parent))
def test_chapter_in_dark_mode_keeps_feedback_code_readable(doc: str, book_root: Path, built_book: Path, server: str, browser):
    """The exercise feedback boxes are light in both themes; the code inside them must be too (>= 4.5:1)."""
    if doc not in chapter_docs(book_root):
        pytest.skip(f"{doc} is not a chapter of the book at {book_root}")
    v = visit(browser, f"{server}/{doc}.html", wait_js=JS_READY, dark=True)
    codes = v.page.evaluate(JS_DARK_CONTRAST)
    if tagged_cells(book_root, doc, "solution"):
        assert codes, f"{doc}: no code in the exercise feedback to check"
    low = [f"{c['text']!r}: {c['ratio']:.1f}:1" for c in codes if c["ratio"] < 4.5]
    assert not low, f"{doc}: code in feedback boxes below 4.5:1 in dark mode:\n" + "\n".join(low)
    assert_clean(v)
    v.page.context.close()


def built_pages(built_book: Path) -> list[Path]:
    return sorted(p for p in built_book.rglob("*.html") if "_static" not in p.parts)


def test_no_page_requests_anything_beyond_the_book(built_book: Path, server: str, browser):
    """Every built page (chapters, front matter, bibliography, index, search) loads only the book's own files."""
    outside = {}
    for html in built_pages(built_book):
        rel = html.relative_to(built_book).as_posix()
        v = visit(browser, f"{server}/{rel}", wait_js=JS_READY)
        if v.blocked:
            outside[rel] = sorted(set(v.blocked))
        v.page.context.close()
    assert not outside, "pages that tried to reach the internet:\n" + "\n".join(f"{k}: {u}" for k, u in outside.items())


def test_pages_load_chart_libraries_only_where_they_have_charts(built_book: Path):
    """The vendored vega bundle, d3/jQuery and require.js come only with the outputs that need them."""
    wrong = []
    for html in built_pages(built_book):
        text = html.read_text(encoding="utf-8")
        scripts = set(re.findall(r'<script[^>]*src="[^"]*_static/offline/([\w.-]+\.js)', text))
        has = {
            "altair": "altair-viz-" in text,
            "bertviz": 'id="bertviz-' in text,
            "widgets": "application/vnd.jupyter.widget-state+json" in text,
        }
        want = set()
        if has["altair"]:
            want |= {"vega-bundle.js", "vendor-shim.js"}
        if has["bertviz"]:
            want |= {"d3.min.js", "jquery.min.js", "require.js", "vendor-shim.js"}
        if has["widgets"]:
            want |= {"require.js", "vendor-shim.js", "embed-amd.js"}
        vendored = scripts - {"tex-mml-chtml.js"}
        if vendored != want:
            wrong.append(f"{html.relative_to(built_book)}: loads {sorted(vendored)}, needs {sorted(want)}")
    assert not wrong, "\n".join(wrong)


def test_no_progress_bar_widgets_in_pages(built_book: Path):
    """COURSEKIT_PROGRESS=0 in the build: no tqdm bar's widget state (and gap) in any page."""
    for html in built_pages(built_book):
        text = html.read_text(encoding="utf-8")
        for state in re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', text, re.S):
            models = json.loads(state.replace("<\\/", "</")).get("state", {}).values()
            bars = [m for m in models if m.get("model_name") in ("FloatProgressModel", "IntProgressModel")]
            assert not bars, f"{html.relative_to(built_book)}: {len(bars)} progress bars embedded"


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
    # Entries are labelled as the citations read, author and year ("Ramsauer et al., 2020"), not numbered.
    labels = [t.strip().strip("[]") for t in v.page.locator(".citation .label").all_inner_texts()]
    assert len(labels) == entries.count()
    not_author_year = [x for x in labels if not re.fullmatch(r"\S.*, (1[89]|20)\d\d[a-z]?", x)]
    assert not not_author_year, f"bibliography labels that are not author-year: {not_author_year[:5]}"
    assert len(set(labels)) == len(labels), "two entries share a label"
    assert_clean(v)
    v.page.context.close()


def test_citations_read_as_their_bibliography_labels(book_root: Path, built_book: Path):
    """A citation in a chapter and its bibliography entry show the same author-year text."""
    bib = (built_book / "book" / "bibliography.html").read_text(encoding="utf-8")
    labels = {m.group(1): m.group(2) for m in re.finditer(
        r'<div class="citation" id="([^"]+)" role="doc-biblioentry">\s*<span class="label">'
        r'<span class="fn-bracket">\[</span>(.*?)<span class="fn-bracket">\]</span>', bib)}
    assert labels, "no labelled entries in the bibliography page"
    checked = 0
    for doc in chapter_docs(book_root):
        page = (built_book / f"{doc}.html").read_text(encoding="utf-8")
        for anchor, text in re.findall(r'<a class="reference internal" href="[^"]*bibliography\.html#([^"]+)"[^>]*>(.*?)</a>', page):
            text = re.sub(r"<[^>]+>", "", text)
            assert labels.get(anchor) == text, f"{doc}: citation {text!r}, entry {labels.get(anchor)!r}"
            checked += 1
    assert checked, "no citations found in the chapters"
