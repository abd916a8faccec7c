"""No capacity (a component scaled to zero): recognised by type and wording, retryable, waited for."""

from __future__ import annotations

from typing import Any

import litellm
import pytest
import respx
from provider_support import CREDS, IC_URL, MESSAGES, completion_json

from litellm_sagemaker_openai._capacity import FIRST_PAUSE_S, GROWTH, MAX_PAUSE_S, pause
from litellm_sagemaker_openai._errors import SageMakerNoCapacityError

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
        pytest.raises((litellm.BadRequestError, litellm.ServiceUnavailableError)) as caught,
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
