"""Write every course diagram for a look by eye: ``python -m coursekit.diagrams OUT_DIR``.

OUT_DIR gets one standalone ``NAME.svg`` per diagram and two gallery pages,
``gallery-light.html`` and ``gallery-dark.html`` (the dark one sets
``data-theme="dark"`` as the book's theme toggle does). To see them at a phone's width::

    chromium --headless --no-sandbox --screenshot=dark.png --window-size=390,5000 OUT_DIR/gallery-dark.html
"""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from . import DIAGRAMS, show_diagram
from .svg import BG


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.diagrams", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the SVG files and galleries into")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    figures = []
    for name, entry in DIAGRAMS.items():
        d = show_diagram(name)
        d.save(args.out / f"{name}.svg")
        figures.append(f"<h2>Chapter {entry.chapter}: {html.escape(name)}</h2>\n{d.svg}")
    for mode in ("light", "dark"):
        page = (
            f'<!doctype html>\n<html data-theme="{mode}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>coursekit diagrams ({mode})</title>"
            f"<style>body {{ background: {BG[mode]}; color: {'#e6edf3' if mode == 'dark' else '#1f2328'}; "
            "font-family: sans-serif; margin: 15px; } h2 { font-size: 14px; }</style></head><body>\n"
            + "\n".join(figures)
            + "\n</body></html>\n"
        )
        (args.out / f"gallery-{mode}.html").write_text(page, encoding="utf-8")
    print(f"wrote {len(figures)} diagrams and two galleries to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
