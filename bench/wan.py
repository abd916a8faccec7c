"""wan: streams to a route 40 ms of round trip away over TLS, plugin beside ``openai/``.

The server (emulator + reference, HTTPS with a CA made at run time) sits behind a relay that
delays each direction by 20 ms plus up to 2 ms of jitter (``bench/_relay.py``; kernel netem is
not available), in a process of its own. Both paths trust the CA through ``SSL_CERT_FILE``,
as users point Python clients at a private CA. A phase is one fresh event loop: each path's cold
burst (no pooled connection; the process is warm), then ``WARM_BURSTS[N]`` warm ones per path,
alternating, each of ``N`` concurrent ``acompletion(stream=True)`` calls, for N = 1 and 50. Per
burst: the median time to first chunk of its streams, its wall time, and the connections the
relay accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Final

from bench._core import Options, Result
from bench._servers import (
    OPENAI_MODEL,
    PLUGIN_MODEL,
    ROOT,
    Server,
    litellm_ready,
    run_child,
    server_process,
    stop,
)

ONE_WAY_MS: Final = 20.0
JITTER_MS: Final = 2.0
STREAMS: Final = (1, 50)
# Warm bursts per phase, by N: a lone stream's TTFC on a loaded machine varies by tens of ms.
WARM_BURSTS: Final = {1: 20, 50: 4}
# A lone stream after this long idle: past httpx's default keep-alive expiry (5 s), within
# aiohttp's (15 s), well within what a route keeps open.
IDLE_S: Final = 6.0
TOKENS: Final = 4
WARM_TTFC_MARGIN_MS: Final = 1.0
PATHS: Final = ("plugin", "openai")


class RelayProcess:
    """``python -m bench._relay`` in front of ``target``; asks it how many it accepted."""

    def __init__(self, target: str) -> None:
        cmd = [sys.executable, "-m", "bench._relay", "--to", target]
        cmd += ["--one-way-ms", str(ONE_WAY_MS), "--jitter-ms", str(JITTER_MS), "--record"]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            stop(self.proc)
            raise RuntimeError(f"the relay did not start: {line!r}")
        self.port = int(line.split()[-1])

    def _ask(self, command: str) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline().split()[-1])

    def accepted(self) -> int:
        return int(self._ask("count"))

    def turns(self, first: int, last: int) -> float:
        """Mean round trips the client waited on connections ``first + 1`` to ``last``."""
        return self._ask(f"turns {first} {last}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # EOF stops it
        try:
            self.proc.wait(5)
        finally:
            stop(self.proc)


async def _burst(path: str, server: Server, streams: int, relay: RelayProcess) -> dict[str, float]:
    """``streams`` concurrent streams: median time to first chunk, wall time, connections
    opened and the round trips each new one waited."""
    litellm = litellm_ready()
    if path == "plugin":
        model, kwargs = PLUGIN_MODEL, server.plugin_kwargs()
    else:
        model, kwargs = OPENAI_MODEL, server.openai_kwargs()
    messages = [{"role": "user", "content": " ".join(["w"] * (TOKENS + 10))}]

    async def one() -> float:
        start = time.perf_counter()
        stream = await litellm.acompletion(
            model=model, messages=messages, stream=True, max_tokens=TOKENS, **kwargs
        )
        first = 0.0
        async for _ in stream:
            first = first or time.perf_counter() - start
        return first

    before = await asyncio.to_thread(relay.accepted)
    start = time.perf_counter()
    firsts = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(streams))), 120)
    wall = time.perf_counter() - start
    after = await asyncio.to_thread(relay.accepted)
    return {
        "ttfc_ms": statistics.median(firsts) * 1e3,
        "total_ms": wall * 1e3,
        "opened": after - before,
        # Of the connections this burst opened; cold, each carried exactly one stream.
        "turns": await asyncio.to_thread(relay.turns, before, after) if after > before else 0.0,
    }


async def phase(
    order: tuple[str, ...], server: Server, streams: int, relay: RelayProcess
) -> dict[str, Any]:
    """On a fresh loop (fresh pools on both paths): each path's cold burst, then warm bursts.

    Warm bursts alternate between the paths, so both see the same moment of a noisy machine.
    """
    cold = {path: await _burst(path, server, streams, relay) for path in order}
    warm: dict[str, list[dict[str, float]]] = {path: [] for path in order}
    for number in range(WARM_BURSTS[streams]):
        for path in order if number % 2 == 0 else order[::-1]:
            warm[path].append(await _burst(path, server, streams, relay))
    idle = {}
    if streams == 1:
        await asyncio.sleep(IDLE_S)
        idle = {path: await _burst(path, server, streams, relay) for path in order}
    return {
        path: {
            "cold": cold[path],
            "idle": idle.get(path, {}),
            "warm": {
                "ttfc_ms": statistics.median(b["ttfc_ms"] for b in warm[path]),
                "total_ms": statistics.median(b["total_ms"] for b in warm[path]),
                "opened": sum(b["opened"] for b in warm[path]) / len(warm[path]),
            },
        }
        for path in order
    }


def measure(server: Server, relay: RelayProcess, rounds: int) -> dict[str, Any]:
    """Per N and path: a list of phases, one per round; the path that goes first alternates."""
    asyncio.run(phase(PATHS, server, 1, relay))  # imports and first-call setup, off the record
    out: dict[str, Any] = {}
    for streams in STREAMS:
        for number in range(rounds):
            rows = asyncio.run(
                phase(PATHS[:: 1 if number % 2 == 0 else -1], server, streams, relay)
            )
            for path, row in rows.items():
                out.setdefault(str(streams), {}).setdefault(path, []).append(row)
    return out


def main() -> None:
    """The child process: trusts the CA as users do, starts the relay, prints one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.wan")
    parser.add_argument("--target", required=True, help="HOST:PORT of the HTTPS server")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--credentials-file", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["SSL_CERT_FILE"] = args.ca  # read by httpx (plugin) and LiteLLM (openai/)
    # The plugin reads AWS_CA_BUNDLE before SSL_CERT_FILE (docs/provider/networks.md), and many
    # machines set it to the system bundle: point it at the bench's CA too.
    os.environ["AWS_CA_BUNDLE"] = args.ca
    from conformance._emulator import load_credentials_file

    litellm_ready()
    relay = RelayProcess(args.target)
    try:
        server = Server(
            f"https://localhost:{relay.port}", load_credentials_file(args.credentials_file)[0], ""
        )
        out = measure(server, relay, args.rounds)
    finally:
        relay.close()
    print(json.dumps(out), flush=True)
    os._exit(0)


def run(opts: Options) -> Result:
    result = Result(
        id="wan",
        what=f"streams over TLS to a route {2 * ONE_WAY_MS:.0f} ms of round trip away (relay "
        f"with 0-{JITTER_MS:.0f} ms jitter each way), cold and warm, 1 and 50 concurrent",
        target=f"warm time to first chunk within {WARM_TTFC_MARGIN_MS:.0f} ms of openai/'s; "
        "no new connection once warm; cold: no extra round trip over openai/",
        met=None,
    )
    with tempfile.TemporaryDirectory(prefix="smo-wan-") as tmp:
        from bench._tls import make_certificates

        certs = make_certificates(tmp)
        with server_process(tls=(certs.cert, certs.key)) as server:
            target = server.base.split("//", 1)[1]
            args = ["--target", target, "--ca", certs.ca]
            args += ["--credentials-file", server.credentials_file, "--rounds", str(opts.rounds)]
            raw = run_child("bench.wan", args, 900)
    if "error" in raw:
        raise RuntimeError(raw["error"])
    return _result(result, raw)


def _result(result: Result, raw: dict[str, Any]) -> Result:
    met = True
    parts = []
    for streams, paths in raw.items():
        for path, phases in paths.items():
            for temp in ("cold", "warm"):
                for key, unit in (("ttfc_ms", "ms"), ("total_ms", "ms"), ("opened", "conns")):
                    values = [p[temp][key] for p in phases]
                    result.figure(f"n{streams}_{temp}_{path}_{key}", values, unit)
            result.figure(
                f"n{streams}_cold_{path}_round_trips", [p["cold"]["turns"] for p in phases], "RTT"
            )
            if phases[0]["idle"]:
                for key, unit in (("ttfc_ms", "ms"), ("opened", "conns")):
                    values = [p["idle"][key] for p in phases]
                    result.figure(f"n{streams}_idle_{path}_{key}", values, unit)
        for temp in ("cold", "warm"):
            diffs = [
                p[temp]["ttfc_ms"] - o[temp]["ttfc_ms"]
                for p, o in zip(paths["plugin"], paths["openai"], strict=True)
            ]
            result.figure(f"n{streams}_{temp}_ttfc_plugin_minus_openai_ms", diffs, "ms")
        fig = result.figures
        warm_diff = fig[f"n{streams}_warm_ttfc_plugin_minus_openai_ms"]["median"]
        cold_diff = fig[f"n{streams}_cold_ttfc_plugin_minus_openai_ms"]["median"]
        warm_opened = fig[f"n{streams}_warm_plugin_opened"]["max"]
        trips = [fig[f"n{streams}_cold_{path}_round_trips"]["max"] for path in PATHS]
        met &= warm_diff <= WARM_TTFC_MARGIN_MS and warm_opened == 0 and trips[0] <= trips[1]
        parts.append(
            f"N={streams}: warm TTFC {fig[f'n{streams}_warm_plugin_ttfc_ms']['median']:.1f} vs "
            f"{fig[f'n{streams}_warm_openai_ttfc_ms']['median']:.1f} ms ({warm_diff:+.1f}), cold "
            f"{fig[f'n{streams}_cold_plugin_ttfc_ms']['median']:.0f} vs "
            f"{fig[f'n{streams}_cold_openai_ttfc_ms']['median']:.0f} ms ({cold_diff:+.0f}) in "
            f"{trips[0]:g} vs {trips[1]:g} round trips; "
            f"conns opened cold {fig[f'n{streams}_cold_plugin_opened']['median']:.0f} vs "
            f"{fig[f'n{streams}_cold_openai_opened']['median']:.0f}, per warm burst "
            f"{fig[f'n{streams}_warm_plugin_opened']['median']:.0f} vs "
            f"{fig[f'n{streams}_warm_openai_opened']['median']:.0f}"
        )
    idle = fig["n1_idle_plugin_opened"]["median"], fig["n1_idle_openai_opened"]["median"]
    parts.append(f"after {IDLE_S:.0f} s idle, conns opened {idle[0]:g} vs {idle[1]:g}")
    result.met = met
    warm = ", ".join(f"{WARM_BURSTS[n]} of N={n}" for n in STREAMS)
    result.summary = "; ".join(parts)
    result.notes = (
        f"Server: emulator + reference over HTTPS (bench/_tls.py makes a CA and a localhost "
        f"certificate at run time; uvicorn's ssl_certfile/ssl_keyfile) in a subprocess. Relay: "
        f"bench/_relay.py in a process of its own, {ONE_WAY_MS:.0f} ms + U(0, {JITTER_MS:.0f}) "
        f"ms each way, counting the TCP connections it accepts. Client: a child process with "
        f"SSL_CERT_FILE set to the CA (both paths honour it: httpx for the plugin, "
        f"LiteLLM's get_ssl_verify for openai/), calling https://localhost:<relay>. A phase is "
        f"one asyncio.run: each path's cold burst (new loop, so new pools on both paths; "
        f"imports done), then warm bursts per path ({warm}), the paths alternating burst by "
        f"burst; a burst is N concurrent acompletion(stream=True, "
        f"max_tokens={TOKENS}) read to the end. TTFC: call to first chunk, median over the "
        f"burst's streams; warm: median of the warm bursts; opened: connections per burst. "
        f"Round trips: per new connection of the cold burst, how many times the client spoke "
        f"after hearing from the server (bench/_relay.py client_turns; TLS 1.3 + request = 2). "
        f"The path that goes first alternates per round. The 'opened' goal is 0 per warm "
        f"burst; the plugin keeps at most 32 idle connections (litellm_sagemaker_openai/"
        f"_clients.py LIMITS). Idle: after the warm bursts of N=1, {IDLE_S:.0f} s of silence, "
        f"then one stream per path (report only)."
    )
    return result


if __name__ == "__main__":
    main()
