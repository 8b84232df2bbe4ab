"""VGMIDI: video-game piano pieces with valence and arousal per piece."""
from penta_core.recipes.recipe import Recipe

RECIPE = Recipe(
    name="vgmidi",
    title="VGMIDI",
    homepage="https://github.com/lucasnfe/vgmidi",
    licence="other",
    # vgmidi_labelled.csv: id, series, console, game, piece, midi (labelled/midi/<piece>.mid), valence, arousal
    # No published split: the labelled CSV has no split column and no split files ship (users split by game).
    layout=("**/labelled/midi/*.mid", "**/vgmidi_labelled.csv"),
    labels={"path": "**/vgmidi_labelled.csv", "file_column": "midi", "valence_column": "valence",
            "arousal_column": "arousal", "va_mapping": "quadrant"},
)
