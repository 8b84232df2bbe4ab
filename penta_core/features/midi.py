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
from penta_core.features.key import estimate_key
from penta_core.features.vector import finish_features
from penta_core.midi.tempo import TempoMap, breakpoints, same_tick_conflict, smf_tempo_events

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


def _div(a: float, b: float) -> float:
    """``a / b``, or 0 when ``b`` is not positive (degenerate input, flagged elsewhere)."""
    return float(a) / float(b) if b > 0 else 0.0


class MeterMap:
    """Bar numbers from the time-signature map (events are assumed to fall on bar lines)."""

    def __init__(self, times: np.ndarray, numerator: np.ndarray, denominator: np.ndarray, tpq: int):
        num = np.asarray(numerator, dtype=np.float64)
        den = np.asarray(denominator, dtype=np.float64)
        bad = (num <= 0) | (den <= 0)
        self.invalid = bool(bad.any())
        pairs = np.stack((np.where(bad, 4, num), np.where(bad, 4, den)), axis=1) if num.size else np.zeros((0, 2))
        self.times, pairs = breakpoints(np.asarray(times, dtype=np.int64), pairs, np.array([4.0, 4.0]))
        self.numerator, self.denominator = pairs[:, 0], pairs[:, 1]
        self.bar_ticks = self.numerator * 4.0 * tpq / self.denominator
        bars = np.ceil(np.diff(self.times) / self.bar_ticks[:-1])
        self.start_bar = np.concatenate(([0.0], np.cumsum(bars)))

    def bar_index(self, ticks: np.ndarray) -> np.ndarray:
        ticks = np.asarray(ticks, dtype=np.float64)
        seg = np.clip(np.searchsorted(self.times, ticks, side="right") - 1, 0, None)
        return self.start_bar[seg] + np.floor((ticks - self.times[seg]) / self.bar_ticks[seg])

    def at(self, tick: float) -> tuple[int, int]:
        seg = max(int(np.searchsorted(self.times, tick, side="right")) - 1, 0)
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


def _gather_notes(score) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "duration", "pitch", "velocity", "track", "drum")}
    programs = []
    for index, track in enumerate(score.tracks):
        if len(track.notes) == 0:
            continue
        arr = track.notes.numpy()
        n = arr["time"].size
        parts["time"].append(arr["time"].astype(np.int64))
        parts["duration"].append(arr["duration"].astype(np.int64))
        parts["pitch"].append(arr["pitch"].astype(np.int64))
        parts["velocity"].append(arr["velocity"].astype(np.float64))
        parts["track"].append(np.full(n, index, dtype=np.int64))
        parts["drum"].append(np.full(n, bool(track.is_drum)))
        if not track.is_drum:
            programs.append(int(track.program))
    notes = {k: (np.concatenate(v) if v else np.zeros(0, dtype=np.bool_ if k == "drum" else np.int64))
             for k, v in parts.items()}
    notes["time"] = np.maximum(notes["time"], 0)
    notes["duration"] = np.maximum(notes["duration"], 0)
    notes["n_programs"] = np.array(len(set(programs)))
    return notes


def _stats(values: np.ndarray) -> tuple[float, float, float, float]:
    if values.size == 0:
        return 0.0, 0.0, 0.0, 0.0
    return float(values.mean()), float(values.std()), float(values.min()), float(values.max())


def _pitch_features(f: dict, time, duration, pitch, track, tpq) -> None:
    mean, std, lo, hi = _stats(pitch.astype(np.float64))
    f.update(pitch_mean=mean, pitch_std=std, pitch_min=lo, pitch_max=hi, pitch_range=hi - lo)
    weights = np.maximum(duration / tpq, MIN_KEY_WEIGHT_BEATS) if pitch.size else np.zeros(0)
    pc = np.bincount(pitch % 12, weights=weights, minlength=12)
    pc = pc / pc.sum() if pc.sum() > 0 else pc
    for i in range(12):
        f[f"pc_hist_{i}"] = float(pc[i])

    # Melody per track = its highest note at each onset (skyline); intervals
    # are taken between consecutive skyline notes of the same track.
    order = np.lexsort((-pitch, time, track))
    t_sorted, tr_sorted, p_sorted = time[order], track[order], pitch[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (t_sorted[1:] != t_sorted[:-1]) | (tr_sorted[1:] != tr_sorted[:-1])
    sky_p, sky_tr = p_sorted[first], tr_sorted[first]
    same = sky_tr[1:] == sky_tr[:-1]
    intervals = (sky_p[1:] - sky_p[:-1])[same]
    hist = np.bincount(np.minimum(np.abs(intervals), N_INTERVAL_BINS - 1), minlength=N_INTERVAL_BINS)
    hist = hist / intervals.size if intervals.size else hist.astype(np.float64)
    for i in range(N_INTERVAL_BINS):
        f[f"interval_hist_{i}"] = float(hist[i])
    f["contour_up"] = _div((intervals > 0).sum(), intervals.size)
    f["contour_down"] = _div((intervals < 0).sum(), intervals.size)
    f["contour_repeat"] = _div((intervals == 0).sum(), intervals.size)
    f["interval_abs_mean"] = float(np.abs(intervals).mean()) if intervals.size else 0.0
    f["interval_signed_mean"] = float(intervals.mean()) if intervals.size else 0.0
    moving = intervals != 0
    signs, iv_track = np.sign(intervals[moving]), sky_tr[1:][same][moving]
    pairs = iv_track[1:] == iv_track[:-1]
    f["contour_reversal_rate"] = _div(((signs[1:] != signs[:-1]) & pairs).sum(), pairs.sum())


def _articulation(f: dict, time, duration, track) -> None:
    """Duration over the gap to the next onset in the same track (1 = legato, < 0.5 staccato)."""
    key = track * (1 << 32) + time
    onsets = np.unique(key)
    nxt = np.searchsorted(onsets, key, side="right")
    has_next = nxt < onsets.size
    nxt_key = onsets[np.minimum(nxt, onsets.size - 1)] if onsets.size else key
    has_next &= (nxt_key >> 32) == track
    ratio = np.minimum(duration[has_next] / (nxt_key[has_next] - key[has_next]), 2.0)
    f["articulation_mean"] = float(ratio.mean()) if ratio.size else 0.0
    f["staccato_ratio"] = _div((ratio < 0.5).sum(), ratio.size)
    f["legato_ratio"] = _div((ratio >= 0.9).sum(), ratio.size)


def _polyphony(time, duration) -> float:
    """Mean number of pitched notes sounding while at least one sounds."""
    if time.size == 0:
        return 0.0
    order = np.argsort(time, kind="stable")
    start, end = time[order], (time + duration)[order]
    reach = np.maximum.accumulate(end)
    # Time covered by the union of notes: span minus the gaps between them.
    gaps = np.clip(start[1:] - reach[:-1], 0, None).sum()
    covered = (reach[-1] - start[0]) - gaps
    return _div(duration.sum(), covered)


def _harmony_features(f: dict, details: dict, flags: list, time, duration, pitch, tpq) -> None:
    key = estimate_key(np.array([f[f"pc_hist_{i}"] for i in range(12)]))
    if not key.defined:
        flags.append("key_undefined")
    f.update(key_tonic=float(key.tonic), mode_minor=1.0 if key.mode == "minor" else 0.0,
             key_confidence=key.confidence, key_margin=key.margin, mode=key.mode)
    details["key"] = key.name
    start, end = time / tpq, (time + duration) / tpq
    n_beats = math.ceil(end.max()) if end.size else 0
    if n_beats > MAX_HARMONY_BEATS:
        flags.append("harmony_truncated")
        n_beats = MAX_HARMONY_BEATS
        keep = start < n_beats
        start, end, pitch = start[keep], np.minimum(end[keep], n_beats), pitch[keep]
    chroma = harmony.beat_chroma(start, end, pitch % 12, n_beats)
    root, quality, score = harmony.match_chords(chroma)
    voiced = quality >= 0
    n_voiced = int(voiced.sum())
    counts = np.bincount(quality[voiced], minlength=len(harmony.QUALITY_NAMES))
    for q, name in enumerate(harmony.QUALITY_NAMES):
        f[f"chord_{name}_ratio"] = _div(counts[q], n_voiced)
    f["chord_none_ratio"] = _div(n_beats - n_voiced, n_beats)
    code = (root * 16 + quality)[voiced]
    f["chord_change_rate"] = _div((code[1:] != code[:-1]).sum(), code.size - 1)
    f["chord_clarity"] = float(score[voiced].mean()) if n_voiced else 0.0
    details["chords"] = harmony.chord_changes(root, quality)


def _groove_features(f: dict, notes: dict, tempo: TempoMap, meter: MeterMap, tpq: int, duration_beats: float) -> None:
    onsets = np.unique(notes["time"])
    beats = onsets / tpq
    f["swing_ratio"], f["offbeat_ratio"] = groove.swing(beats)

    def bar_of_grid(g: np.ndarray) -> np.ndarray:
        return meter.bar_index(g * (tpq / 4.0))

    grid = np.unique(np.round(onsets / (tpq / 4.0)).astype(np.int64))
    f["syncopation"] = groove.syncopation(grid, bar_of_grid)
    pitched_onsets = np.unique(notes["time"][~notes["drum"]])
    pitched_grid = np.unique(np.round(pitched_onsets / (tpq / 4.0)).astype(np.int64))
    f["syncopation_pitched"] = groove.syncopation(pitched_grid, bar_of_grid)
    dev_beats = groove.microtiming(beats)
    dev_s = tempo.seconds(onsets) - tempo.seconds(onsets - dev_beats * tpq)
    f["microtiming_mean_ms"] = float(np.abs(dev_s).mean() * 1000) if dev_s.size else 0.0
    f["microtiming_std_ms"] = float(dev_s.std() * 1000) if dev_s.size else 0.0
    f["microtiming_mean_beats"] = float(np.abs(dev_beats).mean()) if dev_beats.size else 0.0
    drum_pitch = notes["pitch"][notes["drum"]]
    f["has_drums"] = 1.0 if drum_pitch.size else 0.0
    f["drum_hits_per_beat"] = _div(drum_pitch.size, duration_beats)
    for name, count in zip(groove.DRUM_VOICE_NAMES, groove.drum_voice_counts(drum_pitch)):
        f[f"drum_{name}_per_beat"] = _div(count, duration_beats)


def _finish(f: dict, flags: list, details: dict) -> dict[str, Any]:
    return finish_features(f, MIDI_COLUMNS, flags, details)


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
    score = load_score(source)
    tpq = int(score.ticks_per_quarter)
    if tpq <= 0:
        raise ValueError(f"MIDI has an invalid ticks-per-quarter value ({tpq})")
    tempo = _tempo_map(score, source, tpq)
    sigs = score.time_signatures.numpy()
    meter = MeterMap(sigs["time"], sigs["numerator"], sigs["denominator"], tpq)
    notes = _gather_notes(score)
    flags: list[str] = []
    if tempo.invalid:
        flags.append("invalid_tempo")
    if meter.invalid:
        flags.append("invalid_time_signature")
    f: dict[str, Any] = {}
    details: dict[str, Any] = {"key": "undefined", "time_signature": "4/4", "chords": []}
    time, duration, pitch = notes["time"], notes["duration"], notes["pitch"]
    if time.size == 0:
        flags.append("no_notes")
        return _finish(f, flags, details)

    drum = notes["drum"]
    end_tick = float((time + duration).max())
    first_tick = float(time.min())
    duration_s = float(tempo.seconds(end_tick))
    duration_beats = end_tick / tpq
    onsets = np.unique(time)
    onset_s = tempo.seconds(onsets)
    f.update(
        n_notes=time.size, n_pitched_notes=int((~drum).sum()), n_drum_notes=int(drum.sum()),
        n_tracks=np.unique(notes["track"]).size, n_programs=int(notes["n_programs"]),
        duration_s=duration_s, duration_beats=duration_beats,
    )

    # Tempo over the sounding span [0, end]; the mean is beats per minute of
    # real time, so it matches what an audio tempo estimate would measure.
    live = (tempo.times < end_tick) | (np.arange(tempo.times.size) == 0)
    bpm = tempo.bpm()[live]
    f["tempo_bpm"] = _div(60.0 * duration_beats, duration_s) if duration_s > 0 else tempo.bpm_at(0)
    f["tempo_initial_bpm"] = tempo.bpm_at(first_tick)
    f["tempo_min_bpm"], f["tempo_max_bpm"] = float(bpm.min()), float(bpm.max())
    f["n_tempo_changes"] = int((bpm[1:] != bpm[:-1]).sum())
    if not (EXTREME_TEMPO_BPM[0] <= f["tempo_bpm"] <= EXTREME_TEMPO_BPM[1]):
        flags.append("extreme_tempo")
    f["ts_numerator"], f["ts_denominator"] = meter.at(first_tick)
    details["time_signature"] = f"{f['ts_numerator']}/{f['ts_denominator']}"
    live_ts = (meter.times < end_tick) | (np.arange(meter.times.size) == 0)
    pairs = meter.numerator[live_ts] * 1000 + meter.denominator[live_ts]
    f["n_time_signature_changes"] = int((pairs[1:] != pairs[:-1]).sum())

    if duration_s <= 0:
        flags.append("zero_duration")
    if time.size == 1:
        flags.append("single_note")
    if onsets.size == 1:
        flags.append("single_onset")
    f["note_density"] = _div(time.size, duration_s)
    f["notes_per_beat"] = _div(time.size, duration_beats)
    f["onset_density"] = _div(onsets.size, duration_s)
    ioi_s, ioi_b = np.diff(onset_s), np.diff(onsets) / tpq
    f["ioi_mean_s"], f["ioi_std_s"] = (float(ioi_s.mean()), float(ioi_s.std())) if ioi_s.size else (0.0, 0.0)
    f["ioi_mean_beats"], f["ioi_std_beats"] = (float(ioi_b.mean()), float(ioi_b.std())) if ioi_b.size else (0.0, 0.0)
    note_s = tempo.seconds(time + duration) - tempo.seconds(time)
    f["note_duration_mean_s"] = float(note_s.mean())
    f["note_duration_mean_beats"] = float(duration.mean() / tpq)

    velocity = notes["velocity"]
    mean, std, lo, hi = _stats(velocity)
    f.update(velocity_mean=mean, velocity_std=std, velocity_min=lo, velocity_max=hi, velocity_range=hi - lo)
    segment = np.minimum((tempo.seconds(time) / duration_s * N_DYNAMICS_SEGMENTS).astype(np.int64)
                         if duration_s > 0 else np.zeros(time.size, dtype=np.int64), N_DYNAMICS_SEGMENTS - 1)
    vel_sum = np.bincount(segment, weights=velocity, minlength=N_DYNAMICS_SEGMENTS)
    vel_n = np.bincount(segment, minlength=N_DYNAMICS_SEGMENTS)
    for i in range(N_DYNAMICS_SEGMENTS):
        f[f"dynamics_{i}"] = _div(vel_sum[i], vel_n[i])

    pitched = ~drum
    p_time, p_dur, p_pitch, p_track = time[pitched], duration[pitched], pitch[pitched], notes["track"][pitched]
    if p_time.size == 0:
        flags.append("no_pitched_notes")
        f["mode"] = "major"
    else:
        _pitch_features(f, p_time, p_dur, p_pitch, p_track, tpq)
        _articulation(f, p_time, p_dur, p_track)
        f["polyphony_mean"] = _polyphony(p_time, p_dur)
        _harmony_features(f, details, flags, p_time, p_dur, p_pitch, tpq)
    _groove_features(f, notes, tempo, meter, tpq, duration_beats)
    return _finish(f, flags, details)
