"""The pytest plugin's installed address (``pytest11``: ``conformance.plugin``).

pytest loads this module in every run where the distribution is installed and finds the
hooks on it; the plugin itself lives in ``conformance._doors._plugin``, and until
``--conformance-target`` is given it imports nothing heavier than pytest.
"""

from __future__ import annotations

from ._doors._plugin import (
    ConformanceFailed,
    ConformanceItem,
    pytest_addoption,
    pytest_configure,
)

__all__ = ["ConformanceFailed", "ConformanceItem", "pytest_addoption", "pytest_configure"]
