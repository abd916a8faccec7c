"""``asyncio.run(one call)`` over and over: each loop's client goes with its loop, sockets closed.

Scripts, Celery tasks and Django views run a new event loop per call. The plugin keeps one
``httpx.AsyncClient`` per loop; kept for good, each would hold its loop and a socket (in
CLOSE_WAIT once the server gave up on it), until the process runs out of file descriptors.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Callable
from typing import Any, Final

import litellm
import pytest
from faults.faults_calls import MESSAGES, STATIC_CREDS
from faults.faults_support import Conn, Hit, LoopbackServer, chunk, event, loopback

from litellm_sagemaker_openai import _clients

CALLS: Final = 30


async def _answer(hit: Hit, conn: Conn) -> None:
    await conn.sse(event(chunk({"role": "assistant", "content": "hi"}, "stop")) + event("[DONE]"))


def _runner(kind: str) -> Callable[[Any], Any]:
    if kind == "asyncio":
        return asyncio.run
    uvloop = pytest.importorskip("uvloop")
    return uvloop.run  # type: ignore[no-any-return]


async def _one_call(url: str, loops: list[weakref.ref[asyncio.AbstractEventLoop]]) -> str:
    loops.append(weakref.ref(asyncio.get_running_loop()))
    stream = await litellm.acompletion(
        model="sagemaker_openai/ep",
        messages=MESSAGES,
        api_base=url.replace("127.0.0.1", "localhost"),
        stream=True,
        **STATIC_CREDS,
    )
    return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])


def _open_connections(server: LoopbackServer) -> int:
    return len(server._tasks)


def _settle(server: LoopbackServer) -> int:
    for _ in range(100):  # the server notices each close on its own loop
        if _open_connections(server) == 0:
            break
        asyncio.run(asyncio.sleep(0.02))
    return _open_connections(server)


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_each_loop_closes_its_client_when_it_shuts_down(kind: str) -> None:
    run = _runner(kind)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    with loopback(_answer) as server:
        for _ in range(CALLS):
            assert run(_one_call(server.url, loops)) == "hi"
        gc.collect()
        assert _settle(server) == 0, "sockets of finished loops are still open"
    assert sum(ref() is not None for ref in loops) == 0, "finished loops are still alive"
    assert len(server.hits) == CALLS


def test_a_loop_closed_by_hand_is_let_go_by_the_next_one() -> None:
    """``loop.close()`` without shutting down async generators skips the loop's own close: the
    next loop's first call drops it, and the collector closes its socket."""
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    with loopback(_answer) as server:
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(_one_call(server.url, loops)) == "hi"
        loop.close()
        del loop
        assert asyncio.run(_one_call(server.url, loops)) == "hi"
        gc.collect()
        assert _settle(server) == 0
    assert [ref() for ref in loops] == [None, None]
    assert not any(loop.is_closed() for loop, _ in list(_clients._async))


def test_a_process_with_few_file_descriptors_survives_many_loops(tmp_path: Any) -> None:
    """The report: with ``ulimit -n 200``, 200 calls of ``asyncio.run(one call)`` hit EMFILE."""
    script = tmp_path / "many_loops.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, os, resource, sys
            os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
            import litellm, litellm_sagemaker_openai
            url, calls = sys.argv[1], int(sys.argv[2])
            resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 60,) * 2)
            creds = dict(aws_access_key_id="AKIAFAULTSEXAMPLE001",
                         aws_secret_access_key="faults/secret+key/EXAMPLE0123456789abcdefg",
                         aws_region_name="us-east-1")
            async def one():
                out = await litellm.acompletion(model="sagemaker_openai/ep", api_base=url,
                    messages=[{"role": "user", "content": "hi"}], stream=True, **creds)
                return [c async for c in out]
            for number in range(calls):
                asyncio.run(one())
            print("ok", len(os.listdir("/proc/self/fd")))
            """
        )
    )
    with loopback(_answer) as server:
        url = server.url.replace("127.0.0.1", "localhost")
        done = subprocess.run(
            [sys.executable, str(script), url, "150"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
