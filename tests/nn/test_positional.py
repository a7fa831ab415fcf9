"""Grid coordinates: the periodic unit grid, restricted across resolutions, in both layouts, cached."""

import torch

from sciml.nn import GridCoordinates
from sciml.spectral import Grid

CPU = torch.device("cpu")


def test_coordinates_restrict_across_resolutions_and_are_cached():
    cache = GridCoordinates()
    coarse = cache.channels_first((8, 6), torch.float32, CPU)
    fine = cache.channels_first((16, 12), torch.float32, CPU)
    assert torch.equal(fine[:, ::2, ::2], coarse)
    assert cache.channels_first((8, 6), torch.float32, CPU) is coarse
    assert torch.allclose(coarse[:, 3, 5], torch.tensor([3 / 8, 5 / 6]))


def test_token_major_rows_are_the_points_in_row_major_order():
    coords = GridCoordinates()
    tokens = coords.token_major((4, 5, 3), torch.float64, CPU)
    assert tokens.shape == (60, 3)
    j = torch.tensor([2, 4, 1])
    torch.testing.assert_close(tokens[(j[0] * 5 + j[1]) * 3 + j[2]], j / torch.tensor([4.0, 5.0, 3.0], dtype=torch.float64))
    assert torch.equal(tokens, Grid((4, 5, 3), (1.0, 1.0, 1.0)).coords().flatten(1).T)


def test_the_cache_keeps_the_most_recently_used_grids():
    coords = GridCoordinates(maxsize=2)
    first = coords.channels_first((8,), torch.float32, CPU)
    coords.channels_first((16,), torch.float32, CPU)
    assert coords.channels_first((8,), torch.float32, CPU) is first  # (8,) is now the most recent
    coords.channels_first((32,), torch.float32, CPU)  # evicts (16,)
    assert coords.channels_first((8,), torch.float32, CPU) is first
    assert coords.channels_first((8,), torch.float64, CPU).dtype == torch.float64
