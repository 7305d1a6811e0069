"""`make help` lists every target a user may run — each .PHONY target and each one documented
by a `## target: description` comment — with that description, read from the comments."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def phony_targets(makefile: str) -> set[str]:
    return {
        target
        for line in re.findall(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
        for target in line.split()
    }


def documented_targets(makefile: str) -> dict[str, str]:
    return dict(re.findall(r"^## ([\w-]+): (.+)$", makefile, re.MULTILINE))


def make_help(makefile: Path) -> dict[str, str]:
    """What `make help` prints: each target and its description."""
    completed = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", str(makefile), "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    listed = {}
    for line in completed.stdout.splitlines():
        target, _, description = line.strip().partition(" ")
        listed[target] = description.strip()
    return listed


def missing_from_help(makefile: Path) -> list[str]:
    text = makefile.read_text()
    wanted = phony_targets(text) | set(documented_targets(text))
    return sorted(wanted - set(make_help(makefile)))


def test_every_phony_and_documented_target_is_listed() -> None:
    assert missing_from_help(MAKEFILE) == []


def test_each_target_is_listed_with_its_own_description() -> None:
    listed = make_help(MAKEFILE)
    for target, description in documented_targets(MAKEFILE.read_text()).items():
        assert listed[target].startswith(description), target
    assert {"test", "lint"} <= set(listed), "the two commands"


def test_a_phony_target_without_a_description_is_caught(tmp_path: Path) -> None:
    # Given a Makefile with a phony target nobody documented
    makefile = tmp_path / "Makefile"
    makefile.write_text(MAKEFILE.read_text() + "\n.PHONY: ghost\nghost:\n\t@true\n")

    # Then the check names it
    assert missing_from_help(makefile) == ["ghost"]
