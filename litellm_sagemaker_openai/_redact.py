"""Keep bearer tokens and AWS secrets out of log records and error messages.

Every secret the provider handles is registered here; a logging filter on LiteLLM's own
loggers rewrites any record that would print one, so even ``litellm._turn_on_debug()``
output stays clean. litellm-free.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from typing import Final

MASK: Final = "***"
_MAX_SECRETS: Final = 256  # tokens rotate; old ones age out instead of growing forever
_MIN_SECRET_LEN: Final = 8  # never register short strings that would mask ordinary words
LITELLM_LOGGERS: Final = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm_sagemaker_openai")
# Libraries below the plugin that print secrets at DEBUG: botocore logs each STS request (web
# identity token, external id) and response body (temporary secret key, session token); httpcore
# and urllib3 log what they send or refuse. A filter only sees records made by its own logger,
# so each module's logger gets one.
LIBRARY_LOGGERS: Final = (
    "botocore.endpoint", "botocore.parsers", "botocore.hooks", "botocore.awsrequest",
    "botocore.httpsession", "botocore.retryhandler", "botocore.credentials", "botocore.utils",
    "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpx", "urllib3.connectionpool",
)  # fmt: skip

# Patterns catch secrets we were never told about: LiteLLM logs the call's optional_params
# (which carry aws_* for providers named "sagemaker*") before any provider code runs.
_PATTERNS: Final = (
    (re.compile(r"sagemaker-api-key-[A-Za-z0-9+/=]+"), "sagemaker-api-key-" + MASK),
    (
        re.compile(
            r"((?:aws_secret_access_key|aws_session_token|aws_web_identity_token|"
            r"aws_external_id|api_key|X-Amz-Security-Token|X-Amz-Signature|"
            r"SecretAccessKey|SessionToken|WebIdentityToken|ExternalId)"
            r"['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}&]+)",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # STS answers in XML: <SecretAccessKey>...</SecretAccessKey>, <SessionToken>...
    (
        re.compile(r"(<(SecretAccessKey|SessionToken|WebIdentityToken|ExternalId)>)[^<]*(</\2>)"),
        r"\1" + MASK + r"\3",
    ),
)

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
    """Replace every registered secret, and anything shaped like one, with ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
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


class MisleadingWarningFilter(logging.Filter):
    """Drops the Router's "sets aws_* but resolves to provider 'sagemaker_openai'" warning.

    LiteLLM's table of providers that read aws_* params only lists built-ins, so it warns about
    every sagemaker_openai deployment and suggests a broken 'bedrock/' prefix. This plugin does
    read those params.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not ("resolves to provider" in message and "sagemaker_openai" in record.getMessage())


def _add_filter(name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(name)
    if not any(isinstance(f, kind) for f in logger.filters):
        logger.addFilter(kind())


def install_library_filter() -> None:
    """Attach the redacting filter to botocore's, httpcore's and urllib3's loggers (idempotent).

    A filter costs nothing while its logger is below DEBUG: logging checks the level first.
    """
    for name in LIBRARY_LOGGERS:
        _add_filter(name, RedactingFilter)


def install_log_filter() -> None:
    """Attach the filters to LiteLLM's loggers, and the library ones, once (idempotent)."""
    for name in LITELLM_LOGGERS:
        for kind in (RedactingFilter, MisleadingWarningFilter):
            _add_filter(name, kind)
    install_library_filter()
