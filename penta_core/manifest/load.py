"""Read a built ``manifest.json``: whole, or a sample at a time without holding the file.

``manifest.json`` is written by :func:`penta_core.core.io.dumps_json`, which
puts every item of a list on one line; so each sample is one line of the
``"samples"`` array, and a reader can parse them one by one and remember
where each one starts. At 40,000 samples the whole manifest parsed is about
70 MB of Python objects; :func:`iter_samples` holds one sample, and
:class:`ManifestIndex` an id and two integers a sample.

A manifest laid out otherwise (edited by hand, written by another tool) is
still read, by parsing it whole.
"""
from __future__ import annotations

import bisect
import itertools
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from penta_core.core.errors import MissingInput
from penta_core.core.io import read_json
from penta_core.core.layout import DatasetLayout

_OPEN = b'  "samples": ['
_EMPTY = (b'  "samples": []', b'  "samples": [],')
_CLOSE = (b"  ]", b"  ],")


class _NotOneALine(Exception):
    """The file is not laid out one sample a line: read it whole instead."""


def _check(layout: DatasetLayout) -> None:
    if not layout.manifest.exists():
        raise MissingInput(f"{layout.manifest} does not exist; run the import and manifest steps first")


def load_manifest(layout: DatasetLayout) -> dict[str, Any]:
    """The manifest of ``layout``; :class:`MissingInput` naming the steps to run when there is none.

    Every sample is parsed and held; a reader that can take the samples one
    at a time uses :func:`iter_samples` (or :func:`load_manifest_head` for the rest).
    """
    _check(layout)
    return read_json(layout.manifest)


def _parse_line(line: bytes) -> dict[str, Any]:
    text = line.rstrip(b"\r\n")
    text = text[:-1] if text.endswith(b",") else text
    if not (text.startswith(b"    {") and text.endswith(b"}")):
        raise _NotOneALine
    try:
        sample = json.loads(text)
    except ValueError:
        raise _NotOneALine from None
    return sample


def _scan(path: os.PathLike | str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``(offset, length, sample)`` of each sample line; :class:`_NotOneALine` when the layout differs."""
    with open(path, "rb") as handle:
        offset = 0
        for line in handle:
            offset += len(line)
            head = line.rstrip(b"\r\n")
            if head in _EMPTY:
                return
            if head == _OPEN:
                break
        else:
            raise _NotOneALine
        for line in handle:
            if line.rstrip(b"\r\n") in _CLOSE:
                return
            yield offset, len(line), _parse_line(line)
            offset += len(line)
        raise _NotOneALine  # cut short


def iter_samples(layout: DatasetLayout) -> Iterator[dict[str, Any]]:
    """The manifest's samples in file order (sorted by id), one at a time.

    Raises
    ------
    MissingInput : there is no manifest.

    Example
    -------
    >>> labels = Counter(s["label"] for s in iter_samples(layout))  # doctest: +SKIP
    """
    _check(layout)
    scan = _scan(layout.manifest)
    done = 0
    try:
        for _, _, sample in scan:
            yield sample
            done += 1
    except _NotOneALine:
        with open(layout.manifest, encoding="utf-8") as handle:
            samples = json.load(handle)["samples"]
        yield from samples[done:]


def load_manifest_head(layout: DatasetLayout) -> dict[str, Any]:
    """The manifest without its samples (``"samples"`` is empty): summary, augmentation, dataset, ...

    Raises
    ------
    MissingInput : there is no manifest.
    """
    _check(layout)
    kept: list[bytes] = []
    with open(layout.manifest, "rb") as handle:
        inside = False
        for line in handle:
            head = line.rstrip(b"\r\n")
            if not inside and head == _OPEN:
                inside = True
                continue
            if inside:
                if head in _CLOSE:
                    kept.append(b'  "samples": []' + head[3:] + b"\n")
                    inside = False
                continue
            kept.append(line)
    try:
        head_obj = json.loads(b"".join(kept))
    except ValueError:
        with open(layout.manifest, encoding="utf-8") as handle:
            head_obj = json.load(handle)
    head_obj["samples"] = []
    return head_obj


@dataclass
class ManifestIndex:
    """Where each sample of ``manifest.json`` starts: its entry is read back on demand.

    Holds the sample ids (sorted, as the manifest writes them) and each line's
    offset and length; when the file is not laid out one sample a line (or
    not sorted by id), it holds the parsed samples instead.

    Example
    -------
    >>> index = ManifestIndex.build(layout)  # doctest: +SKIP
    >>> index.entries(index.positions(["a1b2", "c3d4"]))  # doctest: +SKIP
    """

    path: str
    ids: list[str]
    offsets: np.ndarray
    lengths: np.ndarray
    parsed: list[dict[str, Any]] | None = None
    by_id: dict[str, int] | None = None

    @classmethod
    def build(cls, layout: DatasetLayout, visit: Callable[[dict[str, Any]], None] | None = None) -> ManifestIndex:
        """Index the manifest of ``layout``, calling ``visit`` on each sample as it streams past."""
        _check(layout)
        ids: list[str] = []
        offsets: list[int] = []
        lengths: list[int] = []
        try:
            for offset, length, sample in _scan(layout.manifest):
                if visit is not None:
                    visit(sample)
                ids.append(sample["id"])
                offsets.append(offset)
                lengths.append(length)
            if any(a >= b for a, b in itertools.pairwise(ids)):
                raise _NotOneALine  # not sorted, or an id twice: look ids up in a dict instead
        except _NotOneALine:
            with open(layout.manifest, encoding="utf-8") as handle:
                samples = json.load(handle)["samples"]
            for sample in samples[len(ids):] if visit is not None else ():
                visit(sample)
            return cls(str(layout.manifest), [s["id"] for s in samples], np.zeros(0, np.int64),
                       np.zeros(0, np.int64), samples, {s["id"]: i for i, s in enumerate(samples)})
        return cls(str(layout.manifest), ids, np.asarray(offsets, np.int64), np.asarray(lengths, np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, sample_id: str) -> int | None:
        """The sample's place in the manifest, or ``None`` when it holds no such id."""
        if self.by_id is not None:
            return self.by_id.get(sample_id)
        i = bisect.bisect_left(self.ids, sample_id)
        return i if i < len(self.ids) and self.ids[i] == sample_id else None

    def entries(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        """The manifest entries at ``positions``, in that order."""
        if self.parsed is not None:
            return [self.parsed[i] for i in positions]
        out = []
        with open(self.path, "rb") as handle:
            for i in positions:
                handle.seek(int(self.offsets[i]))
                out.append(_parse_line(handle.read(int(self.lengths[i]))))
        return out
