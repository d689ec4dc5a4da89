"""Every chapter notebook holds the chapter contract (shared/COURSE.md) as far as
its structure shows it, and every exercise really works in a real kernel.

The contract test reads the .ipynb files; the exercise test runs, in a fresh
Jupyter kernel, the setup cell and then each exercise's stub, check and
solution cells exactly as they are in the notebook: the stub must raise, the
check must reject the stub (``❌ Not yet``) and pass the solution (``✅ Passed``).
nbval (``pytest chapters --nbval-lax``) runs the whole notebooks.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from coursekit.exercises import NOT_YET, PASSED

REPO = Path(__file__).resolve().parent.parent
# The Colab-only install (tests/test_repo_url.py checks the URL and the release tag).
COLAB_INSTALL = re.compile(
    r'^if "google\.colab" in sys\.modules:.*\n(?:(?:[ \t]+.*)?\n)*?[ \t]+%pip install "coursekit @ git\+(?P<url>\S+)@v[\w.]+"',
    re.M,
)
REQUIRED_HEADINGS = ["Learning objectives", "Prerequisites", "Runtime", "Reproduction", "Summary", "Further reading"]
# coursekit.viz functions whose charts stay interactive in the static book
# (Altair parameters / selections) and the bertviz view.
INTERACTIVE = (
    "attention_explorer", "training_curves", "metric_by_length", "show_cross_attention",  # chapters 1-2
    "document_explorer",  # chapter 3
    "temperature_explorer", "show_self_attention",  # chapter 4
    "positional_encoding_explorer", "warmup_explorer",  # chapter 5
    "sampling_explorer",  # chapter 6
    "pattern_gallery", "scaling_chart",  # chapter 7
    "sense_map",  # chapter 8
    "fill_mask_explorer", "similarity_heatmap", "show_bert_attention",  # chapter 9
    "lineage_chart", "compression_chart",  # chapter 10
    "head_overview", "relation_selector",  # chapter 11
    "ring_slider", "digits_grid", "dstar_chart", "ablation_chart",  # chapter 12
    "reliability_explorer", "flip_rate_chart", "penultimate_scatter",  # chapter 13
)


def chapters() -> list[Path]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for part in toc.get("parts", []) for c in part.get("chapters", [])]
    return [REPO / f"{f}.ipynb" for f in files if f.startswith("chapters/")]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def exercises(nb) -> list[tuple[int, int, int]]:
    """(stub, check, solution) cell indices for each exercise, in order."""
    out = []
    for i, cell in enumerate(nb.cells):
        if "exercise" in tags(cell):
            check = next(j for j in range(i + 1, len(nb.cells)) if "exercise-check" in tags(nb.cells[j]))
            solution = next(j for j in range(check + 1, len(nb.cells)) if "solution" in tags(nb.cells[j]))
            out.append((i, check, solution))
    return out


def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (REPO / "book" / "references.bib").read_text(), flags=re.M))


CHAPTERS = chapters()
IDS = [p.stem for p in CHAPTERS]


def test_toc_lists_every_chapter_notebook():
    on_disk = sorted(p.name for p in (REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in CHAPTERS) == on_disk, "_toc.yml and chapters/ disagree"
    assert [p.name for p in CHAPTERS] == sorted(p.name for p in CHAPTERS), "chapters out of order in _toc.yml"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_chapter_contract(path: Path):
    nb = read(path)
    nbformat.validate(nb)
    cells, code = nb.cells, [c for c in nb.cells if c.cell_type == "code"]
    md = "\n".join(c.source for c in cells if c.cell_type == "markdown")

    # No control characters: a "\approx" typed into a non-raw Python string becomes
    # BEL + "pprox", which MathJax then reports as an error in the built page.
    for i, c in enumerate(cells):
        bad = sorted({f"U+{ord(ch):04X}" for ch in c.source if ord(ch) < 32 and ch not in "\n\t"})
        assert not bad, f"{path.name} cell {i}: control characters {bad} in the source"

    # 10. No stored outputs.
    stored = [i for i, c in enumerate(cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not stored, f"{path.name}: cells {stored} have stored outputs; clear them before committing"

    # 1. Title (numbered like the file), objectives, prerequisites, runtime.
    number = int(path.name[:2])
    assert cells[0].cell_type == "markdown" and re.match(rf"# {number}\. \S", cells[0].source), (
        f"{path.name}: the first cell must be the title '# {number}. ...'")
    # A section is a heading or a paragraph that opens with a bold label ("**Runtime.** ...").
    headings = re.findall(r"^#{2,3} (.+)$", md, flags=re.M) + re.findall(r"^\*\*([^*]+)\*\*", md, flags=re.M)
    for want in REQUIRED_HEADINGS:
        assert any(h.startswith(want) for h in headings), f"{path.name}: no '{want}' section (have {headings})"
    runtime = md[md.index("Runtime"):][:800]
    assert re.search(r"\d+\s*s\b", runtime) and "CPU" in runtime, f"{path.name}: the runtime estimate gives no CPU seconds"

    # 2. The setup cell: first code cell, installs coursekit only in Colab, picks the device, seeds.
    setup = code[0]
    assert "setup" in tags(setup), f"{path.name}: the first code cell must be tagged 'setup'"
    assert COLAB_INSTALL.search(setup.source), f"{path.name}: the setup cell lacks the Colab-only install line"
    for call in ("get_device(", "choose_scale(", "seed_everything("):
        assert call in setup.source, f"{path.name}: the setup cell does not call {call}...)"

    # 3. Math and citations that resolve.
    assert "$" in md, f"{path.name}: no math"
    cited = {k.strip() for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", md) for k in group.split(",")}
    assert len(cited) >= 3, f"{path.name}: cites {sorted(cited)}; a chapter cites its papers"
    missing = cited - bib_keys()
    assert not missing, f"{path.name}: cited but not in book/references.bib: {sorted(missing)}"

    # 4. Code uses coursekit; the module is shown to the reader.
    assert sum("from coursekit" in c.source or "import coursekit" in c.source for c in code) >= 3
    # 6. An interactive figure.
    assert any(f in c.source for c in code for f in INTERACTIVE), f"{path.name}: no interactive figure"

    # 7. At least three exercises, each stub -> check -> hidden solution.
    found = exercises(nb)
    assert len(found) >= 3, f"{path.name}: {len(found)} exercises, the contract asks for 3"
    for stub, check, solution in found:
        s, c, sol = cells[stub], cells[check], cells[solution]
        assert "raises-exception" in tags(s), f"{path.name} cell {stub}: a stub must be tagged raises-exception"
        assert "raise NotImplementedError" in s.source and "YOUR CODE HERE" in s.source
        name = re.search(r"def (my_\w+)\(", s.source).group(1)
        # The stub cell calls the function, so running it really raises.
        assert re.search(rf"^{name}\(", s.source, flags=re.M), f"{path.name}: stub {name} is never called in its cell"
        assert re.search(rf"check_\w+\({name}\)", c.source), f"{path.name}: check cell {check} does not check {name}"
        assert {"hide-input", "solution"} <= set(tags(sol)), f"{path.name} cell {solution}: solution tags"
        assert sol.metadata.get("cellView") == "form" and sol.source.startswith("#@title Solution"), (
            f"{path.name} cell {solution}: a solution is collapsed in Colab (#@title Solution, cellView form)")
        assert f"def {name}(" in sol.source and re.search(rf"check_\w+\({name}\)", sol.source)
    # No other cell may be expected to fail.
    raising = [i for i, c in enumerate(cells) if "raises-exception" in tags(c)]
    assert raising == [s for s, _, _ in found], f"{path.name}: raises-exception on non-stub cells {raising}"

    # 8. GPU-optional: the one knob.
    assert any("at_scale(" in c.source for c in code), f"{path.name}: no at_scale(...) configuration"
    # 9. Further reading has links.
    further = md[md.index("Further reading"):]
    assert re.search(r"https?://", further), f"{path.name}: further reading has no links"
    # 11. The backing module is shown.
    assert "{literalinclude} ../src/coursekit/" in md, f"{path.name}: no literalinclude of its coursekit module"


def _text(outputs) -> str:
    parts = []
    for out in outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_exercises_in_a_kernel(path: Path):
    """Stub raises; its check says Not yet; the solution's own check says Passed."""
    from nbclient import NotebookClient

    nb = read(path)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    cells = [setup]
    roles = ["setup"]
    for stub, check, solution in exercises(nb):
        cells += [nb.cells[stub], nb.cells[check], nb.cells[solution]]
        roles += ["stub", "check", "solution"]
    mini = nbformat.v4.new_notebook(metadata=nb.metadata)
    mini.cells = [nbformat.from_dict(dict(c, outputs=[], execution_count=None)) for c in cells]
    NotebookClient(mini, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()

    for cell, role in zip(mini.cells, roles):
        text, errors = _text(cell.outputs), [o for o in cell.outputs if o.output_type == "error"]
        head = cell.source.splitlines()[0]
        if role == "stub":
            assert [e.ename for e in errors] == ["NotImplementedError"], f"stub {head!r} did not raise: {text}"
        else:
            assert not errors, f"{role} cell {head!r} failed:\n{text}"
        if role == "check":
            assert text.lstrip().startswith(NOT_YET), f"the check after stub accepted it or said: {text}"
        if role == "solution":
            assert text.lstrip().startswith(PASSED), f"the solution's check did not pass: {text}"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_literalincludes_point_at_existing_files_and_objects(path: Path):
    """A moved or renamed module must not leave a chapter including a file that is gone
    (the book build would fail with a warning only after minutes of execution)."""
    import ast

    for cell in read(path).cells:
        if cell.cell_type != "markdown":
            continue
        for target, obj in re.findall(r"```\{literalinclude\}\s+(\S+)\s*\n(?::pyobject:\s*(\S+))?", cell.source):
            file = (path.parent / target).resolve()
            assert file.is_file(), f"{path.name}: literalinclude {target} does not exist"
            if obj:
                tree = ast.parse(file.read_text())
                names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
                names |= {f"{c.name}.{f.name}" for c in ast.walk(tree) if isinstance(c, ast.ClassDef)
                          for f in c.body if isinstance(f, ast.FunctionDef)}
                assert obj in names, f"{path.name}: {target} has no {obj}"
