"""Cross-layer parameter sharing, ALBERT's way: every layer of the encoder is one and the same
block, so the model computes as much as its depth says and stores one layer.

Lan, Chen, Goodman, Gimpel, Sharma & Soricut (2020), *ALBERT: A Lite BERT for Self-supervised
Learning of Language Representations*, https://arxiv.org/abs/1909.11942, Sec. 3.1: "The default
decision for ALBERT is to share all parameters across layers"; Table 4: all-shared costs some
accuracy at a fraction of the parameters. Compute is unchanged (the block runs L times): the
comparison at matched compute is with the unshared model of the same depth.

Legend: L layers.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..bert.variants.albert import share_layers
from ..utils import check_int
from .pruning import _layers

__all__ = ["share_all_layers"]


@torch.no_grad()
def share_all_layers(model: nn.Module, *, source: int | None = None) -> nn.Module:
    """A copy of ``model`` whose encoder layers are all one block: the copy of layer ``source``
    (None: a new block whose every parameter is the mean of that parameter over the layers).
    ``parameters()`` then lists the block once; the forward pass still applies it L times."""
    layers = _layers(model)
    out = copy.deepcopy(model)
    new = _layers(out)
    if source is None:
        block = copy.deepcopy(layers[0])
        for name, p in block.named_parameters():
            p.copy_(torch.stack([dict(b.named_parameters())[name] for b in layers]).mean(0))
    else:
        check_int("source", source, min=0, max=len(layers) - 1)
        block = new[source]
    new[0] = block
    share_layers(new, "all", num_groups=1)  # ALBERT's tying (bert.variants): every layer becomes layer 0
    return out
