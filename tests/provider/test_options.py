"""Provider options: one table (``_options.Options``), parsed once per call, carried by the call.

Adding an option is one line in that table and one test here. The docs' table of options and
the keys kept out of the request body are derived from it, and checked below.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import litellm
import pytest
import respx
from provider_support import CREDS, EP_URL, MESSAGES, completion_json

from litellm_sagemaker_openai import ConfigurationError
from litellm_sagemaker_openai._options import KWARG, NAMES, Options, all_options
from litellm_sagemaker_openai._request import INTERNAL_KEYS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "provider" / "configuration.md"
# How the docs name an option where LiteLLM's own name differs from the handler's keyword.
DOCUMENTED_AS = {"headers": "extra_headers"}


def _documented() -> set[str]:
    text = DOCS.read_text()
    table = text[text.index("## Options") :]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([a-z_*]+)`", row.split("|")[1])}


def test_every_option_is_in_the_docs_table_and_every_row_is_an_option() -> None:
    documented = _documented()
    for option in all_options():
        name = DOCUMENTED_AS.get(option.name, option.name)
        wildcard = name.startswith("aws_") and "aws_*" in documented
        assert name in documented or wildcard, f"option {name} is missing from {DOCS.name}"
    litellm_generic = {"extra_body", "aws_*", "top_k", "chat_template_kwargs"}  # body params
    unknown = documented - {DOCUMENTED_AS.get(n, n) for n in NAMES} - litellm_generic
    assert not unknown, f"{DOCS.name} documents {sorted(unknown)}, which are not options"


def test_no_option_reaches_the_request_body() -> None:
    params = {option.name for option in all_options() if option.source != KWARG}
    assert params <= INTERNAL_KEYS


def test_defaults_and_per_call_values_win_over_the_deployments() -> None:
    defaults = Options.defaults()
    assert defaults.stream_coalesce_ms == 0 and defaults.container_model == ""
    assert defaults.token_expiry == 43200 and defaults.api_key is None
    options = Options.from_litellm(
        {
            "litellm_params": {"stream_coalesce_ms": 50, "container_model": "a", "model_id": "ic"},
            "optional_params": {"container_model": "b", "model_id": None},
        }
    )
    assert options.stream_coalesce_ms == 50  # the deployment's
    assert options.container_model == "b"  # the call's
    assert options.model_id == "ic"  # a None in the call does not erase the deployment's


@pytest.mark.parametrize(
    ("value", "expected"), [(50, 50.0), ("20", 20.0), (0, 0.0), (1000, 1000.0)]
)
def test_stream_coalesce_ms_takes_milliseconds_from_0_to_1000(value: Any, expected: float) -> None:
    assert Options({}, {"stream_coalesce_ms": value}).stream_coalesce_ms == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"stream_coalesce_ms": True}, "stream_coalesce_ms must be a number of milliseconds"),
        ({"stream_coalesce_ms": -1}, "stream_coalesce_ms must be a number of milliseconds"),
        ({"stream_coalesce_ms": 1001}, "stream_coalesce_ms must be a number of milliseconds"),
        ({"stream_coalesce_ms": "soon"}, "stream_coalesce_ms must be a number of milliseconds"),
        ({"token_expiry": 0.5}, "token_expiry"),
        ({"token_expiry": 43201}, "token_expiry"),
        ({"token_expiry": "1h"}, "token_expiry"),
        ({"container_model": ["a"]}, "container_model must be a string"),
        ({"instance_cost_per_hour": 0}, "instance_cost_per_hour must be a number above 0"),
        ({"instance_cost_per_hour": "free"}, "instance_cost_per_hour must be a number above 0"),
        ({"instance_cost_per_hour": float("inf")}, "instance_cost_per_hour must be a number"),
        ({"instance_cost_per_hour": True}, "instance_cost_per_hour must be a number"),
        ({"instance_count": -1}, "instance_count must be a number above 0"),
        ({"ssl_verify": "/no/such/ca.pem"}, "ssl_verify: no CA bundle at '/no/such/ca.pem'"),
        ({"ssl_verify": 3}, "ssl_verify must be true, false or the path of a CA bundle"),
        ({"wait_for_capacity": -1}, "wait_for_capacity must be a number of seconds"),
        ({"wait_for_capacity": "soon"}, "wait_for_capacity must be a number of seconds"),
        ({"wait_for_capacity": True}, "wait_for_capacity must be a number of seconds"),
        (
            {"instance_cost_per_hour": 1, "input_cost_per_token": 1e-6},
            "instance_cost_per_hour and input_cost_per_token are two prices for one deployment",
        ),
    ],
)
def test_a_bad_option_is_refused_before_any_request(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Options({}, params)
    with (
        respx.mock(assert_all_called=False) as mock,
        pytest.raises(litellm.BadRequestError, match=message.split()[0]),
    ):
        route = mock.post(EP_URL).respond(200, json=completion_json("hi"))
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS, **params)
    assert not route.called


def test_options_never_show_secret_values() -> None:
    options = Options({"api_key": None}, CREDS)
    assert CREDS["aws_secret_access_key"] not in repr(options)
    assert "aws_secret_access_key" in repr(options)  # which options were given, not their values


@pytest.mark.parametrize("value", [900, "900"])
def test_token_expiry_sets_the_lifetime_of_minted_tokens(value: Any) -> None:
    with respx.mock() as mock:
        route = mock.post(EP_URL).respond(200, json=completion_json("hi"))
        litellm.completion(
            model="sagemaker_openai/ep", messages=MESSAGES, token_expiry=value, **CREDS
        )
    token = route.calls.last.request.headers["authorization"].removeprefix("Bearer ")
    presigned = base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()
    assert parse_qs(urlsplit("https://" + presigned).query)["X-Amz-Expires"] == ["900"]


@pytest.mark.parametrize(("value", "seconds"), [(None, 0.0), (0, 0.0), (300, 300.0), ("2.5", 2.5)])
def test_wait_for_capacity_is_seconds_and_off_by_default(value: Any, seconds: float) -> None:
    assert Options({}, {"wait_for_capacity": value}).wait_for_capacity == seconds
