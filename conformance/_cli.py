"""The installed address of ``sagemaker-openai-conformance`` (``[project.scripts]``).

Console scripts already installed resolve ``conformance._cli:main``; the command line itself
lives in ``conformance._doors._cli``.
"""

from __future__ import annotations

from ._doors._cli import main

__all__ = ["main"]
