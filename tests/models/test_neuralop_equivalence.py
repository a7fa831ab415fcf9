import warnings

import pytest
import torch

from sciml.models import FNO, FNOOptions
from sciml.models.neuralop_compat import load_neuralop_fno

neuralop_models = pytest.importorskip(
    "neuralop.models", reason="neuraloperator 2.0 is the reference; install the 'bench' extra"
)


def their_fno(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # neuraloperator warns at construction about its own defaults
        return neuralop_models.FNO(**kwargs)


@pytest.mark.parametrize(
    "dim, size, padding",
    [(2, 64, 0.0), (2, 64, 0.25), (1, 64, 0.0)],
)
def test_fno_matches_neuraloperator_with_copied_weights(dim, size, padding, generator):
    torch.manual_seed(0)  # neuraloperator draws its weights from the global generator
    theirs = their_fno(
        n_modes=(8,) * dim, in_channels=3, out_channels=2, hidden_channels=16, n_layers=3, domain_padding=padding or None
    )
    ours = FNO(3, 2, (4,) * dim, 16, n_layers=3, options=FNOOptions(domain_padding=padding))
    load_neuralop_fno(ours, theirs)
    a = torch.randn(4, 3, *(size,) * dim, generator=generator)
    expected = theirs(a)
    assert expected.abs().max() > 1e-2  # a non-trivial function, so agreement means something
    out = ours(a)
    assert torch.allclose(out, expected, atol=1e-5, rtol=0)
    # the same function of the same weights has the same gradients
    out.square().sum().backward()
    expected.square().sum().backward()
    pairs = [
        (ours.lifting.fc1.weight, theirs.lifting.fcs[0].weight),
        (ours.blocks[0].skip.weight, theirs.fno_blocks.fno_skips[0].conv.weight),
        (ours.blocks[1].gate, theirs.fno_blocks.channel_mlp_skips[1].weight),
        (ours.blocks[2].spectral.bias, theirs.fno_blocks.convs[2].bias),
        (ours.projection.fc2.bias, theirs.projection.fcs[1].bias),
    ]
    for mine, their in pairs:
        assert torch.allclose(mine.grad, their.grad.reshape(mine.shape), atol=1e-4, rtol=1e-4)


def test_loader_rejects_a_different_architecture():
    theirs = their_fno(n_modes=(8, 8), in_channels=1, out_channels=1, hidden_channels=8, n_layers=2, norm="group_norm")
    with pytest.raises(ValueError, match="norm=None"):
        load_neuralop_fno(FNO(1, 1, (4, 4), 8, n_layers=2), theirs)
    theirs = their_fno(n_modes=(8, 8), in_channels=1, out_channels=1, hidden_channels=8, n_layers=2)
    with pytest.raises(ValueError, match="n_modes"):
        load_neuralop_fno(FNO(1, 1, (3, 4), 8, n_layers=2), theirs)
