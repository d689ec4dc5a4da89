"""Tests for coursekit.viz.bert: the fill-mask explorer shows exactly the chosen position's
predictions (checked on the rendered chart), the similarity heatmap puts each cosine at its
pair and reads out the chosen pair, both are phone-sized and reject bad input; the live boxes
run their callables; the bertviz views take a BERT's attentions."""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.viz.bert import (
    HEATMAP_PX,
    fill_mask_box,
    fill_mask_explorer,
    show_bert_attention,
    shorten,
    similarity_box,
    similarity_heatmap,
)
from test_viz import svg  # rendered with this Altair's Vega-Lite
from test_viz_schedules import datasets, params, walk

SENTENCES = {
    "the cat sat on the mat": ["the", "cat", "sat", "on", "the", "mat"],
    "a dog barked at the mailman": ["a", "dog", "barked", "at", "the", "mail", "##man"],
}


def table(k: int = 3) -> list[dict]:
    """Every position of both sentences, k predictions each; each probability is unique
    ((100 s + 10 p + rank) / 1000), and rank 1 is the true token at even positions."""
    rows = []
    for s, (text, toks) in enumerate(SENTENCES.items()):
        for p, tok in enumerate(toks):
            guesses = [tok if p % 2 == 0 else "zzz", "yy", "xx", "ww"][:k]
            for r, g in enumerate(guesses, start=1):
                rows.append(dict(sentence=text, tokens=toks, position=p, rank=r, prediction=g,
                                 probability=(100 * s + 10 * p + r) / 1000))
    return rows


def percent(s: int, p: int, r: int) -> str:
    return f"{(100 * s + 10 * p + r) / 10:.1f}%"


# ----------------------------------------------------------------------------- fill the mask
@pytest.mark.parametrize("sentence, position", [(0, 0), (0, 3), (1, 5)])
def test_explorer_shows_only_the_chosen_positions_predictions(sentence, position):
    text = svg(fill_mask_explorer(table(), sentence=sentence, position=position))
    for s, toks in enumerate(SENTENCES.values()):
        for p in range(len(toks)):
            for r in (1, 2, 3):
                shown = f">{percent(s, p, r)}<" in text
                assert shown == ((s, p) == (sentence, position)), (s, p, r)
    # the chosen sentence's tokens are drawn, the other's are not
    assert ">mail<" in text if sentence == 1 else ">mail<" not in text


def test_explorer_orders_bars_by_rank_and_marks_the_true_token():
    spec = fill_mask_explorer(table()).to_dict()
    preds = next(d for d in datasets(spec) if d and "prediction" in d[0])
    assert len(preds) == 3 * sum(len(t) for t in SENTENCES.values())
    assert all(r["true"] == (r["rank"] == 1 and r["position"] % 2 == 0) for r in preds)
    sorts = [d["sort"] for d in walk(spec) if d.get("field") == "prediction" and "sort" in d]
    assert sorts and all(s == {"field": "rank", "op": "min"} for s in sorts)
    # bars in rank order on the rendered chart: rank 1's label is drawn above rank 2's
    text = svg(fill_mask_explorer(table(), sentence=0, position=1))
    y = {w: float(re.search(rf'translate\(-?[\d.]+,([\d.]+)\)"[^>]*>{w}</text>', text).group(1)) for w in ("zzz", "yy", "xx")}
    assert y["zzz"] < y["yy"] < y["xx"]


def test_explorer_controls_are_a_menu_and_a_tap_selection_and_it_fits_a_phone():
    spec = fill_mask_explorer(table(), sentence=1, position=2).to_dict()
    ps = params(spec)
    menu = next(p for n, p in ps.items() if n.startswith("sentence_"))
    tap = next(p for n, p in ps.items() if n.startswith("masked_"))
    assert menu["value"] == 1 and menu["bind"]["input"] == "select" and menu["bind"]["options"] == [0, 1]
    assert menu["bind"]["labels"] == list(SENTENCES)
    assert tap["select"]["on"] == "click" and tap["value"] == [{"position": 2}]
    widths = [d["width"] for d in walk(spec) if isinstance(d.get("width"), (int, float))]
    assert widths and max(widths) <= 320
    assert "2 sentences" in spec["description"]


def test_explorer_default_position_is_the_first_with_predictions():
    rows = [r for r in table() if not (r["sentence"] == "the cat sat on the mat" and r["position"] < 2)]
    tap = next(p for n, p in params(fill_mask_explorer(rows).to_dict()).items() if n.startswith("masked_"))
    assert tap["value"] == [{"position": 2}]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda rows: [{k: v for k, v in rows[0].items() if k != "rank"}], "must have keys"),
        (lambda rows: [dict(rows[0], position=6)], r"position'\] must be an int in \[0, 6\)"),
        (lambda rows: [dict(rows[0], probability=1.5)], r"must be in \[0, 1\]"),
        (lambda rows: [rows[0], dict(rows[1], tokens=["x"])], "must be the same for every row"),
        (lambda rows: [], "non-empty list of dicts"),
    ],
)
def test_explorer_rejects_bad_tables(change, message):
    with pytest.raises(ValueError, match=message):
        fill_mask_explorer(change(table()))


def test_explorer_rejects_a_position_without_predictions():
    with pytest.raises(ValueError, match="position must be a masked position"):
        fill_mask_explorer([r for r in table() if r["position"] != 3], position=3)


# ----------------------------------------------------------------------------- similarity heatmap
TEXTS = ["A man is playing a guitar on a small stage.", "Someone plays an instrument.", "The cat sleeps.", "Markets fell."]


def cosines() -> torch.Tensor:
    x = torch.nn.functional.normalize(torch.randn(4, 6, generator=torch.Generator().manual_seed(1)), dim=-1)
    return x @ x.T


def test_heatmap_puts_each_cosine_at_its_pair():
    m = cosines()
    spec = similarity_heatmap(TEXTS, m, source="probe").to_dict()
    cells = next(d for d in datasets(spec) if d and "cos" in d[0])
    assert len(cells) == 16
    for c in cells:
        assert c["cos"] == pytest.approx(m[c["i"], c["j"]].item(), abs=1e-4)
        assert (c["a"], c["b"]) == (TEXTS[c["i"]], TEXTS[c["j"]])
    assert "probe" in str(spec["vconcat"][0]["title"])


def test_heatmap_reads_out_the_pointed_pair_in_full_and_shortens_the_axes():
    m = cosines()
    text = svg(similarity_heatmap(TEXTS, m))
    assert f"cosine {m[0, 1].item():.3f} between" in text
    assert "guitar" in text and "small stage" in text  # the readout wraps the full sentence
    labels = re.findall(r">([^<]*…)</text>", text)
    assert shorten(TEXTS[0]) in labels
    spec = similarity_heatmap(TEXTS, m).to_dict()
    ps = params(spec)
    assert {n.split("_")[0] for n in ps} >= {"row", "col"}
    assert all(p["select"]["on"] == "pointerover" for p in ps.values() if "select" in p)
    assert max(d["width"] for d in walk(spec) if isinstance(d.get("width"), (int, float))) == HEATMAP_PX


@pytest.mark.parametrize(
    "sentences, matrix, message",
    [
        (TEXTS, torch.eye(3), r"matrix must be \(N, N\)"),
        (TEXTS[:1], torch.eye(1), r"N = len\(sentences\) >= 2"),
        (TEXTS, 2 * torch.eye(4), r"in \[-1, 1\]"),
        (TEXTS, torch.eye(4) + torch.diag(torch.ones(3) * 0.5, 1), "symmetric"),
        ("one string", torch.eye(4), "list of tokens"),
    ],
)
def test_heatmap_rejects_bad_input(sentences, matrix, message):
    with pytest.raises(ValueError, match=message):
        similarity_heatmap(sentences, matrix)


def test_shorten_cuts_at_a_word_and_keeps_short_text():
    assert shorten("short one") == "short one"
    assert shorten("A man is playing a guitar", 18) == "A man is playing…"
    assert len(shorten("x" * 40, 18)) == 18


# ----------------------------------------------------------------------------- live boxes
def output_text(box) -> str:
    return "".join(o.get("text", "") for o in box.children[-1].outputs)


def test_fill_mask_box_prints_each_masks_guesses():
    calls = []

    def fill(text):
        calls.append(text)
        return [[("sat", 0.5), ("lay", 0.25)], [("mat", 0.75)]]

    box = fill_mask_box(fill, "the cat [MASK] on the [MASK]")
    box.predict()
    assert calls == ["the cat [MASK] on the [MASK]"]
    assert "[MASK] #1: sat 50.0%, lay 25.0%" in output_text(box) and "[MASK] #2: mat 75.0%" in output_text(box)
    box.children[0].value = "no mask here"
    box.predict()
    assert "Write [MASK]" in output_text(box) and len(calls) == 1
    with pytest.raises(ValueError, match="fill must be a function"):
        fill_mask_box("not a function")


def test_similarity_box_prints_the_matrix():
    seen = []

    def similarity(lines):
        seen.append(lines)
        return torch.eye(len(lines))

    box = similarity_box(similarity, ["one", "two"])
    box.compare()
    assert seen == [["one", "two"]]
    out = output_text(box)
    assert " 1. one" in out and "1.00" in out and "0.00" in out
    box.children[0].value = "only one"
    box.compare()
    assert "at least two" in output_text(box)
    with pytest.raises(ValueError, match="similarity must be a function"):
        similarity_box(None)


# ----------------------------------------------------------------------------- bertviz
def test_bertviz_views_take_a_berts_attentions():
    from coursekit.bert import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=16)
    model = BertModel(cfg).eval()
    ids = torch.tensor([[2, 5, 6, 3, 7, 3]])
    with torch.no_grad():
        out = model(ids, token_type_ids=torch.tensor([[0, 0, 0, 0, 1, 1]]), need_weights=True)
    tokens = ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"]
    head = show_bert_attention(out.attentions, tokens, sentence_b_start=4, html_action="return")
    model_html = show_bert_attention(out.attentions, tokens, view="model", sentence_b_start=4, html_action="return")
    for html in (head.data, model_html.data):
        # every layer's weights travel, and sentence B (from position 4) gets its own views
        assert html.count('"left_text": ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"]') >= 1
        assert '"left_text": ["c", "[SEP]"]' in html
        assert f"{out.attentions[1][0, 1, 2, 3].item():.6f}"[:7] in html
    assert "thumbnail" in model_html.data.lower() and "thumbnail" not in head.data.lower()
    with pytest.raises(ValueError, match="view must be"):
        show_bert_attention(out.attentions, tokens, view="neuron")
    with pytest.raises(ValueError, match="T = len"):
        show_bert_attention(out.attentions, tokens[:-1])
    with pytest.raises(ValueError, match="sentence_b_start must be"):
        show_bert_attention(out.attentions, tokens, sentence_b_start=6)
    with pytest.raises(ValueError, match="batch of one"):
        show_bert_attention([torch.cat([a, a]) for a in out.attentions], tokens)


def rendered_width(chart) -> float:
    return float(re.search(r'<svg[^>]*width="([\d.]+)"', svg(chart)).group(1))


def test_both_charts_fit_a_390_px_phone_with_long_sentences():
    long = ["A man is playing a guitar on stage.", "Someone performs a song with an electric guitar.",
            "The cat is sleeping on the windowsill.", "A kitten naps in the warm sun by the window.",
            "The stock market fell sharply this morning.", "Share prices dropped as trading opened.",
            "This function returns a sorted copy of the list.", "The method gives back the items in order."]
    assert rendered_width(similarity_heatmap(long, torch.eye(8), source="all-MiniLM-L6-v2")) <= 390
    assert rendered_width(fill_mask_explorer(table(k=5), source="the chapter's tiny BERT")) <= 390
