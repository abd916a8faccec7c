"""Keep bearer tokens and AWS secrets out of log records and error messages.

Every secret the provider handles is registered here; a logging filter on LiteLLM's own
loggers rewrites any record that would print one, so even ``litellm._turn_on_debug()``
output stays clean. litellm-free.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Final

MASK: Final = "***"
_MAX_SECRETS: Final = 256  # tokens rotate; old ones age out instead of growing forever
_MIN_SECRET_LEN: Final = 8  # never register short strings that would mask ordinary words
LITELLM_LOGGERS: Final = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm_sagemaker_openai")

_lock = threading.Lock()
_secrets: OrderedDict[str, None] = OrderedDict()


def register_secret(*values: str | None) -> None:
    """Remember secrets so :func:`redact` and the log filter can mask them."""
    with _lock:
        for value in values:
            if value and len(value) >= _MIN_SECRET_LEN:
                _secrets[value] = None
                _secrets.move_to_end(value)
        while len(_secrets) > _MAX_SECRETS:
            _secrets.popitem(last=False)


def redact(text: str) -> str:
    """Replace every registered secret in ``text`` with ``***``."""
    with _lock:
        found = [s for s in _secrets if s in text]
    for secret in found:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites records that contain a registered secret; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_filter() -> None:
    """Attach the filter to LiteLLM's loggers once (idempotent)."""
    for name in LITELLM_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
