"""The evidence behind the checks of optional features: a real client against a broken reference.

Each test runs a client of the matrix in this process (openai-python, LiteLLM) against the
reference container with one fault switched on, and shows what the user loses or pays. The
checks' "Why" sections name these tests.
"""

from __future__ import annotations

import openai

from conformance._engine._local import reference_target

PROMPT = "count one two three four five six seven"


def test_an_ignored_stop_is_paid_for_past_the_stop_string() -> None:
    # chat.stop (SHOULD): no client breaks; the cost is every token after the stop string.
    messages = [{"role": "user", "content": PROMPT}]
    for faults, runs_past in (((), False), (("ignore_stop",), True)):
        with reference_target("direct", faults) as target:
            client = openai.OpenAI(base_url=target.openai_base_url, api_key="x", max_retries=0)
            answer = client.chat.completions.create(model="", messages=messages, stop=["four"])  # type: ignore[arg-type]
        content = answer.choices[0].message.content or ""
        assert ("four" in content) is runs_past, content
        assert answer.choices[0].finish_reason == "stop"
