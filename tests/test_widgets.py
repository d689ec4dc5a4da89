"""The chapters' widgets and tqdm's notebook bars work with the installed ipywidgets:
8.x in the main test run, Colab's 7.7.1 under ``make colab-versions`` (Colab's
front end renders ipywidgets 7 only, so the course must not need 8).

Every chapter cell that imports ipywidgets is read: each ``widgets.NAME`` it
uses must exist, and each keyword it passes to ``widgets.NAME(...)`` must be a
trait of that widget. Then the chapters' pattern (a text box observed by a
callback that prints into an Output, in a VBox) runs headless, and a
``tqdm.notebook`` bar (what ``coursekit.train.fit``'s ``tqdm.auto`` draws in
Colab) is built and advanced.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

widgets = pytest.importorskip("ipywidgets")

REPO = Path(__file__).resolve().parent.parent
# ipywidgets 7 with a recent ipykernel (Colab has an older one) warns about ipykernel.comm.
pytestmark = pytest.mark.filterwarnings("ignore:The `ipykernel.comm.Comm` class has been deprecated")


def widget_cells() -> list[tuple[str, ast.Module]]:
    """(chapter name, parsed source) for every code cell that imports ipywidgets."""
    cells = []
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and "import ipywidgets as widgets" in src:
                cells.append((path.name, ast.parse(src)))
    return cells


def widget_uses(tree: ast.Module) -> list[tuple[str, list[str]]]:
    """(NAME, keywords) for each ``widgets.NAME`` in the cell; keywords only where it is called."""
    calls = {id(n.func): [k.arg for k in n.keywords if k.arg] for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [
        (n.attr, calls.get(id(n), []))
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "widgets"
    ]


def test_chapters_use_only_widget_api_this_ipywidgets_has():
    cells = widget_cells()
    assert cells, "no chapter cell imports ipywidgets"
    problems = []
    for name, tree in cells:
        for attr, keywords in widget_uses(tree):
            cls = getattr(widgets, attr, None)
            if cls is None:
                problems.append(f"{name}: ipywidgets {widgets.__version__} has no widgets.{attr}")
                continue
            traits = set(cls.class_trait_names()) if hasattr(cls, "class_trait_names") else set()
            problems += [f"{name}: widgets.{attr} has no trait {k!r} in ipywidgets {widgets.__version__}"
                         for k in keywords if k not in traits]
    assert not problems, "\n".join(problems)


def test_observed_text_box_prints_into_an_output():
    box = widgets.Text(value="abc", description="input:")
    area = widgets.Textarea(value="x", description="review:", layout=widgets.Layout(width="95%", height="90px"))
    out = widgets.Output()
    seen = []

    def show(change=None):
        out.clear_output()
        with out:
            seen.append(box.value)

    box.observe(show, names="value")
    panel = widgets.VBox([box, area, out])
    box.value = "abcd"
    assert seen == ["abcd"]
    assert list(panel.children) == [box, area, out]
    assert area.layout.width == "95%"


def test_tqdm_notebook_bar_builds_with_this_ipywidgets():
    from tqdm.notebook import tqdm

    bar = tqdm(total=3, desc="train", leave=False)
    bar.update(2)
    bar.refresh()  # update() redraws at most every 0.1 s
    progress = [w for w in bar.container.children if isinstance(w, widgets.FloatProgress)]
    assert len(progress) == 1 and progress[0].max == 3 and progress[0].value == 2
    bar.close()
