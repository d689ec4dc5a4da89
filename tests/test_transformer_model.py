"""Tests for coursekit.transformer's layers and model: equivalence with torch's
TransformerEncoderLayer / TransformerDecoderLayer in both norm placements, the causal
mask hides the future, padding is ignored, and the encoder-decoder overfits one tiny batch."""


import pytest
import torch
from torch import nn

from coursekit.attention import causal_mask, padding_mask
from coursekit.data import Vocab, copy_task
from coursekit.decoding import Decoded, teacher_forced_loss
from coursekit.seq2seq import evaluate, teacher_forced_accuracy
from coursekit.train import fit
from coursekit.transformer import (
    Block,
    CrossAttentionBlock,
    RotaryEmbedding,
    Transformer,
    TransformerConfig,
    llama_style,
    residual,
    warmup_scheduler,
)
from coursekit.utils import seed_everything

pytestmark = pytest.mark.usefixtures("one_thread")

D, H, F_ = 16, 4, 32


def layer_cfg(**kw) -> TransformerConfig:
    return TransformerConfig(**{**dict(src_vocab_size=9, tgt_vocab_size=9, d_model=D, n_heads=H, d_ff=F_), **kw})


def block(**kw) -> Block:
    return Block(layer_cfg(**kw).block)


def cross_block(**kw) -> CrossAttentionBlock:
    return CrossAttentionBlock(layer_cfg(**kw).block)


def randomise(module: nn.Module) -> None:
    """Non-trivial LayerNorm gains and biases, so a swapped norm would show."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name:
                p.normal_(1.0 if name.endswith("weight") else 0.0, 0.3)


LENGTHS = torch.tensor([6, 3, 5])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch_with_copied_weights(norm_first, activation):
    torch.manual_seed(0)
    theirs = nn.TransformerEncoderLayer(D, H, F_, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first)
    randomise(theirs)
    ours = block(norm_first=norm_first, ffn=activation).load_torch_weights(theirs)
    theirs.eval(), ours.eval()
    x = torch.randn(3, 6, D)
    mask = padding_mask(LENGTHS, 6)  # (B, 1, S), True = real token
    with torch.no_grad():
        want = theirs(x, src_key_padding_mask=~mask[:, 0])  # torch: True = ignore
        got, _ = ours(x, key_padding_mask=mask[:, 0])
    real = mask[:, 0, :, None]  # torch's fast path may zero padded rows: compare real positions
    torch.testing.assert_close(got * real, want * real, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch_with_copied_weights(norm_first):
    torch.manual_seed(1)
    theirs = nn.TransformerDecoderLayer(D, H, F_, dropout=0.0, batch_first=True, norm_first=norm_first)
    randomise(theirs)
    ours = cross_block(norm_first=norm_first).load_torch_weights(theirs)
    theirs.eval(), ours.eval()
    x, memory = torch.randn(3, 5, D), torch.randn(3, 6, D)
    future, src = causal_mask(5), padding_mask(LENGTHS, 6)
    with torch.no_grad():
        want = theirs(x, memory, tgt_mask=~future, memory_key_padding_mask=~src[:, 0])
        got, (_, weights) = ours(x, memory, mask=future, is_causal=False, memory_padding_mask=src[:, 0], need_weights=True)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert weights.shape == (3, H, 5, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, H, 5))
    assert (weights[1, :, :, 3:] == 0).all()  # padding of the length-3 source gets no weight


def test_fast_and_from_scratch_attention_paths_agree_inside_a_layer():
    torch.manual_seed(0)
    layer = block(positions="rotary", norm="rmsnorm", ffn="swiglu", bias=False).eval()
    x, mask, rotary = torch.randn(3, 6, D), padding_mask(LENGTHS, 6)[:, 0], RotaryEmbedding(D // H)
    fast, none = layer(x, key_padding_mask=mask, rotary=rotary)
    slow, weights = layer(x, key_padding_mask=mask, rotary=rotary, need_weights=True)
    assert none is None and weights.shape == (3, H, 6, 6)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)


def test_residual_pre_and_post_norm_by_hand():
    x = torch.tensor([[1.0, 2.0, 3.0, 6.0]])
    norm, double = nn.LayerNorm(4, elementwise_affine=False), (lambda h: 2 * h)
    torch.testing.assert_close(residual(x, double, norm, nn.Identity(), norm_first=False), norm(3 * x))
    torch.testing.assert_close(residual(x, double, norm, nn.Identity(), norm_first=True), x + 2 * norm(x))


def test_load_torch_weights_refuses_a_mismatched_layer():
    theirs = nn.TransformerEncoderLayer(D, H, F_, batch_first=True, norm_first=True)
    with pytest.raises(ValueError, match="norm_first differs"):
        block(norm_first=False).load_torch_weights(theirs)
    with pytest.raises(ValueError, match="norm='rmsnorm'"):
        block(norm="rmsnorm", norm_first=True).load_torch_weights(theirs)
    with pytest.raises(ValueError, match="TransformerDecoderLayer"):
        cross_block().load_torch_weights(theirs)


# ----------------------------------------------------------------------------- the model
def make_model(seed=0, **kw) -> Transformer:
    seed_everything(seed)
    return Transformer(TransformerConfig(**{**dict(src_vocab_size=9, tgt_vocab_size=10, d_model=16, n_heads=2, d_ff=32), **kw})).eval()


def make_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 9, (3, 6), generator=g)
    src = src.masked_fill(torch.arange(6)[None, :] >= LENGTHS[:, None], Vocab.pad_id)
    tgt_in = torch.randint(4, 10, (3, 5), generator=g)
    tgt_in[:, 0] = Vocab.bos_id
    return src, tgt_in


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True), llama_style(layer_cfg()).__dict__ | dict(src_vocab_size=9, tgt_vocab_size=10, d_model=16, n_heads=2, d_ff=21)])
def test_causal_mask_hides_the_future_from_the_decoder(kw):
    model = make_model(**kw)
    src, tgt_in = make_batch()
    base = model(src, tgt_in).logits
    for t in range(4):
        changed = tgt_in.clone()
        changed[:, t + 1 :] = torch.randint(4, 10, changed[:, t + 1 :].shape)
        out = model(src, changed).logits
        torch.testing.assert_close(out[:, : t + 1], base[:, : t + 1])  # steps <= t cannot see the change
        assert not torch.allclose(out[:, t + 1 :], base[:, t + 1 :])


def test_padding_and_tokens_past_src_lengths_are_ignored():
    model = make_model(positions="learned", norm_first=True)
    src, tgt_in = make_batch()
    noisy = src.clone()
    noisy[1, 3:] = 7  # garbage where the length-3 source is padded
    torch.testing.assert_close(model(noisy, tgt_in, LENGTHS).logits, model(src, tgt_in).logits)


def test_shared_and_tied_embeddings_are_one_parameter():
    model = make_model(src_vocab_size=10, share_embeddings=True)
    assert model.encoder.embed.embed.weight is model.decoder.embed.embed.weight is model.out.weight
    untied = make_model(tie_output=False)
    assert untied.out.weight is not untied.decoder.embed.embed.weight


def test_greedy_returns_decoded_and_agrees_with_teacher_forcing_on_its_own_output():
    model = make_model()
    src, _ = make_batch()
    out = model.greedy(src, max_len=6, alignments=True)
    assert isinstance(out, Decoded) and out.tokens.shape[0] == 3 and out.tokens.shape[1] <= 6
    tgt_in = torch.cat([torch.full((3, 1), Vocab.bos_id), out.tokens[:, :-1]], dim=1)
    again = model(src, tgt_in).logits.argmax(-1)
    live = torch.ones_like(out.tokens, dtype=torch.bool)
    live[:, 1:] = (out.tokens[:, :-1] != Vocab.eos_id).cumprod(1).bool() & (out.tokens[:, :-1] != Vocab.pad_id)
    assert torch.equal(again[live], out.tokens[live])
    assert out.alignments.shape == (3, out.tokens.shape[1], 6)
    assert (out.alignments[1, :, 3:] == 0).all()


def test_model_rejects_bad_inputs_naming_what_it_expected():
    model = make_model()
    src, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"src must have dtype torch.int64"):
        model(src.float(), tgt_in)
    with pytest.raises(ValueError, match=r"src ids must be in \[0, 9\)"):
        model(src + 9, tgt_in)
    with pytest.raises(ValueError, match=r"tgt_in must have shape \(B, T\) with B=3"):
        model(src, tgt_in[:2])
    with pytest.raises(ValueError, match="cfg must be a TransformerConfig"):
        Transformer(dict(d_model=4))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_decoder_overfits_one_tiny_batch(norm_first):
    data = copy_task(8, lengths=(3, 5), vocab_size=5, seed=0)
    seed_everything(0)
    model = Transformer(TransformerConfig.for_data(data, d_model=32, n_heads=2, d_ff=64, n_layers=1, norm_first=norm_first))
    opt = torch.optim.Adam(model.parameters(), betas=(0.9, 0.98))
    sched = warmup_scheduler(opt, d_model=32, warmup_steps=10, scale=0.2)
    batch = data.batch()
    history = fit(model, opt, lambda step: batch, teacher_forced_loss, steps=150, scheduler=sched, progress=False, log_every=20)
    assert history.last("loss", "train") < 0.05
    assert evaluate(model, data)["seq_acc"] == 1.0  # free-running greedy decoding copies every string
    assert teacher_forced_accuracy(model, data)["tok_acc"] == 1.0


# ----------------------------------------------------------------------------- refusing what computes something else
def test_load_torch_weights_refuses_another_activation_or_eps():
    gelu = nn.TransformerEncoderLayer(D, H, F_, batch_first=True, activation="gelu")
    with pytest.raises(ValueError, match=r"activation differs: torch layer gelu, this block ffn='relu'"):
        block().load_torch_weights(gelu)
    tanh = nn.TransformerDecoderLayer(D, H, F_, batch_first=True, activation=torch.tanh)
    with pytest.raises(ValueError, match="activation differs"):
        cross_block().load_torch_weights(tanh)
    eps = nn.TransformerEncoderLayer(D, H, F_, batch_first=True, layer_norm_eps=1e-12)
    with pytest.raises(ValueError, match=r"norm eps differs: torch layer norm1.eps=1e-12, this block norm_eps=1e-05"):
        block().load_torch_weights(eps)
    block(norm_eps=1e-12).load_torch_weights(eps)  # the same eps loads


@pytest.mark.parametrize("norm_first", [False, True])
def test_gelu_decoder_block_matches_torch(norm_first):
    torch.manual_seed(2)
    theirs = nn.TransformerDecoderLayer(D, H, F_, dropout=0.0, activation="gelu", batch_first=True, norm_first=norm_first)
    randomise(theirs)
    ours = cross_block(norm_first=norm_first, ffn="gelu").load_torch_weights(theirs)
    x, memory = torch.randn(3, 5, D), torch.randn(3, 6, D)
    src = padding_mask(LENGTHS, 6)[:, 0]
    want = theirs(x, memory, tgt_mask=~causal_mask(5), memory_key_padding_mask=~src)
    got, _ = ours(x, memory, memory_padding_mask=src)  # causal by default
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def _reference_transformer(norm_first: bool, n_layers: int = 2) -> nn.Transformer:
    kw = dict(dropout=0.0, batch_first=True, norm_first=norm_first)
    if norm_first:  # torch's own stacks end with a LayerNorm, as pre-norm stacks must
        return nn.Transformer(D, H, n_layers, n_layers, F_, **kw)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, F_, **kw), n_layers, norm=None, enable_nested_tensor=False)
    decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, F_, **kw), n_layers, norm=None)
    return nn.Transformer(D, H, custom_encoder=encoder, custom_decoder=decoder, **kw)


@pytest.mark.parametrize("norm_first", [False, True])
def test_whole_encoder_decoder_matches_torch_transformer_outputs_and_gradients(norm_first):
    torch.manual_seed(3)
    theirs = _reference_transformer(norm_first)
    randomise(theirs)
    model = Transformer(layer_cfg(n_layers=2, norm_first=norm_first)).load_torch_transformer(theirs)
    src_mask = padding_mask(LENGTHS, 6)[:, 0]  # (B, S), True = real token
    x_src = torch.randn(3, 6, D, requires_grad=True)
    x_tgt = torch.randn(3, 5, D, requires_grad=True)
    probe = torch.randn(3, 5, D)

    want = theirs(x_src, x_tgt, tgt_mask=~causal_mask(5), src_key_padding_mask=~src_mask, memory_key_padding_mask=~src_mask)
    (want * probe).sum().backward()
    ref_grads = (x_src.grad.clone(), x_tgt.grad.clone())
    x_src.grad = x_tgt.grad = None

    # Our stacks take ids; feed them the same vectors through an embeddings module that passes them on.
    class Given(nn.Module):
        def __init__(self, x):
            super().__init__()
            self.x = x

        def forward(self, ids, position_offset=0):
            return self.x

    model.encoder.embed, model.decoder.embed = Given(x_src), Given(x_tgt)
    memory = model.encoder(torch.zeros(3, 6, dtype=torch.long), key_padding_mask=src_mask).hidden
    got = model.decoder(torch.zeros(3, 5, dtype=torch.long), memory=memory, memory_padding_mask=src_mask, is_causal=True).hidden
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    (got * probe).sum().backward()
    torch.testing.assert_close(x_src.grad, ref_grads[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(x_tgt.grad, ref_grads[1], atol=1e-5, rtol=1e-4)
    pairs = [
        (model.encoder.layers[0].ffn.up.weight, theirs.encoder.layers[0].linear1.weight),
        (model.decoder.layers[1].norm3.weight, theirs.decoder.layers[1].norm3.weight),
    ]
    if norm_first:
        pairs.append((model.decoder.norm.weight, theirs.decoder.norm.weight))
    for mine, ref in pairs:
        torch.testing.assert_close(mine.grad, ref.grad, atol=1e-5, rtol=1e-4)
    v_grad = theirs.decoder.layers[0].multihead_attn.in_proj_weight.grad[2 * D :]  # torch packs W^Q, W^K, W^V
    torch.testing.assert_close(model.decoder.layers[0].cross_attn.v_proj.weight.grad, v_grad, atol=1e-5, rtol=1e-4)


def test_load_torch_transformer_refuses_final_norms_a_post_norm_model_lacks():
    with pytest.raises(ValueError, match="final norm"):
        Transformer(layer_cfg(n_layers=2)).load_torch_transformer(nn.Transformer(D, H, 2, 2, F_, batch_first=True))
    with pytest.raises(ValueError, match="layers"):
        Transformer(layer_cfg(n_layers=1, norm_first=True)).load_torch_transformer(_reference_transformer(True))


# ----------------------------------------------------------------------------- stack, attentions, positions from an offset
def test_stack_returns_every_layers_attention_in_bertviz_format():
    model = make_model(n_layers=3)
    src, _ = make_batch()
    out = model.encoder(src, key_padding_mask=src != Vocab.pad_id, need_weights=True)
    assert isinstance(out.attentions, tuple) and len(out.attentions) == 3
    assert all(w.shape == (3, 2, 6, 6) for w in out.attentions)
    torch.testing.assert_close(out.attentions[2].sum(-1), torch.ones(3, 2, 6))
    assert (out.attentions[0][1, :, :, 3:] == 0).all()  # the length-3 source's padding
    fast = model.encoder(src, key_padding_mask=src != Vocab.pad_id)
    assert fast.attentions is None
    torch.testing.assert_close(fast.hidden, out.hidden, atol=1e-5, rtol=1e-5)


def test_embeddings_and_rotary_from_an_offset_equal_the_tail_of_the_full_sequence():
    """What a key/value cache relies on: positions continue where the prefix stopped."""
    ids = torch.randint(4, 9, (2, 7))
    for positions in ("sinusoidal", "learned"):
        embed = make_model(positions=positions).encoder.embed
        torch.testing.assert_close(embed(ids[:, 4:], position_offset=4), embed(ids)[:, 4:], atol=1e-6, rtol=1e-6)
        assert not torch.allclose(embed(ids[:, 4:]), embed(ids)[:, 4:])  # offset 0 would be wrong
    rotary = make_model(positions="rotary").encoder.rotary
    q = torch.randn(2, 2, 7, 8)
    torch.testing.assert_close(rotary(q[:, :, 4:], 4), rotary(q)[:, :, 4:])
    with pytest.raises(ValueError, match=r"max_len=128 for learned positions, got T=3 after offset=126"):
        make_model(positions="learned").encoder.embed(ids[:, :3], position_offset=126)


# ----------------------------------------------------------------------------- decoding
def test_transformer_beam_search_with_beam_one_equals_greedy_and_wider_beams_score_no_worse():
    model = make_model(seed=4)
    src, _ = make_batch()
    greedy = model.greedy(src, max_len=7, alignments=True)
    one = model.beam_search(src, beam_size=1, max_len=7, alignments=True)
    assert torch.equal(one.tokens, greedy.tokens)
    torch.testing.assert_close(one.scores, greedy.scores)
    torch.testing.assert_close(one.alignments, greedy.alignments)
    wide = model.beam_search(src, beam_size=4, max_len=7, length_penalty=0.0)
    finished = (wide.tokens == Vocab.eos_id).any(1) & (greedy.tokens == Vocab.eos_id).any(1)
    assert (wide.scores[finished] >= greedy.scores[finished] - 1e-5).all()


def test_transformer_alignments_in_greedy_equal_a_teacher_forced_pass_over_its_output():
    model = make_model(seed=5)
    src, _ = make_batch()
    out = model.greedy(src, max_len=5, alignments=True)
    tgt_in = torch.cat([torch.full((3, 1), Vocab.bos_id), out.tokens[:, :-1]], dim=1)
    cross = model(src, tgt_in, need_weights=True).cross_attentions[-1].mean(1)  # (B, T, S)
    live = (out.tokens != Vocab.pad_id)[..., None]
    torch.testing.assert_close(out.alignments, cross * live, atol=1e-6, rtol=1e-5)


def test_source_checked_once_per_forward(monkeypatch):
    import coursekit.transformer.model as tm

    calls = []
    real = tm.check_source
    monkeypatch.setattr(tm, "check_source", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = make_model()
    src, tgt_in = make_batch()
    model(src, tgt_in)
    assert len(calls) == 1
    model.greedy(src, max_len=3)
    assert len(calls) == 2


def test_model_rejects_target_ids_outside_the_vocabulary_and_empty_sources():
    model = make_model()
    src, tgt_in = make_batch()
    with pytest.raises(ValueError, match=r"tgt_in ids must be in \[0, 10\), got values in \[1, 10\]"):
        model(src, tgt_in.masked_fill(tgt_in == 5, 10))
    empty = src.clone()
    empty[2] = Vocab.pad_id
    with pytest.raises(ValueError, match=r"src_lengths must be in \[1, S=6\].*empty"):
        model(empty, tgt_in)
    with pytest.raises(ValueError, match=r"max_len must be a positive int, got 0"):
        model.greedy(src, max_len=0)
    with pytest.raises(ValueError, match=r"beam_size must be a positive int, got 0"):
        model.beam_search(src, beam_size=0)
