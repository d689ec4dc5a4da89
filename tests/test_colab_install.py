"""Installing coursekit the way a chapter's setup cell does in Colab changes none
of the packages Colab preinstalls.

- ``test_colab_setup_cell_changes_no_preinstalled_package``: a faithful Colab.
  ``tests/data/colab_pip_freeze.txt`` is Colab's pip freeze; a fresh virtual
  environment gets one metadata-only ``NAME-VERSION.dist-info`` per line, so pip
  sees Colab's packages without any of them being installed (well under a
  second). The setup cell's exact ``%pip install`` arguments, with the git
  requirement pointed at a wheel of this checkout, then run as ``pip install
  --dry-run --report`` for Python 3.13 (Colab's). Any preinstalled package that
  would be upgraded or downgraded fails the test: ``ipywidgets>=8.0`` did that
  (7.7.1 -> 8.x), and Colab's front end then shows no widgets and no tqdm bars.
  New packages (bertviz, boto3, ...) are fine. About 5 s with pip's cache warm.
- ``test_colab_setup_cell_install_keeps_torch``: a real install on top of
  ``torch==2.13.0`` (CI's; Colab ships with torch). Afterwards ``pip check``
  passes, torch is the same version with byte-identical files (its RECORD), and
  ``import coursekit`` works from the installed copy. About a minute when pip's
  cache is warm.

The helpers live in ``scripts/colab_env.py`` (``python scripts/colab_env.py
dry-run`` prints what an install of this checkout would change).
"""

from __future__ import annotations

import hashlib
import importlib.util
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # the version CI pins (Makefile); Colab has its own

pytestmark = pytest.mark.slow


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _sru():
    return _script("set_repo_url")


def _setup_cell_install(nb: Path) -> dict:
    """The one Colab-only ``%pip install "coursekit @ git+..."`` line of a chapter's setup cell."""
    lines = _sru().install_lines(nb)
    assert len(lines) == 1, f"expected one `%pip install \"coursekit @ git+...\"` line in the setup cell, found {lines}"
    line = lines[0]
    # It must only run in Colab: locally the notebook uses the installed package.
    assert "colab" in line["guard"].lower() and line["guard"].startswith("if "), (
        f"the install line should sit under an `if \"google.colab\" in sys.modules:` guard, found {line['guard']!r}"
    )
    return line


def _pointed_at(line: dict, target: str) -> list[str]:
    """The install line's pip arguments with its git requirement replaced by ``target``."""
    git_req = f"git+{line['url']}@{line['ref']}"
    args = shlex.split(line["args"])
    local = [a.replace(git_req, target) for a in args]
    assert local != args, f"could not find {git_req} in {args}"
    return local


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=_script("colab_env").clean_env(), **kw)


def _checkout_snapshot(dst: Path) -> Path:
    """The files a clone of this checkout would hold (tracked + untracked, not ignored)."""
    res = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, text=True,
    )
    if res.returncode == 0 and res.stdout:
        names = [n for n in res.stdout.split("\0") if n]
    else:  # not a git checkout: the package's own files
        names = [str(p.relative_to(REPO)) for p in [REPO / "pyproject.toml", REPO / "README.md", *(REPO / "src").rglob("*")]]
    for name in names:
        src = REPO / name
        if src.is_file() and not name.endswith(".ipynb") and "__pycache__" not in name:
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    return dst


def _torch_fingerprint(py: Path) -> tuple[str, str]:
    code = (
        "import importlib.metadata as md, hashlib;"
        "d = md.distribution('torch');"
        "print(d.version);"
        "print(hashlib.sha256(d.read_text('RECORD').encode()).hexdigest())"
    )
    res = _run([str(py), "-c", code])
    assert res.returncode == 0, res.stderr
    version, record = res.stdout.split()
    return version, record


def test_colab_setup_cell_changes_no_preinstalled_package(tmp_path: Path):
    colab = _script("colab_env")
    nb = REPO / "chapters" / "01_seq2seq.ipynb"
    line = _setup_cell_install(nb)
    quiet = [a for a in shlex.split(line["args"]) if a in ("-q", "--quiet", "-qq", "-qqq")]
    assert not quiet, f"{nb.name}: `%pip install {' '.join(quiet)}` hides pip's output and Colab's restart prompt"

    wheel = colab.build_wheel(_checkout_snapshot(tmp_path / "checkout"), tmp_path / "dist")
    changed, new = colab.colab_dry_run(_pointed_at(line, wheel.as_uri()), tmp_path)
    assert any(name == "coursekit" for name, _ in new), new
    assert not changed, (
        "the setup cell's install would replace packages Colab preinstalls (tests/data/colab_pip_freeze.txt): "
        + ", ".join(f"{name} {old} -> {v}" for name, old, v in changed)
        + ". Lower the bound in pyproject.toml to one Colab's version meets (or make the dependency optional)."
    )


def test_colab_setup_cell_install_keeps_torch(tmp_path: Path):
    nb = REPO / "chapters" / "01_seq2seq.ipynb"
    line = _setup_cell_install(nb)

    # The pip command, as the cell runs it, pointed at this checkout.
    checkout = _checkout_snapshot(tmp_path / "checkout")
    local = _pointed_at(line, checkout.as_uri())

    venv = tmp_path / "venv"
    res = _run([sys.executable, "-m", "venv", str(venv)])
    assert res.returncode == 0, res.stderr
    py = venv / "bin" / "python"
    res = _run([str(py), "-m", "pip", "install", "-q", TORCH])
    assert res.returncode == 0, f"installing {TORCH} failed:\n{res.stderr[-3000:]}"
    torch_before = _torch_fingerprint(py)

    res = _run([str(py), "-m", "pip", "install", *local], cwd=tmp_path)
    assert res.returncode == 0, f"`pip install {' '.join(local)}` failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"

    assert _torch_fingerprint(py) == torch_before, "installing coursekit replaced torch"
    check = _run([str(py), "-m", "pip", "check"])
    assert check.returncode == 0, f"pip check:\n{check.stdout}{check.stderr}"
    imp = _run([str(py), "-c", "import coursekit, coursekit.utils, torch; print(coursekit.__file__); print(torch.__version__)"],
               cwd=tmp_path)
    assert imp.returncode == 0, imp.stderr
    where = Path(imp.stdout.split()[0])
    assert venv in where.parents, f"coursekit imported from {where}, not from the environment"
    assert imp.stdout.split()[1].startswith(torch_before[0].split("+")[0])
