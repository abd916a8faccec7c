"""A process-wide bearer-token cache: one mint per (credentials, region, lifetime), refreshed early.

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


_Key = tuple[str, str, int]  # credentials' fingerprint, region, token lifetime in seconds


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
        self._entries: dict[_Key, _Entry] = {}
        self._credentials: dict[str, CredentialSource] = {}
        self._locks: dict[_Key, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.mints = 0  # how many tokens were minted; read by tests and benchmarks

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)}, mints={self.mints})"

    def _key(self, spec: CredentialSpec, region: str, expiry: int | None) -> _Key:
        return (spec.fingerprint, region, self._expires if expiry is None else expiry)

    def peek(self, spec: CredentialSpec, region: str, expiry: int | None = None) -> str | None:
        """The cached token if it is still fresh; never blocks, never mints.

        ``expiry``: the tokens' lifetime in seconds (validated by the caller); the cache's own
        default when None.
        """
        entry = self._entries.get(self._key(spec, region, expiry))
        if entry is not None and self._clock() < entry.refresh_at:
            return entry.token
        return None

    def get(self, spec: CredentialSpec, region: str, expiry: int | None = None) -> str:
        """A fresh token, minting (and maybe loading credentials) if needed. May block."""
        token = self.peek(spec, region, expiry)
        if token is not None:
            return token
        key = self._key(spec, region, expiry)
        with self._lock_for(key):
            token = self.peek(spec, region, expiry)  # another caller may have minted meanwhile
            if token is None:
                token = self._mint(spec, key)
            return token

    async def aget(self, spec: CredentialSpec, region: str, expiry: int | None = None) -> str:
        """Async :meth:`get`: the warm path stays on the loop, the cold path goes to a thread."""
        token = self.peek(spec, region, expiry)
        if token is not None:
            return token
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(MINT_POOL.get(), self.get, spec, region, expiry)

    def invalidate(
        self, spec: CredentialSpec, region: str, token: str, expiry: int | None = None
    ) -> None:
        """Drop ``token`` after the route refused it (only if it is still the cached one).

        The credentials are dropped too, so the next mint reloads them: keys rotated in a
        shared-credentials file or the environment are picked up by the retry.
        """
        key = self._key(spec, region, expiry)
        entry = self._entries.get(key)
        if entry is not None and entry.token == token:
            self._entries.pop(key, None)
            self._credentials.pop(spec.fingerprint, None)

    def clear(self) -> None:
        """Forget every token and credential object, and reset the mint counter."""
        self._entries.clear()
        self._credentials.clear()
        self.mints = 0

    def _lock_for(self, key: _Key) -> threading.Lock:
        lock = self._locks.get(key)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(key, threading.Lock())
        return lock

    def _mint(self, spec: CredentialSpec, key: _Key) -> str:
        _, region, expires = key
        credentials = self._credentials.get(spec.fingerprint)
        if credentials is None:
            credentials = load_credentials(spec, region)
            self._credentials[spec.fingerprint] = credentials
        # One frozen snapshot: with refreshable credentials a rotation mid-signature would
        # otherwise mix the old key id with the new secret.
        frozen = freeze(credentials)
        now = self._clock()
        token = mint_token(frozen, region, expires)
        register_secret(token, frozen.secret_key, frozen.token)
        deadline = now + expires
        cred_expiry = credential_expiry(credentials)
        if cred_expiry is not None:
            # The service honours a token only while its signing credentials are valid.
            deadline = min(deadline, cred_expiry.astimezone(timezone.utc).timestamp())
        margin = min(MAX_REFRESH_MARGIN, MARGIN_FRACTION * expires)
        self._entries[key] = _Entry(token, max(now, deadline - margin))
        self.mints += 1
        return token
