"""What every chart looks alike by: sizes that fit the book's column (and a phone's),
colour-blind-safe colours with a second channel, legends below the plot, titles that
wrap, token text on axes, Vega-Lite field names and unique parameter names.
"""

from __future__ import annotations

import itertools
import textwrap
from typing import Any, Sequence

import altair as alt

# Sizes fit a ~700 px book column: the plot itself, plus room for axis labels. Line and bar
# charts take the width of their container (width="container"), so they fit a 390 px phone
# too; charts of several panels (vconcat/hconcat cannot) keep PANEL_WIDTH, which fits a
# phone's ~340 px column with its axis, and the book scales anything wider down to the column.
MAX_PLOT_PX = 560
CURVE_WIDTH, CURVE_HEIGHT = "container", 260
PANEL_WIDTH = 260
WEIGHT_SCHEME = "blues"  # sequential and perceptually ordered: darker = more weight
# Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008), in the order lines
# are told apart best on white: blue, vermillion, bluish green, reddish purple, orange, sky
# blue, black; yellow last (faint on white). Every series also differs by a second channel.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "triangle-right", "triangle-left"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [12, 4], [4, 2, 1, 2, 1, 2], [1, 3], [10, 2, 2, 2]]
MAIN_COLOR = PALETTE[0]  # a chart with one series
HIGHLIGHT = PALETTE[1]  # the hovered decoder step; vermillion stands out against blues
MUTED_TEXT = "#333"
FADED = 0.15  # opacity of the series a legend click does not pick
TITLE_CHARS, SUBTITLE_CHARS = 42, 52  # a line of a 13 px bold title / 11 px subtitle fits ~300 px
LEGEND_PX = 300  # legends below the plot wrap into columns that fit this width
_PARAM_IDS = itertools.count(1)


def _fresh(prefix: str) -> str:
    """A parameter name unique in this process: Altair names identical selections
    identically, and two charts that share one legend-bound selection cannot be
    concatenated (Vega: "Duplicate signal name")."""
    return f"{prefix}_{next(_PARAM_IDS)}"


def _display(token: str) -> str:
    """Token text as shown on an axis: whitespace made visible."""
    if token == "":
        return "∅"
    return token.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")


def _field(name: str) -> str:
    """A data key as a Vega-Lite field name (dots and brackets would mean nested access)."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def _token_axis(
    labels: str, title: str, cell: int, longest: int | str, orient: str | None = None
) -> alt.Axis:
    """An axis over positions that shows token text (``labels`` is a Vega expression).

    Horizontal axes tilt their labels when a token is longer than two
    characters; ``longest`` is that length, or a Vega expression giving it.
    """
    kwargs: dict[str, Any] = dict(
        title=title,
        labelExpr=labels,
        labelFontSize=11 if cell >= 14 else max(6, cell - 3),
        labelPadding=3,
        ticks=False,
        domain=False,
        labelOverlap=False,
    )
    if orient is not None:
        kwargs["orient"] = orient
    if orient in ("top", "bottom"):
        tilt = "left" if orient == "top" else "right"
        if isinstance(longest, str):  # decided when the chart runs (the explorer's examples differ)
            kwargs["labelAngle"] = alt.expr(f"{longest} > 2 ? -50 : 0")
            kwargs["labelAlign"] = alt.expr(f"{longest} > 2 ? '{tilt}' : 'center'")
        else:
            kwargs["labelAngle"] = 0 if longest <= 2 else -50
            kwargs["labelAlign"] = tilt if longest > 2 else "center"
    return alt.Axis(**kwargs)


def _cycle(values: Sequence[Any], n: int) -> list[Any]:
    return [values[i % len(values)] for i in range(n)]


def _series_scales(names: Sequence[str]) -> dict[str, alt.Scale]:
    """One scale per channel (color, shape, strokeDash) with the same domain, so that the
    series get the same colour, shape and dash everywhere and their legends merge into one."""
    names = list(names)
    return {
        "color": alt.Scale(domain=names, range=_cycle(PALETTE, len(names))),
        "shape": alt.Scale(domain=names, range=_cycle(SHAPES, len(names))),
        "strokeDash": alt.Scale(domain=names, range=_cycle(DASHES, len(names))),
    }


def _legend_columns(names: Sequence[str], budget: int = LEGEND_PX) -> tuple[int, int]:
    """How many columns of ``names`` fit ``budget`` pixels, and the width they take."""
    column = 28 + 7 * max([len(str(n)) for n in names] + [4])  # symbol, gap and label
    columns = max(1, min(len(names) or 1, budget // column))
    return columns, columns * column


def _legend(title: str | None, names: Sequence[str] = (), *, budget: int = LEGEND_PX, **kwargs: Any) -> alt.Legend:
    """A legend below the plot (never beside it, where a phone cuts it off), in as many
    columns as fit ``budget`` pixels: LEGEND_PX, less what another legend on the same row
    takes (Vega-Lite puts a chart's bottom legends side by side)."""
    columns, _ = _legend_columns(names, budget)
    return alt.Legend(title=title, orient="bottom", direction="horizontal", columns=columns, **kwargs)


def _gradient_legend(title: str, plot_px: int) -> alt.Legend:
    """A colour-bar legend below the plot, no longer than the plot (within 80-200 px)."""
    return alt.Legend(title=title, orient="bottom", direction="horizontal", gradientLength=max(80, min(200, plot_px)))


def _wrap(text: str, chars: int) -> str | list[str]:
    """``text`` as lines of at most ``chars`` characters (a list, which Vega draws as lines)."""
    lines = textwrap.wrap(text, chars, break_on_hyphens=False) or [text]
    return lines[0] if len(lines) == 1 else lines


def _title(text: str, subtitle: str | None = None, **kwargs: Any) -> alt.Title:
    """A chart title (and subtitle) wrapped to fit a phone-wide chart."""
    if subtitle is not None:
        kwargs["subtitle"] = _wrap(subtitle, SUBTITLE_CHARS)
    return alt.Title(_wrap(text, TITLE_CHARS), **kwargs)


def _count(n: int, noun: str) -> str:
    """"1 example", "3 examples"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _tokens_text(tokens: Sequence[str], limit: int = 24) -> str:
    """Tokens for a description: characters as one string ("Nov␣21"), longer tokens listed."""
    if all(len(t) == 1 for t in tokens):
        text = "".join(tokens)
        return f"“{text[:limit * 2]}”" + ("…" if len(text) > limit * 2 else "")
    return _listing(tokens, limit)


def _listing(items: Sequence[str], limit: int = 8) -> str:
    """"a, b and c" (the first ``limit`` items, then "and N more"), for chart descriptions."""
    items = [str(i) for i in items]
    if len(items) > limit:
        items = items[:limit] + [f"{len(items) - limit} more"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _number_text(value: float, fmt: str | None = None) -> str:
    """A number as the chart's axis shows it: a percentage for a "%" format, else 3 significant digits."""
    if fmt and fmt.endswith("%"):
        return f"{value:.0%}" if fmt in (".0%", "%") else f"{value:.1%}"
    return f"{value:.3g}"
