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
    # The CSV's split column (train, validation, test) per midi_filename and audio_filename; the performances
    # of one piece (same canonical composer and title) form a family, which no path shows.
    published={"table": "**/maestro-v*.csv", "file_column": ["midi_filename", "audio_filename"],
               "split_column": "split"},
    families={"table": "**/maestro-v*.csv", "file_column": ["midi_filename", "audio_filename"],
              "key_columns": ["canonical_composer", "canonical_title"]},
)
