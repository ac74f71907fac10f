"""The simulator network: p(move | position, own prompt, opponent prompt), with a value head.

Input: the encoder's planes ``[B, 18, 8, 8]`` (mover's view, :func:`simagents.encoding.to_planes`)
and prompt ids ``[B]`` for the mover and the opponent. Output: policy logits ``[B, 1858]`` over
the action space (mask them to the legal moves before use: :func:`masked_log_probs`) and, if the
network has one, a value ``[B]`` in [-1, 1]: the expected result for the mover.

The prompt conditions *every* hidden layer (a learned embedding added before each
normalisation): given only at the input, a small MLP barely used it in a trial. LayerNorm with
GELU keeps gradients alive under every prompt: a ReLU MLP learned the random mover by switching
off 99% of a layer's units under that prompt, which no later gradient (RL) could undo.
:meth:`Simulator.active_fraction` reports that diagnostic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import torch
from torch import nn

from ..encoding import NUM_ACTIONS, NUM_INPUT_PLANES


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Architecture. ``mlp`` for the CPU default; ``resnet`` (Maia-like, squeeze-excitation) for GPUs."""

    arch: Literal["mlp", "resnet"] = "mlp"
    num_prompts: int
    hidden: int = 512  # mlp: width of each hidden layer
    layers: int = 2  # mlp: hidden layers
    blocks: int = 6  # resnet: residual blocks
    channels: int = 64  # resnet: channels per block
    value_head: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class _PromptedLayer(nn.Module):
    """Linear -> + own and opponent prompt embeddings -> LayerNorm -> GELU."""

    def __init__(self, width_in: int, width: int, num_prompts: int) -> None:
        super().__init__()
        self.linear = nn.Linear(width_in, width)
        self.own = nn.Embedding(num_prompts, width)
        self.opponent = nn.Embedding(num_prompts, width)
        nn.init.normal_(self.own.weight, std=0.02)
        nn.init.normal_(self.opponent.weight, std=0.02)
        self.norm = nn.LayerNorm(width)

    def pre_activation(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        return self.norm(self.linear(x) + self.own(own) + self.opponent(opponent))

    def forward(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        return nn.functional.gelu(self.pre_activation(x, own, opponent))


class _SEBlock(nn.Module):
    """Residual block with squeeze-excitation; the prompts add a per-channel bias (FiLM-like)."""

    def __init__(self, channels: int, num_prompts: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(channels)
        self.squeeze = nn.Sequential(nn.Linear(channels, channels // 4), nn.GELU(), nn.Linear(channels // 4, channels))
        self.own = nn.Embedding(num_prompts, channels)
        self.opponent = nn.Embedding(num_prompts, channels)
        nn.init.normal_(self.own.weight, std=0.02)
        nn.init.normal_(self.opponent.weight, std=0.02)

    def forward(self, x: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        bias = (self.own(own) + self.opponent(opponent))[:, :, None, None]
        y = nn.functional.gelu(self.norm1(self.conv1(x)) + bias)
        y = self.norm2(self.conv2(y))
        gate = torch.sigmoid(self.squeeze(y.mean(dim=(2, 3))))[:, :, None, None]
        return nn.functional.gelu(x + y * gate)


class Simulator(nn.Module):
    """Prompt-conditioned policy (and value) network; see the module docstring for shapes."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        if config.arch == "mlp":
            widths = [NUM_INPUT_PLANES * 64] + [config.hidden] * config.layers
            self.layers = nn.ModuleList(
                _PromptedLayer(a, b, config.num_prompts) for a, b in zip(widths, widths[1:])
            )
            features = config.hidden
        elif config.arch == "resnet":
            self.stem = nn.Sequential(nn.Conv2d(NUM_INPUT_PLANES, config.channels, 3, padding=1, bias=False),
                                      nn.BatchNorm2d(config.channels), nn.GELU())
            self.blocks = nn.ModuleList(_SEBlock(config.channels, config.num_prompts) for _ in range(config.blocks))
            self.head_conv = nn.Sequential(nn.Conv2d(config.channels, 32, 1), nn.GELU())
            features = 32 * 64
        else:
            raise ValueError(f"unknown architecture {config.arch!r}; expected 'mlp' or 'resnet'")
        self.policy = nn.Linear(features, NUM_ACTIONS)
        self.value = nn.Sequential(nn.Linear(features, 64), nn.GELU(), nn.Linear(64, 1)) if config.value_head else None

    def features(self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> torch.Tensor:
        if self.config.arch == "mlp":
            x = planes.flatten(1)
            for layer in self.layers:
                x = layer(x, own, opponent)
            return x
        x = self.stem(planes)
        for block in self.blocks:
            x = block(x, own, opponent)
        return self.head_conv(x).flatten(1)

    def forward(self, planes: torch.Tensor, own: torch.Tensor,
                opponent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        x = self.features(planes, own, opponent)
        value = torch.tanh(self.value(x).squeeze(-1)) if self.value is not None else None
        return self.policy(x), value

    @torch.no_grad()
    def active_fraction(self, planes: torch.Tensor, own: torch.Tensor, opponent: torch.Tensor) -> list[float]:
        """Per hidden layer (mlp), the fraction of units with a positive pre-activation.

        A prompt under which a layer is almost all off has lost its gradients: the diagnostic the
        issue asks for. For the resnet, the fraction of positive activations after each block.
        """
        fractions = []
        if self.config.arch == "mlp":
            x = planes.flatten(1)
            for layer in self.layers:
                pre = layer.pre_activation(x, own, opponent)
                fractions.append(float((pre > 0).float().mean()))
                x = nn.functional.gelu(pre)
        else:
            x = self.stem(planes)
            for block in self.blocks:
                x = block(x, own, opponent)
                fractions.append(float((x > 0).float().mean()))
        return fractions


def masked_log_probs(logits: torch.Tensor, legal: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Log-probabilities over the legal actions only (``legal``: bool ``[B, 1858]``), -inf elsewhere."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    masked = (logits / temperature).masked_fill(~legal, float("-inf"))
    return torch.log_softmax(masked, dim=-1)
