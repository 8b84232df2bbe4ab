"""The embedded example: small, four emotions in MIDI and audio, chord annotations beside some pieces, reproducible."""
from __future__ import annotations

import numpy as np
import soundfile as sf
from helpers import REPO

from penta_core.examples import write_examples

EXAMPLES = REPO / "datasets" / "examples"


def test_example_has_four_emotion_folders_with_midi_and_audio_within_2_mb():
    files = [p for p in EXAMPLES.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 2 * 2**20
    folders = {p.parent.name for p in files}
    assert len(folders) >= 4
    for folder in folders:
        suffixes = {p.suffix for p in (EXAMPLES / folder).iterdir()}
        assert ".mid" in suffixes and suffixes & {".wav", ".flac"}


def test_example_pieces_have_melody_chords_and_chord_annotations_beside_some():
    from penta_core.midi.notes import read_notes

    labs = sorted(EXAMPLES.rglob("*.lab"))
    assert len(labs) == 4 and len(list(EXAMPLES.rglob("*.jams"))) == 1
    for lab in labs:
        assert lab.with_suffix(".mid").is_file()
        assert {"melody", "chords", "bass"} <= set(read_notes(lab.with_suffix(".mid")).track_names)


def test_the_generator_rewrites_the_committed_example(tmp_path):
    written = write_examples(tmp_path)
    committed = sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path) for p in written) == committed
    for rel in committed:
        fresh, shipped = tmp_path / rel, EXAMPLES / rel
        if rel.suffix in (".mid", ".lab", ".jams"):
            assert fresh.read_bytes() == shipped.read_bytes(), rel
        else:  # float rendering may differ by one quantisation step across numpy builds
            a, _ = sf.read(fresh, dtype="int16")
            b, _ = sf.read(shipped, dtype="int16")
            assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1, rel
