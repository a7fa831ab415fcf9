import math

import pytest
import torch

from sciml.spectral import GaussianRandomField, Grid, dealias_mask, pad_spectrum, spectral_derivative


@pytest.mark.parametrize("n", [16, 17])
def test_spectral_derivative_exact_on_trig_polynomials(n):
    grid = Grid((n, n + 2), (2.0, 3.0))
    x, y = grid.coords()
    u = torch.sin(2 * math.pi * 3 * x / 2.0) * torch.cos(2 * math.pi * 2 * y / 3.0)
    ux = spectral_derivative(u, grid, (1, 0))
    uyy = spectral_derivative(u, grid, (0, 2))
    assert torch.allclose(ux, (3 * math.pi) * torch.cos(3 * math.pi * x) * torch.cos(4 * math.pi * y / 3), atol=1e-11)
    assert torch.allclose(uyy, -((4 * math.pi / 3) ** 2) * u, atol=1e-10)


def test_spectral_derivative_converges_spectrally():
    errors = []
    for n in (8, 16, 32, 64):
        grid = Grid((n,), (2 * math.pi,))
        (x,) = grid.coords()
        u = torch.exp(torch.sin(x))
        errors.append((spectral_derivative(u, grid, (1,)) - torch.cos(x) * u).abs().max().item())
    assert errors[-1] < 1e-13 and errors[1] < 1e-3 * errors[0]


def test_dealias_mask_kills_aliases_of_quadratic_products():
    n = 24
    grid = Grid((n,), (1.0,))
    mask = dealias_mask(grid)
    kept = torch.nonzero(mask).flatten()
    assert kept.max().item() == 7  # |k| < 8 = n / 3
    # a product of two kept modes lands either on a kept mode or on a removed one, never aliased into the kept set
    for k1 in range(-7, 8):
        for k2 in range(-7, 8):
            alias = (k1 + k2 + n // 2) % n - n // 2
            if alias != k1 + k2:
                assert abs(alias) >= 8


@pytest.mark.parametrize("boundary", ["periodic", "neumann"])
def test_grf_pointwise_variance_matches_spectrum(boundary, generator):
    periodic = boundary == "periodic"
    grid = Grid.uniform(32 if periodic else 33, 2, periodic=periodic)
    grf = GaussianRandomField(grid, alpha=2.0, tau=3.0, boundary=boundary, mean_zero=False)
    u = grf.sample(4000, generator)
    # the variance averaged over the unit box is sum_k lambda_k (Parseval on an orthonormal basis)
    k = torch.fft.fftfreq(32, 1 / 32) if periodic else torch.arange(33.0)
    scale = 2 * math.pi if periodic else math.pi
    mu = scale**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    expected = (3.0**2 * (mu + 9.0) ** -2.0).sum().item()  # sigma = tau^(alpha - d/2) = 3
    inner = u if periodic else u[:, 1:-1, 1:-1]
    assert inner.var(0).mean().item() == pytest.approx(expected, rel=0.05)


def test_grf_neumann_has_zero_normal_derivative(generator):
    grid = Grid.uniform(65, 1, periodic=False)
    u = GaussianRandomField(grid, alpha=3.0, tau=3.0, boundary="neumann").sample(8, generator)
    h = grid.spacing[0]
    # second-order one-sided difference at x=0 vanishes to O(h^2) for a smooth cosine series
    slope = (-3 * u[:, 0] + 4 * u[:, 1] - u[:, 2]) / (2 * h)
    assert slope.abs().max().item() < 0.05 * u.abs().max().item()


def test_grf_seeding():
    grid = Grid.uniform(16, 2)
    grf = GaussianRandomField(grid, alpha=2.5, tau=7.0)
    a = grf.sample(3, torch.Generator().manual_seed(0))
    b = grf.sample(3, torch.Generator().manual_seed(0))
    c = grf.sample(3, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert a.mean(dim=(1, 2)).abs().max().item() < 1e-12  # mean_zero default


def test_grid_subsample_darcy_sizes():
    grid = Grid.uniform(421, 2, periodic=False)
    assert [grid.subsample(f).shape[0] for f in (2, 3, 5)] == [211, 141, 85]
    with pytest.raises(ValueError, match="divisible"):
        grid.subsample(8)


@pytest.mark.parametrize("shape, new_shape", [((8,), (24,)), ((7,), (21,)), ((6, 8), (12, 16)), ((5, 6), (10, 18)), ((6, 5, 4), (12, 10, 8))])
def test_pad_spectrum_interpolates_exactly(shape, new_shape, generator):
    u = torch.randn(3, *shape, generator=generator, dtype=torch.float64)
    dims = tuple(range(1, len(shape) + 1))
    fine = torch.fft.irfftn(pad_spectrum(torch.fft.rfftn(u, dim=dims, norm="forward"), shape, new_shape), s=new_shape, dim=dims, norm="forward")
    factors = [m // n for n, m in zip(shape, new_shape)]
    assert torch.allclose(fine[(slice(None), *(slice(None, None, f) for f in factors))], u, atol=1e-13)
    # the same identity one level up, from the fine shape (odd and even axes alike) to twice it
    finer = tuple(2 * m for m in new_shape)
    again = torch.fft.irfftn(pad_spectrum(torch.fft.rfftn(fine, dim=dims, norm="forward"), new_shape, finer), s=finer, dim=dims, norm="forward")
    assert torch.allclose(again[(slice(None), *(slice(None, None, 2),) * len(shape))], fine, atol=1e-13)


def test_pad_spectrum_of_a_band_limited_field_is_its_fine_sampling():
    coarse, fine = Grid((7, 8), (1.0, 1.0)), Grid((21, 16), (1.0, 1.0))
    field = lambda g: torch.cos(2 * math.pi * (2 * g.coords()[0] - 3 * g.coords()[1])) + torch.sin(2 * math.pi * g.coords()[1])
    c = torch.fft.rfftn(field(coarse), norm="forward")
    assert torch.allclose(torch.fft.irfftn(pad_spectrum(c, coarse.shape, fine.shape), s=fine.shape, norm="forward"), field(fine), atol=1e-13)
    with pytest.raises(ValueError, match="new_shape"):
        pad_spectrum(c, coarse.shape, (6, 8))


def test_pad_spectrum_keeps_nyquist_cosines():
    # modes up to the Nyquist ones (x, y and the corner) lifted to a finer grid equal the trigonometric
    # polynomial evaluated there: a Nyquist cosine cos(pi n x) must come back as itself, not 2x or 0
    coarse, fine = Grid.uniform(8, 2), Grid.uniform(24, 2)

    def field(grid):
        x, y = grid.coords()
        two_pi = 2 * math.pi
        return (torch.cos(two_pi * 4 * x) * torch.sin(two_pi * y) + torch.cos(two_pi * 4 * x) * torch.cos(two_pi * 4 * y)
                + torch.cos(two_pi * 4 * y) + torch.sin(two_pi * (3 * x - 2 * y)) + 0.5)[None]

    c = torch.fft.rfft2(field(coarse), norm="forward")
    lifted = torch.fft.irfft2(pad_spectrum(c, coarse.shape, fine.shape), s=fine.shape, norm="forward")
    assert torch.allclose(lifted, field(fine), atol=1e-13)


def test_spectral_derivative_refuses_integer_fields():
    grid = Grid((8,), (1.0,))
    with pytest.raises(TypeError, match="floating"):
        spectral_derivative(torch.arange(8), grid, (1,))
