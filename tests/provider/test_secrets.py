"""No AWS secret, session token or bearer token in logs (LiteLLM debug too), errors, reprs or bodies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import litellm
import pytest
import respx
from provider_support import EP_URL, MESSAGES, RICH_STREAM, completion_json, sse

from litellm_sagemaker_openai._send import TOKENS

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY1"
SESSION = "FwoGZXIvYXdzSESSIONTOKENEXAMPLEabcdef0123456789"
PRE_MINTED = "sagemaker-api-key-UFJFTUlOVEVEVE9LRU5FWEFNUExF"
CREDS = {"aws_access_key_id": "ASIAEXAMPLEKEY000001", "aws_secret_access_key": SECRET,
         "aws_session_token": SESSION, "aws_region_name": "us-east-1"}  # fmt: skip


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    litellm._turn_on_debug()
    caplog.set_level(logging.DEBUG)
    try:
        yield caplog
    finally:
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        litellm.set_verbose = False


def _tokens_seen(route: respx.Route) -> set[str]:
    return {c.request.headers["authorization"].removeprefix("Bearer ") for c in route.calls}


def test_no_secret_anywhere_at_debug_level(
    debug_logs: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    texts: list[str] = []
    with respx.mock() as mock:
        route = mock.post(EP_URL)
        route.side_effect = [
            respx.MockResponse(200, json=completion_json()),
            respx.MockResponse(
                200, content=sse(*RICH_STREAM), headers={"content-type": "text/event-stream"}
            ),
            respx.MockResponse(200, json=completion_json()),
            respx.MockResponse(401, json={"message": "bad token"}),
            respx.MockResponse(403, json={"message": "denied"}),
            respx.MockResponse(500, json={"message": "boom"}),
        ]
        texts.append(
            repr(litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS))
        )
        texts.extend(
            repr(c)
            for c in litellm.completion(
                model="sagemaker_openai/ep", messages=MESSAGES, stream=True, **CREDS
            )
        )

        async def run() -> None:
            texts.append(
                repr(
                    await litellm.acompletion(
                        model="sagemaker_openai/ep", messages=MESSAGES, **CREDS
                    )
                )
            )

        asyncio.run(run())
        for kwargs in ({**CREDS}, {"api_key": PRE_MINTED, "aws_region_name": "us-east-1"}):
            with pytest.raises(litellm.APIError.__mro__[0] if False else Exception) as info:
                litellm.completion(
                    model="sagemaker_openai/ep", messages=MESSAGES, num_retries=0, **kwargs
                )
            texts += [str(info.value), repr(info.value), str(getattr(info.value, "message", ""))]
        bodies = [c.request.content.decode() for c in route.calls]
        minted = _tokens_seen(route) - {PRE_MINTED}
    out, err = capfd.readouterr()
    texts += [out, err, repr(TOKENS), *bodies]
    texts += [r.getMessage() for r in debug_logs.records]
    assert len(debug_logs.records) > 20  # debug logging really was on
    assert minted  # tokens were minted, so there is something to look for
    for secret in (SECRET, SESSION, PRE_MINTED, *minted):
        for text in texts:
            assert secret not in text
    # The Authorization header on the wire is the one place a token may appear.
    assert all(
        c.request.headers["authorization"].startswith("Bearer sagemaker-api-key-")
        for c in route.calls
    )


def test_botocore_signing_debug_records_are_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    from botocore.credentials import Credentials

    from litellm_sagemaker_openai import generate_token

    caplog.set_level(logging.DEBUG, logger="botocore")
    token = generate_token("us-east-1", Credentials("AKIAEXAMPLE", SECRET, SESSION))
    signature = token[-20:]
    assert not [r for r in caplog.records if r.name == "botocore.auth"]
    assert all(
        SESSION not in r.getMessage() and signature not in r.getMessage() for r in caplog.records
    )
