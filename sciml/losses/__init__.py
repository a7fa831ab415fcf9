"""Losses: per-sample relative data losses (L^p, H^1) and the physics loss of a problem's residual."""

from sciml.losses.data import relative_h1, relative_lp
from sciml.losses.physics import residual_loss

__all__ = ["relative_h1", "relative_lp", "residual_loss"]
