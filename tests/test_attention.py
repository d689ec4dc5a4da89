"""Tests for coursekit.attention.masked_softmax."""

import re

import pytest
import torch

from coursekit.attention import masked_softmax


pytestmark = pytest.mark.usefixtures("one_thread")


def test_no_mask_is_plain_softmax():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5)
    torch.testing.assert_close(masked_softmax(scores, None), torch.softmax(scores, -1))
    torch.testing.assert_close(masked_softmax(scores, None, dim=1), torch.softmax(scores, 1))


def test_all_true_mask_equals_softmax():
    torch.manual_seed(0)
    scores = torch.randn(2, 3, 5)
    full = torch.ones(2, 3, 5, dtype=torch.bool)
    torch.testing.assert_close(masked_softmax(scores, full), torch.softmax(scores, -1))
    # a broadcast all-True mask, and another dim
    torch.testing.assert_close(masked_softmax(scores, torch.ones(5, dtype=torch.bool)), torch.softmax(scores, -1))
    torch.testing.assert_close(masked_softmax(scores, full, dim=1), torch.softmax(scores, 1))


def test_masked_entries_are_exactly_zero_and_kept_entries_are_softmax_of_the_kept():
    torch.manual_seed(1)
    scores = torch.randn(4, 6) * 3
    mask = torch.rand(4, 6) > 0.4
    mask[:, 0] = True  # every row keeps something
    w = masked_softmax(scores, mask)
    assert torch.all(w[~mask] == 0)
    for i in range(4):
        kept = scores[i][mask[i]]
        torch.testing.assert_close(w[i][mask[i]], torch.softmax(kept, -1))
    torch.testing.assert_close(w.sum(-1), torch.ones(4))


def test_padding_mask_broadcasts_over_queries():
    torch.manual_seed(2)
    scores = torch.randn(2, 3, 4)  # (B, T, S)
    lengths = torch.tensor([4, 2])
    mask = (torch.arange(4)[None, :] < lengths[:, None])[:, None, :]  # (B, 1, S)
    w = masked_softmax(scores, mask)
    assert torch.all(w[1, :, 2:] == 0)
    torch.testing.assert_close(w[1, :, :2], torch.softmax(scores[1, :, :2], -1))
    torch.testing.assert_close(w[0], torch.softmax(scores[0], -1))


def test_fully_masked_row_is_zero_not_nan_and_has_finite_gradients():
    scores = torch.randn(2, 3, requires_grad=True)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    w = masked_softmax(scores, mask)
    torch.testing.assert_close(w[1], torch.zeros(3), atol=0, rtol=0)
    (w * torch.randn(2, 3)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    torch.testing.assert_close(scores.grad[1], torch.zeros(3), atol=0, rtol=0)


def test_gradient_matches_softmax_over_kept_entries():
    torch.manual_seed(3)
    base = torch.randn(5)
    mask = torch.tensor([True, False, True, True, False])
    g = torch.randn(5)
    a = base.clone().requires_grad_(True)
    (masked_softmax(a, mask) * g).sum().backward()
    b = base[mask].clone().requires_grad_(True)
    (torch.softmax(b, -1) * g[mask]).sum().backward()
    torch.testing.assert_close(a.grad[mask], b.grad)
    assert torch.all(a.grad[~mask] == 0)


def test_large_scores_are_stable():
    scores = torch.tensor([[1e4, 1e4 - 1.0, -1e4]])
    w = masked_softmax(scores, torch.tensor([[True, True, False]]))
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w, torch.softmax(torch.tensor([[1.0, 0.0, float("-inf")]]), -1))


@pytest.mark.parametrize("dtype", [torch.long, torch.float32, torch.uint8])
def test_non_bool_mask_is_rejected(dtype):
    with pytest.raises(ValueError, match=rf"mask must be a bool tensor \(True = may attend\), got dtype {dtype}"):
        masked_softmax(torch.zeros(2, 3), torch.ones(2, 3, dtype=dtype))


@pytest.mark.parametrize("mask_shape", [(2, 4), (3, 2, 3), (5,)])
def test_non_broadcastable_mask_is_rejected(mask_shape):
    expected = f"mask of shape {tuple(mask_shape)} does not broadcast to scores of shape (2, 3)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        masked_softmax(torch.zeros(2, 3), torch.ones(mask_shape, dtype=torch.bool))
