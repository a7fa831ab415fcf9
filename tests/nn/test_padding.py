"""Fractional domain padding: the same box at every resolution, undone exactly."""

import torch

from sciml.nn import pad_domain, padding_widths, unpad_domain


def test_domain_padding_scales_with_resolution_and_unpads_exactly(generator):
    assert padding_widths((64, 40), 0.25) == (16, 10)
    assert padding_widths((128, 80), 0.25) == (32, 20)
    u = torch.randn(2, 3, 10, 7, generator=generator)
    padded = pad_domain(u, (2, 3))
    assert padded.shape == (2, 3, 14, 13) and padded[..., :2, :].abs().max() == 0
    assert torch.equal(unpad_domain(padded, (2, 3)), u)
