"""A tiny SVG builder that gives every course diagram the same style.

One :class:`Canvas` per diagram: boxes, frames, arrows with one kind of arrowhead,
residual ``⊕`` nodes and labels, placed in a ``viewBox`` of :data:`WIDTH` user units.
:meth:`Canvas.to_svg` writes an inline ``<svg>`` that carries its own ``<style>``.

Style decisions (each checked by ``tests/test_diagrams.py``):

- **Colours by role**, one accent each: encoder (blue), decoder (orange), attention
  and context vectors (violet), feed-forward (green), everything else neutral grey,
  and red only for a mistake. Box fills are the accent mixed into the background, so
  a fill always sits between the accent and the page. Colours come from GitHub's
  Primer palettes; every text colour has a contrast of at least 4.5 : 1 on every
  background it can sit on, and every line at least 3 : 1, in both modes
  (:func:`contrast_ratio`, WCAG 2.1).
- **Dark mode** by CSS custom properties, switched under ``html[data-theme="dark"]``
  (the book's pydata-sphinx-theme, whose toggle sets that attribute),
  ``body[data-jp-theme-light="false"]`` (JupyterLab and Notebook 7),
  ``body.vscode-dark`` (VS Code), and ``prefers-color-scheme: dark`` unless the page
  says it is light. Every diagram paints its own background, so where none of these
  signals reaches it (Colab's output frame follows the browser, not Colab's own
  theme setting) it is still a readable card of its own.
- **Scoped**: every class starts with ``ckd-`` and every rule with the diagram's own
  id (``#ckd-<name>``), so two diagrams on one page, or a diagram and the page, never
  restyle each other; marker ids are prefixed by the diagram id too.
- **Phone-sized**: a viewBox :data:`WIDTH` = 400 units wide, drawn at 100 % of the
  column up to :data:`MAX_WIDTH_PX`. On a 390 px phone the book's column is 340 px, so
  one unit is 0.85 px: the smallest text (:data:`SMALL` = 13) is 11.05 px and labels
  (:data:`LABEL` = 14) are 11.9 px; sub- and superscripts are 80 % of their label.
  Layouts are tall and narrow instead of wide.
- **Math** in labels is written ``$h_t$``, ``$s_{t−1}$``, ``$W^O$``: segments between
  dollar signs are set in italic serif, ``_`` and ``^`` make a smaller, shifted
  ``<tspan>``. (Unicode subscript letters exist for only a few letters, none for
  capitals, and many fonts lack them.)
- **Accessible**: ``role="img"``, a ``<title>`` and a ``<desc>`` (the alt text),
  referenced by ``aria-labelledby``.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field

__all__ = [
    "WIDTH",
    "MAX_WIDTH_PX",
    "LABEL",
    "SMALL",
    "HEAD",
    "SCRIPT_SCALE",
    "ROLES",
    "PALETTE",
    "TEXT_ON",
    "contrast_ratio",
    "Box",
    "Canvas",
]

WIDTH = 400  # viewBox width of every diagram, in user units
MAX_WIDTH_PX = 480  # drawn width on a wide screen: 1.2 px per unit, labels at 16.8 px
PHONE_COLUMN_PX = 340  # the book's content column on a 390 px wide phone (measured)
LABEL = 14.0  # box labels
SMALL = 13.0  # shapes, notes, row labels: the smallest text
HEAD = 14.5  # panel headings (semibold)
SCRIPT_SCALE = 0.8  # sub- and superscripts, relative to their label

SANS = '"Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", system-ui, sans-serif'
SERIF = '"STIX Two Text", "Cambria Math", Cambria, "Times New Roman", "Liberation Serif", serif'
MONO = 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace'

# ----------------------------------------------------------------------------- colours
BG = {"light": "#ffffff", "dark": "#14181e"}  # dark: pydata-sphinx-theme's --pst-color-background
INK = {"light": "#1f2328", "dark": "#e6edf3"}
MUTED = {"light": "#59636e", "dark": "#9aa2ab"}
ACCENT = {  # role -> (light, dark): after Primer's accent, severe, done, success, fg.muted, danger
    "enc": ("#0969da", "#4493f8"),
    "dec": ("#bc4c00", "#db6d28"),
    "attn": ("#8250df", "#ab7df8"),
    "ffn": ("#1a7f37", "#3fb950"),
    "neutral": ("#59636e", "#9aa2ab"),
    "alert": ("#cf222e", "#f85149"),
}
ROLES = tuple(ACCENT)
FILL_SHARE = {"light": 0.10, "dark": 0.18}  # how much accent a box's fill holds
FRAME_SHARE = {"light": 0.035, "dark": 0.07}  # a frame (a stack, a panel) is fainter


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _mix(accent: str, background: str, share: float) -> str:
    """``share`` of ``accent`` over ``background``, as an opaque colour."""
    a, b = _rgb(accent), _rgb(background)
    return "#" + "".join(f"{round(share * x + (1 - share) * y):02x}" for x, y in zip(a, b))


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    hi, lo = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _palette(mode: str) -> dict[str, str]:
    i = 0 if mode == "light" else 1
    p = {"bg": BG[mode], "ink": INK[mode], "muted": MUTED[mode], "line": MUTED[mode]}
    for role, pair in ACCENT.items():
        p[role] = pair[i]
        p[f"{role}-fill"] = _mix(pair[i], BG[mode], FILL_SHARE[mode])
        p[f"{role}-frame"] = _mix(pair[i], BG[mode], FRAME_SHARE[mode])
    return p


PALETTE = {mode: _palette(mode) for mode in ("light", "dark")}
"""mode -> CSS custom property (without ``--ckd-``) -> colour. The single source of
every colour in every diagram."""

TEXT_ON = {
    **{ink: ("bg", *(f"{r}-fill" for r in ROLES), *(f"{r}-frame" for r in ROLES)) for ink in ("ink", "muted")},
    **{role: ("bg", *(f"{r}-frame" for r in ROLES)) for role in ROLES},
}
"""Text colour -> the backgrounds it may sit on. Ink and muted text go anywhere; accent text
(headings, arrow labels, lane names) sits on the background or a frame, never in a box:
:meth:`Canvas.overlaps` reports accent text inside a box."""


def _css(svg_id: str) -> str:
    """The diagram's own stylesheet: light by default, dark under the four dark signals."""
    me = f"#{svg_id}"

    def props(mode: str) -> str:
        return " ".join(f"--ckd-{k}: {v};" for k, v in PALETTE[mode].items())

    dark = ", ".join(
        f"{sel} {me}"
        for sel in ('html[data-theme="dark"]', 'body[data-jp-theme-light="false"]', "body.vscode-dark")
    )
    auto = f'html:not([data-theme="light"]) body:not([data-jp-theme-light="true"]):not(.vscode-light) {me}'
    rules = [
        f"{me} {{ {props('light')} }}",
        f"{dark} {{ {props('dark')} }}",
        f"@media (prefers-color-scheme: dark) {{ {auto} {{ {props('dark')} }} }}",
        f"{me} .ckd-bg {{ fill: var(--ckd-bg); }}",
        f"{me} text {{ font-family: {SANS}; fill: var(--ckd-ink); }}",
        f"{me} .ckd-math {{ font-family: {SERIF}; font-style: italic; }}",
        f"{me} .ckd-mono {{ font-family: {MONO}; }}",
        f"{me} .ckd-label {{ font-size: {LABEL}px; }}",
        f"{me} .ckd-small {{ font-size: {SMALL}px; }}",
        f"{me} .ckd-head {{ font-size: {HEAD}px; font-weight: 600; }}",
        f"{me} .ckd-script {{ font-size: {round(SCRIPT_SCALE * 100)}%; }}",
        f"{me} .ckd-t-ink {{ fill: var(--ckd-ink); }}",
        f"{me} .ckd-t-muted {{ fill: var(--ckd-muted); }}",
        f"{me} .ckd-line {{ fill: none; stroke: var(--ckd-line); stroke-width: 1.5; "
        "stroke-linecap: round; stroke-linejoin: round; }",
        f"{me} .ckd-node {{ fill: var(--ckd-bg); stroke: var(--ckd-line); stroke-width: 1.5; }}",
    ]
    for role in ROLES:
        rules += [
            f"{me} .ckd-box-{role} {{ fill: var(--ckd-{role}-fill); stroke: var(--ckd-{role}); stroke-width: 1.5; }}",
            f"{me} .ckd-frame-{role} {{ fill: var(--ckd-{role}-frame); stroke: var(--ckd-{role}); "
            "stroke-width: 1.2; stroke-dasharray: 5 4; }",
            f"{me} .ckd-bar-{role} {{ fill: var(--ckd-{role}); }}",
            f"{me} .ckd-t-{role} {{ fill: var(--ckd-{role}); }}",
            f"{me} .ckd-line-{role} {{ stroke: var(--ckd-{role}); }}",
            f"{me} .ckd-head-{role} {{ fill: var(--ckd-{role}); }}",
        ]
    rules += [
        f"{me} .ckd-head-line {{ fill: var(--ckd-line); }}",
        f"{me} .ckd-dashed {{ stroke-dasharray: 4 3; }}",  # after the role rules, so they win
        f"{me} .ckd-strong {{ stroke-width: 2.5; }}",
    ]
    return "\n".join(rules)


# ----------------------------------------------------------------------------- labels
_NARROW = set("iljtfrI.,;:!|'()[] ")
_WIDE = set("mwMWOQGDHNU%@—")


def _runs(label: str) -> list[tuple[str, bool, int]]:
    """Split a label into (text, is_math, shift) runs; shift 1 = subscript, -1 = superscript."""
    runs: list[tuple[str, bool, int]] = []
    for i, part in enumerate(label.split("$")):
        if i % 2 == 0:
            if part:
                runs.append((part, False, 0))
            continue
        buf, j = "", 0
        while j < len(part):
            ch = part[j]
            if ch in "_^" and j + 1 < len(part):
                if buf:
                    runs.append((buf, True, 0))
                    buf = ""
                if part[j + 1] == "{":
                    end = part.index("}", j + 2)
                    group, j = part[j + 2 : end], end + 1
                else:
                    group, j = part[j + 1], j + 2
                runs.append((group, True, 1 if ch == "_" else -1))
            else:
                buf += ch
                j += 1
        if buf:
            runs.append((buf, True, 0))
    return runs


def plain(label: str) -> str:
    """A label as plain text (for alt text and checks): ``$s_{t−1}$`` -> ``s_t−1``."""
    return "".join(("_" if s == 1 else "^" if s == -1 else "") + t for t, _, s in _runs(label))


def text_width(label: str, size: float, mono: bool = False) -> float:
    """A generous estimate of a label's drawn width (fonts differ; this errs wide)."""
    total = 0.0
    for text, is_math, shift in _runs(label):
        scale = SCRIPT_SCALE if shift else 1.0
        for ch in text:
            if mono:
                w = 0.62
            elif ch in _NARROW:
                w = 0.34
            elif ch in _WIDE or ch.isupper():
                w = 0.72
            else:
                w = 0.56 if not is_math else 0.52
            total += w * size * scale
    return total


def _text_svg(x: float, y: float, label: str, size: float, cls: str, anchor: str, mono: bool) -> str:
    """One ``<text>`` element; ``y`` is the vertical centre of the label's x-height band."""
    baseline = y + 0.35 * size
    parts, offset = [], 0.0
    for text, is_math, shift in _runs(label):
        classes = []
        if is_math:
            classes.append("ckd-math")
        if shift:
            classes.append("ckd-script")
        target = {0: 0.0, 1: 0.28 * size, -1: -0.42 * size}[shift]
        attrs = f' class="{" ".join(classes)}"' if classes else ""
        if target != offset:
            attrs += f' dy="{target - offset:g}"'
            offset = target
        parts.append(f"<tspan{attrs}>{html.escape(text, quote=False)}</tspan>" if attrs else html.escape(text, quote=False))
    font = " ckd-mono" if mono else ""
    return (
        f'<text x="{x:g}" y="{baseline:.2f}" text-anchor="{anchor}" class="{cls}{font}">' + "".join(parts) + "</text>"
    )


# ----------------------------------------------------------------------------- shapes
@dataclass(frozen=True)
class Box:
    """A placed box: ``x, y`` its top-left corner, ``w, h`` its size."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def top(self) -> tuple[float, float]:
        return (self.cx, self.y)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.cx, self.y + self.h)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x, self.cy)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w, self.cy)

    def at(self, side: str, t: float) -> tuple[float, float]:
        """A point on ``side`` ("top", "bottom", "left", "right"), ``t`` from 0 to 1 along it."""
        if side in ("top", "bottom"):
            return (self.x + t * self.w, self.y if side == "top" else self.y + self.h)
        return (self.x if side == "left" else self.x + self.w, self.y + t * self.h)


Point = tuple[float, float]


@dataclass
class Canvas:
    """One diagram being drawn. Coordinates are viewBox units, ``x`` right, ``y`` down."""

    name: str
    height: float
    width: float = WIDTH
    items: list[str] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    _texts: list[tuple[str, str, tuple[float, float, float, float]]] = field(default_factory=list)
    _boxes: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "ckd-" + self.name.replace("_", "-")

    # ------------------------------------------------------------------ text
    def text(
        self,
        x: float,
        y: float,
        label: str,
        *,
        size: str = "small",
        colour: str = "ink",
        anchor: str = "middle",
        mono: bool = False,
    ) -> None:
        """A label centred vertically on ``y``. ``size``: "label", "small" or "head";
        ``colour``: "ink", "muted" or a role."""
        px = {"label": LABEL, "small": SMALL, "head": HEAD}[size]
        self._check_inside(x, y, label, px, anchor, mono)
        w = text_width(label, px, mono)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
        self._texts.append((plain(label), colour, (left, y - 0.45 * px, left + w, y + 0.45 * px)))
        self.items.append(_text_svg(x, y, label, px, f"ckd-{size} ckd-t-{colour}", anchor, mono))

    def caption(
        self, x: float, y: float, name: str, note: str, *, colour: str = "ink", anchor: str = "start", mono: bool = True
    ) -> None:
        """A two-line row label centred on ``y``: ``name`` above a muted ``note`` (a shape, in
        monospace unless ``mono`` is False)."""
        self.text(x, y - 9, name, colour=colour, anchor=anchor)
        self.text(x, y + 9, note, colour="muted", anchor=anchor, mono=mono)

    def _check_inside(self, x: float, y: float, label: str, px: float, anchor: str, mono: bool) -> None:
        w = text_width(label, px, mono)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
        if left < 1 or left + w > self.width - 1 or y - px / 2 < 0 or y + px / 2 > self.height:
            self.problems.append(f"text {plain(label)!r} leaves the canvas")

    # ------------------------------------------------------------------ boxes
    def box(
        self,
        cx: float,
        cy: float,
        w: float,
        h: float,
        label: str = "",
        role: str = "neutral",
        *,
        sub: str | None = None,
        sub_mono: bool = True,
        strong: bool = False,
        dashed: bool = False,
        size: str = "label",
        top: bool = False,
    ) -> Box:
        """A rounded box centred on (cx, cy), with a label and an optional second line
        ``sub`` (a shape, by default in monospace, muted). ``top`` puts a lone label near
        the top edge, leaving the box's body free for a drawing."""
        b = Box(cx - w / 2, cy - h / 2, w, h)
        self._boxes.append((b.x, b.y, b.x + w, b.y + h))
        cls = f"ckd-box-{role}" + (" ckd-strong" if strong else "") + (" ckd-dashed" if dashed else "")
        self.items.append(f'<rect x="{b.x:g}" y="{b.y:g}" width="{w:g}" height="{h:g}" rx="6" class="{cls}"/>')
        px = LABEL if size == "label" else SMALL
        if label and sub:
            gap = 0.5 * (px + SMALL) + 2
            self._label_in(b, cx, cy - gap / 2, label, size, "ink", False)
            self._label_in(b, cx, cy + gap / 2 + 1, sub, "small", "muted", sub_mono)
        elif label:
            self._label_in(b, cx, b.y + 4 + px / 2 + 4 if top else cy, label, size, "ink", False)
        return b

    def _label_in(self, b: Box, x: float, y: float, label: str, size: str, colour: str, mono: bool) -> None:
        px = {"label": LABEL, "small": SMALL}[size]
        if text_width(label, px, mono) > b.w - 6:
            self.problems.append(f"label {plain(label)!r} is wider than its box ({b.w:g})")
        self.items.append(_text_svg(x, y, label, px, f"ckd-{size} ckd-t-{colour}", "middle", mono))

    def frame(self, x: float, y: float, w: float, h: float, role: str) -> Box:
        """A dashed, faintly tinted container (a stack of layers, a panel)."""
        self.items.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="10" class="ckd-frame-{role}"/>')
        return Box(x, y, w, h)

    def bar(self, x: float, y: float, w: float, h: float, role: str) -> None:
        """A solid bar (a weight), drawn in the role's accent colour."""
        self.items.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" rx="1.5" class="ckd-bar-{role}"/>')

    def cell(self, x: float, y: float, w: float, h: float, role: str, opacity: float) -> None:
        """A heat-map cell: the role's accent at ``opacity`` (0 to 1)."""
        self.items.append(
            f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" class="ckd-bar-{role}" '
            f'fill-opacity="{opacity:.2f}"/>'
        )

    def add_node(self, cx: float, cy: float, r: float = 9, symbol: str = "+") -> Box:
        """A residual ``⊕`` (or ``⊗`` with symbol "x") drawn with lines, not a glyph."""
        self._boxes.append((cx - r, cy - r, cx + r, cy + r))
        self.items.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{r:g}" class="ckd-node"/>')
        a = r * 0.55
        if symbol == "+":
            d = f"M{cx - a:g},{cy:g} H{cx + a:g} M{cx:g},{cy - a:g} V{cy + a:g}"
        else:
            a *= 0.8
            d = f"M{cx - a:g},{cy - a:g} L{cx + a:g},{cy + a:g} M{cx - a:g},{cy + a:g} L{cx + a:g},{cy - a:g}"
        self.items.append(f'<path d="{d}" class="ckd-line"/>')
        return Box(cx - r, cy - r, 2 * r, 2 * r)

    def dot(self, x: float, y: float, role: str | None = None) -> None:
        """A small filled dot where a line branches."""
        cls = f"ckd-head-{role or 'line'}"
        self.items.append(f'<circle cx="{x:g}" cy="{y:g}" r="2.6" class="{cls}"/>')

    def path(self, d: str, role: str | None = None, *, width: float | None = None, dashed: bool = False) -> None:
        """A free path (a curve), stroked like a line."""
        cls = "ckd-line" + (f" ckd-line-{role}" if role else "") + (" ckd-dashed" if dashed else "")
        style = f' style="stroke-width: {width:g}"' if width else ""
        self.items.append(f'<path d="{d}" class="{cls}"{style}/>')

    # ------------------------------------------------------------------ arrows
    def arrow(
        self,
        *points: Point,
        role: str | None = None,
        head: bool = True,
        both: bool = False,
        dashed: bool = False,
        strong: bool = False,
        width: float | None = None,
        radius: float = 6.0,
    ) -> None:
        """A polyline through ``points`` with rounded corners and an arrowhead at the end
        (and at the start too with ``both``). ``role`` colours it; default neutral."""
        key = role or "line"
        marker = f"{self.id}-head-{key}"
        if head or both:
            self.markers.add(key)
        cls = "ckd-line" + (f" ckd-line-{role}" if role else "") + (" ckd-dashed" if dashed else "")
        cls += " ckd-strong" if strong else ""
        attrs = f' marker-end="url(#{marker})"' if head else ""
        attrs += f' marker-start="url(#{marker})"' if both else ""
        style = f' style="stroke-width: {width:g}"' if width else ""
        self.items.append(f'<path d="{_rounded(points, radius)}" class="{cls}"{attrs}{style}/>')

    # ------------------------------------------------------------------ checks
    def overlaps(self) -> list[str]:
        """Free text (not a box's own label) that touches a box or other free text, by the
        generous width estimate of :func:`text_width`, and accent text placed in a box.
        A diagram with none is laid out clean."""

        def hit(a, b, pad=1.0):
            return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad

        def inside(a, b):
            return b[0] <= a[0] and a[2] <= b[2] and b[1] <= a[1] and a[3] <= b[3]

        found = []
        for i, (label, colour, t) in enumerate(self._texts):
            for b in self._boxes:
                if hit(t, b) and not inside(t, b):
                    found.append(f"text {label!r} touches the box at {b[0]:g},{b[1]:g}")
                elif inside(t, b) and colour not in ("ink", "muted"):
                    found.append(f"accent text {label!r} sits in the box at {b[0]:g},{b[1]:g}")
            for other, _, u in self._texts[i + 1 :]:
                if hit(t, u, pad=0.0):
                    found.append(f"text {label!r} touches text {other!r}")
        return found

    # ------------------------------------------------------------------ output
    def to_svg(self, title: str, alt: str) -> str:
        """The finished inline SVG: scoped style, title and desc (alt text), drawing."""
        sid = self.id
        defs = "".join(
            f'<marker id="{sid}-head-{key}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
            f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            f'<path d="M0,0.8 L10,5 L0,9.2 L2.2,5 z" class="ckd-head-{key}"/></marker>'
            for key in sorted(self.markers)
        )
        style = (
            f"width: 100%; max-width: {MAX_WIDTH_PX}px; height: auto; display: block; "
            "margin: 0.5em auto"
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" id="{sid}" class="ckd" '
            f'viewBox="0 0 {self.width:g} {self.height:g}" width="100%" style="{style}" '
            f'role="img" aria-labelledby="{sid}-title {sid}-desc">'
            f'<title id="{sid}-title">{html.escape(title)}</title>'
            f'<desc id="{sid}-desc">{html.escape(alt)}</desc>'
            f"<style>\n{_css(sid)}\n</style>"
            f"<defs>{defs}</defs>"
            f'<rect class="ckd-bg" x="0" y="0" width="{self.width:g}" height="{self.height:g}" rx="8"/>'
            + "\n".join(self.items)
            + "</svg>"
        )


def _rounded(points: tuple[Point, ...], radius: float) -> str:
    """An SVG path through ``points`` whose corners are rounded by up to ``radius``."""
    if len(points) < 2:
        raise ValueError("an arrow needs at least two points")
    d = [f"M{points[0][0]:g},{points[0][1]:g}"]
    for i in range(1, len(points) - 1):
        (x0, y0), (x1, y1), (x2, y2) = points[i - 1], points[i], points[i + 1]
        l1, l2 = math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x1, y2 - y1)
        r = min(radius, l1 / 2, l2 / 2)
        if r <= 0:
            d.append(f"L{x1:g},{y1:g}")
            continue
        ax, ay = x1 - (x1 - x0) * r / l1, y1 - (y1 - y0) * r / l1
        bx, by = x1 + (x2 - x1) * r / l2, y1 + (y2 - y1) * r / l2
        d.append(f"L{ax:.2f},{ay:.2f} Q{x1:g},{y1:g} {bx:.2f},{by:.2f}")
    d.append(f"L{points[-1][0]:g},{points[-1][1]:g}")
    return " ".join(d)


_ID_RE = re.compile(r'\bid="([^"]+)"')


def element_ids(svg: str) -> list[str]:
    """Every ``id`` attribute in an SVG string, in order (for the uniqueness check)."""
    return _ID_RE.findall(svg)
