"""Physics-aware optimizers over named loss terms.

- :func:`conflict_free`: one update with equal positive cosine to every term's gradient (ConFIG,
  Liu, Chu, Thuerey, ICLR 2025).
"""

from sciml.optim.conflict_free import conflict_free

__all__ = ["conflict_free"]
