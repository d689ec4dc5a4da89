"""coursekit.gpt.experiments: training with a held-out split, compression, generation cost."""

from __future__ import annotations

import pytest
import torch

from coursekit.gpt import GPT, GPTConfig, lm_loss
from coursekit.corpus import eval_windows
from coursekit.gpt.experiments import (
    generation_flops,
    generation_timings,
    held_out_loss,
    magnitude_prune,
    nonzero_weights,
    quantize_weights,
    steps_to_reach,
    train_lm,
    unigram_loss,
    weight_bytes,
    weight_matrices,
)

pytestmark = pytest.mark.usefixtures("one_thread")
CFG = GPTConfig(vocab_size=20, n_positions=16, n_embd=16, n_layer=1, n_head=2)


def tiny(seed=0, cfg=CFG):
    torch.manual_seed(seed)
    return GPT(cfg)


def periodic_ids(n=400):
    """A sequence a model can learn quickly: 0 1 2 ... 9 0 1 2 ..."""
    return torch.arange(n) % 10


def test_held_out_loss_is_lm_loss_on_the_windows():
    m, ids = tiny(), periodic_ids(41)
    x = torch.stack([ids[0:8], ids[8:16], ids[16:24], ids[24:32], ids[32:40]])
    y = torch.stack([ids[1:9], ids[9:17], ids[17:25], ids[25:33], ids[33:41]])
    with torch.no_grad():
        want = lm_loss(m, x, y).item()
    assert held_out_loss(m, ids, 8, max_windows=None) == pytest.approx(want, rel=1e-5)


def test_train_lm_learns_is_seeded_and_logs_a_start_point():
    ids = periodic_ids()
    runs = [train_lm(tiny(), ids, ids, steps=20, block_size=8, batch_size=4, lr=2e-2, warmup=2, eval_every=10,
                     eval_windows=8) for _ in range(2)]
    steps, losses = runs[0].history.curve("loss", "eval")
    assert steps == [0, 10, 20] and losses[-1] < 0.5 * losses[0]
    assert losses == runs[1].history.curve("loss", "eval")[1]
    assert runs[0].final_loss == losses[-1] and runs[0].parameters == sum(p.numel() for p in runs[0].model.parameters())
    assert steps_to_reach(runs[0], losses[1]) == 10 and steps_to_reach(runs[0], -1.0) is None
    held = [r for r in runs[0].records(model="m") if r["split"] == "held-out"]
    assert len(held) == 3 and all("perplexity" in r and r["model"] == "m" for r in held)
    with pytest.raises(ValueError, match="train_ids must be a 1-d long tensor"):
        train_lm(tiny(), ids.float(), ids, steps=1, block_size=8)


def test_weight_matrices_count_the_tied_embedding_once():
    m = tiny()
    names = [n for n, _ in weight_matrices(m)]
    assert len(names) == len(set(id(p) for _, p in weight_matrices(m)))
    assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for _, p in weight_matrices(m)) + sum(
        p.numel() for p in m.parameters() if p.dim() != 2)
    total = sum(p.numel() for p in m.parameters())
    assert weight_bytes(m, 32) == 4 * total
    rows = sum(p.shape[0] for _, p in weight_matrices(m))
    matrix = sum(p.numel() for _, p in weight_matrices(m))
    assert weight_bytes(m, 4) == matrix / 2 + 4 * rows + 4 * (total - matrix)


@pytest.mark.parametrize("bits", [8, 4, 2])
def test_quantize_rounds_each_row_to_bits_levels_and_leaves_the_original(bits):
    m = tiny()
    before = {n: p.clone() for n, p in m.named_parameters()}
    q = quantize_weights(m, bits)
    assert all(torch.equal(p, before[n]) for n, p in m.named_parameters())
    for (_, w), (_, w0) in zip(weight_matrices(q), weight_matrices(m)):
        scale = w0.abs().amax(1, keepdim=True) / (2 ** (bits - 1) - 1)
        levels = w / scale
        torch.testing.assert_close(levels, levels.round(), atol=1e-4, rtol=0)
        assert levels.abs().max() <= 2 ** (bits - 1) - 1 + 1e-4
        assert (w - w0).abs().max() <= scale.max() / 2 + 1e-7
    assert q.wte.weight is q.stack.embed.embed.weight  # still tied


def test_quantize_8_bits_barely_changes_the_logits():
    m, x = tiny(), torch.randint(0, 20, (2, 8))
    with torch.no_grad():
        torch.testing.assert_close(quantize_weights(m, 8)(x).logits, m(x).logits, atol=1e-2, rtol=0)


def test_magnitude_prune_zeroes_the_smallest_share():
    m = tiny()
    p = magnitude_prune(m, 0.75)
    w = torch.cat([w.flatten() for _, w in weight_matrices(p)])
    w0 = torch.cat([w.flatten() for _, w in weight_matrices(m)])
    assert (w == 0).float().mean().item() == pytest.approx(0.75, abs=0.01)
    kept = w != 0
    assert w0[kept].abs().min() >= w0[~kept].abs().max()
    torch.testing.assert_close(w[kept], w0[kept])
    assert nonzero_weights(p) == int(kept.sum()) + sum(q.numel() for q in p.parameters() if q.dim() != 2)
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_prune(m, 1.0)


def test_generation_flops_count_the_prefix_again_without_a_cache():
    cfg = GPTConfig(vocab_size=20, n_positions=32, n_embd=8, n_layer=1, n_head=2)
    m = tiny(cfg=cfg)
    D, F_, V = 8, 32, 20
    per_pos, per_pair, out = 2 * (4 * D * D + 2 * D * F_), 4 * D, 2 * D * V
    # with the cache: the 1-token prompt, then one new position per step (n = 3 new tokens: 3 calls)
    want_cached = sum(per_pos + per_pair * (t + 1) + out for t in range(3))
    want_full = sum(T * per_pos + per_pair * T * (T + 1) // 2 + T * out for T in (1, 2, 3))
    assert generation_flops(m, 3, use_cache=True) == want_cached
    assert generation_flops(m, 3, use_cache=False) == want_full
    assert generation_flops(m, 3, use_cache=False) == generation_flops(m, 3, use_cache=False, seed=5)


def test_generation_timings_give_a_row_per_length_and_kind():
    m = tiny(cfg=GPTConfig(vocab_size=20, n_positions=32, n_embd=8, n_layer=1, n_head=2))
    rows = generation_timings(m, [4, 8], new_tokens=2, rounds=1)
    kinds = ["new token, without cache", "new token, with cache", "the prompt, into the cache"]
    assert [(r["prompt"], r["kind"]) for r in rows] == [(t, k) for t in (4, 8) for k in kinds]
    assert all(r["ms"] > 0 for r in rows)


def test_the_timed_cached_steps_are_the_new_tokens_of_generate():
    """What the 'with cache' timing runs: one-token steps after a cache filled with the prompt,
    the same tokens generate picks after its first (prompt) step."""
    from coursekit.gpt.experiments import _greedy_cached_steps

    m = tiny(cfg=GPTConfig(vocab_size=20, n_positions=32, n_embd=8, n_layer=1, n_head=2)).eval()
    prompt = torch.randint(0, 20, (1, 6), generator=torch.Generator().manual_seed(1))
    want = m.generate(prompt, 5, greedy=True)  # (1, 11): the prompt pass picks token 6, then 4 one-token steps
    cache = m.new_cache()
    with torch.no_grad():
        first = m(prompt, cache=cache).logits[:, -1].argmax(-1, keepdim=True)  # (1, 1)
    got = _greedy_cached_steps(m, cache, first, 4)
    assert torch.equal(first, want[:, 6:7]) and torch.equal(got, want[:, 7:])
    assert cache.length == 6 + 4  # four one-token steps, nothing recomputed


def test_unigram_loss_is_add_one_frequencies_on_the_held_out_tokens():
    train, held = torch.tensor([0, 0, 0, 1, 2, 2]), torch.tensor([0, 2, 3, 0])
    p = torch.tensor([4, 2, 3, 1], dtype=torch.float64) / (6 + 4)  # counts + 1 over N + V
    want = -(p[held].log()).mean().item()
    assert unigram_loss(train, held, 4) == pytest.approx(want)
    # on held_out_loss's windows: the targets of eval_windows, nothing else
    ids = periodic_ids(41) % 4
    _, y = eval_windows(ids, 8, 3)
    assert unigram_loss(train, ids, 4, block_size=8, max_windows=3) == pytest.approx(-(p[y.flatten()].log()).mean().item())
    with pytest.raises(ValueError, match=r"held_ids must hold ids in \[0, vocab_size=4\)"):
        unigram_loss(train, torch.tensor([4]), 4)
    with pytest.raises(ValueError, match="train_ids must be a non-empty 1-d long tensor"):
        unigram_loss(train.float(), held, 4)
