"""coursekit.gpt.sampling against transformers' logits warpers on the same logits: temperature,
top-k, top-p, min_tokens_to_keep, ties and edge cases; and sample_next."""

from __future__ import annotations

import pytest
import torch

from coursekit.gpt import filter_logits, sample_next, temperature_scale, top_k_filter, top_p_filter

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower

NEG = float("-inf")


def random_logits(B: int = 4, V: int = 50, seed: int = 0) -> torch.Tensor:
    return 2.0 * torch.randn(B, V, generator=torch.Generator().manual_seed(seed))


def warp(warper, logits):
    return warper(torch.zeros(logits.shape[0], 1, dtype=torch.long), logits.clone())


# ----------------------------------------------------------------------------- against transformers
@pytest.mark.parametrize("t", [0.3, 1.0, 2.5])
def test_temperature_equals_transformers(t):
    from transformers.generation import TemperatureLogitsWarper

    x = random_logits()
    torch.testing.assert_close(temperature_scale(x, t), warp(TemperatureLogitsWarper(t), x))


@pytest.mark.parametrize("k, keep", [(1, 1), (5, 1), (5, 8), (49, 1), (50, 1), (80, 1)])
def test_top_k_equals_transformers(k, keep):
    from transformers.generation import TopKLogitsWarper

    x = random_logits(seed=k)
    ours = top_k_filter(x, k, min_tokens_to_keep=keep)
    torch.testing.assert_close(ours, warp(TopKLogitsWarper(k, min_tokens_to_keep=keep), x))
    assert ((ours > NEG).sum(-1) == min(max(k, keep), 50)).all()  # k >= V keeps all V


@pytest.mark.parametrize("p, keep", [(0.0, 1), (0.1, 1), (0.5, 1), (0.9, 1), (0.99, 1), (1.0, 1), (0.5, 5), (0.05, 3)])
def test_top_p_equals_transformers_without_ties(p, keep):
    from transformers.generation import TopPLogitsWarper

    x = random_logits(seed=int(100 * p) + keep)
    ours = top_p_filter(x, p, min_tokens_to_keep=keep)
    torch.testing.assert_close(ours, warp(TopPLogitsWarper(p, min_tokens_to_keep=keep), x))
    assert ((ours > NEG).sum(-1) >= keep).all()


def test_top_p_keeps_the_smallest_set_with_mass_at_least_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    x = probs.log()
    assert (top_p_filter(x, 0.5) > NEG).tolist() == [[True, False, False, False]]  # 0.5 >= 0.5
    assert (top_p_filter(x, 0.6) > NEG).tolist() == [[True, True, False, False]]
    assert (top_p_filter(x, 0.9) > NEG).tolist() == [[True, True, True, False]]
    assert (top_p_filter(x, 1.0) > NEG).all()


def test_top_p_one_keeps_every_token_of_nonzero_probability():
    x = random_logits()
    x[:, :3] = NEG
    torch.testing.assert_close(top_p_filter(x, 1.0), x)


def test_ties_top_k_keeps_every_token_tied_with_the_kth_as_transformers_does():
    from transformers.generation import TopKLogitsWarper

    x = torch.tensor([[3.0, 1.0, 2.0, 2.0, 2.0, 0.0]])
    ours = top_k_filter(x, 2)
    torch.testing.assert_close(ours, warp(TopKLogitsWarper(2), x))
    assert (ours > NEG).tolist() == [[True, False, True, True, True, False]]


def test_ties_top_p_keeps_all_tied_tokens_at_the_boundary_a_superset_of_transformers():
    """The documented difference: transformers keeps whichever tied tokens its sort places
    last; we keep every token tied with the smallest kept one. Away from the tie, equal."""
    from transformers.generation import TopPLogitsWarper

    x = torch.tensor([[2.0, 1.0, 1.0, 1.0, -1.0, -3.0]])
    ours = top_p_filter(x, 0.6)
    theirs = warp(TopPLogitsWarper(0.6), x)
    kept_ours, kept_theirs = ours > NEG, theirs > NEG
    assert kept_ours.tolist() == [[True, True, True, True, False, False]]
    assert (kept_theirs <= kept_ours).all()  # theirs is a subset
    extra = kept_ours & ~kept_theirs
    assert (x[extra] == 1.0).all()  # and the extra tokens are the tied ones
    torch.testing.assert_close(ours[kept_theirs], theirs[kept_theirs])


def test_filters_keep_the_kept_logits_unchanged():
    x = random_logits()
    for out in (top_k_filter(x, 7), top_p_filter(x, 0.7), filter_logits(x, temperature=1.0, top_k=10, top_p=0.8)):
        kept = out > NEG
        torch.testing.assert_close(out[kept], x[kept])


def test_filter_logits_chains_in_transformers_order():
    from transformers.generation import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    x = random_logits(B=3, V=40, seed=9)
    chain = LogitsProcessorList([TemperatureLogitsWarper(0.7), TopKLogitsWarper(12), TopPLogitsWarper(0.8)])
    torch.testing.assert_close(filter_logits(x, temperature=0.7, top_k=12, top_p=0.8), warp(chain, x))


# ----------------------------------------------------------------------------- sample_next
def test_greedy_is_the_argmax_and_sampling_is_reproducible():
    x = random_logits()
    torch.testing.assert_close(sample_next(x, greedy=True), x.argmax(-1))
    a = sample_next(x, generator=torch.Generator().manual_seed(1))
    b = sample_next(x, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4,) and a.dtype == torch.long and torch.equal(a, b)


def test_sampling_draws_only_kept_tokens_with_the_filtered_frequencies():
    x = torch.tensor([[2.0, 1.5, 1.0, 0.0, -1.0]]).expand(4000, 5)
    draws = sample_next(x, top_k=2, generator=torch.Generator().manual_seed(0))
    assert set(draws.tolist()) == {0, 1}
    share = (draws == 0).float().mean().item()
    want = torch.tensor([2.0, 1.5]).softmax(0)[0].item()  # 0.62
    assert abs(share - want) < 0.03
    cold = sample_next(x[:100], temperature=0.01, generator=torch.Generator().manual_seed(0))
    assert (cold == 0).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: temperature_scale(x, 0.0), "temperature must be"),
        (lambda x: top_k_filter(x, 0), "k must be"),
        (lambda x: top_k_filter(x, 2.5), "k must be"),
        (lambda x: top_p_filter(x, 1.5), "p must be"),
        (lambda x: top_p_filter(x, 0.5, min_tokens_to_keep=0), "min_tokens_to_keep must be"),
        (lambda x: sample_next(x[0]), r"logits must have shape \(B, V\), got \(50,\)"),
        (lambda x: sample_next(x.long()), "logits must be a float tensor of shape"),
        (lambda x: sample_next(x, greedy=1), "greedy must be True or False"),
        (lambda x: sample_next(x.to("meta"), generator=torch.Generator()), "generator must be on the logits' device"),
    ],
)
def test_bad_arguments_raise_valueerror_naming_them(call, message):
    with pytest.raises(ValueError, match=message):
        call(random_logits())
