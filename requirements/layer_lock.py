"""The shared-code layer's dependencies, locked with hashes: `make layer-lock` writes
layers/activity_relay/requirements.txt from layers/activity_relay/requirements.in (the one
source), and `check()` (tests/unit/deploy/test_layer_lock.py, so `make test` and CI) fails when
the lock no longer matches it.

How the lock is made, and why so:

- `sam build` installs the layer from the requirements.txt in its ContentUri with pip (first
  `pip download -r requirements.txt` on the build machine, then, for any wheel that does not fit
  Lambda's arm64, a second `pip download --platform ... name==version` that checks no hash).
  Every line carrying a hash puts pip in hash-checking mode (`--require-hashes` says so too), so
  nothing unpinned or altered is installed.
- Each package is locked to its pure-Python wheel (py3-none-any) and that wheel's hash alone:
  pip on any build machine then picks that very file, which fits Lambda's arm64 as it is, so the
  unchecked second download never happens. A package without a pure wheel fails `make
  layer-lock` with its name rather than be locked to a file another machine would not pick.
- Versions are resolved under requirements/dev.lock: what the layer ships is what the tests ran
  with, boto3 and botocore included (requirements.in says why they are in the layer).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "layers" / "activity_relay" / "requirements.in"
LOCK = ROOT / "layers" / "activity_relay" / "requirements.txt"
DEV_LOCK = ROOT / "requirements" / "dev.lock"

HEADER = """\
# The shared-code layer's dependencies, locked: written by `make layer-lock` from
# requirements.in (requirements/layer_lock.py says how). Do not edit by hand.
# source: requirements.in sha256={digest}
# `sam build` installs these with pip in hash-checking mode: each package is its pure-Python
# wheel, the one file its hash allows, which fits Lambda's arm64 as it is.
--require-hashes
--only-binary :all:
"""

_SOURCE_DIGEST = re.compile(r"^# source: requirements\.in sha256=([0-9a-f]{64})$", re.MULTILINE)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")
_HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Pin:
    name: str  # canonical
    version: str
    hashes: tuple[str, ...]


def digest(path: Path = SOURCE) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_requirements(path: Path = SOURCE) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def pins_of(text: str) -> dict[str, Pin]:
    """The `name==version --hash=...` entries of a lock (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    pins: dict[str, Pin] = {}
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "--require-hashes", "--only-binary")):
            continue
        requirement, *options = line.split()
        match = _PIN.match(requirement)
        if match is None or not all(_HASH.match(o) for o in options):
            raise ValueError(f"not name==version with --hash=sha256:... options: {line!r}")
        name = canonicalize_name(match.group(1))
        pins[name] = Pin(name, match.group(2), tuple(o.split(":", 1)[1] for o in options))
    return pins


def dev_versions(path: Path = DEV_LOCK) -> dict[str, str]:
    versions: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        match = _PIN.match(raw.split("#", 1)[0].strip())
        if match:
            versions[canonicalize_name(match.group(1))] = match.group(2)
    return versions


def check(source: Path = SOURCE, lock: Path = LOCK, dev_lock: Path = DEV_LOCK) -> list[str]:
    """What is wrong with the lock (empty: it matches its source). Offline."""
    text = lock.read_text()
    recorded = _SOURCE_DIGEST.search(text)
    problems: list[str] = []
    if recorded is None or recorded.group(1) != digest(source):
        problems.append(
            f"{lock.name} was not generated from the current {source.name}: run `make layer-lock`"
        )
    lines = text.splitlines()
    if "--require-hashes" not in lines or "--only-binary :all:" not in lines:
        problems.append(f"{lock.name} lacks its --require-hashes / --only-binary :all: lines")
    try:
        pins = pins_of(text)
    except ValueError as error:
        return [*problems, str(error)]
    for pin in pins.values():
        if len(pin.hashes) != 1:
            problems.append(f"{pin.name} must carry exactly one hash (its pure wheel's)")
    for requirement in source_requirements(source):
        found = pins.get(canonicalize_name(requirement.name))
        if found is None or not requirement.specifier.contains(found.version, prereleases=True):
            problems.append(f"{requirement} (requirements.in) is not what the lock pins")
    tested = dev_versions(dev_lock)
    for pin in pins.values():
        if tested.get(pin.name) != pin.version:
            problems.append(
                f"{pin.name}=={pin.version} is not what the tests run with "
                f"(dev.lock: {tested.get(pin.name, 'absent')})"
            )
    problems += _missing_dependencies(source, pins)
    return problems


def _missing_dependencies(source: Path, pins: dict[str, Pin]) -> list[str]:
    """Dependencies of locked packages (as the dev environment, which has the same versions,
    declares them) that the lock lacks: the lock must be closed, or pip refuses it."""
    extras: dict[str, set[str]] = {
        canonicalize_name(r.name): set(r.extras) for r in source_requirements(source)
    }
    environment: dict[str, str] = {
        name: str(value) for name, value in default_environment().items()
    }
    environment.update(python_version="3.12", sys_platform="linux")
    missing: list[str] = []
    for pin in pins.values():
        try:
            declared = metadata.requires(pin.name) or []
        except metadata.PackageNotFoundError:
            missing.append(f"{pin.name} is not installed in this environment to check against")
            continue
        for text in declared:
            requirement = Requirement(text)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({**environment, "extra": extra})
                for extra in extras.get(pin.name, set()) | {""}
            )
            if wanted and canonicalize_name(requirement.name) not in pins:
                missing.append(f"{requirement.name} (needed by {pin.name}) is not in the lock")
    return missing


def generate(source: Path = SOURCE, lock: Path = LOCK, dev_lock: Path = DEV_LOCK) -> None:
    """Resolve `source` under dev.lock for pure-Python wheels, and write the lock."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--only-binary=:all:", "--platform", "any", "--implementation", "py",
            "--python-version", "3.12", "--abi", "none",
            "-r", str(source), "-c", str(dev_lock), "--dest", folder,
        ]  # fmt: skip
        if subprocess.run(command, check=False).returncode != 0:  # noqa: S603
            raise SystemExit(
                "pip could not resolve requirements.in to pure-Python wheels (above): a package "
                "without one cannot be locked by hash for both the build machine and arm64"
            )
        entries = []
        for wheel in sorted(Path(folder).glob("*.whl")):
            name, version, _, tags = parse_wheel_filename(wheel.name)
            if "py3-none-any" not in {str(tag) for tag in tags}:
                raise SystemExit(f"{wheel.name} is not a pure-Python wheel")
            sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
            entries.append(f"{name}=={version} \\\n    --hash=sha256:{sha256}\n")
    lock.write_text(HEADER.format(digest=digest(source)) + "".join(entries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the lock (offline)")
    if parser.parse_args().check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        raise SystemExit(1 if problems else 0)
    generate()
    print(f"wrote {LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
