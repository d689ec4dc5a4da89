"""What the static book shows for exercises, live widgets and bertviz (a post-transform).

The notebooks stay as a learner runs them in Colab; only the built page changes,
by cell tag (see the chapter contract in the course notes):

- **Exercise stubs** (``exercise`` + ``raises-exception``): the traceback of the
  stub's own ``NotImplementedError`` becomes a one-line note. Any other error
  keeps its traceback: it would be a real problem.
- **Checks** (``exercise-check``): their failing feedback (``❌ Not yet``, the
  check of the unwritten stub) becomes a one-line note of what the check does
  when run. In the static page nobody can write the stub, so that feedback would
  only repeat the stub's note and set a red "Not yet" beside the green "Passed"
  of the solution below. A passing check, or any other output, is kept.
- **Solutions** (``solution`` + ``hide-input``): the toggle reads "Show the
  solution" / "Hide the solution" instead of myst-nb's global "Show code cell
  source" (myst-nb reads the label from the cell container, so this runs before
  its ``HideInputCells`` post-transform, priority 199).
- **Live widgets** (an ipywidgets view in a cell's output): a note before the
  output says that the control needs a running kernel and that the output is
  what the cell printed for its default input.
- **bertviz**: its ``<script src=".../require.min.js">`` from cdnjs is dropped
  (the book loads its own require.js; offline the request is blocked anyway),
  and its layer / attention menus get an ``aria-label``.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

STUB_NOTE = ("This cell raises ", ("NotImplementedError",), " until you write your code: run it in Colab or Jupyter.")
CHECK_NOTE = (
    "Run in Colab or Jupyter after your code, this check says whether your function is right, "
    "with a hint for each common mistake it recognises.",
)
LIVE_NOTE = (
    "Needs a running kernel (Colab or Jupyter): in this page the control below does nothing. "
    "The output under it is what the cell printed for its default input when the book was built.",
)
SHOW_SOLUTION, HIDE_SOLUTION = "Show the solution", "Hide the solution"

CDN_REQUIRE = re.compile(
    r'<script[^>]*\ssrc="https?://[^"]*/require(?:\.min)?\.js"[^>]*>\s*</script>\s*', re.IGNORECASE
)
BERTVIZ_SELECTS = {"layer": "Layer", "filter": "Attention"}
LAST_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s*(.*))?$")


def _note(parts: tuple, cls: str) -> nodes.container:
    """A one-paragraph note; a 1-tuple among ``parts`` is inline code."""
    para = nodes.paragraph()
    for part in parts:
        para += nodes.literal(text=part[0]) if isinstance(part, tuple) else nodes.Text(part)
    box = nodes.container(classes=["coursekit-note", cls])
    box += para
    return box


def _replace(old: nodes.Node, new: nodes.Node) -> None:
    """Put ``new`` where ``old`` was (``replace_self`` would also copy old's classes, "traceback" included)."""
    old.parent.replace(old, new)


def _tags(cell: nodes.Element) -> set[str]:
    return set((cell.get("cell_metadata") or {}).get("tags", []))


def _outputs(cell: nodes.Element) -> list[nodes.Element]:
    return [c for c in cell.children if isinstance(c, nodes.Element) and c.get("nb_element") == "cell_code_output"]


def exception_name(traceback: str) -> str | None:
    """The exception's class name from the last line of a traceback ("NotImplementedError: ...")."""
    lines = [ln.strip() for ln in traceback.strip().splitlines() if ln.strip()]
    m = LAST_LINE.match(lines[-1]) if lines else None
    return m.group(1).rsplit(".", 1)[-1] if m else None


def is_failing_check(html: str) -> bool:
    """Whether a raw HTML output is a coursekit check result that did not pass."""
    if "coursekit-check" not in html:
        return False
    if 'data-passed="false"' in html:
        return True
    return "❌" in html and 'data-passed="true"' not in html


def fix_bertviz_html(html: str) -> str:
    """bertviz's HTML without the CDN require.js tag, its menus labelled for screen readers."""
    html = CDN_REQUIRE.sub("", html)
    for sel_id, label in BERTVIZ_SELECTS.items():
        html = re.sub(rf'<select id="{sel_id}">', f'<select id="{sel_id}" aria-label="{label}">', html)
    return html


class CourseCells(SphinxPostTransform):
    """Rewrite exercise, solution, widget and bertviz outputs for the static page (see the module doc)."""

    default_priority = 150  # before myst-nb's HideInputCells (199), which reads the toggle labels
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for raw in list(self.document.findall(nodes.raw)):
            if "html" in raw.get("format", "").split():
                self._fix_raw(raw)
        for cell in list(self.document.findall(nodes.container)):
            if cell.get("nb_element") != "cell_code":
                continue
            tags = _tags(cell)
            if "solution" in tags and cell.get("hide_mode"):
                cell["prompt_show"], cell["prompt_hide"] = SHOW_SOLUTION, HIDE_SOLUTION
            if "exercise" in tags:
                self._calm_stub(cell)
            if "exercise-check" in tags:
                self._calm_check(cell)
            self._note_live_widgets(cell)

    def _fix_raw(self, raw: nodes.raw) -> None:
        text = raw.astext()
        if "require" not in text and "<select" not in text:
            return
        fixed = fix_bertviz_html(text)
        if fixed == text:
            return
        if not fixed.strip():
            raw.parent.remove(raw)
        else:
            raw.children = [nodes.Text(fixed)]

    def _calm_stub(self, cell: nodes.Element) -> None:
        for out in _outputs(cell):
            for block in list(out.findall(nodes.literal_block)):
                if "traceback" in block.get("classes", []) and exception_name(block.astext()) == "NotImplementedError":
                    _replace(block, _note(STUB_NOTE, "coursekit-stub-note"))

    def _calm_check(self, cell: nodes.Element) -> None:
        for out in _outputs(cell):
            for raw in list(out.findall(nodes.raw)):
                if is_failing_check(raw.astext()):
                    _replace(raw, _note(CHECK_NOTE, "coursekit-check-note"))

    def _note_live_widgets(self, cell: nodes.Element) -> None:
        for out in _outputs(cell):
            if any(WIDGET_VIEW in r.astext() for r in out.findall(nodes.raw)):
                cell.insert(cell.index(out), _note(LIVE_NOTE, "coursekit-live-note"))
                return


def setup(app) -> None:
    app.add_post_transform(CourseCells)
