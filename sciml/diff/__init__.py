"""Differentiation backends behind one interface, so that a PDE residual is written once.

``SpectralDiff`` (periodic grids), ``FiniteDiff`` (any uniform grid, orders 2 and 4) and
``AutogradDiff`` (collocation points) all offer ``dx``, ``dxx``, ``grad``, ``div``, ``laplacian``
and ``dt``; see :class:`AbstractDiff` for the layouts and how axes are counted.
"""

from sciml.diff.autograd import AutogradDiff
from sciml.diff.base import AbstractDiff
from sciml.diff.grid_diff import AbstractGridDiff, FiniteDiff, SpectralDiff
from sciml.diff.stencils import fd_derivative, fd_weights

__all__ = [
    "AbstractDiff",
    "AbstractGridDiff",
    "AutogradDiff",
    "FiniteDiff",
    "SpectralDiff",
    "fd_derivative",
    "fd_weights",
]
