"""The Colab-only part of every chapter's setup cell, run outside Colab.

In Colab the cell installs coursekit with a visible ``%pip install`` (no
``-q``: pip's output, and Colab's own restart prompt, stay on the page). If
that changed a package the runtime had already imported (Colab imports numpy
and ipywidgets before the first cell runs), the old version is still in
memory, so the cell says which packages changed and restarts the runtime,
telling the learner to run the cell again.

Here the ``if "google.colab" in sys.modules:`` block runs in a subprocess with
a stand-in ``google.colab`` module and a stand-in ``%pip`` that either changes
nothing or "upgrades" an imported package (a metadata-only distribution on a
temporary path); the upgrade must end the process with SIGKILL after the
message. Takes about two seconds.
"""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((REPO / "chapters").glob("*.ipynb"))

# Runs in the subprocess: a site folder with `fakepkg` 1.0 (imported), a fake Colab, and a `%pip` that
# records its arguments and, when asked to, replaces fakepkg 1.0 by 2.0 on disk as pip would.
HARNESS = textwrap.dedent(
    """
    import pathlib, runpy, shutil, sys, types
    site = pathlib.Path(sys.argv[1])
    upgrade = sys.argv[2] == "upgrade"
    write_dist_info = runpy.run_path(sys.argv[4])["write_dist_info"]  # scripts/colab_env.py
    sys.path.insert(0, str(site))
    (site / "fakepkg").mkdir()
    (site / "fakepkg" / "__init__.py").write_text("")
    old = write_dist_info(site, "fakepkg", "1.0", files=("fakepkg/__init__.py",))
    import fakepkg  # what Colab has imported before the cell runs

    class Shell:
        def run_line_magic(self, magic, line):
            print(f"MAGIC %{magic} {line}", flush=True)
            if upgrade:
                shutil.rmtree(old)
                write_dist_info(site, "fakepkg", "2.0", files=("fakepkg/__init__.py",))

    get_ipython = lambda: Shell()
    sys.modules["google"] = types.ModuleType("google")
    sys.modules["google.colab"] = types.ModuleType("google.colab")
    exec(compile(open(sys.argv[3]).read(), "setup-cell", "exec"))
    print("CELL DONE", flush=True)
    """
)


def setup_source(path: Path) -> str:
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "setup" in cell["metadata"].get("tags", []), f"{path.name}: the first code cell is not tagged setup"
    return "".join(cell["source"])


def colab_block(source: str) -> str:
    """The cell's ``import sys`` and its ``if "google.colab" in sys.modules:`` block, as the
    Python IPython runs (``%pip`` becomes ``get_ipython().run_line_magic("pip", ...)``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    blocks = [n for n in tree.body if isinstance(n, ast.If) and "google.colab" in ast.unparse(n.test)]
    assert len(blocks) == 1, "expected one `if \"google.colab\" in sys.modules:` block in the setup cell"
    return ast.unparse(ast.Module(body=[ast.Import(names=[ast.alias("sys")]), blocks[0]], type_ignores=[]))


def run_block(tmp_path: Path, mode: str) -> subprocess.CompletedProcess:
    (tmp_path / "site").mkdir()
    code = tmp_path / "cell.py"
    code.write_text(colab_block(setup_source(CHAPTERS[0])))
    colab_env = REPO / "scripts" / "colab_env.py"
    return subprocess.run([sys.executable, "-c", HARNESS, str(tmp_path / "site"), mode, str(code), str(colab_env)],
                          capture_output=True, text=True, timeout=60)


def test_every_chapter_has_the_same_colab_block():
    assert CHAPTERS, "no chapters/*.ipynb"
    blocks = {path.name: colab_block(setup_source(path)) for path in CHAPTERS}
    assert len(set(blocks.values())) == 1, f"the setup cells' Colab blocks differ: {sorted(blocks)}"


def test_install_is_visible_and_nothing_restarts_when_nothing_changed(tmp_path: Path):
    res = run_block(tmp_path, "keep")
    assert res.returncode == 0, res.stderr
    (magic,) = [line for line in res.stdout.splitlines() if line.startswith("MAGIC")]
    assert magic.startswith('MAGIC %pip install "coursekit @ git+https://github.com/'), magic
    assert not {"-q", "--quiet", "-qq"} & set(magic.split()), f"the install hides pip's output: {magic}"
    assert "CELL DONE" in res.stdout and "Restarting" not in res.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_restarts_when_an_imported_package_changed(tmp_path: Path):
    res = run_block(tmp_path, "upgrade")
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stdout, res.stderr)
    assert "CELL DONE" not in res.stdout
    message = res.stdout.split("\n", 1)[1]  # after the MAGIC line
    assert "fakepkg" in message and "run this cell again" in message, message
