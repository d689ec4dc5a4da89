"""One bidirectional RNN over real lengths, shared by the seq2seq encoder (Chapters 1-2) and
the document classifiers (Chapter 3).

Schuster & Paliwal (1997), *Bidirectional Recurrent Neural Networks*, IEEE Trans. Signal
Processing 45(11): one RNN reads the sequence forwards, another backwards, and each
position's output is the two states side by side. Bahdanau et al. (2015),
https://arxiv.org/abs/1409.0473, Sec. 3.2, call these concatenated states *annotations*.

Legend: B batch, S length, D input width, H output width (both directions together).
"""

from __future__ import annotations

import torch
from torch import nn

from .utils import check_choice, check_positive, check_tensor

__all__ = ["CELLS", "reverse_within_length", "BiRNN"]

CELLS = ("gru", "lstm")


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` (B, S, ...) in its first ``lengths[b]`` positions; padding stays put.

    Its own inverse. Running a forward RNN on the reversed batch is the
    backward direction of a bidirectional RNN, with padding still at the end.
    """
    B, S = x.shape[:2]
    idx = torch.arange(S, device=x.device)[None, :].expand(B, S)  # (B, S)
    rev = lengths[:, None] - 1 - idx
    rev = torch.where(rev >= 0, rev, idx)  # positions past the end map to themselves
    return x.gather(1, rev.view(B, S, *[1] * (x.dim() - 2)).expand_as(x))


class BiRNN(nn.Module):
    """A bidirectional GRU/LSTM over padded sequences: x (B, S, D), lengths (B,) -> (B, S, H).

    The output at position s is the forward and backward states concatenated,
    zero at padding. The two directions are two unidirectional RNNs (``fwd``,
    ``bwd``); the backward one reads each sequence reversed within its length, so
    padding never reaches a real position. This gives exactly what
    ``pack_padded_sequence`` + ``bidirectional=True`` gives (tests check it) and
    runs 1.5-3x faster on a CPU, where packing's shrinking batches cost more
    than the padded steps they save.
    """

    def __init__(self, input_dim: int, hidden_size: int, cell: str = "lstm"):
        super().__init__()
        check_positive("input_dim", input_dim)
        check_positive("hidden_size", hidden_size)
        if hidden_size % 2:
            raise ValueError(f"hidden_size must be even (hidden_size/2 per direction), got {hidden_size}")
        check_choice("cell", cell, CELLS)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.input_dim, self.hidden_size = input_dim, hidden_size
        self.fwd = rnn(input_dim, hidden_size // 2, batch_first=True)
        self.bwd = rnn(input_dim, hidden_size // 2, batch_first=True)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """x (B, S, D) float; lengths (B,) long, each in [1, S] -> states (B, S, H), zero at padding."""
        dims = check_tensor("x", x, shape=("B", "S", self.input_dim), dtype="float")
        check_tensor("lengths", lengths, shape=("B",), dtype=torch.long, dims=dims)
        S = dims["S"]
        out_f, _ = self.fwd(x)  # (B, S, H/2); positions past each length are never read
        out_b = reverse_within_length(self.bwd(reverse_within_length(x, lengths))[0], lengths)  # (B, S, H/2)
        real = torch.arange(S, device=x.device)[None, :] < lengths[:, None]  # (B, S)
        return torch.cat([out_f, out_b], dim=-1) * real[..., None]  # (B, S, H)

    def final_states(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The fixed-length summary (B, H) of ``forward``'s states (B, S, H): the forward RNN's state
        after the last real token beside the backward RNN's state after the first token (position 0)."""
        B, half = states.shape[0], self.hidden_size // 2
        last_f = states[torch.arange(B, device=states.device), lengths - 1, :half]  # (B, H/2)
        return torch.cat([last_f, states[:, 0, half:]], dim=-1)  # (B, H)
