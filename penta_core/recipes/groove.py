"""Groove MIDI: drum performances; the takes of one session form a family; info.csv holds the split."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="groove",
    title="Groove MIDI Dataset",
    homepage="https://magenta.tensorflow.org/datasets/groove",
    licence="cc-by-4.0",
    # groove/info.csv (drummer, session, id, style, bpm, ..., midi_filename, audio_filename, duration, split),
    # groove/drummer1/session1/1_funk_80_beat_4-4.mid
    layout=("**/info.csv", "**/drummer*/*/*.mid"),
    group_by=r"(drummer\d+/[^/]+)/",
    # info.csv's split column (train, validation, test) per midi_filename and audio_filename.
    published={"table": "**/info.csv", "file_column": ["midi_filename", "audio_filename"], "split_column": "split"},
)
