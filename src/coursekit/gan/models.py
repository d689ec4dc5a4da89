"""Generators and discriminators: MLPs for 1-D and 2-D data, and a small DCGAN for 8x8 digits.

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio (2014), *Generative
Adversarial Nets*, https://arxiv.org/abs/1406.2661, Sec. 3: G maps noise z ~ p_z to data space;
D(x) is the probability that x came from the data. Here D returns the LOGIT of that probability
(the losses use BCE on logits, which is numerically safe).

Radford, Metz & Chintala (2015), *Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks*, https://arxiv.org/abs/1511.06434, Sec. 3 (architecture
guidelines) and Sec. 4 (details): strided (transposed) convolutions instead of pooling; batch norm
in both nets except G's output layer and D's input layer; ReLU in G with tanh on the output;
LeakyReLU (slope 0.2) in D; weights initialised from N(0, 0.02). Their nets are for 64x64 images;
:class:`DCGANGenerator` / :class:`DCGANDiscriminator` keep the rules at 8x8 (1x1 -> 2x2 -> 4x4 -> 8x8).

The MLPs follow the same rules (ReLU in G, LeakyReLU 0.2 in D; with ``batch_norm``, BN after
each hidden linear layer of G and after each hidden layer of D but the first). D can append a
minibatch feature before its last layer (``minibatch="std"`` or ``"discrimination"``, see
:mod:`.tricks`). Built with ``ensemble=E``, an MLP is E independent nets evaluated as one
(inputs and outputs get a leading E dimension); :func:`stack_models` builds one from E plain
nets and :func:`member` takes one back out.

Legend: E members (seeds), B batch, Z noise dimension, d data dimension, W hidden width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import torch
from torch import nn

from ..utils import check_bool, check_choice, check_int, check_tensor, plain_numbers
from .tricks import EnsembleBatchNorm, EnsembleLinear, MinibatchDiscrimination, MinibatchStd

__all__ = [
    "MLPGeneratorConfig",
    "MLPDiscriminatorConfig",
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGANConfig",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "stack_models",
    "member",
]

MINIBATCH = ("none", "std", "discrimination")


def _check_d_options(config) -> None:
    """The options both discriminator configs have: batch_norm, minibatch and its sizes."""
    check_bool("batch_norm", config.batch_norm)
    check_choice("minibatch", config.minibatch, MINIBATCH)
    check_int("mbd_kernels", config.mbd_kernels, min=1)
    check_int("mbd_dim", config.mbd_dim, min=1)


@dataclass(frozen=True)
class MLPGeneratorConfig:
    data_dim: int = 2  # 1 for the D* experiment, 2 for the ring
    noise_dim: int = 8  # z ~ N(0, I_Z)
    width: int = 64  # hidden units per layer (the unrolled-GAN ring nets use 128)
    depth: int = 2  # hidden layers
    batch_norm: bool = False  # BN after each hidden linear layer (never on the output)

    def __post_init__(self):
        plain_numbers(self)
        check_int("data_dim", self.data_dim, min=1)
        check_int("noise_dim", self.noise_dim, min=1)
        check_int("width", self.width, min=1)
        check_int("depth", self.depth, min=1)
        check_bool("batch_norm", self.batch_norm)


@dataclass(frozen=True)
class MLPDiscriminatorConfig:
    data_dim: int = 2
    width: int = 64
    depth: int = 2  # hidden layers
    batch_norm: bool = False  # BN after hidden layers 2..depth (none on the input layer, as in DCGAN)
    minibatch: str = "none"  # "none", "std" (Karras et al. 2018) or "discrimination" (Salimans et al. 2016)
    mbd_kernels: int = 5  # K of minibatch discrimination
    mbd_dim: int = 3  # C of minibatch discrimination

    def __post_init__(self):
        plain_numbers(self)
        check_int("data_dim", self.data_dim, min=1)
        check_int("width", self.width, min=1)
        check_int("depth", self.depth, min=1)
        _check_d_options(self)
        if self.batch_norm and self.depth < 2:
            raise ValueError(
                f"batch_norm needs depth >= 2 (no batch norm on D's input layer), got depth={self.depth}"
            )


def _linear(i: int, o: int, ensemble: int | None, bias: bool = True) -> nn.Module:
    # no bias before a batch norm: BN subtracts it again, so its gradient is rounding noise that
    # Adam would turn into lr-sized steps (harmless, but it makes runs differ in their last digits)
    return nn.Linear(i, o, bias=bias) if ensemble is None else EnsembleLinear(ensemble, i, o, bias=bias)


def _batch_norm(f: int, ensemble: int | None) -> nn.Module:
    return nn.BatchNorm1d(f) if ensemble is None else EnsembleBatchNorm(ensemble, f)


def _hidden_layers(width_in: int, width: int, depth: int, *, batch_norm_from: int | None,
                   activation: Callable[[], nn.Module], ensemble: int | None) -> list[nn.Module]:
    """``depth`` x [linear, batch norm (from hidden layer ``batch_norm_from`` on; None = never),
    activation]: the hidden stack of both MLPs."""
    layers = []
    for i in range(depth):
        bn = batch_norm_from is not None and i >= batch_norm_from
        layers.append(_linear(width_in if i == 0 else width, width, ensemble, bias=not bn))
        if bn:
            layers.append(_batch_norm(width, ensemble))
        layers.append(activation())
    return layers


class _Net(nn.Module):
    """What the four nets share: the config and ensemble checks, and the input check."""

    config_class: type = object

    def __init__(self, config, ensemble: int | None):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ValueError(f"config must be a {self.config_class.__name__}, got {type(config).__name__}")
        if ensemble is not None:
            check_int("ensemble", ensemble, min=1)
        self.config, self.ensemble = config, ensemble

    def _check_input(self, name: str, x: torch.Tensor, width: int) -> None:
        want = ("B", width) if self.ensemble is None else (self.ensemble, "B", width)
        check_tensor(name, x, shape=want, dtype="float")


class MLPGenerator(_Net):
    """z (B, Z) -> x (B, d); with ``ensemble=E``, (E, B, Z) -> (E, B, d)."""

    config_class = MLPGeneratorConfig

    def __init__(self, config: MLPGeneratorConfig = MLPGeneratorConfig(), ensemble: int | None = None):
        super().__init__(config, ensemble)
        layers = _hidden_layers(config.noise_dim, config.width, config.depth, activation=nn.ReLU, ensemble=ensemble,
                                batch_norm_from=0 if config.batch_norm else None)
        self.net = nn.Sequential(*layers, _linear(config.width, config.data_dim, ensemble))

    @property
    def noise_dim(self) -> int:
        return self.config.noise_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._check_input("z", z, self.config.noise_dim)
        return self.net(z)  # (B, d) or (E, B, d)


class MLPDiscriminator(_Net):
    """x (B, d) -> logits (B,); with ``ensemble=E``, (E, B, d) -> (E, B)."""

    config_class = MLPDiscriminatorConfig

    def __init__(self, config: MLPDiscriminatorConfig = MLPDiscriminatorConfig(), ensemble: int | None = None):
        super().__init__(config, ensemble)
        self.body = nn.Sequential(*_hidden_layers(
            config.data_dim, config.width, config.depth, activation=partial(nn.LeakyReLU, 0.2), ensemble=ensemble,
            batch_norm_from=1 if config.batch_norm else None))  # no BN on the input layer
        self.minibatch, width = _minibatch_feature(config, config.width, ensemble)
        self.head = _linear(width, 1, ensemble)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input("x", x, self.config.data_dim)
        return self.head(self.minibatch(self.body(x))).squeeze(-1)  # (B,) or (E, B)


def _minibatch_feature(config, width: int, ensemble: int | None) -> tuple[nn.Module, int]:
    """D's minibatch feature module for ``config.minibatch`` and the width after it."""
    if config.minibatch == "std":
        return MinibatchStd(), width + 1
    if config.minibatch == "discrimination":
        return MinibatchDiscrimination(width, config.mbd_kernels, config.mbd_dim, ensemble=ensemble), width + config.mbd_kernels
    return nn.Identity(), width


@dataclass(frozen=True)
class DCGANConfig:
    noise_dim: int = 32  # Z (DCGAN: 100)
    channels: int = 32  # D's first conv / G's last hidden conv; the other hidden layer has 2x (DCGAN: 128 at 64x64)
    batch_norm: bool = True  # DCGAN's BN (off: the ablation)
    minibatch: str = "none"  # D's minibatch feature before its last layer: "none", "std", "discrimination"
    mbd_kernels: int = 5
    mbd_dim: int = 3

    def __post_init__(self):
        plain_numbers(self)
        check_int("noise_dim", self.noise_dim, min=1)
        check_int("channels", self.channels, min=1)
        _check_d_options(self)


def _dcgan_init(module: nn.Module) -> None:
    """Radford et al. Sec. 4: weights from N(0, 0.02); BN scales from N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(_Net):
    """z (B, Z) -> images (B, 1, 8, 8) in [-1, 1]: three transposed convolutions 1 -> 2 -> 4 -> 8."""

    config_class = DCGANConfig

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__(config, None)
        c, bn = config.channels, config.batch_norm

        def norm(ch: int) -> nn.Module:
            return nn.BatchNorm2d(ch) if bn else nn.Identity()

        self.net = nn.Sequential(
            nn.ConvTranspose2d(config.noise_dim, 2 * c, 2, 1, 0, bias=not bn), norm(2 * c), nn.ReLU(),  # (B, 2c, 2, 2)
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=not bn), norm(c), nn.ReLU(),  # (B, c, 4, 4)
            nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh(),  # (B, 1, 8, 8): no BN on the output
        )
        _dcgan_init(self)

    @property
    def noise_dim(self) -> int:
        return self.config.noise_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._check_input("z", z, self.config.noise_dim)
        B, Z = z.size()
        return self.net(z.view(B, Z, 1, 1))  # (B, 1, 8, 8)


class DCGANDiscriminator(_Net):
    """images (B, 1, 8, 8) -> logits (B,): two strided convolutions 8 -> 4 -> 2, then a linear
    layer on the (B, 2c * 2 * 2) features (with the minibatch feature appended when asked)."""

    config_class = DCGANConfig

    def __init__(self, config: DCGANConfig = DCGANConfig()):
        super().__init__(config, None)
        c, bn = config.channels, config.batch_norm
        self.body = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, c, 4, 4): no BN on the input layer
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=not bn), nn.BatchNorm2d(2 * c) if bn else nn.Identity(),
            nn.LeakyReLU(0.2),  # (B, 2c, 2, 2)
            nn.Flatten(),  # (B, 8c)
        )
        self.minibatch, width = _minibatch_feature(config, 8 * c, None)
        self.head = nn.Linear(width, 1)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, shape=("B", 1, 8, 8), dtype="float")
        return self.head(self.minibatch(self.body(x))).squeeze(-1)  # (B,)


_PER_MEMBER = (EnsembleLinear, EnsembleBatchNorm, MinibatchDiscrimination)


def _pairs(ensemble_model: nn.Module, plain_model: nn.Module):
    plain = dict(plain_model.named_modules())
    for name, m in ensemble_model.named_modules():
        if isinstance(m, _PER_MEMBER):
            yield m, plain[name]


def stack_models(models: list[nn.Module]) -> nn.Module:
    """One ensemble model (``ensemble=E``) holding the weights of E plain MLPs with the same
    config: member i computes exactly what ``models[i]`` computes. Build the members under
    E seeds (``torch.manual_seed(s)`` then the constructor) to get E independent runs."""
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError(f"models must be a non-empty list of MLP generators or discriminators, got {models!r}")
    first = models[0]
    if not isinstance(first, (MLPGenerator, MLPDiscriminator)) or first.ensemble is not None:
        raise ValueError(f"models must be plain MLPGenerator / MLPDiscriminator modules, got {type(first).__name__}")
    for m in models:
        if type(m) is not type(first) or m.config != first.config or m.ensemble is not None:
            raise ValueError("models must all be plain modules of the same class and config, "
                             f"got {type(m).__name__} with {m.config}")
    p = next(first.parameters())
    out = type(first)(first.config, ensemble=len(models)).to(device=p.device, dtype=p.dtype)
    plains = [dict(m.named_modules()) for m in models]
    for name, layer in out.named_modules():
        if isinstance(layer, _PER_MEMBER):
            layer.load_members([p[name] for p in plains])
    out.train(first.training)
    return out


def member(model: nn.Module, i: int) -> nn.Module:
    """Member ``i`` of an ensemble MLP as a plain module (a copy: training it leaves ``model``
    unchanged)."""
    if not isinstance(model, (MLPGenerator, MLPDiscriminator)) or model.ensemble is None:
        raise ValueError(f"model must be an ensemble MLPGenerator / MLPDiscriminator, got {type(model).__name__}")
    check_int("i", i, min=0, max=model.ensemble - 1)
    p = next(model.parameters())
    out = type(model)(model.config).to(device=p.device, dtype=p.dtype)
    for layer, plain in _pairs(model, out):
        layer.export_member(i, plain)
    out.train(model.training)
    return out
