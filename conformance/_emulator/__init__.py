"""Local emulator of SageMaker AI's OpenAI-compatible route, for tests and demos without AWS."""

from ._app import create_emulator_app
from ._config import EmulatorConfig
from ._credentials import (
    TestCredentials,
    generate_test_credentials,
    load_credentials_file,
    write_credentials_file,
)
from ._tokens import TokenRejected, Verdict, verify_token

__all__ = [
    "EmulatorConfig",
    "TestCredentials",
    "TokenRejected",
    "Verdict",
    "create_emulator_app",
    "generate_test_credentials",
    "load_credentials_file",
    "verify_token",
    "write_credentials_file",
]
