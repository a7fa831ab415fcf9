"""sciml: physics-informed scientific machine learning in PyTorch."""

__version__ = "0.1.0"
