"""Product-key memory: the product top-k equals the brute-force top-k; the layer's shapes and gradients."""

import pytest
import torch

from coursekit.efficient.pkm import ProductKeyMemory, brute_force_topk, pkm_cost, product_topk, topk_lowest_index

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: two threads on a busy machine are far slower


def _halves(seed, B, n, h, ints=False):
    g = torch.Generator().manual_seed(seed)
    if ints:  # small integers: many equal scores, so ties must be broken the same way
        draw = lambda *s: torch.randint(-1, 2, s, generator=g).float()  # noqa: E731
    else:
        draw = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    return draw(B, h), draw(B, h), draw(n, h), draw(n, h)


@pytest.mark.parametrize("seed,B,n,h,k", [(0, 5, 8, 3, 4), (1, 3, 16, 4, 16), (2, 7, 5, 2, 1), (3, 4, 32, 8, 7)])
@pytest.mark.parametrize("ints", [False, True])
def test_product_topk_equals_brute_force(seed, B, n, h, k, ints):
    q1, q2, K1, K2 = _halves(seed, B, n, h, ints)
    s, i = product_topk(q1, q2, K1, K2, k)
    bs, bi = brute_force_topk(q1, q2, K1, K2, k)
    assert s.shape == i.shape == (B, k)
    torch.testing.assert_close(s, bs, atol=0, rtol=0)
    assert torch.equal(i, bi)
    if ints and k > 1:
        assert (bs[:, :-1] == bs[:, 1:]).any()  # the case really has ties inside the top-k


def test_brute_force_scores_are_the_full_keys_dot_products():
    q1, q2, K1, K2 = _halves(4, 3, 6, 4)
    n = K1.shape[0]
    keys = torch.cat([K1.repeat_interleave(n, 0), K2.repeat(n, 1)], dim=1)  # key i*n + j = [c_i; c'_j]
    full = torch.cat([q1, q2], 1) @ keys.T  # (B, n*n)
    s, i = brute_force_topk(q1, q2, K1, K2, 5)
    torch.testing.assert_close(s, full.gather(1, i))
    torch.testing.assert_close(s, full.topk(5).values)


def test_topk_lowest_index_breaks_ties_by_index():
    s = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0]])
    v, p = topk_lowest_index(s, 3)
    assert p.tolist() == [[1, 2, 4]]
    v, p = topk_lowest_index(s, 2, index=torch.tensor([[0, 9, 5, 1, 2]]))
    assert p.tolist() == [[4, 2]] and v.tolist() == [[3.0, 3.0]]


def test_memory_shapes_and_weights():
    torch.manual_seed(0)
    mem = ProductKeyMemory(d_model=12, n_sub_keys=6, k=3, d_key=8, heads=2, value_dim=10)
    assert mem.n_keys == 36 and mem.values.weight.shape == (36, 10)
    x = torch.randn(2, 5, 12)
    out = mem(x)
    assert out.shape == (2, 5, 10)
    scores, idx = mem.lookup(x.reshape(10, 12))
    assert scores.shape == idx.shape == (10, 2, 3) and int(idx.max()) < 36
    # the same read done by hand: per head, softmax over the k scores, weighted values, heads summed
    w = torch.softmax(scores, -1)
    manual = (w[..., None] * mem.values.weight[idx]).sum((1, 2))
    torch.testing.assert_close(out.reshape(10, 10), manual)


def test_gradients_reach_values_keys_and_query():
    torch.manual_seed(1)
    mem = ProductKeyMemory(d_model=8, n_sub_keys=5, k=2, d_key=6)
    x = torch.randn(4, 8)
    mem(x).pow(2).sum().backward()
    g = mem.values.weight.grad
    _, idx = mem.lookup(x)
    touched = torch.zeros(25, dtype=torch.bool)
    touched[idx.flatten()] = True
    assert (g[touched].abs().sum(-1) > 0).all() and (g[~touched] == 0).all()  # only the rows read
    assert mem.sub_keys.grad.abs().sum() > 0 and mem.query.weight.grad.abs().sum() > 0


def test_memory_learns_a_lookup():
    torch.manual_seed(2)
    mem = ProductKeyMemory(d_model=8, n_sub_keys=4, k=2, d_key=4, value_dim=3)
    x, y = torch.randn(16, 8), torch.randn(16, 3)
    opt = torch.optim.Adam(mem.parameters(), lr=0.05)
    first = None
    for _ in range(80):
        loss = (mem(x) - y).pow(2).mean()
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.25 * first  # 16 random targets, 16 values, 2 read per input


def test_pkm_cost():
    c = pkm_cost(512 * 512, 512, 32)  # the paper's memory: 262k keys, k = 32, Dk = 512
    assert c["n_sub_keys"] == 512
    assert c["flat_madds"] == 512 * 512 * 512 and c["product_madds"] == 512 * 512 and c["product_adds"] == 1024
    assert c["product_candidates"] == 2 * 512 + 1024
    assert c["speedup"] == pytest.approx(512**3 / (512**2 + 1024))


def test_bad_inputs():
    with pytest.raises(ValueError, match="n_keys must be a perfect square"):
        pkm_cost(10, 4, 2)
    with pytest.raises(ValueError, match="k must be an int >= 1 <= 4"):
        pkm_cost(16, 4, 5)
    with pytest.raises(ValueError, match="d_key must be even"):
        ProductKeyMemory(8, 4, 2, d_key=5)
    with pytest.raises(ValueError, match="k must be an int >= 1 <= 4"):
        ProductKeyMemory(8, 4, 5, d_key=4)
    q1, q2, K1, K2 = _halves(0, 2, 4, 3)
    with pytest.raises(ValueError, match="K2 must have shape"):
        product_topk(q1, q2, K1, K2[:, :2], 2)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 8\)"):
        ProductKeyMemory(8, 4, 2, d_key=4)(torch.randn(3, 7))
