"""Tests for coursekit.seq2seq: equivalence with torch's own modules and with brute force,
the invariants of attention and decoding, and overfitting one tiny batch."""

import functools
import itertools
import re
from dataclasses import FrozenInstanceError, replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from coursekit.data import Vocab, copy_task
from coursekit.seq2seq import (
    Attention,
    AttentionScore,
    Decoded,
    Encoder,
    Seq2Seq,
    Seq2SeqConfig,
    Seq2SeqOutput,
    accuracy_by_length,
    beam_step,
    evaluate,
    reverse_within_length,
    sequence_loss,
    teacher_forced_accuracy,
)
from coursekit.utils import seed_everything


pytestmark = pytest.mark.usefixtures("one_thread")

V = 9  # 4 specials + 5 symbols


def small_cfg(**kw) -> Seq2SeqConfig:
    base = dict(src_vocab_size=V, tgt_vocab_size=V, emb_dim=8, hidden_size=16, attn_dim=8)
    return Seq2SeqConfig(**{**base, **kw})


def make_model(seed=0, **kw) -> Seq2Seq:
    seed_everything(seed)
    return Seq2Seq(small_cfg(**kw)).eval()


def make_batch(lengths=(6, 3, 1), S=None, T=5, seed=0):
    """A padded source (B, S) with the given real lengths, and a teacher-forcing input (B, T)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    B, S = len(lengths), S or int(lengths.max())
    src = torch.randint(4, V, (B, S), generator=g)
    src = src.masked_fill(torch.arange(S)[None, :] >= lengths[:, None], Vocab.pad_id)
    tgt_in = torch.randint(4, V, (B, T), generator=g)
    tgt_in[:, 0] = Vocab.bos_id
    return src, lengths, tgt_in


# Every way of wiring the Luong decoder (None = the fixed context vector).
LUONG = {
    "none-gru": dict(attention=None),
    "none-lstm": dict(attention=None, cell="lstm"),
    "dot": dict(attention="dot"),
    "general-lstm": dict(attention="general", cell="lstm"),
    "concat": dict(attention="concat"),
    "additive": dict(attention="additive"),
    "local-m": dict(attention="dot", window=1, local="monotonic"),
    "local-p": dict(attention="general", window=2, local="predictive"),
    "hard": dict(attention="additive", hard=True),
}
BAHDANAU = {
    "bahdanau-none": dict(decoder="bahdanau", attention=None),
    "bahdanau-additive": dict(decoder="bahdanau", attention="additive"),
    "bahdanau-lstm-local-p": dict(decoder="bahdanau", attention="concat", cell="lstm", window=1),
    "bahdanau-hard": dict(decoder="bahdanau", attention="dot", hard=True),
}
ALL = {**LUONG, **BAHDANAU}
WITH_ATTENTION = {k: v for k, v in ALL.items() if v["attention"] is not None}


# ------------------------------------------------------------------ reverse_within_length
def test_reverse_within_length_example_and_padding_untouched():
    x = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0], [7, 0, 0, 0]])
    lengths = torch.tensor([4, 2, 1])
    expected = torch.tensor([[4, 3, 2, 1], [6, 5, 0, 0], [7, 0, 0, 0]])
    torch.testing.assert_close(reverse_within_length(x, lengths), expected)


def test_reverse_within_length_is_its_own_inverse_on_feature_tensors():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 4)
    lengths = torch.tensor([5, 2, 3])
    r = reverse_within_length(x, lengths)
    torch.testing.assert_close(reverse_within_length(r, lengths), x, atol=0, rtol=0)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(r[b, :n], x[b, :n].flip(0), atol=0, rtol=0)
        torch.testing.assert_close(r[b, n:], x[b, n:], atol=0, rtol=0)  # padding stays put


# ------------------------------------------------------------------ encoder vs torch
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_encoder_equals_packed_bidirectional_rnn(cell):
    seed_everything(0)
    cfg = small_cfg(cell=cell)
    enc = Encoder(cfg)
    ref = (nn.GRU if cell == "gru" else nn.LSTM)(cfg.emb_dim, cfg.hidden_size // 2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(enc.rnn.fwd, name))
            getattr(ref, name + "_reverse").copy_(getattr(enc.rnn.bwd, name))
    src, lengths, _ = make_batch(lengths=(3, 6, 1, 4), S=7)  # unsorted, with an all-padding column
    memory, summary = enc(src, lengths)
    packed = pack_padded_sequence(enc.embed(src), lengths, batch_first=True, enforce_sorted=False)
    out, h_n = ref(packed)
    if cell == "lstm":
        h_n = h_n[0]
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
    assert memory.shape == (4, 7, cfg.hidden_size) and summary.shape == (4, cfg.hidden_size)
    torch.testing.assert_close(memory, out)  # real positions agree, padding is zero in both
    torch.testing.assert_close(summary, torch.cat([h_n[0], h_n[1]], dim=-1))
    assert torch.all(memory[src == Vocab.pad_id] == 0)


# ------------------------------------------------------------------ the loss vs torch
def test_sequence_loss_equals_cross_entropy_by_hand():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 7)
    tgt = torch.tensor([[4, 5, 2, 0], [6, 2, 0, 0], [4, 4, 4, 2]])
    logp = logits.log_softmax(-1)
    real = tgt != 0
    nll = -logp.gather(-1, tgt[..., None])[..., 0]
    by_hand = nll[real].mean()
    torch.testing.assert_close(sequence_loss(logits, tgt), by_hand)
    ref = F.cross_entropy(logits.reshape(-1, 7), tgt.reshape(-1), ignore_index=0)
    torch.testing.assert_close(sequence_loss(logits, tgt), ref)
    # padding does not count: changing logits at padded positions changes nothing
    logits2 = logits.clone()
    logits2[~real] = 100.0
    torch.testing.assert_close(sequence_loss(logits2, tgt), by_hand)


@pytest.mark.parametrize("eps", [0.1, 0.3])
def test_sequence_loss_with_label_smoothing(eps):
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 6)
    tgt = torch.tensor([[4, 5, 3, 2, 0], [5, 2, 0, 0, 0]])
    logp = logits.log_softmax(-1)
    real = tgt != 0
    nll = -logp.gather(-1, tgt[..., None])[..., 0]
    uniform = -logp.mean(-1)  # cross-entropy against the uniform distribution
    by_hand = ((1 - eps) * nll + eps * uniform)[real].mean()
    torch.testing.assert_close(sequence_loss(logits, tgt, label_smoothing=eps), by_hand)
    ref = nn.CrossEntropyLoss(ignore_index=0, label_smoothing=eps)(logits.reshape(-1, 6), tgt.reshape(-1))
    torch.testing.assert_close(sequence_loss(logits, tgt, label_smoothing=eps), ref)


def test_sequence_loss_bad_inputs():
    with pytest.raises(ValueError, match=r"logits must have a floating dtype, got torch.int64"):
        sequence_loss(torch.zeros(2, 3, 4, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tgt_out must have shape \(B, T\) with T=3, got \(2, 4\)"):
        sequence_loss(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"logits must have shape \(B, T, V\), got a 2-d tensor"):
        sequence_loss(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long))


# ------------------------------------------------------------------ the scores
def _qk(B=2, T=3, S=4, Dq=5, Dk=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, T, Dq, generator=g), torch.randn(B, S, Dk, generator=g)


def test_additive_score_is_bahdanaus_formula():
    torch.manual_seed(0)
    q, k = _qk()
    score = AttentionScore("additive", 5, 6, attn_dim=7)
    out = score(q, k)
    assert out.shape == (2, 3, 4)
    for b, t, s in itertools.product(range(2), range(3), range(4)):
        pre = score.W_q.weight @ q[b, t] + score.W_k.weight @ k[b, s] + score.W_k.bias
        torch.testing.assert_close(out[b, t, s], score.v.weight[0] @ torch.tanh(pre))


def test_concat_score_is_luongs_eq8_with_the_concatenation_built():
    torch.manual_seed(0)
    q, k = _qk()
    score = AttentionScore("concat", 5, 6, attn_dim=7)
    both = torch.cat([q[:, :, None, :].expand(2, 3, 4, 5), k[:, None, :, :].expand(2, 3, 4, 6)], dim=-1)
    reference = score.v(torch.tanh(score.W(both))).squeeze(-1)  # v^T tanh(W [h_t; h_s])
    torch.testing.assert_close(score(q, k), reference)


def test_concat_equals_additive_with_copied_weights():
    torch.manual_seed(0)
    q, k = _qk()
    concat = AttentionScore("concat", 5, 6, attn_dim=7)
    additive = AttentionScore("additive", 5, 6, attn_dim=7)
    with torch.no_grad():
        additive.W_q.weight.copy_(concat.W.weight[:, :5])  # query columns
        additive.W_k.weight.copy_(concat.W.weight[:, 5:])  # key columns
        additive.W_k.bias.copy_(concat.W.bias)
        additive.v.weight.copy_(concat.v.weight)
    torch.testing.assert_close(concat(q, k), additive(q, k))


def test_general_with_identity_equals_dot():
    q, k = _qk(Dq=6, Dk=6)
    general, dot = AttentionScore("general", 6, 6), AttentionScore("dot", 6, 6)
    with torch.no_grad():
        general.W.weight.copy_(torch.eye(6))
    torch.testing.assert_close(general(q, k), dot(q, k))
    torch.testing.assert_close(dot(q, k), torch.einsum("btd,bsd->bts", q, k))


def test_general_score_is_q_W_k():
    torch.manual_seed(0)
    q, k = _qk(Dq=5, Dk=6)
    general = AttentionScore("general", 5, 6)
    assert general.W.weight.shape == (5, 6)
    torch.testing.assert_close(general(q, k), torch.einsum("btq,qk,bsk->bts", q, general.W.weight, k))


def test_score_config_errors():
    with pytest.raises(ValueError, match=r"the dot score needs query_dim == key_dim, got 4 and 6"):
        AttentionScore("dot", 4, 6)
    with pytest.raises(ValueError, match=r"score must be one of \('additive', 'dot', 'general', 'concat'\), got 'cosine'"):
        AttentionScore("cosine", 4, 4)


# ------------------------------------------------------------------ attention invariants
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", list(WITH_ATTENTION))
def test_padding_never_receives_attention(name, training):
    model = make_model(**WITH_ATTENTION[name]).train(training)
    src, lengths, tgt_in = make_batch(lengths=(6, 3, 1, 2), S=8)
    torch.manual_seed(1)
    out = model(src, tgt_in, lengths)
    pad = (src == Vocab.pad_id)[:, None, :].expand_as(out.alignments)
    assert pad.any()
    assert torch.all(out.alignments[pad] == 0)
    if not training:
        dec = model.greedy(src, lengths, max_len=6)
        assert torch.all(dec.alignments.masked_select((src == 0)[:, None, :]) == 0)
        dec = model.beam_search(src, lengths, beam_size=3, max_len=6)
        assert torch.all(dec.alignments.masked_select((src == 0)[:, None, :]) == 0)


@pytest.mark.parametrize("name", ["dot", "general-lstm", "concat", "additive", "bahdanau-additive", "local-m"])
def test_soft_attention_rows_sum_to_one(name):
    model = make_model(**ALL[name])
    src, lengths, tgt_in = make_batch(lengths=(6, 3, 1), S=6)
    w = model(src, tgt_in, lengths).alignments
    assert w.shape == (3, tgt_in.shape[1], 6)
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, tgt_in.shape[1]))


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", ["hard", "bahdanau-hard"])
def test_hard_attention_rows_are_one_hot(name, training):
    model = make_model(**ALL[name]).train(training)
    src, lengths, tgt_in = make_batch(lengths=(6, 3, 1), S=6)
    torch.manual_seed(0)
    w = model(src, tgt_in, lengths).alignments.detach()
    nonzero = w != 0
    assert torch.all(nonzero.sum(-1) == 1)  # exactly one position per row
    torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:2]))
    torch.testing.assert_close(w[nonzero], torch.ones(int(nonzero.sum())))
    if not training:
        assert torch.all((w == 0) | (w == 1))


def test_hard_attention_trains_through_the_straight_through_estimator():
    model = make_model(**LUONG["hard"]).train()
    src, lengths, tgt_in = make_batch()
    out = model(src, tgt_in, lengths)
    out.logits.sum().backward()
    grad = model.attention.score.v.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_local_monotonic_is_zero_outside_the_window():
    D = 1
    model = make_model(attention="dot", window=D, local="monotonic")
    src, lengths, tgt_in = make_batch(lengths=(7, 3, 1), S=7, T=6)
    w = model(src, tgt_in, lengths).alignments  # (B, T, S)
    s = torch.arange(7)
    for b, L in enumerate(lengths.tolist()):
        for t in range(6):
            p = min(t, L - 1)  # p_t = t, held at the last real token
            inside = ((s - p).abs() <= D) & (s < L)
            assert torch.all(w[b, t, ~inside] == 0)
            assert torch.all(w[b, t, inside] > 0)
            torch.testing.assert_close(w[b, t].sum(), torch.tensor(1.0))


def test_local_predictive_is_luongs_eq9_and_eq10():
    seed_everything(0)
    D = 2
    cfg = small_cfg(attention="general", window=D, local="predictive")
    attn = Attention(cfg)
    B, T, S, H = 3, 4, 9, cfg.hidden_size
    query, memory = torch.randn(B, T, H), torch.randn(B, S, H)
    lengths = torch.tensor([9, 5, 2])
    context, w = attn(query, memory, lengths, torch.arange(T))
    # reference: p_t = (L-1) sigmoid(v_p^T tanh(W_p h_t)); softmax over the window; times a Gaussian of sigma D/2
    scores = attn.score(query, memory)
    p = (lengths - 1)[:, None] * torch.sigmoid(attn.v_p(torch.tanh(attn.W_p(query))).squeeze(-1))  # (B, T)
    s = torch.arange(S).float()
    dist = s[None, None, :] - p[:, :, None]
    keep = (dist.abs() <= D) & (s[None, None, :] < lengths[:, None, None])
    soft = torch.softmax(scores.masked_fill(~keep, float("-inf")), -1)
    expected = soft * torch.exp(-(dist**2) / (2 * (D / 2) ** 2))
    torch.testing.assert_close(w, expected)
    assert torch.all(w[~keep] == 0)  # zero outside the window and at padding
    assert torch.all((w > 0).sum(-1) <= 2 * D + 1)
    torch.testing.assert_close(context, w @ memory)


# ------------------------------------------------------------------ parallel == step by step
def _step_through(model, src, lengths, tgt_in):
    memory, summary, state, lengths = model.encode(src, lengths)
    logits, weights = [], []
    for t in range(tgt_in.shape[1]):
        lg, state, w = model.step(tgt_in[:, t], state, memory, summary, lengths, t)
        logits.append(lg)
        weights.append(w)
    aligns = None if weights[0] is None else torch.stack(weights, 1)
    return torch.stack(logits, 1), aligns


@pytest.mark.parametrize("name", list(LUONG))
def test_luong_parallel_teacher_forcing_equals_stepping(name):
    model = make_model(**LUONG[name])
    src, lengths, tgt_in = make_batch(lengths=(5, 2, 4), S=6, T=5)
    out = model(src, tgt_in, lengths)
    assert isinstance(out, Seq2SeqOutput) and out.logits.shape == (3, 5, V)
    logits, aligns = _step_through(model, src, lengths, tgt_in)
    torch.testing.assert_close(out.logits, logits)
    if aligns is None:
        assert out.alignments is None
    else:
        torch.testing.assert_close(out.alignments, aligns)


@pytest.mark.parametrize("name", ["dot", "none-lstm", "bahdanau-additive", "bahdanau-none"])
def test_teacher_forcing_zero_feeds_the_models_own_predictions(name):
    model = make_model(**ALL[name])
    src, lengths, tgt_in = make_batch(T=6)
    free = model(src, tgt_in, lengths, teacher_forcing=0.0)
    own = free.logits.argmax(-1)  # what the model predicted at each step
    fed = torch.cat([tgt_in[:, :1], own[:, :-1]], dim=1)  # bos, then its own predictions
    forced = model(src, fed, lengths)
    torch.testing.assert_close(free.logits, forced.logits)


def test_bahdanau_queries_the_previous_state_and_luong_the_current():
    """At step 0 Bahdanau's query is s_0 (the bridge of the summary), so the first
    alignment cannot depend on the first input token; Luong's query h_1 has read it."""
    src, lengths, tgt_in = make_batch(T=3)
    other = tgt_in.clone()
    other[:, 0] = 5
    bahdanau = make_model(**BAHDANAU["bahdanau-additive"])
    a, b = bahdanau(src, tgt_in, lengths).alignments, bahdanau(src, other, lengths).alignments
    torch.testing.assert_close(a[:, 0], b[:, 0])
    assert not torch.allclose(a[:, 1], b[:, 1])
    luong = make_model(**LUONG["additive"])
    a, b = luong(src, tgt_in, lengths).alignments, luong(src, other, lengths).alignments
    assert not torch.allclose(a[:, 0], b[:, 0])


# ------------------------------------------------------------------ padding invariance
@pytest.mark.parametrize("name", list(ALL))
def test_extra_padding_does_not_change_real_positions(name):
    model = make_model(**ALL[name])
    src, lengths, tgt_in = make_batch(lengths=(5, 2, 4), S=5, T=4)
    out = model(src, tgt_in, lengths)
    src_more = F.pad(src, (0, 3), value=Vocab.pad_id)
    tgt_more = F.pad(tgt_in, (0, 2), value=Vocab.pad_id)
    more = model(src_more, tgt_more)  # lengths derived from the padding
    torch.testing.assert_close(more.logits[:, :4], out.logits)
    if out.alignments is not None:
        torch.testing.assert_close(more.alignments[:, :4, :5], out.alignments)
        assert torch.all(more.alignments[:, :, 5:] == 0)


# ------------------------------------------------------------------ decoding
@functools.lru_cache(maxsize=None)
def trained(name: str) -> Seq2Seq:
    """A model trained for a few steps on copying, so that its outputs end at different
    steps for different inputs (an untrained model says eos first, or never)."""
    model = make_model(**ALL[name]).train()
    batch = copy_task(16, lengths=(1, 6), vocab_size=V - 4, seed=0).batch()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(15):
        loss = sequence_loss(model(batch.src, batch.tgt_in, batch.src_lengths).logits, batch.tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


DECODE_SRC = dict(lengths=(6, 3, 1, 5, 2, 4), seed=1)
DECODERS = ["none-gru", "none-lstm", "dot", "general-lstm", "local-m", "local-p", "hard",
            "bahdanau-additive", "bahdanau-lstm-local-p"]


def _ends(tokens: torch.Tensor) -> list[int]:
    return [row.index(Vocab.eos_id) if Vocab.eos_id in row else -1 for row in tokens.tolist()]


def _rescore(model, src, lengths, tokens):
    """Total log-probability of ``tokens`` (B, T) (cut after eos) under teacher forcing,
    and the teacher-forced alignments."""
    tgt_in = torch.cat([torch.full_like(tokens[:, :1], Vocab.bos_id), tokens[:, :-1]], dim=1)
    out = model(src, tgt_in, lengths)
    logp = out.logits.log_softmax(-1).gather(-1, tokens[..., None])[..., 0]
    after_eos = torch.cumsum(tokens == Vocab.eos_id, 1) - (tokens == Vocab.eos_id).long() > 0
    return logp.masked_fill(after_eos, 0.0).sum(1), out.alignments


@pytest.mark.parametrize("name", DECODERS)
def test_greedy_output_is_padded_after_eos(name):
    model = trained(name)
    src, lengths, _ = make_batch(**DECODE_SRC)
    for dec in (model.greedy(src, lengths, max_len=10), model.beam_search(src, lengths, beam_size=3, max_len=10)):
        ends = _ends(dec.tokens)
        assert len(set(ends)) >= 2, ends  # outputs of different lengths, so padding matters
        for row, end in zip(dec.tokens.tolist(), ends):
            if end >= 0:
                assert all(t == Vocab.pad_id for t in row[end + 1 :]), row
        if dec.alignments is not None:  # alignment rows after eos are zero, too
            assert torch.all(dec.alignments[dec.tokens == Vocab.pad_id] == 0)


@pytest.mark.parametrize("name", DECODERS)
def test_beam_search_with_beam_one_equals_greedy(name):
    model = trained(name)
    src, lengths, _ = make_batch(**DECODE_SRC)
    g = model.greedy(src, lengths, max_len=9)
    b = model.beam_search(src, lengths, beam_size=1, max_len=9)
    assert isinstance(g, Decoded) and len(set(_ends(g.tokens))) >= 2
    torch.testing.assert_close(b.tokens, g.tokens, atol=0, rtol=0)
    torch.testing.assert_close(b.scores, g.scores)
    if g.alignments is None:
        assert b.alignments is None
    else:
        real = (g.tokens != Vocab.pad_id)[..., None]
        torch.testing.assert_close(b.alignments * real, g.alignments * real)


@pytest.mark.parametrize("name", ["dot", "none-lstm", "local-p", "bahdanau-additive"])
@pytest.mark.parametrize("decode", ["greedy", "beam"])
def test_decoded_scores_and_alignments_match_teacher_forced_rescoring(name, decode):
    model = trained(name)
    src, lengths, _ = make_batch(**DECODE_SRC)
    if decode == "greedy":
        dec = model.greedy(src, lengths, max_len=8)
    else:
        dec = model.beam_search(src, lengths, beam_size=3, max_len=8, length_penalty=0.0)
    scores, aligns = _rescore(model, src, lengths, dec.tokens)
    torch.testing.assert_close(dec.scores, scores)
    if aligns is not None:
        real = (dec.tokens != Vocab.pad_id)[..., None]
        torch.testing.assert_close(dec.alignments, aligns * real)


@pytest.mark.parametrize("length_penalty", [0.0, 0.5, 1.0, 3.0])
@pytest.mark.parametrize("name", ["dot", "bahdanau-lstm-local-p"])
def test_exhaustive_beam_search_equals_brute_force(name, length_penalty):
    """With beam_size = V**3 and max_len = 3 the beam holds every output of up to three
    tokens, so its answer must be the brute-force argmax of log p / length ** penalty."""
    model = trained(name)
    src, lengths, _ = make_batch(lengths=(2, 1, 3), seed=2)
    others = [t for t in range(V) if t != Vocab.eos_id]  # any token may precede eos, even pad
    seqs = [[Vocab.eos_id]] + [[a, Vocab.eos_id] for a in others] + [[a, b, Vocab.eos_id] for a in others for b in others]
    candidates = torch.tensor([q + [Vocab.pad_id] * (3 - len(q)) for q in seqs])  # (73, 3)
    n = torch.tensor([float(len(q)) for q in seqs])
    dec = model.beam_search(src, lengths, beam_size=V**3, max_len=3, length_penalty=length_penalty)
    for i in range(len(lengths)):
        N = len(seqs)
        logp, _ = _rescore(model, src[i : i + 1].expand(N, -1), lengths[i : i + 1].expand(N), candidates)
        best = int((logp / n**length_penalty).argmax())
        got = dec.tokens[i].tolist()
        assert got[: len(seqs[best])] == seqs[best], (got, seqs[best])
        torch.testing.assert_close(dec.scores[i], logp[best])


def test_greedy_is_independent_of_the_rest_of_the_batch():
    for name in ["dot", "none-gru", "bahdanau-additive", "local-p"]:
        model = trained(name)
        src, lengths, _ = make_batch(**DECODE_SRC)
        together = model.greedy(src, lengths, max_len=8)
        for b in range(len(lengths)):
            alone = model.greedy(src[b : b + 1, : lengths[b]], max_len=8)
            n = alone.tokens.shape[1]
            torch.testing.assert_close(together.tokens[b, :n], alone.tokens[0], atol=0, rtol=0)
            assert torch.all(together.tokens[b, n:] == Vocab.pad_id)
            torch.testing.assert_close(together.scores[b], alone.scores[0])


def test_encode_bridges_the_summary_into_the_first_decoder_state():
    """Bahdanau App. A.2.2: s_0 = tanh(W_s summary); an LSTM's memory cell starts at zero."""
    src, lengths, _ = make_batch()
    for name, shape in [("dot", (1, 3, 16)), ("bahdanau-additive", (3, 16))]:
        for cell in ("gru", "lstm"):
            model = make_model(**{**ALL[name], "cell": cell})
            memory, summary, state, _ = model.encode(src, lengths)
            h0 = state[0] if cell == "lstm" else state
            assert h0.shape == shape
            torch.testing.assert_close(h0.reshape(3, 16), torch.tanh(model.bridge(summary)))
            if cell == "lstm":
                assert torch.all(state[1] == 0)


def test_decoding_is_deterministic_under_a_seed():
    src, lengths, tgt_in = make_batch()
    runs = []
    for _ in range(2):
        model = make_model(seed=3, attention="general", hard=True, dropout=0.2)
        dec = model.greedy(src, lengths, max_len=7)
        beam = model.beam_search(src, lengths, beam_size=3, max_len=7)
        model.train()
        torch.manual_seed(11)  # gumbel noise and dropout come from the seeded generator
        logits = model(src, tgt_in, lengths, teacher_forcing=0.5).logits
        runs.append((dec, beam, logits))
    (d1, b1, l1), (d2, b2, l2) = runs
    torch.testing.assert_close(d1.tokens, d2.tokens, atol=0, rtol=0)
    torch.testing.assert_close(d1.scores, d2.scores, atol=0, rtol=0)
    torch.testing.assert_close(b1.tokens, b2.tokens, atol=0, rtol=0)
    torch.testing.assert_close(l1, l2, atol=0, rtol=0)
    assert not torch.equal(make_model(seed=4, attention="general").greedy(src, lengths, max_len=7).scores, d1.scores)


def test_beam_step_equals_brute_force_enumeration():
    torch.manual_seed(0)
    B, K, Vs = 2, 3, 5
    scores = torch.randn(B, K)
    scores[1, 2] = float("-inf")  # a dead hypothesis is never extended
    logp = torch.randn(B, K, Vs).log_softmax(-1)
    for beam in (1, 2, 4):
        new, parents, tokens = beam_step(scores, logp, beam)
        assert new.shape == parents.shape == tokens.shape == (B, beam)
        for b in range(B):
            candidates = sorted(
                ((float(scores[b, k] + logp[b, k, v]), k, v) for k in range(K) for v in range(Vs)), reverse=True
            )[:beam]
            torch.testing.assert_close(new[b], torch.tensor([c[0] for c in candidates]))
            assert parents[b].tolist() == [c[1] for c in candidates]
            assert tokens[b].tolist() == [c[2] for c in candidates]
            assert 2 not in parents[1].tolist()


def test_beam_step_bad_inputs():
    with pytest.raises(ValueError, match=r"logp must have shape \(B, K, V\) with K=2, got \(1, 3, 4\)"):
        beam_step(torch.zeros(1, 2), torch.zeros(1, 3, 4), 2)
    with pytest.raises(ValueError, match=r"beam_size must be a positive int, got 0"):
        beam_step(torch.zeros(1, 2), torch.zeros(1, 2, 4), 0)


# ------------------------------------------------------------------ metrics
def _fixed_greedy(tokens):
    def greedy(src, src_lengths=None, max_len=None):
        return Decoded(tokens[: src.shape[0]], None, torch.zeros(src.shape[0]))

    return greedy


def test_evaluate_counts_sequences_and_tokens():
    data = copy_task(4, lengths=[3], vocab_size=5, seed=0)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=4, hidden_size=8, attn_dim=4))
    gold = data.batch().tgt_out  # (4, 4): three symbols + eos
    pred = gold.clone()
    pred[0, 1] = 4 if int(pred[0, 1]) != 4 else 5  # one wrong token
    pred[1] = torch.tensor([int(pred[1, 0]), 2, 0, 0])  # stops after one token
    model.greedy = _fixed_greedy(pred)
    model.train()
    m = evaluate(model, data, batch_size=4)
    assert m["seq_acc"] == pytest.approx(2 / 4)
    # 12 positions scored (max of lengths), 2 wrong in row 0... 1 wrong; row 1 matches 1 of 3
    assert m["tok_acc"] == pytest.approx((2 + 1 + 3 + 3) / 12)
    assert model.training  # evaluate restores the mode
    with pytest.raises(ValueError, match=r"decode must be one of \('greedy', 'beam'\), got 'sample'"):
        evaluate(model, data, decode="sample")


def test_accuracy_by_length_rows():
    data = copy_task(12, lengths=[2, 4, 3], vocab_size=5, seed=0)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=4, hidden_size=8, attn_dim=4))
    model.greedy = lambda src, src_lengths=None, max_len=None: Decoded(
        torch.cat([src, torch.zeros_like(src[:, :1])], 1).scatter(1, src_lengths[:, None], Vocab.eos_id), None, torch.zeros(len(src))
    )  # a perfect copier
    rows = accuracy_by_length(model, data)
    assert [r["length"] for r in rows] == [2, 3, 4]
    assert sum(r["n"] for r in rows) == 12
    assert all(r["seq_acc"] == 1.0 and r["tok_acc"] == 1.0 for r in rows)


def test_teacher_forced_accuracy_counts_real_tokens_only():
    data = copy_task(3, lengths=[2, 3], vocab_size=5, seed=1)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=4, hidden_size=8, attn_dim=4))
    batch = data.batch()
    logits = F.one_hot(batch.tgt_out, len(data.tgt_vocab)).float()
    logits[0, 0] = logits[0, 0].roll(1)  # one wrong token in the first sequence
    logits[batch.tgt_out == 0] = F.one_hot(torch.tensor(4), len(data.tgt_vocab)).float()  # padding is not scored
    model.forward = lambda src, tgt_in, src_lengths=None: Seq2SeqOutput(logits, None)
    m = teacher_forced_accuracy(model, data)
    n_real = int(batch.tgt_mask.sum())
    assert m["tok_acc"] == pytest.approx((n_real - 1) / n_real)
    assert m["seq_acc"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ overfit one batch
def _overfit(cfg_kw, steps, lr=0.02, seed=0):
    seed_everything(seed)
    data = copy_task(6, lengths=(3, 5), vocab_size=5, seed=seed)
    model = Seq2Seq(Seq2SeqConfig.for_data(data, emb_dim=12, hidden_size=24, attn_dim=12, **cfg_kw))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    batch = data.batch()
    model.train()
    first = None
    for _ in range(steps):
        loss = sequence_loss(model(batch.src, batch.tgt_in, batch.src_lengths).logits, batch.tgt_out)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, data, first, loss.item()


@pytest.mark.parametrize(
    "cfg_kw",
    [dict(attention=None), dict(attention="dot"), dict(attention="additive", decoder="bahdanau")],
    ids=["no-attention", "luong-dot", "bahdanau-additive"],
)
def test_overfits_one_batch_of_the_copy_task(cfg_kw):
    model, data, first, last = _overfit(cfg_kw, steps=60)
    assert first > 1.0
    assert last < 0.05, f"loss {first:.3f} -> {last:.3f}"
    assert evaluate(model, data)["seq_acc"] == 1.0  # free-running decoding copies it, too
    assert teacher_forced_accuracy(model, data)["seq_acc"] == 1.0


# ------------------------------------------------------------------ bad input
@pytest.fixture(scope="module")
def model():
    return make_model(attention="dot")


def test_float_src_is_rejected(model):
    src, lengths, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"src must have dtype torch.int64, got torch.float32"):
        model(src.float(), tgt_in, lengths)


def test_wrong_ndim_is_rejected(model):
    src, lengths, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"src must have shape \(B, S\), got a 1-d tensor of shape \(6,\)"):
        model(src[0], tgt_in, lengths)
    with pytest.raises(ValueError, match=r"src must have shape \(B, S\), got a 3-d tensor"):
        model.greedy(src[None])


def test_token_ids_outside_the_vocabulary_are_rejected(model):
    src, lengths, tgt_in = make_batch()
    src[0, 0] = V
    with pytest.raises(ValueError, match=rf"src ids must be in \[0, {V}\), got values in \[0, {V}\]"):
        model(src, tgt_in, lengths)
    src[0, 0] = -1
    with pytest.raises(ValueError, match=rf"src ids must be in \[0, {V}\), got values in \[-1, "):
        model.beam_search(src, lengths)


def test_zero_lengths_are_rejected(model):
    src, lengths, tgt_in = make_batch(lengths=(6, 3, 1))
    with pytest.raises(ValueError, match=r"src_lengths must be in \[1, S=6\], got values in \[0, 6\] \(is a source sequence empty\?\)"):
        model(src, tgt_in, torch.tensor([6, 0, 1]))
    src[2] = Vocab.pad_id  # an all-padding row: the derived length is 0
    with pytest.raises(ValueError, match=r"src_lengths must be in \[1, S=6\], got values in \[0, 6\]"):
        model.greedy(src)
    with pytest.raises(ValueError, match=r"src_lengths must be in \[1, S=6\], got values in \[1, 7\]"):
        model(src, tgt_in, torch.tensor([7, 3, 1]))


def test_src_lengths_shape_and_dtype_are_checked(model):
    src, lengths, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(B\) with B=3, got \(2,\)"):
        model(src, tgt_in, lengths[:2])
    with pytest.raises(ValueError, match=r"src_lengths must have dtype torch.int64, got torch.int32"):
        model(src, tgt_in, lengths.int())


def test_tgt_batch_size_mismatch_is_rejected(model):
    src, lengths, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"tgt_in must have shape \(B, T\) with B=3, got \(2, 5\)"):
        model(src, tgt_in[:2], lengths)
    with pytest.raises(ValueError, match=r"tgt_in must have dtype torch.int64, got torch.float32"):
        model(src, tgt_in.float(), lengths)
    with pytest.raises(ValueError, match=r"teacher_forcing must be in \[0, 1\], got 1.5"):
        model(src, tgt_in, lengths, teacher_forcing=1.5)
    with pytest.raises(ValueError, match=r"beam_size must be a positive int, got 0"):
        model.beam_search(src, lengths, beam_size=0)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(hidden_size=15), r"hidden_size must be even .*got 15"),
        (dict(attention="bilinear"), r"attention must be one of \(None, 'additive', 'dot', 'general', 'concat'\), got 'bilinear'"),
        (dict(window=3), r"window=3 and hard=False need an attention score; got attention=None"),
        (dict(hard=True), r"window=None and hard=True need an attention score; got attention=None"),
        (dict(attention="dot", window=0), r"window must be a positive int, got 0"),
        (dict(dropout=-0.1), r"dropout must be in \[0, 1\), got -0.1"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
        (dict(cell="rnn"), r"cell must be one of \('gru', 'lstm'\), got 'rnn'"),
        (dict(decoder="vaswani"), r"decoder must be one of \('luong', 'bahdanau'\), got 'vaswani'"),
        (dict(attention="dot", local="gaussian"), r"local must be one of \('monotonic', 'predictive'\), got 'gaussian'"),
        (dict(emb_dim=0), r"emb_dim must be a positive int, got 0"),
        (dict(src_vocab_size=-3), r"src_vocab_size must be a positive int, got -3"),
    ],
)
def test_bad_configs_are_rejected(kw, message):
    with pytest.raises(ValueError, match=message):
        small_cfg(**kw)


def test_config_is_frozen_and_sized_for_data():
    cfg = small_cfg()
    with pytest.raises(FrozenInstanceError):
        cfg.hidden_size = 32
    assert replace(cfg, attention="dot").attention == "dot"
    data = copy_task(3, vocab_size=7)
    cfg = Seq2SeqConfig.for_data(data, hidden_size=8)
    assert (cfg.src_vocab_size, cfg.tgt_vocab_size, cfg.hidden_size) == (11, 11, 8)
    with pytest.raises(ValueError, match=re.escape("hidden_size must be even")):
        replace(cfg, hidden_size=9)


def test_encoder_uses_the_shared_bidirectional_rnn():
    from coursekit.classification import BiRNN as ClassifierRNN
    from coursekit.rnn import BiRNN

    model = Seq2Seq(Seq2SeqConfig(8, 8))
    assert type(model.encoder.rnn) is BiRNN and ClassifierRNN is BiRNN


def test_target_ids_outside_the_vocabulary_and_bad_numbers_are_rejected():
    import numpy as np

    model = Seq2Seq(Seq2SeqConfig(np.int64(8), 8, hidden_size=np.int32(16), dropout=np.float64(0.0)))
    src = torch.tensor([[4, 5, 6]])
    with pytest.raises(ValueError, match=r"tgt_in ids must be in \[0, 8\), got values in \[1, 8\]"):
        model(src, torch.tensor([[1, 8]]))
    with pytest.raises(ValueError, match=r"teacher_forcing must be a real number in \[0, 1\], got '1' \(str\)"):
        model(src, torch.tensor([[1, 4]]), teacher_forcing="1")
    with pytest.raises(ValueError, match=r"max_len must be a positive int, got 0"):
        model.greedy(src, max_len=0)
    with pytest.raises(ValueError, match=r"dropout must be a real number in \[0, 1\), got '0.1' \(str\)"):
        Seq2SeqConfig(8, 8, dropout="0.1")
    with pytest.raises(ValueError, match=r"hard must be True or False, got 'yes'"):
        Seq2SeqConfig(8, 8, attention="dot", hard="yes")
