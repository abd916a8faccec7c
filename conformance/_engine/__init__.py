"""The engine of a run: the registry, the context checks run in, the runner, the verdicts
and their reports, the local and live targets.

It runs whatever checks it is given and talks to targets only through ``conformance._wire``.
This file imports nothing, so that importing one module of the engine loads no other.
"""
