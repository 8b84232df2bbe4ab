"""The annotation event log: people's corrections as append-only JSON lines.

Each line of ``annotations/events.jsonl`` is one action of one person: a label
set or confirmed, a valence/arousal pair set, a sample skipped, or an earlier
event undone. Lines are only ever appended (one ``write`` per line under an
exclusive lock), so two writers interleave whole lines and a killed writer
can leave at most its own last line unfinished, which readers skip.

:func:`fold_events` turns the log into the decision per sample that the
annotate stage applies: events count in file order, an undone event does not
count, and the latest remaining event of each field wins.
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from penta_core.core.errors import InputError

# action → the field of the sample it decides (None: recorded, never folded).
ACTIONS: dict[str, str | None] = {"label": "label", "confirm": "label", "va": "va", "skip": None, "undo": None}


class EventLogError(InputError):
    """A line of the event log is not a valid event; the message names the file and line."""


@dataclass
class Decision:
    """What the log decided for one sample: its label and valence/arousal, with the deciding events."""

    label_event: dict[str, Any] | None = None
    va_event: dict[str, Any] | None = None
    events: int = 0

    @property
    def label(self) -> str | None:
        return self.label_event["new"] if self.label_event else None

    @property
    def va(self) -> list[float] | None:
        return self.va_event["new"] if self.va_event else None


@dataclass
class EventLog:
    """The parsed log: events in file order, and lines a crash left unfinished."""

    events: list[dict[str, Any]] = field(default_factory=list)
    torn_lines: int = 0


def check_event(event: Any, where: str) -> dict[str, Any]:
    """``event`` if it is a well-formed event, else :class:`EventLogError` naming ``where``."""
    if not isinstance(event, dict):
        raise EventLogError(f"{where}: an event must be a JSON object")
    for key in ("event", "sample", "action", "annotator", "time"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise EventLogError(f"{where}: field '{key}' must be a non-empty string")
    action = event["action"]
    if action not in ACTIONS:
        raise EventLogError(f"{where}: action '{action}' is not one of {', '.join(ACTIONS)}")
    if action in ("label", "confirm") and not isinstance(event.get("new"), str):
        raise EventLogError(f"{where}: a {action} event needs 'new', the label name")
    if action == "va":
        va = event.get("new")
        if not (isinstance(va, list) and len(va) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) and -1 <= v <= 1 for v in va)):
            raise EventLogError(f"{where}: a va event needs 'new', a [valence, arousal] pair within [-1, 1]")
    if action == "undo" and not isinstance(event.get("undoes"), str):
        raise EventLogError(f"{where}: an undo event needs 'undoes', the id of the event it takes back")
    return event


def read_events(path: str | os.PathLike) -> EventLog:
    """Every event of the log at ``path`` in file order (a missing file is an empty log).

    A line that is not JSON is what a writer killed mid-line leaves (the next
    writer starts on a fresh line after it): it is skipped and counted in
    ``torn_lines``. A JSON line that is not a valid event raises
    :class:`EventLogError` naming the file and line.
    """
    path = Path(path)
    log = EventLog()
    if not path.exists():
        return log
    for number, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.torn_lines += 1
            continue
        log.events.append(check_event(event, f"{path}:{number}"))
    return log


def fold_events(events: list[dict[str, Any]]) -> dict[str, Decision]:
    """The decision per sample id: undone events drop out, the latest remaining event per field wins."""
    undone = {e["undoes"] for e in events if e["action"] == "undo"}
    decisions: dict[str, Decision] = {}
    for event in events:
        decision = decisions.setdefault(event["sample"], Decision())
        decision.events += 1
        target = ACTIONS[event["action"]]
        if target is None or event["event"] in undone:
            continue
        if target == "label":
            decision.label_event = event
        else:
            decision.va_event = event
    return decisions


def append_event(path: str | os.PathLike, event: dict[str, Any]) -> None:
    """Append ``event`` as one line of the log at ``path``, durably, under an exclusive lock.

    The line goes out in a single ``write`` on an ``O_APPEND`` descriptor and
    is flushed to disk before returning, so an acknowledged event survives a
    crash. When the file ends in a line a killed writer left unfinished, the
    new event starts on a fresh line.
    """
    check_event(event, str(path))
    line = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)  # closing drops the lock


def ensure_log(path: str | os.PathLike) -> Path:
    """Create an empty log at ``path`` when there is none (DVC needs its dependency to exist)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.close(fd)
    return path
