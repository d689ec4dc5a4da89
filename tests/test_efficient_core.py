"""Chapter 7's core: attention patterns, blocked local, LSH and linear attention, scaling."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from coursekit.attention import causal_mask, masked_softmax, scaled_dot_product_attention
from coursekit.efficient import (
    PATTERN_KINDS,
    LinearAttentionState,
    ScalingRow,
    StepRow,
    blocked_local_attention,
    bucket_mask,
    crossover_length,
    cpu_peak_bytes,
    elu_feature_map,
    fixed_mask,
    full_attention_wall,
    full_mask,
    keys_per_query,
    linear_attention,
    linear_attention_step,
    local_mask,
    lsh_attention,
    lsh_hash,
    lsh_recall,
    measure_attention,
    measure_step,
    memory_budget_bytes,
    pattern_mask,
    strided_mask,
    theoretical_bytes,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed))


# ---------------------------------------------------------------- patterns


def brute(n: int, rule) -> torch.Tensor:
    return torch.tensor([[bool(rule(i, j)) for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("n, l", [(16, 4), (17, 4), (10, 3)])
def test_strided_mask_is_the_papers_definition(n, l):
    # Child et al. 2019, Sec. 4.2: A1 = {max(0, i - l), ..., i}, A2 = {j : (i - j) mod l = 0}, j <= i.
    a1 = brute(n, lambda i, j: max(0, i - l) <= j <= i)
    a2 = brute(n, lambda i, j: j <= i and (i - j) % l == 0)
    assert torch.equal(strided_mask(n, l, head=1), a1)
    assert torch.equal(strided_mask(n, l, head=2), a2)
    assert torch.equal(strided_mask(n, l), a1 | a2)
    bi = brute(n, lambda i, j: abs(i - j) <= l or abs(i - j) % l == 0)
    assert torch.equal(strided_mask(n, l, causal=False), bi)


@pytest.mark.parametrize("n, l, c", [(16, 4, 1), (18, 4, 2), (9, 3, 3)])
def test_fixed_mask_is_the_papers_definition(n, l, c):
    # A1 = {j : floor(j/l) = floor(i/l)}, A2 = {j : j mod l in {l - c, ..., l - 1}}, j <= i.
    a1 = brute(n, lambda i, j: j <= i and j // l == i // l)
    a2 = brute(n, lambda i, j: j <= i and j % l >= l - c)
    assert torch.equal(fixed_mask(n, l, c, head=1), a1)
    assert torch.equal(fixed_mask(n, l, c, head=2), a2)
    assert torch.equal(fixed_mask(n, l, c), a1 | a2)
    assert torch.equal(fixed_mask(n, l, c, causal=False), brute(n, lambda i, j: j // l == i // l or j % l >= l - c))


def test_local_mask_counts_and_centre():
    n, w = 12, 5
    causal = local_mask(n, w)
    assert keys_per_query(causal).tolist() == [min(i + 1, w) for i in range(n)]
    centred = local_mask(n, w, causal=False)
    assert torch.equal(centred, brute(n, lambda i, j: abs(i - j) <= 2))
    assert keys_per_query(centred)[5].item() == w  # an interior query reads exactly w keys


@pytest.mark.parametrize("kind", ["causal", "strided", "fixed", "local"])
def test_causal_patterns_hide_the_future(kind):
    n = 25
    m = pattern_mask(kind, n)
    assert not (m & ~causal_mask(n)).any()
    assert m.diagonal().all()  # every query reads itself: no empty row


def test_strided_reads_order_sqrt_n_keys():
    # With l = sqrt(n), each query reads at most l + 1 + n / l = O(sqrt n) keys, not O(n).
    for n in (64, 256, 1024):
        l = math.isqrt(n)
        counts = keys_per_query(strided_mask(n, l))
        assert counts.max().item() <= 2 * l + 1
        # The last query i = n - 1: l + 1 local keys, floor(i / l) + 1 strided ones, two of them in both.
        assert counts[-1].item() == (l + 1) + ((n - 1) // l + 1) - 2
    # ... whereas a causal query at the end reads all n.
    assert keys_per_query(causal_mask(1024))[-1].item() == 1024


@pytest.mark.parametrize("kind", ["full", "causal", "strided", "fixed", "local", "lsh"])
def test_masked_attention_equals_torch_sdpa_with_the_pattern(kind):
    n = 20
    mask = pattern_mask(kind, n)
    assert mask.shape == (n, n) and mask.dtype == torch.bool
    q, k, v = randn(3, 2, n, 8).unbind(0)
    ours = scaled_dot_product_attention(q, k, v, mask)[0]
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_close(ours, ref)
    # ... and it is full attention restricted: keys outside the pattern do not matter.
    k2, v2 = k.clone(), v.clone()
    outside = ~mask[-1]
    k2[:, outside] += 5.0
    v2[:, outside] -= 3.0
    assert_close(scaled_dot_product_attention(q, k2, v2, mask)[0][:, -1], ours[:, -1])


def test_pattern_mask_defaults_and_errors():
    assert PATTERN_KINDS == ("full", "causal", "strided", "fixed", "local", "lsh")
    assert torch.equal(pattern_mask("full", 5), full_mask(5))
    assert torch.equal(pattern_mask("strided", 16), strided_mask(16, 4))
    assert torch.equal(pattern_mask("fixed", 16, c=2, causal=False), fixed_mask(16, 4, 2, causal=False))
    b = torch.tensor([0, 1, 0, 2, 1])
    assert torch.equal(pattern_mask("lsh", 5, buckets=b), bucket_mask(b))
    assert torch.equal(pattern_mask("lsh", 30, seed=3), pattern_mask("lsh", 30, seed=3))  # seeded
    with pytest.raises(ValueError, match="kind must be one of"):
        pattern_mask("dilated", 8)
    with pytest.raises(ValueError, match="unexpected \\['window'\\]"):
        pattern_mask("strided", 8, window=2)
    with pytest.raises(ValueError, match="c must be an int >= 1 <= 4"):
        fixed_mask(8, 4, 5)
    with pytest.raises(ValueError, match="head must be None"):
        strided_mask(8, 2, head=3)
    with pytest.raises(ValueError, match="buckets must have shape"):
        pattern_mask("lsh", 6, buckets=b)


def test_bucket_mask_is_shared_bucket_and_union_over_rounds():
    b = torch.tensor([[0, 1, 0, 1], [2, 2, 0, 0]])  # (R, n)
    m = bucket_mask(b)  # (R, n, n)
    assert torch.equal(m[0], brute(4, lambda i, j: b[0, i] == b[0, j]))
    union = m.any(0)
    assert union[0, 1] and union[0, 2] and not union[0, 3]
    assert torch.equal(bucket_mask(b[0], causal=True), m[0] & causal_mask(4))


# ---------------------------------------------------------------- blocked local attention


@pytest.mark.parametrize("T, w", [(12, 4), (13, 4), (3, 5), (1, 1), (17, 6)])
@pytest.mark.parametrize("causal", [True, False])
def test_blocked_local_equals_full_attention_with_local_mask(T, w, causal):
    q, k = randn(2, 2, 3, T, 8).unbind(0)
    v = randn(2, 3, T, 5, seed=1)
    ours = blocked_local_attention(q, k, v, w, causal=causal)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=local_mask(T, w, causal=causal))
    assert ours.shape == (2, 3, T, 5)
    assert_close(ours, ref)


def test_blocked_local_gradients_match_and_stay_finite():
    T, w = 11, 4  # a padded last block
    q, k, v = (randn(1, T, 6, seed=s).requires_grad_() for s in range(3))
    blocked_local_attention(q, k, v, w).square().sum().backward()
    grads = [x.grad.clone() for x in (q, k, v)]
    for x in (q, k, v):
        x.grad = None
    scaled_dot_product_attention(q, k, v, local_mask(T, w))[0].square().sum().backward()
    for ours, ref in zip(grads, (q.grad, k.grad, v.grad)):
        assert torch.isfinite(ours).all()
        assert_close(ours, ref)


def test_blocked_local_memory_grows_as_n_times_w():
    w = 16
    peaks = {
        n: cpu_peak_bytes(lambda n=n: blocked_local_attention(*randn(3, 1, n, 16).unbind(0), w)) for n in (256, 512, 1024)
    }
    full = cpu_peak_bytes(lambda: scaled_dot_product_attention(*randn(3, 1, 1024, 16).unbind(0))[0])
    # Linear in n: doubling n doubles the peak (within 15 %); full attention at 1024 needs far more.
    assert 1.7 < peaks[512] / peaks[256] < 2.3 and 1.7 < peaks[1024] / peaks[512] < 2.3
    assert full > 5 * peaks[1024]


def test_blocked_local_validates_inputs():
    q = randn(1, 8, 4)
    with pytest.raises(ValueError, match="window must be a positive int"):
        blocked_local_attention(q, q, q, 0)
    with pytest.raises(ValueError, match="k must have shape"):
        blocked_local_attention(q, randn(1, 7, 4), q, 2)
    with pytest.raises(ValueError, match="q must have a floating dtype"):
        blocked_local_attention(q.long(), q, q, 2)


# ---------------------------------------------------------------- LSH


def test_lsh_hash_is_angular_deterministic_and_in_range():
    x = randn(2, 30, 8)
    b1 = lsh_hash(x, 6, 3, generator=gen(1))
    b2 = lsh_hash(x, 6, 3, generator=gen(1))
    assert b1.shape == (2, 3, 30) and b1.dtype == torch.int64
    assert torch.equal(b1, b2)
    assert b1.min() >= 0 and b1.max() < 6
    assert torch.equal(lsh_hash(3.7 * x, 6, 3, generator=gen(1)), b1)  # angular: scale does not matter
    assert torch.equal(lsh_hash(-x, 2, 1, generator=gen(1)), 1 - lsh_hash(x, 2, 1, generator=gen(1)))  # argmax([xR; -xR])
    # The first r rounds of a longer draw are an r-round draw.
    assert torch.equal(lsh_hash(x, 6, 5, generator=gen(1))[:, :3], b1)
    assert not torch.equal(lsh_hash(x, 6, 3, generator=gen(2)), b1)
    with pytest.raises(ValueError, match="n_buckets must be 1 or even"):
        lsh_hash(x, 5, generator=gen())
    with pytest.raises(ValueError, match="generator must be a torch.Generator"):
        lsh_hash(x, 4, generator=0)


def shared_qk_reference(qk, v, allowed, causal=False):
    """Full attention with shared QK (normalised keys), self only when nothing else is allowed."""
    n = qk.shape[-2]
    scores = qk @ F.normalize(qk, dim=-1).transpose(-2, -1) / math.sqrt(qk.shape[-1])
    if causal:
        allowed = allowed & causal_mask(n)
    eye = torch.eye(n, dtype=torch.bool)
    others = allowed & ~eye
    allowed = others | (eye & ~others.any(-1, keepdim=True))
    return masked_softmax(scores, allowed) @ v


@pytest.mark.parametrize("causal", [False, True])
def test_lsh_with_one_bucket_is_full_shared_qk_attention(causal):
    qk, v = randn(2, 16, 8), randn(2, 16, 4, seed=1)
    everything = torch.ones(16, 16, dtype=torch.bool)
    for rounds in (1, 3):
        ours = lsh_attention(qk, v, n_buckets=1, n_rounds=rounds, chunk=16, generator=gen(), causal=causal)
        assert_close(ours, shared_qk_reference(qk, v, everything, causal))
    # Chunks of 4 with one bucket: each query reads its own chunk and the previous one.
    chunked = brute(16, lambda i, j: j // 4 in (i // 4, i // 4 - 1))
    ours = lsh_attention(qk, v, n_buckets=1, n_rounds=1, chunk=4, generator=gen(), causal=causal)
    assert_close(ours, shared_qk_reference(qk, v, chunked, causal))


def test_lsh_collinear_vectors_share_one_bucket():
    qk = (torch.rand(1, 12, 1, generator=gen(3)) * 2 + 0.5) * randn(8)  # (1, 12, 8): positive multiples of one vector
    v = randn(1, 12, 3, seed=4)
    b = lsh_hash(qk, 4, 2, generator=gen(5))
    assert (b == b[..., :1]).all()  # one bucket in every round
    ours = lsh_attention(qk, v, 4, 2, 12, gen(5))
    assert_close(ours, shared_qk_reference(qk, v, torch.ones(12, 12, dtype=torch.bool)))


def test_lsh_one_round_chunked_equals_its_mask():
    n, m = 20, 4  # 5 chunks
    qk, v = randn(1, n, 6, seed=7), randn(1, n, 3, seed=8)
    b = lsh_hash(qk, 4, 1, generator=gen(9))[0, 0]  # (n,)
    # Independent reference: sort by (bucket, position), chunk ranks, own + previous chunk, same bucket.
    order = sorted(range(n), key=lambda i: (int(b[i]), i))
    chunk_of = {pos: rank // m for rank, pos in enumerate(order)}
    allowed = brute(n, lambda i, j: b[i] == b[j] and chunk_of[j] in (chunk_of[i], chunk_of[i] - 1))
    for causal in (False, True):
        ours = lsh_attention(qk, v, 4, 1, m, gen(9), causal=causal)
        assert_close(ours, shared_qk_reference(qk, v, allowed, causal)[0:1])


@pytest.mark.parametrize("causal", [False, True])
def test_lsh_multi_round_is_attention_over_the_union_counted_once(causal):
    n = 24
    qk, v = randn(2, n, 8, seed=11), randn(2, n, 5, seed=12)
    b = lsh_hash(qk, 8, 3, generator=gen(13))  # (2, 3, n)
    ours = lsh_attention(qk, v, 8, 3, n, gen(13), causal=causal)  # one chunk: whole buckets
    ref = shared_qk_reference(qk, v, bucket_mask(b).any(1), causal)
    assert_close(ours, ref)


def test_lsh_attention_pads_lengths_not_divisible_by_chunk():
    n = 10
    qk, v = randn(1, n, 4, seed=2), randn(1, n, 2, seed=3)
    qk.requires_grad_()
    v.requires_grad_()
    out = lsh_attention(qk, v, 2, 2, 4, gen(1))  # 3 chunks, 2 padded slots
    assert out.shape == (1, n, 2) and torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(qk.grad).all() and torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="v must have shape"):
        lsh_attention(qk.detach(), randn(1, n + 1, 2), 2, 1, 4, gen())
    with pytest.raises(ValueError, match="chunk must be a positive int"):
        lsh_attention(qk.detach(), v.detach(), 2, 1, 0, gen())


def test_lsh_recall_rises_with_rounds():
    qk = randn(128, 16, seed=5)
    recalls = [lsh_recall(qk, 8, r, top=4, generator=gen(0)) for r in (1, 2, 4, 8)]
    assert all(0.0 <= r <= 1.0 for r in recalls)
    assert recalls == sorted(recalls)  # monotone for a fixed seed
    assert recalls[-1] > recalls[0] + 0.2  # and by a lot
    assert lsh_recall(qk, 2, 1, top=3, generator=gen(0)) > lsh_recall(qk, 16, 1, top=3, generator=gen(0))


def test_lsh_recall_counts_shared_buckets():
    # Two tight pairs far apart: each query's top-1 key is its partner.
    qk = torch.tensor([[1.0, 0.01], [1.0, -0.01], [-1.0, 0.02], [-1.0, -0.02]])
    b = lsh_hash(qk, 2, 1, generator=gen(0))[0]
    expected = sum(b[i] == b[i ^ 1] for i in range(4)) / 4
    assert lsh_recall(qk, 2, 1, top=1, generator=gen(0)) == pytest.approx(float(expected))
    with pytest.raises(ValueError, match="top must be an int >= 1 <= 3"):
        lsh_recall(qk, 2, 1, top=4, generator=gen(0))


# ---------------------------------------------------------------- linear attention


def test_feature_map_is_elu_plus_one_and_positive():
    x = torch.linspace(-5, 5, 11)
    assert_close(elu_feature_map(x), torch.where(x > 0, x + 1, torch.exp(x)))
    assert (elu_feature_map(x) > 0).all()


def test_linear_attention_equals_explicit_normalised_kernel_attention():
    q, k = randn(2, 2, 3, 7, 4).unbind(0)
    v = randn(2, 3, 9, 5, seed=1)[..., :7, :]
    fq, fk = elu_feature_map(q), elu_feature_map(k)
    sim = fq @ fk.transpose(-2, -1)  # (B, H, T, S)
    ref = (sim / sim.sum(-1, keepdim=True)) @ v
    assert_close(linear_attention(q, k, v, eps=0.0), ref)
    causal = sim.masked_fill(~causal_mask(7), 0.0)
    assert_close(linear_attention(q, k, v, causal=True, eps=0.0), (causal / causal.sum(-1, keepdim=True)) @ v)
    # Cross-attention (T != S), non-causal.
    kk, vv = randn(2, 3, 11, 4, seed=2), randn(2, 3, 11, 5, seed=3)
    sim = fq @ elu_feature_map(kk).transpose(-2, -1)
    assert_close(linear_attention(q, kk, vv, eps=0.0), (sim / sim.sum(-1, keepdim=True)) @ vv)


@pytest.mark.parametrize("T, chunk", [(12, 4), (13, 4), (3, 8), (7, 1)])
def test_chunked_causal_linear_attention_equals_cumulative_sums(T, chunk):
    q, k = randn(2, 2, 3, T, 4).unbind(0)
    v = randn(2, 3, T, 5, seed=1)
    assert_close(linear_attention(q, k, v, causal=True, chunk=chunk), linear_attention(q, k, v, causal=True))


def test_parallel_and_recurrent_forms_agree_at_every_step():
    T = 9
    q, k, v = randn(3, 2, T, 4).unbind(0)
    parallel = linear_attention(q, k, v, causal=True)
    state = None
    for t in range(T):
        out_t, state = linear_attention_step(state, q[:, t], k[:, t], v[:, t])
        assert_close(out_t, parallel[:, t])
        assert state.steps == t + 1
    assert state.kv.shape == (2, 4, 4) and state.z.shape == (2, 4)
    assert state.nbytes == LinearAttentionState.empty(4, 4, (2,)).nbytes  # constant size


def test_linear_attention_validates_inputs():
    q = randn(2, 5, 4)
    with pytest.raises(ValueError, match="k must have shape"):
        linear_attention(q, randn(2, 5, 3), q)
    with pytest.raises(ValueError, match="v must have shape"):
        linear_attention(q, q, randn(2, 6, 4))
    with pytest.raises(ValueError, match="causal linear attention needs as many queries as keys"):
        linear_attention(q, randn(2, 6, 4), randn(2, 6, 4), causal=True)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        linear_attention(q, q, q, eps=-1.0)
    with pytest.raises(ValueError, match="causal must be True or False"):
        linear_attention(q, q, q, causal="yes")
    with pytest.raises(ValueError, match="chunk must be a positive int"):
        linear_attention(q, q, q, causal=True, chunk=0)
    with pytest.raises(ValueError, match="state.kv must have shape"):
        linear_attention_step(LinearAttentionState.empty(4, 3), q[0, 0], q[0, 0], q[0, 0])
    with pytest.raises(ValueError, match="state must be a LinearAttentionState"):
        linear_attention_step({}, q[0, 0], q[0, 0], q[0, 0])


# ---------------------------------------------------------------- scaling


def test_measure_attention_rows_and_memory_against_theory():
    rows = measure_attention("full", [64, 128], d=8, repeats=1)
    assert [r.n for r in rows] == [64, 128] and all(isinstance(r, ScalingRow) for r in rows)
    assert all(r.seconds > 0 for r in rows)
    for r in rows:  # the score matrix and its softmax: 2 n^2 floats, measured within 25 %
        assert r.theory_bytes == 2 * r.n**2 * 4
        assert 0.95 * r.theory_bytes <= r.peak_bytes <= 1.25 * r.theory_bytes
    assert 3.5 < rows[1].peak_bytes / rows[0].peak_bytes < 4.5  # quadratic
    lin = measure_attention("linear", [128, 256], d=8, repeats=1)
    assert 1.7 < lin[1].peak_bytes / lin[0].peak_bytes < 2.3  # linear
    loc = measure_attention("blocked_local", [128], d=8, window=16, repeats=1, causal=True)
    assert 0.5 * loc[0].theory_bytes <= loc[0].peak_bytes <= 1.5 * loc[0].theory_bytes
    for chunk in (None, 32):
        lc = measure_attention("linear", [256], d=16, causal=True, linear_chunk=chunk, repeats=1)[0]
        assert 0.7 * lc.theory_bytes <= lc.peak_bytes <= 1.3 * lc.theory_bytes, (chunk, lc)


def test_cpu_peak_bytes_sees_a_known_allocation():
    assert cpu_peak_bytes(lambda: torch.empty(1000, 250)) == 1000 * 250 * 4
    assert cpu_peak_bytes(lambda: [torch.zeros(100), torch.zeros(300)]) == 1600


def test_theoretical_bytes_formulas():
    assert theoretical_bytes("full", 100, heads=2) == 2 * 2 * 100 * 100 * 4
    assert theoretical_bytes("linear", 100, d=8) == 4 * 100 * 8 * 4
    assert theoretical_bytes("linear", 100, d=8, causal=True, linear_chunk=None) == 2 * 100 * 64 * 4
    assert theoretical_bytes("linear", 100, d=8, causal=True, linear_chunk=10) == (100 * 10 + 3 * 10 * 64 + 5 * 100 * 8) * 4
    # Blocked local pads to whole windows: 100 -> 112 with w = 16.
    assert theoretical_bytes("blocked_local", 100, d=8, window=16, causal=True) == (2 * 112 * 32 + 2 * 112 * 2 * 8 + 2 * 112 * 8) * 4
    with pytest.raises(ValueError, match="kind must be one of"):
        theoretical_bytes("sparse", 10)


def rows(kind, costs, lengths=(64, 128, 256, 512)):
    return [ScalingRow(kind, n, c, 1, 1) for n, c in zip(lengths, costs)]


def test_crossover_length_interpolates_and_handles_edges():
    a = rows("full", [1.0, 2.0, 4.0, 8.0])
    b = rows("linear", [4.0, 4.0, 2.0, 2.0])
    # b stops being dearer between 128 (a/b = 1/2) and 256 (a/b = 2): halfway in log -> sqrt(128 * 256).
    assert crossover_length(a, b) == pytest.approx(math.sqrt(128 * 256))
    assert crossover_length(a, rows("linear", [0.5, 1, 2, 4])) == 64.0  # cheaper everywhere
    assert crossover_length(a, rows("linear", [2, 3, 5, 9])) is None  # never
    # Noise: b cheaper at 128, dearer at 256, cheaper after: the crossover that lasts is after 256.
    x = crossover_length(a, rows("linear", [2, 1.5, 5, 4]))
    assert 256 < x < 512
    with pytest.raises(ValueError, match="same non-empty lengths"):
        crossover_length(a, rows("linear", [1, 2, 3], lengths=(64, 128, 300)))


def test_full_attention_wall_is_where_the_scores_exceed_the_budget():
    budget = 2**30  # 1 GiB: 2 n^2 * 4 bytes > 2^30  <=>  n > 2^13.5 = 11585.2
    n = full_attention_wall(budget)
    assert theoretical_bytes("full", n) > budget >= theoretical_bytes("full", n - 1)
    assert n == 11586
    assert full_attention_wall(budget, heads=4) == pytest.approx(n / 2, abs=1)
    assert memory_budget_bytes() > 2**28
    assert full_attention_wall() > 1000
    with pytest.raises(ValueError, match="budget_bytes must be a positive int"):
        full_attention_wall(0)


def test_measure_step_state_is_constant_for_linear_and_grows_for_softmax():
    lin = measure_step("linear", [16, 4096], d=8, repeats=1)
    soft = measure_step("softmax", [16, 4096], d=8, repeats=1)
    assert all(isinstance(r, StepRow) and r.seconds > 0 for r in lin + soft)
    assert lin[0].state_bytes == lin[1].state_bytes == (8 * 8 + 8) * 4
    assert soft[1].state_bytes == 256 * soft[0].state_bytes == 2 * 4096 * 8 * 4
    with pytest.raises(ValueError, match="kind must be one of"):
        measure_step("full", [4])
    with pytest.raises(ValueError, match="positions must be a non-empty sequence"):
        measure_step("linear", [])
