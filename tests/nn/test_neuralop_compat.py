"""Our layer with neuraloperator's weights is neuraloperator's layer (on even grids)."""

import pytest
import torch

from sciml.nn import SpectralConv
from sciml.nn.neuralop_compat import load_neuralop_spectral_conv

neuralop_sc = pytest.importorskip(
    "neuralop.layers.spectral_convolution", reason="neuraloperator is not installed (pip install .[bench])"
)


def _pair(generator, modes=(4, 5), factorization=None):
    torch.manual_seed(0)  # neuraloperator initializes from the global generator
    theirs = neuralop_sc.SpectralConv(3, 4, tuple(2 * k for k in modes), factorization=factorization)
    ours = SpectralConv(3, 4, modes, bias=True, generator=generator)
    load_neuralop_spectral_conv(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("path,factorization", [("fft", None), ("dft", None), ("auto", "tucker")])
def test_copied_weights_give_neuraloperators_function_on_even_grids(path, factorization, generator):
    ours, theirs = _pair(generator, factorization=factorization)
    ours.path = path
    x = torch.randn(2, 3, 16, 20, generator=generator)
    torch.testing.assert_close(ours(x), theirs(x), rtol=0, atol=1e-5)


def test_neuraloperator_is_not_translation_equivariant_on_odd_grids_but_ours_is(generator):
    """Its fftshift is undone by a second fftshift, a one-index shift of the spectrum on odd axes."""
    ours, theirs = _pair(generator)
    x = torch.randn(2, 3, 17, 19, generator=generator)
    for layer, equivariant in ((ours, True), (theirs, False)):
        error = (layer(x.roll(1, dims=-2)) - layer(x).roll(1, dims=-2)).abs().max()
        assert (error < 1e-5) == equivariant, (type(layer), error)


def test_mismatched_modes_are_refused(generator):
    theirs = neuralop_sc.SpectralConv(3, 4, (8, 10))
    with pytest.raises(ValueError, match="n_modes"):
        load_neuralop_spectral_conv(SpectralConv(3, 4, (4, 4), bias=True, generator=generator), theirs)
