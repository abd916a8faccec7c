"""slow_first_byte: async streams whose response headers take seconds, plugin beside ``openai/``.

On SageMaker the first byte often takes seconds (a long prefill, a queue, a scale-out). Two
cases, each in a child process of its own: 50 streams whose headers come after 2 s, and 200
after 1 s. A round opens every stream at once on one loop and reads them all; the wall time of
each path is measured in the same round, in alternating order. Then the Router: 50 concurrent
streams to a deployment that refuses with 429, at once or after 0.8 s, with one retry and a
fallback, counting the tries of the refusing deployment and the streams that fell back.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import threading
from collections import Counter
from typing import Any, Final

from bench._burst import Batch, burst, litellm_opener
from bench._core import Options, Result
from bench._servers import (
    OPENAI_MODEL,
    PLUGIN_MODEL,
    REGION,
    Server,
    litellm_ready,
    run_child,
    server_process,
)

CASES: Final = {"50x2s": (50, 2000.0), "200x1s": (200, 1000.0)}
TARGET_RATIO: Final = 1.25
ROUTER_STREAMS: Final = 50
REFUSALS: Final = {"quick": 0.0, "late": 0.8}  # seconds before the 429


async def measure(server: Server, streams: int, rounds: int) -> dict[str, Any]:
    """One unrecorded warm-up stream per path, then ``rounds`` bursts per path, alternating."""
    paths = {
        "plugin": litellm_opener(PLUGIN_MODEL, server.plugin_kwargs()),
        "openai": litellm_opener(OPENAI_MODEL, server.openai_kwargs()),
    }
    for opener in paths.values():
        await burst(opener, 1, 2)
    out: dict[str, list[dict[str, Any]]] = {}
    for number in range(rounds):
        names = list(paths) if number % 2 == 0 else list(reversed(paths))
        for name in names:
            batch = await burst(paths[name], streams, 4)
            out.setdefault(name, []).append(dataclasses.asdict(batch))
    return out


def _refuser() -> tuple[Any, Counter[str]]:
    """A route that answers 429, after the delay its endpoint name asks for; counts the tries."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    tries: Counter[str] = Counter()
    lock = threading.Lock()

    async def refuse(request: Request) -> JSONResponse:
        name = request.path_params["endpoint"]
        with lock:
            tries[name] += 1
        await asyncio.sleep(REFUSALS[name.rsplit("-", 1)[-1]])
        error = {"message": "Rate exceeded", "type": "ThrottlingException"}
        return JSONResponse(error, 429, headers={"x-amzn-ErrorType": "ThrottlingException"})

    route = "/endpoints/{endpoint}/openai/v1/chat/completions"
    return Starlette(routes=[Route(route, refuse, methods=["POST"])]), tries


async def router_case(server: Server, refuser: str, tries: Counter[str]) -> dict[str, Any]:
    """For each path and refusal: 50 concurrent Router streams; tries and fallbacks."""
    litellm = litellm_ready()
    out: dict[str, Any] = {}
    creds = {k: v for k, v in server.plugin_kwargs().items() if k != "api_base"}
    for path in ("plugin", "openai"):
        for refusal in REFUSALS:
            name = f"{path}-{refusal}"
            if path == "plugin":
                primary = {"model": f"sagemaker_openai/{name}", "api_base": refuser, **creds}
                backup = {"model": PLUGIN_MODEL, **server.plugin_kwargs()}
            else:
                primary = {
                    "model": OPENAI_MODEL,
                    "api_base": f"{refuser}/endpoints/{name}/openai/v1",
                    "api_key": server.static_token(),
                }
                backup = {"model": OPENAI_MODEL, **server.openai_kwargs()}
            router = litellm.Router(
                model_list=[
                    {"model_name": "primary", "litellm_params": primary},
                    {"model_name": "backup", "litellm_params": backup},
                ],
                num_retries=1,
                retry_after=0,
                fallbacks=[{"primary": ["backup"]}],
            )

            async def one(router: Any = router) -> str:
                stream = await router.acompletion(
                    model="primary",
                    messages=[{"role": "user", "content": "fall back"}],
                    stream=True,
                    max_tokens=2,
                )
                return "".join(
                    [c.choices[0].delta.content or "" async for c in stream if c.choices]
                )

            results = await asyncio.gather(
                *(one() for _ in range(ROUTER_STREAMS)), return_exceptions=True
            )
            fell_back = sum(isinstance(r, str) and bool(r) for r in results)
            errors = [
                f"{type(r).__name__}: {r}"[:200] for r in results if isinstance(r, BaseException)
            ]
            out[name] = {"tries": tries[name], "fell_back": fell_back, "errors": errors[:3]}
    return out


def main() -> None:
    """The child process: ``--mode wall|router``; prints one JSON line."""
    from conformance import serve_app
    from conformance._emulator import load_credentials_file

    parser = argparse.ArgumentParser(prog="python -m bench.slow_first_byte")
    parser.add_argument("--mode", choices=["wall", "router"], required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--credentials-file", required=True)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = Server(args.base, load_credentials_file(args.credentials_file)[0], "")
    litellm_ready()
    if args.mode == "wall":
        out = asyncio.run(measure(server, args.streams, args.rounds))
    else:
        app, tries = _refuser()
        with serve_app(app) as url:
            refuser = url.replace("//127.0.0.1:", "//localhost:")
            out = asyncio.run(router_case(server, refuser, tries))
    print(json.dumps(out), flush=True)
    os._exit(0)


def run(opts: Options) -> Result:
    result = Result(
        id="slow_first_byte",
        what="async streams whose response headers take seconds (acompletion, stream=True), "
        "and Router retries/fallbacks of streams refused quickly or late",
        target=f"wall time of 50 streams (headers after 2 s) and of 200 (after 1 s) within "
        f"{TARGET_RATIO}x openai/'s; every Router stream falls back; quick refusals retried",
        met=None,
    )
    walls: dict[str, dict[str, list[Batch]]] = {}
    for case, (streams, headers_ms) in CASES.items():
        with server_process(headers_after_ms=headers_ms) as server:
            base = server.base.replace("//127.0.0.1:", "//localhost:")
            args = ["--mode", "wall", "--base", base, "--credentials-file", server.credentials_file]
            args += ["--streams", str(streams), "--rounds", str(opts.rounds)]
            raw = run_child("bench.slow_first_byte", args, 900)
        if "error" in raw:
            raise RuntimeError(raw["error"])
        walls[case] = {path: [Batch(**b) for b in rounds] for path, rounds in raw.items()}
    with server_process() as server:
        base = server.base.replace("//127.0.0.1:", "//localhost:")
        args = ["--mode", "router", "--base", base, "--credentials-file", server.credentials_file]
        router = run_child("bench.slow_first_byte", args, 600)
    if "error" in router:
        raise RuntimeError(router["error"])
    return _result(result, walls, router)


def _result(
    result: Result, walls: dict[str, dict[str, list[Batch]]], router: dict[str, Any]
) -> Result:
    met = True
    parts = []
    for case, paths in walls.items():
        for path, rounds in paths.items():
            result.figure(f"{case}_{path}_seconds", [b.seconds for b in rounds], "s")
            result.figure(f"{case}_{path}_threads_max", [b.threads_max for b in rounds], "threads")
            met &= all(b.completed == CASES[case][0] for b in rounds)
        ratios = [
            p.seconds / o.seconds for p, o in zip(paths["plugin"], paths["openai"], strict=True)
        ]
        ratio = result.add_ratio(f"{case}_plugin_over_openai", ratios)
        met &= ratio["median"] <= TARGET_RATIO
        fig = result.figures
        parts.append(
            f"{case}: {fig[f'{case}_plugin_seconds']['median']:.2f} s vs "
            f"{fig[f'{case}_openai_seconds']['median']:.2f} s ({ratio['median']:.2f}x)"
        )
    for name, row in router.items():
        result.figure(f"router_{name}_tries_per_stream", [row["tries"] / ROUTER_STREAMS], "tries")
        result.figure(f"router_{name}_fell_back", [row["fell_back"]], "streams")
        met &= row["fell_back"] == ROUTER_STREAMS
    met &= router["plugin-quick"]["tries"] == 2 * ROUTER_STREAMS
    routing = ", ".join(
        f"{name} {row['tries'] / ROUTER_STREAMS:.1f} tries/{row['fell_back']} fell back"
        for name, row in router.items()
    )
    result.met = met
    result.summary = "; ".join(parts) + f"; Router ({ROUTER_STREAMS} streams, 429): {routing}"
    result.extra = {"router": router, "region": REGION}
    result.notes = (
        "Server: emulator + reference in a subprocess with --headers-after-ttft, so the route's "
        "response headers (not only the first chunk) come after ttft; called as "
        "http://localhost:<port>. Client: a child process per case; each round opens every "
        "stream at once with litellm.acompletion(stream=True, max_tokens=4) and reads it to the "
        "end; paths alternate first. Ratio = plugin / openai/ wall time of the same round. "
        "Router: litellm.Router(num_retries=1, fallbacks primary->backup); the primary is a "
        "starlette route answering 429 ThrottlingException at once (quick) or after 0.8 s "
        "(late, past the plugin's brief wait, see litellm_sagemaker_openai/_open.py); tries "
        "counted at that route. LiteLLM 1.108+ reads a stream's first chunk inside the Router's "
        "retry loop, so late refusals are retried too; on 1.106 they fall back without a retry."
    )
    return result


if __name__ == "__main__":
    main()
