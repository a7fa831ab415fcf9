"""Reference solvers that generate data: time steppers and elliptic solvers."""

from sciml.solvers.etdrk4 import ETDRK4, integrate

__all__ = [
    "ETDRK4",
    "integrate",
]
