"""The layer's lock (layers/activity_relay/requirements.txt) matches its one source
(requirements.in), pins everything it needs with a hash, and pins what the tests run with
(requirements/dev.lock). `make layer-lock` regenerates it; this is CI's check that it was."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _layer_lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_lock", ROOT / "requirements/layer_lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


layer_lock = _layer_lock()


def test_the_lock_matches_its_source_and_what_the_tests_run_with() -> None:
    assert layer_lock.check() == []


def test_every_package_of_the_lock_is_pinned_with_one_hash() -> None:
    pins = layer_lock.pins_of(layer_lock.LOCK.read_text())

    assert {"boto3", "botocore", "requests", "urllib3", "standardwebhooks"} <= set(pins)
    assert all(len(pin.hashes) == 1 for pin in pins.values())


def test_boto3_and_botocore_in_the_layer_are_the_pair_the_tests_run() -> None:
    pins = layer_lock.pins_of(layer_lock.LOCK.read_text())
    tested = layer_lock.dev_versions()

    assert pins["boto3"].version == tested["boto3"]
    assert pins["botocore"].version == tested["botocore"]


@pytest.fixture
def copies(tmp_path: Path) -> tuple[Path, Path]:
    source, lock = tmp_path / "requirements.in", tmp_path / "requirements.txt"
    source.write_text(layer_lock.SOURCE.read_text())
    lock.write_text(layer_lock.LOCK.read_text())
    return source, lock


def test_a_source_changed_without_relocking_is_caught(copies: tuple[Path, Path]) -> None:
    source, lock = copies
    source.write_text(source.read_text().replace("requests==2.34.2", "requests==2.34.1"))

    problems = layer_lock.check(source, lock)

    assert any("run `make layer-lock`" in p for p in problems)
    assert any(
        "requests==2.34.1 (requirements.in) is not what the lock pins" in p for p in problems
    )


def test_a_line_without_a_hash_is_caught(copies: tuple[Path, Path]) -> None:
    source, lock = copies
    lock.write_text(lock.read_text() + "pyyaml==6.0.3\n")

    assert layer_lock.check(source, lock) == [
        "pyyaml must carry exactly one hash (its pure wheel's)"
    ]


def test_a_dependency_left_out_of_the_lock_is_caught(copies: tuple[Path, Path]) -> None:
    source, lock = copies
    text = lock.read_text()
    start = text.index("urllib3==")
    end = text.index("\n", text.index("--hash", start)) + 1
    lock.write_text(text[:start] + text[end:])

    problems = layer_lock.check(source, lock)

    assert any("urllib3" in p and "is not in the lock" in p for p in problems)
