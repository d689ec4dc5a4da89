"""Shared pytest setup: markers, and the built book for the browser tests.

``make test`` builds the book before pytest starts, so ``built_book`` normally
just returns ``_build/html``. Run alone (``pytest -m book``), the fixture builds
it first with the same commands as ``make book``, under a file lock so that two
xdist workers never build at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--book-root",
        default=str(REPO),
        help="folder holding _config.yml, _toc.yml and _build/html for the book tests "
        "(default: this repository)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "book: needs the built book (_build/html) and headless Chromium"
    )
    config.addinivalue_line(
        "markers", "slow: takes minutes (creates a fresh virtual environment and installs into it)"
    )


# nbval waits at most ``output_timeout`` seconds (hard-coded to 5 in nbval 0.11)
# for each output message after a cell's execute reply. On the busy 2-core CI
# machine (two xdist workers, each with a kernel) the last messages of a long
# training cell once came later than that, and CI failed a cell that had run
# fine. The cell's own time limit (--nbval-cell-timeout) is unaffected.
NBVAL_OUTPUT_TIMEOUT_S = 120


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's IPyNbCell
            item.output_timeout = max(item.output_timeout, NBVAL_OUTPUT_TIMEOUT_S)


def build_book(root: Path) -> None:
    """What ``make book`` does once .venv exists: vendor the JS, then build with -W."""
    bindir = Path(sys.executable).parent
    jb = bindir / "jupyter-book"
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, str(REPO / "scripts" / "vendor_assets.py"), "--root", str(root)], cwd=root, check=True, env=env)
    subprocess.run([str(jb), "build", "-W", "-n", "--keep-going", "."], cwd=root, check=True, env=env)


@pytest.fixture(scope="session")
def book_root(pytestconfig: pytest.Config) -> Path:
    return Path(pytestconfig.getoption("--book-root")).resolve()


@pytest.fixture(scope="session")
def built_book(book_root: Path) -> Path:
    """``_build/html`` of the book, built first if it is missing."""
    from filelock import FileLock  # a dependency of torch

    html = book_root / "_build" / "html"
    if (html / "index.html").is_file():
        return html
    (book_root / "_build").mkdir(exist_ok=True)
    with FileLock(str(book_root / "_build" / ".book-build.lock")):
        if not (html / "index.html").is_file():  # another worker may have built it meanwhile
            build_book(book_root)
    assert (html / "index.html").is_file(), f"the book build wrote no {html / 'index.html'}"
    return html


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one intra-op thread is fastest, and two threads per xdist
    worker on a busy 2-core machine make each step ten times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
