"""MAESTRO: piano performances with aligned MIDI and audio; the metadata CSV holds the split."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="maestro",
    title="MAESTRO v3.0.0",
    homepage="https://magenta.tensorflow.org/datasets/maestro",
    licence="cc-by-nc-sa-4.0",
    # maestro-v3.0.0/maestro-v3.0.0.csv (canonical_composer, canonical_title, split, year, midi_filename, ...),
    # maestro-v3.0.0/2018/MIDI-Unprocessed_...wav.midi
    layout=("**/maestro-v*.csv", "**/20[0-9][0-9]/*.midi"),
    split={"files": "**/maestro-v*.csv", "column": "split"},
)
