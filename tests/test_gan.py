"""Tests for coursekit.gan: data, models, losses, tricks, the training loop, theory, metrics."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from coursekit.gan import (
    LOG4,
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    EnsembleBatchNorm,
    EnsembleLinear,
    MinibatchDiscrimination,
    MinibatchStd,
    Mixture1D,
    MLPDiscriminator,
    MLPDiscriminatorConfig,
    MLPGenerator,
    MLPGeneratorConfig,
    ModeCoverage,
    discriminator_loss,
    fit_discriminator,
    flip_masks,
    generate,
    generator_loss,
    jensen_shannon,
    load_digits_tensor,
    member,
    mode_coverage,
    mode_eval,
    optimal_discriminator,
    ring_centres,
    ring_sampler,
    sample_ring,
    stack_models,
    train_gan,
    train_gan_seeds,
    value_estimate,
    value_exact,
)

pytestmark = pytest.mark.usefixtures("one_thread")

GCFG = MLPGeneratorConfig(data_dim=2, noise_dim=3, width=8, depth=2)
DCFG = MLPDiscriminatorConfig(data_dim=2, width=8, depth=2)


# ------------------------------------------------------------------ data
def test_mixture1d_density_is_the_scipy_mixture_and_integrates_to_one():
    from scipy.stats import norm

    m = Mixture1D(means=(-1.0, 2.0), stds=(0.5, 1.0), weights=(1.0, 3.0))  # weights normalised
    assert m.weights == (0.25, 0.75)
    x = torch.linspace(-8, 10, 4001, dtype=torch.float64)
    want = 0.25 * norm.pdf(x.numpy(), -1, 0.5) + 0.75 * norm.pdf(x.numpy(), 2, 1.0)
    np.testing.assert_allclose(m.density(x).numpy(), want, rtol=1e-10)
    assert abs(float(torch.trapezoid(m.density(x), x)) - 1) < 1e-6


def test_mixture1d_samples_have_the_mixture_moments():
    m = Mixture1D(means=(-2.0, 2.0), stds=(0.5, 0.5), weights=(0.25, 0.75))
    x = m.sample(20000, torch.Generator().manual_seed(0))
    assert x.shape == (20000, 1) and x.dtype == torch.float32
    assert abs(x.mean().item() - 1.0) < 0.05  # 0.25 * -2 + 0.75 * 2
    assert abs(x.var().item() - (0.25 + 3.0)) < 0.1  # within-variance + between-variance 4 * 0.75 * 0.25 * 4 / 4


@pytest.mark.parametrize("kw, message", [
    (dict(means=(0.0,), stds=(1.0, 1.0), weights=(1.0,)), "same length"),
    (dict(means=(0.0,), stds=(0.0,), weights=(1.0,)), "stds must be > 0"),
    (dict(means=(0.0,), stds=(1.0,), weights=(-1.0,)), "weights must be >= 0"),
    (dict(means=(), stds=(), weights=()), "means must be a non-empty tuple"),
])
def test_mixture1d_rejects_bad_parameters(kw, message):
    with pytest.raises(ValueError, match=message):
        Mixture1D(**kw)


def test_ring_centres_and_samples():
    c = ring_centres(8, 2.0)
    assert c.shape == (8, 2)
    torch.testing.assert_close(c.norm(dim=1), torch.full((8,), 2.0))
    torch.testing.assert_close(c[0], torch.tensor([0.0, 2.0]))  # VEEGAN's (r sin t, r cos t), t = 0 first
    torch.testing.assert_close(c[2], torch.tensor([2.0, 0.0]), atol=1e-6, rtol=0)
    x, k = sample_ring(4000, std=0.02, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and k.shape == (4000,)
    assert set(k.tolist()) == set(range(8))
    dev = x - c[k]
    assert abs(dev.std().item() - 0.02) < 0.002
    same = sample_ring(5, generator=torch.Generator().manual_seed(3))[0]
    torch.testing.assert_close(ring_sampler()(5, torch.Generator().manual_seed(3)), same)
    with pytest.raises(ValueError, match="std must be > 0"):
        ring_sampler(std=0.0)
    with pytest.raises(ValueError, match="modes must be a positive int"):
        ring_centres(0)


def test_digits_are_sklearn_digits_scaled_to_plus_minus_one():
    from sklearn.datasets import load_digits

    x, y = load_digits_tensor()
    ref = load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == torch.float32 and y.dtype == torch.long
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    np.testing.assert_allclose((x.squeeze(1).numpy() + 1) * 8, ref.images, atol=1e-6)
    np.testing.assert_array_equal(y.numpy(), ref.target)


# ------------------------------------------------------------------ models
def test_mlp_shapes_and_input_checks():
    torch.manual_seed(0)
    G, D = MLPGenerator(GCFG), MLPDiscriminator(DCFG)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2) and D(x).shape == (5,)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 3\)"):
        G(torch.randn(5, 4))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 2\)"):
        D(torch.randn(5, 1))
    assert G.noise_dim == 3


def test_mlp_layers_follow_the_dcgan_rules():
    G = MLPGenerator(MLPGeneratorConfig(batch_norm=True, depth=2))
    D = MLPDiscriminator(MLPDiscriminatorConfig(batch_norm=True, depth=3))
    kinds = [type(m).__name__ for m in G.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]  # no BN on the output
    kinds = [type(m).__name__ for m in D.body]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "BatchNorm1d", "LeakyReLU", "Linear", "BatchNorm1d", "LeakyReLU"]
    assert all(m.negative_slope == 0.2 for m in D.body if isinstance(m, nn.LeakyReLU))


@pytest.mark.parametrize("cls, kw, message", [
    (MLPGeneratorConfig, dict(width=0), "width must be a positive int"),
    (MLPGeneratorConfig, dict(batch_norm=1), "batch_norm must be True or False"),
    (MLPDiscriminatorConfig, dict(minibatch="dropout"), "minibatch must be one of"),
    (MLPDiscriminatorConfig, dict(batch_norm=True, depth=1), "batch_norm needs depth >= 2"),
    (DCGANConfig, dict(channels=-2), "channels must be a positive int"),
])
def test_configs_reject_bad_values(cls, kw, message):
    with pytest.raises(ValueError, match=message):
        cls(**kw)


def test_configs_accept_numpy_numbers():
    assert MLPGeneratorConfig(width=np.int64(16)).width == 16
    assert type(MLPGeneratorConfig(width=np.int64(16)).width) is int


def test_dcgan_shapes_layers_and_init():
    torch.manual_seed(0)
    cfg = DCGANConfig(noise_dim=6, channels=4)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    x = G(torch.randn(7, 6))
    assert x.shape == (7, 1, 8, 8) and x.abs().max() <= 1  # tanh output
    assert D(x).shape == (7,)
    g_layers = [type(m).__name__ for m in G.net]
    assert g_layers == ["ConvTranspose2d", "BatchNorm2d", "ReLU", "ConvTranspose2d", "BatchNorm2d", "ReLU",
                        "ConvTranspose2d", "Tanh"]
    d_layers = [type(m).__name__ for m in D.body]
    assert d_layers[:3] == ["Conv2d", "LeakyReLU", "Conv2d"] and d_layers[3] == "BatchNorm2d"  # none on D's input
    convs = [m for m in G.modules() if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d))] + [D.body[0], D.body[2]]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002  # Radford et al.: N(0, 0.02)
    no_bn = DCGANDiscriminator(DCGANConfig(noise_dim=6, channels=4, batch_norm=False))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in no_bn.modules())
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 8, 8\)"):
        D(torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match="config must be a DCGANConfig, got MLPGeneratorConfig"):
        DCGANGenerator(GCFG)


def _members(seeds, gcfg=GCFG, dcfg=DCFG):
    gs, ds = [], []
    for s in seeds:
        torch.manual_seed(s)
        gs.append(MLPGenerator(gcfg))
        ds.append(MLPDiscriminator(dcfg))
    return gs, ds


@pytest.mark.parametrize("batch_norm, minibatch", [(False, "none"), (True, "none"), (False, "std"), (True, "discrimination")])
def test_stack_models_computes_what_each_member_computes(batch_norm, minibatch):
    gcfg = MLPGeneratorConfig(data_dim=2, noise_dim=3, width=8, depth=2, batch_norm=batch_norm)
    dcfg = MLPDiscriminatorConfig(data_dim=2, width=8, depth=2, batch_norm=batch_norm, minibatch=minibatch)
    gs, ds = _members([0, 1, 2], gcfg, dcfg)
    G, D = stack_models(gs), stack_models(ds)
    z = torch.randn(3, 6, 3)
    logits = D(G(z))
    assert logits.shape == (3, 6)
    want = torch.stack([d(g(zi)) for g, d, zi in zip(gs, ds, z)])
    torch.testing.assert_close(logits, want, atol=1e-5, rtol=1e-5)
    for i in range(3):  # and member() takes each one back out (running stats included)
        for a, b in zip(member(G, i).state_dict().values(), gs[i].state_dict().values()):
            torch.testing.assert_close(a, b)
        for a, b in zip(member(D, i).state_dict().values(), ds[i].state_dict().values()):
            torch.testing.assert_close(a, b)


def test_stack_models_and_member_reject_bad_input():
    gs, ds = _members([0])
    with pytest.raises(ValueError, match="same class and config"):
        stack_models([gs[0], MLPGenerator(MLPGeneratorConfig(noise_dim=3, width=9, depth=2))])
    with pytest.raises(ValueError, match="models must be a non-empty list"):
        stack_models([])
    with pytest.raises(ValueError, match="must be an ensemble"):
        member(gs[0], 0)
    with pytest.raises(ValueError, match=r"i must be an int >= 0 <= 0"):
        member(stack_models(gs), 1)


def test_ensemble_layers_match_separate_layers_forward_backward_and_running_stats():
    torch.manual_seed(0)
    lins = [nn.Linear(4, 3) for _ in range(2)]
    bns = [nn.BatchNorm1d(3) for _ in range(2)]
    el, eb = EnsembleLinear(2, 4, 3), EnsembleBatchNorm(2, 3)
    el.load_members(lins)
    eb.load_members(bns)
    x = torch.randn(2, 5, 4)
    out = eb(el(x))
    want = torch.stack([b(l(xi)) for l, b, xi in zip(lins, bns, x)])
    torch.testing.assert_close(out, want)
    torch.testing.assert_close(eb.bn.running_mean, torch.cat([b.running_mean for b in bns]))
    torch.testing.assert_close(eb.bn.running_var, torch.cat([b.running_var for b in bns]))
    (out ** 2).sum().backward()
    (want ** 2).sum().backward()
    torch.testing.assert_close(el.weight.grad, torch.stack([l.weight.grad.t() for l in lins]))
    torch.testing.assert_close(eb.bn.weight.grad, torch.cat([b.weight.grad for b in bns]))


# ------------------------------------------------------------------ losses
def test_discriminator_loss_is_torch_bce_and_minus_v():
    torch.manual_seed(0)
    r, f = torch.randn(6), torch.randn(9)  # batches of different size are fine
    bce = nn.BCEWithLogitsLoss()
    want = bce(r, torch.ones(6)) + bce(f, torch.zeros(9))
    torch.testing.assert_close(discriminator_loss(r, f), want)
    v = torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()  # Goodfellow et al. Eq. 1
    torch.testing.assert_close(discriminator_loss(r, f), -v)
    torch.testing.assert_close(discriminator_loss(torch.zeros(4), torch.zeros(4)), torch.tensor(LOG4))  # D = 1/2


def test_one_sided_smoothing_changes_only_the_positive_targets():
    torch.manual_seed(0)
    r, f = torch.randn(8), torch.randn(8)
    got = discriminator_loss(r, f, real_label=0.9)
    p_r, p_f = torch.sigmoid(r), torch.sigmoid(f)
    hand = -(0.9 * torch.log(p_r) + 0.1 * torch.log(1 - p_r)).mean() - torch.log(1 - p_f).mean()
    torch.testing.assert_close(got, hand)
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(r, torch.full((8,), 0.9))
                               + F.binary_cross_entropy_with_logits(f, torch.zeros(8)))


def test_flipping_swaps_the_labels_of_the_flipped_examples():
    torch.manual_seed(0)
    r, f = torch.randn(8), torch.randn(8)
    all_flipped = discriminator_loss(r, f, real_label=0.9, masks=(torch.ones(8, dtype=torch.bool),) * 2)
    torch.testing.assert_close(all_flipped, F.binary_cross_entropy_with_logits(r, torch.zeros(8))
                               + F.binary_cross_entropy_with_logits(f, torch.full((8,), 0.9)))
    m_r = torch.tensor([True, False] * 4)
    m_f = torch.tensor([False, False, True, False] * 2)
    got = discriminator_loss(r, f, masks=(m_r, m_f))
    t_r, t_f = (~m_r).float(), m_f.float()
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(r, t_r) + F.binary_cross_entropy_with_logits(f, t_f))
    # flip=p draws masks with that probability, from the given generator
    a, b = flip_masks((20000,), 0.2, torch.Generator().manual_seed(0))
    assert abs(a.float().mean().item() - 0.2) < 0.01 and abs(b.float().mean().item() - 0.2) < 0.01
    masks = flip_masks((8,), 0.3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(discriminator_loss(r, f, flip=0.3, generator=torch.Generator().manual_seed(1)),
                               discriminator_loss(r, f, masks=masks))
    torch.testing.assert_close(discriminator_loss(r, f, flip=0.0), discriminator_loss(r, f))


def test_generator_losses_are_the_papers_formulas():
    torch.manual_seed(0)
    f = torch.randn(10) * 3
    d = torch.sigmoid(f)
    torch.testing.assert_close(generator_loss(f, "minimax"), torch.log(1 - d).mean())
    torch.testing.assert_close(generator_loss(f, "non-saturating"), -torch.log(d).mean())
    torch.testing.assert_close(generator_loss(f), nn.BCEWithLogitsLoss()(f, torch.ones(10)))
    # the saturation of Sec. 3: where D rejects the samples (logit -8), the minimax gradient vanishes
    z = torch.full((4,), -8.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(generator_loss(z, "minimax"), z)
    (g_ns,) = torch.autograd.grad(generator_loss(z, "non-saturating"), z)
    assert g_mm.abs().max() < 1e-3 < 0.2 < g_ns.abs().min()


def test_losses_per_member_and_bad_input():
    torch.manual_seed(0)
    r, f = torch.randn(3, 5), torch.randn(3, 5)
    per = discriminator_loss(r, f, reduction="none")
    assert per.shape == (3,)
    torch.testing.assert_close(per[1], discriminator_loss(r[1], f[1]))
    labels = torch.tensor([1.0, 0.9, 0.7])  # one positive target per member
    masks = (torch.rand(3, 5) < 0.5, torch.rand(3, 5) < 0.5)
    per_arm = discriminator_loss(r, f, real_label=labels, masks=masks, reduction="none")
    for e in range(3):
        torch.testing.assert_close(per_arm[e], discriminator_loss(r[e], f[e], real_label=labels[e].item(),
                                                              masks=(masks[0][e], masks[1][e])))
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\]"):
        discriminator_loss(r, f, real_label=torch.tensor([1.0, 0.0, 0.5]))
    with pytest.raises(ValueError, match=r"real_label must have shape \(3\)"):
        discriminator_loss(r, f, real_label=torch.tensor([1.0, 0.9]))
    torch.testing.assert_close(discriminator_loss(r, f), per.sum())
    torch.testing.assert_close(generator_loss(f, reduction="none")[2], generator_loss(f[2]))
    with pytest.raises(ValueError, match="kind must be one of"):
        generator_loss(f, "wasserstein")
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\]"):
        discriminator_loss(r, f, real_label=1.1)
    with pytest.raises(ValueError, match=r"flip must be in \[0, 1\]"):
        discriminator_loss(r, f, flip=-0.1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        discriminator_loss(r, f, reduction="mean")


# ------------------------------------------------------------------ tricks
def test_minibatch_std_is_the_mean_feature_std():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    out = MinibatchStd()(x)
    assert out.shape == (6, 5)
    torch.testing.assert_close(out[:, :4], x)
    want = torch.sqrt(x.var(0, unbiased=False) + 1e-8).mean()
    torch.testing.assert_close(out[:, 4], want.expand(6))
    e = MinibatchStd()(torch.stack([x, 2 * x]))  # (E, B, F): one value per member
    torch.testing.assert_close(e[1, 0, 4], torch.sqrt(4 * x.var(0, unbiased=False) + 1e-8).mean())


def test_minibatch_discrimination_is_salimans_formula():
    torch.manual_seed(0)
    mbd = MinibatchDiscrimination(4, kernels=3, kernel_dim=2)
    x = torch.randn(5, 4)
    out = mbd(x)
    assert out.shape == (5, 7)
    M = (x @ mbd.T).view(5, 3, 2)
    o = torch.zeros(5, 3)
    for i in range(5):
        for j in range(5):  # j runs over the whole batch, i included
            o[i] += torch.exp(-(M[i] - M[j]).abs().sum(-1))
    torch.testing.assert_close(out[:, 4:], o)
    torch.testing.assert_close(out[:, :4], x)


@pytest.mark.parametrize("batch_norm, minibatch, depends", [
    (False, "none", False), (False, "std", True), (False, "discrimination", True), (True, "none", True)])
def test_batch_tricks_make_d_depend_on_the_rest_of_the_batch(batch_norm, minibatch, depends):
    torch.manual_seed(0)
    D = MLPDiscriminator(MLPDiscriminatorConfig(data_dim=2, width=8, depth=2, batch_norm=batch_norm, minibatch=minibatch))
    D.train()
    x = torch.randn(6, 2)
    y = x.clone()
    y[1:] = torch.randn(5, 2)  # same first example, different companions
    changed = not torch.allclose(D(x)[0], D(y)[0])
    assert changed == depends


# ------------------------------------------------------------------ training
def _run(checkpoint_dir=None, *, steps=12, interrupt_at=None, log_every=3, checkpoint_every=5, **kw):
    torch.manual_seed(0)
    gcfg = MLPGeneratorConfig(data_dim=2, noise_dim=3, width=8, depth=2, batch_norm=True)
    G, D = MLPGenerator(gcfg), MLPDiscriminator(DCFG)

    def callback(step, d, g):
        if step == interrupt_at:
            raise KeyboardInterrupt(step)

    h = train_gan(G, D, ring_sampler(), steps, seed=3, batch_size=16, lr=1e-2, flip=0.1, real_label=0.9,
                  eval_fn=lambda g: {"spread": generate(g, 50, seed=1).std().item()}, eval_every=4,
                  log_every=log_every, checkpoint_dir=checkpoint_dir, checkpoint_every=checkpoint_every,
                  progress=False, callback=callback, **kw)
    return G, D, h


def test_train_gan_logs_rows_and_moves_the_generator():
    G, D, h = _run()
    train = [r for r in h.rows if r["split"] == "train"]
    assert [r["step"] for r in train] == [3, 6, 9, 12]
    assert set(train[0]) == {"step", "split", "d_loss", "g_loss", "d_real", "d_fake"}
    assert all(0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1 for r in train)
    assert h.curve("spread", "eval")[0] == [4, 8, 12]
    assert not G.training and not D.training
    assert all(p.requires_grad for p in D.parameters())  # G's steps freeze D only while they run
    torch.manual_seed(0)
    G0 = MLPGenerator(MLPGeneratorConfig(data_dim=2, noise_dim=3, width=8, depth=2, batch_norm=True))
    assert not torch.allclose(generate(G, 8), generate(G0, 8))


def test_train_gan_does_not_touch_the_global_rng_and_is_a_function_of_its_seed():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    _, _, h1 = _run()
    _, _, h2 = _run()
    assert h1.rows == h2.rows
    torch.manual_seed(123)
    assert torch.equal(torch.get_rng_state(), before)


def test_a_pair_of_learning_rates_is_the_same_as_two_adams():
    gs, ds = _members([0, 0])
    h1 = train_gan(gs[0], ds[0], ring_sampler(), 4, lr=(1e-3, 1e-4), batch_size=8, progress=False)
    opts = (torch.optim.Adam(gs[1].parameters(), 1e-3, betas=(0.5, 0.999)),
            torch.optim.Adam(ds[1].parameters(), 1e-4, betas=(0.5, 0.999)))
    h2 = train_gan(gs[1], ds[1], ring_sampler(), 4, optimizers=opts, batch_size=8, progress=False)
    torch.testing.assert_close(gs[0].state_dict(), gs[1].state_dict())
    torch.testing.assert_close(ds[0].state_dict(), ds[1].state_dict())
    assert [r["d_loss"] for r in h1.rows] == pytest.approx([r["d_loss"] for r in h2.rows], abs=1e-6)
    with pytest.raises(ValueError, match="lr must be > 0"):
        train_gan(gs[0], ds[0], ring_sampler(), 2, lr=(1e-3, 0.0), progress=False)


def test_d_steps_and_minimax_run():
    G, D, h = _run(d_steps=2, g_loss="minimax", steps=6)
    assert all(r["g_loss"] < 0 for r in h.rows if r["split"] == "train")  # log(1 - D) < 0


@pytest.mark.parametrize("log_every, checkpoint_every, interrupt_at", [(3, 6, 8), (3, 5, 8), (4, 5, 10)])
def test_resume_after_an_interruption_is_exact(tmp_path, log_every, checkpoint_every, interrupt_at):
    G_ref, D_ref, ref = _run(None, log_every=log_every, checkpoint_every=checkpoint_every)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path, interrupt_at=interrupt_at, log_every=log_every, checkpoint_every=checkpoint_every)
    saved = torch.load(tmp_path / "trainer.pt", weights_only=True)
    assert saved["step"] == (interrupt_at // checkpoint_every) * checkpoint_every
    G, D, h = _run(tmp_path, log_every=log_every, checkpoint_every=checkpoint_every)
    torch.testing.assert_close(G.state_dict(), G_ref.state_dict(), atol=0, rtol=0)
    torch.testing.assert_close(D.state_dict(), D_ref.state_dict(), atol=0, rtol=0)
    assert h.rows == ref.rows
    G2, _, h2 = _run(tmp_path, log_every=log_every, checkpoint_every=checkpoint_every)  # a finished run stays put
    assert h2.rows == ref.rows
    torch.testing.assert_close(G2.state_dict(), G_ref.state_dict(), atol=0, rtol=0)


@pytest.mark.parametrize("batch_norm, minibatch, flip, real_label", [
    (False, "none", 0.0, 0.9), (True, "std", 0.2, 0.9), (False, "discrimination", 0.0, 0.9),
    (False, "none", [0.0, 0.3], [1.0, 0.8])])  # per-member arms: the ablation's smoothing and flipping
def test_training_seeds_together_equals_training_them_apart(batch_norm, minibatch, flip, real_label):
    gcfg = MLPGeneratorConfig(data_dim=2, noise_dim=3, width=8, depth=2, batch_norm=batch_norm)
    dcfg = MLPDiscriminatorConfig(data_dim=2, width=8, depth=2, batch_norm=batch_norm, minibatch=minibatch)
    seeds = [0, 5]
    gs, ds = _members(seeds, gcfg, dcfg)
    # float64: batch norm leaves directions the loss does not depend on (a shift before it), whose
    # gradients are pure rounding noise; in float32 Adam turns that noise into visible steps
    gs, ds = [g.double() for g in gs], [d.double() for d in ds]
    G, D = stack_models(gs), stack_models(ds)
    kw = dict(batch_size=16, lr=5e-3, log_every=5, eval_every=10, progress=False,
              eval_fn=lambda g: {"mean": generate(g, 20).mean(dim=(-1, -2))})
    hs = train_gan_seeds(G, D, ring_sampler(), 20, seeds=seeds, flip=flip, real_label=real_label, **kw)
    for i, s in enumerate(seeds):
        one = dict(flip=flip[i] if isinstance(flip, list) else flip,
                   real_label=real_label[i] if isinstance(real_label, list) else real_label)
        h = train_gan(gs[i], ds[i], ring_sampler(), 20, seed=s, **one, **kw)
        for a, b in zip(member(G, i).state_dict().values(), gs[i].state_dict().values()):
            torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)
        for a, b in zip(member(D, i).state_dict().values(), ds[i].state_dict().values()):
            torch.testing.assert_close(a, b, atol=1e-9, rtol=1e-9)
        assert [r["step"] for r in hs[i].rows] == [r["step"] for r in h.rows]
        for ra, rb in zip(hs[i].rows, h.rows):
            for k in ra:
                if k not in ("step", "split"):
                    assert ra[k] == pytest.approx(rb[k], abs=1e-9)


def test_ensemble_resume_is_exact(tmp_path):
    def run(ck, interrupt_at=None):
        gs, ds = _members([0, 1])
        G, D = stack_models(gs), stack_models(ds)

        def cb(step, d, g):
            assert d.shape == (2,) and g.shape == (2,)
            if step == interrupt_at:
                raise KeyboardInterrupt

        hs = train_gan_seeds(G, D, ring_sampler(), 9, seeds=[0, 1], batch_size=8, log_every=2, checkpoint_every=4,
                             checkpoint_dir=ck, progress=False, callback=cb)
        return G, hs

    G_ref, ref = run(None)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, interrupt_at=6)
    G, hs = run(tmp_path)
    torch.testing.assert_close(G.state_dict(), G_ref.state_dict(), atol=0, rtol=0)
    assert [h.rows for h in hs] == [h.rows for h in ref]


@pytest.mark.parametrize("kw, message", [
    (dict(steps=0), "steps must be a positive int"),
    (dict(g_loss="hinge"), "g_loss must be one of"),
    (dict(real_label=0.0), r"real_label must be in \(0, 1\]"),
    (dict(flip=2.0), r"flip must be in \[0, 1\]"),
    (dict(batch_size=0), "batch_size must be a positive int"),
    (dict(betas=(0.5,)), "betas must be a pair"),
    (dict(optimizers="adam"), "optimizers must be a pair"),
    (dict(seed=1.5), "seed must be an int"),
])
def test_train_gan_rejects_bad_arguments(kw, message):
    G, D = MLPGenerator(GCFG), MLPDiscriminator(DCFG)
    args = dict(steps=2, progress=False) | kw
    steps = args.pop("steps")
    with pytest.raises(ValueError, match=message):
        train_gan(G, D, ring_sampler(), steps, **args)


def test_train_gan_seeds_rejects_mismatches():
    gs, ds = _members([0, 1])
    with pytest.raises(ValueError, match="seeds must be a list of 2 ints"):
        train_gan_seeds(stack_models(gs), stack_models(ds), ring_sampler(), 2, seeds=[0])
    with pytest.raises(ValueError, match="ensembles of the same size"):
        train_gan_seeds(stack_models(gs), ds[0], ring_sampler(), 2, seeds=[0, 1])
    with pytest.raises(ValueError, match=r"flip must be one number or 2 numbers \(one per member\), got 3"):
        train_gan_seeds(stack_models(gs), stack_models(ds), ring_sampler(), 2, seeds=[0, 1], flip=[0.1] * 3)
    with pytest.raises(ValueError, match=r"real_label must be in \(0, 1\]"):
        train_gan_seeds(stack_models(gs), stack_models(ds), ring_sampler(), 2, seeds=[0, 1], real_label=[1.0, 0.0])
    with pytest.raises(ValueError, match="train it with train_gan_seeds"):
        train_gan(stack_models(gs), stack_models(ds), ring_sampler(), 2)


def test_train_gan_trains_a_dcgan_on_digits_with_given_optimizers():
    x, _ = load_digits_tensor()
    cfg = DCGANConfig(noise_dim=4, channels=4, minibatch="std")
    torch.manual_seed(0)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    opts = (torch.optim.Adam(G.parameters(), 1e-3), torch.optim.SGD(D.parameters(), 1e-2))

    def sample_real(n, gen):
        return x[torch.randint(len(x), (n,), generator=gen)]

    h = train_gan(G, D, sample_real, 3, optimizers=opts, batch_size=8, log_every=1, progress=False)
    assert [r["step"] for r in h.rows if r["split"] == "train"] == [1, 2, 3]
    assert generate(G, 5).shape == (5, 1, 8, 8)


@pytest.mark.parametrize("env, shown", [(None, True), ("0", False)])
def test_progress_bar_follows_coursekit_progress(monkeypatch, capsys, env, shown):
    if env is None:
        monkeypatch.delenv("COURSEKIT_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("COURSEKIT_PROGRESS", env)
    train_gan(MLPGenerator(GCFG), MLPDiscriminator(DCFG), ring_sampler(), 2, batch_size=4, desc="gan-bar")
    assert ("gan-bar" in capsys.readouterr().err) == shown


# ------------------------------------------------------------------ theory
def test_optimal_discriminator_is_proposition_1():
    p, q = torch.tensor([0.2, 0.0, 1.0, 0.0]), torch.tensor([0.2, 0.5, 3.0, 0.0])
    torch.testing.assert_close(optimal_discriminator(p, q), torch.tensor([0.5, 0.0, 0.25, 0.5]))
    with pytest.raises(ValueError, match="no negative values"):
        optimal_discriminator(-p, q)


def test_value_is_minus_log4_at_pg_equals_pdata_and_minus_log4_plus_2jsd_elsewhere():
    from scipy.spatial.distance import jensenshannon

    grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    pd, pg = Mixture1D().density(grid), Mixture1D((0.5,), (1.0,), (1.0,)).density(grid)
    assert value_exact(pd, pd, grid) == pytest.approx(-LOG4, abs=1e-9)
    torch.testing.assert_close(optimal_discriminator(pd, pd), torch.full_like(pd, 0.5))
    jsd = jensen_shannon(pd, pg, grid)
    assert jsd == pytest.approx(jensenshannon(pd.numpy(), pg.numpy()) ** 2, abs=1e-4)  # scipy: a distance, sqrt(JSD)
    assert value_exact(pd, pg, grid) == pytest.approx(-LOG4 + 2 * jsd, abs=1e-9)  # Theorem 1
    assert value_exact(pd, pg, grid, torch.full_like(pd, 0.5)) == pytest.approx(-LOG4, abs=1e-6)
    assert value_exact(pd, pg, grid, torch.full_like(pd, 0.5)) < value_exact(pd, pg, grid)  # D* maximises V


class _ExactD(nn.Module):
    """The discriminator whose logit is log p_data - log p_g (its probability is D*)."""

    def __init__(self, pd, pg):
        super().__init__()
        self.pd, self.pg = pd, pg
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        x = x.squeeze(-1).double()
        return (torch.log(self.pd.density(x)) - torch.log(self.pg.density(x))).float()


def test_value_estimate_matches_the_exact_value():
    pd, pg = Mixture1D((1.0,), (1.0,), (1.0,)), Mixture1D((-1.0,), (1.0,), (1.0,))
    grid = torch.linspace(-9, 9, 4001, dtype=torch.float64)
    exact = value_exact(pd.density(grid), pg.density(grid), grid)
    gen = torch.Generator().manual_seed(0)
    est = value_estimate(_ExactD(pd, pg), pd.sample(40000, gen), pg.sample(40000, gen))
    assert est == pytest.approx(exact, abs=0.02)


def test_fit_discriminator_approaches_d_star():
    pd, pg = Mixture1D((1.0,), (1.0,), (1.0,)), Mixture1D((-1.0,), (1.0,), (1.0,))
    grid = torch.linspace(-3, 3, 61)
    torch.manual_seed(0)
    D = MLPDiscriminator(MLPDiscriminatorConfig(data_dim=1, width=8, depth=1))
    fit = fit_discriminator(D, pd.sample, pg.sample, 150, grid=grid, lr=3e-2, batch_size=256)
    d_star = optimal_discriminator(pd.density(grid), pg.density(grid))
    assert fit.d.shape == (61,)
    assert (fit.d - d_star).abs().max() < 0.06
    losses = fit.history.curve("loss")[1]
    assert losses[-1] < losses[0]
    # a FIXED generator module as the fake distribution
    G = MLPGenerator(MLPGeneratorConfig(data_dim=1, noise_dim=2, width=4, depth=1))
    before = [p.clone() for p in G.parameters()]
    fit_discriminator(MLPDiscriminator(MLPDiscriminatorConfig(data_dim=1, width=4, depth=1)), pd.sample, G, 3, grid=grid)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


# ------------------------------------------------------------------ metrics
def test_mode_coverage_follows_veegans_definition():
    c = ring_centres(8, 2.0)
    std = 0.02
    real = sample_ring(2500, std=std, generator=torch.Generator().manual_seed(0))[0]
    full = mode_coverage(real, c, std)
    assert isinstance(full, ModeCoverage) and full.modes == 8
    assert full.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.01)  # 2-D: P(|x - mu| <= 3 sigma)
    collapsed = c[3] + std * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    one = mode_coverage(collapsed, c, std)
    assert one.modes == 1 and one.counts[3] == sum(one.counts)
    # off-mode samples are not high quality and capture nothing
    between = torch.zeros(10, 2)
    assert mode_coverage(between, c, std) == ModeCoverage(0, 0.0, (0,) * 8)
    # exactly 3 sigma counts; a hair beyond does not
    edge = torch.stack([c[0] + torch.tensor([0.0, 0.06]), c[1] * (1 + 0.0601 / 2)])
    assert mode_coverage(edge, c, std, threshold=3.0).counts[:2] == (1, 0)
    # min_count: a mode with one high-quality sample stops counting when 2 are required
    two = torch.cat([collapsed[:5], c[6:7]])
    assert mode_coverage(two, c, std).modes == 2 and mode_coverage(two, c, std, min_count=2).modes == 1
    runs = mode_coverage(torch.stack([real[:100], collapsed[:100]]), c, std)
    assert [r.modes for r in runs] == [8, 1]
    assert runs[1].as_dict() == {"modes": 1, "high_quality": runs[1].high_quality}
    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\)"):
        mode_coverage(torch.zeros(5, 3), c, std)
    with pytest.raises(ValueError, match="std must be > 0"):
        mode_coverage(real, c, 0.0)


def test_mode_eval_is_an_eval_fn_for_one_run_and_for_seeds():
    c = ring_centres()
    gs, ds = _members([0, 1])
    fn = mode_eval(c, 0.02, n=100, seed=2)
    one = fn(gs[0])
    assert one == mode_coverage(generate(gs[0], 100, seed=2), c, 0.02).as_dict()
    both = fn(stack_models(gs))
    assert both["modes"][1] == fn(gs[1])["modes"] and both["high_quality"][0] == one["high_quality"]
    hs = train_gan_seeds(stack_models(gs), stack_models(ds), ring_sampler(), 2, seeds=[0, 1], batch_size=8,
                         eval_fn=fn, progress=False)
    assert set(hs[1].rows[-1]) == {"step", "split", "modes", "high_quality"}
