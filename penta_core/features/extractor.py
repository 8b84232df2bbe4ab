"""MIDI features of one file as a Python object: the record, or the numeric row in column order.

:class:`MIDIFeatureExtractor` wraps :func:`~penta_core.features.midi.extract_midi_features`
for use outside the pipeline (a notebook, a model's inference code). Its
values are the ones the features stage stores for the same bytes, because it
is the same function; what it adds is input checking at the door, so a
missing file or bytes that are not a Standard MIDI File fail with one line
instead of a parser error (or, for a truncated file, a parser crash).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.features.midi import MIDI_COLUMNS, extract_midi_features, load_score
from penta_core.sources.checks import Rejected, check_chunk_lengths, sniff

MidiSource = str | os.PathLike | bytes | bytearray | memoryview


def read_midi_source(source: MidiSource) -> tuple[bytes, str]:
    """The bytes of ``source`` and a name for messages, checked to be a whole Standard MIDI File.

    Parameters
    ----------
    source : path to a MIDI file, or the file's bytes.

    Returns
    -------
    (bytes, str) : the content, and the path (or ``"MIDI bytes"``) to name in errors.

    Raises
    ------
    FileNotFoundError : ``source`` is a path and nothing is there.
    IsADirectoryError : ``source`` is a path to something other than a file.
    ValueError : the content has no ``MThd`` header, or a chunk declares more bytes than follow.
    TypeError : ``source`` is neither a path nor bytes.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "MIDI bytes"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"MIDI file '{path}' does not exist")
        if not path.is_file():
            raise IsADirectoryError(f"MIDI file '{path}' is not a file")
        data, name = path.read_bytes(), str(path)
    else:
        raise TypeError(f"source must be a path or MIDI bytes, got {type(source).__name__}")
    if sniff(data[:16]) != "midi":
        raise ValueError(f"{name}: not a MIDI file (no MThd header)")
    try:
        # symusic reads past a chunk that claims more bytes than the file holds.
        check_chunk_lengths(data)
    except Rejected as err:
        raise ValueError(f"{name}: {err}") from None
    return data, name


class MIDIFeatureExtractor:
    """Features of one MIDI file: the full record, or a float64 row in column order.

    Values are those of the ``features`` stage for the same file: ``vector(f)``
    equals the file's MIDI columns in the feature table (``processed/features/``). The
    extractor holds no state; one instance serves any number of files.

    Attributes
    ----------
    columns : tuple of str
        Column names of :meth:`vector`, in order (:data:`~penta_core.features.midi.MIDI_COLUMNS`,
        documented in docs/features.md).

    Example
    -------
    >>> extractor = MIDIFeatureExtractor()
    >>> row = extractor.vector("datasets/examples/happy/happy_01.mid")
    >>> row.shape == (len(extractor.columns),)
    True
    >>> record = extractor.extract("datasets/examples/happy/happy_01.mid")
    >>> record["features"]["mode"], record["flags"]
    ('major', [])
    """

    columns: tuple[str, ...] = MIDI_COLUMNS

    def extract(self, source: MidiSource) -> dict[str, Any]:
        """The feature record of one MIDI file, as the features stage stores it.

        Parameters
        ----------
        source : path to a MIDI file (``str`` or path-like), or the file's bytes.

        Returns
        -------
        dict with
            ``features`` : ``{column: float}`` for every name in :attr:`columns`,
            plus ``mode`` (``"major"`` or ``"minor"``);
            ``flags`` : sorted degenerate-input markers (``"no_notes"``,
            ``"single_onset"``, ``"extreme_tempo"``, ...), empty for ordinary files;
            ``details`` : ``key``, ``time_signature`` and ``chords`` (``[[beat, "A:min"], ...]``).

        Raises
        ------
        FileNotFoundError : no file at the path.
        ValueError : the content is not a whole Standard MIDI File or does not parse.

        Example
        -------
        >>> MIDIFeatureExtractor().extract("datasets/examples/sad/sad_01.mid")["features"]["mode"]
        'minor'
        """
        data, name = read_midi_source(source)
        try:
            score = load_score(data)
        except RuntimeError as err:  # symusic's parse errors
            raise ValueError(f"{name}: MIDI does not parse: {' '.join(str(err).split())[:160]}") from None
        try:
            return extract_midi_features(score)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None

    def vector(self, source: MidiSource) -> np.ndarray:
        """The numeric features of one MIDI file as a row in :attr:`columns` order.

        Parameters
        ----------
        source : path to a MIDI file (``str`` or path-like), or the file's bytes.

        Returns
        -------
        numpy.ndarray : float64, shape ``(len(columns),)``, finite everywhere.

        Raises
        ------
        FileNotFoundError : no file at the path.
        ValueError : the content is not a whole Standard MIDI File or does not parse.

        Example
        -------
        >>> extractor = MIDIFeatureExtractor()
        >>> row = extractor.vector("datasets/examples/angry/angry_01.mid")
        >>> float(row[extractor.columns.index("tempo_bpm")]) > 100
        True
        """
        features = self.extract(source)["features"]
        return np.array([features[name] for name in self.columns], dtype=np.float64)
