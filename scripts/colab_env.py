#!/usr/bin/env python3
"""What installing coursekit would change in Colab, without Colab.

``tests/data/colab_pip_freeze.txt`` is Colab's pip freeze. :func:`fake_colab`
makes a virtual environment that looks like Colab to pip: one metadata-only
``NAME-VERSION.dist-info`` (``METADATA`` with the name and version, an empty
``RECORD``) per line, so nothing is downloaded and it takes well under a
second. :func:`dry_run` then runs ``pip install --dry-run --report`` in it for
Python 3.13 (Colab's), and :func:`changes` lists the preinstalled packages
that the install would upgrade or downgrade. pip itself runs on this Python
(3.11 here): ``--python-version 3.13 --only-binary=:all:`` makes it pick what
it would pick for 3.13 (``Requires-Python``, cp313 wheels), while environment
markers are still evaluated for the running Python.

Used by ``tests/test_colab_install.py`` and ``make colab-versions``::

    python scripts/colab_env.py dry-run            # this checkout, as the setup cell installs it
    python scripts/colab_env.py constraints numpy ipywidgets   # Colab's pins, one per line
    python scripts/colab_env.py check pins.txt     # this Python has exactly those versions
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
FREEZE = ROOT / "tests" / "data" / "colab_pip_freeze.txt"
COLAB_PYTHON = "3.13"
# `name==version` or `name @ url`, as pip freeze writes them.
LINE_RE = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*(?P<version>[^\s;]+)|@\s*(?P<url>\S+))")
# Variables that would point pip somewhere else than the environment it is given.
_PIP_ENV_DROP = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_CONSTRAINT", "PIP_REQUIRE_VIRTUALENV", "PIP_TARGET",
                 "PIP_PREFIX", "PIP_USER"}


def canonical(name: str) -> str:
    """A project name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version_from_url(url: str) -> str:
    filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if filename.endswith(".whl"):
        return filename.split("-")[1]  # NAME-VERSION-TAGS.whl
    return re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename).rsplit("-", 1)[1]  # NAME-VERSION.tar.gz


def read_freeze(path: Path = FREEZE) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name as written, version)}`` for every package line of a pip freeze."""
    pkgs = {}
    for lineno, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()  # a comment needs a space before '#' (URLs hold '#sha256=')
        if not line or line.startswith("#"):
            continue
        m = LINE_RE.match(line)
        if not m:
            raise ValueError(f"{path.name}:{lineno}: not `name==version` or `name @ url`: {raw!r}")
        version = m["version"] or _version_from_url(m["url"])
        pkgs[canonical(m["name"])] = (m["name"], version)
    return pkgs


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PIP_ENV_DROP}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def fake_colab(venv: Path, pkgs: dict[str, tuple[str, str]]) -> Path:
    """A venv (no pip in it) whose site-packages holds a metadata-only dist-info per package; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=clean_env())
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    for name, version in pkgs.values():
        write_dist_info(site, name, version)
    return python


def write_dist_info(site: Path, name: str, version: str, files: tuple[str, ...] = ()) -> Path:
    """A metadata-only ``NAME-VERSION.dist-info`` in ``site``: what pip and importlib.metadata
    read to know a package is installed (``files``, if any, are listed in its RECORD)."""
    info = site / f"{canonical(name).replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))
    (info / "INSTALLER").write_text("pip\n")
    return info


def build_wheel(checkout: Path, out: Path) -> Path:
    """A wheel of ``checkout`` (what ``pip install git+URL@TAG`` would build from it), built from a
    copy of its package files so that no build/ or egg-info folder is left in the checkout."""
    src = out / "src-copy"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(checkout / "src", src / "src", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (checkout / name).is_file():
            shutil.copy2(checkout / name, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src.resolve())]
    res = subprocess.run([*cmd[:5], "--no-build-isolation", *cmd[5:]], capture_output=True, text=True, env=clean_env())
    if res.returncode != 0:  # no setuptools here: let pip fetch the build backend
        res = subprocess.run(cmd, capture_output=True, text=True, env=clean_env())
    if res.returncode != 0:
        raise RuntimeError(f"building a wheel of {checkout} failed:\n{res.stderr[-3000:]}")
    (wheel,) = out.glob("coursekit-*.whl")
    return wheel


def dry_run(python: Path, args: list[str], report: Path) -> list[tuple[str, str]]:
    """``pip install --dry-run ARGS`` in the environment of ``python``, as Python 3.13 would
    resolve it; the ``(name, version)`` pairs pip would install."""
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--dry-run", "--report", str(report),
           "--python-version", COLAB_PYTHON, "--only-binary=:all:", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=clean_env())
    if res.returncode != 0:
        raise RuntimeError(f"`pip install --dry-run {' '.join(args)}` failed:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}")
    return [(item["metadata"]["name"], item["metadata"]["version"]) for item in json.loads(report.read_text())["install"]]


def changes(pkgs: dict[str, tuple[str, str]], installs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """``(name, preinstalled version, new version)`` for each preinstalled package the install would replace."""
    out = []
    for name, version in installs:
        key = canonical(name)
        if key in pkgs and pkgs[key][1] != version:
            out.append((pkgs[key][0], pkgs[key][1], version))
    return out


def colab_dry_run(args: list[str], workdir: Path, freeze: Path = FREEZE):
    """Fake Colab in ``workdir``, dry-run ``args`` there: ``(changes, new packages)``."""
    pkgs = read_freeze(freeze)
    python = fake_colab(workdir / "colab-venv", pkgs)
    installs = dry_run(python, args, workdir / "report.json")
    new = [(n, v) for n, v in installs if canonical(n) not in pkgs]
    return changes(pkgs, installs), new


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("constraints", help="print Colab's `name==version` for the named packages")
    c.add_argument("names", nargs="+")
    k = sub.add_parser("check", help="fail unless this Python has exactly the versions a constraints file pins")
    k.add_argument("constraints", type=Path)
    d = sub.add_parser("dry-run", help="what installing a checkout of coursekit would change in Colab")
    d.add_argument("--checkout", type=Path, default=ROOT, help="the coursekit source tree (default: this one)")
    args = ap.parse_args(argv)
    pkgs = read_freeze()
    if args.cmd == "constraints":
        missing = [n for n in args.names if canonical(n) not in pkgs]
        if missing:
            ap.error(f"not in {FREEZE.name}: {missing}")
        for n in args.names:
            print("{}=={}".format(*pkgs[canonical(n)]))
        return 0
    if args.cmd == "check":
        from importlib.metadata import PackageNotFoundError, version

        wrong = []
        for name, (_, want) in read_freeze(args.constraints).items():
            try:
                have = version(name)
            except PackageNotFoundError:
                have = "not installed"
            if have != want:
                wrong.append(f"{name}: {have}, want {want}")
        if wrong:
            print("not Colab's versions: " + "; ".join(wrong), file=sys.stderr)
            return 1
        print(f"Colab's versions ({len(read_freeze(args.constraints))} pinned): ok")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(args.checkout, Path(tmp) / "dist")
        changed, new = colab_dry_run([f"coursekit @ {wheel.as_uri()}"], Path(tmp))
    print("would install (new):", " ".join(f"{n}-{v}" for n, v in new) or "nothing")
    print("would change (preinstalled):", " ".join(f"{n} {a} -> {b}" for n, a, b in changed) or "nothing")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
