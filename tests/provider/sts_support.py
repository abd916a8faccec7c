"""A fake STS on loopback: botocore speaks real HTTP to it (AssumeRole, AssumeRoleWithWebIdentity)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ROLE = "arn:aws:iam::123456789012:role/sagemaker-caller"
RESPONSE = """<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>
<Credentials><AccessKeyId>ASIASTSROLEEXAMPLE01</AccessKeyId><SecretAccessKey>sts-secret-key-EXAMPLE</SecretAccessKey>
<SessionToken>sts-session-token-EXAMPLE</SessionToken><Expiration>{expiry}</Expiration></Credentials>
<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/sagemaker-caller/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>
</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"""


class FakeSTS(BaseHTTPRequestHandler):
    calls: list[dict[str, str]] = []

    def do_POST(self) -> None:
        form = {
            k: v[0]
            for k, v in parse_qs(
                self.rfile.read(int(self.headers["content-length"])).decode()
            ).items()
        }
        form["_signed"] = str("authorization" in {h.lower() for h in self.headers})
        form["_authorization"] = self.headers.get("authorization", "")
        form["_security_token"] = self.headers.get("x-amz-security-token", "")
        FakeSTS.calls.append(form)
        expiry = (datetime.now(timezone.utc) + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = RESPONSE.format(action=form["Action"], expiry=expiry).encode()
        self.send_response(200)
        self.send_header("content-type", "text/xml")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def fake_sts() -> Iterator[str]:
    """Serve :class:`FakeSTS` on 127.0.0.1; yields its URL (``FakeSTS.calls`` starts empty)."""
    FakeSTS.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSTS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
