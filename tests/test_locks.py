"""Every Python dependency is installed from a hashed lock that matches the pins we declare."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

LOCKS = {
    "requirements-dev.lock": "requirements-dev.txt",
    "requirements-pipeline.lock": "requirements-pipeline.txt",
    "requirements-scan.lock": "requirements-scan.txt",
    "model/requirements-serve.lock": "model/requirements-serve.txt",
    "requirements-tools.lock": "requirements-tools.txt",
}
"""Each lock and the requirements file `make lock` compiles it from."""

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s\\;]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [hashes])}`` of a pip-compile lock; fails on an unhashed entry."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if match := _REQUIREMENT.match(line):
            current = normalize(match[1])
            entries[current] = (match[2], [])
        elif stripped.startswith("--hash=sha256:") and current:
            entries[current][1].append(stripped.split(":", 1)[1].rstrip(" \\"))
        else:
            raise AssertionError(f"{path.name}: not a pinned, hashed entry: {line!r}")
    return entries


def declared_pins(path: Path) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file and of the files it includes."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins |= declared_pins(path.parent / line[3:].strip())
        elif match := _REQUIREMENT.match(line):
            pins[normalize(match[1])] = match[2]
    return pins


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_lock_entry_is_pinned_and_hashed(lock):
    entries = lock_entries(ROOT / lock)
    assert entries
    unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
    assert not unhashed, f"{lock}: entries without a hash: {unhashed}"
    for name, (_, hashes) in entries.items():
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name


@pytest.mark.parametrize(("lock", "source"), sorted(LOCKS.items()))
def test_locks_are_current_with_the_declared_pins(lock, source):
    """A pin edited in a requirements file without `make lock` fails here, naming it."""
    entries = lock_entries(ROOT / lock)
    stale = {
        name: (version, entries.get(name, ("missing", []))[0])
        for name, version in declared_pins(ROOT / source).items()
        if entries.get(name, ("missing", []))[0] != version
    }
    assert not stale, f"run `make lock`: {source} pins differ from {lock}: {stale}"


def install_commands() -> list[tuple[str, str]]:
    """``(where, command)`` for every pip install in the Makefile, Dockerfile and workflows."""
    files = [ROOT / "Makefile", ROOT / "model" / "Dockerfile"]
    files += sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    found = []
    for path in files:
        text = path.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            if re.search(r"pip3? install|PIP_INSTALL\)", line):
                found.append((path.relative_to(ROOT).as_posix(), line.strip()))
    return found


def test_every_install_uses_a_lock_with_require_hashes():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PIP_INSTALL := .*--require-hashes", makefile, flags=re.M)
    commands = install_commands()
    assert any(where == "model/Dockerfile" for where, _ in commands)
    for where, command in commands:
        if command.startswith("PIP_INSTALL :="):
            continue
        assert "--require-hashes" in command or "$(PIP_INSTALL)" in command, (where, command)
        requirement_files = re.findall(r"-r\s+(\S+)", command)
        assert requirement_files, (where, command)
        assert all(f.endswith(".lock") for f in requirement_files), (where, command)


def test_workflows_install_python_packages_only_through_make():
    for where, command in install_commands():
        assert not where.startswith(".github/"), f"{where}: {command}: use a make target"


def test_the_model_image_base_is_pinned_by_digest_in_the_dockerfile():
    dockerfile = (ROOT / "model" / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, flags=re.M)
    assert base and re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base[1])
    assert all(
        line.split()[1].startswith("${PYTHON_IMAGE}")
        for line in dockerfile.splitlines()
        if line.startswith("FROM ")
    )
