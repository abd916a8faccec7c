"""Optional capabilities (tools, logprobs, n, include_usage) and the requests that probe them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

TOOL_NAME: Final = "get_weather"
WEATHER_TOOL: Final = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TOOL_PROMPT: Final = "What is the weather in Paris? Use the tool."

# Overrides of the default body that exercise each capability. The probe's answer is cached
# and reused by the checks: a clean 4xx skips them, a 200 means the checks verify it was used.
CAPABILITY_PROBES: Final[Mapping[str, Mapping[str, Any]]] = {
    "tools": {
        "messages": [{"role": "user", "content": TOOL_PROMPT}],
        "tools": [WEATHER_TOOL],
        "tool_choice": "required",
        "max_completion_tokens": 64,
    },
    "logprobs": {"logprobs": True, "top_logprobs": 2},
    # Sampling, as a client asking for several choices would: vLLM refuses n > 1 with greedy
    # decoding (temperature 0, the kit's default) since every choice would be the same.
    "n": {"n": 2, "temperature": 1.0},
    "include_usage": {"stream_options": {"include_usage": True}},
}
CAPABILITY_LABELS: Final = {
    "tools": "tools (tool_choice 'required')",
    "logprobs": "logprobs with top_logprobs",
    "n": "n=2",
    "include_usage": "stream_options.include_usage",
}
