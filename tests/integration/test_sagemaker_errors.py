"""SageMaker's own errors, from the emulator's ``--fail`` table, through LiteLLM and a Router.

Each error is raised as the class docs/provider/errors.md gives, says who wrote it, and carries
SageMaker's request id; answers carry the id too. Sync and async, stream and non-stream, with the
emulator reached by a host name (``localhost``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import litellm
import pytest
from integration.conftest import TEST_CREDS

from conformance._emulator import EmulatorConfig
from conformance._emulator._errors import FAULTS
from conformance._emulator._harness import run_emulator
from conformance._reference import ReferenceConfig

# fault -> (LiteLLM class, its status_code, author)
EXPECTED: dict[str, tuple[type[Exception], int, str]] = {
    "ValidationError": (litellm.NotFoundError, 404, "sagemaker"),
    "Deleting": (litellm.NotFoundError, 404, "sagemaker"),
    # Its container failed the /ping health check: it cannot serve, so cooled down at once.
    "NotInService": (litellm.NotFoundError, 404, "sagemaker"),
    "ModelError": (litellm.InternalServerError, 500, "container"),
    "ModelNotReadyException": (litellm.RateLimitError, 429, "sagemaker"),
    "ServiceUnavailable": (litellm.ServiceUnavailableError, 503, "sagemaker"),
    "InternalFailure": (litellm.InternalServerError, 500, "sagemaker"),
    "InternalDependencyException": (litellm.ServiceUnavailableError, 503, "sagemaker"),
    "ThrottlingException": (litellm.RateLimitError, 429, "sagemaker"),
}
MODES = ["sync", "sync_stream", "async", "async_stream"]


def _endpoint(fault: str) -> str:
    return fault.lower()


@pytest.fixture(scope="module")
def failing() -> Iterator[str]:
    """An emulator on which endpoint ``<fault lowercased>`` answers that fault; others serve."""
    config = EmulatorConfig(
        region="us-east-1",
        credentials=(TEST_CREDS,),
        reference=ReferenceConfig(),
        faults={(_endpoint(name), None): name for name in FAULTS},
    )
    with run_emulator(config) as url:
        yield url.replace("127.0.0.1", "localhost")


def _kwargs(base: str) -> dict[str, Any]:
    return {
        "api_base": base,
        "aws_access_key_id": TEST_CREDS.access_key_id,
        "aws_secret_access_key": TEST_CREDS.secret_access_key,
        "aws_region_name": "us-east-1",
        "messages": [{"role": "user", "content": "hi"}],
        "timeout": 10,
    }


def _call(mode: str, model: str, base: str) -> list[Any]:
    """Run one call to its end; the response, or every chunk of a stream."""
    kwargs = {**_kwargs(base), "model": model, "stream": mode.endswith("stream")}
    if mode == "sync":
        return [litellm.completion(**kwargs)]
    if mode == "sync_stream":
        return list(litellm.completion(**kwargs))

    async def run() -> list[Any]:
        answer = await litellm.acompletion(**kwargs)
        if mode == "async":
            return [answer]
        return [chunk async for chunk in answer]

    return asyncio.run(run())


def test_every_fault_has_an_expectation() -> None:
    assert set(EXPECTED) == set(FAULTS)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_sagemaker_error_is_typed_authored_and_has_the_request_id(
    failing: str, fault: str, mode: str
) -> None:
    cls, status, author = EXPECTED[fault]
    with pytest.raises(cls) as info:
        _call(mode, f"sagemaker_openai/{_endpoint(fault)}", failing)
    assert type(info.value) is cls
    error: Any = info.value
    assert error.status_code == status
    assert error.error_author == author
    rid = error.sagemaker_request_id
    assert rid and f"SageMaker request id {rid}" in str(error)
    assert ("written by SageMaker" if author == "sagemaker" else "written by the container") in (
        str(error)
    )


def test_a_model_error_keeps_the_containers_message_and_names_its_log_stream(
    failing: str,
) -> None:
    with pytest.raises(litellm.InternalServerError) as info:
        _call("sync", "sagemaker_openai/modelerror", failing)
    error: Any = info.value
    group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/modelerror"
    assert error.log_stream_arn == group
    assert str(error).startswith("litellm.InternalServerError: the container failed")
    assert f"CloudWatch {group}" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_every_answer_carries_the_request_id(failing: str, mode: str) -> None:
    answers = _call(mode, "sagemaker_openai/serving", failing)
    ids = {answer._hidden_params.get("sagemaker_request_id") for answer in answers}
    ids.discard(None)  # LiteLLM's own closing chunk of a stream
    assert len(ids) == 1 and all(ids)
    if mode == "sync":
        rid = ids.pop()
        assert answers[0]._hidden_params["additional_headers"] == {
            "llm_provider-x-amzn-requestid": rid
        }


def _router(base: str, models: list[str], **settings: Any) -> litellm.Router:
    params = {k: v for k, v in _kwargs(base).items() if k not in ("messages", "timeout")}
    return litellm.Router(
        model_list=[
            {"model_name": "group", "litellm_params": {"model": model, **params}}
            for model in models
        ],
        **settings,
    )


def test_the_router_cools_a_deleted_endpoint_down_after_one_failure(failing: str) -> None:
    """A not-found endpoint is a 404: never retried, and cooled down at once (LiteLLM cools a
    deployment down for 404 whatever its failure rate), so the other deployment serves the rest.
    """
    router = _router(
        failing,
        ["sagemaker_openai/deleting", "sagemaker_openai/serving"],
        num_retries=2,
        retry_after=0,
        cooldown_time=60,
    )
    messages = [{"role": "user", "content": "hi"}]
    failures: list[Exception] = []
    for _ in range(20):
        try:
            reply = router.completion(model="group", messages=messages)
        except litellm.NotFoundError as exc:
            failures.append(exc)
        else:
            assert reply.choices[0].message.content == "You said: hi"
    assert len(failures) <= 1


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_embedding_call_is_refused_once_with_a_400_naming_chat_completions(
    failing: str, is_async: bool
) -> None:
    router = _router(failing, ["sagemaker_openai/serving"], num_retries=2, retry_after=0)
    attempts: list[str] = []
    original = litellm.embedding if not is_async else litellm.aembedding

    def counting(*args: Any, **kwargs: Any) -> Any:
        attempts.append("embedding")
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(litellm, "aembedding" if is_async else "embedding", counting)
        with pytest.raises(litellm.BadRequestError, match="serves chat completions only"):
            if is_async:
                asyncio.run(router.aembedding(model="group", input=["hi"]))
            else:
                router.embedding(model="group", input=["hi"])
    assert len(attempts) == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda kw: litellm.embedding(model="sagemaker_openai/serving", input=["hi"], **kw),
        lambda kw: asyncio.run(
            litellm.aembedding(model="sagemaker_openai/serving", input=["hi"], **kw)
        ),
        lambda kw: litellm.image_generation(model="sagemaker_openai/serving", prompt="a", **kw),
    ],
    ids=["embedding", "aembedding", "image_generation"],
)
def test_calls_the_route_cannot_serve_are_a_bad_request(failing: str, call: Any) -> None:
    kwargs = {k: v for k, v in _kwargs(failing).items() if k not in ("messages",)}
    with pytest.raises(litellm.BadRequestError, match="/openai/v1/chat/completions"):
        call(kwargs)
