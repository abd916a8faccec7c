"""How a CustomLLM states a cost LiteLLM did not compute (the plugin's instance-hour cost).

* a non-stream response whose ``_hidden_params["response_cost"]`` is set keeps it, and it is
  the call's logged cost (the proxy's ``x-litellm-response-cost`` header and spend logs);
* a stream's final usage chunk carrying ``cost`` makes it the stream's logged cost, and the
  response ``stream_chunk_builder`` builds carries it in ``_hidden_params["response_cost"]``;
* ``completion_cost`` itself reads neither: the plugin bridges it (``_register.py``).
"""

from __future__ import annotations

from typing import Any

import litellm
import pytest
from compat import compat_support
from compat.compat_support import CostRecorder, Probe
from litellm.cost_calculator import completion_cost as litellm_completion_cost
from litellm.types.utils import ModelResponse
from provider_support import logged_call

STATED = 0.125
ANSWER, CHUNKS = compat_support.model_response, compat_support.pattern_e_chunks
CALL = {"model": "compatprobe/ep", "messages": [{"role": "user", "content": "hi"}]}


def _stated_response() -> ModelResponse:
    response = ANSWER()
    response._hidden_params["response_cost"] = STATED
    return response


def _stated_chunks() -> list[Any]:
    chunks: list[Any] = CHUNKS()
    chunks[-1] = {**chunks[-1], "usage": {**compat_support.USAGE, "cost": STATED}}
    return chunks


@pytest.fixture
def stating_probe(probe: Probe, monkeypatch: pytest.MonkeyPatch) -> CostRecorder:
    monkeypatch.setattr(compat_support, "model_response", _stated_response)
    monkeypatch.setattr(compat_support, "pattern_e_chunks", _stated_chunks)
    recorder = CostRecorder()
    litellm.callbacks.append(recorder)
    return recorder


def _run(use_async: bool, stream: bool, recorder: CostRecorder) -> Any:
    return logged_call(CALL, sync=not use_async, stream=stream, logged=lambda: bool(recorder.costs))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_cost_already_on_a_response_is_the_calls_cost(
    stating_probe: CostRecorder, use_async: bool
) -> None:
    response = _run(use_async, False, stating_probe)
    assert response._hidden_params.get("response_cost") == STATED, (
        "LiteLLM replaced the response_cost a CustomLLM set in _hidden_params; the plugin's "
        "instance-hour cost would be lost from responses and the proxy's header"
    )
    assert stating_probe.costs == [STATED], (
        f"the logged response_cost is {stating_probe.costs}, not the cost the response carried: "
        "spend tracking would not see the plugin's instance-hour cost"
    )


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_cost_in_the_final_usage_chunk_is_the_streams_cost(
    stating_probe: CostRecorder, use_async: bool
) -> None:
    built = _run(use_async, True, stating_probe)
    assert built._hidden_params.get("response_cost") == STATED, (
        "stream_chunk_builder no longer takes the usage chunk's cost as the built response's "
        "response_cost"
    )
    assert stating_probe.costs == [STATED], (
        f"the logged response_cost of a stream is {stating_probe.costs}, not the cost its final "
        "usage chunk stated: spend tracking would not see the plugin's instance-hour cost"
    )


def test_completion_cost_still_ignores_a_stated_cost() -> None:
    response = _stated_response()
    response._hidden_params["custom_llm_provider"] = "compatprobe"
    with pytest.raises(Exception, match=r"isn't mapped|not mapped|NOT provided"):
        litellm_completion_cost(completion_response=response)
        pytest.fail(
            "litellm's completion_cost now reads a cost the response states: the plugin's "
            "bridge (_register.bridge_completion_cost) may no longer be needed"
        )
