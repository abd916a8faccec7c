"""Benchmarks of the plugin against its baselines, measured side by side (``python -m bench``)."""

import os

# Before LiteLLM is imported by any benchmark: its import would otherwise fetch the cost map
# from the internet (and retry for seconds when offline, in the middle of a measurement).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")
# The benchmarks bring their own test credentials: never the developer's AWS files or IMDS.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
for _name in (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
):
    os.environ.pop(_name, None)
