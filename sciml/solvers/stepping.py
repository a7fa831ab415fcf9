r"""Time steppers for stiff semilinear PDEs, and the one loop that runs them.

An evolution equation is split, as in Exponax and jax-cfd, into a diagonal linear part and the
rest: :math:`\hat v_t = L \hat v + N(\hat v)` in Fourier space, with :math:`L` a multiplier per mode
(diffusion :math:`-\nu |k|^2`, dispersion, damping) and :math:`N` the nonlinear term evaluated
pseudo-spectrally by the equation. A stepper is built from the two and a step size,
``Stepper(linear, nonlinear, dt)``, declares its ``order``, and maps a state to the next one;
:func:`integrate` applies it and records what the caller observes.

- :class:`ETDRK4`: exponential time differencing Runge-Kutta 4 (Cox & Matthews 2002), fourth order;
  the linear part is integrated exactly, the :math:`\varphi`-function coefficients by the
  contour-integral trick of Kassam & Trefethen (2005) in complex128, which avoids the cancellation
  in :math:`(e^z - 1 - z)/z^2`-type expressions for small :math:`|z|`.
- :class:`CrankNicolsonEuler`: forward Euler on :math:`N`, Crank-Nicolson on :math:`L` (the FNO
  Navier-Stokes generator's scheme), first order.

A long run can be watched: inside ``with report_steps(callback)``, every :func:`integrate` (however
deep in a problem's ``solve``) calls ``callback(done, total)`` after each step. Nobody listening costs
one lookup per :func:`integrate` call.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Protocol

import torch
from torch import Tensor

__all__ = ["CrankNicolsonEuler", "ETDRK4", "Stepper", "integrate", "report_steps"]

#: the callback of the innermost :func:`report_steps`, ``None`` when nobody listens
_listener: ContextVar[Callable[[int, int], object] | None] = ContextVar("sciml_step_listener", default=None)


@contextmanager
def report_steps(callback: Callable[[int, int], object]) -> Iterator[None]:
    """Within the block, :func:`integrate` calls ``callback(done, total)`` after each step: ``done`` of its ``total`` steps.

    Progress bars use it to move while a long trajectory is computed (``sciml generate``). The
    callback may raise (e.g. ``KeyboardInterrupt``) to stop the run; it must not change the state.
    """
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


class Stepper(Protocol):
    """One step ``v_hat -> v_hat`` of ``v_t = L v + N(v)``; built as ``Stepper(linear, nonlinear, dt)``."""

    order: int

    def __init__(self, linear: Tensor, nonlinear: Callable[[Tensor], Tensor], dt: float): ...

    def __call__(self, v_hat: Tensor) -> Tensor: ...

#: quadrature points on the circle of radius 1 around each ``z = dt L``; the trapezoidal rule on a circle
#: converges geometrically for these entire functions, and 64 points are at round-off for any ``z``
_CONTOUR_POINTS = 64


def _contour_mean(z: Tensor, f: Callable[[Tensor], Tensor]) -> Tensor:
    """``f(z)`` as the mean of ``f`` over the circle ``|w - z| = 1`` (Cauchy's formula), shape of ``z``."""
    theta = 2 * math.pi * (torch.arange(_CONTOUR_POINTS, dtype=torch.float64, device=z.device) + 0.5) / _CONTOUR_POINTS
    w = z.unsqueeze(-1) + torch.polar(torch.ones_like(theta), theta)  # (*z.shape, M)
    return f(w).mean(-1)


class ETDRK4:
    r"""One step of ETDRK4 for :math:`\hat v_t = L \hat v + N(\hat v)` with diagonal :math:`L`.

    With :math:`h` the step, :math:`z = hL`, :math:`E = e^{z}`, :math:`E_2 = e^{z/2}`,
    :math:`Q = h (e^{z/2} - 1)/z` and

    .. math::
        f_1 = h \frac{-4 - z + e^z (4 - 3z + z^2)}{z^3}, \quad
        f_2 = h \frac{2 + z + e^z (z - 2)}{z^3}, \quad
        f_3 = h \frac{-4 - 3z - z^2 + e^z (4 - z)}{z^3},

    one step is

    .. math::
        a &= E_2 v + Q N(v), \quad b = E_2 v + Q N(a), \quad c = E_2 a + Q (2 N(b) - N(v)), \\
        v^{+} &= E v + f_1 N(v) + 2 f_2 (N(a) + N(b)) + f_3 N(c).

    The scheme is fourth order in :math:`h` for smooth solutions and exact when :math:`N` is constant
    (then :math:`f_1 + 4 f_2 + f_3 = (e^{hL} - 1)/L`).

    Parameters
    ----------
    linear
        The diagonal symbol :math:`L`, real or complex, broadcastable to the spectral state (e.g.
        ``(n // 2 + 1,)`` for a 1-D rfft state ``(B, C, n // 2 + 1)``). ``Re L`` must not be large and
        positive (the exponential would overflow).
    nonlinear
        ``N``: maps the spectral state ``(B, ..., modes)`` to the spectral nonlinear term of the same
        shape. Dealiasing is the caller's business.
    dt
        Step size :math:`h > 0`.

    Notes
    -----
    Stability: the linear part is unconditionally stable; the explicit treatment of :math:`N` behaves
    like classical RK4 on the modes that :math:`L` does not damp within a step, so advection needs
    roughly :math:`h |u|_\infty k_{\max} \lesssim 2.8` over the undamped wavenumbers. Stiffly damped modes
    impose no restriction. For very stiff problems the global order can drop below four (Hochbruck &
    Ostermann 2005); on smooth diffusive problems such as Burgers it is four.

    References
    ----------
    S. M. Cox, P. C. Matthews, "Exponential time differencing for stiff systems", J. Comput. Phys. 176 (2002).
    A.-K. Kassam, L. N. Trefethen, "Fourth-order time-stepping for stiff PDEs", SIAM J. Sci. Comput. 26 (2005).
    """

    order = 4

    def __init__(self, linear: Tensor, nonlinear: Callable[[Tensor], Tensor], dt: float):
        if not isinstance(linear, Tensor):
            raise TypeError(f"ETDRK4: linear must be a Tensor (the diagonal symbol), got {type(linear).__name__}")
        if not callable(nonlinear):
            raise TypeError("ETDRK4: nonlinear must be callable (spectral state -> spectral nonlinear term)")
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"ETDRK4: dt must be a positive finite float, got {dt!r}")
        self.nonlinear, self.dt = nonlinear, float(dt)
        # the coefficients are evaluated in complex128 and stored in the symbol's precision, so that a
        # float32 symbol steps a complex64 state without promoting it
        if linear.is_complex():
            z, expand = dt * linear.to(torch.complex128), (lambda c: c.to(linear.dtype))
        else:
            # symbols such as -nu |k|^2 take few distinct values: evaluate the contour integrals once per
            # value, then scatter; real symbols give real coefficients (half the multiply cost per step)
            values, inverse = torch.unique(linear.to(torch.float64), return_inverse=True)
            z, expand = dt * values.to(torch.complex128), (lambda c: c.real[inverse].to(linear.dtype).contiguous())
        self.E, self.E2 = expand(torch.exp(z)), expand(torch.exp(z / 2))
        self.Q = expand(dt * _contour_mean(z, lambda w: (torch.exp(w / 2) - 1) / w))
        self.f1 = expand(dt * _contour_mean(z, lambda w: (-4 - w + torch.exp(w) * (4 - 3 * w + w**2)) / w**3))
        self.f2 = expand(dt * _contour_mean(z, lambda w: (2 + w + torch.exp(w) * (w - 2)) / w**3))
        self.f3 = expand(dt * _contour_mean(z, lambda w: (-4 - 3 * w - w**2 + torch.exp(w) * (4 - w)) / w**3))

    def __call__(self, v_hat: Tensor) -> Tensor:
        """Advance the spectral state ``v_hat`` (any batch shape broadcastable with ``linear``) by one step."""
        N = self.nonlinear
        Nv = N(v_hat)
        a = self.E2 * v_hat + self.Q * Nv
        Na = N(a)
        b = self.E2 * v_hat + self.Q * Na
        Nb = N(b)
        c = self.E2 * a + self.Q * (2 * Nb - Nv)
        Nc = N(c)
        return self.E * v_hat + self.f1 * Nv + 2 * self.f2 * (Na + Nb) + self.f3 * Nc


class CrankNicolsonEuler:
    r"""Forward Euler on :math:`N`, Crank-Nicolson on the diagonal :math:`L` (the FNO Navier-Stokes generator's scheme):

    .. math::

        \hat v^{n+1} = \frac{(1 + \tfrac{\Delta t}{2} L)\, \hat v^n + \Delta t\, N(\hat v^n)}{1 - \tfrac{\Delta t}{2} L}.

    First order in time (second order when :math:`N` is constant, e.g. for a single-shell flow whose
    advection vanishes). The diffusive part is unconditionally stable, the explicit :math:`N` is not:
    Li et al. (2021, "Fourier Neural Operator for Parametric PDEs") use ``dt = 1e-4`` at 256^2.
    """

    order = 1

    def __init__(self, linear: Tensor, nonlinear: Callable[[Tensor], Tensor], dt: float):
        if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
            raise ValueError(f"CrankNicolsonEuler: dt must be a positive finite float, got {dt!r}")
        self.nonlinear, self.dt = nonlinear, float(dt)
        self._explicit = 1 + 0.5 * dt * linear
        self._inv_implicit = 1 / (1 - 0.5 * dt * linear)

    def __call__(self, v_hat: Tensor) -> Tensor:
        return (self._explicit * v_hat + self.dt * self.nonlinear(v_hat)) * self._inv_implicit


def integrate(
    step: Callable[[Tensor], Tensor],
    state: Tensor,
    n_steps: int,
    save_every: int | None = None,
    observe: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Apply ``step`` ``n_steps`` times and return what ``observe`` makes of the states.

    Parameters
    ----------
    step
        One time step, e.g. an :class:`ETDRK4`.
    state
        Initial state, any shape.
    n_steps
        Number of steps, ``>= 0``.
    save_every
        ``None``: return ``observe`` of the final state only. Otherwise a divisor of ``n_steps``:
        return ``observe`` of the states after steps ``0, save_every, 2 save_every, ..., n_steps``
        stacked on a new leading axis, ``(n_steps // save_every + 1, *observed.shape)``.
    observe
        What to keep of a state, e.g. its physical field subsampled to the output grid; identity by
        default. It may raise to stop the run (a blow-up check).

    Inside :func:`report_steps`, its callback is called with ``(i, n_steps)`` after step ``i``.
    """
    if n_steps < 0:
        raise ValueError(f"integrate: n_steps must be >= 0, got {n_steps}")
    if save_every is not None and (save_every < 1 or n_steps % save_every):
        raise ValueError(f"integrate: save_every must be a positive divisor of n_steps={n_steps}, got {save_every}")
    observe = (lambda s: s) if observe is None else observe
    saved = [] if save_every is None else [observe(state)]
    listener = _listener.get()
    for i in range(1, n_steps + 1):
        state = step(state)
        if save_every is not None and i % save_every == 0:
            saved.append(observe(state))
        if listener is not None:
            listener(i, n_steps)
    return observe(state) if save_every is None else torch.stack(saved)
