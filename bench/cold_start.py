"""cold_start: the first two async streams of a fresh process, plugin vs openai/.

Each sample is a new Python process (``python -m bench.cold_start --child ...``) that imports
LiteLLM, then opens two ``acompletion(stream=True)`` calls one after the other and records
each one's time to first chunk. The second stream starts as soon as the first is drained:
that is when LiteLLM runs its success handlers, with their lazy imports, on the caller's loop.

Cases, interleaved per round:
* ``plugin``: the plugin imported and registered, minting its token on the first call;
* ``openai``: LiteLLM's ``openai/`` provider with a token minted beforehand, and the plugin
  not installed (what an ``openai/`` user runs);
* ``openai_plugin_loaded``: the same ``openai/`` call in a process that also imported the
  plugin, to show what the plugin costs the *other* providers of a process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any, Final

from bench._core import Options, Result, ratios
from bench._servers import (
    MESSAGES,
    OPENAI_MODEL,
    PLUGIN_MODEL,
    REGION,
    Server,
    run_child,
    server_process,
)

TARGET: Final = 1.2
CASES: Final = ("plugin", "openai", "openai_plugin_loaded")
MAX_TOKENS: Final = 8
CHILD_TIMEOUT_S: Final = 120.0


async def _ttfc(litellm: Any, kwargs: dict[str, Any]) -> float:
    start = time.perf_counter()
    stream = await litellm.acompletion(
        messages=MESSAGES, stream=True, max_tokens=MAX_TOKENS, **kwargs
    )
    first = 0.0
    async for _chunk in stream:
        if not first:
            first = time.perf_counter() - start
    return first


def child(case: str, base: str, key: str, secret: str, token: str) -> dict[str, Any]:
    """One fresh process: import, then two streams back to back. Returns seconds."""
    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    started = time.perf_counter()
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    if case != "openai":
        import litellm_sagemaker_openai

        litellm_sagemaker_openai.register()
    imported = time.perf_counter() - started
    if case == "plugin":
        kwargs = {
            "model": PLUGIN_MODEL,
            "api_base": base,
            "aws_access_key_id": key,
            "aws_secret_access_key": secret,
            "aws_region_name": REGION,
        }
    else:
        route = f"{base}/endpoints/{PLUGIN_MODEL.split('/', 1)[1]}/openai/v1"
        kwargs = {"model": OPENAI_MODEL, "api_base": route, "api_key": token}

    async def main() -> list[float]:
        return [await _ttfc(litellm, kwargs), await _ttfc(litellm, kwargs)]

    first, second = asyncio.run(main())
    return {"import": imported, "first": first, "second": second}


def _sample(server: Server, case: str, token: str) -> dict[str, Any]:
    args = ["--child", case, "--base", server.base, "--token", token]
    args += ["--key", server.creds.access_key_id, "--secret", server.creds.secret_access_key]
    out = run_child("bench.cold_start", args, CHILD_TIMEOUT_S)
    if "error" in out:
        raise RuntimeError(out["error"])
    return out


def run(opts: Options) -> Result:
    samples: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    with server_process() as server:
        token = server.static_token()
        for number in range(opts.rounds):
            shift = number % len(CASES)
            for case in CASES[shift:] + CASES[:shift]:
                samples[case].append(_sample(server, case, token))
    result = Result(
        id="cold_start",
        what="fresh process: time to first chunk of the first and the second async stream",
        target=f"plugin <= {TARGET}x openai/ for the first stream and for the second",
        met=None,
    )
    for case, rows in samples.items():
        for key in ("first", "second", "import"):
            result.figure(f"{case}_{key}", [1e3 * row[key] for row in rows], "ms")
    first = result.add_ratio(
        "plugin/openai first",
        ratios([r["first"] for r in samples["plugin"]], [r["first"] for r in samples["openai"]]),
    )
    second = result.add_ratio(
        "plugin/openai second",
        ratios([r["second"] for r in samples["plugin"]], [r["second"] for r in samples["openai"]]),
    )
    loaded = result.add_ratio(
        "openai with plugin loaded / openai, second",
        ratios(
            [r["second"] for r in samples["openai_plugin_loaded"]],
            [r["second"] for r in samples["openai"]],
        ),
    )
    result.met = first["median"] <= TARGET and second["median"] <= TARGET
    fig = result.figures
    result.summary = (
        f"first stream {first['median']:.2f}x openai/ ({fig['plugin_first']['median']:.0f} vs "
        f"{fig['openai_first']['median']:.0f} ms), second {second['median']:.2f}x "
        f"({fig['plugin_second']['median']:.0f} vs {fig['openai_second']['median']:.0f} ms); "
        f"openai/ beside the plugin: second stream {loaded['median']:.2f}x"
    )
    result.notes = (
        "Every sample is a new process (import litellm, then two streams back to back); "
        f"{opts.rounds} samples per case, interleaved. Server: emulator + reference container "
        "(no delays) in its own process. openai/ gets a token minted by the parent, as a "
        "static api_key in a config would be; the plugin mints its own on the first call. "
        "Import time is recorded but not part of either figure."
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start")
    parser.add_argument("--child", choices=CASES, required=True)
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    out = child(args.child, args.base, args.key, args.secret, args.token)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
