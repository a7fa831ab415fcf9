"""Neural operators and their building blocks; ``MODELS`` is the registry the CLI reads."""

from sciml.models.blocks import ChannelMLP, PointwiseLinear, pointwise
from sciml.models.domain import CoordinateCache, pad_domain, padding_widths, unpad_domain
from sciml.models.fno import FNO, TFNO, AbstractFNO, FNOOptions, FourierBlock
from sciml.models.neuralop_compat import load_neuralop_fno

MODELS = {
    "fno": FNO,
    "tfno": TFNO,
}

__all__ = [
    "MODELS",
    "AbstractFNO",
    "ChannelMLP",
    "CoordinateCache",
    "FNO",
    "FNOOptions",
    "FourierBlock",
    "PointwiseLinear",
    "TFNO",
    "load_neuralop_fno",
    "pad_domain",
    "padding_widths",
    "pointwise",
    "unpad_domain",
]
