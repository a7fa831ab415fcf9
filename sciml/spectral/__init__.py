"""FFT primitives shared by solvers, differentiators and neural operators."""

from sciml.spectral.derivative import (
    dealias_mask,
    derivative_symbols,
    inverse_neg_laplacian_symbol,
    laplacian_symbol,
    spectral_derivative,
)
from sciml.spectral.grf import GaussianRandomField
from sciml.spectral.grid import Grid, wavenumber_grid, wavenumbers
from sciml.spectral.resample import pad_spectrum

__all__ = [
    "Grid",
    "GaussianRandomField",
    "dealias_mask",
    "derivative_symbols",
    "inverse_neg_laplacian_symbol",
    "laplacian_symbol",
    "pad_spectrum",
    "spectral_derivative",
    "wavenumber_grid",
    "wavenumbers",
]
