"""Neural operators; ``MODELS`` is the registry the CLI reads. Their plain layers live in :mod:`sciml.nn`."""

from sciml.models.fno import FNO, TFNO, AbstractFNO, FNOOptions
from sciml.models.fno_block import FourierBlock
from sciml.models.galerkin import GalerkinTransformer, GalerkinTransformerOptions
from sciml.models.lsm import LSM, LSMOptions
from sciml.models.neuralop_compat import load_neuralop_fno

MODELS = {
    "fno": FNO,
    "tfno": TFNO,
}

__all__ = [
    "MODELS",
    "AbstractFNO",
    "FNO",
    "FNOOptions",
    "FourierBlock",
    "GalerkinTransformer",
    "GalerkinTransformerOptions",
    "LSM",
    "LSMOptions",
    "TFNO",
    "load_neuralop_fno",
]
