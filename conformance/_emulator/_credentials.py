"""Test credentials the emulator accepts, and the AWS shared-credentials file that carries them."""

from __future__ import annotations

import configparser
import os
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

_KEY_ALPHABET: Final = string.ascii_uppercase + string.digits
_SECRET_ALPHABET: Final = string.ascii_letters + string.digits + "+/"


@dataclass(frozen=True)
class TestCredentials:
    """One access key pair the emulator trusts; the secret never appears in a repr."""

    __test__ = False  # the name starts with "Test": keep pytest from collecting it

    access_key_id: str
    secret_access_key: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.secret_access_key:
            raise ValueError("test credentials need both an access key id and a secret key")


def generate_test_credentials() -> TestCredentials:
    """Make a random demo key pair shaped like a real one (``AKIA`` + 16, 40-char secret)."""
    key = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return TestCredentials(key, secret)


def write_credentials_file(
    path: str | os.PathLike[str],
    creds: TestCredentials,
    profile: str = "default",
    *,
    region: str | None = None,
) -> Path:
    """Write ``creds`` as one profile of an AWS shared-credentials file (mode 0600).

    A client can then set ``AWS_SHARED_CREDENTIALS_FILE`` to the same path. botocore also
    reads ``region`` from this file, so passing ``region`` lets a client find it there.

    Returns:
        The path written.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser[profile] = {
        "aws_access_key_id": creds.access_key_id,
        "aws_secret_access_key": creds.secret_access_key,
    }
    if region is not None:
        parser[profile]["region"] = region
    target = Path(path)
    # Create with 0600 from the start: the secret must never be world-readable, even briefly.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        parser.write(handle)
    return target


def load_credentials_file(path: str | os.PathLike[str]) -> tuple[TestCredentials, ...]:
    """Read every profile's key pair from an AWS shared-credentials file.

    Raises:
        ValueError: the file is unreadable, malformed, or holds no complete key pair.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error) as exc:
        raise ValueError(
            f"cannot read credentials file {os.fspath(path)!r} ({type(exc).__name__}); "
            "pass an AWS shared-credentials INI file with aws_access_key_id and "
            "aws_secret_access_key"
        ) from None
    found = _pairs(parser[name] for name in parser.sections())
    if not found:
        raise ValueError(
            f"credentials file {os.fspath(path)!r} has no profile with both aws_access_key_id "
            "and aws_secret_access_key"
        )
    return found


def _pairs(sections: Iterable[configparser.SectionProxy]) -> tuple[TestCredentials, ...]:
    pairs: list[TestCredentials] = []
    for section in sections:
        key = section.get("aws_access_key_id", "").strip()
        secret = section.get("aws_secret_access_key", "").strip()
        if key and secret:
            pairs.append(TestCredentials(key, secret))
    return tuple(pairs)
