"""Complex spectral weights stored as real tensors: dense, Tucker and CP.

A spectral convolution multiplies, at every kept mode ``m``, the input channels by a complex
matrix ``W[m] in C^{C_in x C_out}``. Every complex parameter here is stored as a real tensor with a
trailing axis of size 2 (real, imaginary) and viewed as complex inside ``forward`` with
``torch.view_as_complex``, so Adam's moments, weight decay, DDP all-reduce and torch.compile all see
ordinary real parameters. A real parameter pair ``(a, b)`` receives the gradient
``(dL/da, dL/db)``, exactly what PyTorch gives a complex parameter ``a + ib`` viewed as real, so
every optimizer step matches torch's on the complex one. An optimizer that treats a complex number
as one (Adam's second moment :math:`|g|^2` per complex weight, as neuraloperator's AdamW keeps it)
finds these pairs with :func:`complex_pair_parameters`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _complex_normal(shape: tuple[int, ...], std: float, generator: torch.Generator | None) -> nn.Parameter:
    """A real ``(*shape, 2)`` parameter whose complex view has i.i.d. entries with ``E|w|^2 = std^2``.

    The only maker of parameters in this module: every parameter of a weight module here is a complex
    ``(re, im)`` pair, which :func:`complex_pair_parameters` relies on.
    """
    data = torch.randn(*shape, 2, generator=generator) * (std / math.sqrt(2.0))
    return nn.Parameter(data)


def mix_modes(z: Tensor, weight: Tensor) -> Tensor:
    """Per-mode channel mixing as one batched matrix product with the modes as the batch.

    Parameters
    ----------
    z
        Complex mode-major spectrum, shape ``(*m, B, C_in)``.
    weight
        Complex weight, shape ``(*m, C_in, C_out)``.

    Returns
    -------
    Tensor
        ``y[m, b, o] = sum_i z[m, b, i] W[m, i, o]``, shape ``(*m, B, C_out)``.
    """
    *m, batch, c_in = z.shape
    n_modes = math.prod(m)
    y = torch.bmm(z.reshape(n_modes, batch, c_in), weight.reshape(n_modes, c_in, -1))  # (M, B, C_out)
    return y.reshape(*m, batch, -1)


class DenseSpectralWeight(nn.Module):
    """One free complex ``C_in x C_out`` matrix per kept mode.

    Parameters
    ----------
    in_channels, out_channels
        Channel counts.
    sizes
        Kept modes per axis, natural frequency order (``k = j - K`` on full axes, ``k = j`` on the
        last).
    std
        Standard deviation of the complex entries at initialization, ``E|W|^2 = std^2``.
    generator
        Seeds the initialization.
    """

    def __init__(self, in_channels: int, out_channels: int, sizes: tuple[int, ...], std: float, generator=None):
        super().__init__()
        self.sizes = tuple(sizes)
        self.weight = _complex_normal((*self.sizes, in_channels, out_channels), std, generator)

    def full(self, slices: tuple[slice, ...]) -> Tensor:
        """The complex weight restricted to the modes ``slices``, shape ``(*m, C_in, C_out)``."""
        return torch.view_as_complex(self.weight)[slices]

    def contract(self, z: Tensor, slices: tuple[slice, ...]) -> Tensor:
        """Mix a mode-major spectrum ``(*m, B, C_in)`` with the weight at ``slices``; returns ``(*m, B, C_out)``."""
        return mix_modes(z, self.full(slices).to(z.dtype))


IMPLEMENTATIONS = ("auto", "factorized", "rebuilt")


def _through_factors(implementation: str, rebuild_cost: int, factorized_cost: int) -> bool:
    """Whether to contract through the factors: forced, or (``"auto"``) when it costs fewer multiply-adds."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"factorized weight: `implementation` must be one of {IMPLEMENTATIONS}, got {implementation!r}"
        )
    if implementation == "auto":
        return factorized_cost < rebuild_cost
    return implementation == "factorized"


class CPSpectralWeight(nn.Module):
    r"""Canonical-polyadic (CP) weight: a sum of ``R`` rank-one complex tensors (TFNO).

    .. math:: W[m_1, ..., m_d, i, o] = \sum_{r=1}^R A_1[m_1, r] \cdots A_d[m_d, r]\, U[i, r]\, V[o, r].

    ``contract`` multiplies through the factors, ``y = ((z U) \odot A(m)) V^T`` with
    ``A(m) = prod_j A_j[m_j]``, costing ``M B R (C_in + C_out)`` multiply-adds, whenever that is
    cheaper than rebuilding ``W`` (``M R C_in C_out``) and mixing densely (``M B C_in C_out``).

    Parameters
    ----------
    rank
        ``R``; a float is the fraction of the dense parameter count it should match.
    implementation
        ``"auto"`` (fewer multiply-adds), ``"factorized"`` or ``"rebuilt"``; an attribute, settable.
    """

    def __init__(self, in_channels, out_channels, sizes, rank, std, generator=None):
        super().__init__()
        self.sizes = tuple(sizes)
        self.implementation = "auto"
        dims = (*self.sizes, in_channels, out_channels)
        if isinstance(rank, float):
            rank = round(rank * math.prod(dims) / sum(dims))
        self.rank = max(1, int(rank))
        factor_std = (std**2 / self.rank) ** (1.0 / (2 * len(dims)))
        self.mode_factors = nn.ParameterList(_complex_normal((n, self.rank), factor_std, generator) for n in self.sizes)
        self.in_factor = _complex_normal((in_channels, self.rank), factor_std, generator)
        self.out_factor = _complex_normal((out_channels, self.rank), factor_std, generator)

    def _mode_product(self, slices: tuple[slice, ...]) -> Tensor:
        """``A(m) = prod_j A_j[m_j, :]``, shape ``(*m, R)``."""
        d = len(self.sizes)
        product = None
        for j, (factor, sl) in enumerate(zip(self.mode_factors, slices)):
            view = [1] * d + [self.rank]
            a = torch.view_as_complex(factor)[sl]  # (m_j, R)
            view[j] = a.shape[0]
            product = a.reshape(view) if product is None else product * a.reshape(view)  # (*m, R)
        return product

    def full(self, slices: tuple[slice, ...]) -> Tensor:
        """The rebuilt complex weight, shape ``(*m, C_in, C_out)``."""
        u, v = torch.view_as_complex(self.in_factor), torch.view_as_complex(self.out_factor)
        khatri_rao = (u[:, None, :] * v[None, :, :]).reshape(-1, self.rank)  # (C_in C_out, R)
        modes = self._mode_product(slices)  # (*m, R)
        return (modes @ khatri_rao.T).reshape(*modes.shape[:-1], u.shape[0], v.shape[0])

    def contract(self, z: Tensor, slices: tuple[slice, ...]) -> Tensor:
        """Mix a mode-major spectrum ``(*m, B, C_in)``; returns ``(*m, B, C_out)``."""
        *m, batch, c_in = z.shape
        c_out = self.out_factor.shape[0]
        n_modes = math.prod(m)
        rebuild = n_modes * self.rank * c_in * c_out + n_modes * batch * c_in * c_out
        if not _through_factors(self.implementation, rebuild, n_modes * batch * self.rank * (c_in + c_out)):
            return mix_modes(z, self.full(slices).to(z.dtype))
        u = torch.view_as_complex(self.in_factor).to(z.dtype)
        v = torch.view_as_complex(self.out_factor).to(z.dtype)
        t = z @ u  # (*m, B, R)
        t = t * self._mode_product(slices).to(z.dtype).unsqueeze(-2)  # (*m, B, R)
        return t @ v.T  # (*m, B, C_out)


def _tucker_ranks(dims: tuple[int, ...], rank: float | int) -> tuple[int, ...]:
    """Tucker ranks ``r_j = min(n_j, round(s n_j))``, with ``s`` bisected so that the core plus the
    factors hold ``rank`` times the dense parameter count (a float), or ``min(rank, n_j)`` (an int)."""
    if isinstance(rank, int):
        return tuple(max(1, min(rank, n)) for n in dims)

    def ranks(s):
        return tuple(max(1, min(n, round(s * n))) for n in dims)

    def count(r):
        return math.prod(r) + sum(n * k for n, k in zip(dims, r))

    target, low, high = rank * math.prod(dims), 0.0, 1.0
    for _ in range(50):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if count(ranks(mid)) <= target else (low, mid)
    return ranks(low)


class TuckerSpectralWeight(nn.Module):
    r"""Tucker weight: a small complex core times one factor matrix per axis (TFNO).

    .. math:: W[m, i, o] = \sum G[r_1..r_d, s, t]\, A_1[m_1, r_1] \cdots A_d[m_d, r_d]\, U[i, s]\, V[o, t].

    ``contract`` forms the per-mode core ``P(m) = G \times_j A_j`` (``(*m, s, t)``) and mixes
    through the channel factors, ``y = ((z U) P(m)) V^T``, whenever that costs fewer multiply-adds
    than rebuilding ``W`` and mixing densely (``implementation``: ``"auto"``, ``"factorized"`` or
    ``"rebuilt"``; an attribute, settable). A float ``rank`` sets ranks ``r_j ~ s n_j`` with
    ``s`` chosen so the core and factors hold that fraction of the dense parameter count.
    """

    def __init__(self, in_channels, out_channels, sizes, rank, std, generator=None):
        super().__init__()
        self.sizes = tuple(sizes)
        self.implementation = "auto"
        self.ranks = _tucker_ranks((*self.sizes, in_channels, out_channels), rank)
        dims = (*self.sizes, in_channels, out_channels)
        self.core = _complex_normal(self.ranks, std, generator)
        self.factors = nn.ParameterList(
            _complex_normal((n, r), 1.0 / math.sqrt(r), generator) for n, r in zip(dims, self.ranks)
        )

    def _mode_core(self, slices: tuple[slice, ...]) -> Tensor:
        """``P(m) = G x_1 A_1 ... x_d A_d``, shape ``(*m, s, t)``."""
        p = torch.view_as_complex(self.core)  # (r_1, ..., r_d, s, t)
        for j, sl in enumerate(slices):
            a = torch.view_as_complex(self.factors[j])[sl]  # (m_j, r_j)
            p = torch.movedim(torch.tensordot(a, p, dims=([1], [j])), 0, j)  # axis j: r_j -> m_j
        return p

    def full(self, slices: tuple[slice, ...]) -> Tensor:
        """The rebuilt complex weight, shape ``(*m, C_in, C_out)``."""
        u = torch.view_as_complex(self.factors[-2])
        v = torch.view_as_complex(self.factors[-1])
        return u @ self._mode_core(slices) @ v.T  # (*m, C_in, C_out)

    def contract(self, z: Tensor, slices: tuple[slice, ...]) -> Tensor:
        """Mix a mode-major spectrum ``(*m, B, C_in)``; returns ``(*m, B, C_out)``."""
        *m, batch, c_in = z.shape
        s, t = self.ranks[-2:]
        c_out = self.factors[-1].shape[0]
        n_modes = math.prod(m)
        rebuild = n_modes * (c_in * s * t + c_in * t * c_out + batch * c_in * c_out)
        factorized = n_modes * batch * (c_in * s + s * t + t * c_out)
        p = self._mode_core(slices).to(z.dtype)  # (*m, s, t)
        u, v = (torch.view_as_complex(f).to(z.dtype) for f in self.factors[-2:])
        if not _through_factors(self.implementation, rebuild, factorized):
            return mix_modes(z, u @ p @ v.T)
        return mix_modes(z @ u, p) @ v.T  # (*m, B, s) -> (*m, B, t) -> (*m, B, C_out)


#: the accepted ``factorization`` values
FACTORIZATIONS = (None, "dense", "tucker", "cp")


def make_spectral_weight(
    factorization: str | None,
    in_channels: int,
    out_channels: int,
    sizes: tuple[int, ...],
    rank: float | int,
    std: float,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """The weight module for ``factorization`` (``None``/``"dense"``, ``"tucker"``, ``"cp"``)."""
    if isinstance(rank, bool) or not isinstance(rank, (int, float)) or rank <= 0:
        raise ValueError(f"SpectralConv: `rank` must be a positive float (fraction) or int, got {rank!r}")
    if factorization in (None, "dense"):
        return DenseSpectralWeight(in_channels, out_channels, sizes, std, generator)
    if factorization == "cp":
        return CPSpectralWeight(in_channels, out_channels, sizes, rank, std, generator)
    if factorization == "tucker":
        return TuckerSpectralWeight(in_channels, out_channels, sizes, rank, std, generator)
    raise ValueError(f"SpectralConv: `factorization` must be None, 'dense', 'tucker' or 'cp', got {factorization!r}")


#: the weight modules, every parameter of which is a complex number stored as a trailing ``(re, im)`` pair
PAIR_STORED = (DenseSpectralWeight, CPSpectralWeight, TuckerSpectralWeight)


def complex_pair_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The complex parameters of ``model`` stored as real ``(..., 2)`` pairs: those of its spectral weights.

    Every parameter of a dense, CP or Tucker spectral weight (of any :class:`~sciml.nn.SpectralConv`
    inside ``model``) is such a pair, viewed as complex in ``forward``; no other module here stores
    one. Each parameter is listed once, in ``model.parameters()`` order; a model without spectral
    convolutions gives ``[]``.
    """
    pairs = {id(p) for m in model.modules() if isinstance(m, PAIR_STORED) for p in m.parameters()}
    return [p for p in model.parameters() if id(p) in pairs]  # parameters() lists a shared one once
