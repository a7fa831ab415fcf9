"""Reference solvers that generate data: time steppers and pseudo-spectral trajectories, elliptic solvers."""

from sciml.solvers.elliptic import darcy_matrix, darcy_operator, face_coefficients, solve_darcy
from sciml.solvers.fast_poisson import (
    apply_sine_inverse,
    check_field,
    dirichlet_eigenvalues,
    dst1,
    interior,
    poisson_dirichlet,
    poisson_periodic,
    sine_inverse_weights,
    with_boundary,
)
from sciml.solvers.navier_stokes import VorticityEquation, stream_function
from sciml.solvers.pseudo_spectral import PseudoSpectralSolver, SemilinearEquation
from sciml.solvers.stepping import ETDRK4, CrankNicolsonEuler, Stepper, integrate, report_steps

__all__ = [
    "CrankNicolsonEuler",
    "ETDRK4",
    "PseudoSpectralSolver",
    "SemilinearEquation",
    "Stepper",
    "VorticityEquation",
    "apply_sine_inverse",
    "check_field",
    "darcy_matrix",
    "darcy_operator",
    "dirichlet_eigenvalues",
    "dst1",
    "face_coefficients",
    "integrate",
    "interior",
    "poisson_dirichlet",
    "poisson_periodic",
    "report_steps",
    "sine_inverse_weights",
    "solve_darcy",
    "stream_function",
    "with_boundary",
]
