"""Chapter 6's sampling figures: the sampling explorer (static, no kernel) and a live text box.

- :func:`sampling_explorer`: one real next-token distribution, with sliders for the
  temperature τ, top-k's k and top-p's p. The browser recomputes everything from the logits
  in Vega-Lite transforms, in the order of transformers' logits processors (and
  :func:`coursekit.gpt.sample_next`): softmax(logits / τ), then keep the k most probable
  tokens (ties with the k-th are kept), renormalise, then keep the smallest set of most
  probable tokens whose mass reaches p (the token that crosses p is kept: Holtzman et al.
  2020's nucleus), renormalise. Bars show each shown token's probability after the
  temperature, coloured kept or removed; dots show the final sampling probability.
- :func:`generation_box`: an ipywidgets control that completes a prompt with a callable
  (a trained GPT), with sliders for τ, k and p. It needs a running kernel.

Fan, Lewis & Dauphin (2018), *Hierarchical Neural Story Generation*, ACL,
https://arxiv.org/abs/1805.04833 (top-k: sampling from the k most likely tokens); Holtzman, Buys, Du,
Forbes & Choi (2020), *The Curious Case of Neural Text Degeneration*, ICLR,
https://arxiv.org/abs/1904.09751 (nucleus sampling, Sec. 3.1).

Legend: V vocabulary (all logits are carried, so the softmax is exact), N shown tokens.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

import altair as alt
import numpy as np

from ._inputs import _as_array, _as_tokens, _describe
from ._style import CURVE_WIDTH, MAIN_COLOR, _display, _fresh, _legend, _title

__all__ = ["sampling_explorer", "generation_box"]

REMOVED_COLOR = "#9aa2ab"  # grey: a removed token


def _check_range(name: str, value: float, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def sampling_explorer(
    logits: object,
    tokens: Sequence[str],
    *,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 0.9,
    shown: int | None = None,
    context: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> alt.LayerChart:
    """Temperature, top-k and top-p on one next-token distribution, on three sliders.

    ``logits`` (V,) are the model's next-token logits and ``tokens`` the V token strings
    (token i for logit i). Every logit goes into the chart (so the softmax at any τ is
    exact); the ``shown`` (default: 25, or V if fewer) most probable tokens are drawn, one horizontal bar each, the
    most probable at the top. ``context`` (the prompt) goes into the subtitle. The chart
    takes its container's width (it fits a 390 px phone); a line under the title says how
    many tokens the filters keep and the mass they had. ``description`` replaces the
    generated text that screen readers announce.
    """
    z = _as_array(logits, "logits")
    if z.ndim != 1 or z.size < 2:
        raise ValueError(f"logits must be a 1-d (V,) vector with V >= 2, got {_describe(z)}")
    toks = _as_tokens(tokens, "tokens")
    if len(toks) != z.size:
        raise ValueError(f"tokens must have one string per logit ({z.size}), got {len(toks)}")
    V = z.size
    temperature = _check_range("temperature", temperature, 0.05, 5.0)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= V:
        raise ValueError(f"top_k must be an int in [1, V = {V}], got {top_k!r}")
    top_p = _check_range("top_p", top_p, 0.01, 1.0)
    shown = min(25, V) if shown is None else shown
    if isinstance(shown, bool) or not isinstance(shown, (int, np.integer)) or not 1 <= shown <= V:
        raise ValueError(f"shown must be an int in [1, V = {V}], got {shown!r}")
    order = np.argsort(-z, kind="stable")
    # competition rank: 1 + the number of strictly larger logits, so tied tokens share a rank
    ranks = {int(i): int((z > z[i]).sum()) + 1 for i in order}
    rows = [{"i": int(i), "token": _display(toks[i]), "logit": round(float(z[i]), 4), "rank": ranks[int(i)],
             "pos": n + 1} for n, i in enumerate(order)]
    t_name, k_name, p_name = _fresh("temperature"), _fresh("top_k"), _fresh("top_p")
    t_p = alt.param(name=t_name, value=temperature, bind=alt.binding_range(min=0.1, max=2.0, step=0.05, name="temperature τ: "))
    k_p = alt.param(name=k_name, value=int(top_k), bind=alt.binding_range(min=1, max=min(V, 100), step=1, name="top-k k: "))
    p_p = alt.param(name=p_name, value=top_p, bind=alt.binding_range(min=0.05, max=1.0, step=0.01, name="top-p p: "))
    base = (
        alt.Chart(alt.Data(values=rows))
        .transform_calculate(scaled=f"datum.logit / {t_name}")
        .transform_joinaggregate(top="max(scaled)")
        .transform_calculate(e="exp(datum.scaled - datum.top)")
        .transform_joinaggregate(total="sum(e)")
        .transform_calculate(p="datum.e / datum.total",  # softmax(logits / τ), exact over all V
                             in_k=f"datum.rank <= {k_name}")  # top-k: ties with the k-th kept
        .transform_calculate(pk="datum.in_k ? datum.p : 0")
        .transform_joinaggregate(mass_k="sum(pk)")
        .transform_calculate(q="datum.pk / datum.mass_k")  # renormalised after top-k
        .transform_window(cum="sum(q)", sort=[alt.SortField("pos")], frame=[None, 0])
        .transform_calculate(
            before="datum.cum - datum.q",
            # top-p: keep a token while the mass before it is below p (the one that crosses p stays)
            kept=f"datum.in_k && datum.before < {p_name} - 1e-9",
        )
        .transform_calculate(qk="datum.kept ? datum.q : 0", pkept="datum.kept ? datum.p : 0",
                             status="datum.kept ? 'kept' : 'removed'")
        .transform_joinaggregate(mass="sum(qk)", n_kept="sum(kept)", p_mass="sum(pkept)")
        .transform_calculate(final="datum.kept ? datum.q / datum.mass : 0")
    )
    bars_data = base.transform_filter(f"datum.pos <= {int(shown)}")
    labels = json.dumps([rows[n]["token"] for n in range(int(shown))], ensure_ascii=False)
    # y is the rank position (unique, in order in every layer); the axis shows each token's text
    y = alt.Y("pos:O", title=None, axis=alt.Axis(labelExpr=f"{labels}[datum.value - 1]", labelFontSize=11, ticks=False,
                                                 labelLimit=110))
    colour = alt.Color("status:N", scale=alt.Scale(domain=["kept", "removed"], range=[MAIN_COLOR, REMOVED_COLOR]),
                       legend=_legend(None, ["kept", "removed"]))
    tips = [alt.Tooltip("token:N"), alt.Tooltip("logit:Q", format=".2f"), alt.Tooltip("p:Q", title="p after τ", format=".3f"),
            alt.Tooltip("final:Q", title="sampling probability", format=".3f"), alt.Tooltip("status:N")]
    bars = bars_data.mark_bar(height={"band": 0.75}).encode(
        y=y, x=alt.X("p:Q", title="probability (bars: after τ; dots: sampled with)", axis=alt.Axis(format=".0%")),
        color=colour, opacity=alt.condition("datum.kept", alt.value(1.0), alt.value(0.55)), tooltip=tips,
    ).add_params(t_p, k_p, p_p)
    dots = bars_data.transform_filter("datum.kept").mark_point(shape="diamond", filled=True, size=40, color="#000").encode(
        y=y, x="final:Q", tooltip=tips)
    summary = base.transform_filter("datum.pos == 1").mark_text(align="left", baseline="bottom", dy=-4, fontSize=11,
                                                                 color="#333").encode(
        x=alt.value(0), y=alt.value(0),
        text=alt.Text("summary:N"),
    ).transform_calculate(
        summary=f"'kept ' + datum.n_kept + ' of {V} tokens, ' + format(datum.p_mass, '.1%') + ' of the mass after τ'"
    )
    subtitle = "Drag τ, k and p. Bars: probability after the temperature; grey: removed by top-k or top-p."
    if context:
        subtitle = f"After “{context}”. " + subtitle
    best = toks[int(order[0])]
    text = description or (
        f"Interactive bar chart of a next-token distribution over {V} tokens, the {shown} most probable shown "
        f"(the most probable is {best!r}), with sliders for the temperature (now {temperature:g}), top-k's k "
        f"(now {top_k}) and top-p's p (now {top_p:g}); bars are coloured kept or removed, and a line says how many "
        f"tokens are kept."
    )
    return alt.layer(bars, dots, summary).properties(
        width=CURVE_WIDTH, height=14 * int(shown),
        title=_title(title or "Sampling the next token: temperature, top-k, top-p", subtitle, anchor="start"),
        description=text,
    )


def generation_box(
    complete: Callable[..., str],
    prompt: str = "Return the",
    *,
    max_new_tokens: int = 40,
    temperature: float = 0.8,
    top_k: int = 50,
    top_p: float = 0.9,
) -> Any:
    """A live control (ipywidgets): a prompt box, sliders for τ, k and p, and a "Generate" button
    that prints ``complete(prompt, temperature=..., top_k=..., top_p=..., max_new_tokens=...)``.

    It runs the model in the kernel, so it needs one: in a static page it shows but does nothing.
    Returns the ``ipywidgets.VBox``; ``.children[-1]`` is the output area. Clicking runs
    ``complete`` once (``box.generate()`` does the same from code)."""
    import ipywidgets as widgets

    if not callable(complete):
        raise ValueError(f"complete must be a function (prompt, temperature, top_k, top_p, max_new_tokens) -> str, "
                         f"got {type(complete).__name__}")
    _check_range("temperature", temperature, 0.05, 5.0)
    _check_range("top_p", top_p, 0.01, 1.0)
    text = widgets.Text(value=prompt, description="prompt:", layout=widgets.Layout(width="95%"))
    t = widgets.FloatSlider(value=temperature, min=0.1, max=2.0, step=0.05, description="τ")
    k = widgets.IntSlider(value=top_k, min=1, max=200, description="top-k")
    p = widgets.FloatSlider(value=top_p, min=0.05, max=1.0, step=0.01, description="top-p")
    button = widgets.Button(description="Generate")
    out = widgets.Output()

    def generate(_=None) -> None:
        out.outputs = ()  # clear
        out.append_stdout(complete(text.value, temperature=t.value, top_k=k.value, top_p=p.value,
                                   max_new_tokens=max_new_tokens) + "\n")

    button.on_click(generate)
    box = widgets.VBox([text, t, k, p, button, out])
    box.generate = generate
    return box
