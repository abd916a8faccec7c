"""The emulator's credential refusals: one table of rules, each with its HTTP status and AWS type.

Rule names are stable: tests, the docs and callers match on them. Every refusal of a bearer token
or a header signature is a ``TokenRejected`` naming one of these rules; nothing else escapes the
verifiers (tests/fuzz/test_tokens_fuzz.py holds them to that).
"""

from __future__ import annotations

from typing import Final, NoReturn

# rule -> (HTTP status, AWS error type). 401: no usable credential at all; 403: a credential
# AWS would parse and then refuse (identity, signature, scope or time), as AWS answers those.
RULES: Final[dict[str, tuple[int, str]]] = {
    "missing": (401, "MissingAuthenticationTokenException"),
    "prefix": (401, "IncompleteSignatureException"),
    "malformed": (401, "IncompleteSignatureException"),
    "version": (401, "IncompleteSignatureException"),
    "action": (403, "AccessDeniedException"),
    "host": (403, "InvalidSignatureException"),
    "path": (403, "InvalidSignatureException"),
    "service": (403, "InvalidSignatureException"),
    "region": (403, "InvalidSignatureException"),
    "unknown_key": (403, "UnrecognizedClientException"),
    "signature": (403, "InvalidSignatureException"),
    "expires_too_long": (403, "InvalidSignatureException"),
    "expired": (403, "ExpiredTokenException"),
    "not_yet_valid": (403, "InvalidSignatureException"),
}


class TokenRejected(Exception):
    """A credential failed one verification rule; ``rule`` names it, ``status`` is 401 or 403."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} (rule: {rule})")
        self.rule = rule
        self.status, self.error_type = RULES[rule]
        self.message = f"{message} (rule: {rule})"


def malformed(message: str) -> NoReturn:
    """Refuse a credential that is not in the exact form its signer writes."""
    raise TokenRejected("malformed", message)
