"""A TCP relay that puts a server a long way off: latency and jitter added to each direction.

Kernel netem is not available here, so distance is made in user space: every byte read on one
side is written to the other ``one_way_s`` (plus up to ``jitter_s``) later, in order, in each
direction, so a round trip through the relay takes at least ``2 * one_way_s``; and a new
connection's first bytes go no earlier than a round trip after it was accepted, as if the TCP
handshake had crossed the distance too. It relays bytes as they are (TLS passes through
untouched) and counts the connections it accepts, which is how the benchmarks and tests see a
new TCP (and TLS) handshake.

In a thread (tests): ``with relay_in_thread(port) as relay: relay.url("https", "localhost")``.
As a process (benchmarks, so the relay's CPU is not the client's):
``python -m bench._relay --to 127.0.0.1:PORT --one-way-ms 20 --jitter-ms 2`` prints
``listening on PORT``, then answers each ``count`` line on stdin with the number accepted, and
(with ``--record``) each ``turns A B`` line with the mean :func:`client_turns` of connections
``A + 1`` to ``B``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

CHUNK: Final = 65536
STARTUP_S: Final = 10.0


@dataclass(frozen=True)
class Hop:
    """One chunk through the relay: which way, when it was read and when it was written."""

    connection: int  # 1 for the first connection accepted, and so on
    direction: str  # "up" (client to server) or "down"
    read_at: float
    written_at: float
    size: int


@dataclass
class Relay:
    """Accepts on 127.0.0.1 and relays each connection to ``target``, late by design."""

    target: tuple[str, int]
    one_way_s: float = 0.020
    jitter_s: float = 0.0
    record: bool = False  # keep a Hop per chunk (tests)
    seed: int = 0
    accepted: int = 0
    hops: list[Hop] = field(default_factory=list)
    port: int = 0
    _random: random.Random = field(init=False, repr=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def url(self, scheme: str = "https", host: str = "localhost") -> str:
        return f"{scheme}://{host}:{self.port}"

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def drop_connections(self) -> None:
        """Cut every relayed connection (a server's close leaves them open before 3.13)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Accepted at once on loopback, where across a network the client's connect takes a
        # round trip (SYN, SYN-ACK): its first bytes may leave no earlier than that.
        handshake_done = time.monotonic() + 2 * self.one_way_s
        self.accepted += 1
        number = self.accepted
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            await _quiet_close(writer)
            return
        try:
            await asyncio.gather(
                self._pump(number, "up", reader, up_writer, handshake_done),
                self._pump(number, "down", up_reader, writer),
            )
        except asyncio.CancelledError:
            pass  # drop_connections(): asyncio's stream callback would report it as an error
        finally:
            await asyncio.gather(_quiet_close(up_writer), _quiet_close(writer))

    async def _pump(
        self,
        connection: int,
        direction: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        not_before: float = 0.0,
    ) -> None:
        """Read as fast as bytes come; write each chunk when its delay is up, in order.

        End of file is passed on (late, like the bytes before it) as a half close; a reset
        closes both sides, which ends the other direction too.
        """
        queue: asyncio.Queue[tuple[float, float, bytes]] = asyncio.Queue()

        async def read() -> None:
            due = 0.0
            while True:
                try:
                    data = await reader.read(CHUNK)
                except OSError:
                    data = b""
                now = time.monotonic()
                # Jitter never reorders: TCP would not deliver bytes out of order either.
                leaves = max(now, not_before)
                due = max(due, leaves + self.one_way_s + self._random.uniform(0, self.jitter_s))
                queue.put_nowait((now, due, data))
                if not data:
                    return

        reading = asyncio.create_task(read())
        try:
            while True:
                read_at, due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                if self.record:
                    hop = Hop(connection, direction, read_at, time.monotonic(), len(data))
                    self.hops.append(hop)
                await writer.drain()
        except OSError:
            writer.transport.abort()
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await reading


def client_turns(hops: list[Hop], connection: int) -> int:
    """How many times the client spoke after hearing from the server, first words included.

    Each turn is a round trip the client waited for: a cold TLS 1.3 request takes two (the
    handshake, then the request), a warm one one. Bytes the client sends before the server's
    last bytes reached it belong to the turn under way, so the count does not depend on how
    writes are split into reads.
    """
    events = [
        (h.read_at if h.direction == "up" else h.written_at, h.direction)
        for h in hops
        if h.connection == connection
    ]
    turns, heard = 0, True
    for _, direction in sorted(events):
        if direction == "down":
            heard = True
        elif heard:
            turns, heard = turns + 1, False
    return turns


async def _quiet_close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


@contextlib.contextmanager
def relay_in_thread(
    target_port: int,
    *,
    one_way_s: float = 0.020,
    jitter_s: float = 0.0,
    record: bool = False,
    target_host: str = "127.0.0.1",
) -> Iterator[Relay]:
    """A :class:`Relay` on its own loop in a daemon thread; stopped when the block exits."""
    relay = Relay((target_host, target_port), one_way_s, jitter_s, record)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    stopped = asyncio.Event()

    async def serve() -> None:
        server = await relay.start()
        ready.set()
        async with server:
            await stopped.wait()
            await relay.drop_connections()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="relay", daemon=True)
    thread.start()
    if not ready.wait(STARTUP_S):
        raise RuntimeError("the relay did not start")
    try:
        yield relay
    finally:
        loop.call_soon_threadsafe(stopped.set)
        thread.join(STARTUP_S)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._relay")
    parser.add_argument("--to", required=True, help="HOST:PORT to relay to")
    parser.add_argument("--one-way-ms", type=float, default=20.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--record", action="store_true", help="answer 'turns A B' lines")
    args = parser.parse_args()
    host, _, port = args.to.rpartition(":")
    relay = Relay((host, int(port)), args.one_way_ms / 1e3, args.jitter_ms / 1e3, args.record)

    async def serve() -> None:
        server = await relay.start()
        print(f"listening on {relay.port}", flush=True)
        loop = asyncio.get_running_loop()
        async with server:
            # stdin: one command per line; EOF (the parent went away) stops the relay.
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                command, *numbers = line.split()
                if command == "count":
                    print(f"accepted {relay.accepted}", flush=True)
                elif command == "turns":
                    first, last = (int(n) for n in numbers)
                    turns = [client_turns(relay.hops, c) for c in range(first + 1, last + 1)]
                    print(f"turns {sum(turns) / max(1, len(turns))}", flush=True)
            await relay.drop_connections()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
