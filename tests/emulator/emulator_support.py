"""Shared helpers for the emulator tests: credentials, token minting, a tiny stub container."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from unittest import mock
from urllib.parse import unquote

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from conformance._emulator import TestCredentials
from litellm_sagemaker_openai._token import mint_token

CREDS = TestCredentials("AKIAEMULATORTEST0001", "emulator/test/secret/key/0123456789abcdef")
OTHER = TestCredentials("AKIAEMULATORTEST0002", "another/test/secret/key/0123456789abcdef")
NOW = 1_800_000_000.0
# Awkward splits: mid-field, mid-UTF-8 sequence, mid-terminator; plus bytes that are not UTF-8.
STUB_CHUNKS = (
    b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"caf',
    b"\xc3",
    b'\xa9"}}]}\n',
    b"\ndata: [DO",
    b"NE]\n\n",
    b": trailing comment \xff\n\n",
)


def mint(
    creds: TestCredentials = CREDS,
    region: str = "us-east-1",
    expires: int = 3600,
    at: float | None = None,
) -> str:
    """Mint a real token; ``at`` pins the signing time to that epoch second."""
    frozen = Credentials(creds.access_key_id, creds.secret_access_key).get_frozen_credentials()
    pinned = None if at is None else datetime.fromtimestamp(at, timezone.utc)
    return mint_token(frozen, region, expires, now=pinned)


def botocore_token(
    creds: TestCredentials = CREDS,
    at: float = NOW,
    expires: int = 3600,
    session_token: str | None = None,
    region: str = "us-east-1",
) -> str:
    """The token botocore's own ``SigV4QueryAuth.add_auth`` writes, signed at epoch ``at``.

    The reference the strict verifier is held to (the provider's stdlib minter writes the same
    bytes: tests/provider/test_sigv4.py).
    """
    frozen = ReadOnlyCredentials(creds.access_key_id, creds.secret_access_key, session_token)
    request = AWSRequest(
        method="POST",
        url="https://sagemaker.amazonaws.com/",
        headers={"host": "sagemaker.amazonaws.com"},
        params={"Action": "CallWithBearerToken"},
    )
    pinned = datetime.fromtimestamp(at, timezone.utc).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=pinned):
        SigV4QueryAuth(frozen, "sagemaker", region, expires=expires).add_auth(request)
    return encode(request.url.removeprefix("https://") + "&Version=1")


def decode(token: str) -> str:
    """The decoded URL of a token (``host/?query&Version=1``)."""
    return base64.b64decode(token.removeprefix("sagemaker-api-key-")).decode()


def encode(url: str) -> str:
    """A token carrying ``url`` exactly (non-ASCII and control characters included)."""
    return "sagemaker-api-key-" + base64.b64encode(url.encode()).decode()


def resign(url: str, creds: TestCredentials = CREDS) -> str:
    """Re-sign an edited decoded URL the lenient way: over its query exactly as written.

    This is what a verifier that canonicalises the presented query (instead of the parameters
    it means) accepts: botocore's own URL-based canonical query string, which neither
    re-encodes nor re-orders the values. A strict verifier must still refuse the result
    whenever it is not byte-for-byte what botocore's signer writes.
    """
    body = url.removesuffix("&Version=1")
    unsigned = re.sub(r"&X-Amz-Signature=[^&]*", "", body)
    # What a lenient verifier would read: each key and value percent-decoded.
    params = dict(
        (unquote(key), unquote(value))
        for key, _, value in (pair.partition("=") for pair in unsigned.split("?", 1)[-1].split("&"))
    )
    parts = params.get("X-Amz-Credential", "").split("/")
    host = unsigned.split("/", 1)[0]
    request = AWSRequest(method="POST", url=f"https://{unsigned}", headers={"host": host})
    request.context["timestamp"] = params["X-Amz-Date"]
    signer = SigV4QueryAuth(
        ReadOnlyCredentials(creds.access_key_id, creds.secret_access_key, None),
        parts[3] if len(parts) > 3 else "sagemaker",
        parts[2] if len(parts) > 2 else "us-east-1",
    )
    signature = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    return f"{unsigned}&X-Amz-Signature={signature}&Version=1"


def bearer(token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or mint()}"}


async def _chat(request: Request) -> Response:
    body = json.loads(await request.body() or b"{}")
    if body.get("echo_headers"):
        return JSONResponse({"path": request.url.path, "headers": dict(request.headers)})
    if "status" in body:
        return JSONResponse({"error": {"message": "stub refused"}}, status_code=body["status"])
    itl = float(body.get("itl_ms", 0)) / 1000

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in STUB_CHUNKS * int(body.get("repeat", 1)):
            if itl:
                await asyncio.sleep(itl)
            yield chunk

    return StreamingResponse(chunks(), media_type="text/event-stream")


def stub_container(tag: str = "stub") -> Starlette:
    """A container that streams STUB_CHUNKS, echoes headers, or fails on request."""

    async def invocations(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if "status" in body:
            return JSONResponse({"error": {"message": "stub refused"}}, status_code=body["status"])
        if body.get("stream"):
            return await _chat(request)
        return JSONResponse({"tag": tag, "path": request.url.path, "echo": body})

    async def tagged(request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        if body.get("tag"):
            return JSONResponse({"tag": tag})
        return await _chat(request)

    return Starlette(
        routes=[
            Route("/v1/chat/completions", tagged, methods=["POST"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", lambda request: Response(), methods=["GET"]),
        ]
    )
