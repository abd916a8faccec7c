"""Shared strategies, oracles and guards for the property tests (FUZZ_EXAMPLES sets the count)."""

from __future__ import annotations

import functools
import os
import re
import socket
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# `make fuzz` sets 10000; CI runs the default. Hypothesis is derandomized (a fixed seed) so a
# CI run is reproducible; FUZZ_RANDOM=1 explores new examples on every run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"


def fuzz(share: float = 1.0) -> settings:
    """Settings for one property: ``share`` of FUZZ_EXAMPLES examples (at least 10)."""
    return settings(
        max_examples=max(10, int(EXAMPLES * share)),
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- names: SageMaker's rule ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$ and at most 63 characters ---

ALNUM = string.ascii_letters + string.digits
NAME_MAX = 63


def is_valid_name(name: str) -> bool:
    """The naming rule, written without the regex the code under test uses."""
    return (
        1 <= len(name) <= NAME_MAX
        and all(c in ALNUM or c == "-" for c in name)
        and name[0] in ALNUM
        and name[-1] in ALNUM
    )


valid_names = st.one_of(
    st.sampled_from(ALNUM),
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(ALNUM),
        st.text(alphabet=ALNUM + "-", max_size=NAME_MAX - 2),
        st.sampled_from(ALNUM),
    ),
    st.sampled_from(["a" * NAME_MAX, "a" + "-" * (NAME_MAX - 2) + "b", "demo-endpoint", "0"]),
)

# What a caller (or an attacker writing a config) might type: path tricks, encodings,
# whitespace, look-alike unicode, control characters, URL syntax.
BAD_PIECES = (
    "..", ".", "/", "%2F", "%2f", "%2e%2e", "\\", " ", "\t", "\n", "\r", "\r\n", "\x00", "_",
    "?", "#", "&", "=", "@", ":", ";", "+", "~", "*", "$", "é", "\uff45", "٣", "İ", "ß", "\u200b",
    "\u2028", "\ufeff", "😀", "\u0301",
)  # fmt: skip


def _insert(name: str, piece: str, at: int) -> str:
    cut = at % (len(name) + 1)
    return name[:cut] + piece + name[cut:]


near_miss_names = st.one_of(
    st.just(""),
    valid_names.map(lambda n: "-" + n),
    valid_names.map(lambda n: n + "-"),
    valid_names.map(lambda n: n + "\n"),
    valid_names.map(lambda n: " " + n),
    valid_names.map(lambda n: n + " "),
    st.builds(_insert, valid_names, st.sampled_from(BAD_PIECES), st.integers(0, 64)),
    st.text(alphabet=ALNUM, min_size=NAME_MAX + 1, max_size=NAME_MAX + 20),
    st.text(max_size=20).filter(lambda s: not is_valid_name(s) and "/" not in s),
)
# Names the pattern accepts but the 63-character limit refuses (hyphens stretch them).
long_hyphenated_names = st.builds(
    lambda head, tail: head + "-" * (NAME_MAX + 1 - len(head) - len(tail)) + tail,
    st.text(alphabet=ALNUM, min_size=1, max_size=20),
    st.text(alphabet=ALNUM, min_size=1, max_size=20),
)


# --- regions ---

# One or more regions of every partition in botocore's table.
PARTITION_REGIONS = (
    "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-7", "mx-central-1", "il-central-1",
    "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1",
    "us-iso-west-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "us-isof-east-1",
    "eusc-de-east-1",
)  # fmt: skip


def is_valid_region(region: str) -> bool:
    """Region id shape (``eusc-de-east-1`` included), written without the code's regex."""
    parts = region.split("-")
    lower = set(string.ascii_lowercase)
    return (
        len(parts) >= 3
        and 2 <= len(parts[0]) <= 4
        and all(part and set(part) <= lower for part in parts[:-1])
        and 1 <= len(parts[-1]) <= 2
        and set(parts[-1]) <= set(string.digits)
    )


valid_regions = st.one_of(
    st.sampled_from(PARTITION_REGIONS),
    st.builds(
        lambda head, words, number: "-".join([head, *words, str(number)]),
        st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=4),
        st.lists(
            st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=9), min_size=1, max_size=3
        ),
        st.integers(0, 99),
    ),
)
BAD_REGIONS = (
    "", "US-EAST-1", "us-east", "us-east-123", "useast1", "us_east_1", "us-east-1-fips",
    "us-east-1.evil.com", "evil.com/us-east-1", "us-east-1@evil", "us-east-1:443",
    "us-east-1\n", " us-east-1", "us--east-1", "-us-east-1", "u-east-1", "us-ea5t-1",
)  # fmt: skip
invalid_regions = st.one_of(
    st.sampled_from(BAD_REGIONS),
    st.builds(_insert, valid_regions, st.sampled_from(BAD_PIECES), st.integers(0, 30)),
    valid_regions.map(str.upper).filter(lambda r: not is_valid_region(r)),
    st.text(max_size=20).filter(lambda s: not is_valid_region(s)),
)


@functools.lru_cache(maxsize=1)
def _partitions() -> tuple[tuple[frozenset[str], re.Pattern[str], str], ...]:
    from botocore.loaders import create_loader

    data = create_loader().load_data("endpoints")["partitions"]
    return tuple(
        (frozenset(p["regions"]), re.compile(p["regionRegex"]), p["dnsSuffix"]) for p in data
    )


def botocore_dns_suffix(region: str) -> str:
    """The DNS suffix botocore's partition table gives ``region``; ``amazonaws.com`` (the aws
    partition) when no partition claims it, as botocore does."""
    for regions, pattern, suffix in _partitions():
        if region in regions or pattern.match(region):
            return suffix
    return "amazonaws.com"


# --- no I/O ---


class SocketOpened(AssertionError):
    """Raised (and recorded) when code under test tries to open a connection."""


@contextmanager
def no_sockets() -> Iterator[list[str]]:
    """Fail any connect or DNS lookup inside the block; yields the list of attempts."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise SocketOpened(f"{name} called: configuration errors must come before any I/O")

        return blocked

    with (
        mock.patch.object(socket.socket, "connect", refuse("socket.connect")),
        mock.patch.object(socket.socket, "connect_ex", refuse("socket.connect_ex")),
        mock.patch.object(socket, "create_connection", refuse("create_connection")),
        mock.patch.object(socket, "getaddrinfo", refuse("getaddrinfo")),
    ):
        yield attempts
