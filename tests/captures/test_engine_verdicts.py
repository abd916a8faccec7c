"""The real engines' verdicts, proved on every run by replaying their captures to the kit.

``make engines`` installs and runs vLLM, llama-cpp-python and ``transformers serve``, records
their raw answers to the kit (tests/captures/ENGINE/) and the verdicts the kit gave them
(manifest.json). Here the kit runs again, in both modes, against a server that answers from
those recordings, and must reach every recorded verdict. A check the kit gained after the
capture was made has no recorded answers: it is not replayed, and is listed as a skip.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from captures.captures_support import (
    capture_folders,
    load_manifest,
    moved_verdicts,
    not_captured,
    replay_kit,
)
from captures.table_support import advice_section, broken_musts, published_table, render_table

from conformance._capture import RECAPTURE

FOLDERS = capture_folders()
CASES = [(folder, mode) for folder in FOLDERS for mode in load_manifest(folder)["runs"]]
# A bearer token, a SageMaker token, a SigV4 signature or an AWS access key id.
SECRET = re.compile(r"Bearer \S|sagemaker-api-key-|X-Amz-Signature|\bAKIA[0-9A-Z]{16}\b", re.I)


def test_at_least_three_engines_are_captured() -> None:
    assert len(FOLDERS) >= 3, f"only {[f.name for f in FOLDERS]}: {RECAPTURE}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_a_manifest_says_what_ran_and_how(folder: Path) -> None:
    manifest = load_manifest(folder)
    assert manifest["engine"] == folder.name
    assert manifest["versions"] and all(manifest["versions"].values())
    assert manifest["command"] and manifest["model"] is not None
    for mode in ("direct", "mock"):
        run = manifest["runs"][mode]
        assert run["wall_seconds"] > 0
        assert run["exit_code"] in (0, 1, 3)
        assert run["request_timeout"] > 0
        assert sum(run["summary"].values()) == len(run["results"]) > 0


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_no_capture_holds_a_credential(folder: Path) -> None:
    for path in folder.iterdir():
        found = SECRET.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path} holds {found.group()!r}"


@pytest.mark.slow
@pytest.mark.parametrize(("folder", "mode"), CASES, ids=[f"{f.name}-{m}" for f, m in CASES])
def test_the_replayed_engine_gets_its_recorded_verdicts(folder: Path, mode: str) -> None:
    manifest = load_manifest(folder)
    if mode == "mock" and not _pinged(folder, mode):
        # The emulator now checks the container's /ping before it forwards (SageMaker's health
        # check): a mock run captured before that has no answer to replay for it.
        pytest.skip(f"{folder.name} (mock) predates the emulator's /ping health check; {RECAPTURE}")
    moved = moved_verdicts(manifest, mode, replay_kit(folder, mode, manifest))
    assert not moved, (
        f"{folder.name} ({mode}): the kit's verdicts moved: {moved}; if the kit changed on "
        f"purpose, {RECAPTURE} and review the new verdicts in docs/kit/engines.md"
    )


def _pinged(folder: Path, mode: str) -> bool:
    """Whether the capture's ``mode`` run holds an answer to ``GET /ping``."""
    with (folder / "exchanges.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            request = json.loads(line)
            if request["run"] == mode and request["request"]["path"] == "/ping":
                return True
    return False


@pytest.mark.parametrize(("folder", "mode"), CASES, ids=[f"{f.name}-{m}" for f, m in CASES])
def test_checks_newer_than_the_capture_are_listed_as_not_captured(folder: Path, mode: str) -> None:
    missing = not_captured(load_manifest(folder), mode)
    if missing:
        pytest.skip(
            f"not captured: {folder.name} ({mode}) predates {len(missing)} of the kit's checks "
            f"({', '.join(missing)}); {RECAPTURE} to replay them"
        )


def test_the_published_table_is_the_captures_table() -> None:
    expected = render_table([load_manifest(folder) for folder in FOLDERS])
    assert published_table() == expected, (
        "docs/kit/engines.md is out of date with tests/captures: run "
        "`.venv/bin/python tests/engines/table.py` (make engines does)"
    )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_broken_must_comes_with_advice(folder: Path) -> None:
    manifest = load_manifest(folder)
    advice = advice_section(manifest["title"])
    missing = [cid for cid in broken_musts(manifest) if f"`{cid}`" not in advice]
    assert not missing, (
        f"docs/kit/engines.md: say what {manifest['title']}'s users should pass or patch "
        f"for {missing} under '### {manifest['title']}'"
    )
