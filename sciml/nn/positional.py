"""The coordinates of the unit box at any resolution: the grid as an input feature.

Neural operators append the coordinates of their grid to the input channels (neuraloperator's
``positional_embedding="grid"``), and attention models give them to their tokens. The grid is the
periodic unit grid of :class:`sciml.spectral.Grid`, ``x_j = j / n`` on each axis (the left end
included, the right end excluded), so the coordinates at ``n`` points are the restriction of those
at ``2n``: a model sees the same positions at every resolution.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.nn.cache import LRUCache
from sciml.spectral import Grid


class GridCoordinates:
    """The coordinates ``x_j = j / n_i`` of ``[0, 1)^d``, built once per (shape, dtype, device).

    Both layouts share one cached tensor, so a forward pass allocates nothing.

    Parameters
    ----------
    maxsize
        Grids kept (least recently used evicted first): one per resolution a model is run at.
    """

    def __init__(self, maxsize: int = 8):
        self._grids: LRUCache[Tensor] = LRUCache(maxsize)

    def channels_first(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
        """Coordinates ``(d, *shape)``, like a field: ``out[i, j_1, ..., j_d] = j_i / n_i``."""
        shape = tuple(int(n) for n in shape)

        def build() -> Tensor:
            return Grid(shape, (1.0,) * len(shape)).coords(torch.float64, device).to(dtype)  # (d, *S)

        return self._grids.get_or_build((shape, dtype, torch.device(device)), build)

    def token_major(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
        """Coordinates ``(N, d)``, one row per point in row-major order (a transposed view)."""
        return self.channels_first(shape, dtype, device).flatten(1).T  # (d, *S) -> (N, d)
