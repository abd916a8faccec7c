"""The replay's scope: a capture's own checks must replay to their verdicts; newer ones are listed.

Other checks join the kit all the time. A check the capture predates sends requests the engine
never answered, so it is not replayed but named; a check the capture ran must still reach its
recorded verdict, or the replay test fails.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from captures.captures_support import (
    capture_folders,
    load_manifest,
    moved_verdicts,
    not_captured,
    replay_kit,
)

from conformance._capture._format import EXCHANGES_FILE, MANIFEST_FILE


def _unstopped_capture() -> tuple[Path, str]:
    """The first capture's run that went to its end, and passed its last check.

    A stopped run names the check it stopped after, and leaving out a failed MUST would move
    the exit code: neither is what these tests are about.
    """
    for folder in capture_folders():
        for mode, run in load_manifest(folder)["runs"].items():
            if not run.get("stopped") and run["results"][-1]["outcome"] == "passed":
                return folder, mode
    pytest.skip("no capture has a whole run that passed its last check; see docs/kit/engines.md")


def _copy(folder: Path, tmp_path: Path, manifest: dict[str, Any]) -> Path:
    shutil.copy(folder / EXCHANGES_FILE, tmp_path / EXCHANGES_FILE)
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def test_a_check_missing_from_the_manifest_is_listed_not_replayed() -> None:
    folder, mode = _unstopped_capture()
    manifest = copy.deepcopy(load_manifest(folder))
    dropped = manifest["runs"][mode]["results"].pop()["id"]
    assert dropped in not_captured(manifest, mode)


@pytest.mark.slow
def test_a_captured_verdict_that_moves_fails_while_a_newer_check_does_not(tmp_path: Path) -> None:
    folder, mode = _unstopped_capture()
    manifest = copy.deepcopy(load_manifest(folder))
    results = manifest["runs"][mode]["results"]
    # The last check ran last: leaving it out changes no other check's turn at the replay.
    dropped = results.pop()["id"]
    flipped = next(r for r in results if r["outcome"] == "passed")
    flipped["outcome"] = "failed"
    replayed = replay_kit(_copy(folder, tmp_path, manifest), mode, manifest)
    assert dropped in replayed.not_captured
    assert dropped not in replayed.outcomes
    assert moved_verdicts(manifest, mode, replayed) == [
        f"{flipped['id']}: failed recorded, passed replayed"
    ]
