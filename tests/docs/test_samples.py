"""Examples are tests: every fenced Python and YAML block of the docs runs, or says why not.

Python blocks run page by page, each page in a fresh process forked from one that has imported
LiteLLM, against the emulator and reference container (tests/docs/conftest.py). Proxy ``config.yaml`` blocks are started, exactly as
written on the page, by a real ``litellm --config`` process and called with the OpenAI SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from docs.conftest import PageRunner, Servers
from docs.markdown_blocks import PYTHON, ROOT, YAML, Block, blocks, doc_pages
from openai.types.chat import ChatCompletionMessageParam

ALL_BLOCKS = [block for page in doc_pages() for block in blocks(page)]


def proxy_config(block: Block) -> dict[str, Any] | None:
    """The parsed config when ``block`` is a LiteLLM proxy ``config.yaml``, else None."""
    if block.lang not in YAML:
        return None
    parsed = yaml.safe_load(block.code)
    return parsed if isinstance(parsed, dict) and "model_list" in parsed else None


def runnable_python(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.lang in PYTHON and block.runs]


def _page_param(page: Path) -> Any:
    needs_proxy = any("localhost:4000" in block.code for block in runnable_python(page))
    marks = [pytest.mark.proxy] if needs_proxy else []
    return pytest.param(page, marks=marks, id=str(page.relative_to(ROOT)))


PYTHON_PAGES = [_page_param(page) for page in doc_pages() if runnable_python(page)]
CONFIGS = [
    pytest.param(block, id=block.where)
    for block in ALL_BLOCKS
    if block.runs and proxy_config(block) is not None
]


def test_every_python_and_yaml_block_runs_or_says_why() -> None:
    problems = []
    for block in ALL_BLOCKS:
        if block.lang not in PYTHON | YAML:
            continue
        if block.not_runnable == "":
            problems.append(f"{block.where}: a not-runnable marker needs a reason readers can see")
        try:
            if block.lang in PYTHON:
                compile(block.code, block.where, "exec")
            elif block.runs and proxy_config(block) is None:
                problems.append(
                    f"{block.where}: only proxy config.yaml blocks (with model_list) can run; "
                    "mark this one '# not runnable: <why>'"
                )
        except SyntaxError as exc:
            problems.append(f"{block.where}: not valid Python: {exc}")
        except yaml.YAMLError as exc:
            problems.append(f"{block.where}: not valid YAML: {exc}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_samples_run(
    page: Path, servers: Servers, page_runner: PageRunner, tmp_path: Path
) -> None:
    replacements = {"localhost:8080": servers.container.removeprefix("http://")}
    python = runnable_python(page)
    if any("localhost:4000" in block.code for block in python):
        configs = [block for block in blocks(page) if block.runs and proxy_config(block)]
        assert configs, f"{page.name}: a sample calls the proxy but the page has no config.yaml"
        replacements["localhost:4000"] = servers.proxy(configs[0].code).removeprefix("http://")
    payload = []
    for block in python:
        code = block.code
        for placeholder, address in replacements.items():
            code = code.replace(placeholder, address)
        payload.append({"path": str(block.path), "line": block.line, "code": code})
    status, output = page_runner.run(payload, tmp_path)
    assert status == 0, f"a sample on {page.relative_to(ROOT)} failed\n{output[-8000:]}"


@pytest.mark.proxy
@pytest.mark.parametrize("block", CONFIGS)
def test_proxy_config_starts_and_serves(block: Block, servers: Servers) -> None:
    import openai

    config = proxy_config(block)
    assert config is not None
    base = servers.proxy(block.code)
    client = openai.OpenAI(
        base_url=f"{base}/v1", api_key=servers.env["LITELLM_MASTER_KEY"], max_retries=0
    )
    served = [
        entry["model_name"]
        for entry in config["model_list"]
        if str(entry["litellm_params"]["model"]).startswith("sagemaker_openai/")
    ]
    assert served, f"{block.where}: no sagemaker_openai deployment to call"
    for name in served:
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"hello {name}"}]
        reply = client.chat.completions.create(model=name, messages=messages)
        assert reply.choices[0].message.content == f"You said: hello {name}", block.where
        stream = client.chat.completions.create(model=name, messages=messages, stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert text == f"You said: hello {name}", block.where
