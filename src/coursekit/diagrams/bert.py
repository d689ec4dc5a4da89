"""Chapter 9's diagrams (BERT): which positions a token sees in GPT, ELMo and BERT; BERT's
input (token + segment + position embeddings, Devlin et al. 2019, Fig. 2); the two
pretraining heads with the 80/10/10 corruption (Sec. 3.1); and Sentence-BERT's siamese
network (Reimers & Gurevych 2019, Fig. 1 and 2)."""

from __future__ import annotations

from .registry import diagram
from .svg import Canvas

__all__: list[str] = []


@diagram(
    "bert_directions",
    chapter=9,
    title="What each position sees: GPT, ELMo and BERT",
    alt="""Three five by five grids, one per model, for the tokens the, cat, sat, on, it; rows
    are the positions being represented, columns the positions they read. GPT: only the
    lower triangle is filled, each position reads itself and the positions to its left.
    ELMo: the lower triangle belongs to a forward LSTM language model and the upper triangle
    to a backward one, trained jointly with shared input embeddings and softmax; each sees one
    side only and the two never mix inside the network, their states are only concatenated.
    BERT: every cell is filled, every position reads both sides in every layer, which is why
    its training task must hide the word to be predicted behind a [MASK] token.""",
)
def bert_directions() -> Canvas:
    c = Canvas("bert_directions", height=330)
    tokens = ["the", "cat", "sat", "on", "it"]
    n, size, top = 5, 20, 96
    panels = (
        (66, "GPT", "left only"),
        (178, "ELMo", "two one-way LMs"),
        (290, "BERT", "both sides"),
    )
    c.text(12, 20, "Row: the position represented. Column: what it reads.", colour="muted", anchor="start")
    for i, tok in enumerate(tokens):
        c.text(58, top + i * size + size / 2, tok, anchor="end")
    for x0, name, note in panels:
        cx = x0 + n * size / 2
        c.text(cx, 50, name, size="head")
        c.text(cx, 70, note, colour="muted")
        for i in range(n):
            for j in range(n):
                x, y = x0 + j * size + 1.5, top + i * size + 1.5
                if name == "GPT":
                    role, opacity = ("dec", 0.55) if j <= i else ("neutral", 0.08)
                elif name == "ELMo":
                    role, opacity = ("enc", 0.55) if j < i else ("dec", 0.55) if j > i else ("neutral", 0.35)
                else:
                    role, opacity = "attn", 0.55
                c.cell(x, y, size - 3, size - 3, role, opacity)
    # the key axis, once, under the grids
    y_axis = top + n * size + 14
    c.arrow((66, y_axis), (66 + n * size, y_axis))
    c.text(66 + n * size / 2, y_axis + 16, "key →", colour="muted")
    # ELMo's two halves, named under its grid
    c.text(178, y_axis + 4, "below: forward", colour="enc", anchor="start")
    c.text(178, y_axis + 22, "above: backward", colour="dec", anchor="start")
    c.text(290 + n * size / 2, y_axis + 4, "all of it,", colour="attn")
    c.text(290 + n * size / 2, y_axis + 22, "every layer", colour="attn")
    c.text(12, 276, "ELMo never mixes its two directions (states concatenated);", colour="muted", anchor="start")
    c.text(12, 296, "BERT mixes both in every layer, so the word to predict", colour="muted", anchor="start")
    c.text(12, 316, "must be hidden from the input: [MASK].", colour="muted", anchor="start")
    return c


@diagram(
    "bert_input",
    chapter=9,
    title="BERT's input: token, segment and position embeddings, summed",
    alt="""The sentence pair my dog is cute / he likes playing, written down the page as the
    tokens [CLS], my, dog, is, cute, [SEP], he, likes, play, ##ing, [SEP] (playing splits into
    two WordPieces). Each token's input vector is the sum of three learned embeddings: its
    token embedding, a segment embedding (E_A for [CLS], sentence A and its [SEP]; E_B for
    sentence B and the final [SEP]) and a position embedding E_0 to E_10. The sum goes through
    LayerNorm and dropout and gives a (B, T, H) tensor, the input of the first encoder layer.
    After Devlin et al. 2019, Figure 2.""",
)
def bert_input() -> Canvas:
    tokens = ["[CLS]", "my", "dog", "is", "cute", "[SEP]", "he", "likes", "play", "##ing", "[SEP]"]
    n_a = 6  # [CLS] + sentence A + [SEP]
    row, top = 28, 62
    c = Canvas("bert_input", height=top + len(tokens) * row + 76)
    cols = dict(tok=44, emb=142, seg=248, pos=342)
    c.text(cols["tok"], 22, "input", size="head")
    c.text(cols["emb"], 22, "token", size="head")
    c.text(cols["seg"], 22, "segment", size="head")
    c.text(cols["pos"], 22, "position", size="head")
    c.text(cols["emb"], 42, "(V × H)", colour="muted", mono=True)
    c.text(cols["seg"], 42, "(2 × H)", colour="muted", mono=True)
    c.text(cols["pos"], 42, "(P × H)", colour="muted", mono=True)
    for t, tok in enumerate(tokens):
        y = top + t * row + row / 2
        seg = "A" if t < n_a else "B"
        c.text(cols["tok"], y, tok, size="label", mono=tok.startswith("[") or tok.startswith("#"))
        c.box(cols["emb"], y, 84, row - 6, f"$E_{{{tok.strip('[]#')}}}$" if len(tok) <= 5 else tok, "neutral",
              size="small")
        c.add_node(195, y, r=7)
        c.box(cols["seg"], y, 54, row - 6, f"$E_{seg}$", "enc" if seg == "A" else "dec", size="small")
        c.add_node(295, y, r=7)
        c.box(cols["pos"], y, 54, row - 6, f"$E_{{{t}}}$", "attn", size="small")
    bottom = top + len(tokens) * row
    c.arrow((200, bottom + 4), (200, bottom + 26))
    c.text(200, bottom + 42, "sum → LayerNorm → dropout", size="label")
    c.text(200, bottom + 62, "(B, T, H): the first layer's input", colour="muted")
    return c


@diagram(
    "bert_pretraining",
    chapter=9,
    title="BERT's two pretraining tasks: masked LM and next sentence prediction",
    alt="""A sentence pair enters the encoder as [CLS] the dog [MASK] loud [SEP] it ran [SEP];
    every token reads every other in every layer. Two heads sit on top. The masked language
    model head reads the output at the [MASK] position and predicts the original word,
    barked, with a softmax over the whole vocabulary, its output matrix tied to the token
    embedding. The next sentence prediction head reads the pooled [CLS] output and says
    IsNext (label 0) or NotNext (label 1). Below, the corruption rule: 15% of the tokens
    (never [CLS], [SEP] or padding) are chosen; of those, 80% become [MASK], 10% a random
    token and 10% stay unchanged, and only the chosen positions carry a label (the others
    are -100, ignored by the loss).""",
)
def bert_pretraining() -> Canvas:
    c = Canvas("bert_pretraining", height=476)
    tokens = ["[CLS]", "the", "dog", "[MASK]", "loud", "[SEP]", "it", "ran", "[SEP]"]
    step, x_first = 42, 32
    xs = [x_first + i * step for i in range(len(tokens))]
    # heads
    c.text(70, 22, "IsNext (0) or", size="small")
    c.text(70, 40, "NotNext (1)", size="small")
    c.text(262, 22, "the original word:", size="small")
    c.text(262, 40, "barked", size="label", colour="attn")
    nsp = c.box(70, 82, 116, 34, "NSP head", "dec", sub="pooled [CLS]")
    mlm = c.box(262, 82, 210, 34, "MLM head", "attn", sub="softmax over V (tied)")
    c.arrow(nsp.top, (70, 50))
    c.arrow(mlm.top, (262, 50))
    enc = c.box(200, 170, 380, 44, "BERT encoder: $L$ bidirectional blocks", "enc")
    c.arrow((xs[0], enc.y), (xs[0], nsp.y + nsp.h))
    c.arrow((xs[3], enc.y), (xs[3], mlm.y + mlm.h))
    c.text(xs[0] + 6, 123, "$C$", size="label", anchor="start")
    c.text(xs[3] + 6, 123, "$T_3$", size="label", anchor="start")
    y_tok = 232
    for x, tok in zip(xs, tokens):
        c.arrow((x, y_tok - 10), (x, enc.y + enc.h))
        c.text(x, y_tok, tok, colour="attn" if tok == "[MASK]" else "ink")
    c.text(x_first + 2 * step, y_tok + 20, "sentence A", colour="muted")
    c.text(x_first + 6.5 * step, y_tok + 20, "sentence B", colour="muted")
    # the corruption rule
    y0 = 290
    c.text(12, y0, "15% of tokens are chosen (never [CLS],", size="head", anchor="start")
    c.text(12, y0 + 20, "[SEP], padding); each chosen one becomes:", size="head", anchor="start")
    rows = (
        ("80%", "[MASK]", "the dog [MASK] loud", "attn", 0.8),
        ("10%", "a random token", "the dog apple loud", "dec", 0.1),
        ("10%", "itself, unchanged", "the dog barked loud", "ffn", 0.1),
    )
    for k, (share, what, example, role, frac) in enumerate(rows):
        y = y0 + 50 + k * 38
        c.text(46, y, share, size="label", anchor="end")
        c.cell(54, y - 8, 100 * frac, 16, role, 0.8)
        c.text(164, y, what, anchor="start")
        c.text(164, y + 17, example, colour="muted", anchor="start", mono=True)
    c.text(12, 464, "Label: the original id where chosen, −100 elsewhere.", colour="muted", anchor="start")
    return c


@diagram(
    "sentence_bert",
    chapter=9,
    title="Sentence-BERT: one encoder, two sentences, mean pooling and cosine similarity",
    alt="""Two sentences, A and B, each go through the same BERT encoder (one set of weights,
    drawn twice: a siamese network). Each encoder returns a (T, H) matrix of token states;
    mean pooling over the real tokens (padding left out) turns it into one sentence vector,
    u for A and v for B, each of width H. The similarity of the two sentences is the cosine
    of u and v. Fine-tuning trains the shared encoder so that the cosine is high for pairs
    with the same meaning and low otherwise; at use time every sentence is encoded once and
    compared by cosine, with no pair run through the network together.""",
)
def sentence_bert() -> Canvas:
    c = Canvas("sentence_bert", height=400)
    xa, xb, w = 104, 296, 150
    c.text(200, 24, "cosine($u$, $v$)", size="label")
    cos = c.box(200, 62, 200, 34, "cosine similarity", "attn")
    c.arrow(cos.top, (200, 36))
    ys = dict(vec=124, pool=178, enc=250, sent=334)
    for x, s, vec in ((xa, "A", "u"), (xb, "B", "v")):
        v = c.box(x, ys["vec"], 90, 30, f"${vec}$", "neutral", size="label")
        c.arrow(v.top, (x, cos.y + cos.h), role=None)
        p = c.box(x, ys["pool"], w, 34, "mean pooling", "ffn", sub="real tokens only")
        c.arrow(p.top, v.bottom)
        e = c.box(x, ys["enc"], w, 52, "BERT encoder", "enc", sub="(T, H) states")
        c.arrow(e.top, p.bottom)
        c.text(x, ys["sent"] + 26, f"sentence {s}", size="label")
        c.arrow((x, ys["sent"] + 14), e.bottom)
    c.text(200, ys["vec"], "(H,)", colour="muted", mono=True)
    # the shared weights
    c.path(f"M{xa + w / 2:g},{ys['enc']:g} H{xb - w / 2:g}", dashed=True)
    c.text(200, ys["enc"] + 46, "same weights", colour="muted")
    c.text(200, 388, "each sentence is encoded once, alone", colour="muted")
    return c
