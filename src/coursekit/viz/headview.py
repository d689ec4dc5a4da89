"""bertviz's head view of cross-attention (chapter 2): lines from each output
token to the source tokens it read. bertviz is imported only inside
:func:`show_cross_attention`; :func:`to_bertviz_cross_attention` puts
alignments in the layout bertviz reads (also used by
:func:`coursekit.viz.selfattn.show_self_attention`).

Legend: T output (target) length, S source length, L layers, H heads.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from ._inputs import _as_array, _as_tokens, _describe
from ._style import _display

__all__ = ["to_bertviz_cross_attention", "show_cross_attention"]


def to_bertviz_cross_attention(weights: object) -> list[torch.Tensor]:
    """Alignments in the layout bertviz's ``head_view(cross_attention=...)`` reads.

    Accepts (T, S), a batch of one (1, T, S), (L, H, T, S), or a list of L
    per-layer tensors of shape (1, H, T, S) or (H, T, S) (what transformers
    returns). Returns a list of L float32 CPU tensors, each (1, H, T, S): one
    per layer, batch of one, heads second, decoder (target) positions as rows.
    A single RNN alignment becomes one layer with one head.
    """
    if isinstance(weights, (list, tuple)) and weights and all(isinstance(w, torch.Tensor) for w in weights):
        layers = []
        for i, w in enumerate(weights):
            a = torch.as_tensor(_as_array(w, f"weights[{i}]"), dtype=torch.float32)
            if a.dim() == 3:
                a = a[None]
            if a.dim() != 4 or a.shape[0] != 1:
                raise ValueError(
                    f"weights[{i}] must have shape (1, H, T, S) or (H, T, S), got {tuple(w.shape)}"
                )
            if layers and a.shape != layers[0].shape:
                raise ValueError(
                    f"every layer must have the same shape, got {tuple(layers[0].shape)} "
                    f"and {tuple(a.shape)} (layer {i})"
                )
            layers.append(a)
        return layers
    a = torch.as_tensor(_as_array(weights, "weights"), dtype=torch.float32)
    if a.dim() == 2:  # (T, S): one layer, one head
        a = a[None, None]  # (L=1, H=1, T, S)
    elif a.dim() == 3:
        if a.shape[0] != 1:
            raise ValueError(
                f"3-d weights must be a batch of one (1, T, S), got shape {tuple(a.shape)}; pick one example "
                f"(alignments[i]), or pass heads as (L, H, T, S), e.g. weights[None] for one layer"
            )
        a = a[None]  # (1, 1, T, S): the batch axis becomes the single head
    elif a.dim() != 4:
        raise ValueError(f"weights must have shape (T, S), (1, T, S) or (L, H, T, S), got {_describe(a)}")
    if a.shape[-1] == 0 or a.shape[-2] == 0:
        raise ValueError(f"weights must have at least one row and one column, got shape {tuple(a.shape)}")
    return [layer[None].contiguous() for layer in a]  # L tensors of (1, H, T, S)


def show_cross_attention(
    weights: object,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    *,
    layer: int | None = None,
    heads: list[int] | None = None,
    html_action: str = "view",
) -> Any:
    """bertviz's head view of cross-attention: lines from each output token to the source tokens.

    weights as for :func:`to_bertviz_cross_attention`; T must equal
    ``len(tgt_tokens)`` and S ``len(src_tokens)``. With ``html_action="view"``
    the view is displayed (IPython.display) and None is returned; with
    ``"return"`` bertviz returns an ``IPython.display.HTML`` instead. bertviz
    loads d3 and jQuery with require.js from a CDN (the book vendors them).
    """
    from bertviz import head_view

    cross = to_bertviz_cross_attention(weights)
    src, tgt = _as_tokens(src_tokens, "src_tokens"), _as_tokens(tgt_tokens, "tgt_tokens")
    _, H, T, S = cross[0].shape
    if (T, S) != (len(tgt), len(src)):
        raise ValueError(
            f"weights must have (T, S) = (len(tgt_tokens), len(src_tokens)) = ({len(tgt)}, {len(src)}), "
            f"got (T, S) = ({T}, {S})"
        )
    if html_action not in ("view", "return"):
        raise ValueError(f"html_action must be 'view' or 'return', got {html_action!r}")
    return head_view(
        cross_attention=cross,
        encoder_tokens=[_display(t) for t in src],
        decoder_tokens=[_display(t) for t in tgt],
        layer=layer,
        heads=heads,
        html_action=html_action,
    )
