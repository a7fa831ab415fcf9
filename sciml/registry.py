"""Name -> class registries, used only by the command line (library code passes objects, not names)."""

from problems.navier_stokes import NavierStokes

PROBLEMS = {
    "navier_stokes": NavierStokes,
}
