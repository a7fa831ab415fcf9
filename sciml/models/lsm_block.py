r"""The neural spectral block of the Latent Spectral Model (Wu et al. 2023, Sec. 3.2 and 3.3).

One block maps a field ``v`` ``(B, C, *S)`` to a field of the same shape in four steps:

1. **Patchify**: cut ``S`` into patches of ``p`` points per axis, ``(B, C, *S) -> (B P, C, *p)``.
2. **Latent projection** (encoder): each patch's ``L = prod(p)`` points are pooled onto ``T`` learned
   latent tokens ``T_0`` by attention, per head ``h``:

   .. math:: T = T_0 + \operatorname{softmax}_{\text{points}}\!\big(T_0 K^\top\big)\, V, \qquad [K, V] = W_{kv} v,

   so ``T - T_0`` is a convex combination of the patch's value vectors, and ``T`` does not depend on
   the order of the points (a set function of the patch).
3. **Neural spectral transition** in the latent space: every channel ``c`` of every token goes
   through a learned combination of the ``2K`` trigonometric basis functions,

   .. math:: z_c \leftarrow z_c + \sum_{m=0}^{K-1} w_{c,m} \sin\!\Big(\frac{m \pi z_c}{K}\Big) + w_{c,K+m} \cos\!\Big(\frac{m \pi z_c}{K}\Big),

   the "basis operators" of the paper, written as the frequencies ``m / K`` of its code.
4. **Latent reconstruction** (decoder): every point queries the tokens,

   .. math:: v \leftarrow v + \operatorname{softmax}_{\text{tokens}}\!\big((W_q v) T^\top\big)\, T,

   and the patches are put back in place. Points in different patches never interact in a block:
   the U-shaped multiscale network around it (:mod:`sciml.models.lsm`) does that.

The cost is linear in the number of points: ``O(N T C)`` per block.

References
----------
H. Wu, T. Hu, H. Luo, J. Wang, M. Long, "Solving High-Dimensional PDEs with Latent Spectral Models",
ICML 2023, arXiv:2301.12664; code at github.com/thuml/Latent-Spectral-Models.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import Tensor, nn

from sciml.nn import PointwiseLinear

_AXES = "xyz"


def _patch_pattern(dim: int) -> tuple[str, str]:
    """einops patterns of a field ``b c (n_x p_x) ...`` and of its patches ``(b n_x ...) c p_x ...``."""
    field = "b c " + " ".join(f"(n{a} p{a})" for a in _AXES[:dim])
    patches = "(b " + " ".join(f"n{a}" for a in _AXES[:dim]) + ") c " + " ".join(f"p{a}" for a in _AXES[:dim])
    return field, patches


def patchify(v: Tensor, patch: tuple[int, ...]) -> Tensor:
    """``(B, C, *S) -> (B * prod(S / p), C, *p)``: patches in row-major order within each sample."""
    if v.dim() - 2 != len(patch) or any(n % p for n, p in zip(v.shape[2:], patch)):
        raise ValueError(f"patchify: every space axis of v {tuple(v.shape)} must be a multiple of patch {patch}")
    field, patches = _patch_pattern(len(patch))
    return rearrange(v, f"{field} -> {patches}", **{f"p{a}": p for a, p in zip(_AXES, patch)})  # (B P, C, *p)


def unpatchify(z: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Inverse of :func:`patchify` onto a field of space shape ``shape``: ``(B P, C, *p) -> (B, C, *shape)``."""
    patch = tuple(z.shape[2:])
    field, patches = _patch_pattern(len(patch))
    counts = {f"n{a}": n // p for a, n, p in zip(_AXES, shape, patch)}
    return rearrange(z, f"{patches} -> {field}", **counts)  # (B, C, *shape)


class LatentProjection(nn.Module):
    """Step 2: attention pooling of each patch onto ``T`` learned tokens, ``(B', C, *p) -> (B', T, C)``.

    Parameters
    ----------
    width, n_tokens, n_heads
        Channels ``C`` (a multiple of ``n_heads``), tokens ``T`` and heads.
    generator
        Seeds the initialization: the tokens ``T_0`` uniform in ``[0, 1/C)`` (as the paper's code),
        ``W_kv`` as a pointwise linear layer.
    """

    def __init__(self, width: int, n_tokens: int, n_heads: int, *, generator: torch.Generator | None = None):
        super().__init__()
        if width % n_heads:
            raise ValueError(f"LatentProjection: width {width} must be a multiple of n_heads {n_heads}")
        self.n_heads = n_heads
        self.tokens = nn.Parameter(torch.rand(n_heads, n_tokens, width // n_heads, generator=generator) / width)
        self.key_value = PointwiseLinear(width, 2 * width, generator=generator)

    def forward(self, patches: Tensor) -> Tensor:
        """``patches`` ``(B', C, *p)`` -> tokens ``(B', T, C)``."""
        kv = rearrange(self.key_value(patches), "b (two h d) ... -> two b h (...) d", two=2, h=self.n_heads)  # (2, B', H, L, d)
        weights = torch.softmax(torch.einsum("htd,bhld->bhtl", self.tokens, kv[0]), dim=-1)  # (B', H, T, L)
        tokens = self.tokens + torch.einsum("bhtl,bhld->bhtd", weights, kv[1])  # (B', H, T, d)
        return rearrange(tokens, "b h t d -> b t (h d)")  # (B', T, C)


class SpectralTransition(nn.Module):
    """Step 3: ``z_c <- z_c + sum_m w_{c,m} sin(m pi z_c / K) + w_{c,K+m} cos(m pi z_c / K)``, ``(..., C) -> (..., C)``.

    ``weight`` ``(C, 2K)`` (sines first) starts uniform in ``[0, 1/C)``, as the paper's code.
    """

    def __init__(self, width: int, n_basis: int, *, generator: torch.Generator | None = None):
        super().__init__()
        if n_basis < 1:
            raise ValueError(f"SpectralTransition: n_basis must be >= 1, got {n_basis}")
        self.n_basis = n_basis
        self.weight = nn.Parameter(torch.rand(width, 2 * n_basis, generator=generator) / width)

    def forward(self, z: Tensor) -> Tensor:
        """``z`` ``(..., C)`` -> ``(..., C)``."""
        frequencies = torch.arange(self.n_basis, dtype=z.dtype, device=z.device) * (math.pi / self.n_basis)  # (K,)
        phase = z[..., None] * frequencies  # (..., C, K)
        basis = torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1)  # (..., C, 2K)
        return z + torch.einsum("...ck,ck->...c", basis, self.weight)  # (..., C)


class LatentReconstruction(nn.Module):
    """Step 4: every point of a patch attends to the patch's tokens, ``(B', C, *p), (B', T, C) -> (B', C, *p)``."""

    def __init__(self, width: int, n_heads: int, *, generator: torch.Generator | None = None):
        super().__init__()
        if width % n_heads:
            raise ValueError(f"LatentReconstruction: width {width} must be a multiple of n_heads {n_heads}")
        self.n_heads = n_heads
        self.query = PointwiseLinear(width, width, generator=generator)

    def forward(self, patches: Tensor, tokens: Tensor) -> Tensor:
        """``patches`` ``(B', C, *p)``, ``tokens`` ``(B', T, C)`` -> ``(B', C, *p)``."""
        q = rearrange(self.query(patches), "b (h d) ... -> b h (...) d", h=self.n_heads)  # (B', H, L, d)
        t = rearrange(tokens, "b t (h d) -> b h t d", h=self.n_heads)  # (B', H, T, d)
        weights = torch.softmax(torch.einsum("bhld,bhtd->bhlt", q, t), dim=-1)  # (B', H, L, T)
        update = torch.einsum("bhlt,bhtd->bhdl", weights, t)  # (B', H, d, L)
        return patches + update.reshape(patches.shape)  # (B', C, *p): channel index (h d), points row-major


class NeuralSpectralBlock(nn.Module):
    """Steps 1 to 4: ``(B, C, *S) -> (B, C, *S)`` for ``S`` a multiple of ``patch_size`` on every axis.

    Parameters
    ----------
    width
        Channels ``C``.
    patch_size
        Points per patch on each axis; its length is the number of space axes.
    n_basis
        Trigonometric frequencies ``K`` of the transition.
    n_tokens
        Latent tokens ``T`` per patch.
    n_heads
        Heads of the projection and reconstruction attentions (``C`` a multiple).
    generator
        Seeds the initialization.
    """

    def __init__(
        self,
        width: int,
        patch_size: tuple[int, ...],
        n_basis: int,
        n_tokens: int,
        n_heads: int,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.project = LatentProjection(width, n_tokens, n_heads, generator=generator)
        self.transition = SpectralTransition(width, n_basis, generator=generator)
        self.reconstruct = LatentReconstruction(width, n_heads, generator=generator)

    def forward(self, v: Tensor) -> Tensor:
        """``v`` ``(B, C, *S)`` -> ``(B, C, *S)``."""
        patches = patchify(v, self.patch_size)  # (B P, C, *p)
        tokens = self.transition(self.project(patches))  # (B P, T, C)
        return unpatchify(self.reconstruct(patches, tokens), tuple(v.shape[2:]))  # (B, C, *S)
