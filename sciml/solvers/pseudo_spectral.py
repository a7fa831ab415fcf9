r"""Trajectories of semilinear PDEs on periodic grids: lift, step in Fourier space, record frames.

An equation on a periodic solver grid supplies its right-hand side in the rfftn layout with
``norm="forward"`` (Fourier-series coefficients, independent of the grid size),

.. math:: \hat v_t = L \hat v + N(\hat v),

as an object with ``grid``, ``linear`` (the diagonal symbol :math:`L`) and ``nonlinear`` (:math:`N`,
dealiased by the equation): a :class:`SemilinearEquation`, or any class with those attributes such
as :class:`sciml.solvers.VorticityEquation`. :class:`PseudoSpectralSolver` composes it with a stepper
class (``(equation, dt) -> step``, as in jax-cfd) and runs :func:`sciml.solvers.integrate`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch
from torch import Tensor

from sciml.solvers.stepping import Stepper, integrate
from sciml.spectral import Grid, pad_spectrum

__all__ = ["PseudoSpectralSolver", "SemilinearEquation"]


@dataclasses.dataclass(frozen=True)
class SemilinearEquation:
    r""":math:`\hat v_t = L \hat v + N(\hat v)` on a periodic grid, spectra in the rfftn layout with ``norm="forward"``.

    Parameters
    ----------
    grid
        The periodic solver grid; the trailing ``grid.dim`` axes of a field are space.
    linear
        :math:`L`, broadcastable to the spectral state ``(..., *grid.shape[:-1], n_last // 2 + 1)``; its
        real dtype is the dtype of the fields the equation accepts.
    nonlinear
        :math:`N`: spectral state to spectral nonlinear term, same shape.
    """

    grid: Grid
    linear: Tensor
    nonlinear: Callable[[Tensor], Tensor]


class PseudoSpectralSolver:
    r"""Batched trajectories of a semilinear equation, recorded at equally spaced frames.

    Parameters
    ----------
    equation
        The right-hand side on the solver grid (see the module docstring).
    stepper
        A stepper class, ``stepper(equation.linear, equation.nonlinear, dt)``, e.g.
        :class:`sciml.solvers.ETDRK4` or :class:`sciml.solvers.CrankNicolsonEuler`.
    dt
        Time step; it must divide the ``frame_interval`` of :meth:`__call__` into a whole number of steps.

    Notes
    -----
    Stability is the stepper's: explicit nonlinear terms need roughly
    :math:`\Delta t\, |u|_\infty k_{\max} \lesssim C` over the undamped wavenumbers (:math:`C \approx 2.8`
    for ETDRK4; forward Euler relies on damping and needs far smaller steps). A blow-up is reported
    as a ``FloatingPointError`` naming the time, never returned.
    """

    def __init__(self, equation, stepper: type[Stepper], dt: float):
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"PseudoSpectralSolver: dt must be a positive finite float, got {dt!r}")
        if not equation.grid.periodic:
            raise ValueError(f"PseudoSpectralSolver: the equation's grid must be periodic, got {equation.grid.describe()}")
        self.equation, self.dt = equation, float(dt)
        self.step = stepper(equation.linear, equation.nonlinear, self.dt)

    def __call__(self, u0: Tensor, n_frames: int, frame_interval: float = 1.0, stride: int = 1) -> Tensor:
        """Solve from ``u0`` and return the frames at ``t = frame_interval * (1, ..., n_frames)``.

        Parameters
        ----------
        u0
            Initial field ``(*lead, *s)`` on the solver grid or on a coarser periodic grid whose sides
            divide the solver's; a coarse ``u0`` is lifted by trigonometric interpolation (exact: the
            solver starts from the band-limited field whose samples are ``u0``).
        n_frames, frame_interval
            Number of recorded frames and the time between them.
        stride
            Keep every ``stride``-th grid point of each frame (pointwise subsampling).

        Returns
        -------
        Tensor
            ``(*lead, n_frames, *(S / stride))``, dtype of ``u0``: for ``(B, C, *s)`` inputs the time
            axis lands right after the channels, the space-time layout of :mod:`sciml.diff`.
        """
        grid = self.equation.grid
        dim, shape = grid.dim, grid.shape
        space = tuple(u0.shape[u0.ndim - dim :])
        if u0.ndim < dim or any(n % s for n, s in zip(shape, space)):
            raise ValueError(f"PseudoSpectralSolver: u0 must end in a grid whose sides divide {shape}, got {tuple(u0.shape)}")
        dtype = self.equation.linear.real.dtype
        if u0.dtype != dtype:
            raise ValueError(f"PseudoSpectralSolver: u0 dtype {u0.dtype} != the equation's {dtype}")
        if n_frames < 1 or any(n % stride for n in shape):
            raise ValueError(f"PseudoSpectralSolver: need n_frames >= 1 and stride dividing {shape}, got {n_frames}, {stride}")
        steps = round(frame_interval / self.dt)
        if steps < 1 or abs(steps * self.dt - frame_interval) > 1e-9 * frame_interval:
            raise ValueError(f"PseudoSpectralSolver: dt={self.dt} must divide frame_interval={frame_interval}")
        dims = tuple(range(-dim, 0))
        v_hat = pad_spectrum(torch.fft.rfftn(u0, dim=dims, norm="forward"), space, shape)  # (*lead, *S[:-1], S[-1]//2+1)
        subsample = (..., *(slice(None, None, stride),) * dim)
        frame = iter(range(n_frames + 1))

        def observe(state: Tensor) -> Tensor:
            index = next(frame)
            u = torch.fft.irfftn(state, s=shape, dim=dims, norm="forward")  # (*lead, *S)
            if not torch.isfinite(u).all():
                raise FloatingPointError(f"PseudoSpectralSolver: blow-up before t={index * frame_interval}; reduce dt={self.dt}")
            return u[subsample]

        frames = integrate(self.step, v_hat, n_frames * steps, save_every=steps, observe=observe)  # (n_frames + 1, *lead, *S / stride)
        return frames[1:].movedim(0, u0.ndim - dim)  # (*lead, n_frames, *S / stride)
