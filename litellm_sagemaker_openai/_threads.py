"""The plugin's own small thread pools, for the blocking work it must keep off the event loop.

Never the loop's default executor: LiteLLM runs ``astreaming`` there, and the plugin's stream
open waits in that worker until the response headers arrive. Work that open needs (a token
mint, a DNS lookup) queued on the same executor would wait behind those workers: with every
worker waiting (``min(32, cores + 4)``, 6 on 2 cores) the process deadlocks. So each kind of
blocking work gets a pool of its own, which nothing else waits on.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Final


class PrivatePool:
    """A lazily created ``ThreadPoolExecutor``, recreated in a forked child."""

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self.reset)

    def __repr__(self) -> str:
        return f"PrivatePool({self._name!r}, workers={self._workers})"

    def get(self) -> ThreadPoolExecutor:
        """The executor, created on first use."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix=self._name)
                pool = self._pool
        return pool

    def reset(self) -> None:
        """Forget the executor (its threads do not exist in a forked child)."""
        self._pool = None
        self._lock = threading.Lock()


# Minting loads credentials, which may call STS or instance metadata: slow but rare.
MINT_POOL: Final = PrivatePool(2, "sagemaker-openai-mint")
# Lookups run only when a new connection is opened, and concurrent lookups of one name share one
# call (see _transport.py), so a few workers cover any number of hosts.
RESOLVE_POOL: Final = PrivatePool(4, "sagemaker-openai-dns")
# Closing a stream that was dropped without being closed (see _iterators.ChunkStream.__del__).
CLOSE_POOL: Final = PrivatePool(1, "sagemaker-openai-close")
