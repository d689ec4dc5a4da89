"""Installing coursekit the way a chapter's setup cell does in Colab keeps the
torch that is already there.

A fresh virtual environment gets ``torch==2.13.0`` first (Colab ships with
torch). Then the exact ``%pip install ...`` line of chapter 1's setup cell runs
in it, with the git URL replaced by this checkout (the files a commit of it
would hold). Afterwards ``pip check`` passes, torch is the same version with
byte-identical files (its RECORD), and ``import coursekit`` works from the
installed copy. Uses pip's cache; about a minute when the cache is warm.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TORCH = "torch==2.13.0"  # the version CI pins (Makefile); Colab has its own

pytestmark = pytest.mark.slow


def _sru():
    spec = importlib.util.spec_from_file_location("set_repo_url", REPO / "scripts" / "set_repo_url.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


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


def test_colab_setup_cell_install_keeps_torch(tmp_path: Path):
    sru = _sru()
    nb = REPO / "chapters" / "01_seq2seq.ipynb"
    if not nb.is_file():
        pytest.skip("chapters/01_seq2seq.ipynb does not exist yet")
    lines = sru.install_lines(nb)
    assert len(lines) == 1, f"expected one `%pip install \"coursekit @ git+...\"` line in the setup cell, found {lines}"
    line = lines[0]
    # It must only run in Colab: locally the notebook uses the installed package.
    assert "colab" in line["guard"].lower() and line["guard"].startswith("if "), (
        f"the install line should sit under an `if \"google.colab\" in sys.modules:` guard, found {line['guard']!r}"
    )

    # The pip command, as the cell runs it, pointed at this checkout.
    checkout = _checkout_snapshot(tmp_path / "checkout")
    git_req = f"git+{line['url']}@{line['ref']}"
    args = shlex.split(line["args"])
    local = [a.replace(git_req, checkout.as_uri()) for a in args]
    assert local != args, f"could not find {git_req} in {args}"

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
