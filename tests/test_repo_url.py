"""One repository URL: _config.yml is the source of truth, and pyproject.toml,
every chapter's Colab install line and the Colab links agree with it. The
install line names the release tag, ``v`` + ``coursekit.__version__``.
``scripts/set_repo_url.py NEW_URL`` rewrites them all."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_script():
    spec = importlib.util.spec_from_file_location("set_repo_url", REPO / "scripts" / "set_repo_url.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sru = _load_script()


def inconsistencies(root: Path) -> list[str]:
    """Every place whose repository URL disagrees with _config.yml."""
    url, branch = sru.config_repo(root)
    problems = []
    try:
        url = sru.normalise(url)
    except ValueError as err:
        return [f"_config.yml repository.url: {err}"]
    if sru.normalise(sru.pyproject_url(root)) != url:
        problems.append(f"pyproject.toml [project.urls] Repository = {sru.pyproject_url(root)}, _config.yml says {url}")
    colab_prefix = sru.colab_prefix(url, branch)
    tag = sru.release_tag(root)
    for nb in sru.chapter_notebooks(root):
        lines = sru.install_lines(nb)
        if not lines:
            problems.append(f"{nb.name}: no `%pip install \"coursekit @ git+URL@TAG\"` line in the setup cell")
        for ln in lines:
            if ln["url"] != url or ln["ref"] != tag:
                problems.append(f"{nb.name}: installs from {ln['url']}@{ln['ref']}, expected {url}@{tag} "
                                f"(_config.yml's URL, the tag of coursekit {tag[1:]})")
        text = nb.read_text()
        for link in re.findall(r"https://colab\.research\.google\.com/github/[^\s\"')\]]+", text):
            if not link.startswith(colab_prefix):
                problems.append(f"{nb.name}: Colab link {link} does not start with {colab_prefix}")
            elif not (root / link[len(colab_prefix):]).is_file():
                problems.append(f"{nb.name}: Colab link {link} names a file that does not exist")
    return problems


def test_config_url_is_a_github_repository():
    url, branch = sru.config_repo(REPO)
    assert sru.normalise(url) == url, f"_config.yml repository.url should be written as https://github.com/OWNER/REPO, got {url}"
    assert branch, "_config.yml repository.branch is empty"


def test_colab_launch_buttons_configured():
    import yaml

    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    assert cfg["launch_buttons"]["colab_url"].rstrip("/") == sru.COLAB
    # The launch button links chapters/NN.ipynb under the repository's root.
    assert not (cfg["repository"].get("path_to_book") or "").strip("/")
    # ... and the launch buttons are on (sphinx-book-theme shows them when both are set).
    assert cfg["repository"]["url"] and cfg["launch_buttons"]["colab_url"]


def test_every_url_agrees_with_config():
    assert sru.chapter_notebooks(REPO), "no chapters/*.ipynb"
    problems = inconsistencies(REPO)
    assert not problems, "fix with `python scripts/set_repo_url.py URL`:\n" + "\n".join(problems)


def test_install_line_names_the_release_tag():
    """Colab installs the tagged release the notebooks were written for, not ``main``."""
    import coursekit

    assert sru.package_version(REPO) == coursekit.__version__
    refs = {nb.name: [ln["ref"] for ln in sru.install_lines(nb)] for nb in sru.chapter_notebooks(REPO)}
    assert refs and all(r == ["v" + coursekit.__version__] for r in refs.values()), (
        f"the setup cells should install coursekit @ v{coursekit.__version__}, found {refs}; "
        "fix with `python scripts/set_repo_url.py URL`")


def test_install_lines_are_identical_across_chapters():
    lines = {nb.name: [ln["line"] for ln in sru.install_lines(nb)] for nb in sru.chapter_notebooks(REPO)}
    distinct = {tuple(v) for v in lines.values()}
    assert len(distinct) == 1, f"chapters install coursekit differently: {lines}"


def _copy_course(dst: Path) -> Path:
    for name in ("_config.yml", "pyproject.toml", "README.md", "src/coursekit/__init__.py"):
        if (REPO / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, dst / name)
    (dst / "chapters").mkdir()
    for nb in sru.chapter_notebooks(REPO):
        shutil.copy(nb, dst / "chapters" / nb.name)
    (dst / "book").mkdir()
    for md in (REPO / "book").glob("*.md"):
        shutil.copy(md, dst / "book" / md.name)
    return dst


def test_set_repo_url_rewrites_everything(tmp_path: Path):
    root = _copy_course(tmp_path)
    new = "https://github.com/someone-else/attention-book"
    before = {p: p.read_text() for p in root.rglob("*") if p.is_file()}
    res = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "set_repo_url.py"), new + ".git", "--branch", "published",
         "--root", str(root)],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stderr
    assert sru.config_repo(root) == (new, "published")
    assert sru.pyproject_url(root) == new
    assert not inconsistencies(root), inconsistencies(root)
    for nb in sru.chapter_notebooks(root):
        json.loads(nb.read_text())  # still valid JSON
        lines = sru.install_lines(nb)
        assert lines and all(f"git+{new}@v{sru.package_version(REPO)}" in ln["line"] for ln in lines), lines
    # Only the URL and branch changed: same number of lines in every file, and
    # the comments of _config.yml survive.
    for path, old in before.items():
        assert len(path.read_text().splitlines()) == len(old.splitlines()), path
    assert "single source of truth" in (root / "_config.yml").read_text()
    # Running it again changes nothing.
    again = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "set_repo_url.py"), new, "--root", str(root)],
        capture_output=True, text=True,
    )
    assert again.returncode == 0 and "0 file(s) changed" in again.stdout, again.stdout + again.stderr


def test_set_repo_url_rejects_non_github_urls(tmp_path: Path):
    root = _copy_course(tmp_path)
    res = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "set_repo_url.py"), "https://gitlab.com/a/b", "--root", str(root)],
        capture_output=True, text=True,
    )
    assert res.returncode != 0 and "GitHub" in res.stderr
    assert (root / "_config.yml").read_text() == (REPO / "_config.yml").read_text()


def test_set_repo_url_moves_the_install_lines_to_a_new_release(tmp_path: Path):
    root = _copy_course(tmp_path)
    init = root / "src" / "coursekit" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{sru.package_version(root)}"', '"9.8.7"'))
    url, _ = sru.config_repo(root)
    res = subprocess.run([sys.executable, str(REPO / "scripts" / "set_repo_url.py"), url, "--root", str(root)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "install tag v9.8.7" in res.stdout
    for nb in sru.chapter_notebooks(root):
        assert [ln["ref"] for ln in sru.install_lines(nb)] == ["v9.8.7"], nb.name
    assert not inconsistencies(root), inconsistencies(root)


@pytest.mark.parametrize(
    "line, url, ref",
    [
        ('%pip install -q "coursekit @ git+https://github.com/a/b@main"', "https://github.com/a/b", "main"),
        ('%pip install "coursekit @ git+https://github.com/a/b@v0.1.0"', "https://github.com/a/b", "v0.1.0"),
        ("!pip install 'coursekit @ git+https://github.com/a/b.git@v1.2'", "https://github.com/a/b", "v1.2"),
    ],
)
def test_install_line_parser(tmp_path: Path, line: str, url: str, ref: str):
    src = f'import sys\nif "google.colab" in sys.modules:\n    {line}\nimport torch\n'
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["setup"]}, "source": src, "outputs": []}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    (found,) = sru.install_lines(path)
    assert (found["url"], found["ref"]) == (url, ref)
    assert found["guard"] == 'if "google.colab" in sys.modules:'
