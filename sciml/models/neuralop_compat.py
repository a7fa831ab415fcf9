"""Loading a neuraloperator 2.0 ``FNO`` into :class:`sciml.models.FNO`.

The two share one architecture (see :mod:`sciml.models.fno`); neuraloperator stores its 1x1
convolutions as ``(C_out, C_in, 1)`` Conv1d weights, its soft gates as ``(1, C, 1, ..., 1)`` and
its spectral weights in the shifted layout converted by :mod:`sciml.nn.neuralop_compat`. The
model must be built as ``FNO(in, out, modes=(K,)*d, width)`` against neuraloperator's
``FNO(n_modes=(2K,)*d, hidden_channels=width)`` with default options otherwise, ``norm=None`` and
dense weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.models.fno import AbstractFNO
from sciml.nn import ChannelMLP, PointwiseLinear
from sciml.nn.neuralop_compat import load_neuralop_spectral_conv


def _copy_linear(ours: PointwiseLinear, weight: Tensor, bias: Tensor | None) -> None:
    if weight.shape[:2] != ours.weight.shape:
        raise ValueError(f"load_neuralop_fno: weight {tuple(weight.shape)} does not fit {tuple(ours.weight.shape)}")
    ours.weight.copy_(weight.reshape(ours.weight.shape))
    if (bias is None) != (ours.bias is None):
        raise ValueError("load_neuralop_fno: one side of a pointwise layer has a bias and the other not")
    if bias is not None:
        ours.bias.copy_(bias)


def _copy_mlp(ours: ChannelMLP, theirs: nn.Module) -> None:
    if len(theirs.fcs) != 2:
        raise ValueError(f"load_neuralop_fno: expected a 2-layer ChannelMLP, got {len(theirs.fcs)} layers")
    for mine, conv in zip((ours.fc1, ours.fc2), theirs.fcs):
        _copy_linear(mine, conv.weight, conv.bias)


@torch.no_grad()
def load_neuralop_fno(ours: AbstractFNO, theirs: nn.Module) -> None:
    """Copy every weight of a neuraloperator ``FNO`` into ``ours`` in place.

    Raises ``ValueError``/``TypeError`` when the two do not describe the same architecture (layer
    count, channels, modes, skip types, channel MLP, positional embedding, normalization).
    """
    blocks = theirs.fno_blocks
    if theirs.non_linearity is not F.gelu or theirs.complex_data:
        raise ValueError("load_neuralop_fno: only real-data models with the exact GELU convert")
    if blocks.norm is not None or blocks.preactivation or blocks.stabilizer is not None:
        raise ValueError("load_neuralop_fno: only norm=None, preactivation=False, stabilizer=None convert")
    if blocks.fno_skip != "linear" or (ours.blocks[0].mlp is not None and blocks.channel_mlp_skip != "soft-gating"):
        raise ValueError("load_neuralop_fno: only fno_skip='linear' and channel_mlp_skip='soft-gating' convert")
    if blocks.n_layers != ours.n_layers or blocks.use_channel_mlp != (ours.blocks[0].mlp is not None):
        raise ValueError("load_neuralop_fno: layer count or channel-MLP use differ")
    if (theirs.positional_embedding is None) == ours.options.positional_embedding:
        raise ValueError("load_neuralop_fno: positional embeddings differ")
    padding = theirs.domain_padding.domain_padding if theirs.domain_padding is not None else 0.0
    if any(float(p) != ours.options.domain_padding for p in ([padding] if isinstance(padding, (int, float)) else padding)):
        raise ValueError(f"load_neuralop_fno: domain padding {padding} != ours {ours.options.domain_padding}")
    _copy_mlp(ours.lifting, theirs.lifting)
    _copy_mlp(ours.projection, theirs.projection)
    for index, block in enumerate(ours.blocks):
        load_neuralop_spectral_conv(block.spectral, blocks.convs[index])
        _copy_linear(block.skip, blocks.fno_skips[index].conv.weight, None)
        if block.mlp is not None:
            _copy_mlp(block.mlp, blocks.channel_mlp[index])
            block.gate.copy_(blocks.channel_mlp_skips[index].weight.reshape(-1))
