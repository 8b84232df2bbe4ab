"""Families: disguised copies of real pieces join their original; different pieces stay apart."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import symusic

from penta_core.families.detect import detect_families
from penta_core.families.midi import midi_print
from penta_core.families.minhash import band_keys

POP909 = Path(__file__).parent / "fixtures" / "pop909"
SONGS = sorted(POP909.glob("0*/0*.mid"))
VERSIONS = sorted(POP909.glob("0*/versions/*.mid"))
# Chorales on ten different tunes (Bach harmonised some tunes several times; these are not repeats).
CHORALES = ("bach/bwv66.6", "bach/bwv269", "bach/bwv347", "bach/bwv1.6", "bach/bwv40.8", "bach/bwv153.1",
            "bach/bwv26.6", "bach/bwv244.10", "bach/bwv248.12-2", "bach/bwv281")


def families_of(paths: dict[str, Path], threshold: float = 0.5) -> dict[str, str]:
    """Name → family, through the same fingerprint, LSH and verification as the stage."""
    prints = {name: midi_print(path) for name, path in paths.items()}
    midi = {name: {"normalised": p.normalised,
                   "bands": {v: band_keys(s) for v, s in p.voices.items() if len(s) >= 24}}
            for name, p in prints.items()}
    found = detect_families(midi, {}, lambda name: prints[name].voices, midi_threshold=threshold,
                            audio_threshold=0.65)
    return found.family


def _notes(track) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in track.notes.numpy().items()}


def _set_notes(track, notes: dict[str, np.ndarray]) -> None:
    order = np.lexsort((notes["pitch"], notes["time"]))
    track.notes = symusic.core.NoteTickList.from_numpy(
        *(notes[k][order].astype(dt) for k, dt in (("time", np.int32), ("duration", np.int32),
                                                    ("pitch", np.int8), ("velocity", np.int8))))


def transposed(score):
    out = score.copy()
    for track in out.tracks:
        if not track.is_drum:
            track.shift_pitch(-3, inplace=True)
    return out


def tempo_changed(score):
    out = score.copy()
    for tempo in out.tempos:
        tempo.qpm = tempo.qpm * 1.25
    return out


def time_scaled(score, factor: float = 1.5):
    out = score.copy()
    for track in out.tracks:
        n = _notes(track)
        n["time"] = np.round(n["time"] * factor)
        n["duration"] = np.maximum(1, np.round(n["duration"] * factor))
        _set_notes(track, n)
    for tempo in out.tempos:
        tempo.time = round(tempo.time * factor)
    return out


def requantized(score):
    out = score.copy()
    grid = out.ticks_per_quarter // 4
    for track in out.tracks:
        n = _notes(track)
        n["time"] = np.round(n["time"] / grid) * grid
        _set_notes(track, n)
    return out


def humanized(score):
    out = score.copy()
    rng = np.random.default_rng(0)
    jitter = out.ticks_per_quarter // 24  # up to 1/24 beat: ±21 ms at 120 bpm
    for track in out.tracks:
        n = _notes(track)
        n["time"] = np.maximum(0, n["time"] + rng.integers(-jitter, jitter + 1, len(n["time"])))
        _set_notes(track, n)
    return out


def velocity_changed(score):
    out = score.copy()
    for track in out.tracks:
        n = _notes(track)
        n["velocity"] = np.clip(n["velocity"] * 0.6 + 20, 1, 127)
        _set_notes(track, n)
    return out


def track_removed(score):
    out = score.copy()
    del out.tracks[len(out.tracks) - 1]
    return out


def track_added(score):
    out = score.copy()
    rng = np.random.default_rng(1)
    extra = symusic.Track("strings", 48, False)
    steps = out.ticks_per_quarter * np.arange(64)
    line = 60 + np.cumsum(rng.integers(-2, 3, 64))
    _set_notes(extra, {"time": steps, "duration": np.full(64, out.ticks_per_quarter), "pitch": line,
                       "velocity": np.full(64, 70)})
    out.tracks.append(extra)
    return out


def track_split(score):
    """The last (accompaniment) track split into a right hand and a left hand."""
    out = score.copy()
    piano = out.tracks[len(out.tracks) - 1]
    n = _notes(piano)
    low = n["pitch"] < 60
    left = symusic.Track("left hand", piano.program, False)
    _set_notes(left, {k: v[low] for k, v in n.items()})
    _set_notes(piano, {k: v[~low] for k, v in n.items()})
    out.tracks.append(left)
    return out


def reorchestrated(score):
    """Every track on another instrument, the melody doubled an octave up by a flute."""
    out = score.copy()
    for track in out.tracks:
        track.program = 40
    flute = symusic.Track("flute", 73, False)
    n = _notes(out.tracks[0])
    n["pitch"] = n["pitch"] + 12
    _set_notes(flute, n)
    out.tracks.append(flute)
    return out


DISGUISES = [transposed, tempo_changed, time_scaled, requantized, humanized, velocity_changed,
             track_removed, track_added, track_split, reorchestrated]


@pytest.fixture(scope="module")
def chorale_files(tmp_path_factory) -> dict[str, Path]:
    corpus = pytest.importorskip("music21.corpus")
    folder = tmp_path_factory.mktemp("chorales")
    files = {}
    for name in CHORALES:
        path = folder / (name.replace("/", "_") + ".mid")
        corpus.parse(name).write("midi", fp=str(path))
        files[name] = path
    return files


@pytest.mark.parametrize("disguise", DISGUISES, ids=lambda f: f.__name__)
def test_a_disguised_pop_song_joins_its_original_and_no_other_song(tmp_path, disguise):
    original = SONGS[2]
    copy = tmp_path / "copy.mid"
    disguise(symusic.Score(str(original))).dump_midi(str(copy))
    paths = {s.stem: s for s in SONGS} | {"copy": copy}
    family = families_of(paths)
    assert family["copy"] == family[original.stem]
    assert len(set(family.values())) == len(SONGS)


@pytest.mark.parametrize("disguise", [transposed, time_scaled, humanized, track_split, reorchestrated],
                         ids=lambda f: f.__name__)
def test_a_disguised_chorale_joins_its_original_and_no_other_chorale(tmp_path, chorale_files, disguise):
    original = chorale_files["bach/bwv40.8"]
    copy = tmp_path / "copy.mid"
    disguise(symusic.Score(str(original))).dump_midi(str(copy))
    family = families_of({**chorale_files, "copy": copy})
    assert family["copy"] == family["bach/bwv40.8"]
    assert len(set(family.values())) == len(CHORALES)


def test_pop909_arrangements_with_the_same_melody_join_their_song():
    family = families_of({p.stem: p for p in SONGS + VERSIONS})
    for version in VERSIONS:
        assert family[version.stem] == family[version.stem.split("-")[0]], version.stem


def test_different_pop909_songs_stay_apart():
    family = families_of({p.stem: p for p in SONGS})
    assert len(set(family.values())) == len(SONGS)


def test_different_bach_chorales_stay_apart(chorale_files):
    assert len(set(families_of(chorale_files).values())) == len(CHORALES)


def test_songs_sharing_a_chord_loop_and_a_scale_run_stay_apart(tmp_path):
    """Same accompaniment loop, same drum groove and the same scale run; different melodies."""
    rng = np.random.default_rng(5)
    tpq = 480
    loop = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]  # I-V-vi-IV
    run = 60 + np.array([0, 2, 4, 5, 7, 9, 11, 12])
    paths = {}
    for k in range(4):
        score = symusic.Score(tpq)
        melody, chords, drums = (symusic.Track("melody", 0, False), symusic.Track("chords", 0, False),
                                 symusic.Track("drums", 0, True))
        tune = 60 + np.cumsum(rng.integers(-4, 5, 120))
        pitches = np.concatenate([run, tune, run])
        times = np.arange(len(pitches)) * tpq // 2
        _set_notes(melody, {"time": times, "duration": np.full(len(times), tpq // 2), "pitch": pitches,
                            "velocity": np.full(len(times), 90)})
        bars = len(times) // 8 + 1
        chord_pitches = np.array([p for b in range(bars) for p in loop[b % 4]])
        chord_times = np.repeat(np.arange(bars) * 4 * tpq, 3)
        _set_notes(chords, {"time": chord_times, "duration": np.full(len(chord_times), 4 * tpq),
                            "pitch": chord_pitches, "velocity": np.full(len(chord_times), 60)})
        beats = np.arange(bars * 4) * tpq
        _set_notes(drums, {"time": beats, "duration": np.full(len(beats), tpq // 4),
                           "pitch": np.where(np.arange(len(beats)) % 2, 38, 36), "velocity": np.full(len(beats), 100)})
        score.tracks.extend([melody, chords, drums])
        paths[f"song{k}"] = tmp_path / f"song{k}.mid"
        score.dump_midi(str(paths[f"song{k}"]))
    assert len(set(families_of(paths).values())) == 4


def test_every_pair_of_different_songs_scores_below_the_threshold():
    prints = [midi_print(p).voices for p in SONGS]
    from penta_core.families.midi import similarity

    assert max(similarity(a, b) for a, b in itertools.combinations(prints, 2)) < 0.5


@pytest.mark.parametrize("disguise", [transposed, tempo_changed, velocity_changed, track_split],
                         ids=lambda f: f.__name__)
def test_copies_that_keep_every_note_share_the_normalised_hash(tmp_path, disguise):
    copy = tmp_path / "copy.mid"
    disguise(symusic.Score(str(SONGS[0]))).dump_midi(str(copy))
    assert midi_print(copy).normalised == midi_print(SONGS[0]).normalised
