"""Caller input that cannot work is refused before any I/O, as a BadRequestError that says how to
fix it and carries no secret: api_base, api_key, timeout, parameters and extra_headers.

Each case runs through ``litellm.completion``/``acompletion``, plain and streamed, against a respx
catch-all route that must never be called. Answers that go wrong are in test_answer_errors.py.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.metadata
import inspect
import logging
import re
from typing import Any, Final

import litellm
import pytest
import respx
from provider_support import CREDS, MESSAGES, completion_json
from security.security_support import exception_texts

from litellm_sagemaker_openai import ConfigurationError, SageMakerOpenAI, handler

PASSWORD = "hunter2-Pa55word-canary"
TOKEN = "sagemaker-api-key-" + base64.b64encode(b"sagemaker.amazonaws.com/?Action=Canary").decode()


def _refusal(sync: bool, stream: bool, **kwargs: Any) -> BaseException:
    """The error a call raises; fails if any request reached the network."""
    args = {"model": "sagemaker_openai/ep", "messages": MESSAGES, "num_retries": 0, "stream": stream,
            **CREDS, **kwargs}  # fmt: skip

    async def run() -> None:
        await litellm.acompletion(**args)

    with respx.mock(assert_all_called=False) as mock:
        route = mock.route().respond(200, json=completion_json())
        with pytest.raises(Exception) as info:
            litellm.completion(**args) if sync else asyncio.run(run())
    assert route.call_count == 0, "the call reached the network"
    return info.value


def _assert_refused(error: BaseException, *hints: str) -> None:
    assert isinstance(error, litellm.BadRequestError), f"{type(error).__name__}: {error}"
    assert isinstance(error, ConfigurationError)
    assert error.status_code == 400  # the Router does not retry it
    for hint in hints:
        assert hint in str(error), (hint, str(error))


MODES = pytest.mark.parametrize(
    ("sync", "stream"),
    [(True, False), (False, False), (True, True), (False, True)],
    ids=["sync", "async", "sync-stream", "async-stream"],
)

# api_base -> words the error must contain
BAD_API_BASES = {
    "userinfo": (f"http://admin:{PASSWORD}@127.0.0.1:9", "user:password@"),
    "user only": ("https://admin@runtime.sagemaker.us-east-1.amazonaws.com", "user:password@"),
    "space": ("http://127.0.0.1 :9", "whitespace or control character"),
    "trailing newline": ("http://127.0.0.1:9\n", "whitespace or control character"),
    "tab": ("http://127.0.\t0.1:9", "whitespace or control character"),
    "nul": ("http://127.0.0.1:9/\x00", "whitespace or control character"),
    "non-ascii host": ("https://exämple.com", "xn--exmple-cua.com"),
    "port 99999": ("http://127.0.0.1:99999", "port"),
    "port 0": ("http://127.0.0.1:0", "port"),
    "port not a number": ("http://127.0.0.1:https", "port"),
    "no host": ("http://:9", "host"),
    "query": ("http://127.0.0.1:9/prefix?a=1", "query or fragment"),
    "empty query": ("http://127.0.0.1:9?", "query or fragment"),
    "empty query after a path": ("http://127.0.0.1:9/prefix/?", "query or fragment"),
    "fragment": ("http://127.0.0.1:9#top", "query or fragment"),
    "empty fragment": ("http://127.0.0.1:9/#", "query or fragment"),
}


@MODES
@pytest.mark.parametrize("case", list(BAD_API_BASES))
def test_bad_api_base_is_refused(case: str, sync: bool, stream: bool) -> None:
    api_base, hint = BAD_API_BASES[case]
    error = _refusal(sync, stream, api_base=api_base)
    _assert_refused(error, "api_base", hint)
    assert not any(PASSWORD in text for text in exception_texts(error))


@MODES
@pytest.mark.parametrize(
    "case", ["userinfo", "trailing newline", "empty query", "empty fragment", "port 0"]
)
def test_bad_api_base_from_the_environment_is_refused_by_name(
    case: str, sync: bool, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_base, hint = BAD_API_BASES[case]
    monkeypatch.setenv("SAGEMAKER_OPENAI_API_BASE", api_base)
    error = _refusal(sync, stream)
    _assert_refused(error, "SAGEMAKER_OPENAI_API_BASE", hint, "set SAGEMAKER_OPENAI_API_BASE to")
    assert not any(PASSWORD in text for text in exception_texts(error))


def test_unparsable_api_base_is_refused_by_the_plugin() -> None:
    # LiteLLM 1.106-1.108 parse api_base themselves first (responses_api_bridge_check), so
    # through litellm.completion this one fails inside LiteLLM; the plugin's own check is the
    # one any release that lets it through meets.
    with pytest.raises(ConfigurationError, match="not a valid URL") as info:
        handler.completion(model="ep", messages=MESSAGES, api_base="http://[::1",
                           optional_params={}, litellm_params=CREDS, timeout=5.0)  # fmt: skip
    assert isinstance(info.value, litellm.BadRequestError)


def test_unparsable_api_base_through_litellm_fails_before_any_io() -> None:
    error = _refusal(True, False, api_base=f"http://u:{PASSWORD}@[::1")
    assert isinstance(error, (litellm.BadRequestError, litellm.APIConnectionError))
    assert not any(PASSWORD in text for text in exception_texts(error))


def test_userinfo_never_replaces_the_bearer_token() -> None:
    # httpx turns user:pass@ into Basic auth, which would replace the SageMaker bearer token.
    error = _refusal(True, False, api_base=f"http://admin:{PASSWORD}@127.0.0.1:9")
    assert "bearer token" in str(error)


def test_userinfo_password_is_masked_in_litellm_debug_logs(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    # LiteLLM logs every call's api_base at DEBUG before any provider code runs (it masks the
    # userinfo itself); nothing the plugin logs or raises may bring the password back.
    _refusal(True, False, api_base=f"http://admin:{PASSWORD}@127.0.0.1:9")
    messages = [record.getMessage() for record in debug_logs.records]
    assert any("@127.0.0.1:9" in message for message in messages)
    assert not any(PASSWORD in message for message in messages)


BAD_API_KEYS = {
    "int": (12345, "must be a string"),
    "bytes": (TOKEN.encode(), "must be a string"),
    "trailing newline": (TOKEN + "\n", "strip"),
    "leading space": (" " + TOKEN, "strip"),
    "inner newline": (TOKEN[:30] + "\n" + TOKEN[30:], "whitespace or control"),
    "non-ascii": (TOKEN + "é", "characters a bearer token cannot contain"),
}


@MODES
@pytest.mark.parametrize("case", list(BAD_API_KEYS))
def test_bad_api_key_is_refused(case: str, sync: bool, stream: bool) -> None:
    api_key, hint = BAD_API_KEYS[case]
    error = _refusal(sync, stream, api_key=api_key, aws_region_name="us-east-1")
    _assert_refused(error, "api_key", hint)


def test_api_key_read_from_a_file_leaks_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    # A token read with open().read() keeps its newline. It used to reach httpcore, which logs
    # the refused header at DEBUG and keeps it in the exception chain.
    caplog.set_level(logging.DEBUG)
    error = _refusal(True, False, api_key=TOKEN + "\n")
    secret = TOKEN.removeprefix("sagemaker-api-key-")
    assert not any(secret in text for text in exception_texts(error))
    assert not any(secret in record.getMessage() for record in caplog.records)


@MODES
@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), float("-inf")])
def test_timeout_that_is_not_a_positive_finite_number_is_refused(
    timeout: float, sync: bool, stream: bool
) -> None:
    error = _refusal(sync, stream, timeout=timeout)
    _assert_refused(error, "timeout", "positive", "timeout=60")


class Opaque:
    """Something json cannot encode."""


def _nested(depth: int, kind: type = list) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if kind is list else {"k": value}
    return value


# LiteLLM 1.110's remove_sensitive_keys_from_dict (litellm/utils.py, called by completion()
# before any provider) walks a cyclic dict forever, growing until the process is killed: no
# provider can refuse what it never receives (docs/provider/litellm-versions.md).
CYCLES_HANG_LITELLM: Final = tuple(
    int(p) for p in importlib.metadata.version("litellm").split(".")[:2]
) >= (1, 110)


def _skip_where_litellm_hangs(case: str) -> None:
    if case == "cyclic extra_body" and CYCLES_HANG_LITELLM:
        pytest.skip("LiteLLM >= 1.110 never returns from a cyclic parameter (before the provider)")


def _cyclic() -> dict[str, Any]:
    body: dict[str, Any] = {"top_k": 5}
    body["self"] = body
    return body


BAD_PARAMS: dict[str, tuple[dict[str, Any], str, str]] = {
    # Caller mistakes that used to escape as an APIConnectionError the Router retries.
    "lone surrogate in a message": (
        {"messages": [{"role": "user", "content": "caf\ud800e"}]},
        "messages[0]['content']",
        "surrogate",
    ),
    "lone surrogate in a key": ({"extra_body": {"tag\udc80": 1}}, "extra_body", "surrogate"),
    "5,000-deep list in a message": (
        {"messages": [{"role": "user", "content": "hi", "trace": _nested(5000)}]},
        "messages[0]['trace'][0][0]",
        "levels deep",
    ),
    "5,000-deep dict in extra_body": (
        {"extra_body": {"schema": _nested(5000, dict)}},
        "extra_body['schema']['k']['k']",
        "levels deep",
    ),
    "cyclic extra_body": ({"extra_body": _cyclic()}, "extra_body['self']", "cycle"),
    "nan temperature": ({"temperature": float("nan")}, "'temperature'", "NaN"),
    "inf in extra_body": ({"extra_body": {"top_k": float("inf")}}, "'top_k'", "Infinity"),
    "object in extra_body": ({"extra_body": {"guide": Opaque()}}, "'guide'", "Opaque"),
    "set as custom param": ({"stop_ids": {1, 2}}, "'stop_ids'", "set"),
    "nan in messages": (
        {"messages": [{"role": "user", "content": "hi", "weight": float("nan")}]},
        "'messages'",
        "NaN",
    ),
}


@MODES
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_parameters_that_are_not_json_are_refused(case: str, sync: bool, stream: bool) -> None:
    _skip_where_litellm_hangs(case)
    params, name, hint = BAD_PARAMS[case]
    error = _refusal(sync, stream, **params)
    _assert_refused(error, name, hint, "JSON")


def test_litellm_message_objects_are_still_sent() -> None:
    previous = litellm.Message(role="assistant", content="earlier answer")
    with respx.mock() as mock:
        route = mock.route().respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=[*MESSAGES, previous, *MESSAGES],
                           **CREDS)  # fmt: skip
    assert b"earlier answer" in route.calls.last.request.content


BAD_HEADERS = {
    "CRLF in value": ({"X-Trace": "a\r\nX-Injected: 1"}, "X-Trace", "CR, LF"),
    "LF in name": ({"X-Trace\n": "a"}, "X-Trace", "not a valid header name"),
    "space in name": ({"X Trace": "a"}, "X Trace", "not a valid header name"),
    "int value": ({"X-Count": 1}, "X-Count", "int"),
    "None value": ({"X-Count": None}, "X-Count", "NoneType"),
    "non-ascii value": ({"X-Name": "Zoë"}, "X-Name", "ASCII"),
    "Connection": ({"Connection": "close"}, "Connection", "hop-by-hop"),
    "Keep-Alive": ({"keep-alive": "timeout=5"}, "keep-alive", "hop-by-hop"),
    "Transfer-Encoding": ({"Transfer-Encoding": "chunked"}, "Transfer-Encoding", "length"),
    "Content-Length": ({"Content-Length": "5"}, "Content-Length", "length"),
    "TE": ({"TE": "trailers"}, "TE", "hop-by-hop"),
    "Upgrade": ({"Upgrade": "h2c"}, "Upgrade", "hop-by-hop"),
}


@MODES
@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_extra_headers_are_refused(case: str, sync: bool, stream: bool) -> None:
    headers, name, hint = BAD_HEADERS[case]
    error = _refusal(sync, stream, extra_headers=headers)
    _assert_refused(error, "extra_headers", name, hint)


def test_good_extra_headers_still_reach_the_container() -> None:
    with respx.mock() as mock:
        route = mock.route().respond(200, json=completion_json())
        litellm.completion(model="sagemaker_openai/ep", messages=MESSAGES, **CREDS,
                           extra_headers={"X-Trace": "abc", "X-Amzn-SageMaker-Session-Id": "s1"})  # fmt: skip
    sent = route.calls.last.request.headers
    assert sent["x-trace"] == "abc" and sent["x-amzn-sagemaker-session-id"] == "s1"
    assert sent["authorization"].startswith("Bearer sagemaker-api-key-")


@pytest.fixture
def handler_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the handler methods LiteLLM calls, in order (each call is one attempt)."""
    calls: list[str] = []
    for name in ("completion", "acompletion", "streaming", "astreaming"):
        original = getattr(SageMakerOpenAI, name)
        if inspect.iscoroutinefunction(original):

            async def counted_async(
                self: Any, _f: Any = original, _n: str = name, **kw: Any
            ) -> Any:
                calls.append(_n)
                return await _f(self, **kw)

            monkeypatch.setattr(SageMakerOpenAI, name, counted_async)
        else:

            def counted(self: Any, _f: Any = original, _n: str = name, **kw: Any) -> Any:
                calls.append(_n)
                return _f(self, **kw)

            monkeypatch.setattr(SageMakerOpenAI, name, counted)
    return calls


@MODES
@pytest.mark.parametrize(
    "case", ["lone surrogate in a message", "5,000-deep dict in extra_body", "cyclic extra_body"]
)
def test_a_router_does_not_retry_a_caller_mistake(
    case: str, sync: bool, stream: bool, handler_calls: list[str]
) -> None:
    _skip_where_litellm_hangs(case)
    params, where, _ = BAD_PARAMS[case]
    router = litellm.Router(
        model_list=[{"model_name": "m", "litellm_params": {"model": "sagemaker_openai/ep", **CREDS}}],
        num_retries=2, retry_after=0,
    )  # fmt: skip
    args = {"model": "m", "messages": MESSAGES, "stream": stream, **params}

    async def run() -> None:
        await router.acompletion(**args)

    with respx.mock(assert_all_called=False) as mock:
        route = mock.route().respond(200, json=completion_json())
        with pytest.raises(litellm.BadRequestError, match=re.escape(where)):
            router.completion(**args) if sync else asyncio.run(run())
    assert route.call_count == 0
    assert len(handler_calls) == 1, handler_calls
