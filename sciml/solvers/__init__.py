"""Reference solvers that generate data: time steppers and elliptic solvers."""

from sciml.solvers.elliptic import darcy_matrix, darcy_operator, face_coefficients, solve_darcy
from sciml.solvers.fast_poisson import dirichlet_eigenvalues, dst1, poisson_dirichlet, poisson_periodic
from sciml.solvers.etdrk4 import ETDRK4, integrate
from sciml.solvers.navier_stokes import CrankNicolsonEuler, VorticityEquation, VorticitySolver, stream_function

__all__ = [
    "ETDRK4",
    "integrate",
    "CrankNicolsonEuler",
    "VorticityEquation",
    "VorticitySolver",
    "stream_function",
    "darcy_matrix",
    "darcy_operator",
    "dirichlet_eigenvalues",
    "dst1",
    "face_coefficients",
    "poisson_dirichlet",
    "poisson_periodic",
    "solve_darcy",
]
