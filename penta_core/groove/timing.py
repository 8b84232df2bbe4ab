"""Where each note sits against the grid: the piece's grid, swing ratio, offsets and velocity adjustments.

The grid is chosen per piece from the data: straight 16ths (``1/16``),
triplet 8ths (``1/8T``) or swung 8ths (``1/8S``, on-beat and the off-beat
at the swing ratio), whichever leaves the notes closest to a grid point,
the simpler grid winning near-ties (16ths, then triplets). A swung piece is
so on a swung or triplet grid, not "late". The swing ratio is the off-beat
eighth's onset as a share of the beat (0.5 straight, 0.667 triplet swing).

Positions count in quarter notes from the bar line (:mod:`penta_core.groove.meter`);
offsets are measured in beats from the ticks and in milliseconds through
the tempo map, so a tempo change moves the milliseconds and not the beats.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from penta_core.groove.meter import meter_map
from penta_core.midi.notes import Notes

STRAIGHT, TRIPLET, SWUNG = "1/16", "1/8T", "1/8S"
# A finer grid must fit this much closer (mean distance in beats) to win over a simpler one.
_TIE_BEATS = 0.01
_MIN_SWING = 0.54  # below this the off-beat is taken as straight
# Onsets gathered this far (in beats) off the file's tick grid put the grid there: the file's beats are not the
# music's (POP909's sit a fraction of a beat off), where a player's push or pull is smaller (50 ms at 120 BPM is 0.1).
MIN_PHASE_BEATS = 0.0625
_PHASE_BINS = 96

# General MIDI percussion keys grouped into the voices a drummer plays.
DRUM_VOICES = {
    35: "kick", 36: "kick", 37: "snare", 38: "snare", 39: "clap", 40: "snare",
    42: "hihat_closed", 44: "hihat_pedal", 46: "hihat_open", 22: "hihat_closed", 26: "hihat_open",
    41: "tom_low", 43: "tom_low", 45: "tom_mid", 47: "tom_mid", 48: "tom_high", 50: "tom_high", 58: "tom_low",
    49: "crash", 52: "crash", 55: "crash", 57: "crash", 51: "ride", 53: "ride", 59: "ride",
}


def voice_names(notes: Notes) -> list[str]:
    """The voice of each note: a drum's voice (``kick``, ``snare``, …, ``perc<key>``) or ``track<n>``."""
    return [DRUM_VOICES.get(p, f"perc{p}") if d else f"track{t}"
            for p, d, t in zip(notes.pitch.tolist(), notes.drum.tolist(), notes.track.tolist())]


def _grid_points(kind: str, ratio: float) -> np.ndarray:
    if kind == STRAIGHT:
        return np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    if kind == TRIPLET:
        return np.array([0.0, 1 / 3, 2 / 3, 1.0])
    return np.array([0.0, ratio, 1.0])


def _snap(frac: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The grid point nearest each fraction of a beat."""
    return points[np.abs(frac[:, None] - points[None, :]).argmin(axis=1)]


def grid_phase(pos: np.ndarray, min_phase: float = MIN_PHASE_BEATS) -> float:
    """How far the onsets gather off the file's 16ths, in beats in ``[-0.125, 0.125)``; 0 under ``min_phase``.

    The densest place of a circular histogram of the onsets' fractions of a
    beat (smoothed over three bins), refined to the circular mean of the
    onsets within a bin of it, taken to the nearest 16th of the file's grid.
    """
    if pos.size == 0:
        return 0.0
    frac = np.mod(pos, 1.0)
    counts = np.bincount((frac * _PHASE_BINS).astype(np.int64) % _PHASE_BINS, minlength=_PHASE_BINS)
    smooth = counts + np.roll(counts, 1) + np.roll(counts, -1)
    centre = (int(np.argmax(smooth)) + 0.5) / _PHASE_BINS
    near = frac[np.abs(np.mod(frac - centre + 0.5, 1.0) - 0.5) <= 1.5 / _PHASE_BINS]
    angle = np.angle(np.exp(2j * np.pi * near).mean()) / (2 * np.pi)
    # the least shift that puts it on a 16th of the file's grid: which 16th is the beat, the onsets cannot say
    phase = float(np.mod(angle + 0.125, 0.25) - 0.125)
    return round(phase, 4) if abs(phase) >= min_phase else 0.0


def estimate_swing(frac: np.ndarray) -> float:
    """The off-beat eighth's onset as a share of the beat, from notes between the 16ths around it.

    Onsets in the second half of the beat up to the last 16th are taken as
    off-beat eighths; their median, refined once around itself, is the ratio.
    """
    off = frac[(frac >= 0.42) & (frac <= 0.80)]
    if off.size == 0:
        return 0.5
    first = float(np.median(off))
    near = off[np.abs(off - first) <= 0.06]
    return round(float(np.median(near)) if near.size else first, 4)


def grid_cost(frac: np.ndarray, kind: str, swing: float) -> float:
    """Mean distance in beats from each fraction of a beat to the nearest point of grid ``kind``."""
    return float(np.abs(frac - _snap(frac, _grid_points(kind, swing))).mean()) if frac.size else 0.0


def choose_grid(frac: np.ndarray) -> tuple[str, float]:
    """The grid that fits fractions of a beat best (simplest on near-ties), and the swing ratio measured on it."""
    if frac.size == 0:
        return STRAIGHT, 0.5
    swing = estimate_swing(frac)
    cost = {kind: grid_cost(frac, kind, swing) for kind in (STRAIGHT, TRIPLET, SWUNG)}
    best = STRAIGHT
    if swing >= _MIN_SWING:
        for kind in (TRIPLET, SWUNG):
            if cost[kind] < cost[best] - _TIE_BEATS:
                best = kind
        # an off-beat clearly short of the triplet's is swung, not a sloppy triplet
        if best == TRIPLET and abs(swing - 2 / 3) > 0.03 and cost[SWUNG] <= cost[TRIPLET] + _TIE_BEATS:
            best = SWUNG
    if best == STRAIGHT:  # the off-beat eighth as played, measured where the 16th grid puts it
        on_half = frac[np.abs(frac - 0.5) < 0.125]
        swing = round(float(np.median(on_half)), 4) if on_half.size else 0.5
    elif best == TRIPLET:
        on_two_thirds = frac[np.abs(frac - 2 / 3) < 1 / 6]
        swing = round(float(np.median(on_two_thirds)), 4) if on_two_thirds.size else 2 / 3
    return best, swing


@dataclass(frozen=True)
class Groove:
    """Every note of a piece against its grid.

    Attributes
    ----------
    grid : ``1/16``, ``1/8T`` or ``1/8S``.
    phase_beats : how far the grid sits after the file's beats (0 unless the onsets say so, :func:`grid_phase`).
    swing_ratio : the off-beat eighth's share of the beat.
    tempo_bpm : the tempo at the first note.
    onset_s, grid_s : each note's onset and its grid position, in seconds.
    offset_ms, offset_beats : onset minus grid position.
    bar : bar index of the grid position; position : its place in the bar, in quarter notes.
    slot : its place in the bar in grid steps (16ths, or triplet/swung 8ths: two or three a beat).
    voice : per note (:func:`voice_names`).
    velocity : per note; velocity_adjust : minus the local mean of its voice.
    signatures : ``(numerator, denominator)`` of each note's bar.
    """

    grid: str
    phase_beats: float
    swing_ratio: float
    tempo_bpm: float
    onset_s: np.ndarray
    grid_s: np.ndarray
    offset_ms: np.ndarray
    offset_beats: np.ndarray
    bar: np.ndarray
    position: np.ndarray
    slot: np.ndarray
    voice: list[str]
    velocity: np.ndarray
    velocity_adjust: np.ndarray
    signatures: list[tuple[int, int]]

    @property
    def size(self) -> int:
        return int(self.velocity.size)

    def push_pull(self) -> dict[str, float]:
        """Mean offset in ms per voice: negative pushes ahead of the grid, positive lays back."""
        return {v: float(self.offset_ms[[i for i, x in enumerate(self.voice) if x == v]].mean())
                for v in sorted(set(self.voice))}

    def accents(self) -> dict[str, float]:
        """Mean velocity adjustment per position in the bar (``"<position in quarter notes>"``)."""
        keys = np.round(self.position, 4)
        return {f"{p:g}": float(self.velocity_adjust[keys == p].mean()) for p in sorted(set(keys.tolist()))}


def local_mean(values: np.ndarray, groups: list[str], bars: np.ndarray, window_bars: int) -> np.ndarray:
    """Per note, the mean of ``values`` over the notes of its group within ``window_bars`` bars either side."""
    out = np.zeros(values.size, dtype=np.float64)
    names = np.array(groups, dtype=object)
    for name in set(groups):
        idx = np.flatnonzero(names == name)
        b = bars[idx]
        order = np.argsort(b, kind="stable")
        sb, sv = b[order], values[idx][order].astype(np.float64)
        csum = np.concatenate(([0.0], np.cumsum(sv)))
        lo = np.searchsorted(sb, b - window_bars, side="left")
        hi = np.searchsorted(sb, b + window_bars, side="right")
        out[idx] = (csum[hi] - csum[lo]) / (hi - lo)
    return out


def analyse_groove(notes: Notes, window_bars: int = 2, grid: str | None = None,
                   min_phase: float = MIN_PHASE_BEATS) -> Groove:
    """Grid, swing, offsets and velocity adjustments of every note of ``notes``.

    Parameters
    ----------
    notes : from :func:`~penta_core.midi.notes.read_notes` (drums and pitched parts alike).
    window_bars : bars either side over which a voice's local mean velocity is taken.
    grid : force ``1/16``, ``1/8T`` or ``1/8S`` (``None``: chosen from the data).
    min_phase : the least shift, in beats, of the onsets off the file's beats that moves the grid with them.

    Raises
    ------
    ValueError : the file holds no notes.

    Example
    -------
    >>> g = analyse_groove(read_notes("groove.mid"))  # doctest: +SKIP
    >>> g.grid, g.swing_ratio, g.offset_ms[:4]  # doctest: +SKIP
    """
    if notes.size == 0:
        raise ValueError("no notes: nothing to place against a grid")
    tpq = notes.tpq
    meter = meter_map(notes.time_signatures, tpq)
    start = notes.start.astype(np.float64)
    phase = grid_phase(start / tpq, min_phase)
    if phase:  # moved only if its best grid fits clearly better than the file's (a swung off-beat is not a phase)
        fits = [grid_cost(f, *choose_grid(f)) for f in (np.mod(start / tpq, 1.0), np.mod(start / tpq - phase, 1.0))]
        phase = phase if fits[1] < fits[0] - _TIE_BEATS else 0.0
    shifted = start - phase * tpq  # the grid's own time: its beats on whole quarter notes
    bar, bar_start, bar_len = meter.locate(shifted)
    pos = (shifted - bar_start) / tpq
    beat = np.floor(pos)
    frac = pos - beat
    chosen, swing = choose_grid(frac)
    grid = grid or chosen
    snapped = beat + _snap(frac, _grid_points(grid, swing))
    bar_q = bar_len / tpq
    wrap = snapped >= bar_q - 1e-9  # nearest to the next bar line
    snapped = np.minimum(snapped, bar_q)
    grid_tick = bar_start + snapped * tpq + phase * tpq
    bar = bar + wrap
    position = np.where(wrap, 0.0, snapped)
    step = {STRAIGHT: 0.25, TRIPLET: 1 / 3}.get(grid)
    if step is None:
        slot = 2 * np.floor(position + 1e-9) + (np.abs(position - np.floor(position + 1e-9)) > 1e-9)
    else:
        slot = np.rint(position / step)
    onset_s = notes.seconds(start)
    grid_s = notes.seconds(grid_tick)
    voice = voice_names(notes)
    velocity = notes.velocity.astype(np.float64)
    adjust = velocity - local_mean(velocity, voice, bar, window_bars)
    first = int(np.argmin(start))
    return Groove(grid, phase, float(swing), round(notes.tempo.bpm_at(float(start[first])), 4), onset_s, grid_s,
                  (onset_s - grid_s) * 1000.0, (start - grid_tick) / tpq, bar.astype(np.int64), position,
                  slot.astype(np.int64), voice, velocity, adjust,
                  [meter.signature_of_bar(int(b)) for b in bar.tolist()])
