"""Neural-network layers: the spectral convolution (the hot path) and its parts."""

from sciml.nn import autotune
from sciml.nn.neuralop_compat import load_neuralop_spectral_conv, weight_from_neuralop
from sciml.nn.spectral_conv import SpectralConv
from sciml.nn.truncated_fft import reference_spectral_conv

__all__ = ["SpectralConv", "autotune", "load_neuralop_spectral_conv", "reference_spectral_conv", "weight_from_neuralop"]
