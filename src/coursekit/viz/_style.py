"""What every chart looks alike by: sizes that fit the book's column, the colours,
token text on axes, Vega-Lite field names and unique parameter names.
"""

from __future__ import annotations

import itertools
from typing import Any

import altair as alt

# Sizes fit a ~700 px book column: the plot itself, plus room for axis labels and a legend.
MAX_PLOT_PX = 560
CURVE_WIDTH, CURVE_HEIGHT = 440, 260  # 440 + axes + a legend fit the ~620 px output area at a 1200 px window
WEIGHT_SCHEME = "blues"  # sequential and perceptually ordered: darker = more weight
HIGHLIGHT = "#e4572e"  # the hovered decoder step; orange stands out against blues
FADED = 0.15  # opacity of the series a legend click does not pick
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
