"""A real proxy in front of components scaled to zero: Retry-After, and health checks that let them be."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from integration.proxy_support import MASTER_KEY, run_proxy
from integration.test_scale_to_zero import (
    COLD_MODEL,
    NEVER_S,
    SECOND_COLD,
    emulator,
    params,
    refused,
)
from starlette.applications import Starlette

from conformance._emulator import TestCredentials

pytestmark = pytest.mark.proxy
AUTH: Final = {"Authorization": f"Bearer {MASTER_KEY}"}
HEALTH_INTERVAL_S: Final = 1
COOLDOWN_S: Final = 60


@pytest.fixture(scope="module")
def cold(test_creds: TestCredentials) -> Iterator[tuple[Starlette, str]]:
    with emulator(test_creds, NEVER_S) as served:
        yield served


def _deployment(
    name: str, model: str, url: str, creds: TestCredentials, **info: Any
) -> dict[str, Any]:
    # The docs' recipe: a deployment that scales to zero cools down for a while, not 5 s.
    cooldown = {"cooldown_time": COOLDOWN_S} if "/zero-ep/" in model else {}
    litellm_params = {"model": model, **params(url, creds), **cooldown}
    return {"model_name": name, "litellm_params": litellm_params, "model_info": info}


def _config(model_list: list[dict[str, Any]], **general: Any) -> dict[str, Any]:
    return {
        "model_list": model_list,
        "litellm_settings": {"custom_provider_map": [
            {"provider": "sagemaker_openai", "custom_handler": "litellm_sagemaker_openai.handler"}]},
        "general_settings": general,
        "router_settings": {"num_retries": 2},
    }  # fmt: skip


def test_with_every_deployment_cooling_down_the_proxy_says_when_to_retry(
    cold: tuple[Starlette, str], test_creds: TestCredentials, tmp_path: Path
) -> None:
    app, url = cold
    model_list = [  # two deployments of one model, both scaled to zero
        _deployment("chat", COLD_MODEL, url, test_creds),
        _deployment("chat", "sagemaker_openai/{}/{}".format(*SECOND_COLD), url, test_creds),
    ]
    request = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    request = {"model": "chat", "messages": [{"role": "user", "content": "hi"}]}
    answers: list[httpx.Response] = []
    with run_proxy(_config(model_list), tmp_path) as base:
        # Each refusal cools its deployment down (the proxy records it just after answering, so
        # the next call or two may still meet one); then no deployment is left, and the proxy
        # says when one will be.
        for _ in range(5):
            answer = httpx.post(
                f"{base}/v1/chat/completions", json=request, headers=AUTH, timeout=60
            )
            answers.append(answer)
            if "retry-after" in answer.headers:
                break
    assert [a.status_code for a in answers] == [429] * len(answers)
    assert "scaling from zero" in answers[0].json()["error"]["message"]
    assert answers[-1].headers["retry-after"] == str(COOLDOWN_S)
    assert app.state.capacity.refused[SECOND_COLD] >= 1 and refused(app) >= 1


def test_the_health_check_recipe_sends_nothing_to_a_cold_component(
    cold: tuple[Starlette, str], test_creds: TestCredentials, tmp_path: Path
) -> None:
    app, url = cold
    before = refused(app)
    model_list = [
        _deployment("warm", "sagemaker_openai/warm-ep", url, test_creds),
        _deployment("cold", COLD_MODEL, url, test_creds, disable_background_health_check=True),
    ]
    config = _config(
        model_list,
        background_health_checks=True,
        health_check_interval=HEALTH_INTERVAL_S,
        health_check_skip_disabled_background_models=True,
    )
    with run_proxy(config, tmp_path) as base:
        # With background checks on, GET /health answers the background loop's latest round.
        deadline = time.monotonic() + 60
        health: dict[str, Any] = {}
        while not health and time.monotonic() < deadline:
            time.sleep(HEALTH_INTERVAL_S)
            health = httpx.get(f"{base}/health", headers=AUTH, timeout=60).json()
        time.sleep(3 * HEALTH_INTERVAL_S)  # a few more rounds
    healthy = [e["model"] for e in health.get("healthy_endpoints", [])]
    assert healthy == ["sagemaker_openai/warm-ep"], health  # the checks ran, on the warm one
    assert health["unhealthy_count"] == 0
    assert refused(app) == before  # the cold component got no invocation
