"""`bind_socket` makes sockets on which asyncio turns Nagle off (no 40 ms delayed-ACK stalls)."""

from __future__ import annotations

import asyncio
import socket

from conformance._wire._serve import bind_socket


def test_bound_socket_says_tcp() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


def test_plain_asyncio_server_on_it_sets_tcp_nodelay() -> None:
    # The CLIs serve with asyncio.run (no uvloop): asyncio sets TCP_NODELAY on accepted
    # connections only when the listening socket's proto is IPPROTO_TCP.
    async def main() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = bind_socket("127.0.0.1", 0)
        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            try:
                return await asyncio.wait_for(seen, 5)
            finally:
                writer.close()

    assert asyncio.run(main()) != 0
