"""Chord and key annotation files found beside a MIDI file: MIREX ``.lab``, POP909 text files, JAMS.

Where a dataset ships annotations they win over the recogniser. Beside
``song.mid`` these are read:

- ``song.lab``: a MIREX chord file, one segment a line, ``start end label``
  (seconds, Harte label), separated by tabs or spaces;
- ``song.jams``: the first annotation of namespace ``chord`` (or
  ``chord_harte``) and the first of namespace ``key_mode``;
- POP909's ``chord_midi.txt`` (same three columns) and ``key_audio.txt``
  (``start end Gb:maj``) in the song's folder, for the file named after the
  folder (``001/001.mid``) or the only MIDI file of the folder.

A file that cannot be read is an error naming the file and line, never a
silent fall-back to the estimate: a user who ships annotations wants them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from penta_core.harmony.harte import parse
from penta_core.harmony.keys import Key, parse_key
from penta_core.harmony.sidecars import POP909_CHORDS, POP909_KEYS

MIDI_SUFFIXES = (".mid", ".midi")

Segment = tuple[float, float, str]
KeySegment = tuple[float, float, Key]


@dataclass(frozen=True)
class Annotations:
    """What the annotation files beside one MIDI file say.

    Attributes
    ----------
    chords : ``(start_s, end_s, Harte label)`` segments, sorted, or ``None`` when no file has chords.
    keys : ``(start_s, end_s, Key)`` segments, or ``None``.
    files : names of the files read (relative to the MIDI file's folder), sorted.
    """

    chords: list[Segment] | None = None
    keys: list[tuple[float, float, Key]] | None = None
    files: list[str] = field(default_factory=list)

    def main_key(self) -> Key | None:
        """The key that holds longest, ties to the earliest."""
        if not self.keys:
            return None
        return max(self.keys, key=lambda seg: (seg[1] - seg[0], -seg[0]))[2]

    def as_record(self) -> dict:
        return {
            "chords": [list(s) for s in self.chords] if self.chords is not None else None,
            "keys": [[a, b, k.name] for a, b, k in self.keys] if self.keys is not None else None,
            "files": list(self.files),
        }

    @classmethod
    def from_record(cls, record: dict | None) -> Annotations:
        if not record:
            return cls()
        keys = record.get("keys")
        return cls(
            chords=[(float(a), float(b), str(label)) for a, b, label in record["chords"]]
            if record.get("chords") is not None else None,
            keys=[(float(a), float(b), parse_key(k)) for a, b, k in keys] if keys is not None else None,
            files=list(record.get("files", [])),
        )


def _segments(text: str, where: str) -> list[tuple[float, float, str]]:
    """``(start, end, third column)`` of every non-blank line of a three-column text file."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise ValueError(f"{where}:{number}: expected 'start end label', got {line.strip()!r}")
        try:
            start, end = float(parts[0]), float(parts[1])
        except ValueError:
            raise ValueError(f"{where}:{number}: start and end must be numbers, got {line.strip()!r}") from None
        if not (0 <= start <= end) or end == float("inf"):
            raise ValueError(f"{where}:{number}: need 0 <= start <= end, got {start:g} and {end:g}")
        out.append((start, end, parts[2].strip()))
    return out


def read_lab(text: str, where: str = "chord file") -> list[Segment]:
    """Chord segments of a MIREX ``.lab`` (or POP909 ``chord_midi.txt``) file's text.

    Raises
    ------
    ValueError : a line is not ``start end label`` or its label is not Harte; names ``where`` and the line.

    Example
    -------
    >>> read_lab("0.0\\t1.5\\tN\\n1.5 3.0 A:min7\\n")
    [(0.0, 1.5, 'N'), (1.5, 3.0, 'A:min7')]
    """
    segments = _segments(text, where)
    for number, (_, _, label) in enumerate(segments, 1):
        try:
            parse(label)
        except ValueError as err:
            raise ValueError(f"{where}: segment {number}: {err}") from None
    return sorted(segments, key=lambda s: (s[0], s[1]))


def read_key_lab(text: str, where: str = "key file") -> list[tuple[float, float, Key]]:
    """Key segments of a ``start end key`` file (POP909's ``key_audio.txt``)."""
    out = []
    for start, end, label in _segments(text, where):
        try:
            out.append((start, end, parse_key(label)))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
    return sorted(out, key=lambda s: (s[0], s[1]))


def _observations(annotation: dict, where: str) -> list[dict]:
    data = annotation.get("data", [])
    if isinstance(data, dict):  # the column layout of older JAMS files
        columns = [data.get(k, []) for k in ("time", "duration", "value")]
        return [{"time": t, "duration": d, "value": v} for t, d, v in zip(*columns, strict=True)]
    if not isinstance(data, list):
        raise ValueError(f"{where}: annotation data must be a list of observations")
    return data


def read_jams(text: str, where: str = "JAMS file") -> tuple[list[Segment] | None, list[KeySegment] | None]:
    """The first chord annotation and the first key annotation of a JAMS document (either may be ``None``).

    Raises
    ------
    ValueError : not JSON, or an observation is malformed; names ``where``.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where} is not JSON: {err}") from None
    chords = keys = None
    for annotation in document.get("annotations", []) if isinstance(document, dict) else []:
        namespace = annotation.get("namespace")
        if namespace in ("chord", "chord_harte") and chords is None:
            chords = []
            for obs in _observations(annotation, where):
                try:
                    start, length, value = float(obs["time"]), float(obs["duration"]), str(obs["value"])
                    parse(value)
                except (KeyError, TypeError, ValueError) as err:
                    raise ValueError(f"{where}: chord observation {obs!r}: {err}") from None
                chords.append((start, start + length, value))
            chords.sort(key=lambda s: (s[0], s[1]))
        elif namespace == "key_mode" and keys is None:
            keys = []
            for obs in _observations(annotation, where):
                if str(obs.get("value")) == "N":
                    continue
                try:
                    start, length = float(obs["time"]), float(obs["duration"])
                    keys.append((start, start + length, parse_key(str(obs["value"]))))
                except (KeyError, TypeError, ValueError) as err:
                    raise ValueError(f"{where}: key observation {obs!r}: {err}") from None
            keys.sort(key=lambda s: (s[0], s[1]))
    return chords, keys


def sidecars(midi_path: Path) -> dict[str, Path]:
    """The annotation files beside ``midi_path`` that apply to it, by kind.

    Kinds: ``lab``, ``jams``, ``pop909_chords``, ``pop909_keys``.
    """
    folder = midi_path.parent
    found = {}
    for kind, suffix in (("lab", ".lab"), ("jams", ".jams")):
        candidate = midi_path.with_suffix(suffix)
        if candidate.is_file():
            found[kind] = candidate
    midi_files = [p for p in folder.iterdir() if p.suffix.lower() in MIDI_SUFFIXES] if folder.is_dir() else []
    owns_folder = midi_path.stem == folder.name or len(midi_files) == 1
    for kind, file_name in (("pop909_chords", POP909_CHORDS), ("pop909_keys", POP909_KEYS)):
        if owns_folder and (folder / file_name).is_file():
            found[kind] = folder / file_name
    return found


def read_annotations(files: dict[str, tuple[str, str]]) -> Annotations:
    """Annotations from sidecar texts: ``{kind: (name, text)}`` as :func:`sidecars` names the kinds.

    The chords come from the ``.lab`` file, else the JAMS file, else POP909's
    ``chord_midi.txt``; the keys from the JAMS file, else ``key_audio.txt``.
    """
    chords = keys = None
    jams_chords = jams_keys = None
    if "jams" in files:
        jams_chords, jams_keys = read_jams(files["jams"][1], files["jams"][0])
    if "lab" in files:
        chords = read_lab(files["lab"][1], files["lab"][0])
    elif jams_chords is not None:
        chords = jams_chords
    elif "pop909_chords" in files:
        chords = read_lab(files["pop909_chords"][1], files["pop909_chords"][0])
    if jams_keys:
        keys = jams_keys
    elif "pop909_keys" in files:
        keys = read_key_lab(files["pop909_keys"][1], files["pop909_keys"][0])
    return Annotations(chords, keys, sorted(name for name, _ in files.values()))


def annotations_beside(midi_path: str | Path) -> Annotations:
    """:func:`read_annotations` of the :func:`sidecars` of a MIDI file on disk."""
    found = sidecars(Path(midi_path))
    return read_annotations({kind: (path.name, path.read_text(encoding="utf-8")) for kind, path in found.items()})
