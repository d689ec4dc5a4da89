#!/usr/bin/env python3
"""Set the course's repository URL everywhere it is written.

``_config.yml`` (``repository.url`` and ``repository.branch``) is the single
source of truth. The same URL appears in:

- ``pyproject.toml``: ``[project.urls] Repository``;
- every chapter's setup cell: ``%pip install "coursekit @ git+URL@vVERSION"``
  (what Colab installs), where ``vVERSION`` is the release tag ``v`` +
  ``coursekit.__version__`` (``src/coursekit/__init__.py``), so a learner gets
  the release the notebook was written for, not whatever ``main`` holds today;
- Colab links written into notebooks or pages
  (``https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/...``);
  the launch buttons themselves are built from ``_config.yml``.

Usage, when the course is published somewhere new, and after bumping
``__version__`` for a release (then tag that commit ``vVERSION``; see the
README's publishing checklist)::

    python scripts/set_repo_url.py https://github.com/NEW-OWNER/NEW-REPO [--branch main]

``tests/test_repo_url.py`` checks that all of them agree. The helpers here
(``config_repo``, ``install_lines``) are what the tests use to read them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com"

GITHUB_RE = re.compile(r"^https://github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")
# The install line of a setup cell, e.g.
#   %pip install "coursekit @ git+https://github.com/OWNER/REPO@v0.1.0"
INSTALL_RE = re.compile(r"^(?P<indent>[ \t]*)[%!]pip install (?P<args>.*)$", re.M)
GIT_REQ_RE = re.compile(
    r"coursekit\s*@\s*git\+(?P<url>https://[^\s\"'@]+?)(?:\.git)?@(?P<ref>[A-Za-z0-9_./-]+)"
)
CONFIG_URL_RE = re.compile(r"^(?P<key>repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*)(?P<url>\S+)", re.M)
CONFIG_BRANCH_RE = re.compile(r"^(?P<key>repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+branch:[ \t]*)(?P<branch>\S+)", re.M)
PYPROJECT_RE = re.compile(r'^(?P<key>Repository\s*=\s*")(?P<url>[^"]+)(?P<end>")', re.M)
VERSION_RE = re.compile(r'^__version__\s*=\s*["\'](?P<version>[^"\']+)["\']', re.M)


def normalise(url: str) -> str:
    m = GITHUB_RE.match(url.strip())
    if not m:
        raise ValueError(f"not a GitHub repository URL (https://github.com/OWNER/REPO): {url!r}")
    return f"https://github.com/{m['owner']}/{m['repo']}"


def config_repo(root: Path = ROOT) -> tuple[str, str]:
    """``(url, branch)`` from ``_config.yml``."""
    import yaml

    cfg = yaml.safe_load((root / "_config.yml").read_text())
    repo = cfg.get("repository") or {}
    return repo["url"], str(repo.get("branch", "main"))


def pyproject_url(root: Path = ROOT) -> str:
    import tomllib

    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["urls"]["Repository"]


def package_version(root: Path = ROOT) -> str:
    """``coursekit.__version__``, read from the source (nothing is imported)."""
    m = VERSION_RE.search((root / "src" / "coursekit" / "__init__.py").read_text())
    if not m:
        raise SystemExit(f"{root}/src/coursekit/__init__.py: no __version__ = \"...\"")
    return m["version"]


def release_tag(root: Path = ROOT) -> str:
    """The git tag the chapters install coursekit from: ``v`` + ``coursekit.__version__``."""
    return "v" + package_version(root)


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def setup_cell(nb: dict) -> dict | None:
    """The cell tagged ``setup``, else the first code cell."""
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    for c in code:
        if "setup" in c.get("metadata", {}).get("tags", []):
            return c
    return code[0] if code else None


def install_lines(path: Path) -> list[dict]:
    """The ``%pip install`` lines of a notebook's setup cell that install
    coursekit from git: dicts with ``line``, ``args``, ``url``, ``ref`` and
    ``guard`` (the nearest less-indented line above it, e.g. the
    ``if "google.colab" in sys.modules:`` that keeps it Colab-only)."""
    nb = json.loads(path.read_text())
    cell = setup_cell(nb)
    if cell is None:
        return []
    src = cell_source(cell)
    lines = src.splitlines()
    found = []
    for m in INSTALL_RE.finditer(src):
        req = GIT_REQ_RE.search(m["args"])
        if not req:
            continue
        lineno = src[: m.start()].count("\n")
        indent = len(m["indent"].expandtabs())
        guard = ""
        for prev in reversed(lines[:lineno]):
            if prev.strip() and len(prev) - len(prev.lstrip()) < indent:
                guard = prev.strip()
                break
        found.append({"line": m.group(0).strip(), "args": m["args"], "url": req["url"],
                      "ref": req["ref"], "guard": guard})
    return found


def colab_prefix(url: str, branch: str) -> str:
    m = GITHUB_RE.match(url)
    return f"{COLAB}/github/{m['owner']}/{m['repo']}/blob/{branch}/"


def rewrite(root: Path, new_url: str, new_branch: str | None = None) -> list[Path]:
    """Point every file at ``new_url`` (and ``new_branch``), and every install line at the
    release tag; return the files changed."""
    new_url = normalise(new_url)
    old_url, old_branch = config_repo(root)
    old_url = normalise(old_url)
    branch = new_branch or old_branch
    old_gh = GITHUB_RE.match(old_url)
    new_gh = GITHUB_RE.match(new_url)
    old_colab = f"{COLAB}/github/{old_gh['owner']}/{old_gh['repo']}/blob/{old_branch}/"
    new_colab = f"{COLAB}/github/{new_gh['owner']}/{new_gh['repo']}/blob/{branch}/"
    changed = []

    def save(path: Path, text: str) -> None:
        if text != path.read_text():
            path.write_text(text)
            changed.append(path)

    # _config.yml: edit the text, so comments and layout survive.
    cfg = root / "_config.yml"
    text = cfg.read_text()
    text, n = CONFIG_URL_RE.subn(lambda m: m["key"] + new_url, text, count=1)
    if n != 1:
        raise SystemExit(f"{cfg}: no repository.url to rewrite")
    text, n = CONFIG_BRANCH_RE.subn(lambda m: m["key"] + branch, text, count=1)
    if n != 1:
        text = CONFIG_URL_RE.sub(lambda m: m.group(0) + f"\n  branch: {branch}", text, count=1)
    save(cfg, text)

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text, n = PYPROJECT_RE.subn(lambda m: m["key"] + new_url + m["end"], pyproject.read_text())
        if n == 0:
            raise SystemExit(f"{pyproject}: no [project.urls] Repository to rewrite")
        save(pyproject, text)

    # Notebooks and pages: plain text replacement (keeps the JSON formatting).
    # The setup cell's git requirement is rewritten whatever URL and ref it held, so a
    # notebook that had drifted (or an older release's tag) is brought back in line.
    tag = release_tag(root)

    def fix_git(m: re.Match) -> str:
        return m.group(0).replace(f"git+{m['url']}", f"git+{new_url}", 1).replace(f"@{m['ref']}", f"@{tag}")

    for path in chapter_notebooks(root) + sorted((root / "book").glob("*.md")) + [root / "README.md"]:
        if not path.is_file():
            continue
        text = path.read_text()
        text = GIT_REQ_RE.sub(fix_git, text)
        text = text.replace(old_colab, new_colab)
        save(path, text)
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Set the course's repository URL everywhere.")
    ap.add_argument("url", help="https://github.com/OWNER/REPO")
    ap.add_argument("--branch", help="branch for the Colab links (default: keep); the install line uses the tag")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        changed = rewrite(args.root, args.url, args.branch)
    except ValueError as err:
        ap.error(str(err))
    url, branch = config_repo(args.root)
    for path in changed:
        print(f"updated {path.relative_to(args.root)}")
    print(f"repository: {url} (branch {branch}, install tag {release_tag(args.root)}); {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
