"""Name -> class registries, used only by the command line (library code passes objects, not names)."""

from problems.burgers import Burgers
from problems.darcy import Darcy
from problems.navier_stokes import NavierStokes
from problems.poisson import Poisson

PROBLEMS = {
    "burgers": Burgers,
    "darcy": Darcy,
    "navier_stokes": NavierStokes,
    "poisson": Poisson,
}
