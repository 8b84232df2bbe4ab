"""A symbolic chord recogniser: chord labels per beat and as segments, in seconds through the tempo map.

Steps, all on the non-drum notes of one file (:class:`~penta_core.midi.notes.Notes`):

1. **Beat grid.** Beats are quarter notes of the file's tick grid, but a
   performance need not put the beat on tick 0: POP909's files sit a quarter
   or three quarters of a beat off it. The grid's phase is the densest onset
   position within a beat (a circular histogram of onsets, 48 bins,
   smoothed); notes are heard a 24th of a beat later than written, so that
   notes played slightly early still fall in their beat.
2. **Per beat**, how long each pitch class sounds (duration-weighted chroma)
   and which pitch class is lowest, in four slices of the beat (the bass).
   The melody can be left out (``exclude``): its passing tones blur the
   chord, and annotators name the accompaniment's harmony.
3. **Scores**: for every root and each of the eleven :data:`QUALITIES`, the
   share of the beat's sound on chord tones, minus :data:`NON_CHORD_WEIGHT`
   times the share off them, plus :data:`COVER_WEIGHT` times how many chord
   tones sound (each counted fully once it holds :data:`TONE_FULL` of the
   beat), plus bass terms (the bass on the root, or on any chord tone),
   minus a prior per quality (:data:`QUALITY_PRIOR`: a seventh must be heard,
   not guessed). A beat with less than :data:`NO_CHORD_ENERGY` beats of sound is ``N``.
4. **Smoothing**: the best path through the beats (Viterbi) where changing
   chord costs :data:`CHANGE_COST`, halved on every other beat (chords change
   on strong beats); both parities are tried and the better path kept.

The constants were chosen on the ten POP909 fixture songs, from a broad
plateau on which songs 001-005 and 006-010 score alike: majmin 0.929 and
sevenths 0.889 (mir_eval, duration-weighted), where a plain beat-level
major/minor template matcher scores 0.770 and 0.723
(``benchmarks/chord_recognition.py`` prints both).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penta_core.features.harmony import beat_chroma
from penta_core.harmony.harte import NO_CHORD, QUALITIES, name
from penta_core.midi.notes import Notes

NON_CHORD_WEIGHT = 0.5
COVER_WEIGHT = 0.3
TONE_FULL = 0.05  # share of a beat's sound at which a chord tone counts as fully present
BASS_ROOT_WEIGHT = 0.1
BASS_TONE_WEIGHT = 0.1
QUALITY_PRIOR = {"maj": 0.0, "min": 0.0, "dim": 0.12, "aug": 0.15, "sus2": 0.1, "sus4": 0.1,
                 "7": 0.2, "maj7": 0.2, "min7": 0.2, "hdim7": 0.24, "dim7": 0.29}
CHANGE_COST = 0.6
STRONG_BEAT_DISCOUNT = 0.5  # a change on a strong beat costs this much less
NO_CHORD_ENERGY = 0.25  # beats of sounding notes (all pitch classes) below which a beat has no chord
BASS_SLICES = 4
PHASE_BINS = 48
PHASE_LEAD = 1 / 24  # notes count this much of a beat later: one played a little early stays in its beat


def _templates() -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    rows, roots, labels, prior = [], [], [], []
    for quality, intervals in QUALITIES.items():
        for root in range(12):
            row = np.zeros(12)
            row[[(root + i) % 12 for i in intervals]] = 1.0
            rows.append(row)
            roots.append(root)
            labels.append(name(root, quality))
            prior.append(QUALITY_PRIOR[quality])
    return np.array(rows), np.array(roots), labels, np.array(prior)


TEMPLATES, TEMPLATE_ROOTS, TEMPLATE_LABELS, TEMPLATE_PRIOR = _templates()
STATE_LABELS = TEMPLATE_LABELS + [NO_CHORD]


@dataclass(frozen=True)
class ChordAnalysis:
    """Chords of one file.

    Attributes
    ----------
    beat_ticks : start tick of each beat, and the end of the last (one more than ``beat_labels``).
    beat_times : the same in seconds.
    beat_labels : Harte label of each beat (``N`` where nothing sounds).
    phase : where the beat grid sits within a quarter note, as a fraction of it.
    """

    beat_ticks: np.ndarray
    beat_times: np.ndarray
    beat_labels: list[str]
    phase: float

    def segments(self) -> list[tuple[float, float, str]]:
        """``(start_s, end_s, label)`` of each run of equal beat labels, in order."""
        return [(float(self.beat_times[a]), float(self.beat_times[b]), label)
                for a, b, label in self.segment_beats()]

    def segment_beats(self) -> list[tuple[int, int, str]]:
        """``(first beat, end beat, label)`` of each run of equal beat labels (end exclusive)."""
        runs: list[tuple[int, int, str]] = []
        for k, label in enumerate(self.beat_labels):
            if runs and runs[-1][2] == label:
                runs[-1] = (runs[-1][0], k + 1, label)
            else:
                runs.append((k, k + 1, label))
        return runs


def beat_phase(start: np.ndarray, tpq: int) -> float:
    """Where the beat falls within a quarter note of ticks: a fraction in [0, 1).

    The start of the densest bin of a 48-bin circular histogram of onset
    positions within a beat, smoothed with a 5-bin triangle.

    Example
    -------
    >>> beat_phase(np.array([120, 600, 1080, 1560, 360]), 480)  # onsets a quarter beat late
    0.25
    """
    if start.size == 0:
        return 0.0
    position = (np.asarray(start) % tpq) * PHASE_BINS // tpq
    counts = np.bincount(position.astype(np.int64), minlength=PHASE_BINS).astype(np.float64)
    kernel = (1.0, 2.0, 3.0, 2.0, 1.0)
    smooth = sum(w * np.roll(counts, shift) for w, shift in zip(kernel, range(-2, 3)))
    best = int(np.argmax(smooth))  # the first of equal maxima: same answer everywhere
    return best / PHASE_BINS


def _beat_bass(start: np.ndarray, end: np.ndarray, pitch: np.ndarray, n_beats: int) -> np.ndarray:
    """Per beat, in how many of its :data:`BASS_SLICES` slices each pitch class is the lowest sounding."""
    n_slices = n_beats * BASS_SLICES
    lowest = np.full(n_slices, 128, dtype=np.int64)
    first = np.floor(start * BASS_SLICES).astype(np.int64)
    last = np.minimum(np.ceil(end * BASS_SLICES).astype(np.int64), n_slices)
    span = np.maximum(last - first, 0)
    if span.sum():
        offsets = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
        np.minimum.at(lowest, np.repeat(first, span) + offsets, np.repeat(pitch, span))
    bass = np.zeros((n_slices, 12))
    sounding = np.flatnonzero(lowest < 128)
    bass[sounding, lowest[sounding] % 12] = 1.0
    return bass.reshape(n_beats, BASS_SLICES, 12).sum(axis=1)


def beat_scores(chroma: np.ndarray, bass: np.ndarray) -> np.ndarray:
    """Score of every state (the templates, then ``N``) on every beat; shape ``(n_beats, 133)``.

    Parameters
    ----------
    chroma : (n_beats, 12) beats of sound per pitch class.
    bass : (n_beats, 12) slices in which each pitch class is the lowest note.
    """
    energy = chroma.sum(axis=1)
    share = chroma / np.maximum(energy, 1e-12)[:, None]
    bass_share = bass / np.maximum(bass.sum(axis=1), 1e-12)[:, None]
    inside = share @ TEMPLATES.T
    cover = (np.minimum(share / TONE_FULL, 1.0) @ TEMPLATES.T) / TEMPLATES.sum(axis=1)
    scores = (inside - NON_CHORD_WEIGHT * (1.0 - inside) + COVER_WEIGHT * cover
              + BASS_ROOT_WEIGHT * bass_share[:, TEMPLATE_ROOTS] + BASS_TONE_WEIGHT * (bass_share @ TEMPLATES.T)
              - TEMPLATE_PRIOR)
    # Silence is N for certain; any sound at all rules N out.
    silent = np.where(energy < NO_CHORD_ENERGY, 10.0, -10.0)
    return np.concatenate((scores, silent[:, None]), axis=1)


def best_path(scores: np.ndarray, change_cost: np.ndarray) -> tuple[np.ndarray, float]:
    """The state sequence maximising the summed scores minus ``change_cost[k]`` per change into beat ``k``.

    Returns the path and its value. Ties keep the current state, then take the lowest state index.
    """
    n, n_states = scores.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    value = scores[0].copy()
    back = np.zeros((n, n_states), dtype=np.int32)
    states = np.arange(n_states, dtype=np.int32)
    for k in range(1, n):
        best = int(np.argmax(value))
        switch = value[best] - change_cost[k]
        stay = value >= switch
        back[k] = np.where(stay, states, best)
        value = np.where(stay, value, switch) + scores[k]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(value))
    for k in range(n - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path, float(value.max())


def _grid(notes: Notes, heard: Notes) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Heard note times in beats of the grid, the grid's ticks (its first beat may be partial), the phase."""
    tpq = notes.tpq
    phase = beat_phase(heard.start, tpq)
    origin = (phase - 1.0) * tpq if phase > 0 else 0.0  # at or before tick 0, so every note lies on the grid
    start = (heard.start - origin) / tpq + PHASE_LEAD
    end = np.maximum((heard.end - origin) / tpq + PHASE_LEAD, start)
    n_beats = int(np.ceil((notes.end.max() - origin) / tpq)) if notes.size else 0
    ticks = np.maximum(origin + np.arange(n_beats + 1) * tpq, 0.0)
    return start, end, ticks, n_beats, phase


def recognize_chords(notes: Notes, exclude: np.ndarray | None = None) -> ChordAnalysis:
    """Chord of every beat of ``notes`` (non-drum notes only).

    Parameters
    ----------
    notes : the file's notes (:func:`~penta_core.midi.notes.read_notes`).
    exclude : optional boolean mask over ``notes``: notes not heard as harmony
        (the melody). Ignored when it would leave nothing to hear.

    Returns
    -------
    ChordAnalysis : beats with a label each; ``segments()`` gives ``(start_s, end_s, label)``.

    Example
    -------
    >>> analysis = recognize_chords(read_notes("song.mid"))  # doctest: +SKIP
    >>> analysis.segments()[:2]  # doctest: +SKIP
    [(0.0, 2.0, 'C:maj'), (2.0, 4.0, 'A:min7')]
    """
    pitched = ~notes.drum
    heard_mask = pitched if exclude is None else pitched & ~exclude
    if not heard_mask.any():
        heard_mask = pitched
    heard = notes.subset(heard_mask)
    if heard.size == 0:
        return ChordAnalysis(np.zeros(1), np.zeros(1), [], 0.0)
    start, end, ticks, n_beats, phase = _grid(notes.pitched(), heard)
    chroma = beat_chroma(start, end, heard.pitch % 12, n_beats)
    bass = _beat_bass(start, end, heard.pitch, n_beats)
    scores = beat_scores(chroma, bass)
    best: tuple[float, np.ndarray] | None = None
    for parity in (0, 1):
        cost = np.where(np.arange(n_beats) % 2 == parity, CHANGE_COST * (1 - STRONG_BEAT_DISCOUNT), CHANGE_COST)
        path, value = best_path(scores, cost)
        if best is None or value > best[0]:
            best = (value, path)
    labels = [STATE_LABELS[s] for s in best[1].tolist()]
    return ChordAnalysis(ticks, notes.seconds(ticks), labels, phase)


def template_chords(notes: Notes) -> ChordAnalysis:
    """The plain baseline: each beat of the tick grid (phase 0) gets its best major/minor template.

    Cosine similarity of the beat's duration-weighted chroma with the 24
    major and minor triads, no smoothing, no bass, melody included; ``N``
    where less than half a beat of sound or fewer than two pitch classes.
    For comparison in benchmarks and tests, not for the pipeline.
    """
    pitched = notes.pitched()
    if pitched.size == 0:
        return ChordAnalysis(np.zeros(1), np.zeros(1), [], 0.0)
    tpq = notes.tpq
    n_beats = int(np.ceil(pitched.end.max() / tpq))
    chroma = beat_chroma(pitched.start / tpq, pitched.end / tpq, pitched.pitch % 12, n_beats)
    triads = TEMPLATES[:24] / np.linalg.norm(TEMPLATES[:24], axis=1, keepdims=True)
    norms = np.linalg.norm(chroma, axis=1)
    best = np.argmax((chroma / np.maximum(norms, 1e-12)[:, None]) @ triads.T, axis=1)
    voiced = (chroma.sum(axis=1) >= 0.5) & (np.count_nonzero(chroma > 1e-9, axis=1) >= 2)
    labels = [TEMPLATE_LABELS[b] if v else NO_CHORD for b, v in zip(best.tolist(), voiced.tolist())]
    ticks = np.arange(n_beats + 1, dtype=np.float64) * tpq
    return ChordAnalysis(ticks, notes.seconds(ticks), labels, 0.0)
