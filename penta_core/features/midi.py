"""MIDI features in real musical time: pitch, dynamics, timing, harmony, groove.

The file is parsed once with symusic in ticks. Beat positions are ticks
divided by ticks-per-quarter (a beat is a quarter note); seconds come from
the tempo map (:class:`~penta_core.midi.tempo.TempoMap`, the one the
augmenter uses), never from ticks directly. All work is
vectorised over numpy arrays of notes, with Python loops only over tracks,
tempo/meter segments and the twelve pitch classes.

The result of :func:`extract_midi_features` is a fixed set of numeric
columns (:data:`MIDI_COLUMNS`, documented in docs/features.md) plus the mode
name, a list of flags for degenerate input and a few readable details
(key name, time signature, chord sequence).
"""
from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from penta_core.features import groove, harmony
from penta_core.features.key import key_of_finite_profile
from penta_core.features.vector import finish_features, finished_vector
from penta_core.midi.tempo import (
    _SMALL_MAP,
    TempoMap,
    breakpoints,
    breakpoints_small,
    same_tick_conflict,
    smf_tempo_events,
)

# Bump when a change in this package alters any MIDI feature value: the
# feature cache is keyed by it, so every MIDI sample is then re-extracted.
FEATURE_VERSION = "midi-2"

MAX_HARMONY_BEATS = 100_000  # ~14 h at 120 BPM; bounds memory on absurd files
N_DYNAMICS_SEGMENTS = 8
N_INTERVAL_BINS = 13  # |interval| 0..11 semitones, 12 = an octave or more
EXTREME_TEMPO_BPM = (20.0, 400.0)
# Durations below a 64th note still count for the key profile, so a file of
# zero-length notes keeps a defined key.
MIN_KEY_WEIGHT_BEATS = 1 / 16

COUNT_COLUMNS = ("n_notes", "n_pitched_notes", "n_drum_notes", "n_tracks", "n_programs")
TIMING_COLUMNS = (
    "duration_s", "duration_beats", "tempo_bpm", "tempo_initial_bpm", "tempo_min_bpm",
    "tempo_max_bpm", "n_tempo_changes", "ts_numerator", "ts_denominator",
    "n_time_signature_changes", "note_density", "notes_per_beat", "onset_density",
    "ioi_mean_s", "ioi_std_s", "ioi_mean_beats", "ioi_std_beats", "note_duration_mean_s",
    "note_duration_mean_beats", "articulation_mean", "staccato_ratio", "legato_ratio",
    "polyphony_mean",
)
PITCH_COLUMNS = (
    "pitch_mean", "pitch_std", "pitch_min", "pitch_max", "pitch_range",
    *(f"pc_hist_{i}" for i in range(12)),
    *(f"interval_hist_{i}" for i in range(N_INTERVAL_BINS)),
    "contour_up", "contour_down", "contour_repeat", "interval_abs_mean",
    "interval_signed_mean", "contour_reversal_rate",
)
VELOCITY_COLUMNS = (
    "velocity_mean", "velocity_std", "velocity_min", "velocity_max", "velocity_range",
    *(f"dynamics_{i}" for i in range(N_DYNAMICS_SEGMENTS)),
)
HARMONY_COLUMNS = (
    "key_tonic", "mode_minor", "key_confidence", "key_margin",
    *(f"chord_{q}_ratio" for q in harmony.QUALITY_NAMES),
    "chord_none_ratio", "chord_change_rate", "chord_clarity",
)
GROOVE_COLUMNS = (
    "swing_ratio", "offbeat_ratio", "syncopation", "syncopation_pitched",
    "microtiming_mean_ms", "microtiming_std_ms", "microtiming_mean_beats",
    "has_drums", "drum_hits_per_beat",
    *(f"drum_{v}_per_beat" for v in groove.DRUM_VOICE_NAMES),
)
MIDI_COLUMNS: tuple[str, ...] = (
    COUNT_COLUMNS + TIMING_COLUMNS + PITCH_COLUMNS + VELOCITY_COLUMNS + HARMONY_COLUMNS + GROOVE_COLUMNS
)


PC_KEYS = tuple(f"pc_hist_{i}" for i in range(12))
INTERVAL_KEYS = tuple(f"interval_hist_{i}" for i in range(N_INTERVAL_BINS))
DYNAMICS_KEYS = tuple(f"dynamics_{i}" for i in range(N_DYNAMICS_SEGMENTS))
CHORD_KEYS = tuple(f"chord_{q}_ratio" for q in harmony.QUALITY_NAMES)
DRUM_KEYS = tuple(f"drum_{v}_per_beat" for v in groove.DRUM_VOICE_NAMES)

# Above this many beats the beat chroma is built one pitch class at a time
# (same values, less memory than the all-classes matrix).
MAX_MATRIX_CHROMA_BEATS = 20_000
# Skyline sort key (track << 40) | (tick << 8) | (127 - pitch): fits int64 for
# symusic's int32 ticks and int8 pitches, and a file holds under 2**16 tracks.
_TICK_SHIFT, _TRACK_SHIFT = 8, 40


def _div(a: float, b: float) -> float:
    """``a / b``, or 0 when ``b`` is not positive (degenerate input, flagged elsewhere)."""
    return float(a) / float(b) if b > 0 else 0.0


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """``values.mean()`` and ``values.std()`` of a non-empty float64 array, to the bit, in four array calls.

    numpy's own ``_mean``/``_var`` do exactly these reductions (one pairwise
    sum, the deviations squared, a second pairwise sum); calling them directly
    skips about 10 µs of wrapper per pair on small arrays.
    """
    n = values.size
    mean = values.sum() / n
    dev = values - mean
    dev *= dev
    return float(mean), math.sqrt(dev.sum() / n)


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of an already sorted array."""
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class MeterMap:
    """Bar numbers from the time-signature map (events are assumed to fall on bar lines)."""

    def __init__(self, times: np.ndarray, numerator: np.ndarray, denominator: np.ndarray, tpq: int):
        times, numerator, denominator = np.asarray(times), np.asarray(numerator), np.asarray(denominator)
        if times.size <= _SMALL_MAP:
            self._build_small(times.tolist(), numerator.tolist(), denominator.tolist(), tpq)
        else:
            num = numerator.astype(np.float64)
            den = denominator.astype(np.float64)
            bad = (num <= 0) | (den <= 0)
            self.invalid = bool(bad.any())
            pairs = np.stack((np.where(bad, 4, num), np.where(bad, 4, den)), axis=1)
            self.times, pairs = breakpoints(times.astype(np.int64), pairs, np.array([4.0, 4.0]))
            self.numerator, self.denominator = pairs[:, 0], pairs[:, 1]
            self.bar_ticks = self.numerator * 4.0 * tpq / self.denominator
            bars = np.ceil(np.diff(self.times) / self.bar_ticks[:-1])
            self.start_bar = np.concatenate(([0.0], np.cumsum(bars)))
        # One time signature for the whole file is the usual case: bars are then a floor division.
        self._single = float(self.bar_ticks[0]) if self.times.size == 1 else None

    def _build_small(self, times: list, numerator: list, denominator: list, tpq: int) -> None:
        """The numpy path's arrays, in plain Python (cheaper for a few events)."""
        pairs = [(float(n), float(d)) for n, d in zip(numerator, denominator, strict=True)]
        bad = [n <= 0 or d <= 0 for n, d in pairs]
        self.invalid = any(bad)
        pairs = [(4.0, 4.0) if b else p for b, p in zip(bad, pairs, strict=True)]
        ticks, pairs = breakpoints_small([int(t) for t in times], pairs, (4.0, 4.0))
        bar_ticks = [n * 4.0 * tpq / d for n, d in pairs]
        start, now = [0.0], 0.0
        for k in range(1, len(ticks)):
            bars = float(math.ceil((ticks[k] - ticks[k - 1]) / bar_ticks[k - 1]))
            now = bars if k == 1 else now + bars  # np.cumsum's order of additions
            start.append(now)
        self.times = np.array(ticks, dtype=np.int64)
        self.numerator = np.array([n for n, _ in pairs], dtype=np.float64)
        self.denominator = np.array([d for _, d in pairs], dtype=np.float64)
        self.bar_ticks = np.array(bar_ticks, dtype=np.float64)
        self.start_bar = np.array(start, dtype=np.float64)

    def bar_index(self, ticks: np.ndarray) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.float64)
        if self._single is not None:
            # start_bar[0] + floor((ticks - times[0]) / bar_ticks[0]), whose first terms are 0.0 and 0
            return np.floor(ticks / self._single) + 0.0
        seg = np.maximum(np.searchsorted(self.times, ticks, side="right") - 1, 0)
        return self.start_bar[seg] + np.floor((ticks - self.times[seg]) / self.bar_ticks[seg])

    def at(self, tick: float) -> tuple[int, int]:
        seg = 0 if self._single is not None else max(int(np.searchsorted(self.times, tick, side="right")) - 1, 0)
        return int(self.numerator[seg]), int(self.denominator[seg])


def load_score(source: Any):
    """A symusic ``Score`` in ticks from a path, MIDI bytes or a score."""
    import symusic

    if isinstance(source, (bytes, bytearray)):
        return symusic.Score.from_midi(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return symusic.Score.from_file(str(source))
    if isinstance(source, symusic.Score) and source.ttype == symusic.TimeUnit.tick:
        return source
    if isinstance(source, symusic.Score):
        return source.to("tick")
    raise TypeError(f"source must be a path, MIDI bytes or a symusic Score, got {type(source).__name__}")


def _tempo_map(score, source: Any, tpq: int) -> TempoMap:
    """The file's tempo map; the file's own event order settles tempo events that share a tick.

    symusic sorts tempo events by tick without keeping their order within a
    tick, so when such events disagree the bytes are read again (only then).
    """
    tempos = score.tempos.numpy()
    ticks, mspq = tempos["time"], tempos["mspq"]
    if same_tick_conflict(ticks, mspq) and isinstance(source, (bytes, bytearray, str, os.PathLike)):
        data = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
        with contextlib.suppress(ValueError):  # symusic read what the walker cannot: keep symusic's order
            ticks, mspq = smf_tempo_events(data)
    return TempoMap(ticks, mspq, tpq)


class _Notes:
    """Every note of a score as flat arrays, in track order (then symusic's order within a track)."""

    def __init__(self, score) -> None:
        lists, track_ids, counts, drums, programs = [], [], [], [], set()
        for index, track in enumerate(score.tracks):
            notes = track.notes
            n = len(notes)
            if n == 0:
                continue
            lists.append(notes)
            track_ids.append(index)
            counts.append(n)
            drums.append(bool(track.is_drum))
            if not track.is_drum:
                programs.add(int(track.program))
        # One note list of every track, in track order, made into arrays at once: symusic's numpy()
        # costs about 10 µs a call whatever the length, and copying the notes a fraction of that.
        if len(lists) > 1:
            merged = lists[0].copy()
            for notes in lists[1:]:
                merged.extend(notes)
            lists = [merged]
        arrays = lists[0].numpy() if lists else None

        def column(name: str, dtype) -> np.ndarray:
            return arrays[name].astype(dtype) if arrays is not None else np.zeros(0, dtype=dtype)

        self.time = column("time", np.int64)
        np.maximum(self.time, 0, out=self.time)
        self.duration = column("duration", np.int64)
        np.maximum(self.duration, 0, out=self.duration)
        self.pitch = column("pitch", np.int64)
        self.velocity = column("velocity", np.float64)
        # Array methods where numpy's functions only wrap them (here and below): a µs less a call.
        self.track = np.array(track_ids, dtype=np.int64).repeat(counts)
        self.drum = np.array(drums, dtype=bool).repeat(counts)
        self.n_tracks = len(track_ids)
        self.n_pitched_tracks = drums.count(False)
        self.n_drum = sum(c for c, d in zip(counts, drums, strict=True) if d)
        self.n_programs = len(programs)
        # symusic's int32 ticks and int8 pitches fit the skyline's one-integer sort key.
        self.compact = arrays is None or (arrays["time"].dtype.itemsize <= 4 and arrays["pitch"].dtype.itemsize == 1)


def _pitch_features(f: dict, time, duration, pitch, pitch_class, track, tpq, compact: bool,
                    one_track: bool) -> np.ndarray:
    """Pitch statistics, the pitch-class histogram, melodic intervals and articulation.

    ``compact``: ticks and pitches fit the one-integer sort key; ``one_track``:
    every note is in the same track. Returns the pitch-class histogram (the key profile).
    """
    n = pitch.size
    # pitch.astype(float).mean() sums integers exactly, so it is the integer sum over n.
    mean = int(pitch.sum()) / n
    dev = pitch - mean
    dev *= dev
    lo, hi = float(pitch.min()), float(pitch.max())
    f.update(pitch_mean=mean, pitch_std=math.sqrt(dev.sum() / n), pitch_min=lo, pitch_max=hi, pitch_range=hi - lo)
    weights = np.maximum(duration / tpq, MIN_KEY_WEIGHT_BEATS)
    pc = np.bincount(pitch_class, weights=weights, minlength=12)
    total = pc.sum()
    if total > 0:
        pc = pc / total
    f.update(zip(PC_KEYS, pc.tolist(), strict=True))

    # Melody per track = its highest note at each onset (skyline); intervals
    # are taken between consecutive skyline notes of the same track. One sort
    # of (track, onset, -pitch) keys gives the skyline and the onsets per track.
    if compact:
        keys = (time << _TICK_SHIFT) | (127 - pitch)
        if not one_track:
            keys |= track << _TRACK_SHIFT
        keys.sort()
        onset_keys = keys >> _TICK_SHIFT  # (track << 32) + tick
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(onset_keys[1:], onset_keys[:-1], out=first[1:])
        sky = keys[first]
        sky_p = 127 - (sky & 255)
        sky_tr = None if one_track else sky >> _TRACK_SHIFT
        track_onsets = onset_keys[first]
    else:
        order = np.lexsort((-pitch, time, track))
        t_sorted, tr_sorted, p_sorted = time[order], track[order], pitch[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = (t_sorted[1:] != t_sorted[:-1]) | (tr_sorted[1:] != tr_sorted[:-1])
        sky_p, sky_tr = p_sorted[first], tr_sorted[first]
        track_onsets = _sorted_unique(np.sort(track * (1 << 32) + time))  # numpy 2.4's np.unique hashes: slower
        one_track = False
    intervals = sky_p[1:] - sky_p[:-1]
    if not one_track:
        same = sky_tr[1:] == sky_tr[:-1]
        intervals = intervals[same]
    m = intervals.size
    if m:
        magnitude = np.abs(intervals)
        hist = np.bincount(np.minimum(magnitude, N_INTERVAL_BINS - 1), minlength=N_INTERVAL_BINS) / m
        f.update(zip(INTERVAL_KEYS, hist.tolist(), strict=True))
        signs = np.sign(intervals)
        down, repeat, up = np.bincount(signs + 1, minlength=3).tolist()
        # Integer sums are exact, so their quotient is numpy's mean to the bit.
        f.update(contour_up=up / m, contour_down=down / m, contour_repeat=repeat / m,
                 interval_abs_mean=int(magnitude.sum()) / m, interval_signed_mean=int(intervals.sum()) / m)
        moving = signs != 0
        signs = signs[moving]
        turns = signs[1:] != signs[:-1]
        if one_track:
            f["contour_reversal_rate"] = _div(np.count_nonzero(turns), signs.size - 1)
        else:
            iv_track = sky_tr[1:][same][moving]
            pairs = iv_track[1:] == iv_track[:-1]
            f["contour_reversal_rate"] = _div(np.count_nonzero(turns & pairs), np.count_nonzero(pairs))
    else:
        f.update(zip(INTERVAL_KEYS, (0.0,) * N_INTERVAL_BINS, strict=True))
        f.update(contour_up=0.0, contour_down=0.0, contour_repeat=0.0, interval_abs_mean=0.0,
                 interval_signed_mean=0.0, contour_reversal_rate=0.0)
    _articulation(f, time, duration, track, track_onsets, one_track)
    return pc


def _articulation(f: dict, time, duration, track, onsets, one_track: bool) -> None:
    """Duration over the gap to the next onset in the same track (1 = legato, < 0.5 staccato).

    ``onsets`` are the sorted distinct ``(track << 32) + tick`` of the notes
    (just the ticks when ``one_track``).
    """
    key = time if one_track else (track << 32) + time
    nxt = onsets.searchsorted(key, side="right")
    has_next = nxt < onsets.size
    nxt_key = onsets[np.minimum(nxt, onsets.size - 1)]
    if not one_track:
        has_next &= (nxt_key >> 32) == track
    ratio = np.minimum(duration[has_next] / (nxt_key[has_next] - key[has_next]), 2.0)
    n = ratio.size
    f["articulation_mean"] = float(ratio.sum() / n) if n else 0.0
    f["staccato_ratio"] = _div(np.count_nonzero(ratio < 0.5), n)
    f["legato_ratio"] = _div(np.count_nonzero(ratio >= 0.9), n)


def _polyphony(time, duration) -> float:
    """Mean number of pitched notes sounding while at least one sounds."""
    if time.size == 0:
        return 0.0
    order = time.argsort()  # the union's length does not depend on the order of equal onsets
    start, end = time[order], (time + duration)[order]
    reach = np.maximum.accumulate(end)
    # Time covered by the union of notes: span minus the gaps between them.
    gaps = np.maximum(start[1:] - reach[:-1], 0).sum()
    covered = (reach[-1] - start[0]) - gaps
    return _div(duration.sum(), covered)


def _harmony_features(f: dict, details: dict, flags: list, profile, time, duration, pitch, pitch_class,
                      tpq) -> None:
    key = key_of_finite_profile(profile)
    if not key.defined:
        flags.append("key_undefined")
    f.update(key_tonic=float(key.tonic), mode_minor=1.0 if key.mode == "minor" else 0.0,
             key_confidence=key.confidence, key_margin=key.margin, mode=key.mode)
    details["key"] = key.name
    end_ticks = time + duration
    n_beats = math.ceil(int(end_ticks.max()) / tpq)
    if n_beats <= MAX_MATRIX_CHROMA_BEATS:
        chroma = harmony.beat_chroma_ticks(time, end_ticks, pitch_class, n_beats, tpq)
    else:
        start, end = time / tpq, end_ticks / tpq
        if n_beats > MAX_HARMONY_BEATS:
            flags.append("harmony_truncated")
            n_beats = MAX_HARMONY_BEATS
            keep = start < n_beats
            start, end, pitch_class = start[keep], np.minimum(end[keep], n_beats), pitch_class[keep]
        chroma = harmony.beat_chroma(start, end, pitch_class, n_beats)
    beats, code, score = harmony.voiced_chords(chroma)
    n_voiced = beats.size
    counts = np.bincount(code & 15, minlength=len(harmony.QUALITY_NAMES)).tolist()
    f.update(zip(CHORD_KEYS, (_div(c, n_voiced) for c in counts), strict=True))
    f["chord_none_ratio"] = _div(n_beats - n_voiced, n_beats)
    starts = harmony.change_starts(code)
    f["chord_change_rate"] = _div(starts.size - 1, n_voiced - 1)  # each start after the first is a change
    f["chord_clarity"] = float(score.sum() / n_voiced) if n_voiced else 0.0
    details["chords"] = harmony.changes(beats, code, starts)


def _groove_features(f: dict, notes: _Notes, onsets, onset_s, tempo: TempoMap, meter: MeterMap, tpq: int,
                     duration_beats: float) -> None:
    beats = onsets / tpq
    f["swing_ratio"], f["offbeat_ratio"] = groove.swing(beats)
    sixteenth = tpq / 4.0

    def bar_of_grid(g: np.ndarray) -> np.ndarray:
        return meter.bar_index(g * sixteenth)

    # Onsets are sorted, so their rounded sixteenths are too. (np.rint: np.round of floats, without its wrapper.)
    grid = _sorted_unique(np.rint(onsets / sixteenth).astype(np.int64))
    f["syncopation"] = groove.syncopation(grid, bar_of_grid)
    if notes.n_drum:
        pitched_onsets = _sorted_unique(np.sort(notes.time[~notes.drum]))
        grid = _sorted_unique(np.rint(pitched_onsets / sixteenth).astype(np.int64))
        f["syncopation_pitched"] = groove.syncopation(grid, bar_of_grid)
    else:
        f["syncopation_pitched"] = f["syncopation"]
    dev_beats = groove.microtiming(beats)
    dev_s = onset_s - tempo.seconds(onsets - dev_beats * tpq)
    abs_s = np.abs(dev_s)
    f["microtiming_mean_ms"] = float(abs_s.sum() / abs_s.size * 1000)
    f["microtiming_std_ms"] = _mean_std(dev_s)[1] * 1000
    abs_beats = np.abs(dev_beats)
    f["microtiming_mean_beats"] = float(abs_beats.sum() / abs_beats.size)
    f["has_drums"] = 1.0 if notes.n_drum else 0.0
    f["drum_hits_per_beat"] = _div(notes.n_drum, duration_beats)
    if notes.n_drum:
        counts = groove.drum_voice_counts(notes.pitch[notes.drum]).tolist()
        f.update(zip(DRUM_KEYS, (_div(c, duration_beats) for c in counts), strict=True))
    else:
        f.update(zip(DRUM_KEYS, (0.0,) * len(DRUM_KEYS), strict=True))


def extract_midi_features(source: Any) -> dict[str, Any]:
    """Extract every MIDI feature of one file.

    Parameters
    ----------
    source : path to a MIDI file, MIDI bytes, or a ``symusic.Score``.

    Returns
    -------
    dict with
        ``features`` : ``{column: float}`` for every name in :data:`MIDI_COLUMNS`,
        plus ``mode`` (``"major"`` or ``"minor"``);
        ``flags`` : sorted list of degenerate-input markers (``"no_pitched_notes"``,
        ``"single_onset"``, ``"extreme_tempo"``, ...), empty for ordinary files;
        ``details`` : readable extras (``key``, ``time_signature``, ``chords`` as
        ``[[beat, "A:min"], ...]`` at each change).

    Example
    -------
    >>> out = extract_midi_features("song.mid")  # doctest: +SKIP
    >>> out["features"]["tempo_bpm"], out["features"]["mode"]  # doctest: +SKIP
    (120.0, 'minor')
    """
    f, flags, details = _raw_features(source)
    return finish_features(f, MIDI_COLUMNS, flags, details)


def midi_feature_vector(source: Any) -> tuple[np.ndarray, str, list[str], dict[str, Any]]:
    """:func:`extract_midi_features` as the feature table stores it: the values as one vector.

    Parameters
    ----------
    source : path to a MIDI file, MIDI bytes, or a ``symusic.Score``.

    Returns
    -------
    vector : float64, the values of ``extract_midi_features(source)["features"]``
        in :data:`MIDI_COLUMNS` order, to the bit.
    mode : ``"major"`` or ``"minor"``.
    flags, details : as :func:`extract_midi_features` gives them.

    Example
    -------
    >>> vector, mode, flags, details = midi_feature_vector("song.mid")  # doctest: +SKIP
    >>> vector[MIDI_COLUMNS.index("tempo_bpm")], mode  # doctest: +SKIP
    (120.0, 'minor')
    """
    f, flags, details = _raw_features(source)
    vector, flags = finished_vector(f, MIDI_COLUMNS, flags)
    return vector, f.get("mode", "major"), flags, details


def _raw_features(source: Any) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Every MIDI feature of one file before rounding (a column may be missing: it is 0), flags, details."""
    score = load_score(source)
    tpq = int(score.ticks_per_quarter)
    if tpq <= 0:
        raise ValueError(f"MIDI has an invalid ticks-per-quarter value ({tpq})")
    tempo = _tempo_map(score, source, tpq)
    sigs = score.time_signatures.numpy()
    meter = MeterMap(sigs["time"], sigs["numerator"], sigs["denominator"], tpq)
    notes = _Notes(score)
    flags: list[str] = []
    if tempo.invalid:
        flags.append("invalid_tempo")
    if meter.invalid:
        flags.append("invalid_time_signature")
    f: dict[str, Any] = {}
    details: dict[str, Any] = {"key": "undefined", "time_signature": "4/4", "chords": []}
    time, duration, pitch = notes.time, notes.duration, notes.pitch
    n_notes = time.size
    if n_notes == 0:
        flags.append("no_notes")
        return f, flags, details

    end = time + duration
    end_tick = float(end.max())
    first_tick = float(time.min())
    duration_s = float(tempo.seconds(end_tick))
    duration_beats = end_tick / tpq
    onsets = _sorted_unique(np.sort(time))
    onset_s = tempo.seconds(onsets)
    f.update(
        n_notes=n_notes, n_pitched_notes=n_notes - notes.n_drum, n_drum_notes=notes.n_drum,
        n_tracks=notes.n_tracks, n_programs=notes.n_programs,
        duration_s=duration_s, duration_beats=duration_beats,
    )

    # Tempo over the sounding span [0, end]; the mean is beats per minute of
    # real time, so it matches what an audio tempo estimate would measure.
    bpm = [6e7 / m for k, (t, m) in enumerate(zip(tempo.times.tolist(), tempo.mspq.tolist(), strict=True))
           if t < end_tick or k == 0]
    f["tempo_bpm"] = _div(60.0 * duration_beats, duration_s) if duration_s > 0 else tempo.bpm_at(0)
    f["tempo_initial_bpm"] = tempo.bpm_at(first_tick)
    f["tempo_min_bpm"], f["tempo_max_bpm"] = min(bpm), max(bpm)
    f["n_tempo_changes"] = sum(a != b for a, b in zip(bpm[1:], bpm[:-1], strict=True))
    if not (EXTREME_TEMPO_BPM[0] <= f["tempo_bpm"] <= EXTREME_TEMPO_BPM[1]):
        flags.append("extreme_tempo")
    f["ts_numerator"], f["ts_denominator"] = meter.at(first_tick)
    details["time_signature"] = f"{f['ts_numerator']}/{f['ts_denominator']}"
    pairs = [n * 1000 + d for k, (t, n, d) in enumerate(zip(
        meter.times.tolist(), meter.numerator.tolist(), meter.denominator.tolist(), strict=True))
        if t < end_tick or k == 0]
    f["n_time_signature_changes"] = sum(a != b for a, b in zip(pairs[1:], pairs[:-1], strict=True))

    if duration_s <= 0:
        flags.append("zero_duration")
    if n_notes == 1:
        flags.append("single_note")
    if onsets.size == 1:
        flags.append("single_onset")
    f["note_density"] = _div(n_notes, duration_s)
    f["notes_per_beat"] = _div(n_notes, duration_beats)
    f["onset_density"] = _div(onsets.size, duration_s)
    if onsets.size > 1:
        f["ioi_mean_s"], f["ioi_std_s"] = _mean_std(onset_s[1:] - onset_s[:-1])
        f["ioi_mean_beats"], f["ioi_std_beats"] = _mean_std((onsets[1:] - onsets[:-1]) / tpq)
    else:
        f["ioi_mean_s"] = f["ioi_std_s"] = f["ioi_mean_beats"] = f["ioi_std_beats"] = 0.0
    time_s = tempo.seconds(time)
    note_s = tempo.seconds(end) - time_s
    f["note_duration_mean_s"] = float(note_s.sum() / n_notes)
    f["note_duration_mean_beats"] = float(duration.sum(dtype=np.float64) / n_notes / tpq)

    velocity = notes.velocity
    mean, std = _mean_std(velocity)
    lo, hi = float(velocity.min()), float(velocity.max())
    f.update(velocity_mean=mean, velocity_std=std, velocity_min=lo, velocity_max=hi, velocity_range=hi - lo)
    if duration_s > 0:
        segment = np.minimum((time_s / duration_s * N_DYNAMICS_SEGMENTS).astype(np.int64), N_DYNAMICS_SEGMENTS - 1)
    else:
        segment = np.zeros(n_notes, dtype=np.int64)
    vel_sum = np.bincount(segment, weights=velocity, minlength=N_DYNAMICS_SEGMENTS).tolist()
    vel_n = np.bincount(segment, minlength=N_DYNAMICS_SEGMENTS).tolist()
    f.update(zip(DYNAMICS_KEYS, (_div(s, c) for s, c in zip(vel_sum, vel_n, strict=True)), strict=True))

    if notes.n_drum == n_notes:
        flags.append("no_pitched_notes")
        f["mode"] = "major"
    else:
        if notes.n_drum:
            pitched = ~notes.drum
            p_time, p_dur, p_pitch, p_track = time[pitched], duration[pitched], pitch[pitched], notes.track[pitched]
        else:
            p_time, p_dur, p_pitch, p_track = time, duration, pitch, notes.track
        p_class = p_pitch % 12
        profile = _pitch_features(f, p_time, p_dur, p_pitch, p_class, p_track, tpq, notes.compact,
                                  notes.n_pitched_tracks == 1)
        f["polyphony_mean"] = _polyphony(p_time, p_dur)
        _harmony_features(f, details, flags, profile, p_time, p_dur, p_pitch, p_class, tpq)
    _groove_features(f, notes, onsets, onset_s, tempo, meter, tpq, duration_beats)
    return f, flags, details
