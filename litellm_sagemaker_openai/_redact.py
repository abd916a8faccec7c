"""Keep bearer tokens and AWS secrets out of log records and error messages.

Every secret the provider handles is registered here; a logging filter on LiteLLM's own
loggers rewrites any record that would print one, so even ``litellm._turn_on_debug()``
output stays clean. litellm-free.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import pkgutil
import re
import threading
from collections import OrderedDict
from typing import Final

MASK: Final = "***"
_MAX_SECRETS: Final = 256  # tokens rotate; old ones age out instead of growing forever
_MIN_SECRET_LEN: Final = 8  # never register short strings that would mask ordinary words
LITELLM_LOGGERS: Final = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm_sagemaker_openai")
# Libraries below the plugin that print secrets at DEBUG: botocore signs STS requests
# (botocore.auth logs the canonical request, with x-amz-security-token, and the signature;
# botocore.endpoint the signed request) and logs each body (web identity token, temporary
# secret key and session token, SSO tokens); httpcore and urllib3 log what they send or refuse.
# A filter only sees records made by its own logger, so each logger gets one: every botocore
# module (its loggers are named after their modules), and the names the others pick by hand.
FIXED_LIBRARY_LOGGERS: Final = (
    "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy",
    "httpcore.socks", "httpx", "urllib3.connectionpool",
)  # fmt: skip
_MODULE_LOGGERS: Final = ("botocore",)

# Patterns catch secrets we were never told about: LiteLLM logs the call's optional_params
# (which carry aws_* for providers named "sagemaker*") before any provider code runs, and
# botocore logs base credentials found in the environment or a profile.
_SECRET_NAMES: Final = (
    "aws_secret_access_key|aws_session_token|aws_web_identity_token|aws_external_id|api_key|"
    "X-Amz-Security-Token|SecretAccessKey|SessionToken|WebIdentityToken|ExternalId|"
    # SigV4 signatures: X-Amz-Signature= in a presigned URL, Signature= in an Authorization
    # header, and botocore.auth's "Signature:" line. A signed request can be replayed for
    # minutes, and an STS AssumeRole replay returns fresh credentials.
    "Signature|"
    # SSO: the OIDC client secret and tokens, and the bearer header of GetRoleCredentials.
    "clientSecret|accessToken|refreshToken|x-amz-sso_bearer_token"
)
_PATTERNS: Final = (
    (re.compile(r"sagemaker-api-key-[A-Za-z0-9+/=]+"), "sagemaker-api-key-" + MASK),
    (
        # name, then = or : (a canonical request puts the value on the same line, botocore.auth
        # puts the signature on the next one), then the value, quoted or not; botocore prints
        # header values as bytes, b'...'.
        re.compile(
            rf"((?:{_SECRET_NAMES})['\"]?\s*[:=]\s*(?:b(?=['\"]))?['\"]?)([^'\"\s,}}&]+)",
            re.IGNORECASE,
        ),
        r"\1" + MASK,
    ),
    # A URL's user:password@ (HTTPS_PROXY=http://user:pass@proxy:3128): the password, whatever
    # its length, and a Proxy-Authorization header's credentials.
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:)[^/\s@'\"]*@", re.I), rf"\1{MASK}@"),
    (
        re.compile(
            r"(Proxy-Authorization['\"]?\s*[:,=]\s*(?:b(?=['\"]))?['\"]?\w+\s+)[^'\"\s,}]+", re.I
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


def _module_names(package: str) -> list[str]:
    """``package`` and every module in it, found on disk without importing anything."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    names = [package]
    todo = [(list(spec.submodule_search_locations), package)]
    while todo:
        paths, prefix = todo.pop()
        for module in pkgutil.iter_modules(paths, prefix + "."):
            names.append(module.name)
            if module.ispkg:
                tail = module.name.rpartition(".")[2]
                todo.append(([os.path.join(path, tail) for path in paths], module.name))
    return names


@functools.lru_cache(maxsize=1)
def library_loggers() -> tuple[str, ...]:
    """Every logger below the plugin that gets the redacting filter."""
    modules = (name for package in _MODULE_LOGGERS for name in _module_names(package))
    return (*FIXED_LIBRARY_LOGGERS, *modules)


def install_library_filter() -> None:
    """Attach the redacting filter to botocore's, httpcore's and urllib3's loggers (idempotent).

    A filter costs nothing while its logger is below DEBUG: logging checks the level first.
    """
    for name in library_loggers():
        _add_filter(name, RedactingFilter)


def install_log_filter() -> None:
    """Attach the filters to LiteLLM's loggers, and the library ones, once (idempotent)."""
    for name in LITELLM_LOGGERS:
        for kind in (RedactingFilter, MisleadingWarningFilter):
            _add_filter(name, kind)
    install_library_filter()
