r"""Softmax-free attention of the Fourier and Galerkin transformers (Cao 2021).

With ``n`` points ``y_i`` (token-major ``(B, n, C)``) and per head ``Q = y W^Q``, ``K = y W^K``,
``V = y W^V`` (``n x d``, ``d = C / heads``), Cao reads the columns of ``Q, K, V`` as functions
sampled at the points and the products over points as quadratures of integrals:

.. math::

    \text{Fourier-type:}\quad z = \frac{1}{n}\,(\tilde Q \tilde K^\top)\, V,
        \qquad z_i = \frac{1}{n}\sum_j (\tilde q_i \cdot \tilde k_j)\, v_j,

    \text{Galerkin-type:}\quad z = \frac{1}{n}\, Q\, (\tilde K^\top \tilde V),
        \qquad z_i = \sum_{c} q_{ic} \Big(\frac{1}{n}\sum_j \tilde k_{jc}\, \tilde v_j\Big),

a tilde marking a layer normalization over each head's ``d`` features (one ``LayerNorm`` per head,
with its own gain and bias). The normalized factors are the two that meet in the sum over points:
``Q, K`` in the Fourier type, ``K, V`` in the Galerkin type, where ``K^T V / n`` is a Gram-like
``d x d`` matrix (Petrov-Galerkin projection). No softmax, and no normalization after the product:
the Galerkin type is linear in ``Q`` and the Fourier type linear in ``V`` (tested). The Fourier
type costs ``O(n^2 d)`` time and ``O(n^2)`` memory per head; the Galerkin type ``O(n d^2)`` and
``O(d^2)``: linear in the number of points.

Positional features: the coordinates ``x_i`` (``(n, d_x)``) are concatenated to every head's
query, key and value after the normalization (Cao's ``pos_dim``), so each head attends with
``d + d_x`` features, and the output map ``W^O`` takes the ``heads (d + d_x)`` concatenated features
back to ``C``.

Initialization (Cao 2021, Sec. 4): ``W^{Q,K,V} = U_xavier(gain) + delta I`` with a small gain
(``1e-2``) and a small diagonal ``delta`` (``1e-2``), biases zero: the layer starts near a scaled
identity instead of a random projection, which Cao reports is 30% to 10x more accurate.

References
----------
S. Cao, "Choose a Transformer: Fourier or Galerkin", NeurIPS 2021, arXiv:2105.14995.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from sciml.nn.mlp import MLP, _init_uniform


def fourier_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """``(Q K^T) V / n``: ``q, k`` ``(..., n, d)``, ``v`` ``(..., n, e)`` -> ``(..., n, e)``; ``O(n^2)``."""
    scores = torch.einsum("...id,...jd->...ij", q, k) / k.shape[-2]  # (..., n, n)
    return torch.einsum("...ij,...je->...ie", scores, v)  # (..., n, e)


def galerkin_attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """``Q (K^T V) / n``: ``q, k`` ``(..., n, d)``, ``v`` ``(..., n, e)`` -> ``(..., n, e)``; ``O(n)``."""
    gram = torch.einsum("...jd,...je->...de", k, v) / k.shape[-2]  # (..., d, e)
    return torch.einsum("...id,...de->...ie", q, gram)  # (..., n, e)


class HeadLayerNorm(nn.Module):
    """Layer normalization of each head's features, ``(B, H, n, d)``, with a gain and bias per head.

    ``out[b, h, i] = (x - mean) / sqrt(var + eps) * weight[h] + bias[h]``, the mean and the (biased)
    variance taken over the ``d`` features of point ``i`` in head ``h``: one ``nn.LayerNorm(d)`` per
    head, as Cao's implementation has, in one call.
    """

    def __init__(self, n_heads: int, head_dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(n_heads, 1, head_dim))
        self.bias = nn.Parameter(torch.zeros(n_heads, 1, head_dim))

    def forward(self, x: Tensor) -> Tensor:
        """``x`` ``(B, H, n, d)`` -> ``(B, H, n, d)``."""
        return torch.addcmul(self.bias, F.layer_norm(x, x.shape[-1:], eps=self.eps), self.weight)


@torch.no_grad()
def _init_near_identity(layer: nn.Linear, gain: float, diagonal: float, generator: torch.Generator | None) -> None:
    """``W = U(-a, a) + diagonal * I`` with Xavier's ``a = gain sqrt(6 / (fan_in + fan_out))``, ``b = 0``."""
    fan_out, fan_in = layer.weight.shape
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    layer.weight.uniform_(-bound, bound, generator=generator)
    layer.weight.diagonal().add_(diagonal)
    layer.bias.zero_()


class AbstractSimpleAttention(nn.Module):
    """Multi-head softmax-free attention ``(B, n, C) -> (B, n, C)``; see the module docstring.

    :class:`FourierAttention` and :class:`GalerkinAttention` differ only in the factors they
    normalize (``normalized``) and in the product (``attend``).

    Parameters
    ----------
    width
        Channels ``C``; a multiple of ``n_heads``.
    n_heads
        Heads ``H``, each with ``d = C / H`` features.
    pos_dim
        Coordinates ``d_x`` appended to every head's query, key and value; ``0``: none.
    xavier_gain, diagonal_weight
        The initialization ``W^{Q,K,V} = U_xavier(gain) + diagonal_weight * I``.
    eps
        The layer normalizations' ``eps``.
    generator
        Seeds the initialization.
    """

    normalized: ClassVar[tuple[str, ...]]
    attend: ClassVar[Callable[[Tensor, Tensor, Tensor], Tensor]]

    def __init__(
        self,
        width: int,
        n_heads: int = 1,
        *,
        pos_dim: int = 0,
        xavier_gain: float = 1e-2,
        diagonal_weight: float = 1e-2,
        eps: float = 1e-5,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        name = type(self).__name__
        if n_heads < 1 or width < 1 or width % n_heads:
            raise ValueError(f"{name}: width must be a positive multiple of n_heads, got width={width}, n_heads={n_heads}")
        if pos_dim < 0:
            raise ValueError(f"{name}: pos_dim must be >= 0, got {pos_dim}")
        if not (xavier_gain > 0 and math.isfinite(xavier_gain) and math.isfinite(diagonal_weight) and eps > 0):
            raise ValueError(f"{name}: xavier_gain and eps must be positive, diagonal_weight finite, got "
                             f"{xavier_gain}, {eps}, {diagonal_weight}")
        self.width, self.n_heads, self.pos_dim = width, n_heads, pos_dim
        head_dim = width // n_heads
        self.query, self.key, self.value = (nn.utils.skip_init(nn.Linear, width, width) for _ in range(3))
        for layer in (self.query, self.key, self.value):
            _init_near_identity(layer, xavier_gain, diagonal_weight, generator)
        self.norms = nn.ModuleDict({factor: HeadLayerNorm(n_heads, head_dim, eps) for factor in self.normalized})
        self.output = nn.utils.skip_init(nn.Linear, n_heads * (head_dim + pos_dim), width)
        _init_uniform(self.output.weight, self.output.bias, generator)

    def extra_repr(self) -> str:
        return f"width={self.width}, n_heads={self.n_heads}, pos_dim={self.pos_dim}"

    def forward(self, x: Tensor, pos: Tensor | None = None) -> Tensor:
        """Attend.

        Parameters
        ----------
        x
            Tokens ``(B, n, C)``.
        pos
            Coordinates of the points, ``(n, pos_dim)`` (shared by the batch) or ``(B, n, pos_dim)``;
            required exactly when ``pos_dim > 0``.

        Returns
        -------
        Tensor
            ``(B, n, C)``.
        """
        name = type(self).__name__
        if x.dim() != 3 or x.shape[-1] != self.width:
            raise ValueError(f"{name}: expected x of shape (B, n, {self.width}), got {tuple(x.shape)}")
        if (pos is None) != (self.pos_dim == 0):
            raise ValueError(f"{name}: pos must be given exactly when pos_dim > 0 (pos_dim={self.pos_dim}), "
                             f"got pos={'None' if pos is None else tuple(pos.shape)}")
        factors = {}
        for factor in ("query", "key", "value"):
            t = rearrange(getattr(self, factor)(x), "b n (h d) -> b h n d", h=self.n_heads)  # (B, H, n, d)
            factors[factor] = self.norms[factor](t) if factor in self.norms else t
        if pos is not None:
            batch_ok = pos.dim() == 2 or (pos.dim() == 3 and pos.shape[0] in (1, x.shape[0]))
            if pos.shape[-2:] != (x.shape[1], self.pos_dim) or not batch_ok:
                raise ValueError(f"{name}: expected pos of shape (n, {self.pos_dim}) or (B, n, {self.pos_dim}) "
                                 f"with n={x.shape[1]}, got {tuple(pos.shape)}")
            batch_pos = pos.expand(x.shape[0], *pos.shape[-2:])  # (B, n, d_x)
            head_pos = batch_pos[:, None].expand(-1, self.n_heads, -1, -1)  # (B, H, n, d_x)
            factors = {f: torch.cat([head_pos, t], dim=-1) for f, t in factors.items()}  # (B, H, n, d_x + d)
        z = self.attend(factors["query"], factors["key"], factors["value"])  # (B, H, n, d_x + d)
        return self.output(rearrange(z, "b h n e -> b n (h e)"))  # (B, n, C)


class FourierAttention(AbstractSimpleAttention):
    """``(LN(Q) LN(K)^T) V / n`` per head: quadratic in the points (see :class:`AbstractSimpleAttention`)."""

    normalized = ("query", "key")
    attend = staticmethod(fourier_attention)


class GalerkinAttention(AbstractSimpleAttention):
    """``Q (LN(K)^T LN(V)) / n`` per head: linear in the points (see :class:`AbstractSimpleAttention`)."""

    normalized = ("key", "value")
    attend = staticmethod(galerkin_attention)


ATTENTIONS = {"fourier": FourierAttention, "galerkin": GalerkinAttention}


class SimpleEncoderLayer(nn.Module):
    r"""One encoder layer of the Fourier/Galerkin transformer, ``(B, n, C) -> (B, n, C)``.

    .. math:: y \leftarrow y + \mathrm{Attn}(y, x), \qquad y \leftarrow y + W_2\, \mathrm{ReLU}(W_1 y + b_1) + b_2,

    with no layer normalization outside the attention (Cao's "simple" layer: the normalization sits
    inside the attention, on the factors that meet in the quadrature).

    Parameters
    ----------
    attention
        The token mixer, a :class:`FourierAttention` or :class:`GalerkinAttention`.
    ffn_width
        Hidden width of the feed-forward network.
    dropout
        Dropout on both residual branches (training only).
    generator
        Seeds the feed-forward network's initialization.
    """

    def __init__(
        self,
        attention: AbstractSimpleAttention,
        ffn_width: int,
        *,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"SimpleEncoderLayer: dropout must be in [0, 1), got {dropout}")
        self.attention = attention
        self.ffn = MLP(attention.width, ffn_width, attention.width, activation=F.relu, generator=generator)
        self.dropout = nn.Dropout(dropout)

    def forward(self, y: Tensor, pos: Tensor | None = None) -> Tensor:
        """``y`` ``(B, n, C)``, ``pos`` as :meth:`AbstractSimpleAttention.forward` -> ``(B, n, C)``."""
        y = y + self.dropout(self.attention(y, pos))
        return y + self.dropout(self.ffn(y))
