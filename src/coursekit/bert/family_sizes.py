"""The BERT family's sizes: every published configuration counted exactly, beside its paper.

Each model is BERT with a few fields changed, so each published configuration is a coursekit
config (:func:`coursekit.bert.bert_base`, :mod:`coursekit.bert.variants`' ``roberta_base``,
``albert_base``, ``distilbert_base`` with the published widths) counted by
:func:`coursekit.bert.sizes.parameter_breakdown`, which equals transformers' models:

- Devlin et al. (2019), *BERT*, https://arxiv.org/abs/1810.04805, Sec. 3: base (L=12, H=768,
  A=12) "110M", large (L=24, H=1024, A=16) "340M".
- Liu et al. (2019), *RoBERTa*, https://arxiv.org/abs/1907.11692, Sec. 5: BERT-large's
  architecture "(L = 24, H = 1024, A = 16, 355M parameters)"; a 50K byte-level BPE vocabulary
  (Sec. 4.4; the released one has 50,265 entries), 514 positions (two reserved by the padding
  offset), one segment. The paper gives no count for base; fairseq's README
  (examples/roberta) gives "125M".
- Lan et al. (2020), *ALBERT*, https://arxiv.org/abs/1909.11942, Table 1 (BERT base 108M,
  large 334M; ALBERT base 12M, large 18M, xlarge 60M, xxlarge 235M, all with E=128 and all
  layers shared) and Table 3 (ALBERT-base with E = 64/128/256/768, not shared: 87M/89M/93M/108M,
  all-shared: 10M/12M/16M/31M) and Table 4 (ALBERT-base with E=768 and E=128, sharing all,
  the attention sublayers only, the FFN sublayers only, or nothing: 31M/83M/57M/108M and
  12M/64M/38M/89M). V=30,000 throughout (Sec. 4.1). ALBERT's own code adds the
  E x H projection only when E != H.
- Sanh et al. (2019), *DistilBERT*, https://arxiv.org/abs/1910.01108, Table 3: 66M; BERT-base
  with 6 layers, no token-type embeddings and no pooler (Sec. 3).
- Yang et al. (2019), *XLNet*, https://arxiv.org/abs/1906.08237, Sec. 3.1: "XLNet-Large has the
  same architecture hyperparameters as BERT-Large, which results in a similar model size"; the
  paper gives no count. Its layers are Transformer-XL's (Dai et al. 2019): q, k, v, o and the
  relative-position projection r, no attention biases but three per-head bias vectors and a
  segment embedding per layer; :func:`xlnet_parameter_breakdown` counts transformers'
  ``XLNetModel``.

A paper's figure is read at its own precision: its significant figures, trailing zeros not
counted (110M: two figures; 60M: one; 235M: three). :func:`explain` says whether our count
rounds to it at that precision, whether it does once the pooler is left out, or by how much it
differs, and nothing stronger.

Legend: V vocab_size, P max_position_embeddings, G type_vocab_size, E embedding width,
H hidden_size, L layers, A heads, F intermediate_size (XLNet: d_model D, d_inner F, n_head A,
d_head Dh).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..utils import check_bool, check_int, check_positive
from .config import BertConfig
from .sizes import bert_base, parameter_breakdown, round_significant
from .variants import AlbertConfig, albert_base, distilbert_base, roberta_base

__all__ = [
    "XLNetSize",
    "xlnet_parameter_breakdown",
    "count_family",
    "Published",
    "FAMILY_SIZES",
    "ALBERT_TABLE3",
    "ALBERT_TABLE4",
    "significant_figures",
    "explain",
    "family_table",
    "albert_table3",
    "albert_table4",
]


@dataclass(frozen=True)
class XLNetSize:
    """XLNet's published shape, with transformers' XLNetConfig names."""

    vocab_size: int = 32000
    d_model: int = 1024
    n_layer: int = 24
    n_head: int = 16
    d_inner: int = 4096

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "n_layer", "n_head", "d_inner"):
            check_positive(name, getattr(self, name))
        if self.d_model % self.n_head:
            raise ValueError(f"d_model must be divisible by n_head, got d_model={self.d_model}, n_head={self.n_head}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_head


def xlnet_parameter_breakdown(size: XLNetSize) -> dict[str, int]:
    """Parameters of transformers' ``XLNetModel`` by part (no LM head; its weight is tied).

    Per layer: q, k, v, o, r each D x A x Dh (no biases), the content, position and segment
    biases r_w, r_r, r_s (A x Dh each), the segment embedding 2 x A x Dh, the attention's
    LayerNorm 2D; the FFN's D F + F + F D + D and its LayerNorm 2D. Plus the word embedding
    V D and the mask embedding D (the query stream's learned start, :mod:`coursekit.xlnet`)."""
    if not isinstance(size, XLNetSize):
        raise ValueError(f"size must be an XLNetSize, got {type(size).__name__}")
    D, F, A, Dh = size.d_model, size.d_inner, size.n_head, size.d_head
    attention = 5 * D * A * Dh + 3 * A * Dh + 2 * A * Dh + 2 * D
    ffn = D * F + F + F * D + D + 2 * D
    return {
        "word_embedding": size.vocab_size * D,
        "mask_emb": D,
        "layers": size.n_layer * (attention + ffn),
    }


def count_family(config: BertConfig | XLNetSize, *, pooler: bool | None = None) -> int:
    """Exact parameter count of a published configuration: a coursekit BERT-family config
    (:mod:`coursekit.bert.variants`) through :func:`coursekit.bert.sizes.parameter_breakdown`,
    or an :class:`XLNetSize`. ``pooler=False`` leaves the pooler out (None: as the model has it)."""
    if isinstance(config, XLNetSize):
        return sum(xlnet_parameter_breakdown(config).values())
    if not isinstance(config, BertConfig):
        raise ValueError(f"config must be a coursekit BertConfig (or variant) or an XLNetSize, got {type(config).__name__}")
    parts = parameter_breakdown(config)
    if pooler is not None:
        check_bool("pooler", pooler)
        if not pooler:
            parts["pooler"] = 0
    return sum(parts.values())


@dataclass(frozen=True)
class Published:
    """A model of the family: its shape, the paper's figure (None: it gives none), where the
    figure is, when the paper appeared (year, month of its first arXiv version) and what it
    changed from the model before it."""

    name: str
    family: str
    size: BertConfig | XLNetSize
    published: int | None
    source: str
    date: tuple[int, int]
    changed: str = field(default="")


def _bert(L: int, H: int, **kw) -> BertConfig:
    return bert_base(hidden_size=H, num_hidden_layers=L, num_attention_heads=H // 64, intermediate_size=4 * H, **kw)


def _roberta(L: int, H: int) -> BertConfig:
    return roberta_base(hidden_size=H, num_hidden_layers=L, num_attention_heads=H // 64, intermediate_size=4 * H)


def _albert(L: int, H: int, E: int = 128, shared: bool = True) -> AlbertConfig:
    """ALBERT with L layers of width H and embedding E; ``shared``: one group for all layers
    (ALBERT), else one per layer (not shared)."""
    return albert_base(hidden_size=H, num_hidden_layers=L, num_attention_heads=H // 64, intermediate_size=4 * H,
                       embedding_size=E, num_hidden_groups=1 if shared else L)


_BERT_WHAT = "bidirectional encoder: masked LM (15%, 80/10/10) + next-sentence prediction"
_ROBERTA_WHAT = "same encoder; dynamic masking, no NSP, byte-level BPE (50K), bigger batches, 10x data"
_ALBERT_WHAT = "factorised embedding E=128, all layers share one set of weights, sentence-order prediction"
_DISTIL_WHAT = "half of BERT-base's layers, no segments, no pooler; distilled from BERT (triple loss)"
_XLNET_WHAT = "permutation LM with two-stream attention on Transformer-XL (relative positions, memory)"

FAMILY_SIZES: dict[str, Published] = {p.name: p for p in (
    Published("BERT-base", "BERT", _bert(12, 768), 110_000_000, "Devlin et al. 2019, Sec. 3", (2018, 10), _BERT_WHAT),
    Published("BERT-large", "BERT", _bert(24, 1024), 340_000_000, "Devlin et al. 2019, Sec. 3", (2018, 10), _BERT_WHAT),
    Published("XLNet-base", "XLNet", XLNetSize(d_model=768, n_layer=12, n_head=12, d_inner=3072), None,
              "Yang et al. 2019: no count given", (2019, 6), _XLNET_WHAT),
    Published("XLNet-large", "XLNet", XLNetSize(), None,
              "Yang et al. 2019, Sec. 3.1: 'similar model size' to BERT-large", (2019, 6), _XLNET_WHAT),
    Published("RoBERTa-base", "RoBERTa", _roberta(12, 768), 125_000_000,
              "fairseq README (examples/roberta); not in the paper", (2019, 7), _ROBERTA_WHAT),
    Published("RoBERTa-large", "RoBERTa", _roberta(24, 1024), 355_000_000, "Liu et al. 2019, Sec. 5", (2019, 7),
              _ROBERTA_WHAT),
    Published("BERT-base (ALBERT's count)", "BERT", _bert(12, 768, vocab_size=30000), 108_000_000,
              "Lan et al. 2020, Table 1", (2019, 9), "BERT-base with ALBERT's 30,000-token vocabulary"),
    Published("BERT-large (ALBERT's count)", "BERT", _bert(24, 1024, vocab_size=30000), 334_000_000,
              "Lan et al. 2020, Table 1", (2019, 9), "BERT-large with ALBERT's 30,000-token vocabulary"),
    Published("ALBERT-base", "ALBERT", _albert(12, 768), 12_000_000, "Lan et al. 2020, Table 1", (2019, 9), _ALBERT_WHAT),
    Published("ALBERT-large", "ALBERT", _albert(24, 1024), 18_000_000, "Lan et al. 2020, Table 1", (2019, 9), _ALBERT_WHAT),
    Published("ALBERT-xlarge", "ALBERT", _albert(24, 2048), 60_000_000, "Lan et al. 2020, Table 1", (2019, 9),
              _ALBERT_WHAT),
    Published("ALBERT-xxlarge", "ALBERT", _albert(12, 4096), 235_000_000, "Lan et al. 2020, Table 1", (2019, 9),
              _ALBERT_WHAT + "; H=4096, 64 heads, 12 layers"),
    Published("ALBERT-base, not shared", "ALBERT", _albert(12, 768, shared=False), 89_000_000,
              "Lan et al. 2020, Table 3", (2019, 9), "factorised embedding E=128 alone"),
    Published("ALBERT-large, not shared", "ALBERT", _albert(24, 1024, shared=False), None,
              "no figure in the paper", (2019, 9), "factorised embedding E=128 alone"),
    Published("ALBERT-xlarge, not shared", "ALBERT", _albert(24, 2048, shared=False), None,
              "no figure in the paper", (2019, 9), "factorised embedding E=128 alone"),
    Published("ALBERT-xxlarge, not shared", "ALBERT", _albert(12, 4096, shared=False), None,
              "no figure in the paper", (2019, 9), "factorised embedding E=128 alone"),
    Published("DistilBERT", "DistilBERT", distilbert_base(), 66_000_000,
              "Sanh et al. 2019, Table 3", (2019, 10), _DISTIL_WHAT),
)}

# ALBERT Table 3: ALBERT-base (L=12, H=768) with embedding size E, not shared and all-shared.
ALBERT_TABLE3: dict[tuple[str, int], int] = {
    ("not-shared", 64): 87_000_000, ("not-shared", 128): 89_000_000,
    ("not-shared", 256): 93_000_000, ("not-shared", 768): 108_000_000,
    ("all-shared", 64): 10_000_000, ("all-shared", 128): 12_000_000,
    ("all-shared", 256): 16_000_000, ("all-shared", 768): 31_000_000,
}


# ALBERT Table 4: ALBERT-base (L=12, H=768) with embedding size E and a cross-layer sharing strategy
# (coursekit.bert.variants.AlbertConfig's share; "none" = one group per layer).
ALBERT_TABLE4: dict[tuple[str, int], int] = {
    ("all", 768): 31_000_000, ("attention", 768): 83_000_000, ("ffn", 768): 57_000_000, ("none", 768): 108_000_000,
    ("all", 128): 12_000_000, ("attention", 128): 64_000_000, ("ffn", 128): 38_000_000, ("none", 128): 89_000_000,
}


def significant_figures(n: int) -> int:
    """How many significant figures a published figure has, trailing zeros not counted
    (110,000,000 -> 2; 60,000,000 -> 1; 235,000,000 -> 3)."""
    check_int("n", n, min=1)
    digits = str(n).rstrip("0")
    return len(digits)


def explain(counted: int, published: int | None, *, without_pooler: int | None = None) -> str:
    """A discrepancy note computed from the numbers: "rounds to the paper's" at the paper's
    precision, else whether leaving out the pooler makes it round, else the difference,
    stated as unexplained."""
    check_int("counted", counted, min=1)
    if published is None:
        return f"no figure to compare; counted {counted / 1e6:.1f}M"
    check_int("published", published, min=1)
    figures = significant_figures(published)
    at = f"{figures} significant figure" + ("s" if figures > 1 else "")
    if round_significant(counted, figures) == published:
        return f"rounds to the paper's ({counted / 1e6:.2f}M at {at})"
    if without_pooler is not None and round_significant(without_pooler, figures) == published:
        return (f"rounds to the paper's only without the pooler ({without_pooler / 1e6:.2f}M at {at}; "
                f"with it {counted / 1e6:.2f}M): the paper seems to leave the pooler out here")
    diff = counted - published
    return (f"differs by {diff / 1e6:+.1f}M ({diff / published:+.1%}) at {at}: unexplained "
            f"(without the pooler {without_pooler / 1e6:.2f}M)" if without_pooler is not None else
            f"differs by {diff / 1e6:+.1f}M ({diff / published:+.1%}) at {at}: unexplained")


def _row(name: str, family: str, size: BertConfig | XLNetSize, published: int | None, source: str) -> dict:
    counted = count_family(size)
    xlnet = isinstance(size, XLNetSize)
    no_pool = None if xlnet or not size.has_pooler else count_family(size, pooler=False)
    if xlnet:
        shape = dict(L=size.n_layer, H=size.d_model, A=size.n_head, E=size.d_model, V=size.vocab_size, shared="no")
    else:
        groups = getattr(size, "num_hidden_groups", size.num_hidden_layers)
        shape = dict(L=size.num_hidden_layers, H=size.hidden_size, A=size.num_attention_heads, E=size.d_embed,
                     V=size.vocab_size,
                     shared="all layers" if groups == 1 else "no" if groups == size.num_hidden_layers else f"{groups} groups")
    return {
        "model": name, "family": family, **shape, "counted": counted, "without_pooler": no_pool,
        "counted_M": round(counted / 1e6, 1), "published": published,
        "published_M": None if published is None else published / 1e6, "source": source,
        "note": explain(counted, published, without_pooler=no_pool),
    }


def family_table() -> list[dict]:
    """One row per model of :data:`FAMILY_SIZES`: shape, our exact count (the encoder with its
    pooler where it has one), the count without the pooler, the paper's figure, its source and
    the computed note."""
    return [_row(p.name, p.family, p.size, p.published, p.source) for p in FAMILY_SIZES.values()]


def albert_table3() -> list[dict]:
    """ALBERT's Table 3 recounted: ALBERT-base (L=12, H=768, V=30,000) at each embedding size E,
    not shared and all-shared; as in ALBERT's code, an E x H projection only when E != H."""
    rows = []
    for (setting, E), published in ALBERT_TABLE3.items():
        size = _albert(12, 768, E=E, shared=setting == "all-shared")
        row = _row(f"ALBERT-base {setting}, E={E}", "ALBERT", size, published, "Lan et al. 2020, Table 3")
        rows.append({"setting": setting, **row})
    return rows


def albert_table4() -> list[dict]:
    """ALBERT's Table 4 recounted: ALBERT-base at E=768 and E=128 with each sharing strategy
    (all, attention only, FFN only, none), ``share`` giving it; keys as :func:`family_table`."""
    rows = []
    for (share, E), published in ALBERT_TABLE4.items():
        if share == "none":
            size = _albert(12, 768, E=E, shared=False)
        else:
            size = albert_base(embedding_size=E, share=share)
        row = _row(f"ALBERT-base E={E}, shared {share}", "ALBERT", size, published, "Lan et al. 2020, Table 4")
        rows.append({"share": share, **row})
    return rows
