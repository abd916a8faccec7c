"""The wire: every byte the kit sends or reads, and the bounds on it.

The client shaped like the OpenAI SDK, the deadline transport, the recorded exchange, the
strict SSE parser and the SDK replica, the limits, targets, and the loopback server. It
imports nothing else of the kit. This file imports nothing, so that importing one module of
the wire loads no other.
"""
