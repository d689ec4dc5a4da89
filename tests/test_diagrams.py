"""The course diagrams (coursekit.diagrams): well-formed, accessible SVG that follows the
page's dark mode, stays readable on a phone, and is shown by its chapter.

The rendered look is checked by eye (light and dark, 390 px wide); what a test can check
is here. ``tests/test_book_diagrams.py`` checks the diagrams on the built pages.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from coursekit.diagrams import DIAGRAMS, Diagram, diagram_names, show_diagram
from coursekit.diagrams.registry import render
from coursekit.diagrams.svg import (
    LABEL,
    PALETTE,
    PHONE_COLUMN_PX,
    ROLES,
    SCRIPT_SCALE,
    SMALL,
    TEXT_ON,
    WIDTH,
    Canvas,
    contrast_ratio,
    plain,
    text_width,
)

SVG_NS = "{http://www.w3.org/2000/svg}"
CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
WRITTEN = sorted(int(p.name[:2]) for p in CHAPTERS.glob("[0-9][0-9]_*.ipynb"))  # the chapters on disk
NAMES = list(DIAGRAMS)
DARK_SIGNALS = (
    'html[data-theme="dark"]',  # the book's theme toggle (pydata-sphinx-theme)
    'body[data-jp-theme-light="false"]',  # JupyterLab / Notebook 7
    "body.vscode-dark",  # VS Code
    "@media (prefers-color-scheme: dark)",  # the browser, unless the page says light
)


def parse(name: str) -> ET.Element:
    return ET.fromstring(render(name))


def style_text(name: str) -> str:
    return parse(name).find(f"{SVG_NS}style").text


# ----------------------------------------------------------------------------- the registry
def test_every_chapter_has_two_diagrams():
    for chapter in WRITTEN:
        assert len(diagram_names(chapter)) >= 2, f"chapter {chapter}: {diagram_names(chapter)}"


@pytest.mark.parametrize("name", NAMES)
def test_has_a_background_and_ink_text(name):
    # The book's phone test reads the theme's colours off these two elements.
    body = render(name).split("</style>", 1)[1]
    assert re.search(r'class="[^"]*\bckd-bg\b', body), f"{name}: no background rect"
    assert re.search(r'<text[^>]*class="[^"]*\bckd-t-ink\b', body), f"{name}: no text in the ink colour"


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_complete(name):
    entry = DIAGRAMS[name]
    assert callable(entry.draw) and entry.chapter in range(1, 14)
    assert len(entry.title) >= 10 and len(entry.alt) >= 120, "alt text says what the diagram shows"
    assert entry.alt.endswith(".") and "  " not in entry.alt


def test_show_diagram():
    d = show_diagram("transformer_blocks")
    assert isinstance(d, Diagram)
    assert d._repr_html_() == d.svg == render("transformer_blocks")
    assert d.svg.startswith("<svg ") and d.svg.endswith("</svg>")
    assert DIAGRAMS["transformer_blocks"].alt in repr(d)  # text/plain: the alt text
    with pytest.raises(ValueError, match="transformer_blocks"):  # the message lists the names
        show_diagram("no_such_diagram")


def test_save_writes_a_standalone_file(tmp_path):
    path = show_diagram("han").save(tmp_path / "han.svg")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"


def test_rendering_is_deterministic():
    for name in NAMES:
        assert render(name) == render(name), name


# ----------------------------------------------------------------------------- SVG structure
@pytest.mark.parametrize("name", NAMES)
def test_well_formed_and_accessible(name):
    root = parse(name)
    sid = "ckd-" + name.replace("_", "-")
    assert root.tag == f"{SVG_NS}svg" and root.get("id") == sid
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG_NS}title"), root.find(f"{SVG_NS}desc")
    assert title is not None and desc is not None
    assert title.text == DIAGRAMS[name].title and desc.text == DIAGRAMS[name].alt
    assert root.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    # The first children: title, desc (screen readers and tooltips read them from there).
    assert [child.tag for child in root][:2] == [f"{SVG_NS}title", f"{SVG_NS}desc"]


@pytest.mark.parametrize("name", NAMES)
def test_scales_to_the_column(name):
    root = parse(name)
    x0, y0, w, h = (float(v) for v in root.get("viewBox").split())
    assert (x0, y0, w) == (0, 0, WIDTH) and h > 0
    assert root.get("width") == "100%" and root.get("height") is None
    assert re.search(r"max-width: *\d+px", root.get("style")) and "height: auto" in root.get("style")


@pytest.mark.parametrize("name", NAMES)
def test_self_contained(name):
    svg = render(name)
    root = ET.fromstring(svg)
    without_ns = svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "http" not in without_ns and "//" not in re.sub(r"<desc.*?</desc>", "", without_ns)
    for el in root.iter():
        assert el.tag.removeprefix(SVG_NS) not in ("script", "image", "foreignObject", "use", "a"), el.tag
        for attr, value in el.attrib.items():
            assert not attr.startswith("on"), f"{el.tag} has an event handler {attr}"
            assert "href" not in attr, f"{el.tag} links to {value}"
    assert "@import" not in style_text(name) and "url(" not in style_text(name)


def test_ids_are_unique_and_prefixed():
    seen: dict[str, str] = {}
    for name in NAMES:
        root = parse(name)
        sid = root.get("id")
        for el in root.iter():
            if "id" in el.attrib:
                i = el.get("id")
                assert i == sid or i.startswith(sid + "-"), f"{name}: id {i!r} is not scoped to {sid}"
                assert i not in seen, f"id {i!r} in {name} and {seen.get(i)}"
                seen[i] = name


@pytest.mark.parametrize("name", NAMES)
def test_references_resolve(name):
    svg = render(name)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    refs = re.findall(r'url\(#([^)]+)\)', svg)
    assert refs, "arrows use the shared markers"
    assert set(refs) <= ids, f"unresolved: {set(refs) - ids}"


@pytest.mark.parametrize("name", NAMES)
def test_style_is_scoped(name):
    sid = parse(name).get("id")
    css = style_text(name)
    for line in css.splitlines():
        line = line.strip()
        if line:
            assert f"#{sid}" in line, f"an unscoped rule: {line}"
    classes = set()
    for el in parse(name).iter():
        classes.update(el.get("class", "").split())
    assert classes and all(c.startswith("ckd") for c in classes), sorted(classes)


# ----------------------------------------------------------------------------- dark mode, contrast
def _declared(css: str, selector_start: str) -> dict[str, str]:
    """The custom properties of the first rule whose selector starts with ``selector_start``."""
    for m in re.finditer(r"([^{}]+)\{([^{}]*)\}", css):
        if m.group(1).strip().startswith(selector_start):
            return dict(re.findall(r"--ckd-([\w-]+):\s*(#[0-9a-f]{6})", m.group(2)))
    raise AssertionError(f"no rule starting {selector_start!r}")


@pytest.mark.parametrize("name", NAMES)
def test_dark_mode_rules(name):
    sid = parse(name).get("id")
    css = style_text(name)
    for signal in DARK_SIGNALS:
        assert signal in css, f"no dark-mode rule for {signal}"
    assert _declared(css, f"#{sid}") == PALETTE["light"]
    assert _declared(css, 'html[data-theme="dark"]') == PALETTE["dark"]
    media = css[css.index("@media (prefers-color-scheme: dark)") :]
    # The browser's preference yields to a page that says it is light.
    assert 'html:not([data-theme="light"])' in media and 'body:not([data-jp-theme-light="true"])' in media
    assert _declared(media.split("{", 1)[1], "html:not") == PALETTE["dark"]
    # Every colour comes from the palette: no literal colour outside the custom properties.
    rules = re.sub(r"--ckd-[\w-]+:\s*#[0-9a-f]{6};", "", css)
    assert not re.search(r"#[0-9a-fA-F]{3,8}\b(?![\w-])", rules.replace(f"#{sid}", "")), "a literal colour"
    assert not re.search(r'\b(fill|stroke)="#', render(name)), "a colour attribute outside the palette"


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_text_contrast(mode):
    p = PALETTE[mode]
    low = [(t, b, round(contrast_ratio(p[t], p[b]), 2)) for t, backs in TEXT_ON.items() for b in backs
           if contrast_ratio(p[t], p[b]) < 4.5]
    assert not low, f"{mode}: text below 4.5:1 (WCAG AA): {low}"


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_line_contrast(mode):
    """Lines, arrowheads and box outlines: at least 3:1 against the background (WCAG 1.4.11)."""
    p = PALETTE[mode]
    for key in ("line", *ROLES):
        assert contrast_ratio(p[key], p["bg"]) >= 3, (mode, key)


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1)


@pytest.mark.parametrize("name", NAMES)
def test_text_classes_are_in_the_palette(name):
    """Text is drawn with a colour class whose colour the contrast test covered."""
    for el in parse(name).iter(f"{SVG_NS}text"):
        colours = [c.removeprefix("ckd-t-") for c in el.get("class").split() if c.startswith("ckd-t-")]
        assert len(colours) == 1 and colours[0] in TEXT_ON, el.get("class")


# ----------------------------------------------------------------------------- phone, layout
def test_text_is_readable_on_a_phone():
    """In the book's 340 px column on a 390 px phone every label is at least 11 px; scripts are 80 %."""
    scale = PHONE_COLUMN_PX / WIDTH
    assert min(LABEL, SMALL) * scale >= 11
    assert SCRIPT_SCALE * SMALL * scale >= 8.5


@pytest.mark.parametrize("name", NAMES)
def test_font_sizes_come_from_the_style(name):
    root = parse(name)
    sizes = [float(v) for v in re.findall(r"font-size:\s*([\d.]+)px", style_text(name))]
    assert sizes and min(sizes) * PHONE_COLUMN_PX / WIDTH >= 11
    for el in root.iter():
        assert "font-size" not in el.attrib, "sizes come from the scoped classes"
        if el.tag == f"{SVG_NS}text":
            assert {"ckd-label", "ckd-small", "ckd-head"} & set(el.get("class").split())


@pytest.mark.parametrize("name", NAMES)
def test_layout_is_clean(name):
    """Nothing leaves the canvas, every label fits its box, free text touches no box or
    other text, and accent text never sits in a box (by generous width estimates)."""
    canvas = DIAGRAMS[name].draw()
    assert isinstance(canvas, Canvas)
    assert not canvas.problems, canvas.problems
    assert not canvas.overlaps(), canvas.overlaps()


def test_layout_checks_catch_problems():
    c = Canvas("probe", height=100)
    c.box(50, 50, 40, 20, "a label far too long for this box")
    c.text(50, 50, "over the box")
    c.text(395, 90, "off the edge")
    c.box(200, 50, 100, 30, "")
    c.text(200, 50, "accent in a box", colour="attn")
    assert any("wider than its box" in p for p in c.problems)
    assert any("leaves the canvas" in p for p in c.problems)
    overlaps = c.overlaps()
    assert any("'over the box' touches the box" in o for o in overlaps)
    assert any("accent text 'accent in a box'" in o for o in overlaps)


def test_math_labels():
    assert plain("$s_{t−1}$ and $W^O$") == "s_t−1 and W^O"
    svg = Canvas("probe", height=40)
    svg.text(100, 20, "$h_t$")
    text = svg.items[-1]
    assert 'class="ckd-math ckd-script"' in text and "dy=" in text and ">t</tspan>" in text
    assert text_width("$h_t$", 14) < text_width("ht", 14)  # the script is smaller


# ----------------------------------------------------------------------------- the chapters show them
def _diagram_cells(path: Path) -> list[tuple[int, str, dict]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for i, cell in enumerate(nb["cells"]):
        src = "".join(cell["source"])
        for name in re.findall(r"""show_diagram\(\s*["'](\w+)["']\s*\)""", src):
            found.append((i, name, cell))
    return found, nb["cells"]


@pytest.mark.parametrize("chapter", WRITTEN)
def test_chapter_shows_its_diagrams(chapter):
    (path,) = CHAPTERS.glob(f"{chapter:02d}_*.ipynb")
    found, cells = _diagram_cells(path)
    shown = [name for _, name, _ in found]
    assert len(shown) >= 2, f"{path.name} shows {shown}"
    assert sorted(shown) == sorted(diagram_names(chapter)), (
        f"{path.name} shows {shown}; the registry has {diagram_names(chapter)} for chapter {chapter}")
    for i, name, cell in found:
        assert cell["cell_type"] == "code" and "hide-input" in cell["metadata"].get("tags", []), (
            f"{path.name} cell {i}: a diagram cell is tagged hide-input, so the book shows only the figure")
        assert cell.get("outputs") == [], f"{path.name} cell {i}: stored outputs"
        assert "from coursekit.diagrams import show_diagram" in "".join(cell["source"]), (
            f"{path.name} cell {i}: imports show_diagram itself, so it runs on its own")
        neighbours = [cells[j] for j in (i - 1, i + 1) if 0 <= j < len(cells)]
        assert any(c["cell_type"] == "markdown" for c in neighbours), f"{path.name} cell {i}: no caption beside it"
