"""Plain pointwise layers: linear maps and MLPs of the channels, token-major or channels-first.

The same map ``y = W u + b`` (``W`` of shape ``(C_out, C_in)``) is applied at every point of a
field or every token of a sequence; only the memory layout differs:

* **token-major** ``(..., C)``, channels last: point sets of PINNs ``(N, d)``, tokens of attention
  models ``(B, N, C)``. :class:`MLP` is a stack of ``nn.Linear``.
* **channels-first** ``(B, C, *S)``, the layout of grid fields (see ARCHITECTURE, "Fields and
  shapes"). :class:`PointwiseLinear` is one batched matrix product ``W @ u_b`` per sample over the
  ``(B, C, N)`` view, with the bias accumulated by the same GEMM call; no permute, and cheaper
  than ``nn.Conv1d(kernel_size=1)`` on CPU. :class:`ChannelMLP` is two of them.

Every layer is initialized like ``nn.Linear`` and ``nn.Conv1d`` (weight and bias uniform in
``[-1/sqrt(C_in), 1/sqrt(C_in)]``), drawn from ``generator`` when one is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Activation = Callable[[Tensor], Tensor]


@torch.no_grad()
def _init_uniform(weight: Tensor, bias: Tensor | None, generator: torch.Generator | None) -> None:
    """PyTorch's default init of a linear map, from ``generator``: ``U(-1/sqrt(C_in), 1/sqrt(C_in))``."""
    bound = 1.0 / math.sqrt(weight.shape[1])
    weight.uniform_(-bound, bound, generator=generator)
    if bias is not None:
        bias.uniform_(-bound, bound, generator=generator)


class PointwiseLinear(nn.Module):
    """A linear map of the channels at every grid point, ``(B, C_in, *S) -> (B, C_out, *S)``.

    .. math:: y_b(x) = W u_b(x) + b, \\qquad W \\in \\mathbb R^{C_{out} \\times C_{in}}.

    Parameters
    ----------
    in_channels, out_channels
        ``C_in`` and ``C_out``.
    bias
        Add the learned ``b``.
    generator
        Seeds the initialization.

    ``weight`` ``(C_out, C_in)`` and ``bias`` ``(C_out,)`` are laid out as in ``nn.Linear``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, bias: bool = True, *, generator: torch.Generator | None = None
    ):
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(f"PointwiseLinear: channels must be >= 1, got in={in_channels}, out={out_channels}")
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        _init_uniform(self.weight, self.bias, generator)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}, bias={self.bias is not None}"

    def forward(self, u: Tensor) -> Tensor:
        """``u`` ``(B, C_in, *S)`` -> ``(B, C_out, *S)``."""
        c_out, c_in = self.weight.shape
        if u.dim() < 2 or u.shape[1] != c_in:
            raise ValueError(f"PointwiseLinear: expected u of shape (B, {c_in}, *S), got {tuple(u.shape)}")
        batch = u.shape[0]
        u3 = u.reshape(batch, c_in, -1)  # (B, C_in, N)
        weight = self.weight.expand(batch, -1, -1)  # (B, C_out, C_in), no copy
        if self.bias is None:
            y = torch.bmm(weight, u3)  # (B, C_out, N)
        else:
            y = torch.baddbmm(self.bias[:, None], weight, u3)  # (B, C_out, N)
        return y.view(batch, c_out, *u.shape[2:])  # (B, C_out, *S)


class ChannelMLP(nn.Module):
    """Two pointwise linear layers, channels-first: ``W_2 sigma(W_1 u + b_1) + b_2``.

    ``(B, C_in, *S) -> (B, C_out, *S)``; neuraloperator's ``ChannelMLP`` with its default two
    layers, ``fc1`` and ``fc2`` (:class:`PointwiseLinear`).

    Parameters
    ----------
    in_channels, hidden_channels, out_channels
        Channels of the input, of the hidden layer and of the output.
    activation
        ``sigma``, elementwise; the exact (erf) GELU by default.
    generator
        Seeds the initialization.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        *,
        activation: Activation = F.gelu,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.fc1 = PointwiseLinear(in_channels, hidden_channels, generator=generator)
        self.fc2 = PointwiseLinear(hidden_channels, out_channels, generator=generator)
        self.activation = activation

    def forward(self, u: Tensor) -> Tensor:
        """``u`` ``(B, C_in, *S)`` -> ``(B, C_out, *S)``."""
        return self.fc2(self.activation(self.fc1(u)))


class MLP(nn.Module):
    """A multilayer perceptron on the last axis, token-major: ``(..., C_in) -> (..., C_out)``.

    .. math:: h_0 = u, \\quad h_{i} = \\sigma(W_i h_{i-1} + b_i) \\ (i < L), \\quad y = W_L h_{L-1} + b_L,

    ``L = n_layers`` linear layers (``nn.Linear``, in ``layers``), all hidden ones
    ``hidden_features`` wide, no activation after the last.

    Parameters
    ----------
    in_features, hidden_features, out_features
        Widths of the input, of every hidden layer and of the output.
    n_layers
        Number of linear layers ``L >= 2`` (for one, use ``nn.Linear``).
    activation
        ``sigma``, elementwise; the exact (erf) GELU by default (``torch.tanh`` for PINNs).
    generator
        Seeds the initialization.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int,
        n_layers: int = 2,
        *,
        activation: Activation = F.gelu,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if n_layers < 2:
            raise ValueError(f"MLP: n_layers must be >= 2 (one linear layer is nn.Linear), got {n_layers}")
        if min(in_features, hidden_features, out_features) < 1:
            raise ValueError(
                f"MLP: in_features, hidden_features and out_features must be >= 1, got "
                f"{in_features}, {hidden_features}, {out_features}"
            )
        widths = [in_features] + [hidden_features] * (n_layers - 1) + [out_features]
        self.layers = nn.ModuleList(nn.utils.skip_init(nn.Linear, i, o) for i, o in zip(widths, widths[1:]))
        for layer in self.layers:
            _init_uniform(layer.weight, layer.bias, generator)
        self.activation = activation

    def forward(self, u: Tensor) -> Tensor:
        """``u`` ``(..., C_in)`` -> ``(..., C_out)``."""
        c_in = self.layers[0].in_features
        if u.dim() < 1 or u.shape[-1] != c_in:
            raise ValueError(f"MLP: expected u of shape (..., {c_in}), got {tuple(u.shape)}")
        for layer in self.layers[:-1]:
            u = self.activation(layer(u))
        return self.layers[-1](u)
