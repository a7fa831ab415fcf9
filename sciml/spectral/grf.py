"""Gaussian random fields ``N(0, sigma^2 (-Laplacian + tau^2 I)^(-alpha))`` on boxes."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sciml.spectral.grid import Grid, wavenumber_grid


class GaussianRandomField:
    r"""Samples of the Gaussian measure :math:`N(0, \sigma^2 (-\Delta + \tau^2 I)^{-\alpha})`.

    The field is the Karhunen-Loeve sum :math:`u = \sum_k \sqrt{\lambda_k}\, \xi_k \phi_k` over the
    eigenfunctions :math:`\phi_k` of :math:`-\Delta` (orthonormal in :math:`L^2`), with
    :math:`\lambda_k = \sigma^2 (\mu_k + \tau^2)^{-\alpha}` and :math:`\xi_k \sim N(0, 1)` i.i.d.

    - ``boundary="periodic"``: :math:`\phi_k = e^{2\pi i k\cdot x / L}` on a periodic grid, evaluated
      with one FFT of white noise.
    - ``boundary="neumann"``: cosines :math:`\prod_i \cos(\pi k_i x_i / L_i)` (zero normal derivative),
      evaluated on a nodal grid (both ends included) with a DCT-I done by FFT.

    Larger ``alpha`` gives smoother fields (samples are in :math:`H^s` for :math:`s < \alpha - d/2`);
    ``tau`` sets the inverse length scale. ``sigma`` defaults to :math:`\tau^{\alpha - d/2}`, the
    scale used by the FNO paper's generators (Li et al. 2021): Navier-Stokes initial vorticity
    ``alpha=2.5, tau=7``, Darcy coefficient ``alpha=2, tau=3`` (Neumann), Burgers ``alpha=2, tau=5,
    sigma=25``. Note that the FNO's 2-D periodic generator takes the real part of non-Hermitian
    complex noise scaled by :math:`\sqrt{2}\sigma`, which doubles the variance of this measure;
    :class:`sciml.problems.NavierStokes` passes ``sigma = sqrt(2) tau^(alpha - 1)`` to match it.

    Parameters
    ----------
    grid
        Where to evaluate samples: periodic for ``"periodic"``, nodal (``periodic=False``) for ``"neumann"``.
    alpha, tau, sigma
        Covariance parameters; ``alpha > d / 2`` for a field with finite pointwise variance.
    boundary
        ``"periodic"`` or ``"neumann"``.
    mean_zero
        Drop the constant mode (the FNO generators do, for periodic fields).
    """

    def __init__(
        self,
        grid: Grid,
        alpha: float,
        tau: float,
        sigma: float | None = None,
        boundary: str = "periodic",
        mean_zero: bool = True,
    ):
        if boundary not in ("periodic", "neumann"):
            raise ValueError(f"GaussianRandomField: boundary must be 'periodic' or 'neumann', got {boundary!r}")
        if (boundary == "periodic") != grid.periodic:
            raise ValueError(f"GaussianRandomField: boundary={boundary!r} needs a grid with periodic={boundary == 'periodic'}")
        if alpha <= grid.dim / 2:
            raise ValueError(f"GaussianRandomField: alpha must exceed dim/2 = {grid.dim / 2}, got {alpha}")
        if tau < 0 or (tau == 0 and not mean_zero):
            raise ValueError(f"GaussianRandomField: need tau > 0 (or tau = 0 with mean_zero), got {tau}")
        self.grid, self.alpha, self.tau, self.boundary, self.mean_zero = grid, alpha, tau, boundary, mean_zero
        self.sigma = tau ** (alpha - grid.dim / 2) if sigma is None else sigma
        self._sqrt_eig = self._sqrt_eigenvalues()

    def _sqrt_eigenvalues(self) -> Tensor:
        """``sqrt(lambda_k) * c_k``: eigenvalue roots times the basis normalization, in the transform's layout."""
        grid = self.grid
        if self.boundary == "periodic":
            mu = sum(k**2 for k in wavenumber_grid(grid, real=False))
            # orthonormal Fourier modes on the box: e^{ik.x} / sqrt(|box|)
            norm = 1.0 / math.sqrt(math.prod(grid.lengths))
        else:
            # cosine modes k = 0..n-1 per axis, wavenumber pi k / L, normalized by sqrt((2 - [k == 0]) / L)
            mu, norm = torch.zeros(()), torch.ones(())
            for i, (n, length) in enumerate(zip(grid.shape, grid.lengths)):
                k = torch.arange(n, dtype=torch.float64)
                view = [1] * grid.dim
                view[i] = n
                mu = mu + ((math.pi / length) * k).reshape(view) ** 2
                c = torch.full((n,), 2.0 / length, dtype=torch.float64)
                c[0] = 1.0 / length
                norm = norm * c.sqrt().reshape(view)
        sqrt_eig = self.sigma * (mu + self.tau**2).clamp_min(torch.finfo(torch.float64).tiny) ** (-self.alpha / 2) * norm
        if self.mean_zero:
            sqrt_eig.view(-1)[0] = 0.0
        return sqrt_eig

    def sample(self, n: int, generator: torch.Generator | None = None, dtype=torch.float64) -> Tensor:
        """Draw ``n`` independent fields, shape ``(n, *grid.shape)``, on the CPU from ``generator``."""
        if n <= 0:
            raise ValueError(f"GaussianRandomField.sample: n must be positive, got {n}")
        shape, dims = self.grid.shape, tuple(range(1, self.grid.dim + 1))
        xi = torch.randn((n, *shape), generator=generator, dtype=torch.float64)
        if self.boundary == "periodic":
            # fft(white noise) / sqrt(N) has unit-variance Hermitian coefficients, so the sum over modes is
            # N * ifft(sqrt(lambda) * xi_hat) = sqrt(N) * ifft(sqrt(lambda) * fft(w))
            npts = math.prod(shape)
            u = math.sqrt(npts) * torch.fft.ifftn(self._sqrt_eig * torch.fft.fftn(xi, dim=dims), dim=dims).real
        else:
            u = _cosine_series(xi * self._sqrt_eig, dims)
        return u.to(dtype)


def _cosine_series(coef: Tensor, dims: tuple[int, ...]) -> Tensor:
    """Evaluate ``sum_k c_k prod_i cos(pi k_i j_i / (n_i - 1))`` at nodes ``j`` (a DCT-I per axis, via FFT)."""
    u = coef
    for dim in dims:
        n = u.shape[dim]
        # even extension of length 2(n-1): interior modes appear twice, so halve them
        half = u.narrow(dim, 1, n - 2) / 2
        ext = torch.cat([u.narrow(dim, 0, 1), half, u.narrow(dim, n - 1, 1), half.flip(dim)], dim=dim)
        m = 2 * (n - 1)
        u = (m * torch.fft.ifft(ext.to(torch.complex128), dim=dim)).real.narrow(dim, 0, n)
    return u
