"""constraints.txt pins every dependency the project declares, inside the range pyproject.toml allows."""
from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def pins() -> dict[str, str]:
    found = {}
    for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            found[canonicalize_name(name)] = version.strip()
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    # The extras `make install` and `make bench` install; torch, lmdb, s3 and ssh are the user's choice.
    return [Requirement(r) for r in project["dependencies"] + extras["test"] + extras["bench"]]


def test_every_installed_dependency_is_pinned_within_its_range():
    pinned = pins()
    problems = []
    for req in declared():
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not pinned")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} is outside {req.specifier}")
    assert not problems, "; ".join(problems) + " (run `make constraints`)"


def test_pins_are_unique():
    names = [canonicalize_name(line.partition("==")[0])
             for line in (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert len(names) == len(set(names))
