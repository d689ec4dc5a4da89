"""GPT: a decoder-only Transformer language model, built on the course's shared block.

Token + learned position embeddings, ``n_layer`` causal :class:`~coursekit.transformer.Block`
layers (pre-norm for GPT-2, post-norm for GPT-1), a final LayerNorm (GPT-2), and an output
layer tied to the token embedding: logits = h E^T. Trained to predict token t+1 from
tokens <= t; the causal mask goes to ``F.scaled_dot_product_attention(is_causal=True)``.

- Radford et al. (2018), *Improving Language Understanding by Generative Pre-Training* (GPT-1),
  Sec. 3.1, Eq. 2: h_0 = U W_e + W_p, h_l = transformer_block(h_{l-1}),
  P(u) = softmax(h_n W_e^T).
- Radford et al. (2019), *Language Models are Unsupervised Multitask Learners* (GPT-2),
  Sec. 2.3: pre-norm, a final LayerNorm, and residual-layer weights scaled at initialisation
  by 1/sqrt(N), N = 2 * n_layer residual layers (transformers' and nanoGPT's reading:
  std = 0.02 / sqrt(2 * n_layer) for each block's two output projections).

Legend: B batch, T new positions, S keys (cached + new), D n_embd, H n_head, V vocab_size,
L n_layer, P n_positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..transformer.norms import LayerNorm
from ..transformer.stack import Embeddings, Stack
from ..utils import check_bool, check_ids, check_int, check_tensor
from .cache import KVCache
from .config import GPTConfig
from .sampling import sample_next

__all__ = ["GPTOutput", "GPT", "lm_loss"]


@dataclass(frozen=True)
class GPTOutput:
    """logits (B, T, V); ``cache``: the :class:`~.cache.KVCache` passed in, now holding these
    positions too (None without one); ``attentions``: one (B, H, T, S) tensor per layer with
    ``need_weights=True`` (bertviz's ``head_view`` format for B = 1), else None."""

    logits: torch.Tensor
    cache: KVCache | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class GPT(nn.Module):
    """A GPT language model: ids (B, T) -> next-token logits (B, T, V).

    Submodules: ``stack`` (a :class:`~coursekit.transformer.Stack`: ``stack.embed`` the token
    and position embeddings, ``stack.layers`` the blocks, ``stack.norm`` the final norm); the
    output layer is ``stack.embed.embed.weight`` itself (tied), so it has no module of its own.
    Weights interchange with transformers' ``GPT2LMHeadModel`` (:mod:`.hf`).
    """

    def __init__(self, config: GPTConfig = GPTConfig()):
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise ValueError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        embed = Embeddings(
            config.vocab_size, config.n_embd, positions="learned", max_len=config.n_positions, scale=False,
            dropout=config.embd_pdrop, padding_idx=None,
        )
        self.stack = Stack(config.block_config(), config.n_layer, embed)
        for block in self.stack.layers:
            block.self_attn.dropout = config.attn_pdrop  # on the attention weights, as GPT-2's attn_dropout
            # GPT-2 drops the FFN's output (the block's residual dropout does that), not its hidden layer.
            block.ffn.dropout = nn.Identity()
        self.reset_parameters()

    @property
    def wte(self) -> nn.Embedding:
        """The token embedding, (V, D), also the output layer's weight."""
        return self.stack.embed.embed

    @property
    def wpe(self) -> nn.Embedding:
        """The learned position embedding, (P, D)."""
        return self.stack.embed.positions.table

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """GPT-2's initialisation: every Linear and Embedding weight ~ N(0, 0.02^2), biases 0,
        LayerNorm gain 1 and bias 0; the two residual output projections of each block
        (attention's W^O and the FFN's down projection) ~ N(0, (0.02 / sqrt(2 L))^2), so the
        residual stream's variance does not grow with depth (Radford et al. 2019, Sec. 2.3)."""
        std = self.config.initializer_range
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=std)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, LayerNorm):
                nn.init.ones_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        residual_std = std / math.sqrt(2 * self.config.n_layer)
        for block in self.stack.layers:
            nn.init.normal_(block.self_attn.out_proj.weight, std=residual_std)
            nn.init.normal_(block.ffn.down.weight, std=residual_std)

    def new_cache(self) -> KVCache:
        """An empty :class:`~.cache.KVCache` for this model (capacity ``n_positions``)."""
        return KVCache(self.config.n_layer, self.config.n_positions)

    def forward(self, idx: torch.Tensor, *, cache: KVCache | None = None, need_weights: bool = False) -> GPTOutput:
        """idx (B, T) long token ids in [0, V); with a ``cache``, idx continues the sequences
        it holds (positions cache.length .. cache.length + T - 1) and the cache is updated.
        Returns :class:`GPTOutput` (logits (B, T, V) for the token after each position)."""
        cfg = self.config
        B, T = check_tensor("idx", idx, shape=("B", "T"), dtype=torch.long).values()
        check_bool("need_weights", need_weights)
        if cache is not None and not isinstance(cache, KVCache):
            raise ValueError(f"cache must be a KVCache (model.new_cache()) or None, got {type(cache).__name__}")
        offset = 0 if cache is None else cache.length
        if offset + T > cfg.n_positions:
            raise ValueError(
                f"idx must have at most n_positions={cfg.n_positions} positions, got T={T}"
                + (f" after {offset} cached positions" if offset else "")
            )
        check_ids("idx", idx, cfg.vocab_size)
        out = self.stack(idx, is_causal=True, need_weights=need_weights, position_offset=offset, kv_cache=cache)
        logits = F.linear(out.hidden, self.wte.weight)  # (B, T, D) @ (D, V): the tied output layer
        return GPTOutput(logits, cache, out.attentions)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy (nats per token); see :func:`lm_loss`."""
        return lm_loss(self, idx, targets)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        greedy: bool = False,
        use_cache: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Extend idx (B, T) long by ``max_new_tokens`` tokens: (B, T + max_new_tokens) long.

        Each step picks the next token with :func:`~.sampling.sample_next`. ``use_cache``: feed
        only the new token and reuse the past keys/values (same tokens as without the cache,
        faster). Past ``n_positions`` the model sees the last ``n_positions`` tokens (a sliding
        window, recomputed in full each step, cache or not). Eval mode for the call.
        """
        check_tensor("idx", idx, shape=("B", "T"), dtype=torch.long)
        check_int("max_new_tokens", max_new_tokens, min=0)
        check_bool("use_cache", use_cache)
        P = self.config.n_positions
        was_training = self.training
        self.eval()
        try:
            cache, out = None, idx
            for _ in range(max_new_tokens):
                if use_cache and cache is not None and cache.length < P:
                    logits = self(out[:, -1:], cache=cache).logits  # (B, 1, V): the new token only
                else:
                    cache = self.new_cache() if use_cache else None
                    logits = self(out[:, -P:], cache=cache).logits  # (B, T, V): the whole (windowed) prefix
                nxt = sample_next(
                    logits[:, -1], temperature=temperature, top_k=top_k, top_p=top_p, greedy=greedy, generator=generator
                )
                out = torch.cat([out, nxt[:, None]], dim=1)  # (B, T + 1)
            return out
        finally:
            self.train(was_training)


def lm_loss(model: GPT, idx: torch.Tensor, targets: torch.Tensor, *, ignore_index: int = -100) -> torch.Tensor:
    """Mean cross-entropy of predicting ``targets`` (B, T) long from ``idx`` (B, T) long:
    usually targets = the sequence shifted left by one (x[:, 1:] for idx = x[:, :-1]).
    Positions whose target is ``ignore_index`` do not count. exp(loss) is the perplexity."""
    dims = check_tensor("idx", idx, shape=("B", "T"), dtype=torch.long)
    check_tensor("targets", targets, shape=("B", "T"), dtype=torch.long, dims=dims)
    logits = model(idx).logits  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=ignore_index)
