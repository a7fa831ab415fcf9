"""Helpers shared by the tests (importable because pytest puts this folder on sys.path for conftest.py)."""

import numpy as np


def fitted_order(h, errors) -> float:
    """The least-squares slope of ``log(errors)`` against ``log(h)``: the convergence order in the step or spacing ``h``.

    For errors against a number of points or steps ``N``, pass ``h = 1 / N`` (or ``T / N``).
    """
    return float(np.polyfit(np.log(h), np.log(errors), 1)[0])
