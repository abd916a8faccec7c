"""Encode AWS event-stream messages, as InvokeEndpointWithResponseStream sends them.

Frame: total length, headers length, prelude CRC32, headers, payload, message CRC32, all
big-endian (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html).
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Final

CONTENT_TYPE: Final = "application/vnd.amazon.eventstream"
_STRING_TYPE: Final = 7


def encode_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Frame one message with string headers."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


def payload_part(data: bytes) -> bytes:
    """A ``PayloadPart`` event carrying container bytes unchanged."""
    return encode_message(
        {
            ":event-type": "PayloadPart",
            ":content-type": "application/octet-stream",
            ":message-type": "event",
        },
        data,
    )


def model_stream_error(message: str, error_code: str = "ModelStreamError") -> bytes:
    """A ``ModelStreamError`` exception event, sent when the container stream breaks."""
    return encode_message(
        {
            ":exception-type": "ModelStreamError",
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"Message": message, "ErrorCode": error_code}).encode(),
    )


def _header(name: str, value: str) -> bytes:
    raw_name = name.encode("utf-8")
    raw_value = value.encode("utf-8")
    return (
        struct.pack(">B", len(raw_name))
        + raw_name
        + struct.pack(">BH", _STRING_TYPE, len(raw_value))
        + raw_value
    )
