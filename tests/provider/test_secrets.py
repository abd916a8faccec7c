"""No AWS secret, session token or bearer token in logs (LiteLLM debug too), errors, reprs or bodies."""

from __future__ import annotations

import asyncio
import logging

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


# What botocore prints while it signs an STS request with a base session token, as it prints it.
BOTOCORE_LINES = {
    "canonical request": f"POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
    f"host:127.0.0.1:9\nx-amz-date:20250101T000000Z\nx-amz-security-token:{SESSION}\n\n"
    "content-type;host;x-amz-date;x-amz-security-token\nabc123",
    "signature line": "Signature:\nb0c4f5e6a7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4",
    "prepared request": "Sending http request: <AWSPreparedRequest stream_output=False, "
    "method=POST, url=http://127.0.0.1:9/, headers={'X-Amz-Security-Token': "
    f"b'{SESSION}', 'Authorization': b'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY000001/"
    "20250101/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
    "Signature=b0c4f5e6a7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4'}>",
    "presigned query": "X-Amz-Security-Token=FwoGZXIv%2Fabc&X-Amz-Signature=b0c4f5e6a7d8c9",
    "SSO token response": 'Response body:\nb\'{"accessToken":"aoaAAAAA-sso-access",'
    '"refreshToken":"aorAAAAA-sso-refresh","expiresIn":3600}\'',
}
SIGNATURE = "b0c4f5e6a7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4"


@pytest.mark.parametrize("case", list(BOTOCORE_LINES))
def test_botocore_debug_lines_are_masked_without_knowing_the_secret(case: str) -> None:
    from litellm_sagemaker_openai._redact import redact

    clean = redact(BOTOCORE_LINES[case])
    for secret in (
        SESSION,
        SIGNATURE[1:],
        "FwoGZXIv",
        "b0c4f5e6a7d8c9",
        "sso-access",
        "sso-refresh",
    ):
        assert secret not in clean, (secret, clean)
    assert "***" in clean


def test_every_botocore_logger_is_filtered() -> None:
    # botocore names its loggers after its modules; the filter list is derived from them, so a
    # module a future botocore adds is covered too. Import the ones STS and SSO use, then check
    # every botocore logger that exists.
    import importlib

    from litellm_sagemaker_openai._redact import RedactingFilter

    for module in ("auth", "endpoint", "parsers", "session", "tokens", "utils"):
        importlib.import_module(f"botocore.{module}")

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "botocore"]
    assert "botocore.auth" in names and len(names) > 20
    unfiltered = [
        name for name in names
        if not any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)
    ]  # fmt: skip
    assert unfiltered == []
