"""Every test file lies in a folder that gives its tests a marker (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import FOLDER_MARKERS, TESTS, folder_marker


def test_every_test_file_gets_its_folder_s_marker() -> None:
    files = sorted(TESTS.rglob("test_*.py"))

    assert files, "no test files found"
    for path in files:
        assert folder_marker(path) == FOLDER_MARKERS[path.relative_to(TESTS).parts[0]]


def test_a_folder_without_a_marker_stops_the_run() -> None:
    with pytest.raises(pytest.UsageError, match="tests/elsewhere has no marker"):
        folder_marker(TESTS / "elsewhere" / "test_something.py")


def test_every_marker_is_registered(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}

    assert set(FOLDER_MARKERS.values()) <= registered


def test_the_unit_test_itself_is_marked(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None
