"""`make demo`: the whole path on one machine, no AWS account and no GPU.

1. starts the SageMaker route emulator with the built-in reference container on loopback;
2. streams ``litellm.completion("sagemaker_openai/demo-endpoint", stream=True)`` through it,
   printing tokens as they arrive;
3. makes a tool call; 4. calls an inference component;
5. runs the conformance kit against the embedded default and prints its report.
Every process it starts is stopped before it exits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
# Use only the demo's own credentials: never a developer's real AWS identity.
for name in [n for n in os.environ if n.startswith("AWS_")]:
    del os.environ[name]
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def start_emulator(credentials_file: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            str(BIN / "sagemaker-openai-emulator"),
            "--port",
            "0",
            "--reference",
            "--region",
            "us-east-1",
            "--credentials-file",
            str(credentials_file),
            "--itl-ms",
            "40",
        ],
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"the emulator did not start (said {line!r})")
    return proc, line.removeprefix("listening on ")


def main() -> int:
    from conformance._emulator import generate_test_credentials, write_credentials_file

    workdir = Path(tempfile.mkdtemp(prefix="smo-demo-"))
    credentials_file = workdir / "credentials"
    write_credentials_file(credentials_file, generate_test_credentials())
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(
        credentials_file
    )  # the client side reads the same file
    os.environ["AWS_CONFIG_FILE"] = str(workdir / "config")
    os.environ["AWS_REGION_NAME"] = "us-east-1"
    log = workdir / "emulator.log"
    proc, api_base = start_emulator(credentials_file, log)
    try:
        import litellm

        import litellm_sagemaker_openai

        litellm.suppress_debug_info = True
        litellm_sagemaker_openai.register()
        print(f"emulator + reference container: {api_base}\n")

        print("1) streaming sagemaker_openai/demo-endpoint:")
        stream = litellm.completion(
            model="sagemaker_openai/demo-endpoint",
            api_base=api_base,
            stream=True,
            stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "Tell me how SageMaker streams tokens"}],
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
            if getattr(chunk, "usage", None):
                used = f"{chunk.usage.prompt_tokens} in, {chunk.usage.completion_tokens} out"
                print(f"\n   usage: {used} tokens")

        print("\n2) a tool call:")
        reply = litellm.completion(
            model="sagemaker_openai/demo-endpoint",
            api_base=api_base,
            tools=[WEATHER],
            tool_choice="required",
            messages=[{"role": "user", "content": "What is the weather? city=Paris"}],
        )
        call = reply.choices[0].message.tool_calls[0]
        print(f"   {call.function.name}({json.loads(call.function.arguments)})  id={call.id}")

        print("\n3) an inference component, sagemaker_openai/demo-endpoint/demo-ic:")
        reply = litellm.completion(
            model="sagemaker_openai/demo-endpoint/demo-ic",
            api_base=api_base,
            messages=[{"role": "user", "content": "hello component"}],
        )
        print(f"   {reply.choices[0].message.content}")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    print(f"\n(the emulator's access log, which never shows a token: {log})")

    print("\n4) the conformance kit against the embedded default (reference behind the emulator):")
    kit = BIN / "sagemaker-openai-conformance"
    return subprocess.run([str(kit), "--target", "reference"], check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
