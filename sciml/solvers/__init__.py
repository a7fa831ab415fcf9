"""Reference solvers that generate data: time steppers and elliptic solvers."""

from sciml.solvers.etdrk4 import ETDRK4, integrate
from sciml.solvers.navier_stokes import CrankNicolsonEuler, VorticityEquation, VorticitySolver, stream_function

__all__ = [
    "ETDRK4",
    "integrate",
    "CrankNicolsonEuler",
    "VorticityEquation",
    "VorticitySolver",
    "stream_function",
]
