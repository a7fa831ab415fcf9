"""The built-in PDE problems, written against sciml's public API as a user would write one.

Installed as ``sciml.problems`` (the repository keeps them in its top-level ``problems/`` folder):
``from sciml.problems import Burgers, Darcy, NavierStokes, Poisson``.
"""

from sciml.problems.burgers import Burgers
from sciml.problems.darcy import Darcy
from sciml.problems.navier_stokes import NavierStokes
from sciml.problems.poisson import Poisson

__all__ = ["Burgers", "Darcy", "NavierStokes", "Poisson"]
