"""Truncated DFT matrices: the FFT's own rows, cached per (kind, size, modes, dtype, device)."""

import torch

from sciml.nn.dft import DFT_CACHE_SIZE, dft_matrix


def test_matrices_are_rows_of_the_normalized_fft_and_its_hermitian_inverse():
    n, k = 11, 4
    eye = torch.eye(n, dtype=torch.float64)
    fft = torch.fft.fft(eye, norm="forward")  # row j: transform of e_j, columns in FFT order
    freqs = torch.arange(-k, k + 1) % n
    forward = dft_matrix("full_forward", n, k, torch.float64, "cpu")
    torch.testing.assert_close(forward, fft[:, freqs].T, rtol=0, atol=1e-15)
    ifft = torch.fft.ifft(torch.eye(n, dtype=torch.complex128), norm="forward")
    inverse = dft_matrix("full_inverse", n, k, torch.float64, "cpu")
    torch.testing.assert_close(inverse, ifft[freqs].T, rtol=0, atol=1e-15)
    half = dft_matrix("half_forward", n, k, torch.float64, "cpu").reshape(n, k + 1, 2)
    torch.testing.assert_close(torch.view_as_complex(half.contiguous()), fft[:, : k + 1], rtol=0, atol=1e-15)
    # The real inverse of a one-mode spectrum is the irfft of that spectrum.
    spectrum = torch.zeros(k + 1, dtype=torch.complex128)
    spectrum[3] = 0.5 - 2j
    y = torch.view_as_real(spectrum).reshape(-1) @ dft_matrix("half_inverse", n, k, torch.float64, "cpu")
    torch.testing.assert_close(y, torch.fft.irfft(spectrum, n=n, norm="forward"), rtol=0, atol=1e-14)


def test_matrices_are_cached_per_dtype():
    a = dft_matrix("full_forward", 12, 3, torch.float32, "cpu")
    assert a.dtype == torch.complex64
    assert dft_matrix("full_forward", 12, 3, torch.float32, "cpu") is a
    assert dft_matrix("full_forward", 12, 3, torch.float64, "cpu") is not a


def test_the_cache_is_bounded_and_evicts_the_least_recently_used():
    first = dft_matrix("half_inverse", 10, 2, torch.float64, "cpu")
    kept = dft_matrix("half_inverse", 11, 2, torch.float64, "cpu")
    for n in range(100, 100 + DFT_CACHE_SIZE - 1):  # fills the cache, using `kept` half-way through
        dft_matrix("half_inverse", n, 2, torch.float64, "cpu")
        if n == 110:
            assert dft_matrix("half_inverse", 11, 2, torch.float64, "cpu") is kept
    assert dft_matrix("half_inverse", 11, 2, torch.float64, "cpu") is kept
    rebuilt = dft_matrix("half_inverse", 10, 2, torch.float64, "cpu")
    assert rebuilt is not first and torch.equal(rebuilt, first)
