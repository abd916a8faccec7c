"""No capacity (a component scaled to zero): recognised by type and wording, retryable, waited for."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
import respx
from provider_support import CREDS, IC_URL, MESSAGES, completion_json

from litellm_sagemaker_openai import _capacity
from litellm_sagemaker_openai._capacity import FIRST_PAUSE_S, GROWTH, MAX_PAUSE_S, pause
from litellm_sagemaker_openai._errors import SageMakerNoCapacityError, build_error

SAGEMAKER = (
    "Inference Component has no capacity to process this request. ApplicationAutoScaling may be "
    "in-progress (if configured) or try to increase the capacity by invoking "
    "UpdateInferenceComponentRuntimeConfig API."
)
TYPE_HEADER = "ValidationError:http://internal.amazon.com/coral/com.amazon.coral.validate/"
RECOGNISED = [
    ({"x-amzn-ErrorType": TYPE_HEADER}, {"message": SAGEMAKER}),
    ({"x-amzn-ErrorType": "ValidationError"}, {"Message": "Component has No Capacity right now"}),
    ({}, {"__type": "ValidationError", "message": SAGEMAKER}),
    ({}, {"error": {"type": "ValidationError", "message": SAGEMAKER}}),
]
NOT_IT = [
    (400, {"x-amzn-ErrorType": "ValidationError"}, {"message": "Endpoint ep not found."}),
    (400, {}, {"message": SAGEMAKER}),  # the container's own 400, no SageMaker type
    (503, {"x-amzn-ErrorType": "ServiceUnavailable"}, {"message": "no capacity"}),
]


def _complete(**extra: Any) -> Any:
    return litellm.completion(
        model="sagemaker_openai/ep/ic", messages=MESSAGES, num_retries=0, **CREDS, **extra
    )


@pytest.mark.parametrize(("headers", "body"), RECOGNISED)
def test_no_capacity_is_a_rate_limit_that_says_how_to_wait(
    headers: dict[str, str], body: dict[str, Any]
) -> None:
    with respx.mock() as mock, pytest.raises(SageMakerNoCapacityError) as caught:
        mock.post(IC_URL).respond(400, json=body, headers=headers)
        _complete()
    error = caught.value
    assert isinstance(error, litellm.RateLimitError) and error.status_code == 429
    assert "inference component 'ic'" in str(error) and "scaling from zero" in str(error)
    assert "wait_for_capacity" in str(error)


@pytest.mark.parametrize(("status", "headers", "body"), NOT_IT)
def test_other_refusals_keep_their_class(
    status: int, headers: dict[str, str], body: dict[str, Any]
) -> None:
    with (
        respx.mock() as mock,
        pytest.raises(
            (litellm.BadRequestError, litellm.NotFoundError, litellm.ServiceUnavailableError)
        ) as caught,
    ):
        mock.post(IC_URL).respond(status, json=body, headers=headers)
        _complete()
    assert not isinstance(caught.value, SageMakerNoCapacityError)


def test_a_wait_retries_after_a_pause_then_answers() -> None:
    with respx.mock() as mock:
        route = mock.post(IC_URL)
        route.side_effect = [
            respx.MockResponse(400, json={"message": SAGEMAKER}, headers={"x-amzn-ErrorType": TYPE_HEADER}),
            respx.MockResponse(200, json=completion_json("warm now")),
        ]  # fmt: skip
        response = _complete(wait_for_capacity=5)
    assert response.choices[0].message.content == "warm now"
    assert route.call_count == 2


def test_pauses_grow_with_the_time_waited_within_bounds() -> None:
    assert pause(0.0, lambda: 0.0) == FIRST_PAUSE_S / 2
    assert pause(0.0, lambda: 1.0) == FIRST_PAUSE_S
    assert pause(40.0, lambda: 1.0) == 40.0 * GROWTH  # at most an eighth past the scale-out
    assert pause(10_000.0, lambda: 1.0) == MAX_PAUSE_S


def test_one_probe_at_a_time_and_a_served_call_wakes_every_waiter() -> None:
    url = "https://runtime.invalid/endpoints/ep/inference-components/state-test/x"
    refusal = build_error(SageMakerNoCapacityError, "cold", model="m", status=429)
    woken: list[str] = []
    assert _capacity._settle(url, refusal, probed=False) is True  # the record starts
    assert _capacity._turn(url, lambda: woken.append("a"))[1] is not None  # a pause first
    _capacity._COLD[url].next_at = 0.0  # the pause has run
    assert _capacity._turn(url, lambda: woken.append("b")) == (True, None)  # b probes
    assert _capacity._turn(url, lambda: woken.append("c")) == (False, float("inf"))  # c waits
    _capacity._settle(url, refusal, probed=True)  # b's probe refused: a and c are woken ...
    assert sorted(woken) == ["a", "c"] and url in _capacity._COLD
    assert _capacity._COLD[url].next_at > 0  # ... to a new pause
    _capacity._settle(url, None, probed=False)  # any call served: the record is dropped
    assert url not in _capacity._COLD


def test_a_record_nobody_probed_for_a_while_starts_afresh() -> None:
    url = "https://runtime.invalid/endpoints/ep/inference-components/stale-test/x"
    refusal = build_error(SageMakerNoCapacityError, "cold", model="m", status=429)
    _capacity._settle(url, refusal, probed=False)
    old = _capacity._COLD[url]
    old.since, old.next_at = old.since - 3600, old.next_at - 3600  # an hour ago
    _capacity._settle(url, refusal, probed=False)  # a new scale-out
    fresh = _capacity._COLD.pop(url)
    assert fresh is not old and fresh.next_at - fresh.since <= FIRST_PAUSE_S
