"""The Galerkin Transformer: one set of weights at every resolution, convergence under refinement, its grid stages."""

import math

import pytest
import torch

from sciml.models import GalerkinTransformer, GalerkinTransformerOptions
from sciml.models.galerkin_layers import (
    CoarseningEncoder,
    RefiningDecoder,
    SpectralDecoder,
    intermediate_grid,
)
from sciml.nn import FourierAttention, GalerkinAttention

DARCY_LIKE = GalerkinTransformerOptions(latent_grid=(9, 9), decoder_width=8, decoder_hidden=12, decoder_coordinates=True,
                                        decoder_last_activation=True, norm_eps=1e-7)


def smooth_periodic(n, dtype=torch.float64):
    x = torch.arange(n, dtype=dtype) / n
    return torch.exp(torch.sin(2 * math.pi * x) + 0.5 * torch.cos(4 * math.pi * x))[None, None]  # (1, 1, n)


@pytest.mark.parametrize("attention, cls", [("galerkin", GalerkinAttention), ("fourier", FourierAttention)])
def test_one_set_of_weights_runs_at_every_resolution_in_1d_and_2d(attention, cls, generator):
    model = GalerkinTransformer(2, 3, (5,), width=8, n_layers=2, n_heads=2, attention=attention, generator=generator)
    assert all(isinstance(layer.attention, cls) for layer in model.encoder)
    for n in (32, 57, 128):
        assert model(torch.randn(2, 2, n, generator=generator)).shape == (2, 3, n)
    planar = GalerkinTransformer(1, 1, (4, 4), width=12, n_layers=2, n_heads=4, attention=attention, options=DARCY_LIKE,
                                 generator=generator)
    for n in (17, 29, 41):
        assert planar(torch.randn(2, 1, n, n + 2, generator=generator)).shape == (2, 1, n, n + 2)


def test_tokens_live_on_the_latent_grid_whatever_the_input_grid(generator):
    model = GalerkinTransformer(1, 1, (4, 4), width=12, n_layers=1, n_heads=2, options=DARCY_LIKE, generator=generator)
    seen = []
    model.encoder[0].register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape)))
    for n in (21, 41):
        model(torch.randn(1, 1, n, n, generator=generator))
    assert seen == [(1, 81, 12), (1, 81, 12)]  # 9 x 9 tokens at both resolutions


def test_1d_model_converges_under_refinement_on_a_smooth_input(generator):
    # every stage discretizes one continuous operator: attention sums are quadratures (first order
    # with the non-periodic coordinate x = j / n as a feature), the decoder's Fourier layers and the
    # MLPs are exact or pointwise; so the outputs at the shared points converge as the grid is refined
    model = GalerkinTransformer(1, 1, (4,), width=8, n_layers=2, n_heads=2,
                                options=GalerkinTransformerOptions(xavier_gain=0.5), generator=generator).double()
    fine = 1920
    reference = model(smooth_periodic(fine))
    sizes = (30, 60, 120, 240)
    gaps = [(model(smooth_periodic(n)) - reference[..., :: fine // n]).abs().max().item() for n in sizes]
    order = -math.log(gaps[-1] / gaps[0]) / math.log(sizes[-1] / sizes[0])
    assert order > 0.9, gaps
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:])), gaps


def test_intermediate_grid_is_the_geometric_mean():
    assert intermediate_grid((141, 141), (43, 43)) == (78, 78)
    assert intermediate_grid((85,), (29,)) == (50,)


def test_coarsening_encoder_concatenates_three_branches_on_the_intermediate_grid(generator):
    encoder = CoarseningEncoder(1, 10, (7, 9), generator=generator).double()
    assert [b.out_channels for b in encoder.branches] == [3, 3, 4]
    a = torch.randn(2, 1, 31, 29, generator=generator, dtype=torch.float64)
    out = encoder(a)
    assert out.shape == (2, 10, 7, 9)
    assert (out >= 0).all()  # ReLU features, interpolated: the activations after each interpolation are no-ops
    # the three branches are chained: zeroing the second's weights zeroes the second and third channel groups
    with torch.no_grad():
        encoder.branches[1].weight.zero_()
    zeroed = encoder(a)
    assert zeroed[:, 3:].abs().max() == 0 and zeroed[:, :3].abs().max() > 0


def test_refining_decoder_returns_to_any_grid(generator):
    decoder = RefiningDecoder(6, 2, generator=generator)
    v = torch.randn(2, 6, 9, 9, generator=generator)
    for shape in ((41, 41), (29, 33)):
        assert decoder(v, shape).shape == (2, 6, *shape)


def test_spectral_decoder_is_fourier_layers_then_a_silu_mlp(generator):
    decoder = SpectralDecoder(5, 4, 2, (3,), 2, 7, coordinates=False, last_activation=False, generator=generator).double()
    v = torch.randn(2, 5, 24, generator=generator, dtype=torch.float64)
    w = torch.nn.functional.silu(decoder.spectral[0](v) + decoder.skips[0](v))
    w = decoder.spectral[1](w) + decoder.skips[1](w)  # no activation after the last layer
    torch.testing.assert_close(decoder(v), decoder.head(w), rtol=0, atol=1e-13)
    assert decoder.head.activation is torch.nn.functional.silu


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="attention must be one of"):
        GalerkinTransformer(1, 1, (4,), attention="softmax")
    with pytest.raises(ValueError, match="1 or 2 positive ints"):
        GalerkinTransformer(1, 1, (4, 4, 4))
    with pytest.raises(ValueError, match="latent_grid"):
        GalerkinTransformer(1, 1, (4,), options=GalerkinTransformerOptions(latent_grid=(9, 9)))
    with pytest.raises(ValueError, match="dropout"):
        GalerkinTransformerOptions(dropout=1.0)
    with pytest.raises(ValueError, match=r"expected a of shape \(B, 1, \*S\) with 1 space axes"):
        GalerkinTransformer(1, 1, (4,))(torch.zeros(1, 1, 8, 8))
