"""check_number: finite real numbers in a range, with the owner, the argument and the reason in the message."""

import math

import numpy as np
import pytest

from sciml.validate import check_number


@pytest.mark.parametrize("value", [1, 0.5, np.float64(2.0), np.int64(3)])
def test_accepts_finite_numbers_in_range(value):
    check_number("Owner", "x", value, above=0, below=4)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"value": math.nan}, ValueError, "Owner: x must be a finite number, got nan"),
    ({"value": -math.inf}, ValueError, "Owner: x must be a finite number, got -inf"),
    ({"value": "1"}, TypeError, "Owner: x must be a finite number, got '1'"),
    ({"value": True}, TypeError, "Owner: x must be a finite number, got True"),
    ({"value": 0.0, "above": 0}, ValueError, "Owner: x must be a finite number > 0, got 0.0"),
    ({"value": 1.0, "at_least": 2}, ValueError, "Owner: x must be a finite number >= 2, got 1.0"),
    ({"value": 1.0, "above": 0, "below": 1, "why": "a fraction"}, ValueError,
     "Owner: x must be a finite number > 0 and < 1 (a fraction), got 1.0"),
    ({"value": 2.0, "integer": True}, TypeError, "Owner: x must be an integer, got 2.0"),
    ({"value": 2**63, "at_least": 0, "below": 2**63, "integer": True}, ValueError,
     "Owner: x must be an integer >= 0 and < 9223372036854775808, got 9223372036854775808"),
])
def test_refuses_with_the_reason(kwargs, error, message):
    with pytest.raises(error) as info:
        check_number("Owner", "x", **kwargs)
    assert str(info.value) == message
