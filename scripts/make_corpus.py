"""Make the frozen English corpus coursekit ships: the standard library's docstrings.

Run at development time only (the snapshot is committed and shipped in the package,
because docstrings differ between Python versions)::

    .venv/bin/python scripts/make_corpus.py            # writes src/coursekit/corpora/
    .venv/bin/python scripts/make_corpus.py --check    # rebuilds in memory, compares

What it does, in order:

1. Lists the standard library: ``sys.stdlib_module_names`` plus the submodules of
   its packages (``pkgutil.walk_packages``), skipping tests, GUI and demo
   packages, modules with side effects at import (``this`` prints, ``antigravity``
   opens a browser) and private ``_modules`` (C accelerators whose docstrings repeat
   the public ones).
2. Imports each (stdout silenced, warnings ignored, failures skipped) and collects
   the docstrings of the module, of the classes and functions it defines (their
   ``__module__`` is the module) and of the methods those classes define.
3. Cleans each: ``inspect.cleandoc`` (dedent), doctest examples dropped (a ``>>>``
   line, its ``...`` continuations and its output up to the next blank line),
   whitespace inside a paragraph collapsed to single spaces, paragraphs joined by
   one newline; documents under ``MIN_CHARS`` characters or with fewer than
   ``MIN_WORDS`` words dropped; exact duplicates dropped (first kept).
4. Orders documents by (module, qualified name) and writes them, separated by a
   blank line, to ``stdlib_docstrings.txt.gz`` (gzip mtime 0, so the bytes are
   reproducible) with a JSON sidecar recording the Python version, counts and date.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gzip
import hashlib
import importlib
import inspect
import io
import json
import pkgutil
import re
import sys
import warnings
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "coursekit" / "corpora"
TEXT_NAME = "stdlib_docstrings.txt.gz"
META_NAME = "stdlib_docstrings.json"

MIN_CHARS = 80  # one-line docstrings ("Return self.") teach a language model little
MIN_WORDS = 12
MAX_CHARS = 6000  # a handful of module docstrings are whole manuals; keep their first part

SKIP_TOP = {
    "__main__", "this", "antigravity", "idlelib", "tkinter", "turtle", "turtledemo",
    "test", "lib2to3", "ensurepip", "pydoc_data", "msilib", "winreg", "winsound",
    "_winapi", "msvcrt", "nt", "webbrowser", "pty", "tty", "readline", "curses",
    "sre_compile", "sre_constants", "sre_parse",  # deprecated aliases of re._*
}
SKIP_PART = {"test", "tests", "idle_test", "__main__", "_test", "testing"}


def stdlib_modules() -> list[str]:
    """Names of the standard library's public modules and submodules, sorted."""
    names: set[str] = set()
    for top in sorted(sys.stdlib_module_names):
        if top in SKIP_TOP or top.startswith("_"):
            continue
        mod = _import(top)
        if mod is None:
            continue
        names.add(top)
        path = getattr(mod, "__path__", None)
        if path is None:
            continue
        for info in pkgutil.walk_packages(path, prefix=top + ".", onerror=lambda name: None):
            parts = info.name.split(".")
            if any(p in SKIP_PART or p.startswith("_") for p in parts[1:]):
                continue
            names.add(info.name)
    return sorted(names)


def _import(name: str):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            return importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - any failure (ImportError, SystemExit) means: skip it
            return None


def raw_docstrings(modname: str) -> list[tuple[str, str, str]]:
    """``(module, qualname, docstring)`` for the module and what it defines."""
    mod = _import(modname)
    if mod is None:
        return []
    out = []
    if isinstance(mod.__doc__, str):
        out.append((modname, "", mod.__doc__))
    for name, obj in sorted(vars(mod).items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != modname:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
            doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
            if isinstance(doc, str):
                out.append((modname, name, doc))
        if inspect.isclass(obj):
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                doc = getattr(member, "__doc__", None)
                if (inspect.isfunction(member) or inspect.isbuiltin(member) or inspect.ismethoddescriptor(member)) and isinstance(doc, str):
                    out.append((modname, f"{name}.{attr}", doc))
    return out


_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)(\s|$)")


def clean(doc: str) -> str:
    """One docstring as clean prose: dedented, doctests dropped, paragraphs one line each."""
    lines = inspect.cleandoc(doc).splitlines()
    kept: list[str] = []
    in_example = False
    for line in lines:
        if _PROMPT.match(line):
            in_example = True
            continue
        if in_example:
            if line.strip():
                continue  # the example's output
            in_example = False
        kept.append(line)
    paragraphs = re.split(r"\n\s*\n", "\n".join(kept))
    paragraphs = [" ".join(p.split()) for p in paragraphs]
    text = "\n".join(p for p in paragraphs if p)
    if len(text) > MAX_CHARS:
        cut = text.rfind("\n", 0, MAX_CHARS)
        text = text[: cut if cut > 0 else MAX_CHARS]
    return text


def build() -> tuple[list[str], list[str]]:
    """The cleaned, deduplicated documents and the modules they came from."""
    seen: set[str] = set()
    docs: list[str] = []
    modules: set[str] = set()
    for modname in stdlib_modules():
        for mod, _qual, raw in raw_docstrings(modname):
            text = clean(raw)
            if len(text) < MIN_CHARS or len(text.split()) < MIN_WORDS or text in seen:
                continue
            seen.add(text)
            docs.append(text)
            modules.add(mod)
    return docs, sorted(modules)


def encode(docs: list[str]) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as f:
        f.write("\n\n".join(docs).encode("utf-8"))
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped snapshot instead of writing")
    args = parser.parse_args()
    docs, modules = build()
    data = encode(docs)
    text = "\n\n".join(docs)
    meta = {
        "source": "docstrings of the Python standard library (scripts/make_corpus.py)",
        "python": sys.version.split()[0],
        "date": _dt.date.today().isoformat(),
        "modules": len(modules),
        "documents": len(docs),
        "characters": len(text),
        "utf8_bytes": len(text.encode("utf-8")),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "separator": "documents are separated by one blank line; paragraphs within one by a newline",
    }
    if args.check:
        shipped = json.loads((OUT_DIR / META_NAME).read_text())
        same = shipped["sha256"] == meta["sha256"]
        print(f"rebuilt {meta['documents']} documents; {'identical to' if same else 'DIFFERENT from'} the snapshot "
              f"(Python {shipped['python']} there, {meta['python']} here)")
        sys.exit(0 if same else 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / TEXT_NAME).write_bytes(data)
    (OUT_DIR / META_NAME).write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta, indent=1))
    print(f"wrote {OUT_DIR / TEXT_NAME} ({len(data) / 1e6:.2f} MB compressed)")


if __name__ == "__main__":
    main()
