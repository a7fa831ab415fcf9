"""Neural-network layers: the spectral convolution (the hot path) and its parts."""

from sciml.nn.spectral_conv import SpectralConv
from sciml.nn.truncated_fft import reference_spectral_conv

__all__ = ["SpectralConv", "reference_spectral_conv"]
