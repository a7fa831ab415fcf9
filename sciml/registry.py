"""Name -> class registries, one per kind, used only by the command line.

Library code passes objects, never names. This module sits at the edge with the CLI: it imports the
models and the built-in problems, and nothing in the core imports it (tests/test_layout.py checks).
"""

from sciml.models import FNO, LSM, TFNO, GalerkinTransformer
from sciml.nn import FourierExpansion
from sciml.optim import LBFGS, SGD, Adam, AdamW, ConFIG, MConFIG, MultiAdam, NaturalGradient, PreconditionedGD
from sciml.pinn import PINN
from sciml.problems import Burgers, Darcy, NavierStokes, Poisson

PROBLEMS = {
    "burgers": Burgers,
    "darcy": Darcy,
    "navier_stokes": NavierStokes,
    "poisson": Poisson,
}

MODELS = {
    "fno": FNO,
    "tfno": TFNO,
    "galerkin_transformer": GalerkinTransformer,
    "lsm": LSM,
    "pinn": PINN,
    "fourier_expansion": FourierExpansion,
}

# models of points (x -> u(x)), trained in a [pinn] section; the others map fields on grids
POINT_MODELS = ("pinn", "fourier_expansion")

OPTIMIZERS = {
    "adam": Adam,
    "adamw": AdamW,
    "sgd": SGD,
    "lbfgs": LBFGS,
    "config": ConFIG,
    "mconfig": MConFIG,
    "multiadam": MultiAdam,
    "natgrad": NaturalGradient,
    "opgd": PreconditionedGD,
}
