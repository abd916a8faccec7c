"""Reading a numeric option: the one place that decides what counts as a number."""

from __future__ import annotations

import math
from typing import Any


def read_number(value: Any) -> float:
    """``value`` as a float: a number, or a YAML or environment string of one; NaN otherwise.

    ``True`` and ``False`` are not numbers here, though Python counts them as ints: ``wait: yes``
    in YAML is a mistake, not 1. Callers check the range and say what the option expects.
    """
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return math.nan
    return math.nan
