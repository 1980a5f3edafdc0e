"""The U-shaped normalizing flow (FrEIA GraphINN), stages coarsest first.

Each stage runs `steps` Glow-style blocks (affine coupling with a conv-ReLU-conv subnet whose kernels
alternate 3, 1, 3, 1, clamp 2, fixed random channel permutation, global affine scaling = ActNorm).
After every stage but the last, the channels are split: one part is that scale's latent z, the other
is upsampled invertibly (2x2 pixel shuffle, 4C -> C, log-det 0) and concatenated to the next finer
scale's features. The graph is fully convolutional: any input size works as long as each scale is
exactly twice the size of the coarser one.

With `context` off there is no split and no upsampling: one flow per scale, each scale's latent holds all of its
features and none of a coarser scale's.
"""

from __future__ import annotations

from dataclasses import dataclass

import FrEIA.framework as Ff
import FrEIA.modules as Fm
import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class FlowLayout:
    """Channels per stage (coarsest first) and of each latent; `up[l]` goes from stage l to l+1."""

    stage_channels: tuple[int, ...]
    latent_channels: tuple[int, ...]
    up_channels: tuple[int, ...]


def plan_layout(feature_channels_coarse_first: list[int], context: bool = True) -> FlowLayout:
    if not context:
        channels = tuple(feature_channels_coarse_first)
        return FlowLayout(channels, channels, ())
    stage, latent, up = [], [], []
    carried = 0
    for level, c in enumerate(feature_channels_coarse_first):
        total = c + carried
        stage.append(total)
        if level == len(feature_channels_coarse_first) - 1:
            latent.append(total)
            break
        to_up = (total // 2) // 4 * 4  # the pixel shuffle needs a multiple of 4
        latent.append(total - to_up)
        up.append(to_up)
        carried = to_up // 4
    return FlowLayout(tuple(stage), tuple(latent), tuple(up))


def _subnet(kernel: int, hidden_ratio: float):
    def make(c_in: int, c_out: int) -> nn.Module:
        hidden = max(8, int(round(c_in * hidden_ratio)))
        pad = kernel // 2
        last = nn.Conv2d(hidden, c_out, kernel, padding=pad)
        nn.init.zeros_(last.weight)  # start from the identity map
        nn.init.zeros_(last.bias)
        return nn.Sequential(nn.Conv2d(c_in, hidden, kernel, padding=pad), nn.ReLU(), last)

    return make


def build_uflow(feature_channels_coarse_first: list[int], steps: int = 4, clamp: float = 2.0,
                hidden_ratio: float = 1.0, seed: int = 0, base_size: int = 4,
                context: bool = True) -> tuple[Ff.GraphINN, FlowLayout]:
    """The GraphINN with one input per scale (coarsest first) and one output latent per scale."""
    layout = plan_layout(feature_channels_coarse_first, context)
    rng_state = np.random.get_state()  # AllInOneBlock draws its permutation from numpy's global RNG
    np.random.seed(seed)
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        nodes: list[Ff.Node] = []
        inputs = []
        outputs = []
        carry = None
        for level, c in enumerate(feature_channels_coarse_first):
            size = base_size * 2 ** level
            inp = Ff.InputNode(c, size, size, name=f"features_{level}")
            inputs.append(inp)
            nodes.append(inp)
            x = inp
            if carry is not None:
                x = Ff.Node([inp.out0, carry.out0], Fm.Concat, {"dim": 0}, name=f"concat_{level}")
                nodes.append(x)
            for step in range(steps):
                x = Ff.Node(x, Fm.AllInOneBlock,
                            {"subnet_constructor": _subnet(3 if step % 2 == 0 else 1, hidden_ratio),
                             "affine_clamping": clamp, "permute_soft": False},
                            name=f"stage{level}_step{step}")
                nodes.append(x)
            if level < len(layout.up_channels):
                split = Ff.Node(x, Fm.Split, {"section_sizes": [layout.latent_channels[level], layout.up_channels[level]],
                                              "dim": 0}, name=f"split_{level}")
                nodes.append(split)
                outputs.append(Ff.OutputNode(split.out0, name=f"z_{level}"))
                carry = Ff.Node(split.out1, Fm.IRevNetUpsampling, {}, name=f"up_{level}")
                nodes.append(carry)
            else:
                outputs.append(Ff.OutputNode(x, name=f"z_{level}"))
        graph = Ff.GraphINN(nodes + outputs, force_tuple_output=True)
    finally:
        np.random.set_state(rng_state)
        torch.random.set_rng_state(torch_state)
    return graph, layout


def nll_per_image(latents: list[torch.Tensor], log_det: torch.Tensor) -> torch.Tensor:
    """-log p(x) up to the constant: 0.5 * sum z^2 - log|det J|, one value per image."""
    sq = sum(0.5 * (z ** 2).flatten(1).sum(1) for z in latents)
    return sq - log_det
