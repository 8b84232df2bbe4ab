"""Audio families: the same recording re-encoded, resampled, trimmed or louder joins; other songs do not."""
from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from penta_core.families.audio import audio_print
from penta_core.families.detect import detect_families

POP909 = Path(__file__).parent / "fixtures" / "pop909"
SR = 22050
SECONDS = 20


def _render(song: str) -> np.ndarray:
    midi = pretty_midi.PrettyMIDI(str(POP909 / song / f"{song}.mid"))
    start = min(n.start for inst in midi.instruments for n in inst.notes)
    audio = midi.synthesize(fs=SR)[int(start * SR): int((start + SECONDS) * SR)]
    return (0.8 * audio / np.abs(audio).max()).astype(np.float32)


@pytest.fixture(scope="module")
def renders() -> dict[str, np.ndarray]:
    return {song: _render(song) for song in ("001", "002", "003")}


def _families(paths: dict[str, Path]) -> dict[str, str]:
    prints = {name: audio_print(path) for name, path in paths.items()}
    return detect_families({}, prints, lambda _: {}, midi_threshold=0.5, audio_threshold=0.65).family


def _write(path: Path, audio: np.ndarray, sr: int = SR, fmt: str | None = None) -> Path:
    sf.write(str(path), audio, sr, format=fmt)
    return path


DISGUISES = {
    "flac": lambda y, p: _write(p.with_suffix(".flac"), y),
    "mp3": lambda y, p: _write(p.with_suffix(".mp3"), y, fmt="MP3"),
    "resampled_44k": lambda y, p: _write(p.with_suffix(".wav"), librosa.resample(y, orig_sr=SR, target_sr=44100),
                                         sr=44100),
    "trimmed_0.8s": lambda y, p: _write(p.with_suffix(".wav"), y[int(0.8 * SR):]),
    "gain_-9dB": lambda y, p: _write(p.with_suffix(".wav"), y * 10 ** (-9 / 20)),
    "mp3_trimmed_quieter": lambda y, p: _write(p.with_suffix(".mp3"), 0.5 * y[int(0.37 * SR):], fmt="MP3"),
}


@pytest.mark.parametrize("disguise", sorted(DISGUISES))
def test_a_disguised_recording_joins_its_original_and_no_other_song(tmp_path, renders, disguise):
    paths = {song: _write(tmp_path / f"{song}.wav", audio) for song, audio in renders.items()}
    paths["copy"] = DISGUISES[disguise](renders["001"], tmp_path / "copy")
    family = _families(paths)
    assert family["copy"] == family["001"]
    assert len({family["001"], family["002"], family["003"]}) == 3


def test_different_recordings_stay_apart(tmp_path, renders):
    paths = {song: _write(tmp_path / f"{song}.wav", audio) for song, audio in renders.items()}
    assert len(set(_families(paths).values())) == 3
