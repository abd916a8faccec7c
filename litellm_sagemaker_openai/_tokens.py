"""A process-wide bearer-token cache: one mint per (credentials, region), refreshed early.

The warm path is a dict lookup and a clock read, with no lock and no I/O. A cold or stale
entry is minted under a per-key lock, so concurrent callers (threads, or coroutines that
hop to a thread) mint exactly once. Credential loading can do network I/O (STS for roles,
IMDS for instance profiles), so async callers reach the cold path through a worker thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Final

from ._credentials import (
    CredentialSource,
    CredentialSpec,
    credential_expiry,
    freeze,
    load_credentials,
)
from ._redact import register_secret
from ._threads import MINT_POOL
from ._token import expiry_seconds, mint_token

DEFAULT_EXPIRY: Final = timedelta(hours=12)
MAX_REFRESH_MARGIN: Final = 300.0  # refresh at most 5 minutes before expiry...
MARGIN_FRACTION: Final = 0.1  # ...or 10% of the lifetime for short-lived tokens


@dataclass(frozen=True)
class _Entry:
    token: str = field(repr=False)
    refresh_at: float  # wall-clock seconds; SigV4 validity is wall-clock too


class TokenCache:
    """Mint-once, refresh-ahead cache of SageMaker bearer tokens."""

    def __init__(
        self,
        *,
        expiry: timedelta = DEFAULT_EXPIRY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._expires = expiry_seconds(expiry)
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._credentials: dict[str, CredentialSource] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.mints = 0  # how many tokens were minted; read by tests and benchmarks

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)}, mints={self.mints})"

    def peek(self, spec: CredentialSpec, region: str) -> str | None:
        """The cached token if it is still fresh; never blocks, never mints."""
        entry = self._entries.get((spec.fingerprint, region))
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        return None

    def get(self, spec: CredentialSpec, region: str) -> str:
        """A fresh token, minting (and maybe loading credentials) if needed. May block."""
        token = self.peek(spec, region)
        if token is not None:
            return token
        key = (spec.fingerprint, region)
        with self._lock_for(key):
            token = self.peek(spec, region)  # another caller may have minted meanwhile
            if token is None:
                token = self._mint(spec, region, key)
            return token

    async def aget(self, spec: CredentialSpec, region: str) -> str:
        """Async :meth:`get`: the warm path stays on the loop, the cold path goes to a thread."""
        token = self.peek(spec, region)
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(MINT_POOL.get(), self.get, spec, region)

    def invalidate(self, spec: CredentialSpec, region: str, token: str) -> None:
        """Drop ``token`` after the route refused it (only if it is still the cached one).

        The credentials are dropped too, so the next mint reloads them: keys rotated in a
        shared-credentials file or the environment are picked up by the retry.
        """
        key = (spec.fingerprint, region)
        entry = self._entries.get(key)
        if entry is not None and entry.token == token:
            self._entries.pop(key, None)
            self._credentials.pop(spec.fingerprint, None)

    def clear(self) -> None:
        """Forget every token and credential object, and reset the mint counter."""
        self._entries.clear()
        self._credentials.clear()
        self.mints = 0

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock

    def _mint(self, spec: CredentialSpec, region: str, key: tuple[str, str]) -> str:
        credentials = self._credentials.get(spec.fingerprint)
        if credentials is None:
            credentials = load_credentials(spec, region)
            self._credentials[spec.fingerprint] = credentials
        # One frozen snapshot: with refreshable credentials a rotation mid-signature would
        # otherwise mix the old key id with the new secret.
        frozen = freeze(credentials)
        now = self._clock()
        token = mint_token(frozen, region, self._expires)
        register_secret(token, frozen.secret_key, frozen.token)
        deadline = now + self._expires
        cred_expiry = credential_expiry(credentials)
        if cred_expiry is not None:
            # The service honours a token only while its signing credentials are valid.
            deadline = min(deadline, cred_expiry.astimezone(timezone.utc).timestamp())
        margin = min(MAX_REFRESH_MARGIN, MARGIN_FRACTION * self._expires)
        self._entries[key] = _Entry(token, max(now, deadline - margin))
        self.mints += 1
        return token
